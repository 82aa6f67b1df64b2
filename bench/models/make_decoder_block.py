#!/usr/bin/env python3
"""Writes the Llama-style decoder block (decoder_block.py) as ONNX models.

    make_decoder_block.py CONFIG OUTDIR [SEED]

OUTDIR gets prefill.onnx, decode.onnx (weights as initializers),
weights.npz (the integer codes, scales and norm vectors they were made
from, for the PyTorch reference) and config.json. CONFIG is a name in
decoder_block.CONFIGS ("bench", "tiny").
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import decoder_block  # noqa: E402


def main():
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in decoder_block.CONFIGS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(decoder_block.CONFIGS)}}} OUTDIR [SEED]")
    import onnx

    name, outdir = sys.argv[1], sys.argv[2]
    seed = int(sys.argv[3]) if len(sys.argv) == 4 else 0
    config = decoder_block.CONFIGS[name]
    os.makedirs(outdir, exist_ok=True)
    codes, scales, norms = decoder_block.make_weights(config, seed)
    decoder_block.save_weights(os.path.join(outdir, "weights.npz"), codes, scales, norms)
    for mode in ("prefill", "decode"):
        model = decoder_block.build_onnx(config, mode, codes, scales, norms)
        onnx.save(model, os.path.join(outdir, f"{mode}.onnx"))
        print(f"wrote {outdir}/{mode}.onnx ({len(model.graph.node)} nodes)")
    with open(os.path.join(outdir, "config.json"), "w") as f:
        json.dump(dict(config, name=name, seed=seed), f, indent=1)


if __name__ == "__main__":
    main()
