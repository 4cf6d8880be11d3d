"""The pipeline's steps as plain functions: preprocess, train, evaluate, gate, deploy (local).

KFP components (components/) are thin wrappers that parse their inputs and call these; everything here is
unit-tested without KFP. Paths may be local folders or, on Vertex AI, the `/gcs/...` mounts of artifacts.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Any, Mapping

import numpy as np

from zoo.pipeline import arrays
from zoo.pipeline.runs import ERROR_FILE  # report_errors writes it; `zoo run` and `zoo runs` read it
from zoo.registry import check_dataset, check_style, get_spec, resolve_hparams

SPLITS = ("train", "val", "test")
EVAL_BATCH = 256


class TrainingError(RuntimeError):
    """Training failed in a way the user can act on (e.g. the loss became NaN)."""


def parse_hparams(text: str | Mapping[str, Any] | None) -> dict[str, Any]:
    if text is None or text == "":
        return {}
    if isinstance(text, Mapping):
        return dict(text)
    try:
        value = json.loads(text)
    except ValueError:
        raise ValueError(f"hparams must be a JSON object. Received: {text!r}") from None
    if not isinstance(value, dict):
        raise ValueError(f"hparams must be a JSON object. Received: {text!r}")
    return value


def _write_json(path: str, value) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, sort_keys=True, default=str)


def _read_json(path: str):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# --------------------------------------------------------------------------------------------- preprocess
def preprocess(model_name: str, dataset: str, out_dir: str, *, hparams=None, seed: int = 0,
               data_dir: str | None = None, dataset_options: Mapping[str, Any] | None = None) -> dict:
    """Prepare `dataset` for `model_name` in `out_dir` and describe it in `meta.json` (see `zoo.data.stream`).

    A small offline dataset is shaped for the model here and held whole (`{train,val,test}.npz`); a TFDS
    dataset is described by reference (name, version, splits, `data_dir`) and nothing is copied; a streamed
    source is written to sharded TFRecord files. Streamed examples are shaped for the model per example
    when they are read. Returns the metadata: dataset, format, kind, classes, split sizes, the test split's
    fingerprint and whatever the model's adapter fitted (`info`, e.g. a vocabulary).
    """
    from zoo.data import adapt, get_entry, load_dataset

    spec = get_spec(model_name)
    check_dataset(spec, dataset)
    given = parse_hparams(hparams)
    config = resolve_hparams(spec, given)
    # Sizes the run gives the model also size the data where the dataset says so (a translation's vocabulary
    # and sentence length); explicit dataset options win.
    options = {option: config[name] for option, name in get_entry(dataset).hparam_options.items() if name in given}
    loaded = load_dataset(dataset, seed=seed, data_dir=data_dir or None, **{**options, **dict(dataset_options or {})})
    os.makedirs(out_dir, exist_ok=True)
    meta = {"model": model_name, "dataset": dataset, "kind": loaded.kind, "classes": loaded.classes, "seed": seed}
    if loaded.streamed:
        meta.update(_describe_streamed(spec, config, loaded, out_dir, data_dir or None))
    else:
        splits = adapt(spec, config, loaded)
        for name, split in splits.items():
            arrays.save_split(os.path.join(out_dir, f"{name}.npz"), split.x, split.y)
        meta.update({
            "format": "arrays", "sizes": {name: len(split) for name, split in splits.items()},
            "test_fingerprint": arrays.fingerprint(splits.test.x, splits.test.y), "info": splits.info,
        })
    _write_json(os.path.join(out_dir, "meta.json"), meta)
    return meta


# Streamed kinds whose raw examples the task's per-example map turns into model inputs (no `prepare` map):
# a corpus streams sentences, which the task cuts into training pairs; its adapter fits only `info` (e.g. a
# vocabulary counted from the stream).
RAW_STREAMED_KINDS = ("corpus",)
# Streamed kinds of images with structured labels, and what the reader does with the label: the image is
# decoded and resized to the model's image input; masks are resized with it by nearest neighbour ("mask"),
# boxes (relative) and captions are kept as they are ("keep") for the task's per-example map. A spec's adapter
# fits only `info` on them (e.g. a caption vocabulary counted from the streamed train split).
STRUCTURED_STREAMED_KINDS = {"segmentation": "mask", "detection": "keep", "captioning": "keep"}
# Streamed kinds that a model's adapter fits `info` on (e.g. a vocabulary, from the streamed training texts) and
# whose examples the reader shapes with the adapter's per-example map, named by the adapter's `streamed_text`.
FITTED_STREAMED_KINDS = ("text",)


def _describe_streamed(spec, config, loaded, out_dir: str, data_dir: str | None) -> dict:
    """Describe (TFDS) or write (TFRecord shards) each split of a streamed dataset: images, texts or a corpus."""
    from zoo.data import adapt
    from zoo.data.stream import TfdsSplit, write_shards, write_tfds_reference

    signature = spec.inputs(config)
    sig = next(iter(signature.values())) if len(signature) == 1 else None
    prepare, info = None, loaded.info
    if loaded.kind in RAW_STREAMED_KINDS:
        if not spec.adapter:
            raise ValueError(f"{loaded.name} streams raw {loaded.kind} examples, which {spec.name} has no adapter "
                             "for; pick one of its other datasets.")
        info = adapt(spec, config, loaded).info
    elif loaded.kind in FITTED_STREAMED_KINDS:
        prepare = {"text": _streamed_text_map(spec, loaded), "target": spec.target}
        info = adapt(spec, config, loaded).info
    elif loaded.kind in STRUCTURED_STREAMED_KINDS:
        shape = _image_input_shape(signature)
        if shape is None or None in shape:
            raise ValueError(f"{loaded.name} streams images with {loaded.kind} labels, which {spec.name} does not "
                             f"take (its inputs: {({k: v.shape for k, v in signature.items()})}); pick one of its "
                             "other datasets, or give the model a fixed input size.")
        prepare = {"image_shape": list(shape), "target": STRUCTURED_STREAMED_KINDS[loaded.kind]}
        if spec.adapter:
            info = adapt(spec, config, loaded).info
    else:
        shape = _streamed_image_shape(spec, config, sig) if loaded.kind == "image" else None
        if shape is None and spec.adapter and loaded.kind == "image":
            raise ValueError(f"{loaded.name} streams its images, but {spec.name}'s data adapter works on whole "
                             "arrays (it cannot stream); pick one of its offline datasets.")
        if shape is None:
            shapes = {k: v.shape for k, v in signature.items()}
            raise ValueError(f"{loaded.name} streams images, which {spec.name} does not take (its inputs: "
                             f"{shapes}); pick one of its other datasets.")
        prepare = {"image_shape": list(shape), "target": spec.target}
    described, formats = {}, set()
    for name, split in loaded.items():
        if isinstance(split, TfdsSplit):
            described[name] = write_tfds_reference(out_dir, name, split, data_dir)
            formats.add("tfds")
        else:
            described[name] = write_shards(out_dir, name, split)
            formats.add("tfrecord")
    if len(formats) != 1:
        raise ValueError(f"{loaded.name} mixes TFDS references and generated shards; a dataset has one format.")
    return {
        "format": formats.pop(), "splits": described, "sizes": {k: v["examples"] for k, v in described.items()},
        "test_fingerprint": described["test"]["fingerprint"], "info": info,
        **({"prepare": prepare} if prepare else {}),
    }


def _image_input_shape(signature) -> tuple | None:
    """The shape of a model's image input: its single input, or the one named "image", if that is an image."""
    sig = next(iter(signature.values())) if len(signature) == 1 else signature.get("image")
    return tuple(sig.shape) if sig is not None and len(sig.shape) == 3 else None


