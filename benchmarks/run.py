"""Speed of zoo models against references measured in the same run: ratios, not absolute timings.

A zoo model must be exactly as fast as the same network written by hand or taken from keras.applications.
Each pair is timed side by side, interleaved (A, B, A, B, ...) so that machine noise hits both alike, and
the report gives the median time per step of each and their ratio (zoo / reference; 1.00 is parity).

    python -m benchmarks.run                      # CPU-sized defaults
    python -m benchmarks.run --size 224 --batch 64 --repeats 20 --json out.json   # on an accelerator

Works with any Keras backend (KERAS_BACKEND=jax on a GPU machine without TensorFlow).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np


def _lenet_by_hand(input_shape, classes):
    import keras

    return keras.Sequential([
        keras.Input(input_shape),
        keras.layers.Conv2D(6, 5, activation="tanh"), keras.layers.AveragePooling2D(2),
        keras.layers.Conv2D(16, 5, activation="tanh"), keras.layers.AveragePooling2D(2),
        keras.layers.Flatten(), keras.layers.Dense(120, activation="tanh"), keras.layers.Dense(84, activation="tanh"),
        keras.layers.Dense(classes, activation="softmax"),
    ])


def _applications(name):
    def build(input_shape, classes):
        import keras

        return getattr(keras.applications, name)(weights=None, input_shape=input_shape, classes=classes)

    return build


# zoo name -> (reference label, reference builder, channels, minimum size)
PAIRS = {
    "lenet5": ("hand-written Sequential", _lenet_by_hand, 1, 32),
    "vgg16": ("keras.applications.VGG16", _applications("VGG16"), 3, 32),
    "resnet50": ("keras.applications.ResNet50", _applications("ResNet50"), 3, 32),
    "densenet121": ("keras.applications.DenseNet121", _applications("DenseNet121"), 3, 32),
}


def bench_pair(name, *, size, batch, repeats, style, classes=10):
    import keras

    import zoo

    label, reference_builder, channels, minimum = PAIRS[name]
    size = max(size, minimum) if name != "lenet5" else 32
    shape = (size, size, channels)
    rng = np.random.default_rng(0)
    x = rng.random((batch, *shape), dtype="float32")
    y = rng.integers(0, classes, size=(batch,))
    models = {"zoo": zoo.build(name, style=style, input_shape=shape, classes=classes),
              "reference": reference_builder(shape, classes)}
    assert models["zoo"].count_params() == models["reference"].count_params(), name
    results = {}
    for mode in ("predict", "train"):
        steps = {}
        for key, model in models.items():
            if mode == "train":
                model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="sparse_categorical_crossentropy")
                steps[key] = lambda m=model: m.train_on_batch(x, y)
            else:
                steps[key] = lambda m=model: m.predict_on_batch(x)
        for fn in steps.values():
            fn()  # warm up both before timing either
        times = {key: [] for key in steps}
        for _ in range(repeats):  # interleaved: noise hits both alike
            for key, fn in steps.items():
                start = time.perf_counter()
                fn()
                times[key].append(time.perf_counter() - start)
        zoo_s, ref_s = statistics.median(times["zoo"]), statistics.median(times["reference"])
        results[mode] = {"zoo_ms": 1e3 * zoo_s, "reference_ms": 1e3 * ref_s, "ratio": zoo_s / ref_s}
    return {"model": name, "style": style, "reference": label, "input": list(shape), "batch": batch, **results}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(PAIRS), choices=list(PAIRS))
    parser.add_argument("--styles", nargs="*", default=["functional", "sequential", "subclass"])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    import keras

    rows = []
    print(f"backend={keras.backend.backend()}  size={args.size}  batch={args.batch}  repeats={args.repeats}")
    print(f"{'model':<12} {'style':<11} {'mode':<8} {'zoo ms':>9} {'ref ms':>9} {'ratio':>6}  reference")
    for name in args.models:
        for style in args.styles:
            row = bench_pair(name, size=args.size, batch=args.batch, repeats=args.repeats, style=style)
            rows.append(row)
            for mode in ("predict", "train"):
                r = row[mode]
                print(f"{name:<12} {style:<11} {mode:<8} {r['zoo_ms']:>9.2f} {r['reference_ms']:>9.2f} "
                      f"{r['ratio']:>6.2f}  {row['reference']}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"backend": keras.backend.backend(), "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
