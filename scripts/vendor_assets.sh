#!/bin/sh
# Copy the built YASGUI assets from node_modules into search_api/static/vendor/ (committed),
# so that the running app needs neither npm nor any CDN. Run after `npm ci`:
#   npm ci --ignore-scripts && npm run vendor
set -eu
cd "$(dirname "$0")/.."
src=node_modules/@zazuko/yasgui
dest=search_api/static/vendor/yasgui
test -f "$src/build/yasgui.min.js" || { echo "vendor_assets: $src is missing; run 'npm ci --ignore-scripts' first" >&2; exit 1; }
mkdir -p "$dest"
version=$(node -p "require('./$src/package.json').version")
# Drop the source-map comment: the maps are not vendored, so the browser must not ask for them.
sed '/^\/\/# sourceMappingURL=/d' "$src/build/yasgui.min.js" > "$dest/yasgui.min.js"
sed 's#/\*\# sourceMappingURL=[^*]*\*/##' "$src/build/yasgui.min.css" > "$dest/yasgui.min.css"
# The npm package ships no LICENSE file; record the licence its package.json declares.
node -p "'License: ' + require('./$src/package.json').license + ' (' + require('./$src/package.json').author + ', Zazuko GmbH); source: https://github.com/rdfjs/Yasgui'" > "$dest/LICENSE"
echo "@zazuko/yasgui $version (npm), copied by scripts/vendor_assets.sh" > "$dest/VERSION"
echo "vendored @zazuko/yasgui $version into $dest"
