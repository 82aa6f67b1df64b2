"""Writes ONNX TensorProto calibration files for calibration-files.test.

  good/test_data_set_{0,1}/input_0.pb    x, [8, 2, 4] each (raw_data), and
                                         an output_0.pb that must be skipped
  float-data/input_0.pb                  x, [16, 2, 4] in float_data
  double/input_0.pb                      x as float64
  int/input_0.pb                         x as int64 (rejected)
  names/a.pb, names/b.pb                 no tensor named after the input
  shape/input_0.pb                       x, [16, 2, 3]
  truncated/input_0.pb                   cut in the middle
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def write(path, tensor):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(tensor.SerializeToString())


root = sys.argv[1]
x = np.random.default_rng(0).normal(size=(16, 2, 4)).astype(np.float32)
for i in range(2):
    write(f"{root}/good/test_data_set_{i}/input_0.pb", numpy_helper.from_array(x[8 * i:8 * i + 8], "x"))
    write(f"{root}/good/test_data_set_{i}/output_0.pb", numpy_helper.from_array(x[:1, :, :3], "y"))
write(f"{root}/float-data/input_0.pb",
      helper.make_tensor("x", TensorProto.FLOAT, x.shape, x.ravel().tolist(), raw=False))
write(f"{root}/double/input_0.pb", numpy_helper.from_array(x.astype(np.float64), "x"))
write(f"{root}/int/input_0.pb", numpy_helper.from_array(x.astype(np.int64), "x"))
write(f"{root}/names/a.pb", numpy_helper.from_array(x, "a"))
write(f"{root}/names/b.pb", numpy_helper.from_array(x, "b"))
write(f"{root}/shape/input_0.pb", numpy_helper.from_array(x[:, :, :3], "x"))
data = numpy_helper.from_array(x, "x").SerializeToString()
os.makedirs(f"{root}/truncated", exist_ok=True)
with open(f"{root}/truncated/input_0.pb", "wb") as f:
    f.write(data[: len(data) // 2])
# The same inputs as an .npz, for comparing results.
np.savez(f"{root}/x.npz", x=x)
