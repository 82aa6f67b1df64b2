#!/usr/bin/env python3
"""The bad-input corpus: models that kilnc must refuse with a one-line error.

    corpus.py write DIR          writes every case under DIR (fuzzer seeds too)
    corpus.py check KILNC DIR    writes the cases, runs kilnc on each, checks
                                 exit status, the single error line (file,
                                 node, reason) and that no output was left

Each case is a small model built with the onnx helper API (or raw bytes),
plus the text its error must contain.
"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT


def model(nodes, inputs, outputs, initializers=(), opset=17, extra_opsets=()):
    graph = helper.make_graph(nodes, "bad", inputs, outputs, list(initializers))
    opsets = [helper.make_opsetid("", opset)] + list(extra_opsets)
    m = helper.make_model(graph, opset_imports=opsets)
    m.ir_version = 8
    return m.SerializeToString()


def vi(name, shape, dtype=F):
    return helper.make_tensor_value_info(name, dtype, shape)


def relu_model(**kwargs):
    return model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                 [vi("x", [2, 3])], [vi("y", [2, 3])], **kwargs)


def add_weight_model(weight, name="w"):
    """x + w, where w is the given (possibly broken) initializer."""
    return model([helper.make_node("Add", ["x", name], ["y"], name="add")],
                 [vi("x", [4])], [vi("y", [4])], [weight])


def external_weight(location, offset=None, length=None, dims=(4,)):
    tensor = float_data_tensor(list(dims), [])
    tensor.data_location = TensorProto.EXTERNAL
    entries = {"location": location}
    if offset is not None:
        entries["offset"] = str(offset)
    if length is not None:
        entries["length"] = str(length)
    for key, value in entries.items():
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    return tensor


def nested_if(depth):
    """An If whose then-branch holds an If ... `depth` levels deep."""
    body_out = vi("o", [1])
    graph = helper.make_graph(
        [helper.make_node("Identity", ["c"], ["o"], name="leaf")], "leaf", [], [body_out],
        [numpy_helper.from_array(np.ones(1, np.float32), "c")])
    leaf = graph
    for level in range(depth):
        node = helper.make_node("If", ["cond"], ["o"], name=f"if{level}",
                                then_branch=graph, else_branch=leaf)
        graph = helper.make_graph([node], f"level{level}", [], [body_out])
    outer = helper.make_node("If", ["cond"], ["y"], name="outer",
                             then_branch=graph, else_branch=leaf)
    return model([outer], [vi("cond", [], TensorProto.BOOL)], [vi("y", [1])])


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, payload):
    """A length-delimited protobuf field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def deeply_nested(depth):
    """Nested If subgraphs written as raw protobuf, since the Python
    protobuf runtime refuses to build messages this deep."""
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["o"])], "leaf", [],
                              [vi("o", [1])]).SerializeToString()
    for _ in range(depth):
        attribute = field(1, b"then_branch") + varint(20 << 3) + varint(5) + field(6, graph)
        node = field(1, b"cond") + field(2, b"o") + field(4, b"If") + field(5, attribute)
        graph = field(1, node)
    opset = field(1, b"") + varint(2 << 3) + varint(17)
    return varint(1 << 3) + varint(8) + field(7, graph) + field(8, opset)


def raw_tensor(dims, raw):
    tensor = TensorProto()
    tensor.name = "w"
    tensor.data_type = F
    tensor.dims.extend(dims)
    tensor.raw_data = raw
    return tensor


def float_data_tensor(dims, values):
    tensor = TensorProto()
    tensor.name = "w"
    tensor.data_type = F
    tensor.dims.extend(dims)
    tensor.float_data.extend(values)
    return tensor


def setup_outside(folder):
    outside = os.path.join(os.path.dirname(folder), "outside.bin")
    with open(outside, "wb") as f:
        f.write(np.ones(4, np.float32).tobytes())
    return outside


