"""Data that streams: dataset artifacts that describe data, and the one `tf.data` reader over them.

A prepared dataset (the preprocess step's output folder, local or a `/gcs/...` mount) holds `meta.json`,
whose `format` says where the examples are:

- `"arrays"`: a small offline dataset held whole in `{split}.npz` (digits: 1,797 examples);
- `"tfds"`: a reference to a prepared TensorFlow Datasets dataset: name, version, the TFDS split string of
  each split and `data_dir` (a folder or `gs://…`); nothing is copied;
- `"tfrecord"`: sharded TFRecord files `{split}-NNNNN-of-MMMMM.tfrecord` that preprocess wrote by streaming
  a source (images JPEG- or PNG-encoded), for data that is neither small nor in TFDS.

`read` turns any of them into batches: parallel, deterministic interleaved reads of the shards, a shuffle
with a bounded buffer whose order depends only on the seed and the epoch (so a run resumed after preemption
sees the same epoch orders as one that never stopped), a per-example `prepare` map (images: decode, resize
to the model's input, scale to [0, 1]; texts such as IMDB reviews: the vectorisation that the model's
adapter fitted on the streamed training split, token ids or a bag of words; then the label encoded for the
loss: on the fly, never in bulk), the task's per-example map, batching and `prefetch(AUTOTUNE)`. No step
holds a whole large split in memory.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Any, Callable, Iterable, Iterator

import numpy as np

# Examples held for shuffling: compressed images (tens of kB each) for streamed data.
SHUFFLE_BUFFER = 2048
EXAMPLES_PER_SHARD = 1024
FORMATS = ("arrays", "tfds", "tfrecord")


@dataclasses.dataclass(frozen=True)
class TfdsSplit:
    """One split of a TensorFlow Datasets dataset, read in place.

    Attributes:
        name: the TFDS name, with a config if any ("cats_vs_dogs", "voc/2007").
        split: a TFDS split string, slices included ("train[:90%]").
        image_key, label_key: the features that become (x, y).
        manual_dir: where a dataset that TFDS cannot download (imagenet2012) has its archives.
        example_fn: "module:function" that turns one TFDS example dict (its `image_key` feature still
            encoded) into `(image, y)`, for labels richer than one feature: boxes and their classes
            (`voc/2007`), several reference captions (`coco_captions`). `label_key` is then unused.
    """

    name: str
    split: str
    image_key: str = "image"
    label_key: str = "label"
    manual_dir: str | None = None
    example_fn: str | None = None


@dataclasses.dataclass(frozen=True)
class ExampleStream:
    """Examples produced one at a time (a generator of `(x, y)` NumPy pairs), written to TFRecord shards.

    Attributes:
        examples: a callable returning a fresh iterator of `(image uint8 HxWxC, label int)` pairs.
        count: how many examples it yields.
        encoding: "jpeg" or "png" for the stored images.
    """

    examples: Callable[[], Iterator[tuple[np.ndarray, int]]]
    count: int
    encoding: str = "jpeg"


# ---------------------------------------------------------------------------------------------- writing
def write_tfds_reference(out_dir: str, split: str, source: TfdsSplit, data_dir: str | None) -> dict:
    """Describe one TFDS split (no copy), preparing the dataset in `data_dir` first if it is not yet.

    The fingerprint names the dataset, its version, the split and the files it reads, so two runs that saw
    the same test set have the same fingerprint without reading an example.
    """
    import tensorflow_datasets as tfds

    builder = tfds.builder(source.name, data_dir=data_dir)
    config = tfds.download.DownloadConfig(manual_dir=source.manual_dir) if source.manual_dir else None
    builder.download_and_prepare(download_config=config)  # a no-op once prepared
    count = int(builder.as_dataset(split=source.split).cardinality())
    if count < 0:
        raise ValueError(f"TFDS does not know how many examples {source.name} {source.split!r} holds; prepare it "
                         "again with this TFDS version.")
    try:
        files = [str(f) for f in builder.info.splits[source.split].file_instructions]
    except (KeyError, ValueError):  # splits unknown to the metadata (e.g. TFDS' mock data)
        files = []
    digest = hashlib.sha256(json.dumps([source.name, str(builder.info.version), source.split, count, files])
                            .encode()).hexdigest()[:16]
    return {"name": source.name, "version": str(builder.info.version), "split": source.split, "data_dir": data_dir,
            "image_key": source.image_key, "label_key": source.label_key, "manual_dir": source.manual_dir,
            "example_fn": source.example_fn, "examples": count, "fingerprint": digest}


def write_shards(out_dir: str, split: str, source: ExampleStream,
                 examples_per_shard: int = EXAMPLES_PER_SHARD) -> dict:
    """Stream `source` into TFRecord shards under `out_dir` (a folder or `gs://…`), one shard in memory at most."""
    import tensorflow as tf

    shards = max(1, -(-source.count // examples_per_shard))
    digest = hashlib.sha256()
    written = 0
    encode = tf.io.encode_jpeg if source.encoding == "jpeg" else tf.io.encode_png
    tf.io.gfile.makedirs(out_dir)
    examples = source.examples()
    for index in range(shards):
        path = os.path.join(out_dir, f"{split}-{index:05d}-of-{shards:05d}.tfrecord")
        with tf.io.TFRecordWriter(path) as writer:
            for _ in range(min(examples_per_shard, source.count - written)):
                image, label = next(examples)
                encoded = encode(np.asarray(image, dtype="uint8")).numpy()
                record = tf.train.Example(features=tf.train.Features(feature={
                    "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[encoded])),
                    "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
                })).SerializeToString()
                digest.update(record)
                writer.write(record)
                written += 1
    return {"pattern": f"{split}-*-of-{shards:05d}.tfrecord", "shards": shards, "examples": written,
            "encoding": source.encoding, "fingerprint": digest.hexdigest()[:16]}


# ---------------------------------------------------------------------------------------------- reading
class EpochSeed:
    """A seed that depends on the epoch, for shuffles that a resumed run repeats exactly.

    Keras builds a fresh iterator over a finite dataset every epoch; the reader's stateless permutations
    read this variable (the epoch) when that iterator starts, and the `callback` sets it from the epoch
    number Keras passes (the absolute epoch, also after `BackupAndRestore` resumed a run).
    """

    def __init__(self, seed: int):
        import tensorflow as tf

        self.seed = int(seed)
        with tf.device("/cpu:0"):
            self.variable = tf.Variable(0, dtype=tf.int64, trainable=False)

    def set_epoch(self, epoch: int) -> None:
        self.variable.assign(int(epoch))

    def callback(self):
        import keras

        owner = self

        class _SetEpoch(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                owner.set_epoch(epoch)

        return _SetEpoch()


def read_meta(data_dir: str) -> dict:
    import tensorflow as tf

    with tf.io.gfile.GFile(os.path.join(data_dir, "meta.json")) as f:
        return json.load(f)


def examples(data_dir: str, split: str, *, meta: dict | None = None, order=None):
    """The `(x, y)` examples of one split of a prepared dataset; images still encoded where they are stored so.

    `order` (an int64 seed pair tensor) permutes the shards (TFRecord files) for one epoch; None keeps them
    in order. Shards are read in parallel and interleaved deterministically.
    """
    import tensorflow as tf

    meta = meta or read_meta(data_dir)
    fmt = meta.get("format", "arrays")
    if fmt == "arrays":
        from zoo.pipeline.arrays import load_split

        x, y = load_split(os.path.join(data_dir, f"{split}.npz"))
        return tf.data.Dataset.from_tensor_slices((x, y))
    described = meta["splits"][split]
    if fmt == "tfds":
        import tensorflow_datasets as tfds

        image_key, label_key = described["image_key"], described["label_key"]
        # Images stay encoded until after the shuffle, so the shuffle holds compressed bytes (texts are bytes).
        decoders = None if meta.get("kind") == "text" else {image_key: tfds.decode.SkipDecoding()}
        ds = tfds.load(described["name"], split=described["split"], data_dir=described["data_dir"],
                       shuffle_files=False, download=False, decoders=decoders,
                       read_config=tfds.ReadConfig(interleave_cycle_length=tf.data.AUTOTUNE))
        if described.get("example_fn"):
            from zoo.data.adapt import resolve

            return ds.map(resolve(described["example_fn"]), num_parallel_calls=tf.data.AUTOTUNE,
                          deterministic=True)
        return ds.map(lambda e: (e[image_key], e[label_key]), num_parallel_calls=tf.data.AUTOTUNE)
    if fmt == "tfrecord":
        files = sorted(tf.io.gfile.glob(os.path.join(data_dir, described["pattern"])))
        if len(files) != described["shards"]:
            raise ValueError(f"The prepared {split} split at {data_dir} should have {described['shards']} shards; "
                             f"found {len(files)}. Run preprocess again.")
        names = tf.constant(files)
        if order is not None:
            positions = tf.range(len(files), dtype=tf.int64)
            names = tf.gather(names, tf.random.experimental.index_shuffle(positions, order, len(files) - 1))
        ds = tf.data.Dataset.from_tensor_slices(names).interleave(
            tf.data.TFRecordDataset, cycle_length=min(8, len(files)), num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True)
        spec = {"image": tf.io.FixedLenFeature([], tf.string), "label": tf.io.FixedLenFeature([], tf.int64)}

        def parse(record):
            parsed = tf.io.parse_single_example(record, spec)
            return parsed["image"], parsed["label"]

        return ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    raise ValueError(f"Unknown dataset format {fmt!r} in {data_dir}/meta.json. Allowed: {', '.join(FORMATS)}.")


def block_shuffle(ds, block: int, seed):
    """Shuffle `ds` within consecutive blocks of `block` elements by stateless permutations of `seed`.

    Memory is bounded by one block, as with `Dataset.shuffle`'s buffer, and the order is a pure function of
    the seed pair (no iterator state), which is what lets an epoch's order be rebuilt after a restart.
    """
    import tensorflow as tf

    def permute(index, elements):
        count = tf.shape(tf.nest.flatten(elements)[0], out_type=tf.int64)[0]
        positions = tf.random.experimental.index_shuffle(
            tf.range(count), tf.stack([seed[0] + index, seed[1]]), count - 1)
        return tf.data.Dataset.from_tensor_slices(tf.nest.map_structure(lambda t: tf.gather(t, positions), elements))

    def dense(*elements):
        elements = tf.nest.map_structure(lambda t: t.to_tensor() if isinstance(t, tf.RaggedTensor) else t, elements)
        return elements if len(elements) > 1 else elements[0]

    # A ragged block holds labels of varying sizes (a streamed image's boxes, its mask); rows come back dense.
    return ds.ragged_batch(block).enumerate().flat_map(permute).map(dense, num_parallel_calls=tf.data.AUTOTUNE,
                                                                    deterministic=True)


def read(data_dir: str, split: str, *, batch_size: int, shuffle: bool = False, seed: "int | EpochSeed" = 0,
         example_map=None, shuffle_buffer: int = SHUFFLE_BUFFER, meta: dict | None = None, batch_multiple: int = 1):
    """Batches of one split of a prepared dataset, ready for `fit`, `predict` or a task's evaluation.

    Args:
        data_dir: the prepared dataset (preprocess's output folder).
        split: "train", "val" or "test".
        batch_size: examples per batch.
        shuffle: permute shards and shuffle examples (training); evaluation reads in order.
        seed: an int, or an `EpochSeed` that changes with the epoch (training): each epoch's order is a
            function of (seed, epoch) only.
        example_map: the task's per-example `(x, y) -> (inputs, targets)` function, applied after `prepare`.
        shuffle_buffer: examples held for shuffling (bounded, whatever the split's size); a small dataset
            held in memory is permuted whole.
        batch_multiple: every batch's size is a multiple of this (the last one is cut down to one, fewer than
            `batch_multiple` examples are left out): Keras' DataParallel on JAX splits each batch evenly
            across devices and cannot take a remainder, as `tf.distribute` can.
    """
    import tensorflow as tf

    meta = meta or read_meta(data_dir)
    fmt = meta.get("format", "arrays")
    size = int(meta["sizes"][split])
    block = size if fmt == "arrays" else max(1, min(shuffle_buffer, size))

    # Built once, outside the per-epoch function: inside it, in-memory arrays would become a constant of that
    # function's graph, copied again every epoch (16 s an epoch for a 116 MB split).
    in_memory = examples(data_dir, split, meta=meta) if fmt == "arrays" else None

    def shuffled(epoch_key):
        order = tf.stack([tf.constant(_static_seed(seed), tf.int64), tf.cast(epoch_key, tf.int64)])
        ds = in_memory if in_memory is not None else examples(data_dir, split, meta=meta,
                                                              order=order if fmt == "tfrecord" else None)
        return block_shuffle(ds, block, order + tf.constant([0, 1], tf.int64))

    if not shuffle:
        ds = examples(data_dir, split, meta=meta)
        if fmt == "arrays":
            ds = ds.cache()
    elif isinstance(seed, EpochSeed):
        variable = seed.variable
        # The epoch is read when each epoch's iterator starts, so epoch e always gets the same order.
        ds = tf.data.Dataset.from_tensors(0).flat_map(lambda _: shuffled(variable.read_value()))
    else:
        ds = shuffled(0)
    ds = ds.apply(tf.data.experimental.assert_cardinality(size))  # so Keras knows an epoch's steps
    prepare = prepare_map(meta)
    if prepare is not None:
        ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if example_map is not None:
        ds = ds.map(example_map, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(batch_size)
    if batch_multiple > 1:
        ds = _whole_multiples(ds, size, batch_size, batch_multiple)
    return ds.prefetch(tf.data.AUTOTUNE)


def _whole_multiples(ds, size: int, batch_size: int, multiple: int):
    """Batches of `ds` (of `size` examples in batches of `batch_size`) cut to a multiple of `multiple`."""
    import tensorflow as tf

    if batch_size % multiple:
        raise ValueError(f"The batch size ({batch_size}) must be a multiple of {multiple} (the devices).")
    last = size % batch_size // multiple * multiple

    def cut(*batch):
        kept = tf.shape(tf.nest.flatten(batch)[0])[0] // multiple * multiple
        batch = tf.nest.map_structure(lambda t: t[:kept], batch)
        return batch if len(batch) > 1 else batch[0]

    ds = ds.map(cut).filter(lambda *batch: tf.shape(tf.nest.flatten(batch)[0])[0] > 0)
    return ds.apply(tf.data.experimental.assert_cardinality(size // batch_size + (1 if last else 0)))


def _static_seed(seed) -> int:
    return seed.seed if isinstance(seed, EpochSeed) else int(seed)


def prepare_map(meta: dict):
    """The per-example map that shapes streamed examples for the model (None for prepared arrays).

    Images: it decodes the image, scales it to [0, 1] and resizes it to the model's input, then encodes the
    label for the loss as `prepare["target"]` says; "mask" resizes a mask with its image (nearest neighbour),
    "keep" leaves structured labels (relative boxes, caption strings) as they are, for the task's per-example
    map. Texts (`prepare["text"]`, a "module:function" of the model's adapter): that function, given the
    dataset's fitted `info` (vocabulary, sizes, idf weights), returns the text -> model input map; the label
    is encoded as for images.
    """
    prepare = meta.get("prepare")
    if not prepare:
        return None
    target, classes = prepare.get("target", "sparse"), meta.get("classes")
    if "text" in prepare:
        return _text_map(prepare["text"], meta.get("info", {}), target, classes)
    import tensorflow as tf

    shape = tuple(prepare["image_shape"])
    flat = len(shape) == 1
    height, width, channels = _square_image(shape[0]) if flat else shape

    def shape_example(image, label):
        if image.dtype == tf.string:  # encoded (JPEG, PNG): decoded here, after the shuffle
            image = tf.io.decode_image(image, channels=0, expand_animations=False)
        image = tf.image.convert_image_dtype(image, tf.float32)  # uint8 -> [0, 1]
        if image.shape.rank == 2:
            image = image[..., None]
        have = image.shape[-1]
        if have != channels:
            if channels == 1:
                image = tf.image.rgb_to_grayscale(image) if have == 3 else image[..., :1]
            elif have == 1:
                image = tf.image.grayscale_to_rgb(image)
            else:
                image = image[..., :channels]
        image = tf.image.resize(image, (height, width))
        image = tf.ensure_shape(image, (height, width, channels))
        if flat:  # a dense model on flattened images (dnn_categorical)
            image = tf.reshape(image, shape)
        if target == "keep":  # structured labels (boxes, captions): the task's example_map encodes them
            return image, label
        if target == "mask":  # a class per pixel: resized with the image, never blended between classes
            mask = label[..., None] if label.shape.rank == 2 else label
            return image, tf.cast(tf.image.resize(mask, (height, width), method="nearest")[..., 0], tf.int32)
        return image, encode_label(label, target, classes)

    return shape_example


def encode_label(label, target: str, classes: int | None):
    """One example's label as `zoo.data.adapt.encode_targets` encodes a whole array of them, in TensorFlow."""
    import tensorflow as tf

    if target == "onehot":
        return tf.one_hot(label, classes)
    if target in ("binary", "regression"):
        return tf.reshape(tf.cast(label, tf.float32), (1,))
    return tf.cast(label, tf.int32)


def _text_map(ref: str, info: dict, target: str, classes: int | None):
    """(text, label) -> (model input, encoded label), the input made by the adapter's map `ref` from `info`."""
    from zoo.data.adapt import resolve

    to_input = resolve(ref)(info)

    def shape_example(text, label):
        return to_input(text), encode_label(label, target, classes)

    return shape_example


def _square_image(size: int) -> tuple[int, int, int]:
    """(side, side, channels) of a flattened square image of `size` values: grey if it can be, else RGB."""
    import math

    for channels in (1, 3):
        side = math.isqrt(size // channels)
        if size % channels == 0 and side * side * channels == size:
            return side, side, channels
    raise ValueError(f"A flat input of {size} values is not a square grey or RGB image; set the model's input size.")
