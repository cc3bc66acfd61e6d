#!/usr/bin/env bash
# The test suite: creates the environment (and installs Chromium) when missing, runs ruff and
# every test, the browser suite included. Extra arguments go to pytest (e.g. -m "not browser").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh test
VENV="${VENV:-.venv}"
export TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0
# The suite downloads nothing: notebooks that would fetch pretrained weights skip it.
export INTERPRET_WIDGETS_OFFLINE=1
"$VENV/bin/ruff" check interpret_widgets tests benchmarks
mkdir -p test-artifacts
set +e
"$VENV/bin/python" -m pytest -p no:cacheprovider --durations=15 \
  --junitxml=test-artifacts/junit.xml "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here"
  exit 1
fi
exit "$status"
