# layerlab-cli end to end, as a user runs it: info and eval on a reference checkpoint, checked
# against the loss transformers computed (tests/data/reference/llama_gqa/reference.json).
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
set(MODEL ${DATA}/reference/llama_gqa)

function(run_cli expect_rc)
  execute_process(COMMAND ${CLI} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL expect_rc)
    message(FATAL_ERROR "layerlab-cli ${ARGN}: exit ${rc}, expected ${expect_rc}\n${out}\n${err}")
  endif()
  set(OUT "${out}" PARENT_SCOPE)
  set(ERR "${err}" PARENT_SCOPE)
endfunction()

run_cli(0 info --model ${MODEL} --json)
string(JSON layers GET "${OUT}" num_layers)
string(JSON total GET "${OUT}" parameters total)
if(NOT layers EQUAL 4 OR NOT total EQUAL 139840)
  message(FATAL_ERROR "info: ${layers} layers, ${total} parameters\n${OUT}")
endif()

file(READ ${MODEL}/reference.json ref)
# "none" is the spec that removes nothing (CMake drops empty arguments).
foreach(case "none;none" "block1;block:1" "attn0_ffn2;attn:0,ffn:2")
  list(GET case 0 name)
  list(GET case 1 remove)
  run_cli(0 eval --model ${MODEL} --data ${DATA}/cli/llama_gqa_tokens.jsonl --remove ${remove} --quiet --seq-len 0
          --json ${WORK}/eval_${name}.json --save-logits ${WORK}/logits_${name}.safetensors)
  file(READ ${WORK}/eval_${name}.json got)
  string(JSON loss GET "${got}" loss)
  string(JSON tokens GET "${got}" tokens)
  string(JSON want GET "${ref}" losses ${name})
  # CMake has no floats: compare the first 5 decimals as text.
  string(SUBSTRING "${loss}" 0 7 a)
  string(SUBSTRING "${want}" 0 7 b)
  if(NOT a STREQUAL b OR NOT tokens EQUAL 46)
    message(FATAL_ERROR "eval ${name}: loss ${loss} (${tokens} tokens), transformers gives ${want}")
  endif()
  if(NOT EXISTS ${WORK}/logits_${name}.safetensors)
    message(FATAL_ERROR "eval ${name}: --save-logits wrote nothing")
  endif()
endforeach()

# Bad input: clear messages and exit code 1, no crash.
run_cli(1 eval --model ${MODEL} --data ${DATA}/cli/llama_gqa_tokens.jsonl --remove block:9 --quiet)
if(NOT ERR MATCHES "layer 9 is out of range")
  message(FATAL_ERROR "bad spec message: ${ERR}")
endif()
run_cli(1 info --model ${WORK}/no-such-model)
if(NOT ERR MATCHES "no-such-model: not a folder")
  message(FATAL_ERROR "missing model message: ${ERR}")
endif()
run_cli(2 eval --model ${MODEL} --bogus 1)
file(WRITE ${WORK}/bad.jsonl "{\"input_ids\": [1, 2, 3]}\n{\"input_ids\": [1, \"x\"]}\n")
run_cli(1 eval --model ${MODEL} --data ${WORK}/bad.jsonl --quiet)
if(NOT ERR MATCHES "bad.jsonl:2: ")
  message(FATAL_ERROR "bad data message: ${ERR}")
endif()
run_cli(1 eval --model ${MODEL} --data ${MODEL}/config.json --quiet)
if(NOT ERR MATCHES "config.json: unknown data format")
  message(FATAL_ERROR "wrong data format message: ${ERR}")
endif()

# importance: the documented JSON layout, on the reference checkpoint.
run_cli(0 importance --model ${MODEL} --data ${DATA}/cli/llama_gqa_tokens.jsonl --seq-len 0 --quiet
        --metrics cosine,drop_loss,shapley --granularity block,attn --json ${WORK}/importance.json
        --csv ${WORK}/importance.csv)
