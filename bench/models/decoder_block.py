"""A Llama-style decoder block: configurations, weights, ONNX graph, numpy reference.

Shared by the generator (make_decoder_block.py, run here with onnx + numpy),
the host-target test (test/models/decoder_block) and the GPU benchmark
(bench/models_bench.py, whose PyTorch module loads the same weights).

The block (Hugging Face LlamaDecoderLayer, batch 1):
    h = x + o_proj(attention(rope(q_proj(rms(x))), rope(k_proj(rms(x))), v_proj(rms(x))))
    y = h + down_proj(silu(gate_proj(rms(h))) * up_proj(rms(h)))
with grouped-query attention (heads / kv_heads query heads share one K/V
head), rotate-half RoPE whose cos/sin tables are inputs (as transformers
passes position_embeddings to the layer), and two modes:
  prefill: seq tokens; the causal mask is an additive float input [seq, seq]
           (0 or -1e9), as transformers passes attention_mask to the layer;
  decode:  one token at position `past`, with a static KV cache (as
           transformers' StaticCache): inputs past_k, past_v hold `past + 1`
           token slots, token-major [1, past + 1, kv_heads * head_dim]; the
           new token's k/v go into the last slot (a select against a one-hot
           slot mask, exact: the CUDA target cannot yet copy into a slice) and
           the token attends over all `past + 1`; the updated cache
           (present_k, present_v) is an output.

Weights are integer codes times one scale per matrix: a grid of 15 values
(codes -7..7), so the float32 weights embedded in a compiled .so compress
well enough to travel to the GPU machine, and timings do not depend on the
values. The codes and scales are what the generator saves (.npz); everything
else derives from them.
"""
import math

import numpy as np

CONFIGS = {
    # Llama-like proportions at a size whose fp32 weights (45 MB per .so) can
    # still be carried, compressed, to the GPU machine.
    "bench": dict(hidden=1024, intermediate=2816, heads=16, kv_heads=4, seq=2048, past=2047),
    # For the host-target test: small enough to compile and check in seconds.
    "tiny": dict(hidden=64, intermediate=96, heads=4, kv_heads=2, seq=8, past=5),
}
EPS = 1e-5
ROPE_THETA = 10000.0
CODE_MAX = 7
PROJECTIONS = ("q", "k", "v", "o", "gate", "up", "down")


def head_dim(config):
    return config["hidden"] // config["heads"]


def projection_shapes(config):
    """(out_features, in_features) of each projection, as torch's Linear.weight."""
    hidden, inter = config["hidden"], config["intermediate"]
    kv = config["kv_heads"] * head_dim(config)
    return {"q": (hidden, hidden), "k": (kv, hidden), "v": (kv, hidden), "o": (hidden, hidden),
            "gate": (inter, hidden), "up": (inter, hidden), "down": (hidden, inter)}


def make_weights(config, seed):
    """{name: int8 codes} and {name: float32 scale}; norms are float32 vectors."""
    rng = np.random.default_rng(seed)
    codes, scales = {}, {}
    for name, (out_features, in_features) in projection_shapes(config).items():
        codes[name] = rng.integers(-CODE_MAX, CODE_MAX + 1, (out_features, in_features),
                                   dtype=np.int8)
        # std of uniform codes is ~4.3: weights of std ~1/sqrt(in_features)
        scales[name] = np.float32(1.0 / (4.3 * math.sqrt(in_features)))
    norms = {name: (1.0 + 0.1 * rng.standard_normal(config["hidden"])).astype(np.float32)
             for name in ("input_norm", "post_norm")}
    return codes, scales, norms


def save_weights(path, codes, scales, norms):
    arrays = {f"code_{n}": c for n, c in codes.items()}
    arrays.update({f"scale_{n}": np.asarray(s) for n, s in scales.items()})
    arrays.update({f"norm_{n}": v for n, v in norms.items()})
    np.savez_compressed(path, **arrays)


def load_weights(path):
    data = np.load(path)
    codes = {n: data[f"code_{n}"] for n in PROJECTIONS}
    scales = {n: np.float32(data[f"scale_{n}"]) for n in PROJECTIONS}
    norms = {n: data[f"norm_{n}"] for n in ("input_norm", "post_norm")}
    return codes, scales, norms


def dense(codes, scales):
    """float32 [out, in] weights, exactly code * scale."""
    return {n: codes[n].astype(np.float32) * scales[n] for n in codes}


def rope_tables(config, positions):
    """cos, sin [len(positions), head_dim] float32 (rotate-half layout)."""
    d = head_dim(config)
    inv_freq = 1.0 / ROPE_THETA ** (np.arange(0, d, 2, dtype=np.float64) / d)
    angles = np.outer(np.asarray(positions, np.float64), inv_freq)
    angles = np.concatenate([angles, angles], axis=-1)
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def tokens(config, mode):
    return config["seq"] if mode == "prefill" else 1


