#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install the package into it.
#   scripts/setup_env.sh demo   -> runtime + demo server (JupyterLab, Notebook 7, Voila)
#   scripts/setup_env.sh test   -> the above + test tools, Ray (the [scale] extra) and Debian's Chromium
# VENV (default: .venv in the repo) and PYTHON (default: python3.11 or python3) can be overridden.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-demo}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
VENV="${VENV:-.venv}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating virtual environment in $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# tensorflow-cpu is our own environments' backend; an existing tensorflow build also works.
extras="cpu,demo"
[ "$what" = "test" ] && extras="cpu,demo,test,scale"
echo "[setup] pip install -e .[$extras]"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[$extras]"

if [ "$what" = "test" ] && [ ! -x /usr/bin/chromium ]; then
  echo "[setup] installing Debian's chromium for the browser tests"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
echo "[setup] ready: $VENV"
