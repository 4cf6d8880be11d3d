"""GPT-2 (Radford et al. 2019): a decoder-only Transformer trained as a causal language model.

Architecture, as GPT-2: token + learned position embeddings; `num_layers` pre-norm decoder blocks (causal
multi-head self-attention: a token sees itself and the tokens before it, never after; GELU feed-forward);
a final LayerNorm; the output projection TIED to the token embedding (its transpose, no bias). Right padding
needs no mask: under the causal mask no real token attends to a later pad, and the loss ignores pads.

Generation: `call_with_cache` runs one step with a key/value cache (batch, layers, 2, length, heads,
head_dim), so each new token costs one position, not the whole prefix; `generate` drives it with a KerasHub
sampler (greedy, top-k or top-p), all in `keras.ops` (it also runs inside the exported serving graph).

- `GPT` (functional style) and `GPTSubclass` (subclass style): token ids (batch, sequence_length) -> logits
  (batch, sequence_length, vocabulary_size), float32.

Configurations: `GPT2_SMALL` (12 layers, 768 hidden, 12 heads, 3072 intermediate, 50,257 tokens, 1,024
positions: 124,439,808 parameters, as KerasHub's `GPT2Backbone`), `GPT_MINI` (the zoo's default).
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.models.language.common import SAMPLERS, KerasHubLoading, check_hparams, config_of, functional_from_config
from zoo.models.language.layers import DecoderBlock, PositionEmbedding, TokenEmbedding
from zoo.nn import Styles, check_positive_int, serializable

LAYER_NORM_EPSILON = 1e-5
GPT2_SMALL = {"vocabulary_size": 50257, "num_layers": 12, "num_heads": 12, "hidden_dim": 768,
              "intermediate_dim": 3072, "max_sequence_length": 1024}
GPT_MINI = {"vocabulary_size": 8192, "num_layers": 4, "num_heads": 4, "hidden_dim": 256, "intermediate_dim": 1024,
            "max_sequence_length": 256}
MODEL_ARGS = ("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim",
              "max_sequence_length", "dropout", "sequence_length", "sampler", "max_new_tokens")
TOP_K, TOP_P = 10, 0.9


def _check(name, hp):
    check_hparams(name, hp)
    if hp["sampler"] not in SAMPLERS:
        raise ValueError(f"{name}: `sampler` must be one of {', '.join(SAMPLERS)}. Received: sampler={hp['sampler']!r}")
    check_positive_int("max_new_tokens", hp["max_new_tokens"])


def _layers(vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim, max_sequence_length, dropout):
    """The model's layers in the order they run (the order of the weights in both styles)."""
    return {
        "token_embedding": TokenEmbedding(vocabulary_size, hidden_dim, name="token_embedding"),
        "position_embedding": PositionEmbedding(max_sequence_length, name="position_embedding"),
        "embeddings_add": keras.layers.Add(name="embeddings_add"),
        "embeddings_dropout": keras.layers.Dropout(dropout, name="embeddings_dropout"),
        "blocks": [DecoderBlock(num_heads, intermediate_dim, dropout=dropout, layer_norm_epsilon=LAYER_NORM_EPSILON,
                                name=f"transformer_layer_{i}") for i in range(num_layers)],
        "layer_norm": keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON, name="layer_norm"),
    }


def _forward(layers, token_ids, training=None):
    tokens = layers["token_embedding"](token_ids)
    x = layers["embeddings_add"]([tokens, layers["position_embedding"](tokens)])
    x = layers["embeddings_dropout"](x, training=training)
    for block in layers["blocks"]:
        x = block(x, training=training)
    return layers["token_embedding"](layers["layer_norm"](x), reverse=True)


def make_sampler(name: str, seed: int | None = None):
    """A KerasHub sampler: "greedy", "top_k" (k=10) or "top_p" (p=0.9)."""
    import keras_hub

    if name == "greedy":
        return keras_hub.samplers.GreedySampler()
    if name == "top_k":
        return keras_hub.samplers.TopKSampler(k=TOP_K, seed=seed)
    if name == "top_p":
        return keras_hub.samplers.TopPSampler(p=TOP_P, seed=seed)
    raise ValueError(f"`sampler` must be one of {', '.join(SAMPLERS)}. Received: sampler={name!r}")


