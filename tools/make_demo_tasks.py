#!/usr/bin/env python3
"""Builds the bundled demo evaluation data from the HELD-OUT text (plain Python 3, no torch needed).

    python3 tools/make_demo_tasks.py [--out resources/demo] [--seed 0] [--items 400]

Needs .carry/text/{kjv.tsv,devil.txt} (see tools/demo_text.py prepare). Writes:
  OUT/heldout.txt        the held-out chapters (identical to what tools/train_demo_model.py writes)
  OUT/next_verse.jsonl   multiple choice, one item a line:
        {"id": "Book C:V", "context": "...", "choices": [4 strings], "label": 0-based index}
      context = the (up to) 3 verses before the target verse, joined by single spaces, as they appear in
                the chapter text; when they start at verse 1 the chapter header line ("Book C\n") is
                prefixed, as in the training text.
      choices = the true next verse and 3 distractor verses drawn from OTHER held-out chapters, each picked
                at random among the held-out verses closest in length (characters) to the true verse:
                the true verse's length rank among the 4 choices is drawn uniformly, then that many
                distractors come from the 20 nearest not-longer verses and the rest from the 20 nearest
                not-shorter ones (so length does not give the answer away). Choice strings have no leading
                space; scorers join context + " " + choice, the way verses are joined in the text.
      Targets: 400 verses sampled without replacement (seeded) among held-out verses of 20..300
               characters that have a preceding verse in the same chapter; items sorted in text order.
"""
import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import demo_text  # noqa: E402

CONTEXT_VERSES = 3
MAX_CONTEXT_CHARS = 700
MIN_TARGET, MAX_TARGET = 20, 300
NEAREST = 40


def build_items(chapters, n_items, seed):
    rng = random.Random(seed)
    pool = []  # (chapter position, verse index, text) for all held-out verses usable as distractors
    for ci, ch in enumerate(chapters):
        for vi, t in enumerate(ch["verses"]):
            pool.append((ci, vi, t))
    eligible = [(ci, vi) for ci, ch in enumerate(chapters) for vi in range(1, len(ch["verses"]))
                if MIN_TARGET <= len(ch["verses"][vi]) <= MAX_TARGET]
    if len(eligible) < n_items:
        raise ValueError(f"only {len(eligible)} eligible targets for {n_items} items")
    picked = sorted(rng.sample(eligible, n_items))
    items = []
    for ci, vi in picked:
        ch = chapters[ci]
        target = ch["verses"][vi]
        start = max(0, vi - CONTEXT_VERSES)
        while vi - start > 1 and len(" ".join(ch["verses"][start:vi])) > MAX_CONTEXT_CHARS:
            start += 1
        context = " ".join(ch["verses"][start:vi])
        if start == 0:
            context = ch["header"] + "\n" + context
        # Length-balanced distractors: draw the rank r of the true verse by length among the 4 choices
        # uniformly, then take r distractors among the nearest not-longer verses and 3 - r among the
        # nearest not-shorter ones, so "longest" / "shortest" heuristics score 25 % in expectation.
        cands = [p for p in pool if p[0] != ci and p[2] != target and MIN_TARGET <= len(p[2])]
        n = len(target)
        shorter = sorted((p for p in cands if len(p[2]) <= n), key=lambda p: (n - len(p[2]), p[0], p[1]))
        longer = sorted((p for p in cands if len(p[2]) >= n), key=lambda p: (len(p[2]) - n, p[0], p[1]))
        r = rng.randrange(4)
        if len(shorter) < 3:
            r = 0
        elif len(longer) < 3:
            r = 3
        distractors = []
        for side, k in ((shorter[:NEAREST // 2], r), (longer[:NEAREST // 2], 3 - r)):
            got = 0
            for p in rng.sample(side, len(side)):
                if got == k:
                    break
                if p[2] not in distractors:
                    distractors.append(p[2])
                    got += 1
        if len(distractors) != 3:
            raise ValueError(f"could not find distractors for {ch['header']}:{vi + 1}")
        rng.shuffle(distractors)
        label = rng.randrange(4)
        choices = distractors[:label] + [target] + distractors[label:]
        items.append({"id": f"{ch['book']} {ch['chapter']}:{vi + 1}", "context": context,
                      "choices": choices, "label": label})
    return items


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(demo_text.REPO, "resources", "demo"))
    ap.add_argument("--text-dir", default=demo_text.TEXT_DIR)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--items", type=int, default=400)
    args = ap.parse_args()

    split = demo_text.build_split(args.text_dir)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "heldout.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write(split["heldout_text"])
    items = build_items(split["heldout_chapters"], args.items, args.seed)
    path = os.path.join(args.out, "next_verse.jsonl")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for it in items:
            f.write(json.dumps(it, ensure_ascii=False) + "\n")
    labels = [it["label"] for it in items]
    # sanity: how often would "pick the longest / shortest choice" win? (should be near 25 %)
    longest = sum(max(range(4), key=lambda k: len(it["choices"][k])) == it["label"] for it in items)
    shortest = sum(min(range(4), key=lambda k: len(it["choices"][k])) == it["label"] for it in items)
    print(f"heldout.txt: {len(split['heldout_text'])} chars from {len(split['heldout_docs'])} chapters", flush=True)
    print(f"{path}: {len(items)} items, label counts {[labels.count(k) for k in range(4)]}, "
          f"'longest choice' baseline {longest / len(items):.3f}, 'shortest' {shortest / len(items):.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