def _streamed_text_map(spec, loaded) -> str:
    """The "module:function" of `spec`'s adapter that makes the reader's map of one streamed text (its
    `streamed_text` attribute); a one-line ValueError if the model cannot take streamed texts."""
    from zoo.data.adapt import resolve

    ref = getattr(resolve(spec.adapter), "streamed_text", None) if spec.adapter else None
    if ref is None:
        raise ValueError(f"{loaded.name} streams its {loaded.kind} examples, but {spec.name} has no adapter that "
                         "fits on a stream (its adapter's `streamed_text`); pick one of its offline datasets.")
    return ref


def _streamed_image_shape(spec, config, sig):
    """The shape streamed images are resized to for `spec`, or None if it cannot take streamed images.

    A model whose single input is an image (or a flat vector) takes them at its input's shape. A model with
    an adapter takes them only if the adapter says how, through its `streamed_image_shape(hparams)`
    attribute: a generator's input is noise, but it learns images of `image_shape` (the adapter's
    per-example work, such as binarising, is then the task's `example_map`).
    """
    if spec.adapter:
        from zoo.data.adapt import resolve

        shape_of = getattr(resolve(spec.adapter), "streamed_image_shape", None)
        return None if shape_of is None else tuple(shape_of(config))
    if sig is None or len(sig.shape) not in (1, 3):
        return None
    return tuple(sig.shape)


