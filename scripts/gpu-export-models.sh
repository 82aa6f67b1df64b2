#!/usr/bin/env bash
# On the GPU machine (it has torch): export the real test models and pack
# them for the trip back. Usage: scripts/gpu-export-models.sh OUTDIR [MODEL...]
set -euo pipefail
out="${1:?usage: $0 OUTDIR}"
work=$(mktemp -d)
python3 "$(dirname "$0")/../test/models/export_torch_models.py" "$work" "${@:2}" 2>&1 | tail -n 60
tar -C "$work" -czf "$out/real-models.tar.gz" .
cp "$work/export.json" "$out/"
ls -la "$work"
