#!/usr/bin/env python3
"""Do other tools compute what LayerLab computes on its exports?

For every tiny reference checkpoint in tests/data/reference and several removal sets, formats and
adapter sets, this script
  1. writes the adapters (bias stand-ins, low-rank stand-ins, LoRA) as a LayerLab adapter file,
  2. runs `layerlab-cli export` (from the build folder given),
  3. loads the export with transformers' AutoModelForCausalLM: as it is for hf and zeroed, with
     trust_remote_code=True for nemotron-nas (the configuration_decilm.py / modeling_decilm.py the
     export carries; nothing is copied in),
  4. compares its logits on fixed token ids with LayerLab's logits of the pruned model
     (`layerlab-cli eval --remove SPEC --adapters FILE --save-logits`, on the source checkpoint),
     and with LayerLab's logits of the export itself (round trip); for nemotron-nas also greedy
     generate() with the KV cache against a pass without it, and save_pretrained + reload.
The fold-linear cases fit the adapters with `layerlab-cli recover --method fold-linear` and load
the hf export in plain transformers (no remote code).
Besides the tiny reference checkpoints, the variant "llama_legacy_rope" is llama_tied_bias_headdim
with a legacy rope_scaling ({"type": "linear"}, no "rope_type"); "demo" (not in the default list)
is the trained demo model in resources/demo.
It prints one JSON line per case and a summary line; the exit code is 0 when every case passed.
Cases that the format cannot hold must be refused by the CLI (they count as passed when refused).
--table FILE writes the cases as a Markdown table with the runtimes each export's layerlab.json
says load it.

usage (no internet needed; Python with torch, transformers 5.x and safetensors):
    python3 tools/check_export.py BUILD_DIR [--work DIR] [--variants llama_gqa,qwen2_tied]
                                            [--device cpu|cuda] [--tolerance 1e-4] [--keep]
                                            [--table FILE.md]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_config(folder):
    with open(os.path.join(folder, "config.json")) as f:
        return json.load(f)


def architecture(cfg):
    return (cfg.get("architectures") or ["?"])[0]


def write_adapters(path, cfg, kind, seed):
    """LayerLab's adapter file: attn.L.bias/down/up, block.L.bias, lora.L.q.down/up (float32)."""
    from safetensors.torch import save_file

    g = torch.Generator().manual_seed(seed)
    H = cfg["hidden_size"]
    heads = cfg["num_attention_heads"]
    head_dim = cfg.get("head_dim") or H // heads
    I = cfg["intermediate_size"]
    t = {}

    def rnd(*shape, scale=0.05):
        return (torch.randn(*shape, generator=g) * scale).contiguous()

    if kind == "bias":  # bias stand-ins for the removed block 1 (folded into a bias)
        t["block.1.bias"] = rnd(H, scale=0.3)
    elif kind == "bias_first":  # nothing precedes block 0: folded into the embedding rows
        t["block.0.bias"] = rnd(H, scale=0.3)
    elif kind == "linear":  # low-rank stand-ins without bias -> replace_with_linear; LoRA elsewhere
        t["attn.1.bias"] = torch.zeros(H)
        t["attn.1.down"] = rnd(H, 4, scale=0.2)
        t["attn.1.up"] = rnd(4, H, scale=0.2)
        t["ffn.2.bias"] = torch.zeros(H)
        t["ffn.2.down"] = rnd(H, 3, scale=0.2)
        t["ffn.2.up"] = rnd(3, H, scale=0.2)
        t["lora.0.q.down"] = rnd(H, 2)
        t["lora.0.q.up"] = rnd(2, heads * head_dim)
        t["lora.3.down.down"] = rnd(I, 2)
        t["lora.3.down.up"] = rnd(2, H)
    elif kind == "lora":
        t["lora.0.o.down"] = rnd(heads * head_dim, 2)
        t["lora.0.o.up"] = rnd(2, H)
        t["lora.2.gate.down"] = rnd(H, 3)
        t["lora.2.gate.up"] = rnd(3, I)
    else:
        raise ValueError(kind)
    save_file(t, path, metadata={"format": "layerlab-adapters", "version": "2"})


# (name, removal spec, format, adapters kind or None, export dtype)
CASES = [
    ("hf_block", "block:1", "hf", None, "keep"),
    ("hf_two_blocks_f32", "block:1-2", "hf", None, "f32"),
    ("hf_lora", "block:1", "hf", "lora", "f32"),
    ("hf_bias", "block:1", "hf", "bias", "f32"),
    ("hf_bias_first", "block:0", "hf", "bias_first", "f32"),
    ("zeroed", "attn:1,ffn:2", "zeroed", None, "keep"),
    ("zeroed_bias", "block:1", "zeroed", "bias", "f32"),
    ("nas_no_op", "attn:1,ffn:2,block:3", "nemotron-nas", None, "keep"),
    ("nas_linear", "attn:1,ffn:2", "nemotron-nas", "linear", "f32"),
    ("nas_bias", "ffn:0,block:1", "nemotron-nas", "bias", "f32"),
    ("nas_attn0", "attn:0,ffn:3", "nemotron-nas", None, "f32"),
    ("hf_fold_linear", "block:1-2", "hf", "fold-linear", "f32"),
]

