#!/usr/bin/env python3
"""Multiple-choice scores by lm-evaluation-harness' rules, for tests/core/eval/test_lm_eval_rules.cpp.

Writes tests/data/lm_eval/rules.jsonl (a task whose items hit each rule: a context ending in
spaces or a newline, an empty context, a context that starts with the BOS token's text, accented
and CJK choices of unequal length, and an item longer than the model's 1024 positions) and
tests/data/lm_eval/rules_reference.jsonl (per item: each choice's log-likelihood and continuation
tokens, and the choices that acc and acc_norm pick), scored with transformers on the demo model.

The rules are lm-evaluation-harness v0.4.12's for a causal Hugging Face model (HFLM), followed
line by line (the harness itself needs packages and data this machine cannot fetch):
- lm_eval/api/model.py, TemplateLM.loglikelihood: an empty context becomes [prefix_token_id]
  (BOS, else EOS) and the continuation is encoded without special tokens; if it starts with the
  prefix token, that token becomes the context.
- lm_eval/api/model.py, TemplateLM._encode_pair: trailing whitespace of the context (str.rstrip)
  moves to the continuation; whole = tok_encode(context + continuation), context_enc =
  tok_encode(context), continuation_enc = whole[len(context_enc):].
- lm_eval/models/huggingface.py, HFLM.tok_encode: add_special_tokens left to the tokenizer's
  default, except False when the text starts with the decoded prefix token (has_bos_prefix).
- lm_eval/models/huggingface.py, HFLM._loglikelihood_tokens: inp = (context_enc +
  continuation_enc)[-(max_length + 1):][:-1], max_length from config.max_position_embeddings; the
  log-softmax of the last len(continuation_enc) logits, gathered at the continuation tokens, summed.
- lm_eval/api/task.py, ConfigurableTask.process_results (multiple_choice): pred = argmax(lls),
  pred_norm = argmax(lls / len(choice)) with len in characters of the choice (no delimiter),
  pred_byte = argmax(lls / len(choice.encode("utf-8"))) for acc_bytes, and exact_match =
  is_greedy[gold].
- lm_eval/models/huggingface.py, HFLM._loglikelihood_tokens: is_greedy = every continuation token
  is the argmax of its logits.
The doc's continuation is target_delimiter + choice = " " + choice (ConfigurableTask.construct_requests).

Run where PyTorch and transformers are installed:  python3 tools/make_lm_eval_reference.py [--model resources/demo]
"""
import argparse
import json
import os

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def rule_items(heldout):
    verse = "And God said, Let there be light: and there was light."
    long_context = " ".join(heldout.split()[:1300])  # well past 1024 tokens
    return [
        {"id": "trailing-space", "context": "And God called the light Day, and the darkness he called ",
         "choices": ["Night.", "the firmament Heaven.", "Earth", "Seas; and God saw that it was good."], "label": 0},
        {"id": "trailing-newline", "context": "Genesis 1\nIn the beginning God created the heaven and the earth.\n",
         "choices": ["And the earth was without form, and void.", "Amen.", "And God said", "Selah"], "label": 0},
        {"id": "trailing-mixed-whitespace", "context": "And the evening and the morning were the first day. \t\n ",
         "choices": ["And God said, Let there be a firmament", "Day", "and it was so", "Lo"], "label": 0},
        {"id": "empty-context", "context": "", "choices": ["In the beginning", "Genesis 1", "And", "The"], "label": 0},
        {"id": "bos-text-context", "context": "<|begin_of_text|>In the beginning God created the heaven and the",
         "choices": ["earth.", "waters", "light and the darkness", "firmament of the heaven"], "label": 0},
        {"id": "accented", "context": verse + " And the",
         "choices": ["café of the Lord", "naïve señor façade", "earth brought forth grass", "élan"], "label": 2},
        {"id": "cjk", "context": verse + " And God saw the",
         "choices": ["光", "light, that it was good", "日本語のテキストです", "lumière"], "label": 1},
        {"id": "unequal-ascii", "context": "And God made two great lights; the greater light to rule the day, and the",
         "choices": ["lesser light to rule the night", "moon", "stars also", "night"], "label": 0},
        {"id": "longer-than-the-model", "context": long_context,
         "choices": ["and the waters were abated.", "Amen.", "and it was so.", "selah"], "label": 0},
    ]


