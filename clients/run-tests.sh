#!/usr/bin/env bash
# The frontend half of CI (called by .ci/run after the Rust suite): builds the server, checks
# that the generated TypeScript client is up to date, runs the client's tests against a real
# server (and through Apollo Client and urql), runs the graphql-http audit (GraphQL over HTTP)
# against it, checks the packages' engines (and runs the built
# client on the lowest Node it claims), and runs the example app's tests in a real browser
# (Debian's chromium, headless). Needs node ^20.19 || ^22.13 || >=23.5 (the example app's
# engines) and npm; installs chromium with apt-get when /usr/bin/chromium is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n=== %s\n' "$*"; }
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

step "frontend: build the todoql binary"
cargo build --quiet -p todoql-server
export TODOQL_BIN="$PWD/target/debug/todoql"

step "frontend: chromium"
if [ ! -x /usr/bin/chromium ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
fi
/usr/bin/chromium --version

step "frontend: clients/typescript: npm ci"
(cd clients/typescript && npm ci --no-audit --no-fund --loglevel=error)

step "frontend: generated client is up to date (codegen changes no file)"
(cd clients/typescript && npm run --silent codegen >/dev/null)
git diff --exit-code --stat -- clients/typescript
untracked="$(git ls-files --others --exclude-standard -- clients/typescript)"
if [ -n "$untracked" ]; then
  echo "codegen wrote files that are not committed:"; echo "$untracked"; exit 1
fi

step "frontend: client tests against a real server (node --test), Apollo Client and urql included"
(cd clients/typescript && npm test)

step "frontend: GraphQL-over-HTTP audit (graphql-http's server audits): no failed MUST"
# audit.mjs starts its own server from $TODOQL_BIN and exits 1 when a MUST fails.
(cd scripts/graphql-http-audit && npm ci --no-audit --no-fund --loglevel=error && node audit.mjs)

step "frontend: engines tell the truth (declared ranges, and the built client on the lowest Node it claims)"
(
  cd clients/typescript
  npm run --silent check-engines
  lowest="$(node -p 'require("semver").minVersion(require("./package.json").engines.node).version')"
  # The node package of the npm registry carries that release's binary.
  npx --yes -p "node@$lowest" -- node scripts/runtime-smoke.mjs
)

step "frontend: example app: npm ci, type-check and build"
(cd examples/web && npm ci --no-audit --no-fund --loglevel=error && npm run build)

step "frontend: browser tests (screenshots in examples/web/test-results/)"
(cd examples/web && npm test)
