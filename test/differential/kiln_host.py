"""Compile a model with kilnc --target=host and run it through its C API.

The compiled library is loaded with ctypes and driven through the same
NAME_* functions a C program calls (docs/c-api.md), so these tests exercise
the real product surface.
"""
import ctypes
import os
import re
import subprocess
import tempfile

import numpy as np

KILN_OK = 0
KILN_DTYPE_BF16 = 3

_DTYPES = {
    np.dtype(np.float32): 1, np.dtype(np.float16): 2, np.dtype(np.float64): 4,
    np.dtype(np.int8): 5, np.dtype(np.int16): 6, np.dtype(np.int32): 7,
    np.dtype(np.int64): 8, np.dtype(np.uint8): 9, np.dtype(np.uint16): 10,
    np.dtype(np.uint32): 11, np.dtype(np.uint64): 12, np.dtype(np.bool_): 13,
}
_NUMPY = {code: dtype for dtype, code in _DTYPES.items()}


class Unsupported(Exception):
    """kilnc does not support something in the model (an op, a type)."""


class CompileError(Exception):
    pass


class _Tensor(ctypes.Structure):
    _fields_ = [("dtype", ctypes.c_int32), ("rank", ctypes.c_int32),
                ("shape", ctypes.POINTER(ctypes.c_int64)), ("data", ctypes.c_void_p),
                ("size_bytes", ctypes.c_size_t)]


class _Info(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int32), ("rank", ctypes.c_int32),
                ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("dim_names", ctypes.POINTER(ctypes.c_char_p))]


# kilnc messages that mean "not supported (yet)", not "wrong".
_UNSUPPORTED = re.compile(r"unsupported|not supported|cannot (lower|import|cast to)|no lowering|"
                          r"is not built|cannot pass|element type|imports no ai\.onnx opset|"
                          r"must be [^.\n]*known at import", re.I)


def compile_model(kilnc, model_path, name, flags=(), workdir=None):
    """Runs kilnc; returns (library path, wall seconds)."""
    import time
    workdir = workdir or tempfile.mkdtemp(prefix="kiln-diff-")
    library = os.path.join(workdir, f"lib{name}.so")
    command = [kilnc, model_path, "--target=host", f"--name={name}", "-o", library, *flags]
    start = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.monotonic() - start
    if result.returncode != 0:
        message = result.stderr.strip()
        if _UNSUPPORTED.search(message):
            raise Unsupported(message)
        raise CompileError(f"{' '.join(command)}\n{message}")
    return library, seconds


class HostModel:
    """A loaded lib<name>.so."""

    def __init__(self, library, name):
        self.lib = ctypes.CDLL(library, mode=os.RTLD_LOCAL)
        self.name = name
        fn = self._fn
        fn("last_error", ctypes.c_char_p)
        fn("num_inputs", ctypes.c_int32)
        fn("num_outputs", ctypes.c_int32)
        fn("input_info", ctypes.c_int, ctypes.c_int32, ctypes.POINTER(_Info))
        fn("output_info", ctypes.c_int, ctypes.c_int32, ctypes.POINTER(_Info))
        fn("output_shape", ctypes.c_int, ctypes.POINTER(_Tensor), ctypes.c_int32, ctypes.c_int32,
           ctypes.POINTER(ctypes.c_int64))
        fn("create", ctypes.c_int, ctypes.POINTER(ctypes.c_void_p))
        fn("destroy", None, ctypes.c_void_p)
        fn("run", ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_Tensor), ctypes.c_int32,
           ctypes.POINTER(_Tensor), ctypes.c_int32)
        self.handle = ctypes.c_void_p()
        self._check(self.c_create(ctypes.byref(self.handle)), "create")

    def _fn(self, suffix, restype, *argtypes):
        function = getattr(self.lib, f"{self.name}_{suffix}")
        function.restype = restype
        function.argtypes = argtypes
        setattr(self, "c_" + suffix, function)

    def _check(self, status, what):
        if status != KILN_OK:
            raise RuntimeError(f"{what}: status {status}: {self.c_last_error().decode()}")

    def _info(self, getter, index):
        info = _Info()
        self._check(getter(index, ctypes.byref(info)), "info")
        return info

    def input_names(self):
        return [self._info(self.c_input_info, i).name.decode() for i in range(self.c_num_inputs())]

    def output_names(self):
        return [self._info(self.c_output_info, i).name.decode() for i in range(self.c_num_outputs())]

    @staticmethod
    def _tensor(array, keep, dtype=None):
        shape = (ctypes.c_int64 * max(1, array.ndim))(*array.shape)
        keep.append(shape)
        code = dtype if dtype is not None else _DTYPES[array.dtype]
        return _Tensor(code, array.ndim, shape, array.ctypes.data, array.nbytes)

    def _input_dtype(self, index, array):
        """bfloat16 travels as its uint16 bit patterns (numpy has no bfloat16)."""
        declared = self._info(self.c_input_info, index).dtype
        if declared == KILN_DTYPE_BF16 and array.dtype.itemsize == 2:
            return declared
        return _DTYPES.get(array.dtype, declared)

    def run(self, inputs):
        """inputs: numpy arrays in signature order; returns the outputs."""
        keep = []
        # np.require keeps 0-d arrays 0-d (ascontiguousarray would not).
        arrays = [np.require(a, requirements="C") for a in inputs]
        c_inputs = (_Tensor * max(1, len(arrays)))(
            *[self._tensor(a, keep, self._input_dtype(i, a)) for i, a in enumerate(arrays)])
        outputs, codes = [], []
        for o in range(self.c_num_outputs()):
            info = self._info(self.c_output_info, o)
            shape = (ctypes.c_int64 * max(1, info.rank))()
            self._check(self.c_output_shape(c_inputs, len(arrays), o, shape), "output_shape")
            dims = [shape[d] for d in range(info.rank)]
            outputs.append(np.empty(dims, dtype=_NUMPY.get(info.dtype, np.uint16)))
            codes.append(info.dtype)
        c_outputs = (_Tensor * max(1, len(outputs)))(
            *[self._tensor(a, keep, code) for a, code in zip(outputs, codes)])
        self._check(self.c_run(self.handle, c_inputs, len(arrays), c_outputs, len(outputs)), "run")
        return outputs

    def close(self):
        self.c_destroy(self.handle)