LEGACY = "llama_legacy_rope"  # derived from llama_tied_bias_headdim


def expected_refusal(case, cfg):
    """Why the CLI must refuse this case, or None when it must export it."""
    name, spec, fmt, adapters, _ = case
    arch = architecture(cfg)
    window = cfg.get("sliding_window")
    windowed = arch == "MistralForCausalLM" and window and window < cfg.get("max_position_embeddings", 1 << 30)
    # A bias folded into o_proj / down_proj needs Llama's bias flags (DeciLM has them too).
    del windowed
    if adapters in ("bias",) and fmt != "nemotron-nas" and arch != "LlamaForCausalLM":
        return "no such bias"
    return None


def run(cmd, check=True):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def beyond_context(folder, length=20):
    """Past max_position_embeddings (llama_dynamic_f16: 16) only with --beyond-context, which is where
    dynamic RoPE scaling starts to act."""
    return ["--beyond-context"] if read_config(folder).get("max_position_embeddings", 1 << 30) < length else []


def layerlab_logits(cli, model, ids_file, out, spec=None, adapters=None):
    cmd = [cli, "eval", "--model", model, "--data", ids_file, "--seq-len", "0", "--quiet",
           "--save-logits", out] + beyond_context(model)
    if spec:
        cmd += ["--remove", spec]
    if adapters:
        cmd += ["--adapters", adapters]
    run(cmd)
    from safetensors.torch import load_file
    return load_file(out)["logits"].to(torch.float64)


def load_transformers(folder, device):
    from transformers import AutoModelForCausalLM
    remote = read_config(folder).get("model_type") == "nemotron-nas"
    kwargs = {"trust_remote_code": True} if remote else {"attn_implementation": "eager"}
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, **kwargs)
    return model.to(device).eval()


def transformers_logits(model, ids, device):
    with torch.no_grad():
        return model(ids.to(device), use_cache=False).logits.to("cpu", torch.float64)


def generation_gap(model, ids, device, new_tokens=6):
    """Greedy generate() with the KV cache: the largest difference between the logits of its steps and
    those of one forward pass over the generated sequence without a cache."""
    prompt = ids[:, :8].to(device)
    with torch.no_grad():
        out = model.generate(prompt, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                             output_logits=True, return_dict_in_generate=True, pad_token_id=0)
        full = model(out.sequences, use_cache=False).logits
    steps = torch.stack(out.logits, dim=1)  # [B, new_tokens, V]
    start = prompt.shape[1] - 1
    return float((steps - full[:, start:start + new_tokens]).abs().max())


def fit_fold_linear(cli, src, cfg, spec, work, variant):
    """recover --method fold-linear on 16 random windows; returns the adapter file."""
    g = torch.Generator().manual_seed(99)
    calib = os.path.join(work, f"{variant}_calibration.jsonl")
    with open(calib, "w") as f:
        for row in torch.randint(0, cfg["vocab_size"], (16, 20), generator=g).tolist():
            f.write(json.dumps({"input_ids": row}) + "\n")
    out = os.path.join(work, f"{variant}_fold_linear.safetensors")
    run([cli, "recover", "--model", src, "--data", calib, "--seq-len", "0", "--remove", spec, "--method",
         "fold-linear", "--no-guard", "--quiet", "--save-adapters", out] + beyond_context(src))
    return out


def legacy_rope_variant(refs, work):
    """llama_tied_bias_headdim with rope_scaling {"type": "linear", "factor": 2.0}."""
    dst = os.path.join(work, LEGACY)
    shutil.copytree(os.path.join(refs, "llama_tied_bias_headdim"), dst, dirs_exist_ok=True)
    cfg = read_config(dst)
    cfg["rope_scaling"] = {"type": "linear", "factor": cfg["rope_scaling"]["factor"]}
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    return dst


