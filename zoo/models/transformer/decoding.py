"""Free decoding of a zoo transformer: the encoder once, then one cached decoder step per token, through
KerasHub's samplers (greedy, top-k, top-p), as KerasHub's own generative models decode.

The sampler runs the loop: `sampler(next, prompt, cache=..., index=1)` with `prompt` = [BOS, 0, ..., 0]
(batch, target_length + 1). At each `index` it calls `next(prompt, cache, index)`, which feeds the token at
`index - 1` through the decoder at that position (`TransformerDecoder.step`, writing that position's keys and
values into the cache) and returns the next-token logits; the sampler picks a token and writes it at `index`.
So every step costs one position, not a rerun over the whole prefix, and the result equals the full
teacher-forced model's on the same prefix (a test checks it). The loop stops early once every row has
written EOS. Afterwards, as `zoo.models.sequence.decoding.GreedyDecoding` does, EOS is kept and every id after
the end (EOS, or a predicted PAD) is set to PAD: the decoder is causal, so what it reads after a row's end
changes nothing before it.

Evaluation decodes greedily (deterministic); the deployed model uses the spec's `sampler` hyperparameter
(`transformer_serving`, from the settings `adapt_for_decoding` stores in the dataset's info). What the
deployed model takes and answers is the sequence task's: raw text in, text out (`zoo.models.sequence.text_io`).
"""

from __future__ import annotations

from typing import Any, Mapping

import keras
from keras import ops

from zoo.models.sequence.decoding import SOURCE
from zoo.models.transformer.layers import padding_mask
from zoo.nn import check_positive_int, serializable

PAD_ID, BOS_ID, EOS_ID = 0, 1, 2


def make_sampler(sampler: str = "greedy", k: int = 5, p: float = 0.9, seed: int | None = None):
    """The KerasHub sampler named by the `sampler` hyperparameter."""
    import keras_hub

    from zoo.models.transformer.transformer import check_decoding_args

    check_decoding_args(sampler, k, p)
    if sampler == "greedy":
        return keras_hub.samplers.GreedySampler()
    if sampler == "top_k":
        return keras_hub.samplers.TopKSampler(k=k, seed=seed)
    return keras_hub.samplers.TopPSampler(p=p, seed=seed)


def decode(model: keras.Model, source, target_length: int, *, sampler=None, bos_id: int = BOS_ID,
           eos_id: int = EOS_ID):
    """Decoded ids (batch, target_length), int32, of a zoo transformer (either style) for `source` ids.

    Args:
        model: a zoo transformer (`zoo.build("transformer", ...)`).
        source: int ids (batch, source_length), right-padded with 0.
        target_length: tokens to write.
        sampler: a KerasHub sampler (default: greedy).

    Example:
        >>> ids = decode(model, source_ids, 11, sampler=keras_hub.samplers.TopKSampler(k=3, seed=0))
    """
    from zoo.models.transformer.transformer import transformer_parts

    parts = transformer_parts(model)
    if parts is None:
        raise ValueError(f"{model.name} is not a zoo transformer; decode it with zoo.models.sequence.decoding.")
    sampler = sampler or make_sampler("greedy")
    encoder, decoder, head = parts["encoder"], parts["decoder"], parts["predictions"]
    source = ops.cast(source, "int32")
    memory_mask = padding_mask(source)
    memory_key_values = decoder.project_memory(encoder(source, training=False))
    batch = ops.shape(source)[0]
    cache = decoder.start_cache(batch, target_length, dtype=decoder.compute_dtype)
    first = ops.cast(ops.arange(target_length + 1) == 0, "int32") * bos_id
    prompt = ops.zeros((batch, 1), dtype="int32") + first[None, :]

    def next_logits(prompt, cache, index):
        token = ops.expand_dims(ops.take(prompt, index - 1, axis=1), axis=1)
        states, cache = decoder.step(token, index - 1, cache, memory_key_values, memory_mask)
        # The output layer's logits (its softmax is the sampler's, in float32).
        logits = ops.matmul(ops.cast(states[:, 0, :], "float32"), ops.cast(head.kernel, "float32"))
        return logits + ops.cast(head.bias, "float32"), None, cache

    written = sampler(next_logits, prompt, cache=cache, index=1, stop_token_ids=[eos_id], model=model)
    return end_at_eos(written[:, 1:], eos_id)


def end_at_eos(ids, eos_id: int = EOS_ID):
    """Every id after a row's first EOS or PAD set to PAD (the end itself kept)."""
    ids = ops.cast(ids, "int32")
    ends = ops.cast((ids == eos_id) | (ids == PAD_ID), "int32")
    ended_before = (ops.cumsum(ends, axis=1) - ends) > 0
    return ops.where(ended_before, PAD_ID, ids)


