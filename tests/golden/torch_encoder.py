#!/usr/bin/python3
"""PyTorch reference of sbt's encoder, for tests/test_model.c's golden test.

Usage: torch_encoder.py DIR

DIR holds what the C test wrote: manifest.txt (one line per tensor: name, then its
shape) and NAME.f32 files (raw little-endian float32), including the model tensors
(the names of sbt's model table), the batch (x, lengths, labels) and config.txt
(key=value lines, as in sbt model files). This script builds the same encoder in
float64 from the same weights, runs forward and backward on the batch in training mode
(BatchNorm with batch statistics over the real, unpadded steps), and writes
out/logits.f32, out/loss.f32 and out/grad.<tensor>.f32 for every parameter, plus
out/manifest.txt.
"""
import math
import os
import sys

import numpy as np
import torch


def read_inputs(root):
    tensors = {}
    with open(os.path.join(root, "manifest.txt")) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            name, shape = parts[0], [int(p) for p in parts[1:]]
            data = np.fromfile(os.path.join(root, name + ".f32"), dtype="<f4")
            tensors[name] = torch.tensor(data.reshape(shape), dtype=torch.float64)
    cfg = {}
    with open(os.path.join(root, "config.txt")) as f:
        for line in f:
            if "=" in line:
                k, v = line.strip().split("=", 1)
                cfg[k] = v
    return tensors, cfg


def sinusoidal(length, d):
    pe = torch.zeros(length, d, dtype=torch.float64)
    for i in range(0, d, 2):
        freq = math.exp(-i * math.log(10000.0) / d)
        for t in range(length):
            pe[t, i] = math.sin(t * freq)
            if i + 1 < d:
                pe[t, i + 1] = math.cos(t * freq)
    return pe


class ScaledMask(torch.autograd.Function):
    """alpha * M with M the top-k mask of |S| (ties: lower index first), as in the
    paper's reference code: forward returns alpha * M, backward passes g * |W| to the
    scores' absolute value (and nothing to W). autograd supplies the rest of the chain
    (sign(W) from the product below, sign(S) from abs)."""

    @staticmethod
    def forward(ctx, abs_scores, w, keep, per_row):
        n = abs_scores.numel()
        k = min(n, max(1, math.floor(keep * n + 0.5)))
        order = torch.sort(abs_scores.flatten(), descending=True, stable=True).indices
        mask = torch.zeros(n, dtype=abs_scores.dtype)
        mask[order[:k]] = 1.0
        mask = mask.view_as(abs_scores)
        if per_row:
            alpha = (w.abs() * mask).sum(dim=1, keepdim=True) / mask.sum(dim=1, keepdim=True).clamp(min=1)
        else:
            alpha = (w.abs() * mask).sum() / mask.sum()
        ctx.save_for_backward(w)
        return alpha * mask

    @staticmethod
    def backward(ctx, g):
        (w,) = ctx.saved_tensors
        return g * w.abs(), None, None, None


CFG = {}


def weight_of(p, name):
    if name + ".scores" not in p:
        return p[name + ".weight"]
    w = p[name + ".weight"]
    keep, per_row = float(CFG["keep"]), int(CFG["alpha_per_row"])
    return torch.sign(w) * ScaledMask.apply(p[name + ".scores"].abs(), w, keep, per_row)


def linear(p, name, x):
    return x @ weight_of(p, name).T + p[name + ".bias"]


def norm(p, cfg, name, x, valid):
    kind, eps = cfg["norm"], float(cfg["norm_eps"])
    if kind == "none":
        return x
    gamma, beta = p[name + ".gamma"], p[name + ".beta"]
    if kind == "layer":
        return torch.nn.functional.layer_norm(x, x.shape[-1:], gamma, beta, eps)
    # BatchNorm over d_model, statistics over the real steps only (training mode).
    rows = x[valid]
    mean = rows.mean(dim=0)
    var = ((rows - mean) ** 2).mean(dim=0)
    return (x - mean) / torch.sqrt(var + eps) * gamma + beta


def attention(p, cfg, layer, x, key_blocked):
    b, t, d = x.shape
    h = int(cfg["heads"])
    dh = d // h

    def heads(name):
        proj = linear(p, f"layer{layer}.{name}", x)
        if cfg["attention"] == "qkv-mask":
            proj = proj * p[f"attn.{name}_mask"][:t]
        return proj.reshape(b, t, h, dh).transpose(1, 2)

    q, k, v = heads("q"), heads("k"), heads("v")
    scores = q @ k.transpose(-1, -2) / math.sqrt(dh)
    scores = scores + key_blocked[:, None, None, :] * -1e9
    ctx = torch.softmax(scores, dim=-1) @ v
    return linear(p, f"layer{layer}.out", ctx.transpose(1, 2).reshape(b, t, d))


def forward(p, cfg, x, lengths, labels):
    b, t, _ = x.shape
    d = int(cfg["d_model"])
    steps = torch.arange(t)[None, :]
    valid = steps < lengths[:, None]
    x = (x - p["data.mean"]) / p["data.std"] * valid[:, :, None]
    h = linear(p, "input", x) * math.sqrt(d)
    h = h + (p["pos.table"][:t] if cfg["pos"] == "learned" else sinusoidal(t, d))
    blocked = (~valid).to(torch.float64)
    for layer in range(int(cfg["layers"])):
        h = norm(p, cfg, f"layer{layer}.norm1", h + attention(p, cfg, layer, h, blocked), valid)
        f = linear(p, f"layer{layer}.ff2", torch.relu(linear(p, f"layer{layer}.ff1", h)))
        h = norm(p, cfg, f"layer{layer}.norm2", h + f, valid)
    per_step = linear(p, "head", torch.relu(h))
    w = valid.to(torch.float64)[:, :, None]
    logits = (per_step * w).sum(dim=1) / w.sum(dim=1)
    loss = torch.nn.functional.cross_entropy(logits, labels)
    return logits, loss


def write(out, manifest, name, tensor):
    arr = tensor.detach().numpy().astype("<f4")
    arr.tofile(os.path.join(out, name + ".f32"))
    manifest.write(name + " " + " ".join(str(s) for s in arr.shape) + "\n")


def main():
    root = sys.argv[1]
    tensors, cfg = read_inputs(root)
    CFG.update(cfg)
    x = tensors.pop("batch.x")
    lengths = tensors.pop("batch.lengths").long()
    labels = tensors.pop("batch.labels").long()
    params = {k: v.requires_grad_(not k.startswith(("data.", "attn."))) for k, v in tensors.items()}
    logits, loss = forward(params, cfg, x, lengths, labels)
    loss.backward()
    out = os.path.join(root, "out")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "manifest.txt"), "w") as manifest:
        write(out, manifest, "logits", logits)
        write(out, manifest, "loss", loss.reshape(1))
        for name, t in params.items():
            if t.grad is not None:
                write(out, manifest, "grad." + name, t.grad)


if __name__ == "__main__":
    main()
