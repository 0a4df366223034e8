#!/usr/bin/env python3
"""transformers (SDPA, bf16, one GPU) side of bench/run_side_by_side.sh, which runs LayerLab on the
same checkpoint and tokens. One part per invocation (a fresh process, so first passes are cold);
prints one JSON line: seconds = the computation only (between torch.cuda.synchronize() calls, not
loading), tokens_per_s (blocks_per_s for drop_one_blocks), torch.cuda.max_memory_allocated().

  python3 bench/side_by_side_transformers.py --model CKPT --part eval_single_pass --data D.jsonl

  eval_single_pass   one (cold) pass over --data ({"input_ids": [...]} per line, equal lengths) in
                     batches of --batch (8): forward + summed next-token cross-entropy in float32
  eval_warm_pass     the same pass twice; the second counts (first_s: the first)
  multiple_choice    --tasks T.jsonl, bench_eval_transformers.multiple_choice (batch 16, two passes):
                     seconds/tokens_per_s of the first pass, warm_s/warm_tokens_per_s of the second
  cosine_importance  per block 1 - cos(input, output) (output_hidden_states), per attention / FFN
                     1 - cos of the residual stream before and after it (hooks), mean over positions
  drop_one_blocks    the full model's loss, then the loss with each block left out (33 passes)
  decode             --prompt P, greedy generate of exactly --max-new-tokens (128) new tokens for
                     --batch (1) copies of the prompt, cold (seconds, tokens_per_s: new tokens per
                     second, prompt included) and warm (warm_s, warm_tokens_per_s; decode_tokens_per_s
                     after the first token)
Scoring parts run with use_cache=False (no KV cache is kept for one forward pass).
"""
import argparse
import json
import time

import tokenizers
import torch
import torch.nn.functional as F
import transformers

from bench_eval_transformers import multiple_choice, timed


def read_ids(path):
    return torch.tensor([json.loads(l)["input_ids"] for l in open(path) if l.strip()], dtype=torch.long)


def mean_loss(model, ids, batch, on_output=None, **kwargs):
    """Mean next-token loss over ids [N, T], as bench_eval_transformers.perplexity computes it."""
    total, n = 0.0, 0
    for b in range(0, len(ids), batch):
        x = ids[b:b + batch].cuda()
        out = model(input_ids=x, **kwargs)
        if on_output:
            on_output(out)
        logits = out.logits[:, :-1].float()
        total += F.cross_entropy(logits.reshape(-1, logits.size(-1)), x[:, 1:].reshape(-1), reduction="sum").item()
        n += x[:, 1:].numel()
    return total / n


def cosine_importance(model, ids, batch):
    layers = model.model.layers
    L = len(layers)
    sums = torch.zeros(3, L, dtype=torch.float64, device="cuda")  # block, attn, ffn
    state = {}

    def one_minus_cos(a, b):
        return (1 - F.cosine_similarity(a.float(), b.float(), dim=-1)).sum(dtype=torch.float64)

    def hooks(l):
        def block_input(module, args, kwargs):
            state["x"] = args[0] if args else kwargs["hidden_states"]

        def after_attn(module, args, out):
            state["mid"] = state["x"] + (out[0] if isinstance(out, tuple) else out)
            sums[1, l] += one_minus_cos(state["x"], state["mid"])

        def after_ffn(module, args, out):
            after = state["mid"] + out
            sums[2, l] += one_minus_cos(state["mid"], after)
            if l == L - 1:  # hidden_states[-1] is after the final norm: the last block's output is this
                sums[0, l] += one_minus_cos(state["x"], after)

        return [layers[l].register_forward_pre_hook(block_input, with_kwargs=True),
                layers[l].self_attn.register_forward_hook(after_attn), layers[l].mlp.register_forward_hook(after_ffn)]

    def blocks(out):  # hidden_states[l]: block l's input, hidden_states[l + 1] its output (l < L - 1)
        h = out.hidden_states
        for l in range(L - 1):
            sums[0, l] += one_minus_cos(h[l], h[l + 1])

    handles = [h for l in range(L) for h in hooks(l)]
    try:
        loss = mean_loss(model, ids, batch, on_output=blocks, output_hidden_states=True)
        scores = (sums / ids.numel()).tolist()
    finally:
        for h in handles:
            h.remove()
    return loss, dict(zip(["block", "attn", "ffn"], scores))


