#!/usr/bin/env bash
# The main job: serve the demo dashboard (bundled demo model, nothing downloaded) with Voila
# on http://127.0.0.1:${PORT:-8866}/ . Creates the environment on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh demo
VENV="${VENV:-.venv}"
export TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0
exec "$VENV/bin/voila" notebooks/quickstart.ipynb --no-browser \
  --Voila.ip=127.0.0.1 --port="${PORT:-8866}" "$@"
