#!/usr/bin/env python3
"""Builds tiny random-initialised checkpoints of every architecture variant LayerLab supports and
writes what Hugging Face transformers computes on them, as references for LayerLab's tests.

Run on the device machine (it has PyTorch and transformers):
    python3 tools/make_reference.py --out tests/data/reference

For each variant VARIANT it writes:
    VARIANT/config.json + model.safetensors (or shards + index)   the checkpoint
    VARIANT/reference.safetensors   input_ids, logits for a few layer masks, captured residual stream
    VARIANT/reference.json          losses per mask, drop-one loss / logit_l2 / kl per unit,
                                    cosine and update norms per unit
References are computed in float64 on the CPU from the checkpoint as saved (re-loaded with
from_pretrained), so they are independent of LayerLab and of GPU kernels. A removed unit is a
forward hook that zeroes the output of that sub-layer (attention, MLP, or both for a block).
"""
import argparse
import json
import os
import shutil

import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

V5 = int(transformers.__version__.split(".")[0]) >= 5
BATCH, SEQ = 2, 24
MASKS = {  # name -> removal spec in LayerLab's syntax
    "none": "",
    "block1": "block:1",
    "attn0_ffn2": "attn:0,ffn:2",
    "attn1to2": "attn:1-2",
    "ffn0_block3": "ffn:0,block:3",
}


def rope_kwargs(theta, scaling):
    """Config keyword arguments for RoPE in the spelling this transformers version expects."""
    if V5:
        params = {"rope_type": "default", "rope_theta": theta}
        if scaling:
            params.update(scaling)
        return {"rope_parameters": params}
    kw = {"rope_theta": theta}
    if scaling:
        kw["rope_scaling"] = dict(scaling)
    return kw


def variants():
    base = dict(vocab_size=128, hidden_size=64, intermediate_size=96, num_hidden_layers=4,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                rms_norm_eps=1e-5, tie_word_embeddings=False)
    L = transformers.LlamaConfig
    M = transformers.MistralConfig
    Q = transformers.Qwen2Config
    return [
        # name, config class, kwargs, stored dtype, classic config spelling?, shard size
        ("llama_gqa", L, dict(base, **rope_kwargs(10000.0, None)), torch.float32, False, None),
        ("llama_tied_bias_headdim", L, dict(base, tie_word_embeddings=True, attention_bias=True, mlp_bias=True,
                                            head_dim=24, **rope_kwargs(500000.0, {"rope_type": "linear", "factor": 2.0})),
         torch.float32, True, None),
        ("llama3_rope_bf16", L, dict(base, num_key_value_heads=1, **rope_kwargs(500000.0, {
            "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
            "original_max_position_embeddings": 16})), torch.bfloat16, False, None),
        ("llama_dynamic_f16", L, dict(base, max_position_embeddings=16,
                                      **rope_kwargs(10000.0, {"rope_type": "dynamic", "factor": 2.0})),
         torch.float16, True, None),
        ("mistral_window", M, dict(base, sliding_window=8, head_dim=16, **rope_kwargs(1000000.0, None)),
         torch.float32, False, None),
        ("qwen2_tied", Q, dict(base, tie_word_embeddings=True, **rope_kwargs(1000000.0, None)), torch.float32, False,
         None),
        ("llama_sharded", L, dict(base, num_key_value_heads=4, **rope_kwargs(10000.0, None)), torch.float32, False,
         "100KB"),
    ]


def randomise(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.15 * torch.randn(p.shape, generator=g))


def to_classic_spelling(path):
    """Rewrite config.json in the pre-transformers-5 spelling: rope_theta + rope_scaling + torch_dtype."""
    with open(path) as f:
        c = json.load(f)
    params = c.pop("rope_parameters", None)
    if params is not None:
        c["rope_theta"] = params.get("rope_theta", 10000.0)
        scaling = {k: v for k, v in params.items() if k != "rope_theta"}
        c["rope_scaling"] = None if scaling.get("rope_type", "default") == "default" else scaling
    if "dtype" in c:
        c["torch_dtype"] = c.pop("dtype")
    with open(path, "w") as f:
        json.dump(c, f, indent=2)


def parse_spec(spec, n):
    out = []
    for item in filter(None, spec.split(",")):
        unit, rng = item.split(":")
        lo, _, hi = rng.partition("-")
        for layer in range(int(lo), int(hi or lo) + 1):
            out.append((unit, layer))
    return out


def zero_output(module, args, output):
    if isinstance(output, tuple):
        return (torch.zeros_like(output[0]),) + tuple(output[1:])
    return torch.zeros_like(output)


def run(model, ids, removed):
    handles = []
    for unit, layer in removed:
        block = model.model.layers[layer]
        if unit in ("attn", "block"):
            handles.append(block.self_attn.register_forward_hook(zero_output))
        if unit in ("ffn", "block"):
            handles.append(block.mlp.register_forward_hook(zero_output))
    try:
        with torch.no_grad():
            out = model(input_ids=ids, labels=ids)
    finally:
        for h in handles:
            h.remove()
    return out.logits, out.loss.item()


