#!/usr/bin/env python3
"""transformers' side of the forward benchmark: the same random batches through
LlamaForCausalLM (eager and SDPA attention), forward + mean next-token loss, bf16.

    python3 bench/bench_forward_transformers.py --make-checkpoint /tmp/llama7b   # Llama-2-7B shape, random
    python3 bench/bench_forward_transformers.py --make-checkpoint /tmp/l70 --shape llama2-70b --layers 80
    python3 bench/bench_forward_transformers.py --model /tmp/llama7b --attn sdpa
Prints one JSON line per run."""
import argparse
import json
import os
import time

import torch
import transformers


SHAPES = {
    "llama2-7b": dict(hidden_size=4096, intermediate_size=11008, num_attention_heads=32, num_key_value_heads=32),
    "llama2-70b": dict(hidden_size=8192, intermediate_size=28672, num_attention_heads=64, num_key_value_heads=8),
}


def make_checkpoint(path, layers, shape="llama2-7b"):
    cfg = transformers.LlamaConfig(vocab_size=32000, num_hidden_layers=layers, max_position_embeddings=4096,
                                   rms_norm_eps=1e-5, tie_word_embeddings=False, **SHAPES[shape])
    torch.manual_seed(0)
    # Made in bf16 from the start: a 70B-wide model in float32 would not fit the GPU.
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = transformers.LlamaForCausalLM(cfg)
    torch.set_default_dtype(torch.float32)
    t = time.time()
    model.save_pretrained(path, max_shard_size="5GB")
    print(json.dumps({"made": path, "shape": shape, "layers": layers, "save_s": time.time() - t,
                      "params": sum(p.numel() for p in model.parameters())}), flush=True)


def bench(path, attn, batch, seq, iters):
    t = time.time()
    model = transformers.AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16, attn_implementation=attn,
                                                              device_map="cuda")
    torch.cuda.synchronize()
    load_s = time.time() - t
    model.eval()
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, model.config.vocab_size, (batch, seq), generator=g).cuda()
    torch.cuda.reset_peak_memory_stats()
    with torch.inference_mode():
        model(input_ids=ids, labels=ids)  # warm-up
        torch.cuda.synchronize()
        t = time.time()
        for _ in range(iters):
            loss = model(input_ids=ids, labels=ids).loss.item()
        torch.cuda.synchronize()
        s = time.time() - t
    print(json.dumps({"engine": f"transformers-{attn}", "transformers": transformers.__version__,
                      "torch": torch.__version__, "batch": batch, "seq": seq, "iters": iters,
                      "tokens_per_s": batch * seq * iters / s, "loss": loss, "load_s": load_s,
                      "peak_gib": torch.cuda.max_memory_allocated() / 2**30}), flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--make-checkpoint")
    ap.add_argument("--layers", type=int, default=32)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="llama2-7b")
    ap.add_argument("--model")
    ap.add_argument("--attn", default="sdpa")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=2048)
    ap.add_argument("--iters", type=int, default=5)
    a = ap.parse_args()
    if a.make_checkpoint:
        make_checkpoint(a.make_checkpoint, a.layers, a.shape)
    if a.model:
        bench(a.model, a.attn, a.batch, a.seq, a.iters)