def make_inputs(config, mode, rng):
    """The graph's inputs in signature order, as float32 arrays."""
    d, kv_heads = head_dim(config), config["kv_heads"]
    if mode == "prefill":
        cos, sin = rope_tables(config, range(config["seq"]))
    else:
        cos, sin = rope_tables(config, [config["past"]])
    inputs = {"x": rng.standard_normal((1, tokens(config, mode), config["hidden"])).astype(np.float32),
              "cos": cos, "sin": sin}
    if mode == "prefill":
        inputs["mask"] = causal_mask(config["seq"])
    else:
        cache = (1, config["past"] + 1, kv_heads * d)
        inputs["past_k"] = rng.standard_normal(cache).astype(np.float32)
        inputs["past_v"] = rng.standard_normal(cache).astype(np.float32)
    return inputs


def causal_mask(seq):
    """Additive [seq, seq] mask: -1e9 where the key comes after the query."""
    future = np.arange(seq)[None, :] > np.arange(seq)[:, None]
    return np.where(future, np.float32(-1e9), np.float32(0)).astype(np.float32)


def output_names(mode):
    return ["y"] if mode == "prefill" else ["y", "present_k", "present_v"]


# ------------------------------------------------------------------- ONNX ---
class _Graph:
    """Collects nodes and initializers with unique names."""

    def __init__(self, helper, numpy_helper):
        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes, self.initializers, self.count = [], {}, 0

    def const(self, name, array):
        """An initializer; the same name again reuses the first one."""
        if name not in self.initializers:
            self.initializers[name] = self.numpy_helper.from_array(np.asarray(array), name)
        return name

    def op(self, op_type, inputs, name=None, **attrs):
        self.count += 1
        out = name or f"{op_type.lower()}_{self.count}"
        self.nodes.append(self.helper.make_node(op_type, inputs, [out], **attrs))
        return out


def _rms_norm(g, x, weight_name):
    squared = g.op("Mul", [x, x])
    mean = g.op("ReduceMean", [squared], axes=[-1], keepdims=1)
    rms = g.op("Sqrt", [g.op("Add", [mean, "eps"])])
    return g.op("Mul", [g.op("Div", [x, rms]), weight_name])


def rotate_half_matrix(d):
    """R [d, d] with x @ R == concat(-x[d/2:], x[:d/2]) exactly (one +-1 per column)."""
    r = np.zeros((d, d), np.float32)
    half = d // 2
    r[np.arange(half) + half, np.arange(half)] = -1.0
    r[np.arange(half), np.arange(half) + half] = 1.0
    return r


def _rope(g, x):
    """x * cos + rotate_half(x) * sin on [1, heads, S, d]; cos/sin [S, d].
    rotate_half is a product with a signed permutation: the CUDA target
    cannot yet copy into a strided slice, which Concat on the last axis needs."""
    rotated = g.op("MatMul", [x, "rotate_half"])
    return g.op("Add", [g.op("Mul", [x, "cos"]), g.op("Mul", [rotated, "sin"])])


def _heads(g, x, heads, d, tokens_):
    """[1, S, heads*d] -> [1, heads, S, d]."""
    shape = g.const(f"shape_heads_{heads}_{tokens_}", np.array([1, tokens_, heads, d]))
    shaped = g.op("Reshape", [x, shape])
    return g.op("Transpose", [shaped], perm=[0, 2, 1, 3])


