"""Pieces shared by the vision applications (catalog D): what a segmentation endpoint serves.

A segmenter outputs per-pixel class probabilities at the size it was trained on; an endpoint should take an
image of any size and answer with its mask. `segmentation_serving_model` wraps a trained segmenter so:
the image is resized to the model's input size, the model runs, and `PixelClasses` resizes the
probabilities back to the image's own size and takes the most probable class of each pixel.
"""

from __future__ import annotations

import keras

from zoo.nn import serializable, uses_tensorflow


@serializable
class PixelClasses(keras.layers.Layer):
    """The most probable class of each pixel, as int32, at the size of a reference image.

    Called on `[probabilities, image]`: probabilities (batch, h, w, classes), image (batch, H, W, channels).
    The probabilities are resized bilinearly to (H, W) before the argmax, so the mask matches the image the
    caller sent, whatever size the model works at. It has no weights, and needs the TensorFlow backend.

    Example:
        >>> mask = PixelClasses()([keras.ops.ones((1, 8, 8, 4)), keras.ops.ones((1, 16, 16, 3))])  # (1, 16, 16)
    """

    @uses_tensorflow("serving: resizes masks back inside the exported SavedModel")
    def call(self, inputs):
        # TensorFlow's resize: the target size is known only when a request comes (Keras' own resize needs
        # it when the graph is traced), and serving exports a TensorFlow SavedModel anyway.
        import tensorflow as tf

        probabilities, image = inputs
        size = tf.shape(image)[1:3]
        resized = tf.image.resize(tf.cast(probabilities, "float32"), size, method="bilinear")
        return tf.cast(tf.argmax(resized, axis=-1), "int32")

    def compute_output_spec(self, inputs):
        _, image = inputs
        return keras.KerasTensor(tuple(image.shape[:3]), dtype="int32")


def segmentation_serving_model(model: keras.Model, input_shape, input_name: str = "image") -> keras.Model:
    """A model that takes images of any height and width and returns their int32 masks at the same size.

    Args:
        model: a trained segmenter returning per-pixel probabilities (or several outputs, the first being them).
        input_shape: the (height, width, channels) the model was trained at; a None height or width is
            served as it comes (the image then needs a size the model accepts).
        input_name: the serving signature's input name.

    Returns:
        An uncompiled `keras.Model`: images (batch, H, W, channels) float32 in [0, 1] -> masks (batch, H, W) int32.
    """
    height, width, channels = tuple(input_shape)
    image = keras.Input((None, None, channels), name=input_name)
    x = image
    if height is not None and width is not None:
        x = keras.layers.Resizing(height, width, interpolation="bilinear", name="resize_to_model")(x)
    probabilities = model(x, training=False)
    if isinstance(probabilities, (list, tuple)):
        probabilities = probabilities[0]
    mask = PixelClasses(name="mask")([probabilities, image])
    return keras.Model(image, mask, name=f"{model.name}_serving")
