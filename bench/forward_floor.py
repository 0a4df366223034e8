#!/usr/bin/env python3
"""The floor under one perplexity batch of a Llama-2-7B-shaped model on this GPU: each matrix
product and the attention of one forward pass, timed alone with PyTorch (the same cuBLAS and SDPA
kernels LibTorch calls), summed over the layers. What a batch takes beyond it is element-wise work,
the loss and the host.

usage: forward_floor.py [--batch 8] [--seq 2048]
"""
import argparse
import json

import torch
import torch.nn.functional as F


def timed(fn, reps=20):
    for _ in range(3):
        fn()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(reps):
        fn()
    stop.record()
    torch.cuda.synchronize()
    return start.elapsed_time(stop) / reps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=2048)
    a = ap.parse_args()
    d, inner, vocab, layers, heads = 4096, 11008, 32000, 32, 32
    m = a.batch * a.seq
    bf = dict(device="cuda", dtype=torch.bfloat16)
    x = torch.randn(m, d, **bf)
    ms = {}
    for name, (n, k) in {"qkv": (3 * d, d), "o": (d, d), "gate_up": (2 * inner, d), "down": (d, inner)}.items():
        w = torch.randn(n, k, **bf) * 0.02
        inp = x if k == d else torch.randn(m, k, **bf)
        ms[name] = timed(lambda: F.linear(inp, w)) * layers
    head = torch.randn(vocab, d, **bf) * 0.02
    ms["lm_head"] = timed(lambda: F.linear(x, head))
    q, k, v = (torch.randn(a.batch, heads, a.seq, d // heads, **bf) for _ in range(3))
    ms["attention"] = timed(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True)) * layers
    h, u = torch.randn(m, d, **bf), torch.randn(m, d, **bf)
    ms["residual_add"] = timed(lambda: h + u) * 2 * layers
    gu = torch.randn(m, 2 * inner, **bf)
    ms["silu_mul"] = timed(lambda: F.silu(gu[:, :inner]).mul_(gu[:, inner:])) * layers
    total = sum(ms.values())
    print(json.dumps({"ms_per_batch": {k: round(v, 2) for k, v in ms.items()}, "total_ms": round(total, 1),
                      "tokens_per_s_at_floor": round(m / total * 1e3)}))


if __name__ == "__main__":
    main()
