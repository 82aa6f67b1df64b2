"""The importer issue's real exported models on the host target.

Each test/models/real/*.onnx is compiled with `kilnc --target=host` (wall
time printed), run through its C API on random inputs (token ids for integer
inputs, symbolic dimensions at 2 unless pinned by the model) and compared
with onnxruntime. Exit status: 0 all pass or unsupported (printed), 1 a
mismatch or a compile error that is not "unsupported".
"""
import argparse
import glob
import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kiln_host  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_ONNX_NUMPY = {1: np.float32, 7: np.int64, 6: np.int32, 9: np.bool_, 10: np.float16, 11: np.float64}


def random_inputs(model, rng, symbolic_size):
    initializers = {init.name for init in model.graph.initializer}
    arrays = []
    for value in model.graph.input:
        if value.name in initializers:
            continue
        tensor_type = value.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else symbolic_size
                 for d in tensor_type.shape.dim]
        dtype = _ONNX_NUMPY[tensor_type.elem_type]
        if np.issubdtype(dtype, np.integer):
            arrays.append(rng.integers(0, 50, shape).astype(dtype))
        elif dtype == np.bool_:
            arrays.append(np.ones(shape, dtype=np.bool_))
        else:
            arrays.append(rng.standard_normal(shape).astype(dtype))
    return arrays


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kilnc", required=True)
    parser.add_argument("--models", default=os.path.join(ROOT, "test", "models", "real"))
    parser.add_argument("--rtol", type=float, default=1e-3)
    parser.add_argument("--atol", type=float, default=1e-4)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    failures = 0
    for path in sorted(glob.glob(os.path.join(args.models, "*.onnx"))):
        name = os.path.basename(path)[: -len(".onnx")]
        symbol = "m_" + "".join(c if c.isalnum() else "_" for c in name)
        try:
            library, seconds = kiln_host.compile_model(args.kilnc, path, symbol, (),
                                                       tempfile.mkdtemp(prefix="kiln-real-"))
        except kiln_host.Unsupported as error:
            print(f"UNSUPPORTED {name}: {str(error).splitlines()[0][:200]}")
            continue
        except kiln_host.CompileError as error:
            print(f"FAIL {name}: compile: {str(error).splitlines()[-1][:300]}")
            failures += 1
            continue
        model = onnx.load(path)
        inputs = random_inputs(model, rng, 2)
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        expected = session.run(None, {i.name: a for i, a in zip(session.get_inputs(), inputs)})
        try:
            actual = kiln_host.HostModel(library, symbol).run(inputs)
        except RuntimeError as error:
            print(f"FAIL {name}: run: {error}")
            failures += 1
            continue
        worst = 0.0
        for want, got in zip(expected, actual):
            if want.shape != got.shape:
                worst = float("inf")
                break
            if want.size:
                diff = np.abs(got.astype(np.float64) - want)
                worst = max(worst, float(np.max(diff / (args.atol + args.rtol * np.abs(want)))))
        status = "ok" if worst <= 1 else "FAIL"
        failures += worst > 1
        print(f"{status} {name}: kilnc {seconds:.2f} s, worst error {worst:.3g} of the tolerance")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
