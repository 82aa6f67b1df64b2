#!/usr/bin/env python3
"""Imports every model of the ONNX backend node tests and reports how many
import, with the reason for each that does not.

    import_node_tests.py KILNC [--data DIR] [--threshold FILE] [--report FILE]

Import only: numerical checks belong to the code generators' conformance
runs. Exits non-zero when the import rate falls below the threshold stored
in FILE (a fraction, e.g. 0.80), so a regression fails ctest while new
failures of models that never imported do not.
"""
import argparse
import collections
import concurrent.futures
import os
import subprocess
import sys

DEFAULT_DATA = "/usr/share/libonnx-testdata/data/node"


def import_one(kilnc, model):
    try:
        run = subprocess.run([kilnc, model, "--emit=imported", "-o", os.devnull],
                             capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return "timeout after 120 s"
    if run.returncode == 0:
        return None
    if run.returncode < 0 or run.returncode >= 128:
        return f"CRASH (status {run.returncode})"
    lines = run.stderr.strip().splitlines()
    reason = lines[-1] if lines else f"exit {run.returncode} without a message"
    # Drop the "kilnc: error: <path>: " prefix.
    marker = model + ": "
    return reason.split(marker, 1)[1] if marker in reason else reason


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kilnc")
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--threshold")
    parser.add_argument("--report")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()

    models = sorted(os.path.join(args.data, name, "model.onnx") for name in os.listdir(args.data)
                    if os.path.exists(os.path.join(args.data, name, "model.onnx")))
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda m: import_one(args.kilnc, m), models))

    failures = {os.path.basename(os.path.dirname(m)): r
                for m, r in zip(models, results) if r is not None}
    imported = len(models) - len(failures)
    rate = imported / len(models) if models else 0.0
    lines = [f"{name}: {reason}" for name, reason in sorted(failures.items())]
    # Group by reason with node/test names removed, to show what to fix next.
    kinds = collections.Counter()
    for reason in failures.values():
        kinds[reason.split("): ", 1)[-1][:90]] += 1
    summary = [f"{count:4d}  {kind}" for kind, count in kinds.most_common(25)]
    report = "\n".join(lines + ["", "most common reasons:"] + summary +
                       [f"", f"imported {imported} of {len(models)} node-test models ({rate:.1%})"])
    print(report)
    if args.report:
        with open(args.report, "w") as f:
            f.write(report + "\n")
    crashes = [name for name, r in failures.items() if r.startswith("CRASH")]
    if crashes:
        print(f"FAIL: kilnc crashed on {len(crashes)} models: {', '.join(crashes[:10])}")
        return 1
    if args.threshold:
        with open(args.threshold) as f:
            threshold = float(f.read().split()[0])
        if rate < threshold:
            print(f"FAIL: the import rate {rate:.1%} fell below the threshold {threshold:.1%}")
            return 1
        print(f"threshold {threshold:.1%}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
