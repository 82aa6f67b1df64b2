#!/usr/bin/env python3
"""Writes the differential tests' models (test/differential: mlp, cnn,
transformer; symbolic dimension `batch`) as ONNX files for GPU runs.

    save_differential_models.py OUTDIR
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "differential"))
import differential  # noqa: E402
import onnx  # noqa: E402


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    for name, build in differential.MODELS.items():
        model, _ = build()
        onnx.save(model, os.path.join(outdir, f"{name}.onnx"))
        print(os.path.join(outdir, f"{name}.onnx"))


if __name__ == "__main__":
    main()
