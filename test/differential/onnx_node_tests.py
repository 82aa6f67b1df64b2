"""ONNX backend node tests (Debian libonnx-testdata) on the host target.

Each case's model.onnx is compiled with `kilnc --target=host`, run through
its C API on every test_data_set_*, and compared with the expected outputs
at the ONNX backend's default tolerance (rtol 1e-3, atol 1e-7).

A case is `unsupported` when kilnc says so (an op or type Kiln does not
compile); that is counted, not failed. Every other outcome must pass, except
the cases listed with a reason in node-test-skips.txt. Prints passed/total.
Each case runs in its own process, so a crash fails that case only.
"""
import argparse
import concurrent.futures
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = "/usr/share/libonnx-testdata/data/node"


def load_skips(path):
    skips = {}
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition(" ")
        skips[name] = reason.strip()
    return skips


def run_one(case_dir, kilnc):
    """Compiles and runs one case; returns a dict with `outcome`."""
    sys.path.insert(0, HERE)
    import numpy as np
    import onnx
    from onnx import numpy_helper
    import kiln_host

    model = onnx.load(os.path.join(case_dir, "model.onnx"))
    initializers = {init.name for init in model.graph.initializer}
    input_names = [i.name for i in model.graph.input if i.name not in initializers]
    workdir = tempfile.mkdtemp(prefix="kiln-node-")
    try:
        library, seconds = kiln_host.compile_model(kilnc, os.path.join(case_dir, "model.onnx"),
                                                   "node", (), workdir)
    except kiln_host.Unsupported as error:
        return {"outcome": "unsupported", "detail": str(error).splitlines()[0][:300]}
    except kiln_host.CompileError as error:
        return {"outcome": "fail", "detail": "compile: " + str(error).splitlines()[-1][:300]}
    compiled = kiln_host.HostModel(library, "node")
    for data_set in sorted(glob.glob(os.path.join(case_dir, "test_data_set_*"))):
        def tensors(prefix):
            files = sorted(glob.glob(os.path.join(data_set, f"{prefix}_*.pb")),
                           key=lambda p: int(re.search(r"_(\d+)\.pb$", p).group(1)))
            return [numpy_helper.to_array(onnx.load_tensor(f)) for f in files]
        inputs, expected = tensors("input"), tensors("output")
        if len(inputs) != len(input_names):
            return {"outcome": "unsupported", "detail": "optional inputs left out"}
        try:
            actual = compiled.run(inputs)
        except (RuntimeError, KeyError) as error:
            return {"outcome": "fail", "detail": f"run: {error}"[:300]}
        for index, (want, got) in enumerate(zip(expected, actual)):
            if want.shape != got.shape:
                return {"outcome": "fail",
                        "detail": f"output {index}: shape {got.shape}, expected {want.shape}"}
            if got.dtype == np.uint16 and want.dtype.name == "bfloat16":
                got, want = got.view(want.dtype).astype(np.float32), want.astype(np.float32)
            if want.dtype.kind in "fc":
                ok = np.allclose(got, want, rtol=1e-3, atol=1e-7, equal_nan=True)
            else:
                ok = np.array_equal(got, want)
            if not ok:
                return {"outcome": "fail",
                        "detail": f"output {index}: max |diff| "
                                  f"{np.max(np.abs(got.astype(np.float64) - want)):.3g}"}
    compiled.close()
    return {"outcome": "pass", "seconds": seconds}


def run_isolated(case_dir, kilnc, timeout):
    command = [sys.executable, __file__, "--one", case_dir, "--kilnc", kilnc]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"outcome": "fail", "detail": f"timed out after {timeout} s"}
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        tail = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"outcome": "fail", "detail": f"crashed (exit {result.returncode}): {tail}"[:300]}
    return json.loads(lines[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kilnc", required=True)
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--skips", default=os.path.join(HERE, "node-test-skips.txt"))
    parser.add_argument("--filter", default="", help="regex on case names")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=120)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.kilnc)))
        return 0

    skips = load_skips(args.skips)
    cases = sorted(d for d in glob.glob(os.path.join(args.data, "test_*"))
                   if os.path.exists(os.path.join(d, "model.onnx"))
                   and re.search(args.filter, os.path.basename(d)))
    if not cases:
        print(f"no ONNX node tests under {args.data} (install libonnx-testdata)")
        return 1
    results = {}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(run_isolated, case, args.kilnc, args.timeout): case
                   for case in cases if os.path.basename(case) not in skips}
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            results[os.path.basename(futures[future])] = future.result()
            if done % 100 == 0:
                print(f"... {done}/{len(futures)} cases", flush=True)
    counts = {"pass": 0, "fail": 0, "unsupported": 0}
    for name in sorted(results):
        result = results[name]
        counts[result["outcome"]] += 1
        if result["outcome"] == "fail":
            print(f"FAIL {name}: {result['detail']}")
    skipped = sum(1 for case in cases if os.path.basename(case) in skips)
    print(f"ONNX node tests: {counts['pass']} passed / {len(cases)} total "
          f"({counts['unsupported']} unsupported ops or types, {skipped} skipped with a reason "
          f"in {os.path.basename(args.skips)}, {counts['fail']} failed)")
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
