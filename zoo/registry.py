"""The model registry: one `ModelSpec` per catalog name, discovered from `zoo/models/<family>/spec.py`.

Adding a model means adding its Keras module under its family folder and a `ModelSpec` to that family's
`spec.py` list `SPECS`; nothing else changes. Discovery imports only the `spec` modules, which never import
TensorFlow, so listing, showing and compiling stay cheap.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import pkgutil
from typing import Any, Iterable

from zoo.spec import STYLES, ModelSpec


@functools.lru_cache(maxsize=1)
def _specs() -> dict[str, ModelSpec]:
    import zoo.models

    found: dict[str, ModelSpec] = {}
    for info in sorted(pkgutil.iter_modules(zoo.models.__path__), key=lambda i: i.name):
        if not info.ispkg:
            continue
        module = importlib.import_module(f"zoo.models.{info.name}.spec")
        for spec in module.SPECS:
            if spec.name in found:
                raise RuntimeError(f"Model {spec.name!r} is registered twice (zoo.models.{info.name}).")
            found[spec.name] = spec
    return found


def list_models() -> list[str]:
    """Sorted registry names of every model in the zoo."""
    return sorted(_specs())


def _unknown(kind: str, received: Any, allowed: Iterable[str], listing: str | None = None) -> ValueError:
    """A one-line error naming what was received, close matches, and what is allowed (or where to look)."""
    allowed = sorted(allowed)
    close = difflib.get_close_matches(str(received), allowed, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    choices = f"{len(allowed)} choices: see {listing}" if listing else f"Allowed: {', '.join(allowed)}"
    return ValueError(f"Unknown {kind} {received!r}.{hint} {choices}.")


def get_spec(name: str) -> ModelSpec:
    """The `ModelSpec` registered under `name`; ValueError with close matches if there is none."""
    specs = _specs()
    if name not in specs:
        raise _unknown("model", name, specs, listing="`zoo list`")
    return specs[name]


def check_style(spec: ModelSpec, style: str) -> None:
    """Raise ValueError if `style` is unknown or cannot express `spec`'s model (quoting the reason)."""
    if style not in STYLES:
        raise _unknown("style", style, STYLES)
    reason = spec.styles.get(style)
    if reason is not None:
        raise ValueError(f"{spec.name} cannot be built as {style!r}: {reason}")


def resolve_hparams(spec: ModelSpec, hparams: dict[str, Any]) -> dict[str, Any]:
    """The spec's defaults updated with `hparams`; ValueError naming any unknown hyperparameter."""
    for key in hparams:
        if key not in spec.defaults:
            raise _unknown(f"hyperparameter for {spec.name}:", key, spec.defaults)
    return {**spec.defaults, **hparams}


def check_dataset(spec: ModelSpec, dataset: str) -> None:
    """Raise ValueError if `dataset` is not one this model is trained on."""
    if dataset not in spec.datasets:
        raise _unknown(f"dataset for {spec.name}:", dataset, spec.datasets)


def build(name: str, style: str = "functional", **hparams: Any):
    """Build the zoo model `name` in `style` as an uncompiled `keras.Model`.

    Args:
        name: a registry name (`zoo.list_models()`).
        style: "sequential", "functional" or "subclass".
        **hparams: hyperparameters, any of `zoo.get_spec(name).defaults`. Image classifiers take
            keras.applications' `include_top`, `input_shape`, `pooling`, `classes`,
            `classifier_activation`, and `weights` (None or the path of a weights file).

    Returns:
        An uncompiled, built `keras.Model`.

    Example:
        >>> model = zoo.build("lenet5", style="sequential", classes=10)
    """
    spec = get_spec(name)
    check_style(spec, style)
    config = resolve_hparams(spec, hparams)
    module_name, _, attr = spec.impl.partition(":")
    styles = getattr(importlib.import_module(module_name), attr)
    # `weights` is not architecture: it is loaded into the model once the model exists.
    weights = config.pop("weights", None)
    model = getattr(styles, style)(**config)
    if weights is not None:
        from zoo.nn import load_weights_file

        load_weights_file(model, weights)
    return model
