#!/usr/bin/env python3
"""Builds small GPT-2-, Llama-, BERT-, ViT-, MobileNetV3- and ResNet-style
models with the onnx helper API, written the way torch's TorchScript
exporter writes them (dynamic batch/sequence, Shape -> Gather -> Unsqueeze
-> Concat -> Reshape subgraphs, Where/Expand masks, Erf GELU, Pow-based
RMSNorm, Slice/Neg/Concat rotary embeddings, Expand-based GQA).

    python3 build_onnx_models.py OUTDIR

They stand in for export_torch.py's output where torch is not installed.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper, numpy_helper

F = T.FLOAT


class Graph:
    """A tiny builder: every op call returns its output name."""

    def __init__(self, seed=0):
        self.nodes, self.inits, self.count = [], [], 0
        self.rng = np.random.default_rng(seed)

    def name(self, hint):
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, value, hint="c"):
        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def weight(self, *shape, scale=0.05):
        return self.const((self.rng.standard_normal(shape) * scale).astype(np.float32), "w")

    def ints(self, *values):
        return self.const(np.array(values, np.int64), "i")

    def op(self, op_type, *inputs, outputs=1, **attrs):
        outs = [self.name(op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=outs[0], **attrs))
        return outs[0] if outputs == 1 else outs

    # Exporter idioms.
    def dim(self, x, index):
        """Shape(x)[index] as a 1-D tensor (Shape -> Gather -> Unsqueeze)."""
        return self.op("Unsqueeze", self.op("Gather", self.op("Shape", x), self.const(np.int64(index)), axis=0),
                       self.ints(0))

    def reshape(self, x, *parts):
        """Reshape to a shape concatenated from 1-D pieces (dims or constants)."""
        pieces = [p if isinstance(p, str) else self.ints(p) for p in parts]
        return self.op("Reshape", x, self.op("Concat", *pieces, axis=0))

    def linear(self, x, k, n, bias=True):
        y = self.op("MatMul", x, self.weight(k, n))
        return self.op("Add", y, self.weight(n)) if bias else y

    def layer_norm(self, x, dim):
        return self.op("LayerNormalization", x, self.const(np.ones(dim, np.float32)),
                       self.const(np.zeros(dim, np.float32)), axis=-1, epsilon=1e-5)

    def rms_norm(self, x, dim):
        variance = self.op("ReduceMean", self.op("Pow", x, self.const(np.float32(2))), axes=[-1], keepdims=1)
        scale = self.op("Div", self.const(np.float32(1)),
                        self.op("Sqrt", self.op("Add", variance, self.const(np.float32(1e-6)))))
        return self.op("Mul", self.op("Mul", x, scale), self.const(np.ones(dim, np.float32)))

    def gelu_erf(self, x):
        inner = self.op("Erf", self.op("Div", x, self.const(np.float32(np.sqrt(2)))))
        return self.op("Mul", self.op("Mul", x, self.op("Add", inner, self.const(np.float32(1)))),
                       self.const(np.float32(0.5)))

    def model(self, inputs, outputs, opset=17):
        graph = helper.make_graph(self.nodes, "model", inputs, outputs, self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="kiln")
        m.ir_version = 8
        onnx.checker.check_model(m)
        return m


def attention(g, x, dim, heads, kv_heads=None, causal=False, rope=None, mask=None):
    kv_heads = kv_heads or heads
    hd = dim // heads
    batch, seq = g.dim(x, 0), g.dim(x, 1)

    def split(t, h):  # [b, s, h*hd] -> [b, h, s, hd]
        return g.op("Transpose", g.reshape(t, batch, seq, h, hd), perm=[0, 2, 1, 3])

    q, k, v = split(g.linear(x, dim, dim), heads), split(g.linear(x, dim, kv_heads * hd), kv_heads), \
        split(g.linear(x, dim, kv_heads * hd), kv_heads)
    if rope:
        cos, sin = rope
        def rotate(t):
            first = g.op("Slice", t, g.ints(0), g.ints(hd // 2), g.ints(3))
            second = g.op("Slice", t, g.ints(hd // 2), g.ints(np.iinfo(np.int64).max), g.ints(3))
            rotated = g.op("Concat", g.op("Neg", second), first, axis=-1)
            return g.op("Add", g.op("Mul", t, cos), g.op("Mul", rotated, sin))
        q, k = rotate(q), rotate(k)
    if kv_heads != heads:  # grouped-query attention: repeat each kv head
        repeat = heads // kv_heads
        def expand(t):
            t5 = g.op("Unsqueeze", t, g.ints(2))
            target = g.op("Concat", batch, g.ints(kv_heads), g.ints(repeat), seq, g.ints(hd), axis=0)
            return g.reshape(g.op("Expand", t5, target), batch, heads, seq, hd)
        k, v = expand(k), expand(v)
    scores = g.op("Div", g.op("MatMul", q, g.op("Transpose", k, perm=[0, 1, 3, 2])),
                  g.const(np.float32(np.sqrt(hd))))
    if causal:
        ones = g.op("ConstantOfShape", g.op("Concat", seq, seq, axis=0),
                    value=helper.make_tensor("one", T.BOOL, [1], [True]))
        future = g.op("Trilu", ones, g.const(np.int64(1)), upper=1)
        scores = g.op("Where", future, g.const(np.float32(-np.inf)), scores)
    if mask is not None:
        scores = g.op("Add", scores, mask)
    out = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)
    merged = g.reshape(g.op("Transpose", out, perm=[0, 2, 1, 3]), batch, seq, dim)
    return g.linear(merged, dim, dim)


def gpt2(dim=64, heads=4, layers=2, vocab=256):
    g = Graph(1)
    ids = "ids"
    seq = g.dim(ids, 1)
    positions = g.op("Range", g.const(np.int64(0)), g.op("Squeeze", seq, g.ints(0)), g.const(np.int64(1)))
    x = g.op("Add", g.op("Gather", g.weight(vocab, dim), ids), g.op("Gather", g.weight(128, dim), positions))
    for _ in range(layers):
        x = g.op("Add", x, attention(g, g.layer_norm(x, dim), dim, heads, causal=True))
        h = g.linear(g.layer_norm(x, dim), dim, 4 * dim)
        x = g.op("Add", x, g.linear(g.op("Gelu", h, approximate="tanh"), 4 * dim, dim))
    logits = g.linear(g.layer_norm(x, dim), dim, vocab, bias=False)
    return g.model([helper.make_tensor_value_info(ids, T.INT64, ["batch", "seq"])],
                   [helper.make_tensor_value_info(logits, F, ["batch", "seq", vocab])], opset=20)


def llama(dim=64, heads=4, kv_heads=2, layers=2, vocab=256, hidden=128):
    g = Graph(2)
    ids = "ids"
    hd = dim // heads
    seq = g.op("Squeeze", g.dim(ids, 1), g.ints(0))
    positions = g.op("Cast", g.op("Range", g.const(np.int64(0)), seq, g.const(np.int64(1))), to=F)
    inv = (1.0 / (10000 ** (np.arange(hd // 2) / (hd // 2)))).astype(np.float32)
    angles = g.op("Mul", g.op("Unsqueeze", positions, g.ints(1)), g.const(inv[None, :]))
    angles = g.op("Concat", angles, angles, axis=-1)
    rope = (g.op("Cos", angles), g.op("Sin", angles))
    x = g.op("Gather", g.weight(vocab, dim), ids)
    for _ in range(layers):
        x = g.op("Add", x, attention(g, g.rms_norm(x, dim), dim, heads, kv_heads, causal=True, rope=rope))
        h = g.rms_norm(x, dim)
        gate, up = g.linear(h, dim, hidden, False), g.linear(h, dim, hidden, False)
        silu = g.op("Mul", gate, g.op("Sigmoid", gate))
        x = g.op("Add", x, g.linear(g.op("Mul", silu, up), hidden, dim, False))
    logits = g.linear(g.rms_norm(x, dim), dim, vocab, bias=False)
    return g.model([helper.make_tensor_value_info(ids, T.INT64, ["batch", "seq"])],
                   [helper.make_tensor_value_info(logits, F, ["batch", "seq", vocab])])


def bert(dim=64, heads=4, layers=2, vocab=256):
    g = Graph(3)
    ids, mask = "ids", "mask"
    seq = g.op("Squeeze", g.dim(ids, 1), g.ints(0))
    positions = g.op("Unsqueeze", g.op("Range", g.const(np.int64(0)), seq, g.const(np.int64(1))), g.ints(0))
    x = g.op("Add", g.op("Gather", g.weight(vocab, dim), ids), g.op("Gather", g.weight(128, dim), positions))
    x = g.layer_norm(x, dim)
    extended = g.op("Unsqueeze", g.op("Cast", mask, to=F), g.ints(1, 2))
    additive = g.op("Mul", g.op("Sub", g.const(np.float32(1)), extended), g.const(np.float32(-10000)))
    for _ in range(layers):
        x = g.layer_norm(g.op("Add", x, attention(g, x, dim, heads, mask=additive)), dim)
        h = g.gelu_erf(g.linear(x, dim, 4 * dim))
        x = g.layer_norm(g.op("Add", x, g.linear(h, 4 * dim, dim)), dim)
    first = g.op("Gather", x, g.const(np.int64(0)), axis=1)
    pooled = g.op("Tanh", g.linear(first, dim, dim))
    return g.model([helper.make_tensor_value_info(ids, T.INT64, ["batch", "seq"]),
                    helper.make_tensor_value_info(mask, T.INT64, ["batch", "seq"])],
                   [helper.make_tensor_value_info(x, F, ["batch", "seq", dim]),
                    helper.make_tensor_value_info(pooled, F, ["batch", dim])])


def vit(dim=64, heads=4, layers=2, patch=8, image=32, classes=10):
    g = Graph(4)
    images = "images"
    patches = g.op("Conv", images, g.weight(dim, 3, patch, patch), g.weight(dim), strides=[patch, patch])
    batch = g.dim(images, 0)
    tokens = g.op("Transpose", g.reshape(patches, batch, dim, -1), perm=[0, 2, 1])
    cls = g.op("Expand", g.weight(1, 1, dim), g.op("Concat", batch, g.ints(1, 1), axis=0))
    x = g.op("Add", g.op("Concat", cls, tokens, axis=1), g.weight(1, (image // patch) ** 2 + 1, dim))
    for _ in range(layers):
        x = g.op("Add", x, attention(g, g.layer_norm(x, dim), dim, heads))
        x = g.op("Add", x, g.linear(g.gelu_erf(g.linear(g.layer_norm(x, dim), dim, 2 * dim)), 2 * dim, dim))
    first = g.op("Gather", g.layer_norm(x, dim), g.const(np.int64(0)), axis=1)
    logits = g.op("Gemm", first, g.weight(classes, dim), g.weight(classes), transB=1)
    return g.model([helper.make_tensor_value_info(images, F, ["batch", 3, image, image])],
                   [helper.make_tensor_value_info(logits, F, ["batch", classes])])


def conv_bn(g, x, cin, cout, k, stride=1, groups=1):
    y = g.op("Conv", x, g.weight(cout, cin // groups, k, k, scale=0.2), strides=[stride, stride],
             pads=[k // 2] * 4, group=groups)
    return g.op("BatchNormalization", y, g.const(np.ones(cout, np.float32)), g.weight(cout),
                g.weight(cout), g.const(np.ones(cout, np.float32)), epsilon=1e-5)


def mobilenet(classes=10):
    g = Graph(5)
    x = g.op("HardSwish", conv_bn(g, "images", 3, 16, 3, 2))
    for cin, cexp, cout, stride in [(16, 64, 24, 2), (24, 72, 24, 1), (24, 96, 40, 2)]:
        h = g.op("HardSwish", conv_bn(g, x, cin, cexp, 1))
        h = g.op("HardSwish", conv_bn(g, h, cexp, cexp, 3, stride, groups=cexp))
        s = g.op("GlobalAveragePool", h)
        s = g.op("Relu", g.op("Conv", s, g.weight(cexp // 4, cexp, 1, 1), g.weight(cexp // 4)))
        s = g.op("HardSigmoid", g.op("Conv", s, g.weight(cexp, cexp // 4, 1, 1), g.weight(cexp)),
                 alpha=1 / 6, beta=0.5)
        h = conv_bn(g, g.op("Mul", h, s), cexp, cout, 1)
        x = g.op("Add", x, h) if cin == cout and stride == 1 else h
    pooled = g.op("Flatten", g.op("GlobalAveragePool", x))
    hidden = g.op("HardSwish", g.op("Gemm", pooled, g.weight(128, 40), g.weight(128), transB=1))
    logits = g.op("Gemm", hidden, g.weight(classes, 128), g.weight(classes), transB=1)
    return g.model([helper.make_tensor_value_info("images", F, ["batch", 3, 64, 64])],
                   [helper.make_tensor_value_info(logits, F, ["batch", classes])])


def resnet(classes=10):
    g = Graph(6)
    x = g.op("Relu", conv_bn(g, "images", 3, 32, 7, 2))
    x = g.op("MaxPool", x, kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    for cin, cout, stride in [(32, 32, 1), (32, 64, 2), (64, 128, 2)]:
        h = g.op("Relu", conv_bn(g, x, cin, cout, 3, stride))
        h = conv_bn(g, h, cout, cout, 3)
        skip = x if stride == 1 and cin == cout else conv_bn(g, x, cin, cout, 1, stride)
        x = g.op("Relu", g.op("Add", h, skip))
    pooled = g.op("Flatten", g.op("GlobalAveragePool", x), axis=1)
    logits = g.op("Gemm", pooled, g.weight(classes, 128), g.weight(classes), transB=1)
    return g.model([helper.make_tensor_value_info("images", F, ["batch", 3, 64, 64])],
                   [helper.make_tensor_value_info(logits, F, ["batch", classes])])


BUILDERS = {"gpt2": gpt2, "llama": llama, "bert": bert, "vit": vit, "mobilenet": mobilenet, "resnet": resnet}

if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "built"
    os.makedirs(out, exist_ok=True)
    for name in sys.argv[2:] or BUILDERS:
        onnx.save(BUILDERS[name](), os.path.join(out, name + ".onnx"))
