#!/usr/bin/env node
// Encodes the tokenizer corpus with Hugging Face's tokenizers (the Rust implementation, npm
// tokenizers@0.23.2) and writes what LayerLab's C++ tokenizer must reproduce, one JSON line per
// corpus line, after a header line {"prefix": [...], "suffix": [...], "lines": N}:
//   {"i": ids without special tokens,
//    "s": ids with special tokens  (only when not prefix + i + suffix),
//    "d": decode(i)                (only when it differs from the text),
//    "k": decode(i, skip special)  (only when it differs from "d")}
//
//   node tools/make_tokenizer_reference.js TOKENIZER_DIR... (default: every tests/data/tokenizers/*/)
// Needs `tokenizers` resolvable: NODE_PATH=build-tok/node/node_modules (see tools/fetch_tokenizers.sh).
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('tokenizers');

const dataDir = path.join(__dirname, '..', 'tests', 'data', 'tokenizers');
const corpusPath = process.env.TOKENIZER_CORPUS || path.join(dataDir, 'corpus.txt');
const unescape = (s) => s.replace(/\\(\\|n|r)/g, (_, c) => (c === 'n' ? '\n' : c === 'r' ? '\r' : '\\'));
const corpus = fs.readFileSync(corpusPath, 'utf8').split('\n').slice(0, -1).map(unescape);

async function reference(dir) {
  const t = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
  const lines = [];
  let prefix = null, suffix = null;
  const results = [];
  for (const text of corpus) {
    const plain = (await t.encode(text, null, { addSpecialTokens: false })).getIds();
    const special = (await t.encode(text)).getIds();
    results.push({ text, plain, special });
    if (prefix === null && plain.length > 0) {
      // Learn the post-processor's additions from the first non-empty line.
      const at = special.findIndex((_, k) => special.slice(k, k + plain.length).every((v, j) => v === plain[j]));
      prefix = special.slice(0, at);
      suffix = special.slice(at + plain.length);
    }
  }
  for (const { text, plain, special } of results) {
    const entry = { i: plain };
    const expected = [...prefix, ...plain, ...suffix];
    if (expected.length !== special.length || expected.some((v, k) => v !== special[k])) entry.s = special;
    const decoded = await t.decode(plain, false);
    if (decoded !== text) entry.d = decoded;
    const skipped = await t.decode(plain, true);
    if (skipped !== decoded) entry.k = skipped;
    lines.push(JSON.stringify(entry));
  }
  const out = path.join(dir, 'expected.jsonl');
  fs.writeFileSync(out, JSON.stringify({ prefix, suffix, lines: corpus.length }) + '\n' + lines.join('\n') + '\n');
  console.log(`${corpus.length} lines -> ${out}`);
}

(async () => {
  let dirs = process.argv.slice(2);
  if (dirs.length === 0) {
    dirs = fs.readdirSync(dataDir).map((d) => path.join(dataDir, d))
      .filter((d) => fs.existsSync(path.join(d, 'tokenizer.json')));
  }
  for (const d of dirs) await reference(d);
})().catch((e) => { console.error(e); process.exit(1); });
