#!/usr/bin/env bash
# Runs the README's API tour as a reader would paste it: the ```sh tour blocks, in order, in
# one bash, against a fresh server (target/debug/todoql, or $TODOQL_BIN) on a temporary
# SQLite file and a free port, with its log (no colours) in the file the tour reads the mailed
# code from. Any failing step fails the script, which then prints the server's log.
# The README is the only copy of the steps, so the two cannot drift.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${TODOQL_BIN:-target/debug/todoql}
for tool in curl jq "$bin"; do
  command -v "$tool" >/dev/null || { echo "readme-tour: $tool not found" >&2; exit 1; }
done

work=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

awk '/^```sh tour$/ { in_tour = 1; next } /^```/ { in_tour = 0 } in_tour' README.md > "$work/tour.sh"
blocks=$(grep -c '^```sh tour$' README.md || true)
[ "$blocks" -gt 0 ] || { echo "readme-tour: no \`\`\`sh tour block in README.md" >&2; exit 1; }

# A clean environment (the machine's TODOQL_* variables stay out); port 0: the system picks a
# free port, which the server's first log lines name.
env -i PATH="$PATH" NO_COLOR=1 TODOQL_LISTEN=127.0.0.1:0 \
  DATABASE_URL="sqlite://$work/tour.db?mode=rwc" "$bin" > "$work/todoql.log" 2>&1 &
server=$!
url=
for _ in $(seq 300); do
  url=$(grep -Eo 'listening on http://[0-9.:]+' "$work/todoql.log" | head -n1 | sed 's/listening on //') || true
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
[ -n "$url" ] || { echo "readme-tour: the server did not start" >&2; cat "$work/todoql.log" >&2; exit 1; }

echo "readme-tour: $blocks blocks from README.md against $url"
if ! (cd "$work" && URL="$url/graphql" LOG="$work/todoql.log" timeout 120 bash -euo pipefail tour.sh); then
  echo "readme-tour: FAILED; the server's log:" >&2
  cat "$work/todoql.log" >&2
  exit 1
fi
echo "readme-tour: passed"
