# Sourced by the GPU benchmarks (run_eval_bench.sh, run_kernels_bench.sh, run_side_by_side.sh):
#   bench_setup CKPT DATA ROWS TASK ITEMS
# makes the random Llama-2-7B-shaped bf16 checkpoint CKPT when it is missing, gives it a tokenizer
# (the tests' small Mistral-style BPE, ids < 32000), writes ROWS x 2048 random token ids (seed 0)
# to DATA and the first ITEMS items of the demo task to TASK, and reads the weights into the page
# cache so that no engine pays for the disk.
bench_setup() {
  local ckpt=$1 data=$2 rows=$3 task=$4 items=$5
  [ -d "$ckpt" ] || python3 bench/bench_forward_transformers.py --make-checkpoint "$ckpt"
  cp tests/data/tokenizers/mistral/tokenizer.json tests/data/tokenizers/mistral/tokenizer_config.json "$ckpt"/
  python3 -c "
import json, random
random.seed(0)
with open('$data', 'w') as f:
    for _ in range($rows): f.write(json.dumps({'input_ids': [random.randrange(32000) for _ in range(2048)]}) + '\n')"
  head -n "$items" resources/demo/next_verse.jsonl > "$task"
  cat "$ckpt"/*.safetensors > /dev/null
}