def write_table(path, records):
    runtimes = ["transformers", "vLLM", "mlx-lm", "llama.cpp"]
    lines = ["| variant | case | remove | format | adapters | result | max abs diff (transformers) | "
             + " | ".join(runtimes) + " |",
             "|---|---|---|---|---|---|---|" + "---|" * len(runtimes)]
    for r in records:
        said = {x["runtime"]: x for x in r.get("runtimes", [])}
        cells = []
        for rt in runtimes:
            x = said.get(rt)
            cells.append("" if x is None else x["loads"] + ("" if x["loads"] == "yes" else f" ({x['detail']})"))
        result = r["status"] + ("" if r["pass"] else " FAILED")
        diff = r.get("max_abs_diff_transformers")
        lines.append(f"| {r['variant']} | {r['case']} | `{r['remove']}` | {r['format']} | {r['adapters'] or ''} | "
                     f"{result} | {'' if diff is None else f'{diff:.2e}'} | " + " | ".join(cells) + " |")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build", help="build folder holding app/layerlab-cli")
    ap.add_argument("--work", help="folder for exports (default: a temporary folder)")
    ap.add_argument("--variants", help="comma-separated reference variants (default: all)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--keep", action="store_true", help="keep the exports")
    ap.add_argument("--table", help="write the cases and runtimes as a Markdown table")
    args = ap.parse_args()

    cli = os.path.join(os.path.abspath(args.build), "app", "layerlab-cli")
    if not os.access(cli, os.X_OK):
        sys.exit(f"no layerlab-cli at {cli}")
    refs = os.path.join(ROOT, "tests", "data", "reference")
    variants = (args.variants.split(",") if args.variants
                else json.load(open(os.path.join(refs, "index.json")))["variants"] + [LEGACY])
    work = args.work or tempfile.mkdtemp(prefix="layerlab-check-export-")
    os.makedirs(work, exist_ok=True)

    failures = 0
    total = 0
    records = []
    for variant in variants:
        if variant == LEGACY:
            src = legacy_rope_variant(refs, work)
        elif variant == "demo":  # the trained demo model (resources/demo)
            src = os.path.join(ROOT, "resources", "demo")
        else:
            src = os.path.join(refs, variant)
        cfg = read_config(src)
        g = torch.Generator().manual_seed(1234)
        ids = torch.randint(0, cfg["vocab_size"], (2, 20), generator=g)
        ids_file = os.path.join(work, f"{variant}_ids.jsonl")
        with open(ids_file, "w") as f:
            for row in ids.tolist():
                f.write(json.dumps({"input_ids": row}) + "\n")
        for case in CASES:
            name, spec, fmt, kind, dtype = case
            total += 1
            rec = {"variant": variant, "case": name, "format": fmt, "remove": spec, "adapters": kind,
                   "dtype": dtype}
            out = os.path.join(work, f"{variant}_{name}")
            try:
                adapters = None
                if kind == "fold-linear":
                    adapters = fit_fold_linear(cli, src, cfg, spec, work, variant)
                elif kind:
                    adapters = os.path.join(work, f"{variant}_{name}_adapters.safetensors")
                    write_adapters(adapters, cfg, kind, seed=len(name) * 7 + len(variant))
                cmd = [cli, "export", "--model", src, "--remove", spec, "--format", fmt, "--out", out,
                       "--dtype", dtype, "--shard-size", "100KB", "--force", "--quiet"]
                if adapters:
                    cmd += ["--adapters", adapters]
                p = run(cmd, check=False)
                refusal = expected_refusal(case, cfg)
                if p.returncode != 0:
                    rec["status"] = "refused"
                    rec["message"] = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
                    rec["pass"] = refusal is not None and refusal in p.stderr
                else:
                    reference = layerlab_logits(cli, src, ids_file, out + "_ref.safetensors", spec, adapters)
                    roundtrip = layerlab_logits(cli, out, ids_file, out + "_rt.safetensors")
                    model = load_transformers(out, args.device)
                    theirs = transformers_logits(model, ids, args.device)
                    rec["status"] = "exported"
                    remote = read_config(out).get("model_type") == "nemotron-nas"
                    rec["loader"] = "transformers.AutoModelForCausalLM" + (
                        " (trust_remote_code=True, the export's modeling_decilm.py)" if remote else "")
                    with open(os.path.join(out, "layerlab.json")) as f:
                        rec["runtimes"] = json.load(f)["runtimes"]
                    rec["max_abs_diff_transformers"] = float((theirs - reference).abs().max())
                    rec["max_abs_diff_layerlab_roundtrip"] = float((roundtrip - reference).abs().max())
                    rec["tolerance"] = args.tolerance
                    rec["pass"] = (refusal is None and rec["max_abs_diff_transformers"] <= args.tolerance
                                   and rec["max_abs_diff_layerlab_roundtrip"] <= args.tolerance)
                    if remote:
                        rec["max_abs_diff_generate_cached"] = generation_gap(model, ids, args.device)
                        # save_pretrained and load again: the config must keep what it read.
                        saved = out + "_saved"
                        model.save_pretrained(saved)
                        again = transformers_logits(load_transformers(saved, args.device), ids, args.device)
                        rec["max_abs_diff_after_save_pretrained"] = float((again - theirs).abs().max())
                        shutil.rmtree(saved, ignore_errors=True)
                        rec["pass"] = (rec["pass"] and rec["max_abs_diff_generate_cached"] <= args.tolerance
                                       and rec["max_abs_diff_after_save_pretrained"] == 0.0)
                    if refusal:
                        rec["expected_refusal"] = refusal
            except Exception as e:  # one broken case must not hide the others
                rec["status"] = "error"
                rec["error"] = f"{type(e).__name__}: {e}"
                rec["traceback"] = traceback.format_exc(limit=3)
                rec["pass"] = False
            failures += 0 if rec["pass"] else 1
            records.append(rec)
            print(json.dumps(rec), flush=True)
            if not args.keep:
                shutil.rmtree(out, ignore_errors=True)
    print(json.dumps({"summary": True, "cases": total, "failed": failures, "work": work}), flush=True)
    if args.table:
        write_table(args.table, records)
    if not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
