"""Calibration inputs in the model's own element types: a model whose inputs
are int64 ids, a bool mask, uint8 pixels, int32 offsets and float16 values
(converted to f32 inside the model, summed, then one kiln.linear), the same
calibration data as .npz, as converted-but-lossless arrays and as ONNX
TensorProto .pb files with typed fields, arrays that must be refused, and a
check of the layer statistics kiln-calibration-stats reports against numpy.

  calibration_dtypes.py make DIR
  calibration_dtypes.py check DIR STATS.json
"""
import json
import os
import sys

import numpy as np

RUNS, ROWS, COLS = 5, 2, 4


def inputs(rng):
    return {
        "ids": rng.integers(-70000, 70000, (RUNS, ROWS, COLS)).astype(np.int64),
        "mask": rng.integers(0, 2, (RUNS, ROWS, COLS)).astype(np.bool_),
        "pixels": rng.integers(0, 256, (RUNS, ROWS, COLS)).astype(np.uint8),
        "offsets": rng.integers(-1000, 1000, (RUNS, ROWS, COLS)).astype(np.int32),
        "h": rng.normal(size=(RUNS, ROWS, COLS)).astype(np.float16),
    }


def model_text(weight):
    t = lambda e: f"tensor<{ROWS}x{COLS}x{e}>"
    w = "dense<" + json.dumps(weight.tolist()) + ">"
    return f"""func.func @main(%ids: {t('i64')} {{kiln.name = "ids", kiln.dtype = "int64"}},
    %mask: {t('i1')} {{kiln.name = "mask", kiln.dtype = "bool"}},
    %pixels: {t('i8')} {{kiln.name = "pixels", kiln.dtype = "uint8"}},
    %offsets: {t('i32')} {{kiln.name = "offsets", kiln.dtype = "int32"}},
    %h: {t('f16')} {{kiln.name = "h", kiln.dtype = "float16"}}) -> tensor<{ROWS}x3xf32> {{
  %w = arith.constant {w} : tensor<3x{COLS}xf32>
  %a = arith.sitofp %ids : {t('i64')} to {t('f32')}
  %m = arith.uitofp %mask : {t('i1')} to {t('f32')}
  %p = arith.uitofp %pixels : {t('i8')} to {t('f32')}
  %o = arith.sitofp %offsets : {t('i32')} to {t('f32')}
  %g = arith.extf %h : {t('f16')} to {t('f32')}
  %am = arith.mulf %a, %m : {t('f32')}
  %s1 = arith.addf %am, %p : {t('f32')}
  %s2 = arith.addf %s1, %o : {t('f32')}
  %x = arith.addf %s2, %g : {t('f32')}
  %y = kiln.linear %x, %w : ({t('f32')}, tensor<3x{COLS}xf32>) -> tensor<{ROWS}x3xf32> loc("fc (Gemm)")
  return %y : tensor<{ROWS}x3xf32>
}}
"""


def write_pb_folder(folder, arrays):
    """One TensorProto per input, values in the typed fields (int64_data,
    int32_data for bool/uint8/int32/float16 bit patterns), not raw_data."""
    import onnx
    from onnx import helper
    os.makedirs(folder, exist_ok=True)
    types = {np.int64: onnx.TensorProto.INT64, np.bool_: onnx.TensorProto.BOOL,
             np.uint8: onnx.TensorProto.UINT8, np.int32: onnx.TensorProto.INT32,
             np.float16: onnx.TensorProto.FLOAT16}
    for index, (name, array) in enumerate(arrays.items()):
        tensor = helper.make_tensor(name, types[array.dtype.type], array.shape,
                                    array.ravel().tolist(), raw=False)
        assert not tensor.raw_data, name
        if array.dtype == np.float16:  # ONNX keeps float16 bit patterns in int32_data
            assert list(tensor.int32_data) == array.view(np.uint16).ravel().tolist()
        with open(os.path.join(folder, f"input_{index}.pb"), "wb") as f:
            f.write(tensor.SerializeToString())


def make(folder):
    rng = np.random.default_rng(11)
    arrays = inputs(rng)
    weight = rng.normal(size=(3, COLS)).astype(np.float32)
    with open(f"{folder}/model.mlir", "w") as f:
        f.write(model_text(weight))
    np.savez(f"{folder}/calib.npz", **arrays)
    # Lossless conversions: int32 ids, int64 mask/pixels, float32 h (rounded
    # to float16 exactly as numpy does).
    converted = dict(arrays, ids=arrays["ids"].astype(np.int32), mask=arrays["mask"].astype(np.int64),
                     pixels=arrays["pixels"].astype(np.int64), h=arrays["h"].astype(np.float32))
    np.savez(f"{folder}/converted.npz", **converted)
    write_pb_folder(f"{folder}/pb", arrays)
    # Arrays that must be refused, each with the input it breaks.
    np.savez(f"{folder}/float-ids.npz", **dict(arrays, ids=arrays["ids"].astype(np.float32)))
    pixels = arrays["pixels"].astype(np.int64)
    pixels[0, 1, 2] = 300
    np.savez(f"{folder}/pixel-range.npz", **dict(arrays, pixels=pixels))
    mask = arrays["mask"].astype(np.int64)
    mask[0, 0, 1] = 2
    np.savez(f"{folder}/mask-range.npz", **dict(arrays, mask=mask))
    np.savez(f"{folder}/float-offsets.npz", **dict(arrays, offsets=arrays["offsets"].astype(np.float64)))


def check(folder, stats_path):
    arrays = dict(np.load(f"{folder}/calib.npz"))
    x = (arrays["ids"].astype(np.float64) * arrays["mask"] + arrays["pixels"] + arrays["offsets"]
         + arrays["h"].astype(np.float64)).reshape(-1, COLS)
    with open(stats_path) as f:
        stats = json.load(f)
    assert stats["runner"] == "Kiln's compiled host code", stats["runner"]
    (layer,) = stats["layers"]
    assert layer["rows"] == RUNS * ROWS and layer["cols"] == COLS, layer
    worst = 0.0
    for key, want in (("mean_abs", np.abs(x).mean(axis=0)), ("max_abs", np.abs(x).max(axis=0)),
                      ("gram", (x.T @ x).ravel())):
        got = np.array(layer[key])
        error = np.max(np.abs(got - want)) / np.max(np.abs(want))
        worst = max(worst, error)
        assert error < 1e-5, f"{key}: relative error {error}"
    print(f"typed calibration inputs match numpy: {RUNS} runs, worst relative error {worst:.2e}")


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        check(sys.argv[2], sys.argv[3])