file(READ ${WORK}/importance.json imp)
string(JSON layers GET "${imp}" num_layers)
string(JSON n LENGTH "${imp}" scores cosine attn)
string(JSON base GET "${imp}" base_loss)
string(JSON want GET "${ref}" losses none)
string(SUBSTRING "${base}" 0 7 a)
string(SUBSTRING "${want}" 0 7 b)
string(JSON se LENGTH "${imp}" stderr)
if(NOT layers EQUAL 4 OR NOT n EQUAL 4 OR NOT a STREQUAL b OR NOT EXISTS ${WORK}/importance.csv)
  message(FATAL_ERROR "importance report: ${imp}")
endif()

# importance under another value function: drop-one KL against transformers' drop_one kl.
run_cli(0 importance --model ${MODEL} --data ${DATA}/cli/llama_gqa_tokens.jsonl --seq-len 0 --quiet
        --metrics drop_loss --granularity attn --value-function kl --json ${WORK}/importance_kl.json)
file(READ ${WORK}/importance_kl.json imp)
string(JSON got GET "${imp}" scores drop_kl attn 1)
string(JSON want GET "${ref}" drop_one attn kl 1)
string(SUBSTRING "${got}" 0 6 a)
string(SUBSTRING "${want}" 0 6 b)
if(NOT a STREQUAL b)
  message(FATAL_ERROR "drop_kl attn 1: ${got}, transformers gives ${want}\n${imp}")
endif()
run_cli(2 importance --model ${MODEL} --data ${DATA}/cli/llama_gqa_tokens.jsonl --value-function mse --quiet)

# sweep: quality against attention layers removed, least important first by drop_loss.
run_cli(0 sweep --model ${MODEL} --data ${DATA}/cli/llama_gqa_tokens.jsonl --seq-len 0 --quiet
        --metric drop_loss,cosine --granularity attn --steps 0,1,2 --json ${WORK}/sweep.json --csv ${WORK}/sweep.csv)
file(READ ${WORK}/sweep.json sweep)
string(JSON rows LENGTH "${sweep}" rows)
string(JSON loss0 GET "${sweep}" rows 0 loss)
string(JSON removed2 GET "${sweep}" rows 2 removed)
string(JSON params2 GET "${sweep}" rows 2 parameters_removed)
string(JSON kv2 GET "${sweep}" rows 2 kv_bytes_per_token_saved)
string(JSON want GET "${ref}" losses none)
string(SUBSTRING "${loss0}" 0 7 a)
string(SUBSTRING "${want}" 0 7 b)
# llama_gqa: 2 KV heads of 16 in float32, 2 attention layers removed -> 2 x (2 x 2 x 16 x 4) bytes.
if(NOT rows EQUAL 6 OR NOT a STREQUAL b OR NOT removed2 MATCHES "^attn:" OR params2 LESS 1 OR NOT kv2 EQUAL 512
   OR NOT EXISTS ${WORK}/sweep.csv)
  message(FATAL_ERROR "sweep report: ${sweep}")
endif()
run_cli(2 sweep --model ${MODEL} --data ${DATA}/cli/llama_gqa_tokens.jsonl --metric cosine --steps 0,x --quiet)

# The demo model: perplexity per word and byte, and a generated sample.
run_cli(0 eval --data ${DATA}/../../resources/demo/heldout.txt --max-sequences 2 --seq-len 256 --generate "In the beginning" --max-new-tokens 5 --quiet
        --json ${WORK}/demo_eval.json)
file(READ ${WORK}/demo_eval.json demo)
string(JSON bpb GET "${demo}" bits_per_byte)
string(JSON wppl GET "${demo}" word_perplexity)
string(JSON ntok LENGTH "${demo}" generation tokens)
string(JSON reason GET "${demo}" generation stop_reason)
if(bpb LESS_EQUAL 0 OR wppl LESS_EQUAL 1 OR ntok GREATER 5 OR ntok LESS 1 OR reason STREQUAL "")
  message(FATAL_ERROR "demo eval: ${demo}")
