"""Show and Tell (Vinyals, Toshev, Bengio & Erhan 2015): a CNN encodes the image, an LSTM writes its caption.

The image's CNN features are projected to a vector the size of a word embedding and fed to the LSTM once,
as its input at step -1 (the paper's x_{-1} = CNN(I)); from step 0 on the LSTM reads the caption's word
embeddings, starting with BOS, and a dense layer turns each of its outputs into next-word probabilities:

    p_{t+1} = softmax(W h_t),  h_t = LSTM(x_t, h_{t-1}),  x_{-1} = W_e CNN(I),  x_t = W_s S_t (S_0 = BOS)

Training is teacher-forced (`zoo.tasks.captioning` shifts the caption right behind BOS): inputs
{"image": (batch, H, W, C) in [0, 1], "caption": (batch, caption_length) int32 ids} give next-word
probabilities (batch, caption_length, vocab_size), float32. Generating has no caption to read: `start`
feeds the image and `step` one word at a time, carrying the LSTM's state, which is what KerasHub's
samplers need (`CaptionSampler`: greedy or beam search, in `keras.ops` only, so it exports with the model).

The paper's encoder is a pretrained GoogLeNet; here it is a small VGG-like stack trained with the rest
(3x3 convolutions with batch normalisation, ReLU, 2x2 max pooling per block), then global average pooling
(`pooling="avg"`, the paper's) or flattening (`pooling="flatten"`: keeps where things are, which captions
of small synthetic scenes name) and the linear projection W_e. The style chooses how the two networks are
built, the encoder (image -> image embedding) and the decoder (embedding sequence -> word logits:
dropout, LSTM, dropout, dense); the word embedding W_s is one layer the top model holds in every style.

`inject` says where the image enters the LSTM: "input" (the paper's: its input at step -1) or "state"
(a dense layer maps the image embedding to the LSTM's initial state (h, c), h through tanh; Tanti et al.
2017's "init-inject"). With an encoder trained from scratch on a few thousand images, the paper's input
injection learns to use the image slowly: on `synthetic_shapes/captions` (small configuration, 15-20
epochs) its greedy BLEU stayed at 19-25, level with the constant caption's 22.8, while state injection
reached 40-46 in 15 epochs; the paper's encoder came pretrained. The `small` configuration injects the
state, the paper-scale defaults the input.

Ids: 0 pads, 1 is BOS, 2 is EOS, 3 an unknown word, 4.. the words (`zoo.data.sequences`).
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.models.cnn.common import check_rate
from zoo.models.generative.common import Part, build_part, check_image_shape, check_style_argument, check_units
from zoo.nn import Styles, check_positive_int, serializable, with_tuples

IMAGE, CAPTION = "image", "caption"
POOLINGS = ("avg", "flatten")
INJECTS = ("input", "state")
SAMPLERS = ("greedy", "beam")
_TUPLES = ("input_shape", "filters")


# -------------------------------------------------------------------------------------------------- parts
def encoder_layers(*, filters=(64, 128, 256), pooling="avg", embedding_dim=512, **_):
    """A block per entry of `filters` (3x3 convolution, batch normalisation, ReLU, 2x2 max pooling), pooling,
    the projection W_e."""
    layers = []
    for i, depth in enumerate(filters, start=1):
        layers += [keras.layers.Conv2D(depth, 3, padding="same", use_bias=False, name=f"encoder_conv_{i}"),
                   keras.layers.BatchNormalization(name=f"encoder_bn_{i}"),
                   keras.layers.ReLU(name=f"encoder_relu_{i}"),
                   keras.layers.MaxPooling2D(2, name=f"encoder_pool_{i}")]
    pool = (keras.layers.GlobalAveragePooling2D(name="encoder_avg_pool") if pooling == "avg"
            else keras.layers.Flatten(name="encoder_flatten"))
    return [*layers, pool, keras.layers.Dense(embedding_dim, name="encoder_embedding")]


def decoder_layers(*, units=512, vocab_size=10000, dropout=0.5, **_):
    """Dropout, the LSTM (every step's output), dropout, and the word logits W (float32)."""
    return [
        keras.layers.Dropout(dropout, name="decoder_input_dropout"),
        keras.layers.LSTM(units, return_sequences=True, name="decoder_lstm"),
        keras.layers.Dropout(dropout, name="decoder_output_dropout"),
        keras.layers.Dense(vocab_size, dtype="float32", name="decoder_logits"),
    ]


@serializable
class ImageEncoder(Part):
    """The encoder as a `keras.Model` subclass: images (batch, H, W, C) -> image embeddings (batch, embedding_dim)."""

    default_name = "encoder"
    tuple_hparams = _TUPLES
    make_layers = staticmethod(encoder_layers)

    def __init__(self, input_shape=(224, 224, 3), filters=(64, 128, 256), pooling="avg", embedding_dim=512,
                 name=None):
        super().__init__(name=name, input_shape=input_shape, filters=filters, pooling=pooling,
                         embedding_dim=embedding_dim)


@serializable
class CaptionDecoder(Part):
    """The decoder as a `keras.Model` subclass: embeddings (batch, steps, embedding_dim) -> word logits
    (batch, steps, vocab_size)."""

    default_name = "decoder"
    make_layers = staticmethod(decoder_layers)

    def __init__(self, embedding_dim=512, units=512, vocab_size=10000, dropout=0.5, name=None):
        super().__init__(name=name, embedding_dim=embedding_dim, units=units, vocab_size=vocab_size, dropout=dropout)

    @staticmethod
    def input_shape_of(hparams):
        return (None, hparams["embedding_dim"])


# -------------------------------------------------------------------------------------------------- model
@serializable
class ShowAndTell(keras.Model):
    """CNN encoder + LSTM decoder image captioner; arguments as `zoo.build("image_captioning", ...)`.

    Args:
        input_shape: (height, width, channels) of the images, pixel values in [0, 1].
        vocab_size: word ids, the four reserved ones (PAD, BOS, EOS, UNK) included.
        caption_length: ids per caption, EOS included: the teacher-forced input's length and the most
            words a generated caption has.
        embedding_dim: size of the word embeddings and of the image embedding.
        units: the LSTM's units.
        filters: depth of each convolution block of the encoder.
        pooling: "avg" (global average pooling, as the paper's GoogLeNet) or "flatten".
        dropout: rate of the dropout before and after the LSTM.
        inject: "input" (the image embedding is the LSTM's first input, the paper's) or "state" (it sets the
            LSTM's initial state through a dense layer).
        style: how the encoder and decoder are built: "sequential", "functional" or "subclass".
        name: the model's name.

    Example:
        >>> model = ShowAndTell(input_shape=(32, 32, 3), vocab_size=40, caption_length=12, embedding_dim=32,
        ...                     units=64, filters=(16, 32))
        >>> probabilities = model({"image": images, "caption": shifted_ids})  # (batch, 12, 40)
    """

    def __init__(self, input_shape=(224, 224, 3), vocab_size=10000, caption_length=20, embedding_dim=512, units=512,
                 filters=(64, 128, 256), pooling="avg", dropout=0.5, inject="input", style="functional",
                 name="image_captioning", **kwargs):
        super().__init__(name=name, **kwargs)
        self.image_shape = check_image_shape("input_shape", input_shape)
        self.vocab_size = check_positive_int("vocab_size", vocab_size)
        if self.vocab_size < 5:
            raise ValueError(f"`vocab_size` must be at least 5 (four reserved ids and a word). "
                             f"Received: vocab_size={vocab_size!r}")
        self.caption_length = check_positive_int("caption_length", caption_length)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.units = check_positive_int("units", units)
        self.filters = check_units("filters", filters)
        if pooling not in POOLINGS:
            raise ValueError(f"`pooling` must be one of {', '.join(POOLINGS)}. Received: pooling={pooling!r}")
        self.pooling = pooling
        self.dropout = check_rate("dropout", dropout)
        if inject not in INJECTS:
            raise ValueError(f"`inject` must be one of {', '.join(INJECTS)}. Received: inject={inject!r}")
        self.inject = inject
        self.style = check_style_argument(style)
        self.encoder = build_part(style, encoder_layers, ImageEncoder, "encoder", IMAGE, input_shape=self.image_shape,
                                  filters=self.filters, pooling=pooling, embedding_dim=self.embedding_dim)
        self.word_embedding = keras.layers.Embedding(self.vocab_size, self.embedding_dim, name="word_embedding")
        self.word_embedding.build((None, None))
        self.decoder = build_part(style, decoder_layers, CaptionDecoder, "decoder", "embeddings",
                                  embedding_dim=self.embedding_dim, units=self.units, vocab_size=self.vocab_size,
                                  dropout=self.dropout)
        self.lstm = self.decoder.get_layer("decoder_lstm")
        self.head = self.decoder.get_layer("decoder_logits")
        if inject == "state":
            self.state_projection = keras.layers.Dense(2 * self.units, name="state_projection")
            self.state_projection.build((None, self.embedding_dim))
        self.built = True

    def call(self, inputs, training=None):
        image_embedding = self.encoder(inputs[IMAGE], training=training)
        words = self.word_embedding(ops.cast(inputs[CAPTION], "int32"))
        if self.inject == "state":
            x = words
            for layer in self.decoder.layers:
                if isinstance(layer, keras.layers.InputLayer):
                    continue
                if layer is self.lstm:
                    x = layer(x, initial_state=list(self._state_of(image_embedding)), training=training)
                else:
                    x = layer(x, training=training)
            return ops.softmax(ops.cast(x, "float32"), axis=-1)
        sequence = ops.concatenate([ops.cast(image_embedding, words.dtype)[:, None, :], words], axis=1)
        logits = self.decoder(sequence, training=training)[:, 1:]  # the image's step predicts nothing
        return ops.softmax(ops.cast(logits, "float32"), axis=-1)

    def _state_of(self, image_embedding):
        h, c = ops.split(self.state_projection(image_embedding), 2, axis=-1)
        return ops.tanh(h), c

    # ------------------------------------------------------------------------------ step-by-step decoding
    def start(self, images):
        """The LSTM's state (h, c) after it read the image embedding from a zero state (step -1)."""
        embedding = self.encoder(images, training=False)
        if self.inject == "state":
            return tuple(ops.cast(t, self.lstm.compute_dtype) for t in self._state_of(embedding))
        zeros = ops.zeros((ops.shape(embedding)[0], self.units), dtype=self.lstm.compute_dtype)
        _, state = self.lstm.cell(ops.cast(embedding, self.lstm.compute_dtype), [zeros, zeros], training=False)
        return tuple(state)

    def step(self, tokens, state):
        """One step: word ids (batch,) and the state -> next-word logits (batch, vocab_size) float32, new state."""
        words = self.word_embedding(ops.cast(tokens, "int32"))
        output, state = self.lstm.cell(ops.cast(words, self.lstm.compute_dtype), list(state), training=False)
        return ops.cast(self.head(output), "float32"), tuple(state)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "input_shape": self.image_shape,
                "vocab_size": self.vocab_size, "caption_length": self.caption_length,
                "embedding_dim": self.embedding_dim, "units": self.units, "filters": self.filters,
                "pooling": self.pooling, "dropout": self.dropout, "inject": self.inject, "style": self.style}

    @classmethod
    def from_config(cls, config):
        return cls(**with_tuples(config, _TUPLES))


