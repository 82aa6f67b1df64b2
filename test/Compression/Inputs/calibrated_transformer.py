"""Calibrated compression of a real exported transformer whose inputs are
token ids (int64) and an attention mask (int64).

  calibrated_transformer.py make DIR
      DIR/calib.npz (the calibration set) and DIR/eval.npz (held out):
      deterministic token ids, masks with some padded runs.
  calibrated_transformer.py check MODEL DIR REFERENCE NAME=LIB.so... [--bound NAME=B]
      Runs every compiled library through its C API on both sets, compares
      its output with onnxruntime running the uncompressed MODEL, prints the
      relative L2 errors, and fails when a variant exceeds its bound or a
      calibrated variant is worse than REFERENCE (round-to-nearest) on the
      calibration set.
"""
import argparse
import os
import sys

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "differential"))
import kiln_host  # noqa: E402

RUNS, SEQUENCE, VOCAB = 8, 16, 256


def token_set(seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, VOCAB, (RUNS, 1, SEQUENCE)).astype(np.int64)
    mask = np.ones((RUNS, 1, SEQUENCE), dtype=np.int64)
    for run in range(0, RUNS, 3):  # some runs end in padding
        mask[run, 0, SEQUENCE - 1 - run % 5:] = 0
    return {"input_ids": ids, "attention_mask": mask}


def make(folder):
    np.savez(os.path.join(folder, "calib.npz"), **token_set(1))
    np.savez(os.path.join(folder, "eval.npz"), **token_set(2))


def relative_error(session, library, data):
    """Relative L2 error over all runs of `data` of the library's first output."""
    model = kiln_host.HostModel(library, os.path.basename(library)[3:-3])
    names = model.input_names()
    error = norm = 0.0
    for run in range(RUNS):
        inputs = [data[name][run] for name in names]
        want = session.run(None, dict(zip(names, inputs)))[0].astype(np.float64)
        got = model.run(inputs)[0].astype(np.float64)
        assert got.shape == want.shape, (got.shape, want.shape)
        error += float(np.sum((got - want) ** 2))
        norm += float(np.sum(want ** 2))
    model.close()
    return (error / norm) ** 0.5


def check(args):
    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    sets = {name: dict(np.load(os.path.join(args.folder, f"{name}.npz"))) for name in ("calib", "eval")}
    libraries = dict(item.split("=", 1) for item in args.variants)
    bounds = {name: float(bound) for name, bound in (item.split("=", 1) for item in args.bound)}
    errors = {name: {which: relative_error(session, library, data) for which, data in sets.items()}
              for name, library in libraries.items()}
    failures = []
    for name, error in errors.items():
        print(f"{name}: relative L2 vs onnxruntime: calibration set {error['calib']:.4f}, "
              f"held-out set {error['eval']:.4f} (bound {bounds.get(name, 'none')})")
        if name in bounds and max(error.values()) > bounds[name]:
            failures.append(f"{name} exceeds its bound {bounds[name]}")
        if name != args.reference and error["calib"] > errors[args.reference]["calib"]:
            failures.append(f"{name} is worse than {args.reference} on the calibration set")
    for failure in failures:
        print("FAIL:", failure)
    if not failures:
        print(f"calibrated variants within bounds and no worse than {args.reference}")
    return 1 if failures else 0


def main():
    if sys.argv[1] == "make":
        make(sys.argv[2])
        return 0
    parser = argparse.ArgumentParser()
    parser.add_argument("command")
    parser.add_argument("model")
    parser.add_argument("folder")
    parser.add_argument("reference")
    parser.add_argument("variants", nargs="+")
    parser.add_argument("--bound", action="append", default=[])
    return check(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
