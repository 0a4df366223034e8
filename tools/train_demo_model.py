#!/usr/bin/env python3
"""Trains LayerLab's bundled demo model from scratch: a small Llama (GQA) plus its byte-level BPE tokenizer,
on public-domain English text (King James Bible + The Devil's Dictionary, from Debian packages).

Run on a machine with PyTorch, transformers (4.5x or 5.x) and tokenizers, from the repository root:

    python3 tools/train_demo_model.py --out resources/demo --seed 0

Inputs: .carry/text/{kjv.tsv,devil.txt} (made by `python3 tools/demo_text.py prepare`; checked by SHA-256)
and resources/demo/next_verse.jsonl (made by tools/make_demo_tasks.py). The train / held-out split is
tools/demo_text.py's (every 20th chapter of the KJV held out), identical to the committed heldout.txt.

Writes into --out:
  config.json, model.safetensors (bf16)     the checkpoint (LlamaForCausalLM, save_pretrained)
  tokenizer.json, tokenizer_config.json     the tokenizer (HF `tokenizers` format)
  heldout.txt                               held-out text (perplexity data)
  next_verse.jsonl                          the task file (copied when --out is not its folder)
  next_verse_reference.jsonl                per item: the 4 summed log-likelihoods (float32 reload)
  train_curve.csv                           step,train_loss,val_loss
  manifest.json                             everything measured, recipes in words
Exit status is non-zero on any failure.
"""
import argparse
import csv
import hashlib
import inspect
import json
import math
import os
import random
import shutil
import sys
import time
import traceback

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import demo_text  # noqa: E402

BOS, EOS, PAD = "<|begin_of_text|>", "<|end_of_text|>", "<|pad|>"
# Llama-3 / GPT-4-style pre-tokenization regex (contractions, letters, 1-3 digits, punctuation, spaces).
SPLIT_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

REF_WINDOW, REF_WINDOWS = 256, 32
REFERENCE_RECIPE = (
    "Reference perplexity: read heldout.txt (UTF-8) as ONE string; ids = tokenizer.json encode(text, "
    "add_special_tokens=False) (no BOS); cut ids into consecutive non-overlapping windows of 256 tokens from "
    "offset 0, drop the remainder; keep the first 32 windows (all if fewer); no token is prepended. Model = "
    "model.safetensors (bf16) loaded with transformers AutoModelForCausalLM.from_pretrained(dir, "
    "dtype=float32, attn_implementation='eager') on the CPU, each window run alone-equivalent (batch of "
    "windows, no padding, no attention mask). Loss = mean over all windows and positions t=0..254 of "
    "-log softmax(logits[t])[ids[t+1]] (255 predictions per window, labels=input_ids style). "
    "Perplexity = exp(loss).")
TASK_RECIPE = (
    "next_verse.jsonl, lm-evaluation-harness style loglikelihood multiple choice. For each item and choice: "
    "ctx = encode(context, add_special_tokens=True) (BOS prepended by the tokenizer's TemplateProcessing); "
    "full = encode(context + ' ' + choice, add_special_tokens=True); continuation tokens = full[len(ctx):] "
    "(full[:len(ctx)] == ctx is checked; mismatches counted in prefix_mismatches). Score = sum over "
    "continuation tokens of log softmax(logits at the previous position)[token], one forward pass over full "
    "(no truncation needed: every sequence is shorter than 256 tokens). acc = mean(argmax score == label); "
    "acc_norm = mean(argmax score / len((' ' + choice).encode('utf-8')) == label) (bytes of the continuation "
    "string including its leading space). Model: the saved bf16 checkpoint reloaded in float32 (eager "
    "attention), ties broken by the lowest index.")


def log(*a):
    print(time.strftime("[%H:%M:%S]"), *a, flush=True)


def sha256_bytes(b):
    return hashlib.sha256(b).hexdigest()