def has_bos_prefix(text, bos_text):
    return bos_text is not None and text.startswith(bos_text)


def tok_encode(tok, text, prefix_id, add_special_tokens=None):
    kwargs = {}
    if add_special_tokens is not None:
        kwargs["add_special_tokens"] = add_special_tokens
    elif has_bos_prefix(text, tok.decode(prefix_id)):
        kwargs["add_special_tokens"] = False
    return tok.encode(text, **kwargs)


def encode_request(tok, context, continuation, prefix_id):
    if context == "":
        cont = tok_encode(tok, continuation, prefix_id, add_special_tokens=False)
        return ([prefix_id], cont) if prefix_id != cont[0] else (cont[:1], cont[1:])
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces > 0:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = tok_encode(tok, context + continuation, prefix_id)
    ctx = tok_encode(tok, context, prefix_id)
    return ctx, whole[len(ctx):]


def loglikelihood(model, ctx, cont, max_length):
    assert len(ctx) > 0 and 0 < len(cont) <= max_length
    inp = torch.tensor((ctx + cont)[-(max_length + 1):][:-1], dtype=torch.long).unsqueeze(0)
    with torch.no_grad():
        logits = torch.log_softmax(model(inp).logits.float(), dim=-1)[0]
    logits = logits[inp.shape[1] - len(cont):]
    greedy = bool((logits.argmax(dim=-1) == torch.tensor(cont)).all())
    ll = float(logits.gather(1, torch.tensor(cont).unsqueeze(-1)).sum())
    return ll, len((ctx + cont)[-(max_length + 1):]), greedy


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="resources/demo")
    ap.add_argument("--out", default="tests/data/lm_eval")
    args = ap.parse_args()
    tok = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
    prefix_id = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    max_length = model.config.max_position_embeddings
    with open(os.path.join(args.model, "heldout.txt"), encoding="utf-8") as f:
        items = rule_items(f.read())
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "rules.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        for it in items:
            f.write(json.dumps(it, ensure_ascii=False) + "\n")
    differs = 0
    with open(os.path.join(args.out, "rules_reference.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        for it in items:
            lls, conts, fed, greedy = [], [], [], []
            for choice in it["choices"]:
                ctx, cont = encode_request(tok, it["context"], " " + choice, prefix_id)
                ll, n, is_greedy = loglikelihood(model, ctx, cont, max_length)
                lls.append(ll)
                greedy.append(is_greedy)
                conts.append(len(cont))
                fed.append(n - 1)
            lls = np.array(lls)
            pred = int(np.argmax(lls))
            pred_norm = int(np.argmax(lls / np.array([float(len(c)) for c in it["choices"]])))
            pred_bytes = int(np.argmax(lls / np.array([float(len(c.encode("utf-8"))) for c in it["choices"]])))
            # What LayerLab did before (1 + UTF-8 bytes): the test must be able to tell the two apart.
            old = int(np.argmax(lls / np.array([1.0 + len(c.encode("utf-8")) for c in it["choices"]])))
            differs += old != pred_norm
            f.write(json.dumps({"id": it["id"], "loglik": [round(v, 6) for v in lls.tolist()], "cont_tokens": conts,
                                "tokens_fed": fed, "pred": pred, "pred_norm": pred_norm, "pred_bytes": pred_bytes,
                                "is_greedy": greedy}) + "\n")
            print(it["id"], "pred", pred, "pred_norm", pred_norm, "per-byte rule", old, "fed", fed)
    print(f"acc_norm picks that the per-byte rule gets wrong: {differs} of {len(items)}")


if __name__ == "__main__":
    main()