def load_prepared(data_dir: str, split: str):
    """The whole split of a small prepared dataset (format "arrays") as arrays (x, y): for tests and tools."""
    meta = read_meta(data_dir)
    if meta.get("format", "arrays") != "arrays":
        raise ValueError(f"{data_dir} holds a streamed dataset ({meta['format']}); read it with zoo.data.stream.read.")
    return arrays.load_split(os.path.join(data_dir, f"{split}.npz"))


def read_meta(data_dir: str) -> dict:
    from zoo.data.stream import read_meta as read

    return read(data_dir)


# -------------------------------------------------------------------------------------------------- train
def compile_model(model, spec, learning_rate: float, hparams=None, outputs: int = 1):
    """Compile `model` as its task does (the recipe's optimizer config, losses and weights)."""
    from zoo.tasks import get_task

    return get_task(spec.task).compile(model, spec, hparams or dict(spec.defaults), learning_rate=learning_rate,
                                       outputs=outputs)


def _info(meta: dict) -> dict:
    """What the task learns of the data: the adapter's fitted state plus the class count."""
    return {"classes": meta.get("classes"), **meta.get("info", {})}


def train(model_name: str, data_dir: str, model_dir: str, *, style: str = "functional", hparams=None,
          epochs: int | None = None, batch_size: int | None = None, learning_rate: float | None = None,
          seed: int = 0, backup_dir: str | None = None, environment=None) -> dict:
    """Build the model and train it as its task prescribes; write `model.keras`, `saved_model/` and metadata.

    The task maps examples on the fly, compiles the model (or lets it own its loss and training step) and
    may train in several phases (feature extraction, then fine-tuning). Training picks its distribution
    strategy and precision from the environment (`zoo.pipeline.runtime`), stops early on the recipe's
    monitor, fails with a one-line `TrainingError` when a training quantity or a weight becomes NaN, and
    resumes from `backup_dir` (BackupAndRestore) when a preempted run is retried.
    """
    import keras

    from zoo.data.stream import EpochSeed, read
    from zoo.nn import BackupWithRandomState, StopOnNonFinite
    from zoo.pictures import PROGRESS_DIR
    from zoo.pipeline import runtime
    from zoo.tasks import get_task, output_count

    spec = get_spec(model_name)
    check_style(spec, style)
    task = get_task(spec.task)
    config = resolve_hparams(spec, parse_hparams(hparams))
    recipe = spec.recipe
    epochs = recipe.epochs if epochs is None else int(epochs)
    batch_size = recipe.batch_size if batch_size is None else int(batch_size)
    learning_rate = recipe.learning_rate if learning_rate is None else float(learning_rate)
    if epochs < 1 or batch_size < 1 or not learning_rate > 0:
        raise ValueError(f"epochs, batch_size and learning_rate must be positive. Received: epochs={epochs}, "
                         f"batch_size={batch_size}, learning_rate={learning_rate}")

    environment = environment or runtime.detect()
    runtime.backend_for(spec, environment.backend)  # a tensorflow_only model on JAX: one line, before any work
    print(f"zoo train: {runtime.describe(environment)}", flush=True)
    policy = runtime.precision_policy(environment)
    keras.config.set_dtype_policy(policy)
    keras.utils.set_random_seed(seed)
    strategy = runtime.make_strategy(environment)
    global_batch = batch_size * strategy.num_replicas_in_sync

    meta = read_meta(data_dir)
    info = _info(meta)
    with strategy.scope():
        import zoo

        model = zoo.build(model_name, style=style, **{k: v for k, v in config.items() if k in spec.defaults})
    outputs = output_count(model, spec, config)
    example_map = task.example_map(spec, config, info, outputs)
    # Each epoch's shuffle order depends on (seed, epoch) only, so a run resumed from its backup after a
    # preemption sees the same orders as one that never stopped.
    epoch_seed = EpochSeed(seed)
    # tf.distribute splits a short last batch itself; Keras' DataParallel (JAX) needs it cut to whole devices.
    multiple = strategy.num_replicas_in_sync if environment.backend != "tensorflow" else 1
    train_data = read(data_dir, "train", batch_size=global_batch, shuffle=True, seed=epoch_seed,
                      example_map=example_map, meta=meta, batch_multiple=multiple)
    val_data = read(data_dir, "val", batch_size=global_batch, example_map=example_map, meta=meta,
                    batch_multiple=multiple)
    if environment.backend != "tensorflow":
        train_data, val_data = _without_string_inputs(train_data), _without_string_inputs(val_data)
    phases = task.phases(spec, config, epochs)
    # Made once for all phases, so a sample progression spans the whole run.
    progress_dir = os.path.join(model_dir if environment.is_chief else tempfile.mkdtemp(prefix="zoo-worker-"),
                                PROGRESS_DIR)
    # A task that draws from held-out data while training (reconstructions, translations) sets
    # `uses_sample_batch` and gets the first validation batch (as `example_map` makes it).
    extra = {"sample_batch": next(iter(val_data))} if getattr(task, "uses_sample_batch", False) else {}
    task_callbacks = task.training_callbacks(model, spec, config, info, progress_dir, seed=seed, **extra)
    log_dir = runtime.tensorboard_dir(model_dir, environment)
    history: dict[str, list[float]] = {}
    first_epoch = None
    done = 0
    try:
        for phase in phases:
            if phase.prepare is not None:
                phase.prepare(model)
            with strategy.scope():
                task.compile(model, spec, config, learning_rate=learning_rate * phase.learning_rate_scale,
                             outputs=outputs, phase=phase)
            callbacks = [epoch_seed.callback(), keras.callbacks.TerminateOnNaN(), StopOnNonFinite(), *task_callbacks,
                         # Epoch curves (training and validation) for TensorBoard; phases continue one log.
                         keras.callbacks.TensorBoard(log_dir, write_graph=False)]
            if recipe.monitor:
                callbacks.append(keras.callbacks.EarlyStopping(monitor=recipe.monitor, patience=recipe.patience,
                                                               restore_best_weights=True))
            if backup_dir:
                # One backup per phase; double_checkpoint: a preemption while a checkpoint is written leaves
                # the previous one usable. It holds the dropout layers' random state too, so a resumed run
                # draws the masks the uninterrupted one would have.
                folder = runtime.task_dir(backup_dir if len(phases) == 1 else os.path.join(backup_dir, phase.name),
                                          environment)
                callbacks.append(BackupWithRandomState(folder, double_checkpoint=True, delete_checkpoint=True))
            fitted = model.fit(train_data, validation_data=val_data, initial_epoch=done, epochs=done + phase.epochs,
                               callbacks=callbacks, verbose=2, shuffle=False)
            if first_epoch is None:
                first_epoch = int(fitted.epoch[0]) if fitted.epoch else 0
            for key, values in fitted.history.items():
                history.setdefault(key, []).extend(float(v) for v in values)
            done += phase.epochs
    finally:
        keras.config.set_dtype_policy("float32")
        if hasattr(strategy, "close"):
            strategy.close()
    finite, what = task.history_is_finite(history)
    # Keras clips probabilities inside its cross-entropies, so NaN weights can hide behind a finite loss.
    if finite and not all(np.all(np.isfinite(w)) for w in model.get_weights()):
        finite, what = False, "the weights"
    if not finite:
        epochs_run = max((len(v) for v in history.values()), default=0)
        raise TrainingError(
            f"Training diverged: {what} became NaN or infinite in epoch {epochs_run} "
            f"(learning_rate={learning_rate:g}); lower the learning rate or check the data."
        )
    if not environment.is_chief:
        # Every replica of a multi-worker job runs this; only the chief's files are the step's outputs.
        model_dir = tempfile.mkdtemp(prefix="zoo-worker-")
    os.makedirs(model_dir, exist_ok=True)
    model.save(os.path.join(model_dir, "model.keras"))
    if environment.backend == "tensorflow":
        export_serving(model, spec, config, info, model_dir)
        backend_check = None
    else:
        batch = next(iter(val_data))  # Keras' forms: x, (x,), (x, y) or (x, y, weights)
        backend_check = export_in_tensorflow(model, model_name, data_dir, model_dir, config,
                                             batch[0] if isinstance(batch, tuple) else batch)
    train_keys = [k for k in history if not k.startswith("val_")]
    metadata = {
        "model": model_name, "task": spec.task, "style": style, "hparams": config, "dataset": meta["dataset"],
        "seed": seed, "epochs": epochs, "epochs_run": len(history[train_keys[0]]) if train_keys else 0,
        "phases": [{"name": p.name, "epochs": p.epochs, "learning_rate": learning_rate * p.learning_rate_scale}
                   for p in phases],
        # After a preemption, fit resumes from the backup: the first epoch of this attempt is not 0.
        "resumed_from_epoch": first_epoch or 0, "batch_size": batch_size, "global_batch_size": global_batch,
        "learning_rate": learning_rate, "backend": environment.backend, "backend_check": backend_check,
        "tensorboard": log_dir, "strategy": runtime.strategy_name(environment), "precision": policy,
        "replicas": strategy.num_replicas_in_sync, "keras_version": keras.__version__, "history": history,
        "test_fingerprint": meta["test_fingerprint"],
        "progress": sorted(os.listdir(progress_dir)) if os.path.isdir(progress_dir) else [],
    }
    _write_json(os.path.join(model_dir, "metadata.json"), metadata)
    # Where this process wrote (a temporary folder on a non-chief replica): not part of the saved metadata.
    return {**metadata, "written_to": model_dir}