# ------------------------------------------------------------------------------------------------------
# tokenizer
# ------------------------------------------------------------------------------------------------------
def train_tokenizer(docs, vocab_size, out_dir, model_max_length):
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                  special_tokens=[BOS, EOS, PAD],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(docs, trainer=trainer)
    ids = {t: tok.token_to_id(t) for t in (BOS, EOS, PAD)}
    if ids != {BOS: 0, EOS: 1, PAD: 2}:
        raise RuntimeError(f"special token ids {ids}, expected 0,1,2")
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS}:0 $A:0", pair=f"{BOS}:0 $A:0 {BOS}:1 $B:1", special_tokens=[(BOS, 0)])
    path = os.path.join(out_dir, "tokenizer.json")
    tok.save(path)
    added = {}
    for t, i in ((BOS, 0), (EOS, 1), (PAD, 2)):
        added[str(i)] = {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                         "single_word": False, "special": True}
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": BOS, "eos_token": EOS, "pad_token": PAD,
        "add_bos_token": True, "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": model_max_length,
        "added_tokens_decoder": added,
    }
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    return Tokenizer.from_file(path)  # use exactly what was saved


def check_hf_tokenizer(out_dir, tok, sample_text, sample_context):
    """Does transformers' AutoTokenizer on out_dir give the same ids? (informational)"""
    try:
        from transformers import AutoTokenizer
        hf = AutoTokenizer.from_pretrained(out_dir)
        a = hf(sample_text, add_special_tokens=False)["input_ids"] == tok.encode(sample_text, add_special_tokens=False).ids
        b = hf(sample_context)["input_ids"] == tok.encode(sample_context).ids
        return {"class": type(hf).__name__, "same_ids_no_special": bool(a), "same_ids_with_bos": bool(b)}
    except Exception as e:  # noqa: BLE001
        return {"error": f"{type(e).__name__}: {e}"}


# ------------------------------------------------------------------------------------------------------
# model
# ------------------------------------------------------------------------------------------------------
def make_config(args, vocab_size):
    import transformers
    from transformers import LlamaConfig

    kw = dict(vocab_size=vocab_size, hidden_size=args.hidden, intermediate_size=args.intermediate,
              num_hidden_layers=args.layers, num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
              max_position_embeddings=args.max_positions, rms_norm_eps=1e-5, hidden_act="silu",
              initializer_range=0.02, tie_word_embeddings=args.tie, bos_token_id=0, eos_token_id=1,
              pad_token_id=2, attention_bias=False, mlp_bias=False, attention_dropout=0.0)
    v5 = int(transformers.__version__.split(".")[0]) >= 5
    params = inspect.signature(LlamaConfig.__init__).parameters
    if v5 or "rope_parameters" in params:
        kw["rope_parameters"] = {"rope_type": "default", "rope_theta": args.rope_theta}
    else:
        kw["rope_theta"] = args.rope_theta
    cfg = LlamaConfig(**kw)
    rp = getattr(cfg, "rope_parameters", None)
    theta = rp.get("rope_theta") if isinstance(rp, dict) else getattr(cfg, "rope_theta", None)
    if theta is None or abs(float(theta) - args.rope_theta) > 1e-6:
        raise RuntimeError(f"rope theta not applied: rope_parameters={rp} rope_theta={getattr(cfg, 'rope_theta', None)}")
    return cfg


def add_dropout_hooks(model, p):
    """Dropout on the embedding output and on each attention / MLP output (train mode only)."""
    import torch.nn.functional as F

    if p <= 0:
        return []

    def hook(module, inputs, output):
        if module.training and hasattr(output, "dim"):
            return F.dropout(output, p=p, training=True)
        return None

    handles = [model.model.embed_tokens.register_forward_hook(hook)]
    for layer in model.model.layers:
        handles.append(layer.self_attn.o_proj.register_forward_hook(hook))
        handles.append(layer.mlp.register_forward_hook(hook))
    return handles