CAPTIONING_STYLES = Styles.of(ShowAndTell)


# ----------------------------------------------------------------------------------------------- decoding
@serializable
class CaptionSampler(keras.layers.Layer):
    """Images (batch, H, W, C) at the model's size -> generated caption ids (batch, caption_length), int32.

    Decoding runs through a KerasHub sampler (`keras_hub.samplers.GreedySampler`, or `BeamSampler` with
    `num_beams`), which loops with `keras.ops.while_loop` over a prompt [BOS, PAD, ...] and asks `next` for
    each position's logits; `next` is one `ShowAndTell.step` from the LSTM state the image started (the
    sampler's cache, which beam search reorders with its beams). Ids after the first EOS are whatever the
    sampler wrote there (it stops once every caption has an EOS): readers cut at EOS (`IdsToWords`).

    Args:
        captioner: a `ShowAndTell` model.
        sampler: "greedy" or "beam".
        num_beams: beams of beam search.
        bos_id, eos_id: the reserved ids.
    """

    def __init__(self, captioner, sampler="greedy", num_beams=3, bos_id=1, eos_id=2, **kwargs):
        super().__init__(**kwargs)
        if sampler not in SAMPLERS:
            raise ValueError(f"`sampler` must be one of {', '.join(SAMPLERS)}. Received: sampler={sampler!r}")
        self.captioner, self.sampler, self.num_beams = captioner, sampler, check_positive_int("num_beams", num_beams)
        self.bos_id, self.eos_id = int(bos_id), int(eos_id)

    def _library_sampler(self):
        import keras_hub

        if self.sampler == "beam":
            return keras_hub.samplers.BeamSampler(num_beams=self.num_beams)
        return keras_hub.samplers.GreedySampler()

    def call(self, images):
        length = self.captioner.caption_length
        batch = ops.shape(images)[0]
        first = ops.arange(length + 1, dtype="int32")[None, :] == 0
        prompt = ops.cast(ops.where(first, self.bos_id, 0), "int32") + ops.zeros((batch, 1), dtype="int32")
        mask = ops.logical_and(first, ops.ones((batch, 1), dtype="bool"))

        def next_logits(prompt, cache, index):
            logits, cache = self.captioner.step(ops.take(prompt, index - 1, axis=1), cache)
            return logits, None, cache

        ids = self._library_sampler()(next_logits, prompt, cache=self.captioner.start(images), index=1, mask=mask,
                                      stop_token_ids=(self.eos_id,))
        return ops.cast(ids[:, 1:], "int32")

    def compute_output_spec(self, images):
        return keras.KerasTensor((images.shape[0], self.captioner.caption_length), dtype="int32")

    def get_config(self):
        return {**super().get_config(), "captioner": keras.saving.serialize_keras_object(self.captioner),
                "sampler": self.sampler, "num_beams": self.num_beams, "bos_id": self.bos_id, "eos_id": self.eos_id}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["captioner"] = keras.saving.deserialize_keras_object(config["captioner"])
        return cls(**config)


def caption_decoder(captioner: ShowAndTell, *, sampler: str = "greedy", num_beams: int = 3, bos_id: int = 1,
                    eos_id: int = 2) -> keras.Model:
    """A functional model: images at the captioner's size -> generated caption ids (batch, caption_length)."""
    images = keras.Input(captioner.image_shape, name=IMAGE)
    ids = CaptionSampler(captioner, sampler=sampler, num_beams=num_beams, bos_id=bos_id, eos_id=eos_id,
                         name="caption_ids")(images)
    return keras.Model(images, ids, name=f"{captioner.name}_{sampler}_decoder")