def _without_string_inputs(ds):
    """`ds` without the string entries of its input dicts: what a task carries beside the model's inputs for
    its own use (captioning's reference captions, read by its evaluation). TensorFlow ignores inputs a model
    does not take; JAX cannot hold strings at all, so on JAX they must not reach `fit`."""
    import tensorflow as tf

    inputs = ds.element_spec[0] if isinstance(ds.element_spec, tuple) else ds.element_spec
    if not isinstance(inputs, dict) or not any(spec.dtype == tf.string for spec in inputs.values()):
        return ds

    def drop(x, *rest):
        kept = {name: value for name, value in x.items() if value.dtype != tf.string}
        return (kept, *rest) if rest else kept

    return ds.map(drop)


def export_serving(model, spec, config, info, model_dir: str):
    """Write the endpoint's TensorFlow SavedModel (`model_dir/saved_model`): the task's serving model, in
    float32 whatever precision training used (a bfloat16 graph is slow or absent on CPUs). Returns that
    serving model."""
    from zoo.pipeline.export import float32_copy
    from zoo.tasks import get_task

    serving = get_task(spec.task).serving_model(float32_copy(model), spec, config, info)
    serving.export(os.path.join(model_dir, "saved_model"), verbose=False)
    return serving


PROBE_EXAMPLES = 8  # validation examples that compare the trained model with the exported one


