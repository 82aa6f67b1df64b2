#!/usr/bin/env python3
"""Exports small configurations of real model architectures to ONNX with both
of torch's exporters (TorchScript and dynamo), for the importer's real-model
tests. Needs torch, torchvision, transformers and onnxscript (the GPU machine
has them); weights are random with a fixed seed, so the files are
reproducible and small (well under 1 MB each).

    python3 export_torch_models.py OUTDIR [MODEL...]
"""
import json
import sys
import time
import traceback
from pathlib import Path

import torch
from torch import nn


class OutputOf(nn.Module):
    """Calls a transformers model with named tensors and returns one output
    tensor, so that both exporters see plain tensors in and out (no caches,
    no dicts)."""

    def __init__(self, model, input_names, output_name, **fixed):
        super().__init__()
        self.model, self.input_names, self.output_name, self.fixed = \
            model, input_names, output_name, fixed

    def forward(self, *tensors):
        outputs = self.model(**dict(zip(self.input_names, tensors)), **self.fixed)
        return getattr(outputs, self.output_name)


def decoder(model, vocab):
    model.config.use_cache = False
    # An explicit attention mask keeps transformers from deriving one from
    # position ids with aten::diff, which the TorchScript exporter lacks.
    ids = torch.randint(0, vocab, (1, 16))
    names = ["input_ids", "attention_mask"]
    return OutputOf(model, names, "logits", use_cache=False), (ids, torch.ones_like(ids)), \
        names, ["logits"]


def gpt2():
    from transformers import GPT2Config, GPT2LMHeadModel
    config = GPT2Config(n_layer=2, n_embd=64, n_head=4, vocab_size=256,
                        n_positions=128, attn_implementation="eager")
    return decoder(GPT2LMHeadModel(config), 256)


def llama():
    from transformers import LlamaConfig, LlamaForCausalLM
    config = LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, vocab_size=256,
                         max_position_embeddings=128, attn_implementation="eager")
    return decoder(LlamaForCausalLM(config), 256)


def bert():
    from transformers import BertConfig, BertModel
    config = BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=128, vocab_size=256, max_position_embeddings=64,
                        attn_implementation="eager")
    ids = torch.randint(0, 256, (1, 16))
    names = ["input_ids", "attention_mask"]
    return OutputOf(BertModel(config), names, "last_hidden_state"), (ids, torch.ones_like(ids)), \
        names, ["last_hidden_state"]


def vit():
    from transformers import ViTConfig, ViTForImageClassification
    config = ViTConfig(image_size=32, patch_size=8, hidden_size=64, num_hidden_layers=2,
                       num_attention_heads=4, intermediate_size=128, num_labels=10,
                       attn_implementation="eager")
    return OutputOf(ViTForImageClassification(config), ["pixel_values"], "logits"), \
        (torch.randn(1, 3, 32, 32),), ["pixel_values"], ["logits"]


def mobilenet_v3():
    from torchvision.models import mobilenet_v3_small
    return mobilenet_v3_small(width_mult=0.25, num_classes=10), (torch.randn(1, 3, 32, 32),), \
        ["image"], ["logits"]


def resnet():
    from torchvision.models.resnet import BasicBlock

    class SmallResNet(nn.Module):
        """ResNet-10 layout (one BasicBlock per stage) with narrow stages."""

        def __init__(self, widths=(8, 16, 32, 64), classes=10):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, 1, 1, bias=False),
                                      nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True),
                                      nn.MaxPool2d(3, 2, 1))
            stages, inplanes = [], widths[0]
            for index, width in enumerate(widths):
                stride = 1 if index == 0 else 2
                down = None
                if stride != 1 or inplanes != width:
                    down = nn.Sequential(nn.Conv2d(inplanes, width, 1, stride, bias=False),
                                         nn.BatchNorm2d(width))
                stages.append(BasicBlock(inplanes, width, stride, down))
                inplanes = width
            self.stages = nn.Sequential(*stages)
            self.head = nn.Linear(inplanes, classes)

        def forward(self, x):
            x = self.stages(self.stem(x))
            return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))

    return SmallResNet(), (torch.randn(1, 3, 32, 32),), ["image"], ["logits"]


MODELS = {"gpt2": gpt2, "llama": llama, "bert": bert, "vit": vit,
          "mobilenet_v3": mobilenet_v3, "resnet": resnet}


def export(name, build, exporter, outdir):
    torch.manual_seed(0)
    model, args, inputs, outputs = build()
    model.eval()
    path = outdir / f"{name}.{exporter}.onnx"
    start = time.time()
    with torch.no_grad():
        if exporter == "torchscript":
            # A symbolic batch dimension, as deployed models have.
            batch = {name: {0: "batch"} for name in inputs + outputs}
            torch.onnx.export(model, args, str(path), input_names=inputs, output_names=outputs,
                              opset_version=17, dynamic_axes=batch, dynamo=False)
        else:
            program = torch.onnx.export(model, args, input_names=inputs, output_names=outputs,
                                        dynamo=True)
            program.save(str(path))
    return {"model": name, "exporter": exporter, "file": path.name,
            "bytes": path.stat().st_size, "seconds": round(time.time() - start, 2)}


def main():
    outdir = Path(sys.argv[1])
    wanted = sys.argv[2:] or list(MODELS)
    outdir.mkdir(parents=True, exist_ok=True)
    results = []
    for name, build in ((name, MODELS[name]) for name in wanted):
        for exporter in ("torchscript", "dynamo"):
            try:
                results.append(export(name, build, exporter, outdir))
                print(f"exported {name} with {exporter}", flush=True)
            except Exception as error:  # record and go on: one failure must not hide the rest
                traceback.print_exc()
                results.append({"model": name, "exporter": exporter, "error": repr(error)[:500]})
    (outdir / "export.json").write_text(json.dumps(results, indent=1))
    failed = [r for r in results if "error" in r]
    print(f"{len(results) - len(failed)} exported, {len(failed)} failed")


if __name__ == "__main__":
    main()