# name -> (bytes or callable(folder) -> bytes, text the error must contain)
CASES = {
    "not_protobuf": (b"this is a text file, not an ONNX model\n", "not a valid ONNX model"),
    "truncated": (lambda d: relu_model()[:-7], "not a valid ONNX model"),
    "empty_graph": (model([], [vi("x", [2])], [vi("x", [2])]), "the graph is empty"),
    "unknown_op": (model([helper.make_node("FrobnicateTensor", ["x"], ["y"], name="frob")],
                         [vi("x", [2])], [vi("y", [2])]),
                   "node 'frob' (FrobnicateTensor): unknown op 'FrobnicateTensor' of domain "
                   "'ai.onnx' (opset 17)"),
    "unknown_domain": (model([helper.make_node("Fancy", ["x"], ["y"], name="fancy",
                                               domain="com.example")],
                             [vi("x", [2])], [vi("y", [2])],
                             extra_opsets=[helper.make_opsetid("com.example", 3)]),
                       "node 'fancy' (Fancy): unknown op 'Fancy' of domain 'com.example' (opset 3)"),
    "undeclared_domain": (model([helper.make_node("Fancy", ["x"], ["y"], name="fancy",
                                                  domain="com.other")],
                                [vi("x", [2])], [vi("y", [2])]),
                          "domain 'com.other' is not imported by the model"),
    "unsupported_op_version": (model([helper.make_node("Reshape", ["x"], ["y"], name="old",
                                                       shape=[2])],
                                     [vi("x", [2])], [vi("y", [2])], opset=1),
                               "node 'old' (Reshape): version 1 of 'Reshape' (selected by opset 1) "
                               "is not supported"),
    "unsupported_opset": (relu_model(opset=30), "ai.onnx opset 30 is not supported"),
    "missing_initializer": (model([helper.make_node("Add", ["x", "bias"], ["y"], name="add")],
                                  [vi("x", [2])], [vi("y", [2])]),
                            "node 'add' (Add): input 'bias' is not a graph input, an initializer "
                            "or the output of any node"),
    "missing_output": (model([helper.make_node("Relu", ["x"], ["t"], name="relu")],
                             [vi("x", [2])], [vi("y", [2])]),
                       "output 'y' is not produced by any node"),
    "cycle": (model([helper.make_node("Add", ["x", "b"], ["a"], name="first"),
                     helper.make_node("Relu", ["a"], ["b"], name="second")],
                    [vi("x", [2])], [vi("a", [2])]),
              "the graph has a cycle through this node"),
    "inconsistent_shapes": (model([helper.make_node("Add", ["x", "z"], ["y"], name="add")],
                                  [vi("x", [2, 3]), vi("z", [4, 3])], [vi("y", [2, 3])]),
                            "node 'add' (Add): inconsistent shapes"),
    "inconsistent_output_shape": (model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                                        [vi("x", [2, 3])], [vi("y", [3, 2])]),
                                  "inconsistent shapes"),
    "negative_dim": (add_weight_model(raw_tensor([-4], b"")), "negative dimension -4"),
    "negative_input_dim": (model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                                 [vi("x", [-2])], [vi("y", [2])]), "negative dimension -2"),
    "overflowing_dims": (add_weight_model(raw_tensor([1 << 40, 1 << 40], b"")),
                         "more elements than fit in 64 bits"),
    "overflowing_bytes": (add_weight_model(raw_tensor([1 << 62], b"")),
                          "its byte size overflows"),
    "raw_data_size": (add_weight_model(raw_tensor([4], b"\0" * 10)),
                      "has 10 bytes of raw data, but its dims and type need 16"),
    "typed_data_count": (add_weight_model(float_data_tensor([4], [1.0, 2.0])),
                         "holds 2 values, but its dims need 4"),
    "external_absolute": (add_weight_model(external_weight("/etc/passwd")), "is absolute"),
    "external_dotdot": (lambda d: (setup_outside(d),
                                   add_weight_model(external_weight("../outside.bin")))[1],
                        "escapes the model's folder"),
    "external_symlink": (lambda d: (os.symlink(setup_outside(d), os.path.join(d, "link.bin")),
                                    add_weight_model(external_weight("link.bin")))[1],
                         "outside the model's folder"),
    "external_offset": (lambda d: (open(os.path.join(d, "w.bin"), "wb").write(b"\0" * 16),
                                   add_weight_model(external_weight("w.bin", offset=64)))[1],
                        "offset 64 lies past the end"),
    "external_range": (lambda d: (open(os.path.join(d, "w.bin"), "wb").write(b"\0" * 16),
                                  add_weight_model(external_weight("w.bin", offset=8)))[1],
                       "lies outside 'w.bin'"),
    "external_length": (lambda d: (open(os.path.join(d, "w.bin"), "wb").write(b"\0" * 64),
                                   add_weight_model(external_weight("w.bin", length=32)))[1],
                        "external data length 32 does not match the tensor's 16 bytes"),
    "external_missing": (add_weight_model(external_weight("nowhere.bin")),
                         "cannot open external data 'nowhere.bin'"),
    "deep_subgraphs": (nested_if(20), "subgraphs are nested more than 16 deep"),
    "deeper_than_protobuf": (deeply_nested(60), "not a valid ONNX model"),
    "too_large": (None, "over 2 GiB"),
    # Found by the fuzzer: a node without its required input.
    "node_without_inputs": (model([helper.make_node("Relu", [], ["y"], name="relu")], [vi("x", [2])],
                                  [vi("y", [2])]),
                            "node 'relu' (Relu): required input 0 is missing"),
}


