#!/usr/bin/python3
"""PyTorch models exported with torch.onnx.export, for the ONNX importer's golden tests.

Usage: onnx_models.py OUTDIR

For every model NAME and opset OP (13 and 17) it writes into OUTDIR:
  NAME_opOP.onnx       the exported model (dynamic batch axis named "batch")
  NAME_opOP.in.f32     a test input, raw little-endian float32
  NAME_opOP.out.f32    PyTorch's output on it (eval mode), raw little-endian float32
and one line per model in OUTDIR/manifest.txt:
  NAME_opOP IN_RANK IN_DIMS... OUT_RANK OUT_DIMS... BATCH_AXIS
Weights are random with fixed seeds; the BatchNorm model's running statistics are set
by a few training-mode passes first so that eval mode uses non-trivial ones.
"""
import math
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_encoder  # noqa: E402  (the paper's encoder, functional form)


class PostNormRelu(nn.Module):
    """nn.TransformerEncoder, post-norm, ReLU, batch_first=False: x (T, B, C)."""

    def __init__(self, c=3, d=16, heads=4, layers=2, d_ff=32):
        super().__init__()
        self.inp = nn.Linear(c, d)
        layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=d_ff, dropout=0.0, activation="relu")
        self.enc = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d, 2)

    def forward(self, x):
        return self.head(self.enc(self.inp(x)))


class PreNormGelu(nn.Module):
    """nn.TransformerEncoder, pre-norm (norm_first), GELU, batch_first=True, final
    LayerNorm, mean over time, classifier head: x (B, T, C) -> (B, K)."""

    def __init__(self, c=4, d=16, heads=2, layers=2, classes=3):
        super().__init__()
        self.inp = nn.Linear(c, d)
        layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=24, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.enc = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d), enable_nested_tensor=False)
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        return self.head(self.enc(self.inp(x)).mean(dim=1))


class WithBatchNorm(nn.Module):
    """Linear -> BatchNorm1d over channels of (B, C, T) -> ReLU -> Linear, plus a
    BatchNorm1d on a (B, C) tensor: x (B, T, C) -> (B, T, K)."""

    def __init__(self, c=3, d=8, k=2):
        super().__init__()
        self.inp = nn.Linear(c, d)
        self.bn = nn.BatchNorm1d(d)
        self.out = nn.Linear(d, k)
        self.bn2 = nn.BatchNorm1d(k)

    def forward(self, x):
        h = self.inp(x).transpose(1, 2)
        h = torch.relu(self.bn(h)).transpose(1, 2)
        y = self.out(h)
        return y + self.bn2(y.mean(dim=1)).unsqueeze(1)


class Forecaster(nn.Module):
    """A causal (additive -inf mask) transformer forecaster: x (B, T, C) -> the next
    `horizon` steps of every channel from the last step's state, (B, horizon, C)."""

    def __init__(self, c=3, d=16, heads=2, horizon=4, max_len=64):
        super().__init__()
        self.horizon, self.c = horizon, c
        self.inp = nn.Linear(c, d)
        self.pos = nn.Parameter(torch.randn(max_len, d) * 0.1)
        layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=32, dropout=0.0, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        mask = torch.triu(torch.full((max_len, max_len), float("-inf")), diagonal=1)
        self.register_buffer("mask", mask)
        self.head = nn.Linear(d, horizon * c)

    def forward(self, x):
        t = x.shape[1]
        h = self.inp(x) + self.pos[:t]
        h = self.enc(h, mask=self.mask[:t, :t])
        y = self.head(h[:, -1])
        return y.reshape(-1, self.horizon, self.c)


class PaperEncoder(nn.Module):
    """tests/golden/torch_encoder.py's encoder (the paper's classifier) with random dense
    weights, LayerNorm, sinusoidal positions and every step valid: x (B, T, C) -> (B, K)."""

    def __init__(self, c=3, d=16, heads=2, layers=2, d_ff=32, classes=4):
        super().__init__()
        self.cfg = {"d_model": str(d), "heads": str(heads), "layers": str(layers), "norm": "layer",
                    "norm_eps": "1e-5", "attention": "full", "pos": "sinusoidal"}
        shapes = {"input": (d, c), "head": (classes, d)}
        for i in range(layers):
            for n in ("q", "k", "v", "out"):
                shapes[f"layer{i}.{n}"] = (d, d)
            shapes[f"layer{i}.ff1"] = (d_ff, d)
            shapes[f"layer{i}.ff2"] = (d, d_ff)
        self.p = nn.ParameterDict()
        for name, (o, i) in shapes.items():
            self.p[name.replace(".", "_") + "_weight"] = nn.Parameter(torch.randn(o, i) / math.sqrt(i))
            self.p[name.replace(".", "_") + "_bias"] = nn.Parameter(torch.randn(o) * 0.1)
        for i in range(layers):
            for n in ("norm1", "norm2"):
                self.p[f"layer{i}_{n}_gamma"] = nn.Parameter(1 + 0.1 * torch.randn(d))
                self.p[f"layer{i}_{n}_beta"] = nn.Parameter(0.1 * torch.randn(d))
        self.register_buffer("mean", torch.randn(c) * 0.5)
        self.register_buffer("std", 1 + torch.rand(c))

    def params(self):
        # ParameterDict keys cannot hold dots: "layer0_q_weight" is torch_encoder's "layer0.q.weight".
        out = {k.replace("_", "."): v for k, v in self.p.items()}
        out["data.mean"], out["data.std"] = self.mean, self.std
        return out

    def forward(self, x):
        b, t, _ = x.shape
        lengths = torch.full((b,), t, dtype=torch.long)
        labels = torch.zeros(b, dtype=torch.long)
        # Traced, x.shape[-1:] is a tensor, which layer_norm's normalized_shape cannot
        # be: hand it the same sizes as Python ints (same computation).
        layer_norm = torch.nn.functional.layer_norm
        torch.nn.functional.layer_norm = lambda v, shape, *a: layer_norm(v, [int(s) for s in shape], *a)
        try:
            logits, _ = torch_encoder.forward(self.params(), self.cfg, x, lengths, labels)
        finally:
            torch.nn.functional.layer_norm = layer_norm
        return logits