endif()
# Its cost: nothing removed; the demo's KV cache is 2 (K, V) x 2 KV heads x head_dim 32 x 10 layers
# elements per token, at the compute dtype's size.
string(JSON dtype GET "${demo}" dtype)
string(JSON kv GET "${demo}" cost kv_bytes_per_token)
string(JSON premoved GET "${demo}" cost parameters_removed)
string(JSON ptotal GET "${demo}" cost parameters_total)
if(dtype STREQUAL "f32")
  set(want_kv 5120)
else()
  set(want_kv 2560)
endif()
if(NOT kv EQUAL want_kv OR NOT premoved EQUAL 0 OR ptotal LESS 1000000)
  message(FATAL_ERROR "demo eval cost (${dtype}): ${demo}")
endif()

# --log-samples: one line per item with what lm-eval's --log_samples keeps; the picks agree with
# the accuracies of the JSON report.
run_cli(0 eval --tasks ${DATA}/lm_eval/rules.jsonl --log-samples ${WORK}/samples.jsonl --json ${WORK}/tasks.json --quiet)
file(STRINGS ${WORK}/samples.jsonl lines)
list(LENGTH lines nlines)
file(READ ${WORK}/tasks.json tasks)
string(JSON acc GET "${tasks}" tasks rules acc)
string(JSON items GET "${tasks}" tasks rules items)
set(right 0)
foreach(line IN LISTS lines)
  string(JSON label GET "${line}" label)
  string(JSON pred GET "${line}" predicted)
  string(JSON nll LENGTH "${line}" log_likelihoods)
  string(JSON ngreedy LENGTH "${line}" is_greedy)
  string(JSON ntok LENGTH "${line}" continuation_tokens)
  if(NOT nll EQUAL ngreedy OR NOT nll EQUAL ntok)
    message(FATAL_ERROR "--log-samples line without one entry per choice: ${line}")
  endif()
  if(label EQUAL pred)
    math(EXPR right "${right} + 1")
  endif()
endforeach()
# acc in millionths (CMake's math has no floating point): integer part and six decimals.
string(REGEX MATCH "^([0-9]+)\\.?([0-9]*)" _ "${acc}")
string(SUBSTRING "${CMAKE_MATCH_2}000000" 0 6 frac)
math(EXPR acc_micro "${CMAKE_MATCH_1} * 1000000 + ${frac}")
math(EXPR want_micro "${right} * 1000000 / ${items}")
math(EXPR off "${acc_micro} - ${want_micro}")
if(NOT nlines EQUAL items OR off GREATER 1 OR off LESS -1)
  message(FATAL_ERROR "--log-samples: ${nlines} lines, ${right} right; the report says ${items} items, acc ${acc}")
endif()
run_cli(2 eval --log-samples ${WORK}/x.jsonl --quiet)

# recover: low-rank maps for attention 1 and block 2, saved and loaded back by eval. (The random
# reference weights give adapters nothing to recover, so the guard would drop them: --no-guard.
# That recovery helps a trained model is tested on the demo model in test_adapter_fit.cpp.)
run_cli(0 recover --model ${MODEL} --data ${DATA}/cli/llama_gqa_tokens.jsonl --seq-len 0 --quiet --no-guard
        --remove attn:1,block:2 --method lowrank:8 --save-adapters ${WORK}/adapters.safetensors
        --json ${WORK}/recover.json)
file(READ ${WORK}/recover.json rec)
string(JSON full GET "${rec}" full loss)
string(JSON removed GET "${rec}" removed_only loss)
string(JSON recovered GET "${rec}" recovered loss)
string(JSON nadapters LENGTH "${rec}" adapters)
if(NOT nadapters EQUAL 2 OR recovered EQUAL removed)
  message(FATAL_ERROR "recover report: ${rec}")
endif()
run_cli(0 eval --model ${MODEL} --data ${DATA}/cli/llama_gqa_tokens.jsonl --seq-len 0 --quiet
        --remove attn:1,block:2 --adapters ${WORK}/adapters.safetensors --json ${WORK}/eval_adapted.json)
file(READ ${WORK}/eval_adapted.json adapted)
string(JSON loss GET "${adapted}" loss)
string(SUBSTRING "${loss}" 0 7 a)
string(SUBSTRING "${recovered}" 0 7 b)
if(NOT a STREQUAL b)
  message(FATAL_ERROR "eval with the saved adapters: loss ${loss}, recover reported ${recovered}")