def write_case(name, folder):
    """Writes case `name` into its own folder; returns the model path."""
    case_dir = os.path.join(folder, name)
    os.makedirs(case_dir, exist_ok=True)
    path = os.path.join(case_dir, "model.onnx")
    content, _ = CASES[name]
    if name == "too_large":
        with open(path, "wb") as f:  # sparse: costs no disk space
            f.truncate(3 << 30)
        return path
    if callable(content):
        content = content(case_dir)
    with open(path, "wb") as f:
        f.write(content)
    return path


def check(kilnc, folder):
    failures = 0
    for name, (_, expected) in CASES.items():
        case_dir = os.path.join(folder, name)
        if os.path.isdir(case_dir):
            subprocess.run(["rm", "-rf", case_dir], check=True)
        path = write_case(name, folder)
        output = os.path.join(case_dir, "out.mlir")
        run = subprocess.run([kilnc, path, "-o", output], capture_output=True, text=True,
                             timeout=60)
        lines = run.stderr.strip().splitlines()
        problems = []
        if run.returncode == 0:
            problems.append("kilnc succeeded")
        if run.returncode < 0 or run.returncode >= 128:
            problems.append(f"kilnc crashed (status {run.returncode})")
        if len(lines) != 1:
            problems.append(f"expected one error line, got {len(lines)}")
        elif not lines[0].startswith(f"kilnc: error: {path}: "):
            problems.append("the error does not start with 'kilnc: error: <file>: '")
        if expected not in run.stderr:
            problems.append(f"the error lacks '{expected}'")
        leftovers = [f for f in os.listdir(case_dir) if f.startswith("out.mlir")]
        if leftovers:
            problems.append(f"output left behind: {leftovers}")
        status = "ok  " if not problems else "FAIL"
        print(f"{status} {name}: {run.stderr.strip()}")
        for problem in problems:
            print(f"     {problem}")
        failures += bool(problems)
    print(f"{len(CASES) - failures} of {len(CASES)} bad models refused correctly")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        for case in CASES:
            if case != "too_large":
                write_case(case, sys.argv[2])
        sys.exit(0)
    if len(sys.argv) == 4 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3]))
    sys.exit(__doc__)
