#!/usr/bin/env bash
# Installs the S3 stand-in of the s3 tests, npm s3rver 3.7.1, into tests/s3/s3rver/node_modules
# (gitignored) with `npm ci` from the committed package-lock.json, i.e. from the npm registry at
# exactly the locked versions and integrity hashes. Idempotent: nothing happens when the installed
# tree was made from the current lock file. Needs node and npm (Debian's nodejs package here).
set -euo pipefail
dir="$(cd "$(dirname "$0")/.." && pwd)/tests/s3/s3rver"
stamp="$dir/node_modules/.smrun-lock-sha256"
want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
if [ -f "$dir/node_modules/s3rver/package.json" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup-s3rver: s3rver $(node -p "require('$dir/node_modules/s3rver/package.json').version") present"
  exit 0
fi
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "setup-s3rver: $tool not found (scripts/setup-deps.sh installs nodejs)" >&2; exit 1; }
done
echo "setup-s3rver: npm ci in $dir"
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
echo "$want" >"$stamp"
echo "setup-s3rver: s3rver $(node -p "require('$dir/node_modules/s3rver/package.json').version") installed"
