"""Transfer learning: a pretrained backbone with a new classifier head, trained in two phases.

A network trained on one task has filters that serve related tasks: early layers detect edges and
textures common to all images, later ones more task-specific parts (seed 003 "5) 전이학습", "Feature
Extraction", "Fine Tuning"; 000 "foundation model"). So:
1. feature extraction: freeze the backbone, train only the new head;
2. fine-tuning: unfreeze the top of the backbone (from a chosen layer on) and train on with a learning rate
   about ten times lower, so the pretrained filters move a little instead of being overwritten.

The backbone is any zoo image classifier by registry name ("resnet50", "simple_cnn", ...) or a
keras.applications model by its name ("MobileNetV2", "ResNet50", ...), built without its top and with
global average pooling. `backbone_weights` is None (random: the architecture only), the path of a weights
file (`.weights.h5` or `.keras`) saved from that backbone, with or without its top, or, for
keras.applications backbones only, "imagenet" (downloaded by Keras on first use).

Batch normalisation inside the backbone stays frozen in both phases, so it keeps normalising with the
statistics it was pretrained with: updating them from a small new dataset would disturb the features
(the advice of Keras' transfer-learning guide). `trainable_from` is a layer of the backbone, by name or
index into `backbone.layers`; for zoo backbones a residual, dense or inception block is one layer.
A model saved while fine-tuning reloads with those freezing flags, with one exception: in the sequential
and functional styles, batch normalisation inside a zoo block of an unfrozen stage reloads trainable
(a block's config does not list its sublayers' flags). Call `set_trainable_from` again before training
on; the subclass style (whose config holds `trainable_from`) and `fit_two_phase` do it themselves.
"""

from __future__ import annotations

from typing import Any, Sequence

import keras

from zoo.models.cnn.common import CNNModel, check_rate, set_trainable
from zoo.nn import check_positive_int
from zoo.nn import Styles, dense_head, load_weights_file, serializable

INPUT_NAME = "image"
_IMAGE_CLASSIFIER_KEYS = ("include_top", "pooling", "input_shape")


def keras_application_names() -> list[str]:
    """The model builders of keras.applications ("ResNet50", "MobileNetV2", ...)."""
    return sorted(n for n in dir(keras.applications) if n[:1].isupper() and callable(getattr(keras.applications, n)))


def _zoo_backbones() -> list[str]:
    import zoo

    return [name for name in zoo.list_models()
            if name != "transfer_learning" and all(k in zoo.get_spec(name).defaults for k in _IMAGE_CLASSIFIER_KEYS)]


def make_backbone(backbone: str, *, input_shape: Sequence[int], weights: str | None = None) -> keras.Model:
    """A feature extractor: `backbone` without its top, with global average pooling, (batch, channels) out.

    Args:
        backbone: a zoo image classifier's registry name, or a keras.applications model name.
        input_shape: (height, width, channels) of the images.
        weights: None, the path of a weights file of that backbone (its top, if any, is ignored), or
            "imagenet" for a keras.applications backbone.

    Returns:
        A functional `keras.Model`.

    Example:
        >>> features = make_backbone("resnet18", input_shape=(32, 32, 1), weights="resnet18_digits.weights.h5")
    """
    import zoo

    zoo_names = _zoo_backbones()
    if backbone in zoo_names:
        _check_weights(backbone, weights)
        model = zoo.build(backbone, "functional", include_top=False, pooling="avg", input_shape=tuple(input_shape))
    elif backbone in keras_application_names():
        pretrained = "imagenet" if weights == "imagenet" else None
        model = getattr(keras.applications, backbone)(include_top=False, weights=pretrained,
                                                      input_shape=tuple(input_shape), pooling="avg")
    else:
        from zoo.registry import _unknown

        raise _unknown("backbone", backbone, zoo_names + keras_application_names(),
                       listing="`zoo list` (image classifiers) and keras.applications")
    if weights not in (None, "imagenet"):
        load_weights_file(model, weights)
    return model


def _check_weights(backbone: str, weights) -> None:
    if weights == "imagenet" and backbone not in keras_application_names():
        raise ValueError(f"Zoo backbones have no ImageNet weights; pass the path of a weights file saved from "
                         f"{backbone!r}, or use a keras.applications backbone. Received: backbone_weights='imagenet'")


def load_backbone_weights(model: keras.Model, backbone: str, weights: str | None, input_shape) -> None:
    """Load `weights` (as `make_backbone` takes them) into the backbone `model` that `backbone` names."""
    if weights is None:
        return
    _check_weights(backbone, weights)
    if weights == "imagenet":
        model.set_weights(make_backbone(backbone, input_shape=input_shape, weights="imagenet").get_weights())
    else:
        load_weights_file(model, weights)


