#!/usr/bin/env python3
"""Counts the server's CPU instructions per todo-list request with callgrind: one user with 20
todos on PostgreSQL, one keep-alive connection, `todos(first: 20) { totalCount nodes {...} }`,
counted over REQUESTS requests after WARMUP of warm-up (`callgrind_control -z`, then `-d`).
Instructions do not depend on what else the machine is doing, so two binaries can be compared
on a busy machine. Prints numbers; asserts nothing.

Usage: scripts/instructions-per-request.py [--requests N] [--env KEY=VALUE ...] BINARY [BINARY ...]
--env adds a variable to the server's environment (e.g. TODOQL_OTLP_ENDPOINT=http://…).
TODOQL_KEEP_CALLGRIND=DIR keeps the callgrind dumps there (for callgrind_annotate).
Needs valgrind and a PostgreSQL at TODOQL_BENCH_POSTGRES (default
postgres://postgres@127.0.0.1:5432/postgres); creates and drops a scratch database per binary.
"""
import argparse, glob, http.client, json, os, re, socket, subprocess, tempfile, time, uuid

ADMIN = os.environ.get("TODOQL_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
LIST = ("query { todos(first: 20) { totalCount nodes { id title description dueDate isCompleted "
        "completedAt createdAt updatedAt } } }")


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port


def psql(sql):
    subprocess.run(["psql", ADMIN, "-q", "-c", sql], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Client:
    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.token = None

    def gql(self, query, variables=None):
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self.conn.request("POST", "/graphql", json.dumps({"query": query, "variables": variables or {}}), headers)
        body = json.loads(self.conn.getresponse().read())
        if body.get("errors"):
            raise RuntimeError(body["errors"])
        return body["data"]


def measure(binary, requests, warmup, extra_env):
    name = f"todoql_instr_{uuid.uuid4().hex[:12]}"
    psql(f'CREATE DATABASE "{name}"')
    url = ADMIN.rsplit("/", 1)[0] + "/" + name
    out = os.environ.get("TODOQL_KEEP_CALLGRIND") or tempfile.mkdtemp()
    os.makedirs(out, exist_ok=True)
    port = free_port()
    env = {"PATH": os.environ["PATH"], "DATABASE_URL": url, "TODOQL_LISTEN": f"127.0.0.1:{port}",
           "TODOQL_JWT_SECRET": "measure-secret-measure-secret-measure!", "TODOQL_LOG": "warn",
           "TODOQL_REQUIRE_VERIFIED_EMAIL": "false", "TODOQL_REQUEST_TIMEOUT": "600", **extra_env}
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", "--instr-atstart=yes",
                             f"--callgrind-out-file={out}/callgrind.out.%p", binary],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5); c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.5)
        client = Client(port)
        data = client.gql('mutation { signUp(input: {email: "ada@example.com", password: "correct horse battery staple"}) { accessToken } }')
        client.token = data["signUp"]["accessToken"]
        for n in range(20):
            client.gql('mutation($t: String!) { createTodo(input: {title: $t}) { id } }', {"t": f"todo {n}"})
        for _ in range(warmup):
            client.gql(LIST)
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(requests):
            client.gql(LIST)
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        dumps = sorted(glob.glob(f"{out}/callgrind.out.{proc.pid}.*"), key=os.path.getmtime)
        total = 0
        with open(dumps[-1]) as f:
            for line in f:
                m = re.match(r"summary:\s+(\d+)", line) or re.match(r"totals:\s+(\d+)", line)
                if m:
                    total = int(m.group(1))
                    break
        return total / requests
    finally:
        proc.terminate(); proc.wait()
        psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("binaries", nargs="+")
    args = parser.parse_args()
    extra_env = dict(pair.split("=", 1) for pair in args.env)
    for binary in args.binaries:
        per_request = measure(binary, args.requests, args.warmup, extra_env)
        print(f"{binary}: {per_request / 1000:,.0f} k instructions per todo-list request "
              f"({args.requests} requests after {args.warmup} of warm-up)")


if __name__ == "__main__":
    main()
