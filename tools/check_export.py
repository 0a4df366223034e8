#!/usr/bin/env python3
"""Do other tools compute what LayerLab computes on its exports?

For every tiny reference checkpoint in tests/data/reference and several removal sets, formats and
adapter sets, this script
  1. writes the adapters (bias stand-ins, low-rank stand-ins, LoRA) as a LayerLab adapter file,
  2. runs `layerlab-cli export` (from the build folder given),
  3. loads the export with transformers' AutoModelForCausalLM (hf, zeroed) or with
     tools/nemotron_nas_loader.py (nemotron-nas: transformers ships no DeciLM class),
  4. compares its logits on fixed token ids with LayerLab's logits of the pruned model
     (`layerlab-cli eval --remove SPEC --adapters FILE --save-logits`, on the source checkpoint),
     and with LayerLab's logits of the export itself (round trip).
It prints one JSON line per case and a summary line; the exit code is 0 when every case passed.
Cases that the format cannot hold must be refused by the CLI (they count as passed when refused).

usage (no internet needed; Python with torch, transformers 5.x and safetensors):
    python3 tools/check_export.py BUILD_DIR [--work DIR] [--variants llama_gqa,qwen2_tied]
                                            [--device cpu|cuda] [--tolerance 1e-4] [--keep]
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
sys.path.insert(0, os.path.join(ROOT, "tools"))

from nemotron_nas_loader import load_nemotron_nas  # noqa: E402


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
]


def expected_refusal(case, cfg):
    """Why the CLI must refuse this case, or None when it must export it."""
    name, spec, fmt, adapters, _ = case
    arch = architecture(cfg)
    window = cfg.get("sliding_window")
    windowed = arch == "MistralForCausalLM" and window and window < cfg.get("max_position_embeddings", 1 << 30)
    if fmt == "nemotron-nas" and windowed:
        return "sliding-window"
    # A bias folded into o_proj / down_proj needs Llama's bias flags (DeciLM has them too).
    if adapters in ("bias",) and fmt != "nemotron-nas" and arch != "LlamaForCausalLM":
        return "no such bias"
    return None


def run(cmd, check=True):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def layerlab_logits(cli, model, ids_file, out, spec=None, adapters=None):
    cmd = [cli, "eval", "--model", model, "--data", ids_file, "--seq-len", "0", "--quiet",
           "--save-logits", out]
    if spec:
        cmd += ["--remove", spec]
    if adapters:
        cmd += ["--adapters", adapters]
    run(cmd)
    from safetensors.torch import load_file
    return load_file(out)["logits"].to(torch.float64)


def transformers_logits(folder, ids, device):
    cfg = read_config(folder)
    if cfg.get("model_type") == "nemotron-nas":
        model = load_nemotron_nas(folder, dtype=torch.float32, device=device)
    else:
        from transformers import AutoModelForCausalLM
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager")
        model = model.to(device).eval()
    with torch.no_grad():
        return model(ids.to(device), use_cache=False).logits.to("cpu", torch.float64)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build", help="build folder holding app/layerlab-cli")
    ap.add_argument("--work", help="folder for exports (default: a temporary folder)")
    ap.add_argument("--variants", help="comma-separated reference variants (default: all)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--keep", action="store_true", help="keep the exports")
    args = ap.parse_args()

    cli = os.path.join(os.path.abspath(args.build), "app", "layerlab-cli")
    if not os.access(cli, os.X_OK):
        sys.exit(f"no layerlab-cli at {cli}")
    refs = os.path.join(ROOT, "tests", "data", "reference")
    variants = (args.variants.split(",") if args.variants
                else json.load(open(os.path.join(refs, "index.json")))["variants"])
    work = args.work or tempfile.mkdtemp(prefix="layerlab-check-export-")
    os.makedirs(work, exist_ok=True)

    failures = 0
    total = 0
    for variant in variants:
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
                if kind:
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
                    theirs = transformers_logits(out, ids, args.device)
                    rec["status"] = "exported"
                    rec["loader"] = ("tools/nemotron_nas_loader.py" if read_config(out).get("model_type") ==
                                     "nemotron-nas" else "transformers.AutoModelForCausalLM")
                    rec["max_abs_diff_transformers"] = float((theirs - reference).abs().max())
                    rec["max_abs_diff_layerlab_roundtrip"] = float((roundtrip - reference).abs().max())
                    rec["tolerance"] = args.tolerance
                    rec["pass"] = (refusal is None and rec["max_abs_diff_transformers"] <= args.tolerance
                                   and rec["max_abs_diff_layerlab_roundtrip"] <= args.tolerance)
                    if refusal:
                        rec["expected_refusal"] = refusal
            except Exception as e:  # one broken case must not hide the others
                rec["status"] = "error"
                rec["error"] = f"{type(e).__name__}: {e}"
                rec["traceback"] = traceback.format_exc(limit=3)
                rec["pass"] = False
            failures += 0 if rec["pass"] else 1
            print(json.dumps(rec), flush=True)
            if not args.keep:
                shutil.rmtree(out, ignore_errors=True)
    print(json.dumps({"summary": True, "cases": total, "failed": failures, "work": work}), flush=True)
    if not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
