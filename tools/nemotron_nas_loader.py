"""A small PyTorch loader for Nemotron-NAS (DeciLM) checkpoints, for checking LayerLab's exports.

transformers has no built-in DeciLM class (the published checkpoints ship modeling_decilm.py for
trust_remote_code). This loader builds transformers' own LlamaForCausalLM with the same
hyper-parameters and swaps, layer by layer, what `block_configs` says:

  attention / ffn  no_op                -> adds nothing to the residual stream
                   replace_with_linear  -> x W^T of the sub-layer's normalised input
                                           (self_attn.linear_attn.weight / mlp.linear_mlp.weight)
                   otherwise            -> Llama attention (n_heads_in_group = heads per KV head)
                                           / Llama MLP (width from ffn_mult or intermediate_size)

which is what DeciLMDecoderLayer computes. Every tensor in the checkpoint must find its place and
every parameter of a present unit must be loaded, or the loader raises.

    from nemotron_nas_loader import load_nemotron_nas
    model = load_nemotron_nas("exported_dir", dtype=torch.float32)
    logits = model(input_ids, use_cache=False).logits
"""

import json
import os

import torch
from torch import nn


def ffn_mult_to_intermediate_size(ffn_mult, hidden_size):
    n = int(2 * ffn_mult * hidden_size / 3)
    return n if n % 256 == 0 else n + 256 - n % 256


class _Nothing(nn.Module):
    """A no_op sub-layer: returns zeros shaped like its input (attention modules return a tuple)."""

    def __init__(self, attention):
        super().__init__()
        self.attention = attention

    def forward(self, hidden_states=None, *args, **kwargs):
        out = torch.zeros_like(hidden_states)
        return (out, None) if self.attention else out


class _LinearAttention(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.linear_attn = nn.Linear(hidden, hidden, bias=False)

    def forward(self, hidden_states=None, *args, **kwargs):
        return self.linear_attn(hidden_states), None


class _LinearMlp(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.linear_mlp = nn.Linear(hidden, hidden, bias=False)

    def forward(self, x):
        return self.linear_mlp(x)


def _read_tensors(folder):
    from safetensors.torch import load_file

    index = os.path.join(folder, "model.safetensors.index.json")
    files = (sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index)
             else ["model.safetensors"])
    tensors = {}
    for f in files:
        tensors.update(load_file(os.path.join(folder, f)))
    return tensors


def load_nemotron_nas(folder, dtype=torch.float32, device="cpu"):
    from transformers import LlamaConfig, LlamaForCausalLM
    from transformers.models.llama.modeling_llama import LlamaAttention, LlamaMLP

    cfg = json.load(open(os.path.join(folder, "config.json")))
    if cfg.get("model_type") != "nemotron-nas":
        raise ValueError(f"{folder}: model_type is {cfg.get('model_type')!r}, not 'nemotron-nas'")
    blocks = cfg["block_configs"]
    heads = cfg["num_attention_heads"]
    hidden = cfg["hidden_size"]
    groups = {b["attention"]["n_heads_in_group"] for b in blocks
              if not b["attention"].get("no_op") and not b["attention"].get("replace_with_linear")}
    widths = set()
    for b in blocks:
        f = b["ffn"]
        if f.get("no_op") or f.get("replace_with_linear"):
            continue
        widths.add(f["intermediate_size"] if f.get("intermediate_size")
                   else ffn_mult_to_intermediate_size(f["ffn_mult"], hidden))
    if len(groups) > 1 or len(widths) > 1:
        raise ValueError(f"{folder}: layers with different KV-head counts or FFN widths are not supported here")

    llama = {k: v for k, v in cfg.items()
             if k not in ("block_configs", "architectures", "model_type", "auto_map", "o_proj_bias",
                          "intermediate_size", "num_key_value_heads")}
    if "rope_parameters" in llama:  # transformers 5 spelling wins over the classic fields
        llama.pop("rope_theta", None)
        llama.pop("rope_scaling", None)
    elif llama.get("rope_scaling") is None:
        llama.pop("rope_scaling", None)
    config = LlamaConfig(
        **llama,
        num_key_value_heads=heads // groups.pop() if groups else heads,
        intermediate_size=widths.pop() if widths else 4 * hidden,
    )
    config.attention_bias = bool(cfg.get("attention_bias", False) or cfg.get("o_proj_bias", False))
    config._attn_implementation = "sdpa"

    model = LlamaForCausalLM(config)
    for i, (layer, b) in enumerate(zip(model.model.layers, blocks)):
        a, f = b["attention"], b["ffn"]
        if a.get("no_op"):
            layer.self_attn = _Nothing(attention=True)
        elif a.get("replace_with_linear"):
            layer.self_attn = _LinearAttention(hidden)
        if f.get("no_op"):
            layer.mlp = _Nothing(attention=False)
        elif f.get("replace_with_linear"):
            layer.mlp = _LinearMlp(hidden)
        assert isinstance(layer.self_attn, (LlamaAttention, _Nothing, _LinearAttention))
        assert isinstance(layer.mlp, (LlamaMLP, _Nothing, _LinearMlp))

    tensors = _read_tensors(folder)
    params = model.state_dict()
    unexpected = sorted(set(tensors) - set(params))
    if unexpected:
        raise ValueError(f"{folder}: tensors with no place in the model: {unexpected[:8]}")
    # Parameters that must come from the checkpoint: all but the norms of no_op units and a tied head.
    optional = set()
    for i, b in enumerate(blocks):
        if b["attention"].get("no_op"):
            optional.add(f"model.layers.{i}.input_layernorm.weight")
        if b["ffn"].get("no_op"):
            optional.add(f"model.layers.{i}.post_attention_layernorm.weight")
    if cfg.get("tie_word_embeddings"):
        optional.add("lm_head.weight")
    missing = sorted(set(params) - set(tensors) - optional)
    if missing:
        raise ValueError(f"{folder}: missing tensors: {missing[:8]}")
    for name, t in tensors.items():
        if tuple(t.shape) != tuple(params[name].shape):
            raise ValueError(f"{folder}: {name} has shape {tuple(t.shape)}, the model wants {tuple(params[name].shape)}")
    model.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items()}, strict=False)
    if cfg.get("tie_word_embeddings"):
        model.lm_head.weight = model.model.embed_tokens.weight
    return model.to(device=device, dtype=dtype).eval()