def build_onnx(config, mode, codes, scales, norms):
    """The block as an ONNX ModelProto (opset 17), weights as initializers."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    g = _Graph(helper, numpy_helper)
    hidden, heads, kv_heads = config["hidden"], config["heads"], config["kv_heads"]
    d, s = head_dim(config), tokens(config, mode)
    group = heads // kv_heads
    weights = dense(codes, scales)
    for name, w in weights.items():  # MatMul by W^T, as torch exports Linear
        g.const(f"w_{name}", np.ascontiguousarray(w.T))
    for name, v in norms.items():
        g.const(name, v)
    g.const("eps", np.array(EPS, np.float32))
    g.const("rotate_half", rotate_half_matrix(d))
    g.const("scale", np.array(1.0 / math.sqrt(d), np.float32))

    h = _rms_norm(g, "x", "input_norm")
    q = _rope(g, _heads(g, g.op("MatMul", [h, "w_q"]), heads, d, s))
    k = _rope(g, _heads(g, g.op("MatMul", [h, "w_k"]), kv_heads, d, s))
    v = g.op("MatMul", [h, "w_v"])
    total = s
    if mode == "decode":  # write the token into the cache's last slot
        total = config["past"] + 1
        token = g.const("shape_token", np.array([1, 1, kv_heads * d]))
        k = g.op("Reshape", [g.op("Transpose", [k], perm=[0, 2, 1, 3]), token])
        slot = np.zeros((total, 1), np.float32)
        slot[-1] = 1.0
        g.const("slot", slot)
        g.const("not_slot", 1.0 - slot)
        k, v = (g.op("Add", [g.op("Mul", [cache, "not_slot"]), g.op("Mul", [new, "slot"])],
                     name=name)
                for cache, new, name in (("past_k", k, "present_k"), ("past_v", v, "present_v")))
        k = _heads(g, k, kv_heads, d, total)
    v = _heads(g, v, kv_heads, d, total)
    # Grouped-query attention without copying K/V: the `group` query heads of
    # a KV head form one more batch dimension that K and V broadcast over.
    q5 = g.op("Reshape", [q, g.const("shape_q5", np.array([1, kv_heads, group, s, d]))])
    k5 = g.op("Unsqueeze", [k, g.const("axis_two", np.array([2], np.int64))])
    v5 = g.op("Unsqueeze", [v, "axis_two"])
    scores = g.op("Mul", [g.op("MatMul", [q5, g.op("Transpose", [k5], perm=[0, 1, 2, 4, 3])]),
                          "scale"])
    if mode == "prefill":
        scores = g.op("Add", [scores, "mask"])
    probs = g.op("Softmax", [scores], axis=-1)
    attended = g.op("MatMul", [probs, v5])  # [1, kv_heads, group, S, d]
    merged = g.op("Reshape", [g.op("Transpose", [
        g.op("Reshape", [attended, g.const("shape_q4", np.array([1, heads, s, d]))])],
        perm=[0, 2, 1, 3]), g.const("shape_tokens", np.array([1, s, hidden]))])
    residual = g.op("Add", ["x", g.op("MatMul", [merged, "w_o"])])
    h2 = _rms_norm(g, residual, "post_norm")
    gate = g.op("MatMul", [h2, "w_gate"])
    silu = g.op("Mul", [gate, g.op("Sigmoid", [gate])])
    mlp = g.op("MatMul", [g.op("Mul", [silu, g.op("MatMul", [h2, "w_up"])]), "w_down"])
    g.op("Add", [residual, mlp], name="y")

    f32 = TensorProto.FLOAT
    graph_inputs = [helper.make_tensor_value_info("x", f32, [1, s, hidden]),
                    helper.make_tensor_value_info("cos", f32, [s, d]),
                    helper.make_tensor_value_info("sin", f32, [s, d])]
    graph_outputs = [helper.make_tensor_value_info("y", f32, [1, s, hidden])]
    if mode == "prefill":
        graph_inputs.append(helper.make_tensor_value_info("mask", f32, [s, s]))
    else:
        past = present = [1, total, kv_heads * d]
        graph_inputs += [helper.make_tensor_value_info("past_k", f32, past),
                         helper.make_tensor_value_info("past_v", f32, past)]
        graph_outputs += [helper.make_tensor_value_info("present_k", f32, present),
                          helper.make_tensor_value_info("present_v", f32, present)]
    graph = helper.make_graph(g.nodes, f"llama_block_{mode}", graph_inputs, graph_outputs,
                              list(g.initializers.values()))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="kiln-bench")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


# -------------------------------------------------------- numpy reference ---
def _np_rms(x, w):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + EPS) * w


def _np_rope(x, cos, sin):
    half = x.shape[-1] // 2
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos + rotated * sin


def numpy_reference(config, mode, codes, scales, norms, inputs):
    """The block in float64 numpy, written from the formulas (not the graph)."""
    w = {n: a.astype(np.float64) for n, a in dense(codes, scales).items()}
    heads, kv_heads, d = config["heads"], config["kv_heads"], head_dim(config)
    x = inputs["x"].astype(np.float64)[0]  # [S, hidden]
    cos, sin = inputs["cos"].astype(np.float64), inputs["sin"].astype(np.float64)
    h = _np_rms(x, norms["input_norm"])
    split = lambda t, n: t.reshape(t.shape[0], n, d).transpose(1, 0, 2)  # [n, S, d]
    q = _np_rope(split(h @ w["q"].T, heads), cos, sin)
    k = _np_rope(split(h @ w["k"].T, kv_heads), cos, sin)
    v = split(h @ w["v"].T, kv_heads)
    if mode == "decode":
        past = lambda name: split(inputs[name][0, :-1].astype(np.float64), kv_heads)
        k = np.concatenate([past("past_k"), k], axis=1)
        v = np.concatenate([past("past_v"), v], axis=1)
    s, total = q.shape[1], k.shape[1]
    out = np.empty_like(q)
    for head in range(heads):
        kv = head // (heads // kv_heads)
        scores = q[head] @ k[kv].T / math.sqrt(d)
        if mode == "prefill":
            scores = np.where(np.arange(total)[None, :] > np.arange(s)[:, None], -np.inf, scores)
        p = np.exp(scores - scores.max(-1, keepdims=True))
        out[head] = (p / p.sum(-1, keepdims=True)) @ v[kv]
    residual = x + out.transpose(1, 0, 2).reshape(s, -1) @ w["o"].T
    h2 = _np_rms(residual, norms["post_norm"])
    gate = h2 @ w["gate"].T
    y = residual + (gate / (1 + np.exp(-gate)) * (h2 @ w["up"].T)) @ w["down"].T
    results = {"y": y[None]}
    if mode == "decode":
        token_major = lambda t: t.transpose(1, 0, 2).reshape(1, t.shape[1], -1)
        results.update(present_k=token_major(k), present_v=token_major(v))
    return [results[n] for n in output_names(mode)]