def export_in_tensorflow(model, model_name: str, data_dir: str, model_dir: str, config, inputs) -> dict:
    """Export a model trained on another backend (JAX) as the TensorFlow SavedModel the endpoint serves.

    The `.keras` file is backend-neutral. A child process on the TensorFlow backend loads it, checks that its
    predictions on a few validation inputs match the trained model's (the `probe.npz` written here), then
    exports the task's serving model as on TensorFlow and checks the SavedModel against that serving model
    (where the SavedModel takes the model's own inputs).
    Why not Keras' own JAX export (jax2tf): it converts plain Keras graphs well, but the serving models of
    text, detection, recommender and segmentation tasks hold TensorFlow ops (string lookups, image decoding,
    id checks) that a JAX function cannot trace. A mismatch is a one-line `TrainingError`.
    """
    import subprocess
    import sys

    import keras

    from zoo.pipeline.export import save_probe

    probe = os.path.join(model_dir, "backend_probe.npz")
    save_probe(probe, model, inputs, PROBE_EXAMPLES)
    command = [sys.executable, "-m", "zoo.pipeline.export", model_name, data_dir, model_dir, json.dumps(config),
               probe]
    done = subprocess.run(command, env={**os.environ, "KERAS_BACKEND": "tensorflow"}, capture_output=True,
                          text=True)
    os.remove(probe)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise TrainingError(f"Exporting the {keras.backend.backend()}-trained {model_name} from TensorFlow failed: "
                            f"{last}")
    return json.loads(lines[-1])


