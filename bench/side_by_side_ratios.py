#!/usr/bin/env python3
"""Markdown tables from bench/run_side_by_side.sh's JSON lines (LayerLab against transformers):
per part, each engine's speed (computation only), the ratio LayerLab / transformers (> 1: LayerLab
faster) and each process's peak GPU memory (MiB above idle, nvidia-smi); then the wall time of each
process and the checks that both computed the same thing. A later line for the same part and engine
replaces an earlier one.

  python3 bench/side_by_side_ratios.py /tmp/side_by_side.jsonl
"""
import json
import sys

parts = {}
for line in open(sys.argv[1]):
    if line.strip():
        r = json.loads(line)
        parts.setdefault(r["part"], {})[r["engine"].split("-")[0]] = r
order = ["eval_single_pass", "eval_warm_pass", "multiple_choice", "multiple_choice_warm", "cosine_importance",
         "drop_one_blocks", "decode_batch1", "decode_warm_batch1", "decode_batch16", "decode_warm_batch16"]
parts = dict(sorted(parts.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))


def speed(r):
    if r.get("blocks_per_s") is not None:
        return r["blocks_per_s"], "blocks/s"
    return r.get("tokens_per_s"), "tokens/s"


def cell(r):
    v, unit = speed(r) if r else (None, "")
    if v is None:
        return "n/a"
    text = f"{v:,.2f} {unit}" if v < 100 else f"{v:,.0f} {unit}"
    return text + (f" ({r['seconds']:.2f} s)" if r.get("seconds") is not None else "")


def number(r, key, fmt):
    return format(r[key], fmt) if r and r.get(key) is not None else "n/a"


print("| part | LayerLab | transformers | ratio | peak GPU MiB LayerLab | transformers |")
print("|---|---|---|---|---|---|")
for part, e in parts.items():
    ll, tf = e.get("layerlab"), e.get("transformers")
    a, b = (speed(r)[0] if r else None for r in (ll, tf))
    ratio = f"**{a / b:.2f}x**" if a and b else "n/a"
    print(f"| {part} | {cell(ll)} | {cell(tf)} | {ratio} | {number(ll, 'peak_gpu_mib', ',')} | "
          f"{number(tf, 'peak_gpu_mib', ',')} |")

print("\n| part | process wall s, LayerLab | transformers | check |")
print("|---|---|---|---|")
for part, e in parts.items():
    ll, tf = e.get("layerlab"), e.get("transformers")
    checks = [f"{k} {number(ll, k, '.6g')} / {number(tf, k, '.6g')}" for k in ("loss", "acc", "new_tokens")
              if (ll and k in ll) or (tf and k in tf)]
    if tf and "scores_max_abs_diff" in tf:
        checks.append(f"scores max abs diff {tf['scores_max_abs_diff']:.3g}")
    for k in ("first_token_s", "decode_tokens_per_s", "dynamic_decode_tokens_per_s"):
        if (ll and k in ll) or (tf and k in tf):
            checks.append(f"{k} {number(ll, k, '.4g')} / {number(tf, k, '.4g')}")
    # The allocators' own peaks (nvidia-smi's adds the CUDA context and the libraries' memory).
    la = (ll or {}).get("allocator_peak_mib") or {}
    if la or (tf and "max_memory_reserved_mib" in tf):
        fmt = lambda v: f"{v:,.0f}" if v is not None else "n/a"
        checks.append(f"allocator peak MiB allocated / reserved {fmt(la.get('allocated'))} / "
                      f"{fmt(la.get('reserved'))} against {fmt((tf or {}).get('max_memory_allocated_mib'))} / "
                      f"{fmt((tf or {}).get('max_memory_reserved_mib'))}")
    if ll and "steps" in ll:
        checks.append(f"steps {ll['steps']}")
    if ll and tf and "head" in ll and "head" in tf:
        checks.append("first tokens " + ("equal" if ll["head"] == tf["head"] else "differ"))
    print(f"| {part} | {number(ll, 'wall_s', '.1f')} | {number(tf, 'wall_s', '.1f')} | {'; '.join(checks)} |")