def backbone_of(model: keras.Model) -> keras.Model:
    """The backbone inside a transfer-learning model (its first layer that is itself a model)."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            return layer
    raise ValueError(f"{model.name} has no backbone: none of its layers is a keras.Model.")


def _start_index(backbone: keras.Model, trainable_from: int | str) -> int:
    layers = backbone.layers
    if isinstance(trainable_from, str):
        names = [layer.name for layer in layers]
        if trainable_from not in names:
            from zoo.registry import _unknown

            raise _unknown(f"layer of {backbone.name}:", trainable_from, names, listing="`backbone.layers`")
        return names.index(trainable_from)
    in_range = isinstance(trainable_from, int) and -len(layers) <= trainable_from < len(layers)
    if isinstance(trainable_from, bool) or not in_range:
        raise ValueError(f"`trainable_from` must be None, a layer name or an index in [-{len(layers)}, {len(layers)}) "
                         f"of {backbone.name}. Received: trainable_from={trainable_from!r}")
    return trainable_from % len(layers)


def set_trainable_from(backbone: keras.Model, trainable_from: int | str | None) -> None:
    """Freeze `backbone` below `trainable_from` and unfreeze it from there on (None: freeze it all).

    Batch normalisation stays frozen everywhere, so it keeps its pretrained statistics.

    Args:
        backbone: the backbone model (see `backbone_of`).
        trainable_from: None, a layer name, or an index into `backbone.layers` (negative counts from the end).
    """
    if trainable_from is None:
        set_trainable(backbone, False)
        return
    start = _start_index(backbone, trainable_from)
    set_trainable(backbone, True)
    for index, layer in enumerate(backbone.layers):
        set_trainable(layer, index >= start)
    # Block layers hold their batch normalisation inside; Keras' own walk over nested layers finds it.
    for layer in backbone._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            set_trainable(layer, False)


def transfer_layers(
    *, backbone="resnet50", input_shape=(224, 224, 3), classes=2, dropout=0.2, classifier_activation="softmax",
    backbone_weights=None, **_,
) -> list[keras.layers.Layer]:
    """The layers: the backbone (a model), `head_dropout`, `predictions`.

    Args:
        backbone: a zoo image classifier's registry name, or a keras.applications model name.
        input_shape: (height, width, channels) of the images.
        classes: number of classes of the new task.
        dropout: dropout rate before the new classifier.
        classifier_activation: activation of the new classifier (None for logits).
        backbone_weights: see `make_backbone`.

    Returns:
        The list of layers that the three styles stack.
    """
    check_positive_int("classes", classes)
    check_rate("dropout", dropout)
    return [
        make_backbone(backbone, input_shape=input_shape, weights=backbone_weights),
        keras.layers.Dropout(dropout, name="head_dropout"),
        dense_head(classes, classifier_activation),
    ]


@serializable
class TransferModel(CNNModel):
    """A transfer-learning classifier as a `keras.Model` subclass.

    Its config holds the architecture (which backbone, which head) and the freezing point, not the
    pretrained weights' file: a saved model carries its weights, and the file need not exist where it
    is loaded. Load pretrained weights with `make_backbone(..., weights=...)` or `zoo.build(...,
    backbone_weights=...)`.

    Args:
        backbone: a zoo image classifier's registry name, or a keras.applications model name.
        input_shape: (height, width, channels) of the images.
        classes: number of classes of the new task.
        trainable_from: None (backbone frozen), or the backbone layer (name or index) to train from.
        dropout: dropout rate before the new classifier.
        classifier_activation: activation of the new classifier (None for logits).

    Example:
        >>> model = TransferModel(backbone="resnet18", input_shape=(32, 32, 1), classes=5)
    """

    default_name = "transfer_learning"

    def __init__(self, backbone="resnet50", input_shape=(224, 224, 3), classes=2, trainable_from=None, dropout=0.2,
                 classifier_activation="softmax", name=None):
        super().__init__(name=name, backbone=backbone, input_shape=tuple(input_shape), classes=classes,
                         trainable_from=trainable_from, dropout=dropout, classifier_activation=classifier_activation)
        set_trainable_from(self.stack[0], trainable_from)

    make_layers = staticmethod(transfer_layers)


def _finish(model: keras.Model, trainable_from) -> keras.Model:
    set_trainable_from(backbone_of(model), trainable_from)
    return model


def _sequential(*, trainable_from=None, **hparams):
    layers = transfer_layers(**hparams)
    inputs = keras.Input(shape=tuple(hparams["input_shape"]), name=INPUT_NAME)
    return _finish(keras.Sequential([inputs, *layers], name="transfer_learning"), trainable_from)


def _functional(*, trainable_from=None, **hparams):
    layers = transfer_layers(**hparams)
    inputs = x = keras.Input(shape=tuple(hparams["input_shape"]), name=INPUT_NAME)
    for layer in layers:
        x = layer(x)
    return _finish(keras.Model(inputs, x, name="transfer_learning"), trainable_from)


def _subclass(*, backbone, input_shape, backbone_weights=None, **hparams):
    # The constructor builds the architecture; the pretrained weights are loaded here, not from the config.
    model = TransferModel(backbone=backbone, input_shape=input_shape, **hparams)
    load_backbone_weights(backbone_of(model), backbone, backbone_weights, input_shape)
    return model


TRANSFER_LEARNING = Styles(sequential=_sequential, functional=_functional, subclass=_subclass)


def training_phases(hparams: dict, epochs: int) -> list:
    """The pipeline's training stages (a recipe's `phases`): feature extraction, then fine-tuning.

    The first half of the epochs trains the head on the frozen backbone; the rest unfreezes the backbone
    from `trainable_from` on and trains at a tenth of the learning rate. With `trainable_from=None` (the
    backbone stays frozen) or a single epoch, there is only the feature-extraction stage.
    """
    from zoo.tasks import Phase

    start = hparams.get("trainable_from")
    freeze = _Unfreeze(None)
    if start is None or epochs < 2:
        return [Phase("feature_extraction", epochs, prepare=freeze)]
    first = epochs // 2
    return [Phase("feature_extraction", first, prepare=freeze),
            Phase("fine_tuning", epochs - first, learning_rate_scale=0.1, prepare=_Unfreeze(start))]


class _Unfreeze:
    """Set a transfer model's backbone trainable from a layer on (None: all frozen) before a stage compiles."""

    def __init__(self, start):
        self.start = start

    def __call__(self, model):
        backbone = backbone_of(model)
        if self.start is not None:
            _start_index(backbone, self.start)  # fail on a bad layer with a clear error
        set_trainable_from(backbone, self.start)