endif()
run_cli(1 eval --model ${MODEL} --data ${DATA}/cli/llama_gqa_tokens.jsonl --adapters ${MODEL}/model.safetensors --quiet)
if(NOT ERR MATCHES "not a LayerLab adapter file")
  message(FATAL_ERROR "bad adapter file message: ${ERR}")
endif()
# Trained adapters: LoRA on the kept projections, saved and applied again by eval.
run_cli(0 recover --model ${MODEL} --data ${DATA}/cli/llama_gqa_tokens.jsonl --remove attn:1 --method lora:4
        --steps 5 --lr 1e-3 --loss-curve ${WORK}/curve.csv --save-adapters ${WORK}/lora.safetensors
        --json ${WORK}/lora.json --quiet)
file(READ ${WORK}/lora.json lora)
string(JSON steps LENGTH "${lora}" training loss_curve)
string(JSON nlora LENGTH "${lora}" lora)
if(NOT steps EQUAL 5 OR nlora LESS 1)
  message(FATAL_ERROR "recover lora:4: ${steps} loss-curve points, ${nlora} LoRA adapters")
endif()
file(STRINGS ${WORK}/curve.csv curve)
list(LENGTH curve rows)
if(NOT rows EQUAL 6)
  message(FATAL_ERROR "--loss-curve: ${rows} lines, expected a header and 5 steps")
endif()
run_cli(0 eval --model ${MODEL} --data ${DATA}/cli/llama_gqa_tokens.jsonl --remove attn:1
        --adapters ${WORK}/lora.safetensors --quiet)
run_cli(2 recover --model ${MODEL} --data ${DATA}/cli/llama_gqa_tokens.jsonl --remove attn:1 --method lora:x --quiet)
run_cli(2 recover --model ${MODEL} --data ${DATA}/cli/llama_gqa_tokens.jsonl --remove attn:1 --method bias --steps 3
        --quiet)

# export: the demo model without blocks 7 and 8 as a standard checkpoint (sharded), then eval on
# the export gives the loss of the masked demo model on the same data.
set(DEMO ${DATA}/../../resources/demo)
run_cli(0 export --remove block:7-8 --out ${WORK}/demo_export --shard-size 10MB --quiet --json ${WORK}/export.json)
foreach(f config.json model.safetensors.index.json tokenizer.json layerlab.json)
  if(NOT EXISTS ${WORK}/demo_export/${f})
    message(FATAL_ERROR "export: ${f} is missing from the exported folder")
  endif()
endforeach()
file(READ ${WORK}/demo_export/config.json exported_config)
string(JSON exported_layers GET "${exported_config}" num_hidden_layers)
file(READ ${WORK}/demo_export/layerlab.json manifest)
string(JSON manifest_removed GET "${manifest}" removed)
if(NOT exported_layers EQUAL 8 OR NOT manifest_removed STREQUAL "block:7-8")
  message(FATAL_ERROR "export: ${exported_layers} layers, removed '${manifest_removed}'")
endif()
run_cli(0 eval --model ${WORK}/demo_export --data ${DEMO}/heldout.txt --max-sequences 2 --seq-len 128 --quiet
        --json ${WORK}/export_eval.json)
run_cli(0 eval --data ${DEMO}/heldout.txt --max-sequences 2 --seq-len 128 --remove block:7-8 --quiet
        --json ${WORK}/masked_eval.json)
file(READ ${WORK}/export_eval.json a_json)
file(READ ${WORK}/masked_eval.json b_json)
string(JSON a_loss GET "${a_json}" loss)
string(JSON b_loss GET "${b_json}" loss)
string(SUBSTRING "${a_loss}" 0 7 a)
string(SUBSTRING "${b_loss}" 0 7 b)
if(NOT a STREQUAL b)
  message(FATAL_ERROR "eval on the export: loss ${a_loss}, the masked demo model gives ${b_loss}")