def load_fp32(out_dir, device):
    import torch
    from transformers import AutoModelForCausalLM
    try:
        m = AutoModelForCausalLM.from_pretrained(out_dir, dtype=torch.float32, attn_implementation="eager")
    except TypeError:
        m = AutoModelForCausalLM.from_pretrained(out_dir, torch_dtype=torch.float32, attn_implementation="eager")
    dts = {p.dtype for p in m.parameters()}
    if dts != {torch.float32}:
        raise RuntimeError(f"reloaded parameter dtypes {dts}, expected float32")
    return m.to(device).eval()


def windows_loss(model, windows, device, batch, autocast_bf16=False):
    """Mean next-token CE (float64 accumulation of float32 per-token losses) over windows [n, L]."""
    import torch
    import torch.nn.functional as F

    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, windows.shape[0], batch):
            x = windows[i:i + batch].to(device)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast_bf16):
                logits = model(input_ids=x, use_cache=False).logits
            logits = logits.float()
            ce = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1),
                                 reduction="none")
            total += ce.double().sum().item()
            count += ce.numel()
    return total / count


def score_tasks(model, tok, items, device, batch=32):
    """Per item: list of summed continuation log-likelihoods, continuation token counts and byte counts."""
    import torch

    seqs, meta, mismatches = [], [], 0
    for ii, it in enumerate(items):
        ctx = tok.encode(it["context"], add_special_tokens=True).ids
        for ci, choice in enumerate(it["choices"]):
            cont_str = " " + choice
            full = tok.encode(it["context"] + cont_str, add_special_tokens=True).ids
            if full[:len(ctx)] != ctx:
                mismatches += 1
            n_ctx = len(ctx) if full[:len(ctx)] == ctx else max(1, len(ctx) - 1)
            if len(full) > model.config.max_position_embeddings:
                raise RuntimeError(f"item {it['id']}: {len(full)} tokens > max positions")
            seqs.append(full)
            meta.append((ii, ci, n_ctx, len(cont_str.encode("utf-8"))))
    scores = [[0.0] * len(it["choices"]) for it in items]
    ntok = [[0] * len(it["choices"]) for it in items]
    order = sorted(range(len(seqs)), key=lambda k: len(seqs[k]))
    with torch.no_grad():
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            L = max(len(seqs[k]) for k in idx)
            x = torch.full((len(idx), L), 2, dtype=torch.long)  # right padding with PAD: causal, harmless
            for r, k in enumerate(idx):
                x[r, :len(seqs[k])] = torch.tensor(seqs[k])
            logp = torch.log_softmax(model(input_ids=x.to(device), use_cache=False).logits.float(), dim=-1).cpu()
            for r, k in enumerate(idx):
                ii, ci, n_ctx, _ = meta[k]
                ids = seqs[k]
                tgt = torch.tensor(ids[n_ctx:])
                pos = torch.arange(n_ctx - 1, len(ids) - 1)
                scores[ii][ci] = float(logp[r, pos, tgt].double().sum())
                ntok[ii][ci] = len(ids) - n_ctx
    nbytes = [[len((" " + c).encode("utf-8")) for c in it["choices"]] for it in items]
    acc = acc_norm = 0
    for ii, it in enumerate(items):
        s = scores[ii]
        pred = max(range(len(s)), key=lambda k: (s[k], -k))
        sn = [s[k] / nbytes[ii][k] for k in range(len(s))]
        pred_n = max(range(len(sn)), key=lambda k: (sn[k], -k))
        acc += pred == it["label"]
        acc_norm += pred_n == it["label"]
    n = len(items)
    return {"acc": acc / n, "acc_norm": acc_norm / n, "items": n, "prefix_mismatches": mismatches}, scores, ntok