MODELS = {
    # name: (constructor, input shape, batch axis)
    "post_relu": (PostNormRelu, (7, 2, 3), 1),
    "pre_gelu": (PreNormGelu, (2, 6, 4), 0),
    "batchnorm": (WithBatchNorm, (3, 5, 3), 0),
    "forecaster": (Forecaster, (2, 8, 3), 0),
    "paper_encoder": (PaperEncoder, (2, 6, 3), 0),
    # Wide enough for the weights to dominate the file (the ternary export's size test).
    "wide": (lambda: PostNormRelu(c=8, d=128, heads=4, layers=2, d_ff=512), (5, 2, 8), 1),
}


def export(name, opset, out_dir, manifest):
    ctor, shape, batch_axis = MODELS[name]
    torch.manual_seed(sum(map(ord, name)))
    model = ctor()
    # Perturb every parameter: the encoder layers are deep copies of one layer and the
    # norms start at (1, 0); distinct, non-trivial values catch mixed-up tensors.
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    if name == "batchnorm":
        model.train()
        with torch.no_grad():
            for _ in range(5):
                model(torch.randn(8, 5, 3) * 2 + 1)
    model.eval()
    x = torch.randn(*shape)
    if name == "paper_encoder":
        # torch_encoder computes in float64 (its positions and masks are float64):
        # exported as is, the importer reads DOUBLE tensors as float32.
        model.double()
        x = x.double()
    with torch.no_grad():
        y = model(x)
    tag = f"{name}_op{opset}"
    path = os.path.join(out_dir, tag + ".onnx")
    out_batch = 1 if name == "post_relu" else 0
    torch.onnx.export(model, (x,), path, opset_version=opset, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {batch_axis: "batch"}, "y": {out_batch: "batch"}},
                      do_constant_folding=True)
    x.numpy().astype("<f4").tofile(os.path.join(out_dir, tag + ".in.f32"))
    y.numpy().astype("<f4").tofile(os.path.join(out_dir, tag + ".out.f32"))
    dims = lambda t: f"{t.dim()} " + " ".join(str(s) for s in t.shape)  # noqa: E731
    manifest.write(f"{tag} {dims(x)} {dims(y)} {batch_axis}\n")


def bad_models(out_dir):
    """Models the importer must refuse, each with the reason in its name."""
    from onnx import TensorProto, helper

    def save(name, nodes, inits, shape=("batch", 4), opset=13):
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
        graph = helper.make_graph(nodes, name, [x], [y], inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        with open(os.path.join(out_dir, name + ".onnx"), "wb") as f:
            f.write(model.SerializeToString())

    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 2], [0.5] * 8)
    save("bad_unknown_op", [helper.make_node("Hardmax", ["x"], ["y"], name="my_hardmax")], [])
    ext = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4, 2])
    ext.data_location = TensorProto.EXTERNAL
    entry = ext.external_data.add()
    entry.key, entry.value = "location", "weights.bin"
    save("bad_external_data", [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], [ext])
    save("bad_dynamic_length", [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], [w],
         shape=("batch", "seq", 4))
    # A Reshape whose target shape is computed from the input's values.
    save("bad_data_shape", [
        helper.make_node("Cast", ["x"], ["n"], name="to_int", to=TensorProto.INT64),
        helper.make_node("Reshape", ["n", "minus_one"], ["s"], name="flat"),
        helper.make_node("Reshape", ["x", "s"], ["y"], name="reshape_by_data")],
        [helper.make_tensor("minus_one", TensorProto.INT64, [1], [-1])])


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    with open(os.path.join(out_dir, "manifest.txt"), "w") as manifest:
        for opset in (13, 17):
            for name in MODELS:
                export(name, opset, out_dir, manifest)
    bad_models(out_dir)


if __name__ == "__main__":
    main()