endif()
run_cli(1 export --remove block:7 --out ${WORK}/demo_export --quiet)
if(NOT ERR MATCHES "already exists; pass --force")
  message(FATAL_ERROR "export onto an existing folder: ${ERR}")
endif()
run_cli(1 export --remove attn:3 --format hf --out ${WORK}/demo_attn --quiet)
if(NOT ERR MATCHES "drops whole blocks only" OR EXISTS ${WORK}/demo_attn)
  message(FATAL_ERROR "hf export of an attention-only removal: ${ERR}")
endif()
run_cli(2 export --remove block:1 --out ${WORK}/demo_bad --format gguf --quiet)

# A sequence longer than the model's context (1024 for the demo) is refused before any work.
run_cli(2 eval --data ${DEMO}/heldout.txt --max-sequences 1 --seq-len 2048 --quiet)
if(NOT ERR MATCHES "longer than the model's context of 1024 tokens" OR NOT ERR MATCHES "--beyond-context")
  message(FATAL_ERROR "eval past the context: ${ERR}")
endif()

# Layers spread over three placements (all on the CPU here) give the unsplit model's loss.
run_cli(0 eval --data ${DEMO}/heldout.txt --max-sequences 2 --seq-len 128 --remove block:7-8 --quiet
        --devices cpu,cpu,cpu --json ${WORK}/split_eval.json)
if(NOT ERR MATCHES "layers spread over cpu layers 0-")
  message(FATAL_ERROR "eval --devices: no placement note\n${ERR}")
endif()
file(READ ${WORK}/split_eval.json c_json)
string(JSON c_loss GET "${c_json}" loss)
if(NOT c_loss STREQUAL b_loss)
  message(FATAL_ERROR "eval --devices cpu,cpu,cpu: loss ${c_loss}, unsplit ${b_loss}")
endif()
run_cli(2 eval --data ${DEMO}/heldout.txt --max-sequences 1 --seq-len 128 --quiet --device cpu --devices cpu,cpu)

# The report of a study of the demo model: charts as SVG, the evaluations and the export, every
# input's command line; a PDF beside it. Workbench builds only: the charts are the workbench's.
if(REPORT)
  run_cli(0 importance --data ${DEMO}/heldout.txt --max-sequences 2 --seq-len 64 --metrics cosine
          --granularity block,attn --quiet --json ${WORK}/demo_importance.json)
  run_cli(0 report --quiet --out ${WORK}/demo_report.html --pdf ${WORK}/demo_report.pdf
          ${WORK}/demo_importance.json ${WORK}/demo_eval.json ${WORK}/tasks.json ${WORK}/export.json)
  file(READ ${WORK}/demo_report.html html)
  foreach(needle "<section id=\"layer-map\"" "<figure class=\"heatmap\" id=\"layer-map-heatmap\">"
                 "<section id=\"importance\"" "<figure class=\"chart\" id=\"importance-cosine\"><svg"
                 "<section id=\"generations\"" "<b>In the beginning</b>"
                 "<section id=\"evaluations\"" "<section id=\"export\"" "<section id=\"provenance\""
                 "layerlab-cli importance --data" "layerlab-cli export --remove block:7-8" "rules: acc "
                 "<td>model.safetensors</td>")
    string(FIND "${html}" "${needle}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "report: no '${needle}' in ${WORK}/demo_report.html")
    endif()
  endforeach()
  file(READ ${WORK}/demo_report.pdf pdf LIMIT 5)
  if(NOT pdf MATCHES "^%PDF-")
    message(FATAL_ERROR "report --pdf: not a PDF (${pdf})")
  endif()
  run_cli(1 report --quiet --out ${WORK}/mixed.html ${WORK}/demo_eval.json ${WORK}/importance.json)
  if(NOT ERR MATCHES "a report covers one model")
    message(FATAL_ERROR "report on two models: ${ERR}")
  endif()
else()
  run_cli(2 report --out ${WORK}/none.html ${WORK}/demo_eval.json)
  if(NOT ERR MATCHES "this build has no Qt")
    message(FATAL_ERROR "report without Qt: ${ERR}")
  endif()
endif()
