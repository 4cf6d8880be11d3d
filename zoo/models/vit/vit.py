"""Vision Transformer (Dosovitskiy et al. 2020, "An Image is Worth 16x16 Words: Transformers for Image
Recognition at Scale").

The image is cut into non-overlapping `patch_size` x `patch_size` patches, each linearly projected to
`hidden_dim` (a convolution whose stride is its kernel size does exactly that); a learned [CLS] token is
put in front of the patch sequence and a learned position embedding added to every token (seed 002
"8장": patches, position embedding, encoder). Then `num_layers` pre-norm Transformer encoder blocks:
x + MHA(LN(x)), then x + MLP(LN(x)) with a GELU MLP of `mlp_dim` units, where multi-head attention
splits `hidden_dim` across `num_heads` heads of `hidden_dim // num_heads` dimensions each. A final layer
normalisation closes the encoder; the classifier reads the [CLS] token.

Every piece is a layer and the model is a chain of them, so the sequential, functional and subclass styles
hold the same weights in the same order. The attention softmax computes in float32 under mixed precision
(`zoo.attention.Float32SoftmaxAttention`, the zoo's one attention arithmetic): in bfloat16 the normalisation
of long rows of scores loses most of its digits.

Configurations: the defaults are ViT-B/16 at 224x224x3 (12 layers, 768 hidden, 12 heads, 3072 MLP), whose
backbone (everything but the classifier) has 85,798,656 parameters, as KerasHub's `ViTBackbone` built
from the same configuration; `from_keras_hub` copies such a backbone's weights in. The spec's `small`
configuration (8x8 digits, 2x2 patches) is what the local dry run trains.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from zoo.attention import Float32SoftmaxAttention
from zoo.models.cnn.common import inherit_trainable
from zoo.nn import ChainModel, chain_styles, check_positive_int, dense_head, serializable

POOLINGS = (None, "token", "avg")
LAYER_NORM_EPSILON = 1e-6  # the paper's (and KerasHub's) epsilon


@serializable
class PatchEmbedding(keras.layers.Layer):
    """Cut an image into patches and project each to `hidden_dim`: (B, H, W, C) -> (B, H*W/p^2, hidden_dim).

    A Conv2D with kernel size and stride `patch_size` is a linear projection of each flattened patch.

    Args:
        patch_size: side of the square patches; the image's height and width must be multiples of it.
        hidden_dim: width of the patch embeddings.

    Example:
        >>> tokens = PatchEmbedding(4, 64)(keras.ops.ones((1, 32, 32, 3)))  # (1, 64, 64)
    """

    def __init__(self, patch_size: int, hidden_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.patch_size = check_positive_int("patch_size", patch_size)
        self.hidden_dim = check_positive_int("hidden_dim", hidden_dim)
        self.projection = keras.layers.Conv2D(hidden_dim, patch_size, strides=patch_size, padding="valid",
                                              name="projection", dtype=self.dtype_policy)
        inherit_trainable(self)

    def build(self, input_shape):
        self.projection.build(input_shape)
        self.built = True

    def call(self, images):
        patches = self.projection(images)
        return ops.reshape(patches, (ops.shape(patches)[0], -1, self.hidden_dim))

    def compute_output_shape(self, input_shape):
        batch, height, width = input_shape[0], input_shape[1], input_shape[2]
        count = None if height is None or width is None else (height // self.patch_size) * (width // self.patch_size)
        return (batch, count, self.hidden_dim)

    def get_config(self):
        return {**super().get_config(), "patch_size": self.patch_size, "hidden_dim": self.hidden_dim}


@serializable
class ClassToken(keras.layers.Layer):
    """Put a learned [CLS] token in front of a token sequence: (B, N, D) -> (B, N + 1, D)."""

    def build(self, input_shape):
        self.token = self.add_weight(shape=(1, 1, input_shape[-1]), initializer="zeros", name="class_token")
        self.built = True

    def call(self, tokens):
        token = ops.cast(self.token, tokens.dtype)
        return ops.concatenate([ops.tile(token, (ops.shape(tokens)[0], 1, 1)), tokens], axis=1)

    def compute_output_shape(self, input_shape):
        length = None if input_shape[1] is None else input_shape[1] + 1
        return (input_shape[0], length, input_shape[-1])


@serializable
class PatchPositionEmbedding(keras.layers.Layer):
    """Add a learned embedding to each position of a fixed-length sequence: (B, N, D) -> (B, N, D)."""

    def build(self, input_shape):
        if input_shape[1] is None:
            raise ValueError(f"{self.name}: learned positions need a fixed sequence length. "
                             f"Received: input_shape={tuple(input_shape)!r}")
        self.embeddings = self.add_weight(shape=(input_shape[1], input_shape[-1]),
                                          initializer=keras.initializers.RandomNormal(stddev=0.02),
                                          name="embeddings")
        self.built = True

    def call(self, tokens):
        return tokens + ops.cast(self.embeddings, tokens.dtype)[None]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


@serializable
class ViTEncoderBlock(keras.layers.Layer):
    """A pre-norm Transformer encoder block (ViT, eq. 2-3): x + MHA(LN(x)), then x + MLP(LN(x)).

    Args:
        num_heads: attention heads; `hidden_dim` must be a multiple of it (each head gets hidden_dim / num_heads).
        hidden_dim: width of the tokens.
        mlp_dim: hidden units of the two-layer GELU MLP.
        dropout: dropout after the attention and after each MLP layer.
        attention_dropout: dropout on the attention probabilities.
        epsilon: layer-normalisation epsilon.

    Example:
        >>> block = ViTEncoderBlock(num_heads=4, hidden_dim=64, mlp_dim=128, name="block_1")
        >>> y = block(keras.ops.ones((2, 17, 64)))  # (2, 17, 64)
    """

    def __init__(self, num_heads: int, hidden_dim: int, mlp_dim: int, dropout: float = 0.0,
                 attention_dropout: float = 0.0, epsilon: float = LAYER_NORM_EPSILON, **kwargs):
        super().__init__(**kwargs)
        check_heads(hidden_dim, num_heads)
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.mlp_dim = check_positive_int("mlp_dim", mlp_dim)
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.epsilon = epsilon
        kw = {"dtype": self.dtype_policy}
        self.ln_1 = keras.layers.LayerNormalization(epsilon=epsilon, name="ln_1", **kw)
        self.attention = Float32SoftmaxAttention(num_heads, hidden_dim // num_heads, dropout=attention_dropout,
                                                 name="attention", **kw)
        self.attention_drop = keras.layers.Dropout(dropout, name="attention_dropout", **kw)
        self.ln_2 = keras.layers.LayerNormalization(epsilon=epsilon, name="ln_2", **kw)
        self.dense_1 = keras.layers.Dense(mlp_dim, activation="gelu", name="dense_1", **kw)
        self.dense_2 = keras.layers.Dense(hidden_dim, name="dense_2", **kw)
        self.mlp_drop = keras.layers.Dropout(dropout, name="mlp_dropout", **kw)
        inherit_trainable(self)

    def build(self, input_shape):
        shape = tuple(input_shape)
        if shape[-1] != self.hidden_dim:
            raise ValueError(f"{self.name}: expected tokens of width {self.hidden_dim}. "
                             f"Received: input_shape={shape!r}")
        self.ln_1.build(shape)
        self.attention.build(shape, shape)
        self.ln_2.build(shape)
        self.dense_1.build(shape)
        self.dense_2.build((*shape[:-1], self.mlp_dim))
        self.built = True

    def call(self, x, training=None):
        y = self.ln_1(x)
        x = x + self.attention_drop(self.attention(y, y, training=training), training=training)
        y = self.dense_1(self.ln_2(x))
        y = self.mlp_drop(self.dense_2(self.mlp_drop(y, training=training)), training=training)
        return x + y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "hidden_dim": self.hidden_dim,
                "mlp_dim": self.mlp_dim, "dropout": self.dropout, "attention_dropout": self.attention_dropout,
                "epsilon": self.epsilon}


@serializable
class ClassTokenPooling(keras.layers.Layer):
    """The [CLS] token's final state, the image's representation: (B, N + 1, D) -> (B, D)."""

    def call(self, tokens):
        return tokens[:, 0]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


def check_heads(hidden_dim: Any, num_heads: Any) -> None:
    check_positive_int("hidden_dim", hidden_dim)
    check_positive_int("num_heads", num_heads)
    if hidden_dim % num_heads:
        raise ValueError(f"`hidden_dim` must be divisible by `num_heads` (multi-head attention splits it across "
                         f"the heads). Received: hidden_dim={hidden_dim}, num_heads={num_heads}")


def _check_rate(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"`{name}` must be a number in [0, 1). Received: {name}={value!r}")


def vit_layers(
    *, input_shape=(224, 224, 3), patch_size=16, num_layers=12, num_heads=12, hidden_dim=768, mlp_dim=3072,
    dropout=0.0, attention_dropout=0.0, layer_norm_epsilon=LAYER_NORM_EPSILON, include_top=True, pooling=None,
    classes=1000, classifier_activation="softmax", **_,
) -> list[keras.layers.Layer]:
    """The layers of a ViT, in order: patches, [CLS], positions, encoder blocks, final norm, top.

    Args:
        input_shape: (height, width, channels); height and width multiples of `patch_size`.
        patch_size: side of the square patches (16 for ViT-B/16).
        num_layers: encoder blocks.
        num_heads: attention heads per block; `hidden_dim` must be divisible by it.
        hidden_dim: width of the tokens (the paper's D).
        mlp_dim: hidden units of each block's MLP.
        dropout: dropout after the embeddings, the attention and the MLP layers.
        attention_dropout: dropout on the attention probabilities.
        layer_norm_epsilon: epsilon of every layer normalisation.
        include_top: end with the classifier on the [CLS] token.
        pooling: without the top, None (every token: (batch, patches + 1, hidden_dim)), "token" (the [CLS]
            token) or "avg" (the mean of all tokens).
        classes: number of classes.
        classifier_activation: activation of the classifier (None for logits).

    Returns:
        The list of layers that the three styles stack.
    """
    shape = tuple(input_shape)
    if len(shape) != 3:
        raise ValueError(f"`input_shape` must be (height, width, channels). Received: input_shape={input_shape!r}")
    check_positive_int("patch_size", patch_size)
    if any(side is None or side % patch_size for side in shape[:2]):
        raise ValueError(f"The image's height and width must be multiples of `patch_size`. "
                         f"Received: input_shape={shape!r}, patch_size={patch_size}")
    check_positive_int("num_layers", num_layers)
    check_heads(hidden_dim, num_heads)
    _check_rate("dropout", dropout)
    _check_rate("attention_dropout", attention_dropout)
    if pooling not in POOLINGS:
        raise ValueError(f"`pooling` must be one of None, 'token', 'avg'. Received: pooling={pooling!r}")
    check_positive_int("classes", classes)
    layers = [
        PatchEmbedding(patch_size, hidden_dim, name="patch_embedding"),
        ClassToken(name="class_token"),
        PatchPositionEmbedding(name="position_embedding"),
        keras.layers.Dropout(dropout, name="embedding_dropout"),
        *[ViTEncoderBlock(num_heads, hidden_dim, mlp_dim, dropout=dropout, attention_dropout=attention_dropout,
                       epsilon=layer_norm_epsilon, name=f"block_{i}") for i in range(1, num_layers + 1)],
        keras.layers.LayerNormalization(epsilon=layer_norm_epsilon, name="encoder_norm"),
    ]
    if include_top:
        return layers + [ClassTokenPooling(name="token_pool"), dense_head(classes, classifier_activation)]
    if pooling == "token":
        return layers + [ClassTokenPooling(name="token_pool")]
    if pooling == "avg":
        return layers + [keras.layers.GlobalAveragePooling1D(name="avg_pool")]
    return layers


@serializable
class ViT(ChainModel):
    """The Vision Transformer as a `keras.Model` subclass; arguments as `vit_layers`.

    Example:
        >>> model = ViT(input_shape=(8, 8, 1), patch_size=2, num_layers=2, num_heads=4, hidden_dim=64,
        ...             mlp_dim=128, classes=10)
    """

    default_name = "vit"

    def __init__(self, input_shape=(224, 224, 3), patch_size=16, num_layers=12, num_heads=12, hidden_dim=768,
                 mlp_dim=3072, dropout=0.0, attention_dropout=0.0, layer_norm_epsilon=LAYER_NORM_EPSILON,
                 include_top=True, pooling=None, classes=1000, classifier_activation="softmax", name=None):
        super().__init__(name=name, input_shape=tuple(input_shape), patch_size=patch_size, num_layers=num_layers,
                         num_heads=num_heads, hidden_dim=hidden_dim, mlp_dim=mlp_dim, dropout=dropout,
                         attention_dropout=attention_dropout, layer_norm_epsilon=layer_norm_epsilon,
                         include_top=include_top, pooling=pooling, classes=classes,
                         classifier_activation=classifier_activation)

    make_layers = staticmethod(vit_layers)


VIT = chain_styles(vit_layers, ViT, "vit", input_name="image")


# ------------------------------------------------------------------------------------------ KerasHub weights
def _by_name(prefix: str, layer) -> dict[str, Any]:
    # Attention weights are told apart by their projection ("query/kernel"); the others by their own name.
    return {f"{prefix}/{'/'.join(v.path.split('/')[-2:]) if 'attention' in prefix else v.name}": v
            for v in layer.weights}


def _zoo_backbone_weights(model: keras.Model) -> dict[str, Any]:
    """The zoo ViT's weights under canonical names, the classifier excepted."""
    found: dict[str, Any] = {}
    for layer in model.layers:
        if isinstance(layer, PatchEmbedding):
            found.update(_by_name("patch_embedding", layer.projection))
        elif isinstance(layer, ClassToken):
            found["class_token"] = layer.token
        elif isinstance(layer, PatchPositionEmbedding):
            found["position_embedding/embeddings"] = layer.embeddings
        elif isinstance(layer, ViTEncoderBlock):
            index = len([k for k in found if k.endswith("/ln_1/gamma")]) + 1
            for part in ("ln_1", "attention", "ln_2", "dense_1", "dense_2"):
                found.update(_by_name(f"block_{index}/{part}", getattr(layer, part)))
        elif isinstance(layer, keras.layers.LayerNormalization):
            found.update(_by_name("encoder_norm", layer))
    return found


def _keras_hub_weights(backbone: keras.Model) -> dict[str, Any]:
    """A KerasHub `ViTBackbone`'s weights under the same canonical names."""
    embedding = backbone.get_layer("vit_patching_and_embedding")
    encoder = backbone.get_layer("vit_encoder")
    found = {**_by_name("patch_embedding", embedding.patch_embedding),
             "position_embedding/embeddings": embedding.position_embedding.embeddings}
    if getattr(embedding, "use_class_token", True):
        found["class_token"] = embedding.class_token
    for index, block in enumerate(encoder.encoder_layers, start=1):
        for part, sub in (("ln_1", block.layer_norm_1), ("attention", block.mha), ("ln_2", block.layer_norm_2),
                          ("dense_1", block.mlp.dense_1), ("dense_2", block.mlp.dense_2)):
            found.update(_by_name(f"block_{index}/{part}", sub))
    found.update(_by_name("encoder_norm", encoder.layer_norm))
    return found


def from_keras_hub(model: keras.Model, backbone: keras.Model) -> keras.Model:
    """Copy a KerasHub `ViTBackbone`'s weights into a zoo `vit` (any style) of the same configuration.

    Every weight of the backbone must find the zoo weight of the same role and shape, and every weight of
    the zoo model except its classifier (a backbone has none) must receive one; otherwise a one-line
    ValueError names the missing, unused and mismatched weights and nothing is copied.

    Args:
        model: a zoo ViT (`zoo.build("vit", ...)`).
        backbone: a `keras_hub.models.ViTBackbone`, e.g. `ViTBackbone.from_preset(...)` or one built from a
            configuration.

    Returns:
        `model`, with the backbone's weights.

    Example:
        >>> backbone = keras_hub.models.ViTBackbone(image_shape=(224, 224, 3), patch_size=16, num_layers=12,
        ...     num_heads=12, hidden_dim=768, mlp_dim=3072)
        >>> model = from_keras_hub(zoo.build("vit", include_top=False), backbone)
    """
    targets, sources = _zoo_backbone_weights(model), _keras_hub_weights(backbone)
    missing = [k for k in targets if k not in sources]
    unused = [k for k in sources if k not in targets]
    mismatched = [f"{k} {tuple(sources[k].shape)} vs {tuple(targets[k].shape)}" for k in targets
                  if k in sources and tuple(sources[k].shape) != tuple(targets[k].shape)]
    if missing or unused or mismatched:
        problems = [f"{len(items)} {what} ({', '.join(items[:3])}{', ...' if len(items) > 3 else ''})"
                    for what, items in (("missing from the backbone", missing), ("unused by the model", unused),
                                        ("of another shape (backbone vs model)", mismatched)) if items]
        raise ValueError(f"Cannot copy {backbone.name}'s weights into {model.name}: {'; '.join(problems)}.")
    for key, variable in targets.items():
        variable.assign(ops.cast(sources[key], variable.dtype))
    return model
