"""Build, train a step, save and reload zoo models on the Keras backend this process runs (KERAS_BACKEND).

Run as `KERAS_BACKEND=jax python tests/backend_run.py NAME [NAME ...]` (test_backends.py does): for each model,
in its spec's small configuration and main style, it prints one JSON line with the parameter count and either
"ok" or the first error, so the caller compares the counts with TensorFlow's and reports every failure at once.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback

import numpy as np

BATCH = 4


def main_style(spec) -> str:
    return "functional" if "functional" in spec.supported_styles else spec.supported_styles[0]


def check(name: str, folder: str) -> dict:
    import keras

    import zoo
    from zoo.tasks import get_task, output_count

    spec = zoo.get_spec(name)
    hparams = {**spec.defaults, **spec.small}
    keras.utils.set_random_seed(0)
    model = zoo.build(name, style=main_style(spec), **dict(spec.small))
    result = {"name": name, "backend": keras.backend.backend(), "params": int(model.count_params())}
    task = get_task(spec.task)
    x, y = task.random_batch(spec, hparams, model, BATCH, np.random.default_rng(1))
    x, y = _numpy(x), _numpy(y)
    task.compile(model, spec, hparams, learning_rate=1e-3, outputs=output_count(model, spec, hparams))
    history = model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    finite, what = task.history_is_finite(history.history)
    if not finite:
        raise FloatingPointError(f"{what} is not finite after a step")
    before = np.asarray(keras.tree.flatten(model.predict(x, verbose=0))[0])
    path = os.path.join(folder, f"{name}.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    after = np.asarray(keras.tree.flatten(loaded.predict(x, verbose=0))[0])
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-5)
    return {**result, "ok": True}


def _numpy(value):
    """Batches as NumPy (a task may build its random targets with tf.data): what any backend's fit takes."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: _numpy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_numpy(v) for v in value)
    return np.asarray(value)


def main(names: list[str]) -> int:
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            start = time.perf_counter()
            try:
                line = check(name, folder)
            except Exception as error:  # every model is tried; the caller reports all failures
                last = traceback.extract_tb(error.__traceback__)[-1]
                line = {"name": name, "ok": False,
                        "error": f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''} "
                                 f"({os.path.basename(last.filename)}:{last.lineno})"}
            print(json.dumps({**line, "seconds": round(time.perf_counter() - start, 1)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