@serializable
class SampledDecoding(keras.layers.Layer):
    """Source ids (batch, source_length) -> decoded target ids (batch, target_length), int32, with a sampler.

    Args:
        transformer: a trained zoo transformer (either style).
        target_length: steps to decode.
        sampler, k, p: "greedy", "top_k" (among the k most probable tokens) or "top_p" (nucleus p).
        seed: the sampling seed (None: a random one); its state is this layer's, so it exports with it.
        bos_id, eos_id: the reserved ids.
    """

    def __init__(self, transformer: keras.Model, target_length: int, sampler: str = "greedy", k: int = 5,
                 p: float = 0.9, seed: int | None = None, bos_id: int = BOS_ID, eos_id: int = EOS_ID, **kwargs):
        super().__init__(**kwargs)
        self.transformer = transformer
        self.target_length = check_positive_int("target_length", target_length)
        self.sampler_name, self.k, self.p, self.seed = sampler, k, p, seed
        self.bos_id, self.eos_id = bos_id, eos_id
        self.sampler = make_sampler(sampler, k, p, seed)
        if hasattr(self.sampler, "seed_generator"):
            # Tracked by this layer (a sampler is no layer): a SavedModel must own every variable it reads.
            self.seed_generator = keras.random.SeedGenerator(seed, name="sampler_seed")
            self.sampler.seed_generator = self.seed_generator

    def call(self, source):
        return decode(self.transformer, source, self.target_length, sampler=self.sampler, bos_id=self.bos_id,
                      eos_id=self.eos_id)

    def compute_output_spec(self, source):
        return keras.KerasTensor((source.shape[0], self.target_length), dtype="int32")

    def get_config(self):
        return {**super().get_config(), "transformer": keras.saving.serialize_keras_object(self.transformer),
                "target_length": self.target_length, "sampler": self.sampler_name, "k": self.k, "p": self.p,
                "seed": self.seed, "bos_id": self.bos_id, "eos_id": self.eos_id}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["transformer"] = keras.saving.deserialize_keras_object(config["transformer"])
        return cls(**config)


def sampled_decoder(model: keras.Model, *, source_length: int, target_length: int, sampler: str = "greedy",
                    k: int = 5, p: float = 0.9, seed: int | None = None, bos_id: int = BOS_ID, eos_id: int = EOS_ID,
                    name: str | None = None) -> keras.Model:
    """The deployable decoder: a functional model from int32 "source" ids to int32 "token_ids".

    Example:
        >>> decoder = sampled_decoder(model, source_length=10, target_length=11, sampler="top_p", p=0.9)
        >>> decoder.export("saved_model")
    """
    source = keras.Input((check_positive_int("source_length", source_length),), dtype="int32", name=SOURCE)
    ids = SampledDecoding(model, target_length, sampler, k, p, seed, bos_id, eos_id, name="token_ids")(source)
    return keras.Model(source, ids, name=name or f"{model.name}_{sampler}_decoder")


# --------------------------------------------------------------------------- the pipeline's two hooks
def adapt_for_decoding(spec, hparams: Mapping[str, Any], splits):
    """The sequence task's adapter (`zoo.tasks.sequence.adapt_sequences`), which also records how the deployed
    model decodes (`sampler`, `k`, `p`) in the dataset's info, which serving reads."""
    from zoo.models.transformer.transformer import check_decoding_args
    from zoo.tasks.sequence import adapt_sequences

    splits = adapt_sequences(spec, hparams, splits)
    check_decoding_args(hparams["sampler"], hparams["k"], hparams["p"])
    splits.info = {**splits.info, "decoding": {"sampler": hparams["sampler"], "k": int(hparams["k"]),
                                               "p": float(hparams["p"])}}
    return splits


def _greedy_decoding_layer(model: keras.Model):
    """The `GreedyDecoding` layer inside the sequence task's serving model (nested models searched), or None."""
    for layer in getattr(model, "layers", []):
        if hasattr(layer, "seq2seq") and hasattr(layer, "target_length"):
            return layer
        found = _greedy_decoding_layer(layer) if isinstance(layer, keras.Model) else None
        if found is not None:
            return found
    return None


def transformer_serving(served: keras.Model, info: Mapping[str, Any]) -> keras.Model:
    """The deployed transformer: the sequence task's served model with the cached, sampled decoder inside.

    The task hands its serving wrapper the greedy decoder it built around the trained model
    (`zoo.models.sequence.decoding.greedy_decoder`), itself wrapped for raw text in and out when the task
    serves text (`zoo.models.sequence.text_io.text_decoder`: a sentence in, its translation out). This
    rebuilds the same thing around `sampled_decoder`, with the sampler that `info["decoding"]` names (greedy
    when absent). Given a zoo transformer itself, it returns the ids-to-ids decoder.
    """
    greedy = _greedy_decoding_layer(served)
    model = served if greedy is None else greedy.seq2seq
    target_length = int(info["target_length"]) if greedy is None else greedy.target_length
    settings = dict(info.get("decoding", {}))
    decoder = sampled_decoder(model, source_length=int(info["source_length"]), target_length=target_length,
                              sampler=settings.get("sampler", "greedy"), k=settings.get("k", 5),
                              p=settings.get("p", 0.9), bos_id=int(info.get("bos_id", BOS_ID)),
                              eos_id=int(info.get("eos_id", EOS_ID)), name=f"{model.name}_decoder")
    takes_text = greedy is not None and "string" in str(served.inputs[0].dtype)
    if not takes_text:
        return decoder
    from zoo.models.sequence.text_io import text_decoder

    return text_decoder(decoder, info)
