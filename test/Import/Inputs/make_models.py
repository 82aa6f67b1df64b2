#!/usr/bin/env python3
"""Writes the small ONNX models that the importer's lit tests compile.

    make_models.py OUTDIR [NAME...]     (all models when no NAME is given)

Each model exercises one op (or one variant of it) with the onnx helper API,
so a lit test can import it and FileCheck the IR. Weights use a fixed seed.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper, numpy_helper

RNG = np.random.default_rng(0)
F = T.FLOAT


def vi(name, shape, dtype=F):
    return helper.make_tensor_value_info(name, dtype, shape)


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def model(nodes, inputs, outputs, inits=(), opset=17, domains=()):
    graph = helper.make_graph(nodes, "test", inputs, outputs, list(inits))
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in domains]
    m = helper.make_model(graph, opset_imports=opsets)
    m.ir_version = 10 if opset >= 21 else 8
    return m


def node(op, inputs, outputs, name=None, domain="", **attrs):
    return helper.make_node(op, inputs, outputs, name=name or op.lower(), domain=domain, **attrs)


def unary(op, shape=(2, 3), dtype=F, out_dtype=None, opset=17, **attrs):
    return model([node(op, ["x"], ["y"], **attrs)], [vi("x", list(shape), dtype)],
                 [vi("y", list(shape), out_dtype or dtype)], opset=opset)


def binary(op, a=(2, 3, 4), b=(4,), dtype=F, out=None, out_dtype=None, opset=17, **attrs):
    return model([node(op, ["a", "b"], ["y"], **attrs)],
                 [vi("a", list(a), dtype), vi("b", list(b), dtype)],
                 [vi("y", list(out or a), out_dtype or dtype)], opset=opset)


def weights(*shape):
    return (RNG.standard_normal(shape) * 0.5).astype(np.float32)


MODELS = {
    # Elementwise arithmetic, with numpy broadcasting.
    "add": binary("Add"),
    "sub": binary("Sub", (3, 1), (1, 4), out=(3, 4)),
    "mul": binary("Mul"),
    "div": binary("Div"),
    "div_int": binary("Div", dtype=T.INT32),
    "div_uint": binary("Div", dtype=T.UINT8),
    "pow": binary("Pow"),
    "mod_int": binary("Mod", dtype=T.INT64),
    "mod_fmod": binary("Mod", fmod=1),
    "min": binary("Min"),
    "max_uint": binary("Max", dtype=T.UINT16),
    "equal": binary("Equal", out_dtype=T.BOOL),
    "less_uint": binary("Less", dtype=T.UINT8, out_dtype=T.BOOL),
    "less_or_equal": binary("LessOrEqual", out_dtype=T.BOOL),
    "greater": binary("Greater", dtype=T.INT32, out_dtype=T.BOOL),
    "greater_or_equal": binary("GreaterOrEqual", out_dtype=T.BOOL),
    "and": binary("And", dtype=T.BOOL),
    "or": binary("Or", dtype=T.BOOL),
    "not": unary("Not", dtype=T.BOOL),
    "where": model([node("Where", ["c", "a", "b"], ["y"])],
                   [vi("c", [2, 3], T.BOOL), vi("a", [2, 3]), vi("b", [3])], [vi("y", [2, 3])]),
    "sqrt": unary("Sqrt"), "reciprocal": unary("Reciprocal"), "neg": unary("Neg"),
    "neg_int": unary("Neg", dtype=T.INT32), "abs": unary("Abs"), "exp": unary("Exp"),
    "log": unary("Log"), "tanh": unary("Tanh"), "erf": unary("Erf"), "sigmoid": unary("Sigmoid"),
    "relu": unary("Relu"), "leaky_relu": unary("LeakyRelu", alpha=0.25),
    "gelu": unary("Gelu", opset=20), "gelu_tanh": unary("Gelu", opset=20, approximate="tanh"),
    "hard_sigmoid": unary("HardSigmoid", alpha=0.3, beta=0.6), "hard_swish": unary("HardSwish"),
    "floor": unary("Floor"), "ceil": unary("Ceil"), "round": unary("Round"), "sin": unary("Sin"),
    "cos": unary("Cos"), "isnan": unary("IsNaN", out_dtype=T.BOOL),
    "clip": model([node("Clip", ["x", "lo", "hi"], ["y"])], [vi("x", [2, 3])], [vi("y", [2, 3])],
                  [const("lo", np.float32(-1)), const("hi", np.float32(2))]),
    "cast_f2i": unary("Cast", out_dtype=T.INT32, to=T.INT32),
    "cast_u2f": unary("Cast", dtype=T.UINT8, out_dtype=F, to=F),
    "cast_f2h": unary("Cast", out_dtype=T.FLOAT16, to=T.FLOAT16),
    "castlike": model([node("CastLike", ["x", "like"], ["y"])], [vi("x", [2], T.INT64), vi("like", [1])],
                      [vi("y", [2])], opset=17),
    # Linear layers and contractions.
    "matmul_const": model([node("MatMul", ["x", "w"], ["y"])], [vi("x", ["batch", 8])],
                          [vi("y", ["batch", 4])], [const("w", weights(8, 4))]),
    "matmul_batched": model([node("MatMul", ["a", "b"], ["y"])], [vi("a", [2, 1, 3, 5]), vi("b", [4, 5, 6])],
                            [vi("y", [2, 4, 3, 6])]),
    "matmul_vector": model([node("MatMul", ["a", "b"], ["y"])], [vi("a", [5]), vi("b", [5, 6])], [vi("y", [6])]),
    "gemm_alpha_beta": model([node("Gemm", ["a", "w", "c"], ["y"], alpha=0.5, beta=2.0, transA=1)],
                             [vi("a", [8, 3])], [vi("y", [3, 4])],
                             [const("w", weights(8, 4)), const("c", weights(3, 4))]),
    "gemm_dynamic_b": model([node("Gemm", ["a", "b"], ["y"], transB=1)], [vi("a", [3, 8]), vi("b", [4, 8])],
                            [vi("y", [3, 4])]),
    "einsum": model([node("Einsum", ["a", "b"], ["y"], equation="bij,bjk->bik")],
                    [vi("a", [2, 3, 4]), vi("b", [2, 4, 5])], [vi("y", [2, 3, 5])], opset=12),
    # Shapes, folded at import.
    "shape_fold": model([node("Shape", ["x"], ["s"]),
                         node("Gather", ["s", "zero"], ["batch"], name="gather", axis=0),
                         node("Unsqueeze", ["batch", "axes"], ["b1"]),
                         node("Concat", ["b1", "rest"], ["target"], axis=0),
                         node("Reshape", ["x", "target"], ["y"])],
                        [vi("x", ["batch", "seq", 8])], [vi("y", ["batch", "flat"])],
                        [const("zero", np.int64(0)), const("axes", np.array([0], np.int64)),
                         const("rest", np.array([-1], np.int64))]),
    "flatten": unary("Flatten", shape=(2, 3, 4), axis=2) if False else
               model([node("Flatten", ["x"], ["y"], axis=2)], [vi("x", [2, 3, 4])], [vi("y", [6, 4])]),
    "reshape_zero": model([node("Reshape", ["x", "s"], ["y"])], [vi("x", [2, 3, 4])], [vi("y", [2, 12])],
                          [const("s", np.array([0, -1], np.int64))]),
    "squeeze": model([node("Squeeze", ["x", "axes"], ["y"])], [vi("x", [2, 1, 3])], [vi("y", [2, 3])],
                     [const("axes", np.array([1], np.int64))]),
    "unsqueeze": model([node("Unsqueeze", ["x", "axes"], ["y"])], [vi("x", [2, 3])], [vi("y", [2, 1, 3, 1])],
                       [const("axes", np.array([1, -1], np.int64))]),
    "transpose": model([node("Transpose", ["x"], ["y"], perm=[2, 0, 1])], [vi("x", [2, 3, 4])],
                       [vi("y", [4, 2, 3])]),
    "expand": model([node("Expand", ["x", "s"], ["y"])], [vi("x", [3, 1])], [vi("y", [2, 3, 4])],
                    [const("s", np.array([2, 1, 4], np.int64))]),
    "constant_of_shape": model([node("Shape", ["x"], ["s"]),
                                node("ConstantOfShape", ["s"], ["y"],
                                     value=helper.make_tensor("v", F, [1], [0.5]))],
                               [vi("x", ["n", 3])], [vi("y", ["n", 3])]),
    "range": model([node("Shape", ["x"], ["s"]), node("Gather", ["s", "one"], ["len"], axis=0),
                    node("Range", ["start", "len", "step"], ["y"])],
                   [vi("x", ["batch", "seq"])], [vi("y", ["seq"], T.INT64)],
                   [const("one", np.int64(1)), const("start", np.int64(0)), const("step", np.int64(1))]),
    "size": model([node("Size", ["x"], ["y"])], [vi("x", [2, 3])], [vi("y", [], T.INT64)]),
    "constant": model([node("Constant", [], ["c"], value=helper.make_tensor("c", F, [2], [1.0, 2.0])),
                       node("Add", ["x", "c"], ["y"])], [vi("x", [2])], [vi("y", [2])]),
    "identity_dropout": model([node("Identity", ["x"], ["i"]), node("Dropout", ["i"], ["y"])],
                              [vi("x", [2])], [vi("y", [2])]),
    # Indexing.
    "concat": model([node("Concat", ["a", "b"], ["y"], axis=1)], [vi("a", [2, 3]), vi("b", [2, 5])],
                    [vi("y", [2, 8])]),
    "split": model([node("Split", ["x", "sizes"], ["y0", "y1"], axis=1)], [vi("x", [2, 6])],
                   [vi("y0", [2, 2]), vi("y1", [2, 4])], [const("sizes", np.array([2, 4], np.int64))]),
    "slice": model([node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])], [vi("x", [10, 8])],
                   [vi("y", [10, 3])],
                   [const("st", np.array([1], np.int64)), const("en", np.array([np.iinfo(np.int64).max], np.int64)),
                    const("ax", np.array([1], np.int64)), const("sp", np.array([3], np.int64))]),
    "slice_reverse": model([node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])], [vi("x", [5])], [vi("y", [5])],
                           [const("st", np.array([-1], np.int64)),
                            const("en", np.array([np.iinfo(np.int64).min], np.int64)),
                            const("ax", np.array([0], np.int64)), const("sp", np.array([-1], np.int64))]),
    "gather": model([node("Gather", ["table", "ids"], ["y"], axis=0)], [vi("ids", ["batch", "seq"], T.INT64)],
                    [vi("y", ["batch", "seq", 4])], [const("table", weights(10, 4))]),
    "gather_elements": model([node("GatherElements", ["x", "i"], ["y"], axis=1)],
                             [vi("x", [3, 4]), vi("i", [3, 2], T.INT64)], [vi("y", [3, 2])]),
    "scatter_nd": model([node("ScatterND", ["x", "i", "u"], ["y"])],
                        [vi("x", [4, 3]), vi("i", [2, 1], T.INT64), vi("u", [2, 3])], [vi("y", [4, 3])]),
    "tile": model([node("Tile", ["x", "r"], ["y"])], [vi("x", [2, 3])], [vi("y", [4, 3])],
                  [const("r", np.array([2, 1], np.int64))]),
    "trilu": model([node("Trilu", ["x", "k"], ["y"], upper=0)], [vi("x", [4, 4])], [vi("y", [4, 4])],
                   [const("k", np.int64(1))]),
    "cumsum": model([node("CumSum", ["x", "axis"], ["y"], exclusive=1)], [vi("x", [2, 5])], [vi("y", [2, 5])],
                    [const("axis", np.int64(1))]),
    "pad": model([node("Pad", ["x", "p", "v"], ["y"])], [vi("x", [2, 3])], [vi("y", [3, 6])],
                 [const("p", np.array([1, 2, 0, 1], np.int64)), const("v", np.float32(-1))]),
    "pad_reflect": model([node("Pad", ["x", "p"], ["y"], mode="reflect")], [vi("x", [4])], [vi("y", [6])],
                         [const("p", np.array([1, 1], np.int64))]),
    "resize": model([node("Resize", ["x", "", "scales"], ["y"], mode="nearest")],
                    [vi("x", [1, 1, 2, 2])], [vi("y", [1, 1, 4, 4])],
                    [const("scales", np.array([1, 1, 2, 2], np.float32))], opset=13),
    "resize_linear": model([node("Resize", ["x", "", "", "sizes"], ["y"], mode="linear")],
                           [vi("x", [1, 1, 2, 2])], [vi("y", [1, 1, 3, 3])],
                           [const("sizes", np.array([1, 1, 3, 3], np.int64))], opset=13),
    # Reductions and normalizations.
    "reduce_mean": model([node("ReduceMean", ["x", "axes"], ["y"], keepdims=0)], [vi("x", [2, 3, 4])],
                         [vi("y", [2])], [const("axes", np.array([1, 2], np.int64))], opset=18),
    "reduce_sum": model([node("ReduceSum", ["x", "axes"], ["y"])], [vi("x", [2, 3])], [vi("y", [2, 1])],
                        [const("axes", np.array([-1], np.int64))], opset=13),
    "reduce_max": model([node("ReduceMax", ["x"], ["y"], axes=[0], keepdims=1)], [vi("x", [2, 3])],
                        [vi("y", [1, 3])], opset=13),
    "reduce_min_int": model([node("ReduceMin", ["x"], ["y"], axes=[1], keepdims=0)],
                            [vi("x", [2, 3], T.INT32)], [vi("y", [2], T.INT32)], opset=13),
    "reduce_prod": model([node("ReduceProd", ["x"], ["y"], keepdims=0)], [vi("x", [2, 3])], [vi("y", [])],
                         opset=13),
    "argmax": model([node("ArgMax", ["x"], ["y"], axis=1, keepdims=0)], [vi("x", [2, 5])],
                    [vi("y", [2], T.INT64)]),
    "argmin": model([node("ArgMin", ["x"], ["y"], axis=0, select_last_index=1)], [vi("x", [2, 5])],
                    [vi("y", [1, 5], T.INT64)]),
    "topk": model([node("TopK", ["x", "k"], ["v", "i"], axis=-1)], [vi("x", [2, 6])],
                  [vi("v", [2, 3]), vi("i", [2, 3], T.INT64)], [const("k", np.array([3], np.int64))]),
    "softmax": unary("Softmax", shape=(2, 5), axis=-1),
    "log_softmax": unary("LogSoftmax", shape=(2, 5), axis=1),
    "layer_norm": model([node("LayerNormalization", ["x", "g", "b"], ["y"], axis=-1, epsilon=1e-5)],
                        [vi("x", ["batch", 8])], [vi("y", ["batch", 8])],
                        [const("g", weights(8)), const("b", weights(8))]),
    "batch_norm": model([node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3)],
                        [vi("x", [1, 3, 4, 4])], [vi("y", [1, 3, 4, 4])],
                        [const("s", weights(3)), const("b", weights(3)), const("m", weights(3)),
                         const("v", np.abs(weights(3)) + 0.5)]),
    "instance_norm": model([node("InstanceNormalization", ["x", "s", "b"], ["y"])], [vi("x", [1, 2, 3, 3])],
                           [vi("y", [1, 2, 3, 3])], [const("s", weights(2)), const("b", weights(2))]),
    # Convolutions and pooling.
    "conv_group": model([node("Conv", ["x", "w", "b"], ["y"], group=2, strides=[2, 2], dilations=[1, 2],
                              pads=[1, 1, 1, 1])],
                        [vi("x", [1, 4, 8, 8])], [vi("y", [1, 6, 4, 3])],
                        [const("w", weights(6, 2, 3, 3)), const("b", weights(6))]),
    "conv_same": model([node("Conv", ["x", "w"], ["y"], auto_pad="SAME_UPPER", strides=[2])],
                       [vi("x", [1, 2, 7])], [vi("y", [1, 3, 4])], [const("w", weights(3, 2, 4))]),
    "conv_transpose": model([node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2], pads=[1, 1, 1, 1])],
                            [vi("x", [1, 2, 3, 3])], [vi("y", [1, 4, 4, 4])], [const("w", weights(2, 4, 2, 2))]),
    "max_pool": model([node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)],
                      [vi("x", [1, 2, 6, 6])], [vi("y", [1, 2, 3, 3])], opset=12),
    "average_pool": model([node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], pads=[1, 1, 1, 1],
                                count_include_pad=0)],
                          [vi("x", [1, 1, 3, 3])], [vi("y", [1, 1, 4, 4])]),
    "global_average_pool": unary("GlobalAveragePool", shape=(1, 3, 4, 4)) if False else
                           model([node("GlobalAveragePool", ["x"], ["y"])], [vi("x", [1, 3, 4, 4])],
                                 [vi("y", [1, 3, 1, 1])]),
}


def qdq_models():
    codes = RNG.integers(-8, 8, size=(8, 4)).astype(np.int8)
    scales = (np.abs(weights(4)) + 0.01).astype(np.float32)
    per_axis = model([node("DequantizeLinear", ["wq", "ws"], ["w"], axis=1),
                      node("MatMul", ["x", "w"], ["y"])],
                     [vi("x", ["batch", 8])], [vi("y", ["batch", 4])],
                     [const("wq", codes), const("ws", scales)], opset=17)
    block = 4
    ucodes = RNG.integers(0, 16, size=(8, 4)).astype(np.uint8)
    bscales = (np.abs(weights(8 // block, 4)) + 0.01).astype(np.float32)
    zero = np.full((8 // block, 4), 8, np.uint8)
    wq = helper.make_tensor("wq", T.UINT4, [8, 4], ucodes.flatten().tolist())
    zq = helper.make_tensor("wz", T.UINT4, [2, 4], zero.flatten().tolist())
    blocked = model([node("DequantizeLinear", ["wq", "ws", "wz"], ["w"], axis=0, block_size=block),
                     node("MatMul", ["x", "w"], ["y"])],
                    [vi("x", ["batch", 8])], [vi("y", ["batch", 4])],
                    [wq, const("ws", bscales), zq], opset=21)
    runtime = model([node("QuantizeLinear", ["x", "s", "z"], ["q"]),
                     node("DequantizeLinear", ["q", "s", "z"], ["y"])],
                    [vi("x", [2, 3])], [vi("y", [2, 3])],
                    [const("s", np.float32(0.1)), const("z", np.uint8(128))], opset=17)
    # MatMulNBits: N=4, K=32, 4 bits, block 16 -> B [4, 2, 8], scales [8].
    n, k, blk = 4, 32, 16
    nbits_codes = RNG.integers(0, 16, size=(n, k)).astype(np.uint8)
    packed = (nbits_codes[:, 0::2] | (nbits_codes[:, 1::2] << 4)).reshape(n, k // blk, blk // 2)
    nbits = model([node("MatMulNBits", ["x", "b", "s"], ["y"], domain="com.microsoft", K=k, N=n, bits=4,
                        block_size=blk)],
                  [vi("x", ["batch", k])], [vi("y", ["batch", n])],
                  [const("b", packed.astype(np.uint8)), const("s", (np.abs(weights(n * k // blk)) + 0.01))],
                  domains=[("com.microsoft", 1)])
    return {"qdq_per_axis": per_axis, "qdq_blocked_int4": blocked, "qdq_runtime": runtime,
            "matmul_nbits": nbits}


MODELS.update(qdq_models())


# Weights stored as ONNX external data (weights.bin beside the model).
EXTERNAL = {"external_data": model([node("MatMul", ["x", "w"], ["y"])], [vi("x", ["batch", 16])],
                                   [vi("y", ["batch", 8])], [const("w", weights(16, 8))])}


def main():
    out = sys.argv[1]
    names = sys.argv[2:] or list(MODELS) + list(EXTERNAL)
    os.makedirs(out, exist_ok=True)
    for name in names:
        path = os.path.join(out, name + ".onnx")
        if name in EXTERNAL:
            onnx.save(EXTERNAL[name], path, save_as_external_data=True, location=name + ".bin",
                      size_threshold=0)
        else:
            onnx.save(MODELS[name], path)


if __name__ == "__main__":
    main()
