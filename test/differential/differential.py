"""Differential tests of the host target against onnxruntime.

Builds a model with onnx.helper (an MLP, a CNN block, a transformer block
with attention), compiles it with `kilnc --target=host`, runs the .so
through its C API on random inputs and compares with onnxruntime.
Quantized variants (--variant int8 / int4) compare against onnxruntime
running the same graph whose linear weights numpy has quantized and
dequantized with kiln's rule (round-to-nearest-even, symmetric, one scale
per output channel or per group of K), so only Kiln's code is under test.

Exit status: 0 pass, 1 mismatch or compile error, 77 the model uses
something kilnc does not support yet (ctest reports it as skipped).
"""
import argparse
import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kiln_host  # noqa: E402

OPSET = 17
RNG = np.random.default_rng(1234)


def weight(name, shape, scale=0.2):
    return numpy_helper.from_array((RNG.standard_normal(shape) * scale).astype(np.float32), name)


def make_model(nodes, inputs, outputs, initializers, name):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def mlp():
    """MatMul + Add, Relu, Gemm (transB) with bias, Tanh."""
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h1"], name="fc1"),
        helper.make_node("Add", ["h1", "b1"], ["h2"], name="bias1"),
        helper.make_node("Relu", ["h2"], ["h3"], name="relu"),
        helper.make_node("Gemm", ["h3", "w2", "b2"], ["h4"], name="fc2", transB=1),
        helper.make_node("Tanh", ["h4"], ["y"], name="tanh"),
    ]
    inits = [weight("w1", (64, 128)), weight("b1", (128,)), weight("w2", (32, 128)),
             weight("b2", (32,))]
    model = make_model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 32])],
                       inits, "mlp")
    return model, lambda batch: [RNG.standard_normal((batch, 64)).astype(np.float32)]


def cnn_block():
    """Conv 3x3 + bias, BatchNormalization, Relu, MaxPool, Flatten, Gemm."""
    c, h, w = 8, 12, 12
    nodes = [
        helper.make_node("Conv", ["x", "k", "kb"], ["c1"], name="conv", pads=[1, 1, 1, 1],
                         kernel_shape=[3, 3]),
        helper.make_node("BatchNormalization", ["c1", "g", "beta", "mean", "var"], ["c2"],
                         name="bn"),
        helper.make_node("Relu", ["c2"], ["c3"], name="relu"),
        helper.make_node("MaxPool", ["c3"], ["c4"], name="pool", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Flatten", ["c4"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["y"], name="fc", transB=1),
    ]
    var = numpy_helper.from_array(RNG.uniform(0.5, 1.5, (16,)).astype(np.float32), "var")
    inits = [weight("k", (16, c, 3, 3)), weight("kb", (16,)), weight("g", (16,), 1.0),
             weight("beta", (16,)), weight("mean", (16,)), var,
             weight("wf", (10, 16 * 6 * 6), 0.05), weight("bf", (10,))]
    model = make_model(nodes,
                       [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", c, h, w])],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10])],
                       inits, "cnn_block")
    return model, lambda batch: [RNG.standard_normal((batch, c, h, w)).astype(np.float32)]


def transformer_block():
    """Pre-norm attention (2 heads) and a GELU MLP, both with residuals."""
    d, heads, seq = 32, 2, 8
    hd = d // heads
    nodes = [
        helper.make_node("LayerNormalization", ["x", "ln1_g", "ln1_b"], ["n1"], name="ln1",
                         axis=-1),
        helper.make_node("MatMul", ["n1", "wq"], ["q"], name="q_proj"),
        helper.make_node("MatMul", ["n1", "wk"], ["k"], name="k_proj"),
        helper.make_node("MatMul", ["n1", "wv"], ["v"], name="v_proj"),
        helper.make_node("Reshape", ["q", "heads_shape"], ["q4"], name="q_split"),
        helper.make_node("Reshape", ["k", "heads_shape"], ["k4"], name="k_split"),
        helper.make_node("Reshape", ["v", "heads_shape"], ["v4"], name="v_split"),
        helper.make_node("Transpose", ["q4"], ["qh"], name="q_heads", perm=[0, 2, 1, 3]),
        helper.make_node("Transpose", ["k4"], ["kt"], name="k_heads", perm=[0, 2, 3, 1]),
        helper.make_node("Transpose", ["v4"], ["vh"], name="v_heads", perm=[0, 2, 1, 3]),
        helper.make_node("MatMul", ["qh", "kt"], ["s"], name="scores"),
        helper.make_node("Div", ["s", "sqrt_d"], ["s2"], name="scale"),
        helper.make_node("Softmax", ["s2"], ["p"], name="softmax", axis=-1),
        helper.make_node("MatMul", ["p", "vh"], ["o"], name="context"),
        helper.make_node("Transpose", ["o"], ["o2"], name="merge_heads", perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["o2", "model_shape"], ["o3"], name="merge"),
        helper.make_node("MatMul", ["o3", "wo"], ["attn"], name="o_proj"),
        helper.make_node("Add", ["x", "attn"], ["r1"], name="residual1"),
        helper.make_node("LayerNormalization", ["r1", "ln2_g", "ln2_b"], ["n2"], name="ln2",
                         axis=-1),
        helper.make_node("MatMul", ["n2", "w_up"], ["u"], name="up"),
        helper.make_node("Add", ["u", "b_up"], ["u2"], name="up_bias"),
        helper.make_node("Gelu", ["u2"], ["g"], name="gelu", domain="com.microsoft"),
        helper.make_node("MatMul", ["g", "w_down"], ["dn"], name="down"),
        helper.make_node("Add", ["r1", "dn"], ["y"], name="residual2"),
    ]
    # Gelu from the standard domain needs opset 20; use Erf form instead.
    nodes[21:22] = [
        helper.make_node("Div", ["u2", "sqrt2"], ["ge1"], name="gelu_div"),
        helper.make_node("Erf", ["ge1"], ["ge2"], name="gelu_erf"),
        helper.make_node("Add", ["ge2", "one"], ["ge3"], name="gelu_add"),
        helper.make_node("Mul", ["u2", "ge3"], ["ge4"], name="gelu_mul"),
        helper.make_node("Mul", ["ge4", "half"], ["g"], name="gelu_half"),
    ]
    const = lambda name, value: numpy_helper.from_array(np.array(value, np.float32), name)
    inits = [weight("ln1_g", (d,), 1.0), weight("ln1_b", (d,)), weight("wq", (d, d)),
             weight("wk", (d, d)), weight("wv", (d, d)), weight("wo", (d, d)),
             weight("ln2_g", (d,), 1.0), weight("ln2_b", (d,)), weight("w_up", (d, 4 * d)),
             weight("b_up", (4 * d,)), weight("w_down", (4 * d, d)),
             numpy_helper.from_array(np.array([0, seq, heads, hd], np.int64), "heads_shape"),
             numpy_helper.from_array(np.array([0, seq, d], np.int64), "model_shape"),
             const("sqrt_d", np.sqrt(hd)), const("sqrt2", np.sqrt(2.0)), const("one", 1.0),
             const("half", 0.5)]
    model = make_model(nodes,
                       [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", seq, d])],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", seq, d])],
                       inits, "transformer_block")
    return model, lambda batch: [RNG.standard_normal((batch, seq, d)).astype(np.float32)]


