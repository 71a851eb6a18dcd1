#!/usr/bin/env bash
# Fuzzes todoql's GraphQL API with schemathesis (GraphQL mode, hypothesis-graphql underneath)
# against a real server, on SQLite and on PostgreSQL. Every answer must be JSON whose errors
# all carry a contract code other than INTERNAL_SERVER_ERROR (hooks.py), and the server must
# log no error and no panic. Exit status 1 when either fails; failing cases are printed by
# schemathesis with a curl command to replay them (keep each as a test in
# tests/e2e/fuzz_cases.rs).
#
#   scripts/fuzz/run.sh                      # both databases, 200 cases per operation
#   scripts/fuzz/run.sh --db postgres --examples 2000 --seed 42
#   scripts/fuzz/run.sh --smoke              # 10 cases per operation: a minute or so
#
# Options: --db sqlite|postgres|both, --examples N (per operation and run), --seed N,
# --server-bin PATH (default: target/debug/todoql, built first), --postgres-url URL (admin
# URL; a scratch database todoql_fuzz_<pid> is created and dropped), --out DIR (logs and
# reports, default target/fuzz). Needs python3 (schemathesis is installed into
# target/fuzz-venv from requirements.txt), curl and, for PostgreSQL, psql.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=scripts/fuzz

db=both
examples=200
seed=""
server_bin=""
pg_url="${TODOQL_FUZZ_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
out=target/fuzz
while [ $# -gt 0 ]; do
  case "$1" in
    --db) db="$2"; shift 2 ;;
    --examples) examples="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --server-bin) server_bin="$2"; shift 2 ;;
    --postgres-url) pg_url="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --smoke) examples=10; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
case "$db" in sqlite) dbs=(sqlite) ;; postgres) dbs=(postgres) ;; both) dbs=(sqlite postgres) ;;
  *) echo "--db must be sqlite, postgres or both" >&2; exit 2 ;; esac

venv=target/fuzz-venv
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet -r "$here/requirements.txt"
fi
py="$venv/bin/python"
st="$(cd "$venv/bin" && pwd)/st"
hooks_dir="$(cd "$here" && pwd)"
if [ -z "$server_bin" ]; then
  cargo build --quiet -p todoql-server
  server_bin=target/debug/todoql
fi
mkdir -p "$out"
out="$(cd "$out" && pwd)"

server_pid=""
scratch_db=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ -n "$scratch_db" ]; then psql -q "$pg_url" -c "DROP DATABASE IF EXISTS \"$scratch_db\" WITH (FORCE)" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

