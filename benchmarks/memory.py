"""Memory and input speed of the streaming pipeline on generated ImageNet-shaped data, at growing sizes.

For each size (the base example count times each factor) a fresh process runs the pipeline's own steps in
order on `synthetic_imagenet` (about 224x224x3 photos, JPEG-encoded into TFRecord shards): preprocess, one
epoch of training, evaluation. It reports the process's peak resident memory (VmHWM: the high-water mark of
all three steps together) and two speeds measured in that same process:

- input: examples per second the reader delivers for training (read shards, shuffle, decode, resize,
  batch) with no model attached;
- model: examples per second the model trains on batches already in memory (`train_on_batch`).

The report gives the ratios that matter: peak memory at the largest size over the smallest (goal: within
1.10, flat in dataset size) and input over model speed (goal: at least 5, the model and not the data is
the bottleneck). Nothing here is a pass/fail test.

    python -m benchmarks.memory                         # 1x, 4x, 16x of 1,600 examples, resnet18 at 96 px
    python -m benchmarks.memory --base 400 --factors 1 2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

MODEL = "resnet18"


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("VmHWM not found in /proc/self/status")


def child(count: int, size: int, model: str, folder: str) -> dict:
    """One size: preprocess, one training epoch and evaluation in this process; peak memory and speeds."""
    import numpy as np

    from zoo.data.stream import EpochSeed, read
    from zoo.pipeline import steps

    hparams = {"input_shape": (size, size, 3), "classes": 10}
    data, model_dir = os.path.join(folder, "data"), os.path.join(folder, "model")
    timings = {}
    start = time.perf_counter()
    meta = steps.preprocess(model, "synthetic_imagenet", data, hparams=hparams,
                            dataset_options={"n": count, "classes": 10, "size": 224})
    timings["preprocess_s"] = time.perf_counter() - start
    start = time.perf_counter()
    steps.train(model, data, model_dir, hparams=hparams, epochs=1, batch_size=64)
    timings["train_epoch_s"] = time.perf_counter() - start
    start = time.perf_counter()
    steps.evaluate(model, data, model_dir)
    timings["evaluate_s"] = time.perf_counter() - start
    peak = _peak_rss_mb()

    # Input speed: the training reader alone, one full epoch.
    seed = EpochSeed(0)
    seed.set_epoch(1)
    start = time.perf_counter()
    seen = sum(int(y.shape[0]) for _, y in read(data, "train", batch_size=64, shuffle=True, seed=seed))
    input_rate = seen / (time.perf_counter() - start)

    # Model speed: training steps on one batch held in memory (no input pipeline at all).
    import zoo

    net = zoo.build(model, **hparams)
    steps.compile_model(net, zoo.get_spec(model), 1e-3, hparams={**zoo.get_spec(model).defaults, **hparams})
    x = np.random.default_rng(0).random((64, size, size, 3), dtype="float32")
    y = np.arange(64) % 10
    net.train_on_batch(x, y)  # build and trace
    steps_timed = 8
    start = time.perf_counter()
    for _ in range(steps_timed):
        net.train_on_batch(x, y)
    model_rate = steps_timed * 64 / (time.perf_counter() - start)
    shard_bytes = sum(os.path.getsize(os.path.join(data, f)) for f in os.listdir(data) if f.endswith(".tfrecord"))
    return {"examples": count, "train_examples": meta["sizes"]["train"], "peak_rss_mb": round(peak, 1),
            "shards_mb": round(shard_bytes / 2**20, 1), "input_examples_per_s": round(input_rate, 1),
            "model_examples_per_s": round(model_rate, 1), **{k: round(v, 1) for k, v in timings.items()}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=1600, help="examples at factor 1")
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--size", type=int, default=96, help="the model's input side in pixels")
    parser.add_argument("--model", default=MODEL)
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.size, args.model, args.folder)))
        return 0
    rows = []
    for factor in args.factors:
        with tempfile.TemporaryDirectory() as folder:
            command = [sys.executable, "-m", "benchmarks.memory", "--child", str(args.base * factor),
                       "--size", str(args.size), "--model", args.model, "--folder", folder]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(done.stderr[-3000:], file=sys.stderr)
                return 1
            row = {"factor": factor, **json.loads(done.stdout.strip().splitlines()[-1])}
            rows.append(row)
            print(json.dumps(row), flush=True)
    peaks = [r["peak_rss_mb"] for r in rows]
    summary = {
        "model": args.model, "input_px": args.size, "rows": rows,
        "peak_memory_ratio_largest_over_smallest": round(peaks[-1] / peaks[0], 3),
        "input_over_model_speed": round(min(r["input_examples_per_s"] / r["model_examples_per_s"] for r in rows), 2),
    }
    print(f"peak memory {peaks[0]:.0f} MB at {rows[0]['examples']} examples, {peaks[-1]:.0f} MB at "
          f"{rows[-1]['examples']} (ratio {summary['peak_memory_ratio_largest_over_smallest']}); input delivers "
          f"{summary['input_over_model_speed']}x what {args.model} at {args.size} px consumes")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
