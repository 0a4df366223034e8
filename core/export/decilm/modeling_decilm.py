# Written by LayerLab for its Nemotron-NAS exports (the DeciLM layout). Loaded through
# config.json's auto_map:
#     AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True)
# Works with transformers 4.45 and later, 5.x included.
#
# A layer's attention is grouped-query attention (n_heads_in_group query heads per key/value head,
# optionally a sliding window of window_length tokens), a single [hidden, hidden] linear map
# (replace_with_linear: self_attn.linear_attn.weight) or nothing (no_op). Its FFN is a gated MLP
# of its own width (ffn_mult), a linear map (mlp.linear_mlp.weight) or nothing. A removed
# sub-layer also has no norm. attention_bias gives q, k, v and o biases together, mlp_bias gate,
# up and down biases. Numerics follow transformers' Llama: RMSNorm in float32, rotary tables in
# float32 cast to the activations' dtype, softmax attention by PyTorch's SDPA.

import math

import torch
import torch.nn.functional as F
from torch import nn
from transformers import GenerationMixin, PreTrainedModel
from transformers.activations import ACT2FN
from transformers.cache_utils import DynamicCache
from transformers.modeling_outputs import CausalLMOutputWithPast
from transformers.models.llama.modeling_llama import LlamaRMSNorm, rotate_half

from .configuration_decilm import DeciLMConfig


def ffn_width(ffn_mult, hidden_size):
    """DeciLM's FFN width: 2/3 of ffn_mult * hidden, rounded up to a multiple of 256."""
    width = int(2 * ffn_mult * hidden_size / 3)
    return width if width % 256 == 0 else width + 256 - width % 256


def inverse_frequencies(config, seq_len):
    """RoPE inverse frequencies for config.rope_scaling (default, linear, dynamic, llama3)."""
    dim = config.head_dim
    scaling = config.rope_scaling or {}
    kind = scaling.get("rope_type", scaling.get("type", "default"))
    base = float(config.rope_theta)
    factor = float(scaling.get("factor", 1.0))
    if kind == "dynamic" and seq_len > config.max_position_embeddings:
        # NTK-aware: the base grows once the sequence is longer than the trained context.
        base *= (factor * seq_len / config.max_position_embeddings - (factor - 1)) ** (dim / (dim - 2))
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    if kind == "linear":
        inv = inv / factor
    elif kind == "llama3":
        old = float(scaling["original_max_position_embeddings"])
        low, high = float(scaling.get("low_freq_factor", 1.0)), float(scaling.get("high_freq_factor", 4.0))
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > old / low, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = (wavelen >= old / high) & (wavelen <= old / low)
        inv = torch.where(medium, smoothed, scaled)
    elif kind not in ("default", "dynamic"):
        raise ValueError(f"RoPE scaling '{kind}' is not supported by this modeling file")
    return inv


class DeciLMAttention(nn.Module):
    def __init__(self, config, attention, cache_index):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.num_kv_heads = self.num_heads // attention.n_heads_in_group
        self.head_dim = config.head_dim
        self.window = getattr(attention, "window_length", None)
        self.cache_index = cache_index
        h, bias = config.hidden_size, config.attention_bias
        self.q_proj = nn.Linear(h, self.num_heads * self.head_dim, bias=bias)
        self.k_proj = nn.Linear(h, self.num_kv_heads * self.head_dim, bias=bias)
        self.v_proj = nn.Linear(h, self.num_kv_heads * self.head_dim, bias=bias)
        self.o_proj = nn.Linear(self.num_heads * self.head_dim, h, bias=bias)

    def forward(self, x, cos, sin, allowed, cache):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.num_kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.num_kv_heads, self.head_dim).transpose(1, 2)
        cos, sin = cos.to(q.device), sin.to(q.device)  # layers may sit on other devices (device_map)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:
            k, v = cache.update(k, v, self.cache_index)
        groups = self.num_heads // self.num_kv_heads
        k = k.repeat_interleave(groups, dim=1)
        v = v.repeat_interleave(groups, dim=1)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed(k.shape[2], self.window, q.device),
                                             scale=self.head_dim ** -0.5)
        return self.o_proj(out.transpose(1, 2).reshape(b, t, self.num_heads * self.head_dim))


class DeciLMLinearAttention(nn.Module):
    """replace_with_linear attention: one [hidden, hidden] map of the normalised input."""

    def __init__(self, config):
        super().__init__()
        self.linear_attn = nn.Linear(config.hidden_size, config.hidden_size, bias=False)

    def forward(self, x, cos, sin, allowed, cache):
        return self.linear_attn(x)


class DeciLMMLP(nn.Module):
    def __init__(self, config, ffn):
        super().__init__()
        h, width, bias = config.hidden_size, ffn_width(ffn.ffn_mult, config.hidden_size), config.mlp_bias
        self.gate_proj = nn.Linear(h, width, bias=bias)
        self.up_proj = nn.Linear(h, width, bias=bias)
        self.down_proj = nn.Linear(width, h, bias=bias)
        self.act = ACT2FN[config.hidden_act]

    def forward(self, x):
        return self.down_proj(self.act(self.gate_proj(x)) * self.up_proj(x))


class DeciLMLinearMLP(nn.Module):
    """replace_with_linear FFN: one [hidden, hidden] map of the normalised input."""

    def __init__(self, config):
        super().__init__()
        self.linear_mlp = nn.Linear(config.hidden_size, config.hidden_size, bias=False)

    def forward(self, x):
        return self.linear_mlp(x)


