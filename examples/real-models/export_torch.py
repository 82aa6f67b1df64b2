#!/usr/bin/env python3
"""Exports small configurations of six architectures with both of torch's
ONNX exporters (TorchScript-based and dynamo-based), for Kiln's importer.

    python3 export_torch.py OUTDIR            # needs torch (and onnxscript for dynamo)
    for m in OUTDIR/*.onnx; do kilnc $m --emit=imported -o /dev/null; done

Models (random weights, fixed seed, a few MB each):
  gpt2      pre-LN decoder, learned positions, causal attention, GELU (tanh)
  llama     RMSNorm, rotary embeddings, grouped-query attention, SwiGLU
  bert      post-LN encoder, token/segment/position embeddings, padding mask
  vit       patch embedding (Conv), class token, pre-LN encoder
  mobilenet MobileNetV3-style blocks: depthwise conv, squeeze-excite, hardswish
  resnet    ResNet basic blocks: conv, batch norm, residual, max pool

Batch and sequence dimensions are exported dynamic ("batch", "seq"), so the
exported shape subgraphs (Shape -> Gather -> Concat -> Reshape) are part of
what the importer must fold.
"""
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


class Attention(nn.Module):
    def __init__(self, dim, heads, kv_heads=None, causal=False, rope=False):
        super().__init__()
        self.heads, self.kv_heads = heads, kv_heads or heads
        self.head_dim = dim // heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, self.kv_heads * self.head_dim)
        self.v = nn.Linear(dim, self.kv_heads * self.head_dim)
        self.o = nn.Linear(dim, dim)
        self.causal, self.rope = causal, rope

    def rotate(self, x, positions):
        half = self.head_dim // 2
        freqs = 1.0 / (10000 ** (torch.arange(half, dtype=torch.float32) / half))
        angles = positions[:, None].float() * freqs[None, :]
        cos, sin = angles.cos()[None, None], angles.sin()[None, None]
        x1, x2 = x[..., :half], x[..., half:]
        return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)

    def forward(self, x, mask=None):
        b, s, _ = x.shape
        q = self.q(x).view(b, s, self.heads, self.head_dim).transpose(1, 2)
        k = self.k(x).view(b, s, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v(x).view(b, s, self.kv_heads, self.head_dim).transpose(1, 2)
        if self.rope:
            positions = torch.arange(s, device=x.device)
            q, k = self.rotate(q, positions), self.rotate(k, positions)
        if self.kv_heads != self.heads:  # grouped-query attention
            repeat = self.heads // self.kv_heads
            k = k[:, :, None].expand(b, self.kv_heads, repeat, s, self.head_dim).reshape(b, self.heads, s, self.head_dim)
            v = v[:, :, None].expand(b, self.kv_heads, repeat, s, self.head_dim).reshape(b, self.heads, s, self.head_dim)
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)
        if self.causal:
            causal = torch.ones(s, s, dtype=torch.bool, device=x.device).triu(1)
            scores = scores.masked_fill(causal, float("-inf"))
        if mask is not None:
            scores = scores + (1.0 - mask[:, None, None, :].float()) * -10000.0
        out = scores.softmax(-1) @ v
        return self.o(out.transpose(1, 2).reshape(b, s, -1))


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(dim)), eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class GPT2(nn.Module):
    def __init__(self, vocab=512, dim=128, heads=4, layers=2, max_len=128):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, dim), nn.Embedding(max_len, dim)
        self.blocks = nn.ModuleList()
        for _ in range(layers):
            self.blocks.append(nn.ModuleDict(dict(ln1=nn.LayerNorm(dim), attn=Attention(dim, heads, causal=True),
                                                  ln2=nn.LayerNorm(dim), fc=nn.Linear(dim, 4 * dim),
                                                  proj=nn.Linear(4 * dim, dim))))
        self.ln, self.head = nn.LayerNorm(dim), nn.Linear(dim, vocab, bias=False)

    def forward(self, ids):
        x = self.tok(ids) + self.pos(torch.arange(ids.shape[1], device=ids.device))[None]
        for blk in self.blocks:
            x = x + blk["attn"](blk["ln1"](x))
            x = x + blk["proj"](F.gelu(blk["fc"](blk["ln2"](x)), approximate="tanh"))
        return self.head(self.ln(x))


class Llama(nn.Module):
    def __init__(self, vocab=512, dim=128, heads=4, kv_heads=2, layers=2, hidden=256):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.blocks = nn.ModuleList()
        for _ in range(layers):
            self.blocks.append(nn.ModuleDict(dict(
                n1=RMSNorm(dim), attn=Attention(dim, heads, kv_heads, causal=True, rope=True), n2=RMSNorm(dim),
                gate=nn.Linear(dim, hidden, bias=False), up=nn.Linear(dim, hidden, bias=False),
                down=nn.Linear(hidden, dim, bias=False))))
        self.norm, self.head = RMSNorm(dim), nn.Linear(dim, vocab, bias=False)

    def forward(self, ids):
        x = self.tok(ids)
        for blk in self.blocks:
            x = x + blk["attn"](blk["n1"](x))
            h = blk["n2"](x)
            x = x + blk["down"](F.silu(blk["gate"](h)) * blk["up"](h))
        return self.head(self.norm(x))