def capture(model, ids):
    """Residual stream at every sub-layer boundary of the full model."""
    points = {}
    handles = []
    for l, block in enumerate(model.model.layers):
        handles.append(block.register_forward_pre_hook(
            lambda m, args, kwargs, l=l: points.__setitem__(("in", l), (args[0] if args else kwargs["hidden_states"]).clone()),
            with_kwargs=True))
        handles.append(block.post_attention_layernorm.register_forward_pre_hook(
            lambda m, args, l=l: points.__setitem__(("mid", l), args[0].clone())))
    handles.append(model.model.norm.register_forward_pre_hook(
        lambda m, args: points.__setitem__(("out", len(model.model.layers) - 1), args[0].clone())))
    with torch.no_grad():
        model(input_ids=ids)
    for h in handles:
        h.remove()
    L = len(model.model.layers)
    for l in range(L - 1):
        points[("out", l)] = points[("in", l + 1)]
    return points


def unit_stats(points, L):
    stats = {k: {g: [] for g in ("block", "attn", "ffn")} for k in ("cosine", "l1_update", "l2_update",
                                                                      "rel_l1_update", "rel_l2_update")}
    for l in range(L):
        pairs = {"block": (points[("in", l)], points[("out", l)]), "attn": (points[("in", l)], points[("mid", l)]),
                 "ffn": (points[("mid", l)], points[("out", l)])}
        for g, (a, b) in pairs.items():
            cos = torch.nn.functional.cosine_similarity(a, b, dim=-1)
            d = b - a
            stats["cosine"][g].append((1 - cos).mean().item())
            stats["l1_update"][g].append(d.abs().sum(-1).mean().item())
            stats["l2_update"][g].append(d.norm(dim=-1).mean().item())
            stats["rel_l1_update"][g].append((d.abs().sum(-1) / a.abs().sum(-1)).mean().item())
            stats["rel_l2_update"][g].append((d.norm(dim=-1) / a.norm(dim=-1)).mean().item())
    return stats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/data/reference")
    args = ap.parse_args()
    torch.manual_seed(0)
    os.makedirs(args.out, exist_ok=True)
    index = {"transformers": transformers.__version__, "torch": torch.__version__, "batch": BATCH, "seq": SEQ,
             "masks": MASKS, "variants": []}
    for i, (name, cls, kw, dtype, classic, shard) in enumerate(variants()):
        d = os.path.join(args.out, name)
        shutil.rmtree(d, ignore_errors=True)
        cfg = cls(**kw)
        model = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager")
        randomise(model, seed=100 + i)
        model = model.to(dtype)
        save_kw = {"max_shard_size": shard} if shard else {}
        model.save_pretrained(d, **save_kw)
        if classic:
            to_classic_spelling(os.path.join(d, "config.json"))
        for extra in ("generation_config.json",):
            if os.path.exists(os.path.join(d, extra)):
                os.remove(os.path.join(d, extra))

        ref = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float64, attn_implementation="eager")
        ref.eval()
        L = ref.config.num_hidden_layers
        g = torch.Generator().manual_seed(7 + i)
        ids = torch.randint(0, ref.config.vocab_size, (BATCH, SEQ), generator=g)
        tensors = {"input_ids": ids}
        losses = {}
        for mname, spec in MASKS.items():
            logits, loss = run(ref, ids, parse_spec(spec, L))
            tensors["logits_" + mname] = logits.float().contiguous()
            losses[mname] = loss
        full_logits = tensors["logits_none"].double()
        full_logp = torch.log_softmax(full_logits, -1)
        drop = {g_: {"loss": [], "logit_l2": [], "kl": []} for g_ in ("block", "attn", "ffn")}
        for g_ in ("block", "attn", "ffn"):
            for l in range(L):
                logits, loss = run(ref, ids, [(g_, l)])
                logp = torch.log_softmax(logits.double(), -1)
                drop[g_]["loss"].append(loss)
                drop[g_]["logit_l2"].append((logits.double() - full_logits).norm(dim=-1).mean().item())
                drop[g_]["kl"].append((full_logp.exp() * (full_logp - logp)).sum(-1).mean().item())
        points = capture(ref, ids)
        for (kind, l), t in points.items():
            tensors[f"residual_{kind}_{l}"] = t.float().contiguous()
        save_file(tensors, os.path.join(d, "reference.safetensors"))
        meta = {"name": name, "architecture": ref.config.architectures[0], "num_layers": L, "stored_dtype": str(dtype),
                "classic_config": classic, "sharded": bool(shard), "losses": losses, "drop_one": drop,
                "unit_stats": unit_stats(points, L),
                "definitions": {"logit_l2": "mean over all positions of ||logits_pruned - logits_full||_2",
                                "kl": "mean over all positions of KL(p_full || p_pruned)",
                                "cosine": "mean over positions of 1 - cos(h_in, h_out)"}}
        with open(os.path.join(d, "reference.json"), "w") as f:
            json.dump(meta, f, indent=1)
        index["variants"].append(name)
        print(f"{name}: loss {losses['none']:.6f}, files {sorted(os.listdir(d))}")
    with open(os.path.join(args.out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    main()
