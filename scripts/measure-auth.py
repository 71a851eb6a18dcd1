#!/usr/bin/env python3
"""Measures the release server: cold start to /readyz on a migrated database, idle RSS, signIn
latency (right password, wrong password, unknown email), and `{ me { id } }` latency alone vs
while 50 clients loop on signIn. Prints numbers; asserts nothing.

Usage: scripts/measure-auth.py [path/to/todoql]   (default target/release/todoql)
"""
import http.client, json, os, socket, statistics, subprocess, sys, tempfile, threading, time

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/todoql"
PASSWORD = "correct horse battery staple"


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port


def start(db, port, extra=None):
    env = {"PATH": os.environ["PATH"], "DATABASE_URL": db, "TODOQL_LISTEN": f"127.0.0.1:{port}",
           "TODOQL_JWT_SECRET": "measure-secret-measure-secret-measure!", "TODOQL_LOG": "warn",
           "TODOQL_SIGNIN_FAILURES_PER_EMAIL": "1000000", "TODOQL_SIGNIN_FAILURES_PER_IP": "1000000"}
    env.update(extra or {})
    t0 = time.perf_counter()
    proc = subprocess.Popen([BIN], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1); c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                return proc, time.perf_counter() - t0
        except OSError:
            pass
        time.sleep(0.001)


def gql(conn, query, variables=None, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = "Bearer " + token
    t0 = time.perf_counter()
    conn.request("POST", "/graphql", json.dumps({"query": query, "variables": variables or {}}), headers)
    body = json.loads(conn.getresponse().read())
    return body, (time.perf_counter() - t0) * 1000


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024


def pct(values, p):
    values = sorted(values); return values[min(len(values) - 1, int(len(values) * p / 100))]


SIGN_IN = "mutation($e: String!, $p: String!) { signIn(input: {email: $e, password: $p}) { accessToken } }"


def main():
    tmp = tempfile.mkdtemp()
    db = f"sqlite://{tmp}/measure.db?mode=rwc"
    port = free_port()
    proc, first = start(db, port)  # migrates
    proc.terminate(); proc.wait()
    starts = []
    for _ in range(10):
        proc, took = start(db, port); starts.append(took * 1000); proc.terminate(); proc.wait()
    print(f"cold start to /readyz on a migrated SQLite database: median {statistics.median(starts):.1f} ms "
          f"(min {min(starts):.1f}, max {max(starts):.1f}, 10 runs)")

    proc, _ = start(db, port)
    time.sleep(1.0)
    print(f"idle RSS after start: {rss_mb(proc.pid):.1f} MB")
    conn = http.client.HTTPConnection("127.0.0.1", port)
    body, _ = gql(conn, "mutation($i: SignUpInput!) { signUp(input: $i) { accessToken } }",
                  {"i": {"email": "bench@example.com", "password": PASSWORD}})
    token = body["data"]["signUp"]["accessToken"]
    for label, email, password in [("right password", "bench@example.com", PASSWORD),
                                   ("wrong password", "bench@example.com", "not the password!"),
                                   ("unknown email", "nobody@example.com", PASSWORD)]:
        times = [gql(conn, SIGN_IN, {"e": email, "p": password})[1] for _ in range(60)][10:]
        print(f"signIn, {label}: p50 {statistics.median(times):.1f} ms, p99 {pct(times, 99):.1f} ms (50 sequential)")

    def me_latencies(n):
        c = http.client.HTTPConnection("127.0.0.1", port)
        return [gql(c, "{ me { id } }", token=token)[1] for _ in range(n)]

    alone = me_latencies(500)[50:]
    print(f"me alone: p50 {statistics.median(alone):.2f} ms, p99 {pct(alone, 99):.2f} ms")
    stop = threading.Event(); counts = []

    def flood():
        c = http.client.HTTPConnection("127.0.0.1", port); n = 0
        while not stop.is_set():
            gql(c, SIGN_IN, {"e": "bench@example.com", "p": PASSWORD}); n += 1
        counts.append(n)

    threads = [threading.Thread(target=flood) for _ in range(50)]
    for t in threads: t.start()
    time.sleep(1.0)
    peak = rss_mb(proc.pid)
    t0 = time.perf_counter()
    during = me_latencies(500)[50:]
    elapsed = time.perf_counter() - t0
    stop.set()
    for t in threads: t.join()
    print(f"me while 50 clients loop on signIn: p50 {statistics.median(during):.2f} ms, p99 {pct(during, 99):.2f} ms; "
          f"sign-ins completed meanwhile ≈ {sum(counts) / (elapsed + 1.0):.0f}/s; RSS {peak:.1f} MB")
    proc.terminate(); proc.wait()


main()