def fit_two_phase(
    model: keras.Model, x: Any, y: Any = None, *, trainable_from: int | str, validation_data: Any = None,
    feature_epochs: int = 5, fine_tune_epochs: int = 5, learning_rate: float = 1e-3,
    fine_tune_learning_rate: float | None = None, loss: str = "sparse_categorical_crossentropy",
    metrics: Sequence[str] = ("accuracy",), batch_size: int | None = 32, callbacks: Sequence | None = None,
    verbose: int = 0,
) -> dict[str, dict[str, list[float]]]:
    """Train a transfer-learning model in the two phases: feature extraction, then fine-tuning.

    Phase 1 freezes the whole backbone and trains the head with `learning_rate`. Phase 2 unfreezes the
    backbone from `trainable_from` on (batch normalisation stays frozen), recompiles (Keras reads
    `trainable` when compiling) and trains on with `fine_tune_learning_rate` (default: a tenth of
    `learning_rate`), counting epochs on from phase 1.

    Args:
        model: a model from `zoo.build("transfer_learning", ...)` (any style).
        x, y: training data as `keras.Model.fit` takes it (arrays, or a `tf.data.Dataset` in `x`).
        trainable_from: the backbone layer (name or index) that fine-tuning trains from.
        validation_data: as `keras.Model.fit` takes it.
        feature_epochs, fine_tune_epochs: epochs of each phase.
        learning_rate, fine_tune_learning_rate: Adam's learning rate in each phase.
        loss, metrics: what `compile` gets in both phases.
        batch_size: batch size for array inputs (None for a dataset).
        callbacks: Keras callbacks for both phases.
        verbose: Keras' verbosity.

    Returns:
        {"feature_extraction": history, "fine_tuning": history}, each `History.history`.

    Example:
        >>> model = zoo.build("transfer_learning", backbone="resnet18", backbone_weights="r18.weights.h5",
        ...                   input_shape=(32, 32, 1), classes=5)
        >>> histories = fit_two_phase(model, x, y, trainable_from="conv5_block1", feature_epochs=3,
        ...                           fine_tune_epochs=3)
    """
    if trainable_from is None:
        raise ValueError("Fine-tuning needs a layer to train from: `trainable_from` must be a layer name or index.")
    check_positive_int("feature_epochs", feature_epochs)
    check_positive_int("fine_tune_epochs", fine_tune_epochs)
    if not learning_rate > 0:
        raise ValueError(f"`learning_rate` must be positive. Received: learning_rate={learning_rate!r}")
    fine_tune_learning_rate = learning_rate / 10 if fine_tune_learning_rate is None else fine_tune_learning_rate
    if not fine_tune_learning_rate > 0:
        raise ValueError(f"`fine_tune_learning_rate` must be positive. Received: {fine_tune_learning_rate!r}")
    backbone = backbone_of(model)
    _start_index(backbone, trainable_from)  # a bad layer fails before an hour of phase 1, not after.
    fit_args = {"validation_data": validation_data, "batch_size": batch_size, "callbacks": list(callbacks or []),
                "verbose": verbose}
    histories = {}
    for phase, start, rate, epochs in (
        ("feature_extraction", None, learning_rate, (0, feature_epochs)),
        ("fine_tuning", trainable_from, fine_tune_learning_rate, (feature_epochs, feature_epochs + fine_tune_epochs)),
    ):
        set_trainable_from(backbone, start)
        model.compile(optimizer=keras.optimizers.Adam(rate), loss=loss, metrics=list(metrics))
        history = model.fit(x, y, initial_epoch=epochs[0], epochs=epochs[1], **fit_args)
        histories[phase] = history.history
    return histories