def export_from_keras_file(model_name: str, data_dir: str, model_dir: str, config, probe: str) -> dict:
    """The TensorFlow side of `export_in_tensorflow`: load, compare with the probe, export, compare again."""
    import zoo
    from zoo.pipeline.export import compare_probe

    spec = get_spec(model_name)
    model = zoo.load_model(os.path.join(model_dir, "model.keras"))
    check = {"loaded": compare_probe(probe, model)}
    serving = export_serving(model, spec, config, _info(read_meta(data_dir)), model_dir)
    # The serving model may answer in other terms (a forecaster in the series' units, a mask for class
    # scores): the SavedModel is compared with it, and it with the trained model through `loaded`.
    check["served"] = compare_probe(probe, os.path.join(model_dir, "saved_model"), reference=serving)
    return check


# ----------------------------------------------------------------------------------------------- evaluate
def evaluate(model_name: str, data_dir: str, model_dir: str, out_path: str | None = None, *,
             pictures_dir: str | None = None, seed: int = 0, split: str = "test") -> dict:
    """Score the trained model on the test split as its task does: every metric, and the gate metric's
    per-example scores with the paired test that fits them (when it is a mean over examples).

    The model is loaded from its `.keras` file with `safe_mode=True`, as any consumer would; the test split
    is streamed in batches. Pictures the task draws (sample grids, masks) go to `pictures_dir`. `split="val"`
    scores the validation split instead (hyperparameter tuning does, so that the gate's test split stays unseen).
    """
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}. Allowed: {', '.join(SPLITS)}.")
    import zoo
    from zoo.data.stream import read
    from zoo.pictures import PROGRESS_DIR
    from zoo.tasks import get_task, output_count

    spec = get_spec(model_name)
    task = get_task(spec.task)
    meta = read_meta(data_dir)
    info = _info(meta)
    trained = _read_json(os.path.join(model_dir, "metadata.json"))
    config = trained.get("hparams") or resolve_hparams(spec, {})
    model = zoo.load_model(os.path.join(model_dir, "model.keras"))
    example_map = task.example_map(spec, config, info, output_count(model, spec, config))
    batches = read(data_dir, split, batch_size=EVAL_BATCH, example_map=example_map, meta=meta)
    extra = {}
    if task.uses_train_split:
        # A task that measures against a reference it fits first (the sample-quality judge) reads the
        # labelled training split, unmapped.
        extra["train_batches"] = read(data_dir, "train", batch_size=EVAL_BATCH, meta=meta)
    result = task.evaluate(model, batches, spec, config, info, seed=seed, **extra)
    rule = spec.gate.for_dataset(meta["dataset"])
    for needed in filter(None, (rule.metric, rule.floor_metric)):
        if needed not in result.metrics:
            raise RuntimeError(f"The {spec.task} task reported {sorted(result.metrics)}, not the gate's "
                               f"{needed!r} for {model_name} on {meta['dataset']}.")
    value = float(result.metrics[rule.metric])
    fingerprint = meta["test_fingerprint"]
    if result.fingerprint:
        fingerprint = f"{fingerprint}+{result.fingerprint}"
    evaluation = {
        "model": model_name, "dataset": meta["dataset"], "task": spec.task, "metric": rule.metric,
        "direction": rule.direction, "value": value,
        "metrics": {k: float(v) for k, v in result.metrics.items()},
        "scores": None if result.scores is None else [float(s) for s in result.scores],
        "paired_test": result.paired_test, "test_fingerprint": fingerprint,
        "examples": int(meta["sizes"][split]), "split": split,
    }
    if result.confusion_matrix is not None:
        evaluation["confusion_matrix"] = result.confusion_matrix
    if pictures_dir:
        os.makedirs(pictures_dir, exist_ok=True)
        drawn = task.pictures(model, batches, spec, config, info, pictures_dir, seed=seed)
        drawn.update(_progressions(os.path.join(model_dir, PROGRESS_DIR), pictures_dir))
        evaluation["pictures"] = {title: os.path.relpath(path, pictures_dir) for title, path in drawn.items()}
    if out_path:
        _write_json(out_path, evaluation)
    return evaluation