# ------------------------------------------------------------------------------------------------------
# main
# ------------------------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--text-dir", default=demo_text.TEXT_DIR)
    ap.add_argument("--tasks", default=os.path.join(demo_text.REPO, "resources", "demo", "next_verse.jsonl"))
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--intermediate", type=int, default=1024)
    ap.add_argument("--layers", type=int, default=10)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--max-positions", type=int, default=1024)
    ap.add_argument("--rope-theta", type=float, default=10000.0)
    ap.add_argument("--tie", action="store_true", help="tie input and output embeddings (default: untied)")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--min-lr-ratio", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--train-budget-s", type=float, default=300.0,
                    help="the step count is cut (and the cosine schedule re-fitted) if the measured speed "
                         "says the training loop would take longer than this")
    ap.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    args = ap.parse_args()

    t_start = time.time()
    import numpy  # noqa: F401  (transformers needs it; fail early and clearly)
    import torch
    import torch.nn.functional as F
    import tokenizers
    import transformers
    from transformers import AutoModelForCausalLM

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    log(f"torch {torch.__version__}, transformers {transformers.__version__}, tokenizers {tokenizers.__version__}, "
        f"python {sys.version.split()[0]}, device {device}"
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))
    torch.set_float32_matmul_precision("highest")  # no TF32 in the float32 measurements
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)

    # ---- data -------------------------------------------------------------------------------------
    split = demo_text.build_split(args.text_dir)
    heldout_text = split["heldout_text"]
    with open(os.path.join(args.out, "heldout.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write(heldout_text)
    committed = os.path.join(demo_text.REPO, "resources", "demo", "heldout.txt")
    heldout_matches_committed = None
    if os.path.exists(committed):
        with open(committed, encoding="utf-8") as f:
            heldout_matches_committed = f.read() == heldout_text
        if not heldout_matches_committed:
            log("WARNING: resources/demo/heldout.txt differs from the split rebuilt here")
    with open(args.tasks, encoding="utf-8") as f:
        items = [json.loads(line) for line in f if line.strip()]
    if os.path.abspath(os.path.dirname(args.tasks)) != os.path.abspath(args.out):
        shutil.copyfile(args.tasks, os.path.join(args.out, os.path.basename(args.tasks)))
    log(f"text: {len(split['train_docs'])} train docs ({len(split['train_text'])} chars), "
        f"{len(split['heldout_docs'])} held-out chapters ({len(heldout_text)} chars), {len(items)} task items")

    # ---- tokenizer --------------------------------------------------------------------------------
    t0 = time.time()
    tok = train_tokenizer(split["train_docs"], args.vocab, args.out, args.max_positions)
    V = tok.get_vocab_size()
    t_tok = time.time() - t0
    log(f"tokenizer: vocab {V}, trained in {t_tok:.1f}s")
    enc = tok.encode_batch([d + "\n\n" for d in split["train_docs"]], add_special_tokens=False)
    train_ids = []
    for e in enc:
        train_ids.append(0)  # BOS starts every training document
        train_ids.extend(e.ids)
    held_ids = tok.encode(heldout_text, add_special_tokens=False).ids
    n_train_text_tokens = len(train_ids) - len(enc)
    log(f"tokens: train {len(train_ids)} (incl. {len(enc)} BOS), held-out {len(held_ids)}, "
        f"{len(split['train_text']) / max(1, n_train_text_tokens):.2f} chars/token")

    # unigram baseline: training-set frequencies (BOS markers excluded), add-one smoothing over the vocab
    counts = torch.bincount(torch.tensor([t for t in train_ids if t != 0]), minlength=V).double()
    logp_uni = torch.log((counts + 1.0) / (counts.sum() + V))
    held_t = torch.tensor(held_ids)
    unigram_ppl_all = math.exp(-logp_uni[held_t].mean().item())

    n_win = min(REF_WINDOWS, len(held_ids) // REF_WINDOW)
    ref_windows = held_t[:n_win * REF_WINDOW].view(n_win, REF_WINDOW)
    unigram_ppl_ref = math.exp(-logp_uni[ref_windows[:, 1:]].mean().item())
    all_windows = held_t[:(len(held_ids) // args.seq) * args.seq].view(-1, args.seq)
    log(f"unigram baseline ppl: {unigram_ppl_all:.2f} (all held-out tokens), {unigram_ppl_ref:.2f} "
        f"(reference windows); {all_windows.shape[0]} validation windows of {args.seq}")

    # ---- model ------------------------------------------------------------------------------------
    cfg = make_config(args, V)
    torch.manual_seed(args.seed)
    model = AutoModelForCausalLM.from_config(cfg, attn_implementation="sdpa" if device.type == "cuda" else "eager")
    model.to(device).train()
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params} parameters ({n_params / 1e6:.2f} M), {args.layers} layers, hidden {args.hidden}, "
        f"heads {args.heads}/{args.kv_heads}, intermediate {args.intermediate}, tie {args.tie}")
    hooks = add_dropout_hooks(model, args.dropout)

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    try:
        opt = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.95), eps=1e-8, fused=device.type == "cuda")
    except (TypeError, RuntimeError):
        opt = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.95), eps=1e-8)

    data = torch.tensor(train_ids, dtype=torch.long, device=device)
    gen = torch.Generator().manual_seed(args.seed)
    offs = torch.arange(args.seq + 1, device=device)
    use_amp = device.type == "cuda"
    total_steps = args.steps

    def lr_at(step):  # step is 0-based
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        prog = min(1.0, (step - args.warmup) / max(1, total_steps - args.warmup))
        return args.lr * (args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * prog)))

    curve, best = [], (float("inf"), -1, None)
    run_loss, run_n = 0.0, 0
    t_train0 = time.time()
    step = 0
    while step < total_steps:
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        starts = torch.randint(0, data.numel() - args.seq - 1, (args.batch,), generator=gen).to(device)
        chunk = data[starts[:, None] + offs]
        x, y = chunk[:, :-1], chunk[:, 1:]
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
            logits = model(input_ids=x, use_cache=False).logits
        loss = F.cross_entropy(logits.float().reshape(-1, V), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if (step < 10 or step % 10 == 0) and not math.isfinite(loss.item()):
            raise RuntimeError(f"loss is not finite at step {step}")
        run_loss += loss.detach()
        run_n += 1
        if step == 50 and device.type == "cuda":
            torch.cuda.synchronize()
            per_step = (time.time() - t_train0) / 50
            fit = int(args.train_budget_s / per_step)
            log(f"speed: {per_step * 1000:.1f} ms/step -> {total_steps} steps take ~{per_step * total_steps:.0f}s")
            if fit < total_steps:
                total_steps = max(step + 1, fit)
                log(f"WARNING: cutting the run to {total_steps} steps to stay within {args.train_budget_s:.0f}s")
        if step % args.eval_every == 0 or step == total_steps:
            model.eval()
            val = windows_loss(model, all_windows, device, 64, autocast_bf16=use_amp)
            model.train()
            tr = (run_loss / max(1, run_n)).item()
            run_loss, run_n = 0.0, 0
            curve.append((step, tr, val))
            if val < best[0]:
                best = (val, step, {k: v.detach().clone() for k, v in model.state_dict().items()})
            log(f"step {step}/{total_steps} lr {lr_at(step - 1):.2e} train {tr:.4f} val {val:.4f} "
                f"(ppl {math.exp(val):.2f}) best@{best[1]} {time.time() - t_train0:.0f}s")
    if device.type == "cuda":
        torch.cuda.synchronize()
    t_train = time.time() - t_train0
    with open(os.path.join(args.out, "train_curve.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["step", "train_loss", "val_loss"])
        for s, tr, va in curve:
            w.writerow([s, f"{tr:.6f}", f"{va:.6f}"])

    # ---- save the best checkpoint in bf16 ---------------------------------------------------------
    for h in hooks:
        h.remove()
    model.load_state_dict(best[2])
    model.eval()
    log(f"best validation loss {best[0]:.4f} at step {best[1]}; saving bf16 checkpoint")
    model = model.to(torch.bfloat16)
    try:
        model.save_pretrained(args.out, safe_serialization=True)
    except TypeError:
        model.save_pretrained(args.out)
    for extra in ("generation_config.json",):
        p = os.path.join(args.out, extra)
        if os.path.exists(p):
            os.remove(p)
    st = os.path.join(args.out, "model.safetensors")
    if not os.path.exists(st):
        raise RuntimeError(f"{st} was not written (sharded? files: {sorted(os.listdir(args.out))})")
    del model, opt, data
    if device.type == "cuda":
        torch.cuda.empty_cache()

    # ---- reference: reload in float32 on the CPU -------------------------------------------------
    t0 = time.time()
    ref_model = load_fp32(args.out, torch.device("cpu"))
    ref_loss = windows_loss(ref_model, ref_windows, torch.device("cpu"), 8)
    # the same in float32 arithmetic end to end (mean of float32 per-token losses, summed in float32)
    with torch.no_grad():
        lg = torch.cat([ref_model(input_ids=ref_windows[i:i + 8], use_cache=False).logits.float()
                        for i in range(0, n_win, 8)])
        ref_loss_f32 = F.cross_entropy(lg[:, :-1].reshape(-1, V), ref_windows[:, 1:].reshape(-1)).item()
    del lg
    log(f"reference (fp32 reload, CPU, {n_win}x{REF_WINDOW}): loss {ref_loss:.6f} ppl {math.exp(ref_loss):.4f} "
        f"({time.time() - t0:.1f}s)")

    # validation perplexity of the saved checkpoint over ALL held-out windows, float32
    eval_dev = device
    ref_model = ref_model.to(eval_dev)
    val_loss_saved = windows_loss(ref_model, all_windows, eval_dev, 32)
    log(f"saved checkpoint, fp32, all {all_windows.shape[0]} held-out windows: loss {val_loss_saved:.4f} "
        f"ppl {math.exp(val_loss_saved):.2f} (unigram {unigram_ppl_all:.2f})")

    # ---- task ---------------------------------------------------------------------------------------
    t0 = time.time()
    task, scores, ntok = score_tasks(ref_model, tok, items, eval_dev)
    log(f"next_verse: acc {task['acc']:.4f} acc_norm {task['acc_norm']:.4f} over {task['items']} items "
        f"(chance 0.25; prefix mismatches {task['prefix_mismatches']}; {time.time() - t0:.1f}s)")
    with open(os.path.join(args.out, "next_verse_reference.jsonl"), "w", newline="\n") as f:
        for it, s, n in zip(items, scores, ntok):
            f.write(json.dumps({"id": it["id"], "loglik": [round(v, 6) for v in s], "cont_tokens": n,
                                "label": it["label"]}) + "\n")

    hf_tok = check_hf_tokenizer(args.out, tok, heldout_text[:2000], items[0]["context"])
    log(f"transformers tokenizer check: {hf_tok}")

    first16 = ref_windows[0, :16].tolist()
    manifest = {
        "model": "LlamaForCausalLM", "seed": args.seed,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__, "python": sys.version.split()[0]},
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "shape": {"vocab_size": V, "hidden_size": args.hidden, "intermediate_size": args.intermediate,
                  "num_hidden_layers": args.layers, "num_attention_heads": args.heads,
                  "num_key_value_heads": args.kv_heads, "head_dim": args.hidden // args.heads,
                  "max_position_embeddings": args.max_positions, "rope_theta": args.rope_theta,
                  "tie_word_embeddings": args.tie, "stored_dtype": "bfloat16"},
        "parameters": n_params,
        "training": {"steps_requested": args.steps, "steps": total_steps, "best_step": best[1],
                     "batch": args.batch, "seq": args.seq, "tokens_seen": total_steps * args.batch * args.seq,
                     "epochs": total_steps * args.batch * args.seq / len(train_ids),
                     "optimizer": "AdamW(betas=(0.9,0.95), eps=1e-8), decay on >=2-D weights only",
                     "lr": args.lr, "min_lr_ratio": args.min_lr_ratio, "warmup": args.warmup,
                     "schedule": "linear warmup then cosine to lr*min_lr_ratio", "weight_decay": args.weight_decay,
                     "dropout": args.dropout, "grad_clip": 1.0, "precision": "bf16 autocast, fp32 weights",
                     "eval_every": args.eval_every,
                     "checkpoint": "the weights with the lowest validation loss among the evaluations",
                     "training_loop_s": round(t_train, 1), "tokenizer_training_s": round(t_tok, 1),
                     "total_s": None},
        "data": {"sources": "bible-kjv-text 4.38 (KJV) + dict-devil 1.0-13.1 (The Devil's Dictionary)",
                 "split": f"KJV chapter k (0-based, canonical order) held out when k % {demo_text.HOLDOUT_MOD} == "
                          f"{demo_text.HOLDOUT_REM}; everything else trains",
                 "input_sha256": dict(demo_text.EXPECTED_SHA256),
                 "train_chars": len(split["train_text"]), "train_tokens": n_train_text_tokens,
                 "train_docs": len(split["train_docs"]), "heldout_chars": len(heldout_text),
                 "heldout_tokens": len(held_ids), "heldout_chapters": len(split["heldout_docs"]),
                 "heldout_sha256": sha256_bytes(heldout_text.encode("utf-8")),
                 "heldout_matches_committed": heldout_matches_committed,
                 "training_stream": "each training document + '\\n\\n' encoded without special tokens, "
                                    "prefixed by BOS (id 0), concatenated; random 257-token windows"},
        "tokenizer": {"type": "byte-level BPE (HF tokenizers)", "split_regex": SPLIT_PATTERN,
                      "special_tokens": {BOS: 0, EOS: 1, PAD: 2},
                      "post_processor": "TemplateProcessing: BOS $A", "transformers_check": hf_tok},
        "unigram_baseline": {"ppl_heldout_all": unigram_ppl_all, "ppl_reference_windows": unigram_ppl_ref,
                             "recipe": "p(t) = (count_train(t) + 1) / (N_train + vocab_size); counts over the "
                                       "training text tokens (BOS markers excluded); ppl = exp(-mean log p) over "
                                       "all held-out tokens (ppl_heldout_all) or over the predicted positions of "
                                       "the reference windows (ppl_reference_windows)"},
        "validation": {"best_val_loss_during_training_bf16": best[0], "best_val_ppl_during_training_bf16": math.exp(best[0]),
                       "val_loss": val_loss_saved, "val_ppl": math.exp(val_loss_saved),
                       "recipe": f"saved checkpoint reloaded in float32; all {all_windows.shape[0]} non-overlapping "
                                 f"{args.seq}-token windows of heldout.txt (add_special_tokens=False), "
                                 f"{args.seq - 1} predictions each"},
        "reference": {"loss": ref_loss, "ppl": math.exp(ref_loss), "loss_float32_arith": ref_loss_f32,
                      "windows": n_win, "window": REF_WINDOW, "predictions": n_win * (REF_WINDOW - 1),
                      "first_window_first16_ids": first16,
                      "first_window_first16_text": tok.decode(first16, skip_special_tokens=False),
                      "device": "cpu", "dtype": "float32", "attn_implementation": "eager",
                      "recipe": REFERENCE_RECIPE},
        "task_next_verse": dict(task, file=os.path.basename(args.tasks), chance=0.25, recipe=TASK_RECIPE,
                                per_item_scores="next_verse_reference.jsonl"),
        "curve_summary": {"first": curve[0] if curve else None, "best": [best[1], best[0]],
                          "last": curve[-1] if curve else None},
    }
    manifest["training"]["total_s"] = round(time.time() - t_start, 1)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    log(f"done in {manifest['training']['total_s']:.0f}s: val ppl {math.exp(val_loss_saved):.2f} vs unigram "
        f"{unigram_ppl_all:.2f}; reference ppl {math.exp(ref_loss):.4f}; acc {task['acc']:.3f} "
        f"acc_norm {task['acc_norm']:.3f}; files: {sorted(os.listdir(args.out))}")
    if not math.exp(val_loss_saved) < unigram_ppl_all:
        log("WARNING: validation perplexity is not below the unigram baseline")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit:
        raise
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        sys.stdout.flush()
        sys.exit(1)
