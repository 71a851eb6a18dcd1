#!/usr/bin/env bash
# Regenerates the GraphiQL files that the todoql binary embeds (served under /graphql/assets/),
# from the npm registry, at the pinned versions below. npm checks each tarball's integrity.
#   bash crates/server/assets/graphiql/vendor.sh
# Then rebuild the server; the asset URLs carry a content hash, so browsers pick up the change.
set -euo pipefail
GRAPHIQL=4.1.2     # the last GraphiQL with a self-contained UMD build (5.x needs a bundler + workers);
                   # it bundles the graphql-ws client that its subscriptions use
REACT=18.3.1       # the last React with UMD builds
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" >/dev/null
for tgz in *.tgz; do mkdir "${tgz%.tgz}" && tar xzf "$tgz" -C "${tgz%.tgz}"; done
# Source-map comments would make browsers ask for files we do not ship.
strip_map() { sed -e 's|//# sourceMappingURL=.*$||' -e 's|/\*# sourceMappingURL=.*\*/||' "$1"; }
strip_map "graphiql-$GRAPHIQL/package/dist/index.umd.js" > "$here/graphiql.min.js"
strip_map "graphiql-$GRAPHIQL/package/dist/style.css" > "$here/graphiql.min.css"
strip_map "react-$REACT/package/umd/react.production.min.js" > "$here/react.production.min.js"
strip_map "react-dom-$REACT/package/umd/react-dom.production.min.js" > "$here/react-dom.production.min.js"
cp "graphiql-$GRAPHIQL/package/LICENSE" "$here/LICENSE.graphiql"
cp "react-$REACT/package/LICENSE" "$here/LICENSE.react"
cp "react-dom-$REACT/package/LICENSE" "$here/LICENSE.react-dom"
cat > "$here/VERSIONS" <<VERSIONS
graphiql $GRAPHIQL (dist/index.umd.js, dist/style.css)
react $REACT (umd/react.production.min.js)
react-dom $REACT (umd/react-dom.production.min.js)
VERSIONS
echo "vendored into $here:"
ls -l "$here"