class CausalLM(KerasHubLoading):
    """Cached decoding shared by both styles (their layers are found by name)."""

    family = "gpt"

    def _layer_dict(self):
        return {"token_embedding": self.get_layer("token_embedding"),
                "position_embedding": self.get_layer("position_embedding"),
                "embeddings_add": self.get_layer("embeddings_add"),
                "embeddings_dropout": self.get_layer("embeddings_dropout"),
                "blocks": [self.get_layer(f"transformer_layer_{i}") for i in range(self.num_layers)],
                "layer_norm": self.get_layer("layer_norm")}

    def call_with_cache(self, token_ids, cache, cache_update_index):
        """Logits for `token_ids` (batch, T) at positions cache_update_index.. and the updated cache.

        Args:
            token_ids: (batch, T) ids.
            cache: (batch, num_layers, 2, max_length, heads, head_dim) keys and values.
            cache_update_index: the position of `token_ids[:, 0]`.

        Returns:
            (logits (batch, T, vocabulary_size), cache).
        """
        layers = self._layer_dict()
        tokens = layers["token_embedding"](token_ids)
        positions = layers["position_embedding"](tokens, start_index=cache_update_index)
        x = layers["embeddings_add"]([tokens, positions])
        caches = []
        for i, block in enumerate(layers["blocks"]):
            x, updated = block(x, cache=cache[:, i, ...], cache_update_index=cache_update_index)
            caches.append(updated)
        logits = layers["token_embedding"](layers["layer_norm"](x), reverse=True)
        return logits, ops.stack(caches, axis=1)

    def build_cache(self, token_ids):
        """A cache holding `token_ids`' keys and values (batch, length): the prompt's, computed at once."""
        batch, length = ops.shape(token_ids)[0], ops.shape(token_ids)[1]
        head_dim = self.hidden_dim // self.num_heads
        cache = ops.zeros((batch, self.num_layers, 2, length, self.num_heads, head_dim), dtype=self.compute_dtype)
        _, cache = self.call_with_cache(token_ids, cache, 0)
        return cache

    def generate(self, token_ids, prompt_mask, *, sampler=None, stop_token_ids=None):
        """Complete each row of `token_ids` where `prompt_mask` is False, left to right.

        Args:
            token_ids: (batch, length) ids, each prompt at the start of its row (any filler after it).
            prompt_mask: (batch, length) booleans, True over each prompt (those tokens are kept).
            sampler: a KerasHub sampler or its name; default: the model's `sampler` hyperparameter.
            stop_token_ids: ids that end a row's generation (the loop stops once every row has one).

        Returns:
            (batch, length) ids: the prompts followed by the generated tokens.
        """
        sampler = make_sampler(sampler or self.sampler) if sampler is None or isinstance(sampler, str) else sampler
        cache = self.build_cache(token_ids)
        lengths = ops.sum(ops.cast(prompt_mask, "int32"), axis=-1)
        index = ops.maximum(ops.min(lengths), 1)

        def next_logits(prompt, cache, index):
            step = ops.slice(prompt, [0, index - 1], [ops.shape(prompt)[0], 1])
            logits, cache = self.call_with_cache(step, cache, index - 1)
            return logits[:, 0, :], None, cache

        return sampler(next_logits, token_ids, cache=cache, index=index, mask=prompt_mask,
                       stop_token_ids=stop_token_ids, model=self)

    def uncached_logits(self, token_ids):
        """The next-token logits for every position, computed without a cache (what training sees)."""
        return _forward(self._layer_dict(), token_ids)


@serializable
class GPT(CausalLM, keras.Model):
    """GPT, functional style: token ids (batch, sequence_length) -> logits (batch, sequence_length, vocabulary).

    Args:
        vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim: the Transformer's sizes.
        max_sequence_length: learned positions (the longest text it reads or writes).
        dropout: after the embeddings, on attention weights and after each sublayer.
        sequence_length: the training input length.
        sampler: how `generate` and the endpoint pick tokens: "greedy", "top_k" or "top_p".
        max_new_tokens: tokens the endpoint adds to a prompt.

    Example:
        >>> from zoo.models.language.gpt import GPT2_SMALL
        >>> zoo.build("gpt", **GPT2_SMALL).count_params()
        124439808
    """

    def __init__(self, vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim, max_sequence_length,
                 dropout, sequence_length, sampler="greedy", max_new_tokens=16, name="gpt", **kwargs):
        args = dict(vocabulary_size=vocabulary_size, num_layers=num_layers, num_heads=num_heads,
                    hidden_dim=hidden_dim, intermediate_dim=intermediate_dim,
                    max_sequence_length=max_sequence_length, dropout=dropout)
        extra = dict(sequence_length=sequence_length, sampler=sampler, max_new_tokens=max_new_tokens)
        _check(name, {**args, **extra})
        token_ids = keras.Input((sequence_length,), dtype="int32", name="token_ids")
        logits = _forward(_layers(**args), token_ids)
        super().__init__(inputs=token_ids, outputs=logits, name=name, **kwargs)
        for key, value in {**args, **extra}.items():
            setattr(self, key, value)

    def get_config(self):
        return config_of(self, MODEL_ARGS)

    @classmethod
    def from_config(cls, config):
        return functional_from_config(cls, config)


@serializable
class GPTSubclass(CausalLM, keras.Model):
    """GPT, subclass style: the same layers (in the same order) as `GPT`, run by `call`."""

    def __init__(self, vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim, max_sequence_length,
                 dropout, sequence_length, sampler="greedy", max_new_tokens=16, name="gpt", **kwargs):
        super().__init__(name=name, **kwargs)
        args = dict(vocabulary_size=vocabulary_size, num_layers=num_layers, num_heads=num_heads,
                    hidden_dim=hidden_dim, intermediate_dim=intermediate_dim,
                    max_sequence_length=max_sequence_length, dropout=dropout)
        extra = dict(sequence_length=sequence_length, sampler=sampler, max_new_tokens=max_new_tokens)
        _check(name, {**args, **extra})
        for key, value in {**args, **extra}.items():
            setattr(self, key, value)
        self.stack = _layers(**args)
        self.build((None, sequence_length))

    def build(self, input_shape):
        _forward(self.stack, keras.KerasTensor((None, self.sequence_length), dtype="int32"))
        self.built = True

    def call(self, token_ids, training=None):
        return _forward(self.stack, token_ids, training=training)

    def get_config(self):
        return config_of(self, MODEL_ARGS)


def _functional(**hp):
    return GPT(**{k: hp[k] for k in MODEL_ARGS})


def _subclass(**hp):
    return GPTSubclass(**{k: hp[k] for k in MODEL_ARGS})


STYLES = Styles(sequential=None, functional=_functional, subclass=_subclass)
