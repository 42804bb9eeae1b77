# Shared by tools/run and tools/test: make .venv with the pinned dependencies.
# Usage: source tools/_venv.sh [extras]   (e.g. "dev")
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Sealchat needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x "$ROOT/.venv/bin/python" ]; then
  echo "creating $ROOT/.venv"
  "$PYTHON" -m venv "$ROOT/.venv"
fi
extras="${1:-}"
target="$ROOT"
[ -n "$extras" ] && target="$ROOT[$extras]"
"$ROOT/.venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  -c "$ROOT/requirements/constraints.txt" -e "$target"
