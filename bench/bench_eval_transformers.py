#!/usr/bin/env python3
"""transformers (SDPA) baseline for bench/run_eval_bench.sh: perplexity and multiple-choice
scoring throughput on the same data LayerLab's `eval` gets, on one GPU in bf16.

  --ppl DATA.jsonl        {"input_ids": [...]} per line, equal lengths: loss over batches of --batch
  --tasks TASK.jsonl      {"context", "choices", "label"}: summed log-likelihood of " " + choice given
                          the context (tokens of encode(context + " " + choice) beyond encode(context)),
                          longest first, right-padded batches of --mc-batch, as lm-evaluation-harness
Each part runs twice; the second (warm) pass is reported, with the first for reference.
"""
import argparse
import json
import time

import torch
import transformers


def timed(fn):
    torch.cuda.synchronize()
    t = time.time()
    out = fn()
    torch.cuda.synchronize()
    return out, time.time() - t


def perplexity(model, path, batch):
    rows = [json.loads(l)["input_ids"] for l in open(path) if l.strip()]
    ids = torch.tensor(rows, dtype=torch.long)

    def run():
        total, n = 0.0, 0
        for b in range(0, len(ids), batch):
            x = ids[b:b + batch].cuda()
            logits = model(input_ids=x).logits[:, :-1].float()
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), x[:, 1:].reshape(-1),
                                                     reduction="sum")
            total += loss.item()
            n += x[:, 1:].numel()
        return total / n

    times = []
    for _ in range(2):
        loss, s = timed(run)
        times.append(s)
    return {"part": "perplexity", "loss": loss, "tokens": ids.numel(), "first_s": times[0], "warm_s": times[1],
            "tokens_per_s": ids.numel() / times[1]}


def multiple_choice(model, tokenizer, path, batch):
    items = [json.loads(l) for l in open(path) if l.strip()]
    requests = []
    for i, it in enumerate(items):
        ctx = tokenizer.encode(it["context"]).ids
        for c, choice in enumerate(it["choices"]):
            whole = tokenizer.encode(it["context"] + " " + choice).ids
            requests.append((i, c, whole, min(len(ctx), len(whole) - 1)))
    requests.sort(key=lambda r: -len(r[2]))

    def run():
        scores = {}
        for b in range(0, len(requests), batch):
            part = requests[b:b + batch]
            longest = max(len(r[2]) for r in part)
            x = torch.zeros((len(part), longest), dtype=torch.long)
            mask = torch.zeros((len(part), longest), dtype=torch.long)
            for k, r in enumerate(part):
                x[k, :len(r[2])] = torch.tensor(r[2])
                mask[k, :len(r[2])] = 1
            x, mask = x.cuda(), mask.cuda()
            logp = torch.log_softmax(model(input_ids=x, attention_mask=mask).logits[:, :-1].float(), -1)
            tok = logp.gather(-1, x[:, 1:].unsqueeze(-1)).squeeze(-1).double().cpu()
            for k, (i, c, whole, start) in enumerate(part):
                scores[(i, c)] = tok[k, start - 1:len(whole) - 1].sum().item()
        return scores

    times = []
    for _ in range(2):
        scores, s = timed(run)
        times.append(s)
    tokens = sum(len(r[2]) for r in requests)
    right = sum(max(range(len(it["choices"])), key=lambda c: scores[(i, c)]) == it["label"]
                for i, it in enumerate(items))
    return {"part": "multiple_choice", "items": len(items), "acc": right / len(items), "tokens": tokens,
            "first_s": times[0], "warm_s": times[1], "tokens_per_s": tokens / times[1]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--ppl")
    ap.add_argument("--tasks")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--mc-batch", type=int, default=16)
    a = ap.parse_args()
    model = transformers.AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.bfloat16, attn_implementation="sdpa",
                                                              device_map="cuda").eval()
    common = {"engine": "transformers-sdpa", "transformers": transformers.__version__, "torch": torch.__version__}
    with torch.inference_mode():
        if a.ppl:
            print(json.dumps({**common, **perplexity(model, a.ppl, a.batch)}), flush=True)
        if a.tasks:
            import tokenizers
            tok = tokenizers.Tokenizer.from_file(f"{a.model}/tokenizer.json")
            print(json.dumps({**common, **multiple_choice(model, tok, a.tasks, a.mc_batch)}), flush=True)


if __name__ == "__main__":
    main()