class Bert(nn.Module):
    def __init__(self, vocab=512, dim=128, heads=4, layers=2, max_len=128):
        super().__init__()
        self.tok, self.seg, self.pos = nn.Embedding(vocab, dim), nn.Embedding(2, dim), nn.Embedding(max_len, dim)
        self.ln = nn.LayerNorm(dim)
        self.blocks = nn.ModuleList()
        for _ in range(layers):
            self.blocks.append(nn.ModuleDict(dict(attn=Attention(dim, heads), ln1=nn.LayerNorm(dim),
                                                  fc=nn.Linear(dim, 4 * dim), proj=nn.Linear(4 * dim, dim),
                                                  ln2=nn.LayerNorm(dim))))
        self.pool = nn.Linear(dim, dim)

    def forward(self, ids, segments, mask):
        positions = torch.arange(ids.shape[1], device=ids.device)[None]
        x = self.ln(self.tok(ids) + self.seg(segments) + self.pos(positions))
        for blk in self.blocks:
            x = blk["ln1"](x + blk["attn"](x, mask))
            x = blk["ln2"](x + blk["proj"](F.gelu(blk["fc"](x))))
        return x, torch.tanh(self.pool(x[:, 0]))


class ViT(nn.Module):
    def __init__(self, image=32, patch=8, dim=128, heads=4, layers=2, classes=10):
        super().__init__()
        self.embed = nn.Conv2d(3, dim, patch, stride=patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, (image // patch) ** 2 + 1, dim) * 0.02)
        self.blocks = nn.ModuleList()
        for _ in range(layers):
            self.blocks.append(nn.ModuleDict(dict(ln1=nn.LayerNorm(dim), attn=Attention(dim, heads),
                                                  ln2=nn.LayerNorm(dim), fc=nn.Linear(dim, 2 * dim),
                                                  proj=nn.Linear(2 * dim, dim))))
        self.ln, self.head = nn.LayerNorm(dim), nn.Linear(dim, classes)

    def forward(self, images):
        x = self.embed(images).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        for blk in self.blocks:
            x = x + blk["attn"](blk["ln1"](x))
            x = x + blk["proj"](F.gelu(blk["fc"](blk["ln2"](x))))
        return self.head(self.ln(x)[:, 0])


class SqueezeExcite(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.reduce, self.expand = nn.Conv2d(channels, channels // 4, 1), nn.Conv2d(channels // 4, channels, 1)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * F.hardsigmoid(self.expand(F.relu(self.reduce(s))))


class MobileNetV3(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        def block(cin, cexp, cout, stride):
            return nn.Sequential(nn.Conv2d(cin, cexp, 1, bias=False), nn.BatchNorm2d(cexp), nn.Hardswish(),
                                 nn.Conv2d(cexp, cexp, 3, stride, 1, groups=cexp, bias=False), nn.BatchNorm2d(cexp),
                                 nn.Hardswish(), SqueezeExcite(cexp), nn.Conv2d(cexp, cout, 1, bias=False),
                                 nn.BatchNorm2d(cout))
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.Hardswish())
        self.blocks = nn.Sequential(block(16, 64, 24, 2), block(24, 72, 24, 1), block(24, 96, 40, 2))
        self.head = nn.Sequential(nn.Linear(40, 128), nn.Hardswish(), nn.Linear(128, classes))

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.head(F.adaptive_avg_pool2d(x, 1).flatten(1))


class ResNet(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        def basic(cin, cout, stride):
            return nn.ModuleDict(dict(
                body=nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                                   nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)),
                skip=nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                if stride != 1 or cin != cout else nn.Identity()))
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 7, 2, 3, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        self.blocks = nn.ModuleList([basic(32, 32, 1), basic(32, 64, 2), basic(64, 128, 2)])
        self.fc = nn.Linear(128, classes)

    def forward(self, x):
        x = self.stem(x)
        for blk in self.blocks:
            x = F.relu(blk["body"](x) + blk["skip"](x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def configurations():
    ids = torch.randint(0, 512, (2, 16))
    return {
        "gpt2": (GPT2(), (ids,), ["ids"], {"ids": {0: "batch", 1: "seq"}}),
        "llama": (Llama(), (ids,), ["ids"], {"ids": {0: "batch", 1: "seq"}}),
        "bert": (Bert(), (ids, torch.zeros_like(ids), torch.ones_like(ids)), ["ids", "segments", "mask"],
                 {n: {0: "batch", 1: "seq"} for n in ["ids", "segments", "mask"]}),
        "vit": (ViT(), (torch.randn(2, 3, 32, 32),), ["images"], {"images": {0: "batch"}}),
        "mobilenet": (MobileNetV3(), (torch.randn(2, 3, 64, 64),), ["images"], {"images": {0: "batch"}}),
        "resnet": (ResNet(), (torch.randn(2, 3, 64, 64),), ["images"], {"images": {0: "batch"}}),
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "exported"
    os.makedirs(out, exist_ok=True)
    for name, (module, args, inputs, dynamic) in configurations().items():
        module.eval()
        for exporter in ("torchscript", "dynamo"):
            path = os.path.join(out, f"{name}-{exporter}.onnx")
            start = time.time()
            try:
                if exporter == "torchscript":
                    torch.onnx.export(module, args, path, input_names=inputs, dynamic_axes=dynamic,
                                      opset_version=17, dynamo=False)
                else:
                    batch, seq = torch.export.Dim("batch", min=1, max=64), torch.export.Dim("seq", min=2, max=128)
                    shapes = {n: {a: (batch if d == "batch" else seq) for a, d in axes.items()}
                              for n, axes in dynamic.items()}
                    torch.onnx.export(module, args, path, input_names=inputs, dynamic_shapes=shapes,
                                      opset_version=18, dynamo=True, external_data=False)
                print(f"{path}: exported in {time.time() - start:.1f} s")
            except Exception as error:  # report and go on with the others
                print(f"{path}: export FAILED: {type(error).__name__}: {error}")


if __name__ == "__main__":
    main()
