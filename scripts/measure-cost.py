#!/usr/bin/env python3
"""Measures what the cost attacks of issue 12 cost the server now: how long a fragment fan-out
of 22/30/40/60 levels takes to be refused, 10,000 aliased `__typename`, and `/healthz` latency
while 4 clients send 30-level fan-outs as fast as they can. Prints numbers; asserts nothing.

Usage: scripts/measure-cost.py [path/to/todoql]   (default target/release/todoql)
"""
import http.client, json, os, socket, statistics, subprocess, sys, tempfile, threading, time

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/todoql"


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port


def start(db, port):
    env = {"PATH": os.environ["PATH"], "DATABASE_URL": db, "TODOQL_LISTEN": f"127.0.0.1:{port}",
           "TODOQL_JWT_SECRET": "measure-secret-measure-secret-measure!", "TODOQL_LOG": "warn"}
    proc = subprocess.Popen([BIN], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1); c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.05)


def fan_out(levels):
    q = "query { ...F0 }"
    for i in range(levels):
        q += f" fragment F{i} on Query {{ ...F{i+1} ...F{i+1} }}"
    return q + f" fragment F{levels} on Query {{ __typename }}"


def post(port, query):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"query": query})
    t0 = time.perf_counter()
    c.request("POST", "/graphql", body, {"Content-Type": "application/json"})
    r = c.getresponse(); data = r.read(); dt = (time.perf_counter() - t0) * 1000
    return dt, r.status, json.loads(data)


def median_ms(port, query, n=9):
    times, answer = [], None
    for _ in range(n):
        dt, _, answer = post(port, query); times.append(dt)
    code = (answer.get("errors") or [{}])[0].get("extensions", {}).get("code", "answered")
    return statistics.median(times), len(query), code


def main():
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc = start(f"sqlite://{tmp}/m.db?mode=rwc", port)
        try:
            base, size, code = median_ms(port, "{ __typename }")
            print(f"{{ __typename }}: median {base:.1f} ms ({code})")
            for levels in (22, 30, 40, 60):
                ms, size, code = median_ms(port, fan_out(levels))
                print(f"fan-out {levels} levels ({size} bytes): median {ms:.1f} ms, {code}")
            aliases = "{ " + " ".join(f"a{i}: __typename" for i in range(10000)) + " }"
            ms, size, code = median_ms(port, aliases, 5)
            print(f"10,000 aliased __typename ({size} bytes): median {ms:.1f} ms, {code}")

            stop, sent = threading.Event(), [0]
            def attack():
                while not stop.is_set():
                    post(port, fan_out(30)); sent[0] += 1
            attackers = [threading.Thread(target=attack) for _ in range(4)]
            for t in attackers: t.start()
            health = []
            t_end = time.time() + 3
            while time.time() < t_end:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                t0 = time.perf_counter(); c.request("GET", "/healthz"); c.getresponse().read()
                health.append((time.perf_counter() - t0) * 1000); time.sleep(0.02)
            stop.set()
            for t in attackers: t.join()
            health.sort()
            print(f"/healthz while 4 clients sent {sent[0]} fan-outs of 30 levels in 3 s: "
                  f"median {statistics.median(health):.1f} ms, worst {health[-1]:.1f} ms "
                  f"({len(health)} probes)")
        finally:
            proc.terminate(); proc.wait()


if __name__ == "__main__":
    main()
