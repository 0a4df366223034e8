# Written by LayerLab for its Nemotron-NAS exports (the DeciLM layout: one block_configs entry per
# layer). Loaded through config.json's auto_map, with trust_remote_code=True. Works with
# transformers 4.45 and later, 5.x included.
#
# block_configs[i].attention / .ffn are read as attributes (vLLM's nemotron_nas.py reads
# block_config.attention.no_op), and written back to config.json as plain dicts.

try:
    from transformers import PreTrainedConfig
except ImportError:  # transformers 4.x
    from transformers import PretrainedConfig as PreTrainedConfig


class SubLayerConfig:
    """One layer's attention or FFN: no_op, replace_with_linear, and the shape of a full one."""

    def __init__(self, **fields):
        self.no_op = False
        self.replace_with_linear = False
        self.__dict__.update(fields)

    def to_dict(self):
        return dict(self.__dict__)

    def __eq__(self, other):
        return isinstance(other, SubLayerConfig) and self.to_dict() == other.to_dict()

    def __repr__(self):
        return f"SubLayerConfig({self.__dict__})"


class BlockConfig:
    def __init__(self, attention=None, ffn=None, **extra):
        self.attention = attention if isinstance(attention, SubLayerConfig) else SubLayerConfig(**(attention or {}))
        self.ffn = ffn if isinstance(ffn, SubLayerConfig) else SubLayerConfig(**(ffn or {}))
        self.__dict__.update(extra)

    def to_dict(self):
        out = {k: v for k, v in self.__dict__.items() if k not in ("attention", "ffn")}
        out["attention"] = self.attention.to_dict()
        out["ffn"] = self.ffn.to_dict()
        return out

    def __eq__(self, other):
        return isinstance(other, BlockConfig) and self.to_dict() == other.to_dict()

    def __repr__(self):
        return f"BlockConfig({self.to_dict()})"


class DeciLMConfig(PreTrainedConfig):
    model_type = "nemotron-nas"
    keys_to_ignore_at_inference = ["past_key_values"]

    def __init__(
        self,
        vocab_size=32000,
        hidden_size=4096,
        num_hidden_layers=32,
        num_attention_heads=32,
        head_dim=None,
        hidden_act="silu",
        max_position_embeddings=2048,
        initializer_range=0.02,
        rms_norm_eps=1e-6,
        rope_theta=10000.0,
        rope_scaling=None,
        attention_bias=False,
        mlp_bias=False,
        tie_word_embeddings=False,
        use_cache=True,
        block_configs=None,
        pad_token_id=None,
        bos_token_id=None,
        eos_token_id=None,
        **kwargs,
    ):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.head_dim = head_dim if head_dim is not None else hidden_size // num_attention_heads
        self.hidden_act = hidden_act
        self.max_position_embeddings = max_position_embeddings
        self.initializer_range = initializer_range
        self.rms_norm_eps = rms_norm_eps
        # transformers 5 saves RoPE as rope_parameters (theta included) and may leave rope_scaling
        # null: read it back from there.
        parameters = kwargs.pop("rope_parameters", None)
        if rope_scaling is None and isinstance(parameters, dict):
            rope_theta = parameters.get("rope_theta", rope_theta)
            if parameters.get("rope_type", parameters.get("type", "default")) != "default":
                rope_scaling = {k: v for k, v in parameters.items() if k != "rope_theta"}
        self.rope_theta = rope_theta
        # Legacy configs name the scaling kind "type"; 4.45+ loaders (and mlx-lm) read "rope_type".
        if isinstance(rope_scaling, dict) and "rope_type" not in rope_scaling and "type" in rope_scaling:
            rope_scaling = dict(rope_scaling, rope_type=rope_scaling["type"])
        self.rope_scaling = rope_scaling
        self.attention_bias = attention_bias
        self.mlp_bias = mlp_bias
        self.use_cache = use_cache
        blocks = block_configs if block_configs is not None else [{} for _ in range(num_hidden_layers)]
        self.block_configs = [b if isinstance(b, BlockConfig) else BlockConfig(**b) for b in blocks]
        if len(self.block_configs) != num_hidden_layers:
            raise ValueError(
                f"block_configs has {len(self.block_configs)} entries for {num_hidden_layers} layers")
        super().__init__(
            pad_token_id=pad_token_id,
            bos_token_id=bos_token_id,
            eos_token_id=eos_token_id,
            tie_word_embeddings=tie_word_embeddings,
            **kwargs,
        )
        # Set again: some transformers versions rewrite RoPE fields while initialising the base.
        self.tie_word_embeddings = tie_word_embeddings
        self.rope_theta = rope_theta
        self.rope_scaling = rope_scaling

    def to_dict(self):
        out = super().to_dict()
        out["block_configs"] = [b.to_dict() for b in self.block_configs]
        # The classic RoPE fields, which this layout's loaders (vLLM, mlx-lm, this file) read.
        out.pop("rope_parameters", None)
        out["rope_theta"] = self.rope_theta
        out["rope_scaling"] = self.rope_scaling
        return out
