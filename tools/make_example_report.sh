#!/usr/bin/env bash
# The example report in docs/: a small pruning study of the bundled demo model made with the CLI
# (importance per metric and granularity, importance for the demo task's answers, pruning curves
# for blocks, attention and FFN, recovery by three adapter methods, evaluations of the full model
# and of the removal set with the demo task and a generated sample), then `layerlab-cli report`.
#   tools/make_example_report.sh [BUILD_DIR]    (default build/; writes docs/report_demo.{html,pdf,png})
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cli="$root/${1:-build}/app/layerlab-cli"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" # the reports record relative file names
data=(--data "$root/resources/demo/heldout.txt" --seq-len 256 --max-sequences 8 --quiet)
"$cli" importance "${data[@]}" --metrics cosine,angular,drop_loss --granularity block,attn,ffn \
  --angular-n 2 --json importance.json
for g in block attn ffn; do
  "$cli" sweep "${data[@]}" --metric cosine,drop_loss --granularity $g --steps 0,1,2,3,4 \
    --importance importance.json --json sweep_$g.json
done
for m in bias lowrank:32 fold-linear; do
  "$cli" recover "${data[@]}" --remove block:2-3 --method $m --json recover_${m%%:*}.json
done
"$cli" importance "${data[@]}" --metrics drop_loss --granularity block,attn,ffn --max-items 60 \
  --value-function task_loss:"$root/resources/demo/next_verse.jsonl" --json task_importance.json
for removed in "" block:2-3; do
  "$cli" eval "${data[@]}" --tasks "$root/resources/demo/next_verse.jsonl" --max-items 60 ${removed:+--remove $removed} \
    --generate "And God said" --max-new-tokens 24 --json eval${removed:+_removed}.json
done
"$cli" report --quiet --out "$root/docs/report_demo.html" --pdf "$root/docs/report_demo.pdf" \
  importance.json task_importance.json sweep_block.json sweep_attn.json sweep_ffn.json recover_bias.json \
  recover_lowrank.json recover_fold-linear.json eval.json eval_removed.json
# The picture in the README: the report's first screen, as headless Chromium draws it.
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$work/chromium" \
  --window-size=1000,1400 --screenshot="$root/docs/report_demo.png" "file://$root/docs/report_demo.html" 2>/dev/null
ls -l "$root"/docs/report_demo.*
