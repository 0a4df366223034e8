#!/usr/bin/env node
// Writes tests/data/tokenizers/corpus.txt: the text the tokenizer parity tests encode.
// Deterministic: public-domain prose from Debian (bible-kjv, dict-devil) plus hand-written and
// seeded-random lines covering code, long numbers, CJK, Arabic, emoji/ZWJ, combining accents,
// odd whitespace and every special token of the families we test.
// One sample per line; "\\", "\n" and "\r" inside a sample are written escaped (\\, \n, \r).
//
//   node tools/make_tokenizer_corpus.js [out=tests/data/tokenizers/corpus.txt]
'use strict';
const fs = require('fs');
const path = require('path');
const { execSync } = require('child_process');

const out = process.argv[2] || path.join(__dirname, '..', 'tests', 'data', 'tokenizers', 'corpus.txt');

// Small deterministic PRNG (mulberry32).
let seed = 20240611;
function rand() {
  seed |= 0; seed = (seed + 0x6D2B79F5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rand() * a.length)];

const bible = execSync('bible Gen1:1-Rev22:21', { maxBuffer: 64 << 20 }).toString().split('\n');
const devil = execSync('zcat /usr/share/dictd/devil.dict.dz', { maxBuffer: 64 << 20 }).toString().split('\n');

const specials = [
  '<s>', '</s>', '<unk>',
  '<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>',
  '<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|object_ref_start|>', '<|object_ref_end|>',
  '<|box_start|>', '<|box_end|>', '<|quad_start|>', '<|quad_end|>', '<|vision_start|>', '<|vision_end|>',
  '<|vision_pad|>', '<|image_pad|>', '<|video_pad|>', '<tool_call>', '</tool_call>', '<|fim_prefix|>',
  '<|fim_middle|>', '<|fim_suffix|>', '<|fim_pad|>', '<|repo_name|>', '<|file_sep|>', '<tool_response>',
  '</tool_response>', '<think>', '</think>',
];
for (let i = 0; i <= 250; ++i) specials.push(`<|reserved_special_token_${i}|>`);

const handWritten = [
  'Hello world', ' Hello world', 'Hello world ', '  Hello   world  ', '\tindented\twith\ttabs',
  'def f(x):\n\treturn x  *  2\n', 'int main() {\n    printf("%d\\n", 42);\n    return 0;\n}',
  'for (int i = 0; i < n; ++i)    {  sum += a[i];  }', '    four spaces', '        eight spaces then text',
  'if x == 1:\n        pass\n\n\n', 'line one\nline two\r\nline three\rline four',
  '3.14159265358979323846264338327950288419716939937510', '1234567890123456789012345678901234567890',
  'Call 555-0123 or +1 (800) 555-0199 before 2024-06-11T12:30:00Z', '$1,234,567.89 and 0.000001% and 1e-10',
  '我爱北京天安门。今天天气很好，我们去公园散步吧！', '日本語のテキストとカタカナ、ひらがな、漢字。', '한국어 텍스트도 있습니다.',
  'مرحبا بالعالم، هذا نص عربي للاختبار.', 'שלום עולם', 'Привет, мир! Съешь же ещё этих мягких французских булок.',
  'Ελληνικά: Γειά σου Κόσμε', 'हिन्दी में कुछ पाठ', 'ไทย ภาษาไทย ทดสอบ',
  '😀😃😄 emoji 👍🏽 and 👨‍👩‍👧‍👦 family and 🏳️‍🌈 flag and 🇫🇷🇯🇵', '🤖🧠💡 ❤️ ✨ 🔥🔥🔥',
  'café naïve résumé Zürich Ångström', 'cafe\u0301 nai\u0308ve re\u0301sume\u0301 (combining accents)',
  'A\u030A vs \u00C5 vs \u212B', 'ﬁ ligature, ① circled, Ｆｕｌｌｗｉｄｔｈ, ½ fraction',
  '\u200Bzero\u200Bwidth\u200Bspaces\u200B', 'non\u00A0breaking\u00A0space and\u3000ideographic space',
  "I'm sure they'll say it's what we'd do, don't you think? THEY'LL, IT'S, WE'VE",
  'e-mail: someone@example.com, url: https://example.org/path?q=1&r=2#frag', '<html><body>Hi &amp; bye</body></html>',
  '{"key": "value", "list": [1, 2, 3], "nested": {"a": null}}', 'SELECT * FROM users WHERE id = 42;',
  '   ', ' ', '\t', '\n', '\n\n', ' \n ', '!!!???...,,,;;;', '----====____****', '~`@#$%^&*()_+-=[]{}|;:\'",.<>/?',
  '\\backslash\\path\\to\\file', 'naïve façade coöperate', 'x\u0000y control chars \u0007 \u001b[31mred\u001b[0m',
  'ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõö÷øùúûüýþÿ',
  '<s>', '</s>', '<s> hello </s>', 'hello<s>world</s>', '<s><s></s></s>', ' <s> ', '<unk> token',
  '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>',
  '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>',
  '<think>\nreasoning here\n</think>\n\nanswer', 'text<|endoftext|>more text', '<|endoftext|>',
  '<tool_call>{"name": "f"}</tool_call>', 'fill   <mask> here', 'a<mask>b  <mask>  c', '[SEP]   next', 'x [SEP]\n\ny',
  'tokenizer tokenizers mytokenizer tokenizer_ (tokenizer)', 'the LORD said unto LORD', '  LORD  ', '< s>', '<s', 's>', '<|im_start', '<|reserved_special_token_999|>',
];

