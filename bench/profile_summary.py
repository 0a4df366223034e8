#!/usr/bin/env python3
"""Sums up a Chrome trace from LibTorch's profiler (bench_eval --profile): where the GPU's time went
by kernel, how long it sat idle and what the host was doing meanwhile.

usage: profile_summary.py TRACE.json [--top N]
"""
import argparse
import collections
import json


def kind(name):
    n = name.lower()
    if any(k in n for k in ("gemm", "nvjet", "cutlass", "xmma", "cublas")):
        return "matrix products"
    if any(k in n for k in ("flash", "fmha", "attention", "cudnn")):
        return "attention"
    if any(k in n for k in ("softmax", "nll", "cross_entropy", "log_softmax")):
        return "loss"
    if "reduce" in n:
        return "reductions"
    return "element-wise and copies"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args()
    events = [e for e in json.load(open(a.trace))["traceEvents"] if e.get("ph") == "X"]
    kernels = sorted((e for e in events if e.get("cat") in ("kernel", "gpu_memcpy", "gpu_memset")),
                     key=lambda e: e["ts"])
    runtime = [e for e in events if e.get("cat") == "cuda_runtime" or e.get("cat") == "cuda_driver"]
    ops = [e for e in events if e.get("cat") == "cpu_op"]
    start = min(e["ts"] for e in events)
    end = max(e["ts"] + e["dur"] for e in events)
    busy, last = 0.0, start
    gaps = []
    for k in kernels:
        s, f = k["ts"], k["ts"] + k["dur"]
        if s > last:
            gaps.append((s - last, last))
        busy += max(0.0, f - max(s, last))
        last = max(last, f)
    print(f"span {(end - start) / 1e3:.1f} ms, GPU busy {busy / 1e3:.1f} ms ({100 * busy / (end - start):.1f}%), "
          f"{len(kernels)} kernels")
    by_kind, by_name = collections.Counter(), collections.Counter()
    count = collections.Counter()
    for k in kernels:
        by_kind[kind(k["name"])] += k["dur"]
        by_name[k["name"][:110]] += k["dur"]
        count[k["name"][:110]] += 1
    print("\nGPU time by kind (ms):")
    for n, t in by_kind.most_common():
        print(f"  {t / 1e3:9.1f}  {n}")
    print(f"\ntop {a.top} kernels (ms, calls):")
    for n, t in by_name.most_common(a.top):
        print(f"  {t / 1e3:9.1f} {count[n]:6d}  {n}")
    rt, rc = collections.Counter(), collections.Counter()
    for e in runtime:
        rt[e["name"]] += e["dur"]
        rc[e["name"]] += 1
    print("\nhost calls into CUDA (ms, calls):")
    for n, t in rt.most_common(15):
        print(f"  {t / 1e3:9.1f} {rc[n]:6d}  {n}")
    print("\nlongest GPU idle gaps (ms at ms from the start) and the host's longest calls in them:")
    for g, at in sorted(gaps, reverse=True)[:12]:
        inside = sorted((e for e in runtime + ops if e["ts"] < at + g and e["ts"] + e["dur"] > at),
                        key=lambda e: -e["dur"])[:3]
        what = "; ".join(f"{e['name'][:40]} {e['dur'] / 1e3:.1f}" for e in inside)
        print(f"  {g / 1e3:8.2f} at {(at - start) / 1e3:8.1f}  {what}")


if __name__ == "__main__":
    main()
