"""KerasHub backbone weights in the zoo's BERT and GPT models, matched by weight path and checked.

The zoo names its layers as KerasHub's `BertBackbone` and `GPT2Backbone` do (`token_embedding`,
`transformer_layer_3/self_attention/query/kernel`, ...), so a weight's path, once the model prefix is
dropped, says where it goes; BERT's attention is `self_attention_layer` in KerasHub (renamed here). Every
weight of the zoo model's backbone must find a KerasHub weight of the same shape and every KerasHub weight
must be used: otherwise nothing is loaded and a one-line ValueError names the missing, unexpected and
mismatched weights. BERT's masked-LM head is not part of a backbone and keeps its own values.

- `from_keras_hub(model, backbone)`: copy a KerasHub backbone object's weights.
- `load_keras_hub_file(model, path)`: a `.weights.h5` file a KerasHub backbone saved (what
  `backbone.save_weights` writes); the models' `load_weights` calls it for such files, so
  `zoo.build("bert", weights="bert_base.weights.h5")` works.
- `load_pretrained(model, weights)`: either of the two.
"""

from __future__ import annotations

import os
import re

import numpy as np

_OWNER = re.compile(r"^(token_embedding|position_embedding|segment_embedding|embeddings_layer_norm|"
                    r"transformer_layer_\d+|pooled_dense|layer_norm|mlm_\w+)$")
_RENAMES = {"self_attention_layer": "self_attention"}
_HEAD_PREFIX = "mlm_"
_SHOWN = 4


def weight_key(path: str) -> str:
    """A weight's path from its top layer on (`bert/backbone/pooled_dense/kernel` -> `pooled_dense/kernel`),
    with KerasHub's sublayer names translated to the zoo's."""
    parts = path.split("/")
    start = next((i for i, part in enumerate(parts) if _OWNER.match(part)), 0)
    return "/".join(_RENAMES.get(part, part) for part in parts[start:])


def _keyed(variables) -> dict:
    out = {}
    for variable in variables:
        key = weight_key(variable.path)
        if key in out and out[key] is not variable:
            raise RuntimeError(f"Two weights map to {key!r}; the weight paths are ambiguous.")
        out[key] = variable
    return out


def _reference_class(model):
    import keras_hub

    family = getattr(model, "family", None)
    if family == "bert":
        return keras_hub.models.BertBackbone
    if family == "gpt":
        return keras_hub.models.GPT2Backbone
    raise ValueError(f"KerasHub weights load into the zoo's bert and gpt models. Received: {model.name!r}")


def _listing(kind: str, keys) -> str:
    keys = sorted(keys)
    more = f" (+{len(keys) - _SHOWN} more)" if len(keys) > _SHOWN else ""
    return f"{kind} {len(keys)}: {', '.join(keys[:_SHOWN])}{more}"


def from_keras_hub(model, backbone) -> None:
    """Copy a KerasHub `BertBackbone` (into `bert`) or `GPT2Backbone` (into `gpt`) into `model`, all or nothing.

    Raises:
        ValueError (one line) naming the zoo weights the backbone lacks, the backbone weights the zoo model
        has no place for, and the weights whose shapes differ.
    """
    expected = _reference_class(model)
    if not isinstance(backbone, expected):
        raise ValueError(f"{model.name} loads a keras_hub.models.{expected.__name__}. "
                         f"Received: {type(backbone).__name__}")
    ours = {k: v for k, v in _keyed(model.weights).items() if not k.startswith(_HEAD_PREFIX)}
    theirs = _keyed(backbone.weights)
    missing = set(ours) - set(theirs)
    unexpected = set(theirs) - set(ours)
    mismatched = {f"{k} {tuple(ours[k].shape)} vs {tuple(theirs[k].shape)}" for k in set(ours) & set(theirs)
                  if tuple(ours[k].shape) != tuple(theirs[k].shape)}
    if missing or unexpected or mismatched:
        problems = [_listing(kind, keys) for kind, keys in (("missing", missing), ("unexpected", unexpected),
                                                            ("mismatched", mismatched)) if keys]
        raise ValueError(f"The {expected.__name__} does not fit {model.name} (build the zoo model with the "
                         f"backbone's configuration); nothing was loaded. {'; '.join(problems)}.")
    for key, variable in ours.items():
        variable.assign(np.asarray(theirs[key].numpy() if hasattr(theirs[key], "numpy") else theirs[key]))


def is_keras_hub_file(path) -> bool:
    """Whether `path` is a `.weights.h5` file written by a KerasHub BERT or GPT-2 backbone."""
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path).endswith(".weights.h5"):
        return False
    if not os.path.exists(path):
        return False
    import h5py

    with h5py.File(path, "r") as f:
        layers = f.get("layers")
        return layers is not None and any(name.startswith(("transformer_encoder", "transformer_decoder"))
                                          for name in layers.keys())


def load_keras_hub_file(model, path) -> None:
    """Load a KerasHub backbone's `.weights.h5` into `model`: into a KerasHub backbone of the model's
    configuration first (Keras checks the file against it), then `from_keras_hub`."""
    reference = _reference_class(model)
    config = model.architecture()
    if reference.__name__ == "BertBackbone":
        config["num_segments"] = model.num_segments
    backbone = reference(**config)
    try:
        backbone.load_weights(os.fspath(path))
    except Exception as err:  # Keras raises ValueError (and others) for files that do not fit
        first = next((line.strip() for line in str(err).splitlines() if line.strip()), type(err).__name__)
        raise ValueError(f"Cannot load {os.fspath(path)!r} into {model.name}: it does not fit a "
                         f"{reference.__name__} of the model's configuration {config}: {first}") from None
    from_keras_hub(model, backbone)


def load_pretrained(model, weights) -> None:
    """`weights` a KerasHub backbone object or the path of its `.weights.h5` file."""
    if isinstance(weights, (str, os.PathLike)):
        if not is_keras_hub_file(weights):
            raise ValueError(f"Not a KerasHub backbone weights file (.weights.h5). Received: weights={weights!r}")
        load_keras_hub_file(model, weights)
    else:
        from_keras_hub(model, weights)