def _progressions(progress_dir: str, pictures_dir: str) -> dict[str, str]:
    """The sample progressions the train step drew ({title: copy in pictures_dir}), if any."""
    found = {}
    if not os.path.isdir(progress_dir):
        return found
    for name in sorted(os.listdir(progress_dir)):
        if name.endswith("_progression.png"):
            title = "Samples over training (one row per epoch, first epoch at the top)"
        elif name.endswith("_progression.gif"):
            title = "Samples over training (animated, one frame per epoch)"
        else:
            continue
        target = os.path.join(pictures_dir, name)
        shutil.copyfile(os.path.join(progress_dir, name), target)
        found[title] = target
    return found


# --------------------------------------------------------------------------------------------------- gate
def gate(evaluation: dict, baseline_uri: str, *, floor: float | None = None, min_delta: float | None = None,
         require_significance: bool = False, alpha: float = 0.05, store=None):
    """The gate's decision for an evaluation against the recorded baseline (see `zoo.pipeline.gate.decide`).

    `floor` None takes the spec's floor for the evaluation's dataset: a number, or the value of the metric
    named by `Gate.floor_metric` in the same evaluation (which the candidate must then strictly beat).
    """
    from zoo.pipeline.baseline import open_store
    from zoo.pipeline.gate import decide

    rule = get_spec(evaluation["model"]).gate.for_dataset(evaluation["dataset"])
    store = store or open_store(baseline_uri)
    baseline = store.read(evaluation["model"], evaluation["dataset"])
    floor_name = None
    if floor is None and rule.floor_metric:
        floor, floor_name = float(evaluation["metrics"][rule.floor_metric]), rule.floor_metric
    return decide(
        metric=evaluation["metric"], direction=evaluation["direction"], candidate=evaluation["value"],
        baseline=baseline, floor=rule.floor if floor is None else floor, floor_name=floor_name,
        min_delta=rule.min_delta if min_delta is None else min_delta,
        require_significance=require_significance, alpha=alpha, candidate_scores=evaluation.get("scores"),
        test_fingerprint=evaluation.get("test_fingerprint"), paired_test=evaluation.get("paired_test"),
    )


# ------------------------------------------------------------------------------------------------- deploy
def deploy_local(model_dir: str, evaluation: dict, registry_root: str, baseline_uri: str) -> dict:
    """Copy the model into the local registry as a new version and make it serve if it still beats the
    baseline: health-checked first, then alias and baseline moved together under the model's deploy lease
    (see `zoo.pipeline.release`)."""
    from zoo.pipeline.release import deploy_local as release

    return release(model_dir, evaluation, registry_root, baseline_uri)


# ------------------------------------------------------------------------------------- component plumbing


def report_errors(output_path: str):
    """Context manager for components: on failure, leave a one-line reason beside the task's outputs.

    kfp.local reports only that a task failed; the CLI reads this file to say why, in one line.
    """
    import contextlib

    @contextlib.contextmanager
    def guard():
        try:
            yield
        except Exception as err:
            folder = os.path.dirname(output_path)
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, ERROR_FILE), "w", encoding="utf-8") as f:
                f.write(f"{type(err).__name__}: {' '.join(str(err).split())}\n")
            raise

    return guard()


def parse_floor(text: str) -> float | None:
    """The gate floor as the pipeline passes it: "" means none (KFP local runs cannot pass None)."""
    if text is None or str(text).strip() == "":
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"floor must be a number or empty. Received: floor={text!r}") from None
