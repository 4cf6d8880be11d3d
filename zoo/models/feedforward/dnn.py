"""Deep feed-forward classifiers (the seed notes' MNIST DNN, with its overfitting remedies).

`dnn_categorical`: a flattened image -> Dense(512, relu) -> Dense(classes, softmax), with the notes'
options against overfitting: an L2 weight penalty, dropout and batch normalisation.
"""

from __future__ import annotations

import keras

from zoo.nn import ChainModel, chain_styles, dense_head, serializable


def _input_shape(hparams):
    return (hparams["input_dim"],)


def dnn_categorical_layers(
    *, input_dim: int = 784, units: int = 512, classes: int = 10, l2: float = 0.0, dropout: float = 0.0,
    batch_norm: bool = False, **_,
) -> list[keras.layers.Layer]:
    """The hidden block (Dense, then optional batch norm before the ReLU, then optional dropout) and the head."""
    regularizer = keras.regularizers.L2(l2) if l2 else None
    layers: list[keras.layers.Layer] = [
        keras.layers.Dense(units, activation=None if batch_norm else "relu", kernel_regularizer=regularizer,
                           name="hidden")
    ]
    if batch_norm:
        layers += [keras.layers.BatchNormalization(name="hidden_bn"), keras.layers.Activation("relu", name="hidden_relu")]
    if dropout:
        layers.append(keras.layers.Dropout(dropout, name="hidden_dropout"))
    layers.append(dense_head(classes, "softmax"))
    return layers


@serializable
class DNNCategorical(ChainModel):
    """`dnn_categorical` as a `keras.Model` subclass.

    Args:
        input_dim: length of the flattened input (784 for 28x28 MNIST).
        units: width of the hidden layer.
        classes: number of classes.
        l2: L2 penalty on the hidden kernel (0 disables it).
        dropout: dropout rate after the hidden layer (0 disables it).
        batch_norm: batch-normalise the hidden layer before its ReLU.
    """

    default_name = "dnn_categorical"

    def __init__(self, input_dim=784, units=512, classes=10, l2=0.0, dropout=0.0, batch_norm=False, name=None):
        super().__init__(name=name, input_dim=input_dim, units=units, classes=classes, l2=l2, dropout=dropout,
                         batch_norm=batch_norm)

    make_layers = staticmethod(dnn_categorical_layers)
    input_shape_of = staticmethod(_input_shape)


DNN_CATEGORICAL = chain_styles(dnn_categorical_layers, DNNCategorical, "dnn_categorical", input_name="image")
