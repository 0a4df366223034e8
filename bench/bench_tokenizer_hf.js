#!/usr/bin/env node
// The Hugging Face reference (npm tokenizers@0.23.2, Rust) on the same chunks as
// bench/bench_tokenizer.cpp, one chunk at a time (single-threaded encode).
//   RAYON_NUM_THREADS=1 NODE_PATH=build-tok/node/node_modules node bench/bench_tokenizer_hf.js MODEL_DIR TEXT_FILE [MB=8]
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('tokenizers');

(async () => {
  const [dir, file, mbArg] = process.argv.slice(2);
  const mb = Number(mbArg || 8);
  const source = fs.readFileSync(file);
  let buf = Buffer.alloc(0);
  while (buf.length < mb * 1e6) buf = Buffer.concat([buf, source]);
  buf = buf.subarray(0, mb * 1e6);
  const chunks = [];
  for (let pos = 0; pos < buf.length;) {
    let end = buf.indexOf(10, Math.min(pos + 4096, buf.length));
    end = end < 0 ? buf.length : end + 1;
    chunks.push(buf.subarray(pos, end).toString('utf8'));
    pos = end;
  }
  const t0 = process.hrtime.bigint();
  const t = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
  const t1 = process.hrtime.bigint();
  let tokens = 0;
  const encoded = [];
  for (const c of chunks) {
    const ids = (await t.encode(c, null, { addSpecialTokens: false })).getIds();
    tokens += ids.length;
    encoded.push(ids);
  }
  const t2 = process.hrtime.bigint();
  for (const ids of encoded) await t.decode(ids, false);
  const t3 = process.hrtime.bigint();
  const s = (a, b) => Number(b - a) / 1e9;
  console.log(`load ${s(t0, t1).toFixed(2)} s; encode ${(buf.length / 1e6).toFixed(1)} MB in ${s(t1, t2).toFixed(2)} s: ` +
    `${tokens} tokens, ${(tokens / s(t1, t2) / 1e6).toFixed(2)} M tokens/s, ${(buf.length / s(t1, t2) / 1e6).toFixed(1)} MB/s; ` +
    `decode ${(tokens / s(t2, t3) / 1e6).toFixed(2)} M tokens/s`);
})();