free_port() { "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# POSTs a GraphQL operation (JSON body in $2) to $1 with the bearer token $3 (may be empty).
gql() {
  local auth=()
  if [ -n "${3:-}" ]; then auth=(-H "Authorization: Bearer $3"); fi
  curl -sS -H 'content-type: application/json' "${auth[@]}" -d "$2" "$1"
}
json_get() { "$py" -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"; }

failed=0
for kind in "${dbs[@]}"; do
  if [ "$kind" = sqlite ]; then
    rm -f "$out/fuzz.db" "$out/fuzz.db-wal" "$out/fuzz.db-shm"
    url="sqlite://$out/fuzz.db?mode=rwc"
  else
    scratch_db="todoql_fuzz_$$"
    psql -q "$pg_url" -c "CREATE DATABASE \"$scratch_db\"" >/dev/null
    url="$("$py" -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$pg_url" "$scratch_db")"
  fi
  port="$(free_port)"
  base="http://127.0.0.1:$port"
  log="$out/server-$kind.log"
  # Limits out of the way so that the fuzzer reaches past them; verified email not required
  # so that the todo operations run for the fuzz user.
  env -i PATH="$PATH" DATABASE_URL="$url" TODOQL_LISTEN="127.0.0.1:$port" TODOQL_LOG=info TODOQL_LOG_FORMAT=json \
    TODOQL_JWT_SECRET="fuzz-secret-fuzz-secret-fuzz-secret!!" TODOQL_ACCESS_TOKEN_TTL=86400 \
    TODOQL_REQUIRE_VERIFIED_EMAIL=false TODOQL_SIGNIN_FAILURES_PER_EMAIL=1000000 \
    TODOQL_SIGNIN_FAILURES_PER_IP=1000000 TODOQL_MAILS_PER_ADDRESS=1000000 \
    TODOQL_CODE_GUESSES_PER_ADDRESS=1000000 TODOQL_PURGE_INTERVAL=0 \
    "$server_bin" >"$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 200); do
    curl -fsS "$base/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "$base/readyz" >/dev/null

  # A user with todos, one in the trash, and a cursor: real values for the dictionaries.
  token="$(gql "$base/graphql" '{"query":"mutation { signUp(input: {email: \"fuzz@example.com\", password: \"correct horse battery staple\"}) { accessToken session { id } } }"}' | json_get 'd["data"]["signUp"]["accessToken"]')"
  ids=()
  for title in milk bread "a longer title, with punctuation!" "ünïcödé ✓"; do
    ids+=("$(gql "$base/graphql" "{\"query\":\"mutation(\$t: String!) { createTodo(input: {title: \$t, description: \\\"line one\\\\nline two\\\"}) { id } }\",\"variables\":{\"t\":\"$title\"}}" "$token" | json_get 'd["data"]["createTodo"]["id"]')")
  done
  gql "$base/graphql" "{\"query\":\"mutation { deleteTodo(id: \\\"${ids[3]}\\\") { id } }\"}" "$token" >/dev/null
  cursor="$(gql "$base/graphql" '{"query":"{ todos(first: 1) { pageInfo { endCursor } } }"}' "$token" | json_get 'd["data"]["todos"]["pageInfo"]["endCursor"]')"
  session="$(gql "$base/graphql" '{"query":"{ sessions { id } }"}' "$token" | json_get 'd["data"]["sessions"][0]["id"]')"
  # Forged cursors: positions no database holds (the cursor format is documented in
  # crates/graphql/src/todos/cursor.rs).
  forged="$("$py" -c '
import base64, sys, uuid
def cursor(raw):
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
id = uuid.uuid4().hex
for raw in ["v1|created_at.desc|%s|t-8000000000000000000", "v1|due_date.asc|%s|t253402300800000000",
            "v1|title.asc|%s|sa\0b", "v1|deleted_at.desc|%s|t-8000000000000000000",
            "v1|updated_at.desc|%s|t99999999999999999999"]:
    print(cursor(raw % id))
' | "$py" -c 'import json, sys; print(", ".join(json.dumps(l.strip()) for l in sys.stdin))')"
  config="$out/schemathesis-$kind.toml"
  cat >"$config" <<EOF
[dictionaries.ids]
values = ["${ids[0]}", "${ids[1]}", "${ids[2]}", "${ids[3]}", "$session"]
[dictionaries.cursors]
values = ["$cursor", $forged]
# Text that databases, parsers and terminals treat specially, mixed into every String.
[dictionaries.nasty]
values = ["a\u0000b", "\u0000", "x\u001b[2Jy", "\u0007", "\u007f", "a\u0085b", "line\nbreak", "tab\there",
  "cr\rhere", "a\u2028b", "\u202egnp.exe", "\ufeffbom", "%", "_", "\\\\", "'; DROP TABLE todos; --",
  "\U0010ffff", "🙂👍🏽", "  padded  ", "9999-12-31T23:59:59-01:00", "0000-01-01T00:00:00Z"]
[generation.dictionaries]
string = { dictionary = "nasty", probability = 0.25 }
[dictionaries.emails]
values = ["fuzz@example.com", "other@example.com"]
[parameters]
"*.*.id" = { dictionary = "ids", probability = 0.5 }
"*.*.after" = { dictionary = "cursors", probability = 0.3 }
"Query.todos.filter.search" = { dictionary = "nasty", probability = 0.3 }
"*.*.email" = { dictionary = "emails", probability = 0.3 }
"*.*.input.email" = { dictionary = "emails", probability = 0.3 }
EOF

  seed_args=()
  if [ -n "$seed" ]; then seed_args=(--seed "$seed"); fi
  run_st() {  # $1: label; the rest: more options
    local label="$1"; shift
    echo "=== $kind: $label ($examples cases per operation)"
    # From $out: schemathesis keeps its crash cache (for `st replay`) in the current folder.
    (cd "$out" && SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$hooks_dir" "$st" --config-file "$config" \
      run "$base/graphql" --checks todoql_contract_codes --phases fuzzing \
      --max-examples "$examples" --workers 2 --no-color --report junit \
      --report-dir "$out/report-$kind-$label" "${seed_args[@]}" "$@")
  }
  # Signed in, minus what would end the fuzz user's session or account; then signed out,
  # every operation.
  run_st signed-in -H "Authorization: Bearer $token" \
    --exclude-name-regex '^Mutation\.(signOut|revokeOtherSessions|deleteAccount)$' || failed=1
  run_st signed-out || failed=1

  kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=""
  if grep -E ' ERROR |"level":"ERROR"|panicked' "$log"; then
    echo "FAIL: the server logged an error on $kind (log: $log)"
    failed=1
  else
    echo "=== $kind: no error in the server's log ($log)"
  fi
  if [ -n "$scratch_db" ]; then
    psql -q "$pg_url" -c "DROP DATABASE IF EXISTS \"$scratch_db\" WITH (FORCE)" >/dev/null
    scratch_db=""
  fi
done
if [ "$failed" -ne 0 ]; then echo "fuzz: FAILED"; exit 1; fi
echo "fuzz: passed"
