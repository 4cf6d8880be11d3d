"""What BERT and GPT share: hyperparameter checks, the functional-subclass pattern, and loading KerasHub
weights through `load_weights`."""

from __future__ import annotations

from typing import Any

import keras

from zoo.nn import check_positive_int

ARCHITECTURE = ("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim",
                "max_sequence_length")
SAMPLERS = ("greedy", "top_k", "top_p")


def check_hparams(model: str, hp: dict[str, Any]) -> None:
    """One-line ValueErrors for hyperparameters the architecture cannot take."""
    for name in (*ARCHITECTURE, "sequence_length"):
        check_positive_int(name, hp[name])
    if hp["hidden_dim"] % hp["num_heads"]:
        raise ValueError(f"{model}: `hidden_dim` must be a multiple of `num_heads` (each head gets an equal slice "
                         f"of the model dimension). Received: hidden_dim={hp['hidden_dim']}, "
                         f"num_heads={hp['num_heads']}")
    if hp["sequence_length"] > hp["max_sequence_length"]:
        raise ValueError(f"{model}: `sequence_length` cannot exceed the `max_sequence_length` positions learned. "
                         f"Received: sequence_length={hp['sequence_length']}, "
                         f"max_sequence_length={hp['max_sequence_length']}")
    dropout = hp["dropout"]
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"{model}: `dropout` must be in [0, 1). Received: dropout={dropout!r}")


class KerasHubLoading:
    """Mixin of the zoo language models: `load_weights` also takes a KerasHub backbone's `.weights.h5` file
    (recognised by its layout), converted by weight path and checked weight by weight
    (`zoo.models.language.weights`); any other file loads as Keras loads it."""

    family = ""

    def load_weights(self, filepath, *args, **kwargs):
        from zoo.models.language import weights

        if weights.is_keras_hub_file(filepath):
            weights.load_keras_hub_file(self, filepath)
            return
        super().load_weights(filepath, *args, **kwargs)

    def architecture(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ARCHITECTURE}


def config_of(model, names) -> dict[str, Any]:
    return {"name": model.name, **{k: getattr(model, k) for k in names}}


def functional_from_config(cls, config):
    config = dict(config)
    for key in ("trainable", "dtype"):
        config.pop(key, None)
    return cls(**config)


def symbolic_ids(name: str, length: int) -> keras.KerasTensor:
    return keras.Input(shape=(length,), dtype="int32", name=name)