MODELS = {"mlp": mlp, "cnn": cnn_block, "transformer": transformer_block}
VARIANTS = {"float": ([], 0, 0), "int8": (["--quantize=int8"], 8, 0),
            "int4": (["--quantize=int4", "--group-size=32"], 4, 32)}


def fake_quantize(w_nk, bits, group):
    """kiln's symmetric round-to-nearest quantization of W [N, K], dequantized."""
    n, k = w_nk.shape
    group = group or k
    if k % group:
        return w_nk  # kilnc leaves such weights dense
    blocks = w_nk.reshape(n, k // group, group).astype(np.float32)
    positive = (1 << (bits - 1)) - 1
    absmax = np.maximum(-np.minimum(blocks.min(axis=2), 0), np.maximum(blocks.max(axis=2), 0))
    scale = np.where(absmax > 0, absmax / np.float32(positive), np.float32(1)).astype(np.float32)
    codes = np.rint(blocks.astype(np.float64) / scale[..., None].astype(np.float64))
    codes = np.clip(codes, -(1 << (bits - 1)), positive)
    return (scale[..., None] * codes.astype(np.float32)).astype(np.float32).reshape(n, k)


def quantized_reference_model(model, bits, group):
    """The model with every linear weight replaced by its fake-quantized value."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    inits = {init.name: init for init in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type not in ("MatMul", "Gemm") or node.input[1] not in inits:
            continue
        b = numpy_helper.to_array(inits[node.input[1]])
        if b.ndim != 2:
            continue
        trans_b = any(a.name == "transB" and a.i for a in node.attribute)
        w_nk = b if trans_b else b.T  # kiln.linear's [N, K]
        q = fake_quantize(w_nk, bits, group)
        inits[node.input[1]].CopyFrom(numpy_helper.from_array(q if trans_b else q.T,
                                                              node.input[1]))
    return model


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kilnc", required=True)
    parser.add_argument("--model", choices=MODELS, required=True)
    parser.add_argument("--variant", choices=VARIANTS, default="float")
    parser.add_argument("--rtol", type=float, default=1e-4)
    parser.add_argument("--atol", type=float, default=1e-4)
    args = parser.parse_args()

    model, make_inputs = MODELS[args.model]()
    flags, bits, group = VARIANTS[args.variant]
    workdir = tempfile.mkdtemp(prefix=f"kiln-diff-{args.model}-")
    path = os.path.join(workdir, f"{args.model}.onnx")
    onnx.save(model, path)
    name = f"{args.model}_{args.variant}"
    try:
        library, seconds = kiln_host.compile_model(args.kilnc, path, name, flags, workdir)
    except kiln_host.Unsupported as unsupported:
        print(f"SKIP {args.model} ({args.variant}): kilnc does not support it yet:\n{unsupported}")
        return 77
    print(f"kilnc {args.model} {args.variant}: {seconds:.2f} s")

    reference = quantized_reference_model(model, bits, group) if bits else model
    session = ort.InferenceSession(reference.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    compiled = kiln_host.HostModel(library, name)
    failures = 0
    for batch in (1, 3):
        inputs = make_inputs(batch)
        expected = session.run(None, {i.name: a for i, a in zip(session.get_inputs(), inputs)})
        actual = compiled.run(inputs)
        for out_name, want, got in zip(compiled.output_names(), expected, actual):
            if want.shape != got.shape:
                print(f"FAIL batch {batch} {out_name}: shape {got.shape}, expected {want.shape}")
                failures += 1
                continue
            error = np.max(np.abs(got - want) / (args.atol + args.rtol * np.abs(want)))
            status = "ok" if error <= 1 else "FAIL"
            failures += error > 1
            print(f"{status} batch {batch} {out_name}: max |diff| "
                  f"{np.max(np.abs(got - want)):.3g} ({error:.3g} of the tolerance)")
    compiled.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
