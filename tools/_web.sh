# Shared by tools/run and tools/test: install the web client's pinned packages and build
# it into web/dist (served by the server at /). Needs Node.js 20+ with npm.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v npm >/dev/null 2>&1; then
  echo "Node.js 20+ with npm is needed to build the web client (web/)" >&2
  exit 1
fi
(
  cd "$ROOT/web"
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
  npm run --silent build
)