class DeciLMDecoderLayer(nn.Module):
    def __init__(self, config, layer_index, cache_index):
        super().__init__()
        block = config.block_configs[layer_index]
        attention, ffn = block.attention, block.ffn
        h, eps = config.hidden_size, config.rms_norm_eps
        self.self_attn = None
        self.mlp = None
        if not attention.no_op:
            self.input_layernorm = LlamaRMSNorm(h, eps=eps)
            self.self_attn = (DeciLMLinearAttention(config) if attention.replace_with_linear
                              else DeciLMAttention(config, attention, cache_index))
        if not ffn.no_op:
            self.post_attention_layernorm = LlamaRMSNorm(h, eps=eps)
            self.mlp = DeciLMLinearMLP(config) if ffn.replace_with_linear else DeciLMMLP(config, ffn)

    def uses_cache(self):
        return isinstance(self.self_attn, DeciLMAttention)

    def forward(self, x, cos, sin, allowed, cache):
        if self.self_attn is not None:
            x = x + self.self_attn(self.input_layernorm(x), cos, sin, allowed, cache)
        if self.mlp is not None:
            x = x + self.mlp(self.post_attention_layernorm(x))
        return x


class DeciLMPreTrainedModel(PreTrainedModel):
    config_class = DeciLMConfig
    base_model_prefix = "model"
    _no_split_modules = ["DeciLMDecoderLayer"]
    _supports_cache_class = True
    # The loss is a mean over this batch's tokens: Trainer must divide by accumulation steps itself.
    accepts_loss_kwargs = False

    def _init_weights(self, module):
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=std)
        elif isinstance(module, LlamaRMSNorm):
            nn.init.ones_(module.weight)


class DeciLMModel(DeciLMPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, config.pad_token_id)
        # Only layers with full attention hold a KV cache; they are numbered densely so that the
        # cache's first entry (whose length gives the past length) always exists.
        layers, cached = [], 0
        for i, block in enumerate(config.block_configs):
            full_attention = not block.attention.no_op and not block.attention.replace_with_linear
            layers.append(DeciLMDecoderLayer(config, i, cached))
            cached += int(full_attention)
        self.layers = nn.ModuleList(layers)
        self.norm = LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.post_init()

    def get_input_embeddings(self):
        return self.embed_tokens

    def set_input_embeddings(self, value):
        self.embed_tokens = value

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None,
                inputs_embeds=None, use_cache=None, **kwargs):
        x = self.embed_tokens(input_ids) if inputs_embeds is None else inputs_embeds
        b, t = x.shape[:2]
        past = past_key_values.get_seq_length() if past_key_values is not None else 0
        if position_ids is None:
            position_ids = torch.arange(past, past + t, device=x.device).unsqueeze(0).expand(b, t)
        seq_len = int(position_ids.max()) + 1 if position_ids.numel() else 0
        inv = inverse_frequencies(self.config, seq_len).to(x.device)
        angles = position_ids.float().unsqueeze(-1) * inv.view(1, 1, -1)
        emb = torch.cat((angles, angles), dim=-1)
        cos, sin = emb.cos().to(x.dtype).unsqueeze(1), emb.sin().to(x.dtype).unsqueeze(1)

        query = torch.arange(past, past + t, device=x.device).view(t, 1)
        padding = attention_mask.bool() if attention_mask is not None else None

        def allowed(kv_len, window, device):
            # Causal by index as in transformers' masks; a window keeps keys with
            # key > query - window; padding removes masked keys. A query that sees no key at all (a
            # padded position) is given every key, so that it yields numbers instead of NaN.
            key = torch.arange(kv_len, device=device).view(1, kv_len)
            q_index = query.to(device)
            ok = key <= q_index
            if window:
                ok = ok & (key > q_index - window)
            ok = ok.view(1, 1, t, kv_len).expand(b, 1, t, kv_len)
            if padding is not None:
                ok = ok & padding[:, -kv_len:].to(device).view(b, 1, 1, kv_len)
            return ok | ~ok.any(dim=-1, keepdim=True)

        cache = past_key_values
        for layer in self.layers:
            x = layer(x, cos, sin, allowed, cache if layer.uses_cache() else None)
        return self.norm(x)


class DeciLMForCausalLM(DeciLMPreTrainedModel, GenerationMixin):
    def __init__(self, config):
        super().__init__(config)
        self.model = DeciLMModel(config)
        # Tied embeddings are used directly as the output projection, so there is no lm_head to tie.
        self.lm_head = None if config.tie_word_embeddings else nn.Linear(config.hidden_size, config.vocab_size,
                                                                         bias=False)
        self.post_init()

    def get_input_embeddings(self):
        return self.model.embed_tokens

    def set_input_embeddings(self, value):
        self.model.embed_tokens = value

    def get_output_embeddings(self):
        return self.lm_head

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None,
                inputs_embeds=None, labels=None, use_cache=None, logits_to_keep=0, **kwargs):
        use_cache = self.config.use_cache if use_cache is None else use_cache
        if use_cache and past_key_values is None:
            past_key_values = DynamicCache()
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                            past_key_values=past_key_values if use_cache else None,
                            inputs_embeds=inputs_embeds)
        if isinstance(logits_to_keep, int) and logits_to_keep > 0:
            hidden = hidden[:, -logits_to_keep:]
        if self.lm_head is None:
            weight = self.model.embed_tokens.weight
            logits = F.linear(hidden.to(weight.device), weight)
        else:
            logits = self.lm_head(hidden)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits[:, :-1].float().reshape(-1, logits.shape[-1]),
                                   labels[:, 1:].reshape(-1).to(logits.device), ignore_index=-100)
        return CausalLMOutputWithPast(loss=loss, logits=logits,
                                      past_key_values=past_key_values if use_cache else None)
