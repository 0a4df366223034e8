#!/usr/bin/env python3
"""The Hugging Face `tokenizers` (Rust) side of the tokenizer benchmark, in Python, single-threaded:
the same N MB of text in the same ~4 KB chunks as bench/bench_tokenizer.cpp, encoded one by one.
    RAYON_NUM_THREADS=1 python3 bench/bench_tokenizer_hf.py MODEL_DIR TEXT_FILE [MB]"""
import os
import sys
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
from tokenizers import Tokenizer  # noqa: E402

model_dir, text_file = sys.argv[1], sys.argv[2]
mb = float(sys.argv[3]) if len(sys.argv) > 3 else 8.0
source = open(text_file, "rb").read()
text = b""
while len(text) < mb * 1e6:
    text += source
text = text[: int(mb * 1e6)]
chunks, pos = [], 0
while pos < len(text):
    end = text.find(b"\n", min(pos + 4096, len(text)))
    end = len(text) if end < 0 else end + 1
    chunks.append(text[pos:end].decode("utf-8", errors="replace"))
    pos = end
tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
t = time.time()
ids = [tok.encode(c, add_special_tokens=False).ids for c in chunks]
s = time.time() - t
n = sum(len(i) for i in ids)
t = time.time()
for i in ids:
    tok.decode(i, skip_special_tokens=False)
d = time.time() - t
print(f"hf tokenizers: encode {len(text) / 1e6:.1f} MB in {s:.2f} s: {n} tokens, {n / s / 1e6:.2f} M tokens/s; "
      f"decode {n / d / 1e6:.2f} M tokens/s")
