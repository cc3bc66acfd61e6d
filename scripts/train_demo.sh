#!/usr/bin/env bash
# Regenerate the shipped demo weights, interpret_widgets/demo/demo_model.keras, with the
# two-stage recipe of scripts/train_demo.py (about 20 minutes on 2 cores):
# plain training, then fine-tuning with the Grad-CAM localisation term. Creates the
# environment on first use. OUT=path writes elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh demo
VENV="${VENV:-.venv}"
export TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0
OUT="${OUT:-interpret_widgets/demo/demo_model.keras}"
stage1="$(mktemp -d)/stage1.keras"
"$VENV/bin/python" scripts/train_demo.py --cam-weight 0 --epochs 8 --out "$stage1"
"$VENV/bin/python" scripts/train_demo.py --init "$stage1" --epochs 3 \
  --learning-rate 5e-4 --cam-weight 1.0 --out "$OUT"
echo "wrote $OUT"