def drop_one_blocks(model, ids, batch):
    layers = model.model.layers
    full = mean_loss(model, ids, batch)
    drops = []
    for l in range(len(layers)):
        model.model.layers = torch.nn.ModuleList([m for i, m in enumerate(layers) if i != l])
        try:
            drops.append(mean_loss(model, ids, batch) - full)
        finally:
            model.model.layers = layers
    return full, drops


def decode(model, path, prompt, batch, new_tokens):
    """Greedy generate, cold then warm; first_token_s: a warm generate of one new token (the prompt's
    pass), so that decode_tokens_per_s counts the steps after it, as bench_generate does."""
    tok = tokenizers.Tokenizer.from_file(f"{path}/tokenizer.json")
    tok.enable_padding(direction="left", pad_id=0)  # copies of one prompt: nothing to pad in fact
    enc = tok.encode_batch([prompt] * batch)
    ids = torch.tensor([e.ids for e in enc]).cuda()
    mask = torch.tensor([e.attention_mask for e in enc]).cuda()

    def run(n):
        return timed(lambda: model.generate(input_ids=ids, attention_mask=mask, do_sample=False, max_new_tokens=n,
                                            min_new_tokens=n, pad_token_id=0))
    out, cold = run(new_tokens)
    _, warm = run(new_tokens)
    _, first = run(1)
    n = out.shape[1] - ids.shape[1]
    return {"prompt_tokens": ids.shape[1], "new_tokens": n, "seconds": cold, "tokens_per_s": batch * n / cold,
            "warm_s": warm, "warm_tokens_per_s": batch * n / warm, "first_token_s": first,
            "decode_tokens_per_s": batch * (n - 1) / (warm - first),
            "head": out[0, ids.shape[1]:ids.shape[1] + 8].tolist()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", required=True, choices=["eval_single_pass", "eval_warm_pass", "multiple_choice",
                                                      "cosine_importance", "drop_one_blocks", "decode"])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data")
    ap.add_argument("--tasks")
    ap.add_argument("--batch", type=int, help="default: 16 for multiple_choice, 1 for decode, else 8")
    ap.add_argument("--prompt", default="The history of the printing press begins in")
    ap.add_argument("--max-new-tokens", type=int, default=128)
    a = ap.parse_args()
    batch = a.batch or {"multiple_choice": 16, "decode": 1}.get(a.part, 8)
    t = time.time()
    model = transformers.AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.bfloat16, attn_implementation="sdpa",
                                                              device_map="cuda").eval()
    torch.cuda.synchronize()
    load_s = time.time() - t
    if a.part != "decode":
        model.config.use_cache = False
    part = a.part
    with torch.inference_mode():
        if part in ("eval_single_pass", "eval_warm_pass"):
            ids = read_ids(a.data)
            times = []
            for _ in range(1 if part == "eval_single_pass" else 2):
                loss, s = timed(lambda: mean_loss(model, ids, batch))
                times.append(s)
            r = {"loss": loss, "tokens": ids.numel(), "seconds": times[-1], "tokens_per_s": ids.numel() / times[-1]}
            if len(times) == 2:
                r["first_s"] = times[0]
        elif part == "multiple_choice":
            tok = tokenizers.Tokenizer.from_file(f"{a.model}/tokenizer.json")
            m = multiple_choice(model, tok, a.tasks, batch)
            r = {"acc": m["acc"], "items": m["items"], "tokens": m["tokens"], "seconds": m["first_s"],
                 "tokens_per_s": m["tokens"] / m["first_s"], "warm_s": m["warm_s"], "warm_tokens_per_s": m["tokens_per_s"]}
        elif part == "cosine_importance":
            ids = read_ids(a.data)
            (loss, scores), s = timed(lambda: cosine_importance(model, ids, batch))
            r = {"loss": loss, "tokens": ids.numel(), "seconds": s, "tokens_per_s": ids.numel() / s, "scores": scores}
        elif part == "drop_one_blocks":
            ids = read_ids(a.data)
            (loss, drops), s = timed(lambda: drop_one_blocks(model, ids, batch))
            r = {"loss": loss, "blocks": len(drops), "seconds": s, "blocks_per_s": len(drops) / s,
                 "scores": {"block": drops}}
        else:
            part = f"decode_batch{batch}"
            r = decode(model, a.model, a.prompt, batch, a.max_new_tokens)
    print(json.dumps({"engine": "transformers-sdpa", "part": part, "batch": batch, **r, "load_s": load_s,
                      "max_memory_allocated_mib": torch.cuda.max_memory_allocated() / 2**20,
                      "max_memory_reserved_mib": torch.cuda.max_memory_reserved() / 2**20,
                      "transformers": transformers.__version__, "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