const words = ['the', 'quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog', 'tokenizer', 'pruning', 'layer',
  'model', 'Llama', 'Mistral', 'Qwen', 'transformer', 'attention', 'résumé', 'über', 'naïve', 'São', 'Paulo'];
const fragments = [
  () => pick(words), () => pick(words) + ' ' + pick(words), () => String(Math.floor(rand() * 1e9)),
  () => String(Math.floor(rand() * 10 ** (1 + Math.floor(rand() * 15)))), () => (rand() * 1000).toFixed(4),
  () => pick(['我们', '天气', '北京', '東京', 'テスト', '한국', '中文字符']), () => pick(['مرحبا', 'العالم', 'كتاب']),
  () => pick(['😀', '👍🏽', '👨‍👩‍👧', '🏳️‍🌈', '🇩🇪', '❤️', '✨']), () => pick(['e\u0301', 'a\u0308', 'n\u0303', 'o\u0302\u0323']),
  () => pick([' ', '  ', '   ', '\t', '\t\t', '\n', '\n\n', '\r\n', ' \n', '\u00A0', '\u3000']),
  () => pick(specials), () => pick(specials), () => pick(['(', ')', '{', '}', '[', ']', ';', ',', '.', '...', '!?', '--', '=>', '::']),
  () => pick(["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL"]), () => pick(['if (x) {', 'return y;', '}', 'x += 1', '\tpass', '    }']),
];
const random = [];
for (let i = 0; i < 900; ++i) {
  const n = 1 + Math.floor(rand() * 12);
  let s = '';
  for (let k = 0; k < n; ++k) s += (rand() < 0.5 ? ' ' : '') + pick(fragments)();
  random.push(s);
}
// Each special token alone, surrounded, and glued to text.
const specialLines = [];
for (let i = 0; i < specials.length; i += 6) specialLines.push(specials.slice(i, i + 6).join(' x '));
for (const s of specials.slice(0, 40)) specialLines.push(`before${s}after`, ` ${s} `);

const prose = [];
for (let i = 0; i < bible.length && prose.length < 1100; i += 27) if (bible[i].trim()) prose.push(bible[i]);
for (let i = 0; i < devil.length && prose.length < 1400; i += 13) if (devil[i].trim()) prose.push(devil[i]);
// A few multi-line samples joined from consecutive verses.
for (let i = 100; i < 20000; i += 997) prose.push(bible.slice(i, i + 4).join('\n'));

const all = [...handWritten, ...specialLines, ...prose, ...random];
const escape = (s) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, all.map(escape).join('\n') + '\n');
console.log(`${all.length} lines -> ${out}`);
