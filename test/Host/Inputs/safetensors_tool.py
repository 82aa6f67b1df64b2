#!/usr/bin/env python3
"""Reads a Kiln weights file as plain safetensors (json + numpy, no Kiln
code), checks it, and makes damaged copies for the run-time error tests.

    safetensors_tool.py check FILE MODEL_NAME [ONNX_MODEL]
    safetensors_tool.py inside|absent FILE LIBRARY
    safetensors_tool.py corrupt-byte|truncate|reshape|drop-metadata FILE OUT

`check` verifies the layout the format requires (header length, JSON,
data_offsets covering the data section without holes or overlaps, sizes
= shape x dtype), Kiln's metadata and alignment promises, recomputes the
checksum independently, and with ONNX_MODEL checks that every float
initializer of the model is stored in the file (as is or transposed).
`inside`/`absent` check whether a library contains the file's tensors.
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
          "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8}
FNV_OFFSET, FNV_PRIME, MASK = 0xCBF29CE484222325, 0x100000001B3, (1 << 64) - 1


def fnv1a64x4(data):
    """runtime/host/kiln_checksum.h, written again from its description."""
    lanes = [FNV_OFFSET ^ k for k in range(4)]
    whole = len(data) // 32 * 32
    for row in np.frombuffer(data[:whole], dtype="<u8").reshape(-1, 4).tolist():
        for k in range(4):
            lanes[k] = ((lanes[k] ^ row[k]) * FNV_PRIME) & MASK
    state = FNV_OFFSET
    for byte in data[whole:]:
        state = ((state ^ byte) * FNV_PRIME) & MASK
    for value in lanes + [len(data)]:
        for b in range(8):
            state = ((state ^ ((value >> (8 * b)) & 0xFF)) * FNV_PRIME) & MASK
    return state


def read(path):
    blob = open(path, "rb").read()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + length].decode("utf-8"))
    return blob, length, header


def write(path, header, data):
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 64)
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + data)


def tensors_of(blob, length, header):
    data = blob[8 + length:]
    result = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        dtype = np.dtype(DTYPES[entry["dtype"]])
        result[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(entry["shape"])
    return result


def check(path, model_name, onnx_path=None):
    blob, length, header = read(path)
    data = blob[8 + length:]
    assert (8 + length) % 64 == 0, "the data section is not 64-byte aligned"
    meta = header["__metadata__"]
    assert meta["format"] == "kiln" and meta["kiln.model"] == model_name, meta
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        assert set(entry) == {"dtype", "shape", "data_offsets"}, entry
        begin, end = entry["data_offsets"]
        size = np.dtype(DTYPES[entry["dtype"]]).itemsize
        assert end - begin == int(np.prod(entry["shape"], dtype=np.int64)) * size, name
        assert begin % size == 0, f"{name} is not aligned to its element size"
        spans.append((begin, end))
    spans.sort()
    position = 0
    for begin, end in spans:
        assert begin == position, f"hole or overlap at byte {position}"
        position = end
    assert position == len(data), "the tensors do not cover the data section"
    checksum = "fnv1a64x4:%016x" % fnv1a64x4(data)
    assert meta["kiln.checksum"] == checksum, (meta["kiln.checksum"], checksum)
    tensors = tensors_of(blob, length, header)
    print(f"safetensors ok: {len(tensors)} tensors, {len(data)} data bytes, {checksum}")
    if onnx_path:
        import onnx
        from onnx import numpy_helper
        stored = [t.tobytes() for t in tensors.values()]
        model = onnx.load(onnx_path)
        for init in model.graph.initializer:
            array = numpy_helper.to_array(init)
            if array.dtype != np.float32 or array.size < 2:
                continue
            forms = [array, array.T] if array.ndim == 2 else [array]
            found = any(np.ascontiguousarray(f).tobytes() in stored for f in forms)
            assert found, f"initializer {init.name} {array.shape} is not in the file"
            print(f"initializer {init.name} {list(array.shape)}: stored")


def library_holds(path, library, expected):
    """Whether the library contains the bytes of each tensor of 64+ bytes."""
    blob, length, header = read(path)
    code = open(library, "rb").read()
    for name, tensor in tensors_of(blob, length, header).items():
        if tensor.nbytes >= 64:
            held = tensor.tobytes()[:64] in code
            assert held == expected, f"{library}: tensor {name} held: {held}"
    print(f"{library}: weights {'inside' if expected else 'absent'}")


def damage(mode, path, out):
    blob, length, header = read(path)
    data = bytearray(blob[8 + length:])
    if mode == "corrupt-byte":
        data[len(data) // 2] ^= 0x01
        open(out, "wb").write(blob[:8 + length] + bytes(data))
    elif mode == "truncate":
        open(out, "wb").write(blob[:-4])
    elif mode == "reshape":
        name = next(n for n, e in header.items() if n != "__metadata__" and len(e["shape"]) == 2)
        rows, cols = header[name]["shape"]
        header[name]["shape"] = [cols, rows] if rows != cols else [rows * cols]
        write(out, header, bytes(data))
    elif mode == "drop-metadata":
        del header["__metadata__"]
        write(out, header, bytes(data))
    else:
        sys.exit(f"unknown mode {mode}")


def main():
    if sys.argv[1] == "check":
        check(*sys.argv[2:])
    elif sys.argv[1] in ("inside", "absent"):
        library_holds(sys.argv[2], sys.argv[3], sys.argv[1] == "inside")
    else:
        damage(*sys.argv[1:4])


if __name__ == "__main__":
    main()
