"""Training's runtime: the strategy and precision chosen from what is found, and real runs of each path.

The choice is tested at its boundary with faked environments (variables, GPU count, TPU device files).
Real runs: MirroredStrategy over two logical CPU devices and the BackupAndRestore resume each run in a
subprocess (logical devices must be configured before TensorFlow initialises; a preemption is a killed
process); mixed precision runs in-process; MultiWorkerMirroredStrategy with two worker processes is slow.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from zoo.pipeline import runtime, steps
from zoo.pipeline.runtime import Environment

# Its module-scoped fixtures are expensive: `make test` keeps the module on one worker (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("runtime")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))


def vertex_tf_config(task_type, index, workers=2):
    """TF_CONFIG as Vertex AI sets it: pool 0 is the chief, pool 1 the workers, plus its extra keys."""
    cluster = {"chief": ["cmle-training-workerpool0-ab12-0:2222"]}
    if workers:
        cluster["worker"] = [f"cmle-training-workerpool1-ab12-{i}:2222" for i in range(workers)]
    return json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index, "trial": ""},
                       "environment": "cloud", "job": {"worker_pool_specs": []}})


# ------------------------------------------------------------------------------------- choice at the boundary
CASES = {
    # name: (env, gpus, tpu device files) -> (strategy, precision, TPU resolver argument)
    "cpu only": ({}, 0, [], "default", "float32", None),
    "one gpu": ({}, 1, [], "default", "mixed_float16", None),
    "four gpus": ({}, 4, [], "MirroredStrategy", "mixed_float16", None),
    "vertex tpu vm": ({"TPU_CONFIG": '{"project": "p", "zone": "us-central1-b", "tpu_node_name": "x"}'}, 0, [],
                      "TPUStrategy", "mixed_bfloat16", "local"),
    "gke tpu vm pod": ({"TPU_WORKER_HOSTNAMES": "localhost"}, 0, [], "TPUStrategy", "mixed_bfloat16", "local"),
    "tpu device files": ({}, 0, ["/dev/accel0", "/dev/accel1"], "TPUStrategy", "mixed_bfloat16", "local"),
    "named tpu": ({"TPU_NAME": "my-tpu"}, 0, [], "TPUStrategy", "mixed_bfloat16", "my-tpu"),
    "tpu over grpc": ({"ZOO_TPU": "grpc://10.0.0.2:8470"}, 0, [], "TPUStrategy", "mixed_bfloat16",
                      "grpc://10.0.0.2:8470"),
    "tpu switched off": ({"TPU_CONFIG": "{}", "ZOO_TPU": "none"}, 1, ["/dev/accel0"], "default",
                         "mixed_float16", None),
    "vertex single replica": ({"TF_CONFIG": vertex_tf_config("chief", 0, workers=0)}, 1, [], "default",
                              "mixed_float16", None),
    "vertex chief of three": ({"TF_CONFIG": vertex_tf_config("chief", 0)}, 0, [],
                              "MultiWorkerMirroredStrategy", "float32", None),
    "vertex gpu workers": ({"TF_CONFIG": vertex_tf_config("worker", 1)}, 2, [],
                           "MultiWorkerMirroredStrategy", "mixed_float16", None),
    "tpu wins over tf_config": ({"TF_CONFIG": vertex_tf_config("chief", 0), "TPU_CONFIG": "{}"}, 0, [],
                                "TPUStrategy", "mixed_bfloat16", "local"),
    "forced float32 on gpu": ({"ZOO_PRECISION": "float32"}, 8, [], "MirroredStrategy", "float32", None),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_strategy_and_precision_follow_what_is_found(case):
    env, gpus, devices, strategy, precision, tpu = CASES[case]
    environment = runtime.detect(env, gpus=gpus, tpu_devices=devices)
    assert (runtime.strategy_name(environment), runtime.precision_policy(environment), environment.tpu) == (
        strategy, precision, tpu)
    assert runtime.strategy_name(environment) in runtime.describe(environment)


def test_multi_worker_roles_and_where_each_replica_writes():
    chief = runtime.detect({"TF_CONFIG": vertex_tf_config("chief", 0)}, gpus=0, tpu_devices=[])
    worker = runtime.detect({"TF_CONFIG": vertex_tf_config("worker", 1)}, gpus=0, tpu_devices=[])
    assert chief.workers == worker.workers == 3
    assert dict(worker.cluster)["worker"] == ("cmle-training-workerpool1-ab12-0:2222",
                                              "cmle-training-workerpool1-ab12-1:2222")
    assert chief.is_chief and not worker.is_chief
    assert runtime.task_dir("/gcs/b/backup", chief) == "/gcs/b/backup"
    assert runtime.task_dir("/gcs/b/backup", worker) == os.path.join("/gcs/b/backup", "worker-1")
    # Without a chief, worker 0 plays its part (TensorFlow's convention).
    no_chief = json.dumps({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}})
    assert runtime.detect({"TF_CONFIG": no_chief}, gpus=0, tpu_devices=[]).is_chief


@pytest.mark.parametrize("text, why", [
    ("{not json", "not JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"cluster": ["a:1"]}', "'cluster' must map roles"),
    ('{"cluster": {"master": ["a:1"]}}', "unknown role 'master'"),
    ('{"cluster": {"chief": ["no-port"]}}', "host:port"),
    ('{"cluster": {"chief": ["a:1"], "ps": ["b:2"]}}', "parameter servers"),
    ('{"cluster": {"worker": ["a:1", "b:2"]}}', "needs 'task'"),
    ('{"cluster": {"chief": ["a:1"]}, "task": {"type": "worker", "index": 0}}', "task worker:0 is not in"),
    ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": "1"}}', "non-negative integer"),
    ('{"cluster": {"chief": ["a:1"], "evaluator": ["b:2"]}, "task": {"type": "evaluator"}}', "is the 'evaluator'"),
])
def test_a_bad_tf_config_is_a_one_line_error(text, why):
    with pytest.raises(ValueError, match="TF_CONFIG is invalid") as err:
        runtime.detect({"TF_CONFIG": text}, gpus=0, tpu_devices=[])
    assert why in str(err.value) and "\n" not in str(err.value)


def test_bad_overrides_are_one_line_errors():
    with pytest.raises(ValueError, match=r"ZOO_PRECISION must be one of .*'mixed_float32'"):
        runtime.detect({"ZOO_PRECISION": "mixed_float32"}, gpus=0, tpu_devices=[])
    with pytest.raises(ValueError, match="Unknown precision policy 'float64'"):
        Environment(precision="float64")


def test_detect_asks_tensorflow_for_gpus_and_the_filesystem_for_tpus(monkeypatch):
    monkeypatch.setattr(runtime.glob, "glob", lambda pattern: ["/dev/accel0"] if pattern == "/dev/accel[0-9]*" else [])
    found = runtime.detect({})
    assert found.gpus == 0  # conftest hides GPUs (CUDA_VISIBLE_DEVICES="")
    assert found.tpu == "local"


def test_mixed_float16_gets_loss_scaling_and_bfloat16_does_not():
    """The GPU path: Keras wraps the optimizer for loss scaling only under mixed_float16."""
    import keras

    import zoo
    from zoo.registry import get_spec

    spec = get_spec("lenet5")
    optimizers = {}
    for policy in ("mixed_float16", "mixed_bfloat16"):
        keras.config.set_dtype_policy(policy)
        try:
            model = steps.compile_model(zoo.build("lenet5"), spec, 1e-3)
        finally:
            keras.config.set_dtype_policy("float32")
        optimizers[policy] = model.optimizer
        assert model.layers[-1].compute_dtype == "float32"  # the head stays float32 under both policies
    assert isinstance(optimizers["mixed_float16"], keras.optimizers.LossScaleOptimizer)
    assert not isinstance(optimizers["mixed_bfloat16"], keras.optimizers.LossScaleOptimizer)


# ------------------------------------------------------------------------------------------------ real runs
def run_python(code, *, env=None, timeout=600):
    """Run `code` in a fresh interpreter (TensorFlow not yet initialised) from the repository root."""
    full_env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2",
                "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": ROOT, **(env or {})}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def last_json_line(result):
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def digits_for_lenet5(tmp_path_factory):
    data = str(tmp_path_factory.mktemp("runtime") / "data")
    steps.preprocess("lenet5", "digits", data)
    return data


def test_mirrored_strategy_trains_lenet5_on_two_logical_cpus(digits_for_lenet5, tmp_path):
    code = f"""
    import json
    import tensorflow as tf

    # Two logical devices on the one CPU: MirroredStrategy then really runs two replicas.
    (cpu,) = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    devices = tuple(d.name for d in tf.config.list_logical_devices("CPU"))

    from zoo.pipeline import runtime, steps
    environment = runtime.Environment(devices=devices)
    metadata = steps.train("lenet5", {digits_for_lenet5!r}, {str(tmp_path / "model")!r}, epochs=2,
                           batch_size=16, environment=environment)
    evaluation = steps.evaluate("lenet5", {digits_for_lenet5!r}, {str(tmp_path / "model")!r})
    print(json.dumps({{"devices": devices, "metadata": metadata, "accuracy": evaluation["value"]}}))
    """
    out = last_json_line(run_python(code))
    assert len(out["devices"]) == 2
    meta = out["metadata"]
    assert (meta["strategy"], meta["replicas"], meta["precision"]) == ("MirroredStrategy", 2, "float32")
    assert (meta["batch_size"], meta["global_batch_size"]) == (16, 32)
    assert out["accuracy"] > 0.8, out["accuracy"]  # digits after 2 epochs; chance is 0.1


def test_lenet5_trains_under_mixed_bfloat16_with_a_float32_head(digits_for_lenet5, tmp_path):
    import keras

    import zoo

    model_dir = str(tmp_path / "model")
    metadata = steps.train("lenet5", digits_for_lenet5, model_dir, epochs=3,
                           environment=Environment(precision="mixed_bfloat16"))
    assert metadata["precision"] == "mixed_bfloat16" and metadata["strategy"] == "default"
    assert keras.config.dtype_policy().name == "float32"  # train restores the global policy
    model = zoo.load_model(os.path.join(model_dir, "model.keras"))
    hidden, head = model.get_layer("c1"), model.layers[-1]
    assert (hidden.dtype_policy.name, hidden.compute_dtype, hidden.variable_dtype) == (
        "mixed_bfloat16", "bfloat16", "float32")
    assert head.dtype_policy.name == "float32" and head.compute_dtype == "float32"
    x, _ = steps.load_prepared(digits_for_lenet5, "test")
    assert keras.backend.standardize_dtype(model(x[:4]).dtype) == "float32"
    evaluation = steps.evaluate("lenet5", digits_for_lenet5, model_dir)
    assert evaluation["value"] > 0.8, evaluation["value"]


def test_a_preempted_training_resumes_from_its_backup(digits_for_lenet5, tmp_path):
    """The first attempt dies (SIGKILL, as a preempted VM) as epoch 3 begins; the retry continues from epoch 3."""
    backup, log = str(tmp_path / "backup"), str(tmp_path / "attempt1.jsonl")
    code = f"""
    import json, os, signal
    import keras

    class Preempted(keras.callbacks.TerminateOnNaN):
        # Takes TerminateOnNaN's place among train's callbacks: it logs each epoch, then kills the process.
        def on_epoch_end(self, epoch, logs=None):
            with open({log!r}, "a") as f:
                f.write(json.dumps({{"epoch": epoch, "loss": float(logs["loss"])}}) + "\\n")

        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                os.kill(os.getpid(), signal.SIGKILL)

    keras.callbacks.TerminateOnNaN = Preempted
    from zoo.pipeline import steps
    steps.train("lenet5", {digits_for_lenet5!r}, {str(tmp_path / "model")!r}, epochs=4, backup_dir={backup!r})
    """
    first = run_python(code)
    assert first.returncode == -signal.SIGKILL, first.stderr[-3000:]
    attempt1 = [json.loads(line) for line in open(log)]
    assert [e["epoch"] for e in attempt1] == [0, 1]
    with open(os.path.join(backup, "training_metadata.json")) as f:
        assert json.load(f)["epoch"] == 2
    assert not os.path.exists(tmp_path / "model" / "model.keras")

    metadata = steps.train("lenet5", digits_for_lenet5, str(tmp_path / "model"), epochs=4, backup_dir=backup)
    losses = metadata["history"]["loss"]
    assert metadata["epochs_run"] == len(losses) == 2  # epochs 3 and 4 of 4: the count continued
    # It resumed from the backed-up weights, not from scratch: its first loss is below the first attempt's
    # last one (a fresh LeNet-5 starts near ln 10 = 2.3).
    assert losses[0] < attempt1[-1]["loss"] < attempt1[0]["loss"]
    assert not os.path.exists(backup)  # a completed fit removes its backup
    assert np.isfinite(losses).all()


def test_an_unusable_tpu_is_a_one_line_error():
    code = """
    import json
    from zoo.pipeline import runtime
    try:
        runtime.make_strategy(runtime.Environment(tpu="local"))
    except RuntimeError as err:
        print(json.dumps({"error": str(err)}))
    """
    error = last_json_line(run_python(code, timeout=300))["error"]
    assert error.startswith("A TPU was announced (resolver argument 'local') but TensorFlow could not use it")
    assert "ACCELERATOR=tpu" in error and "\n" not in error


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_multi_worker_mirrored_strategy_trains_lenet5_with_two_worker_processes(digits_for_lenet5, tmp_path):
    """Two processes on this machine, each told its role by TF_CONFIG as Vertex AI does; they train in sync."""
    ports = _free_ports(2)
    cluster = {"chief": [f"127.0.0.1:{ports[0]}"], "worker": [f"127.0.0.1:{ports[1]}"]}
    code = f"""
    import json, os
    from zoo.pipeline import runtime, steps
    environment = runtime.detect()
    model_dir = runtime.task_dir({str(tmp_path / "model")!r}, environment)
    metadata = steps.train("lenet5", {digits_for_lenet5!r}, model_dir, epochs=2, batch_size=16)
    print(json.dumps({{"chief": environment.is_chief, "model_dir": model_dir, "metadata": metadata}}))
    """
    workers = []
    for task_type in ("chief", "worker"):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": task_type, "index": 0}})
        full_env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2",
                    "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": ROOT, "TF_CONFIG": tf_config}
        workers.append(subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=full_env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    try:
        for proc in workers:
            out, err = proc.communicate(timeout=900)
            assert proc.returncode == 0, err[-3000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.kill()
    chief, worker = results
    assert chief["chief"] and not worker["chief"] and chief["model_dir"] != worker["model_dir"]
    for result in results:
        meta = result["metadata"]
        assert (meta["strategy"], meta["replicas"], meta["global_batch_size"]) == (
            "MultiWorkerMirroredStrategy", 2, 32)
    # Synchronous training: both replicas end with the same weights.
    import zoo

    # A non-chief replica writes its (identical) outputs to a temporary folder of its own.
    assert chief["metadata"]["written_to"] == chief["model_dir"] != worker["metadata"]["written_to"]
    a = zoo.load_model(os.path.join(chief["metadata"]["written_to"], "model.keras")).get_weights()
    b = zoo.load_model(os.path.join(worker["metadata"]["written_to"], "model.keras")).get_weights()
    assert len(a) == len(b) and all(np.allclose(x, y) for x, y in zip(a, b, strict=True))


# ----------------------------------------------------------------------------------------- the JAX backend
def test_backends_are_checked_and_chosen_before_keras_is_imported():
    with pytest.raises(ValueError, match="Unknown backend 'torch'. Allowed: tensorflow, jax."):
        runtime.check_backend("torch")
    with pytest.raises(ValueError, match="Unknown backend"):
        Environment(backend="numpy")
    import keras  # this process runs TensorFlow's Keras: it cannot switch any more

    runtime.select_backend(keras.backend.backend())
    with pytest.raises(RuntimeError, match="already imported with the 'tensorflow' backend.*KERAS_BACKEND=jax"):
        runtime.select_backend("jax")


def test_on_jax_the_strategy_is_keras_data_parallel_over_the_devices_found():
    one = Environment(backend="jax", devices=("cpu:0",))
    assert runtime.strategy_name(one) == "default" and runtime.precision_policy(one) == "float32"
    gpus = Environment(backend="jax", gpus=8, devices=tuple(f"gpu:{i}" for i in range(8)))
    assert runtime.strategy_name(gpus) == "DataParallel" and runtime.precision_policy(gpus) == "mixed_float16"
    tpu = Environment(backend="jax", tpu="local", devices=tuple(f"tpu:{i}" for i in range(4)))
    assert runtime.strategy_name(tpu) == "DataParallel" and runtime.precision_policy(tpu) == "mixed_bfloat16"
    assert "jax: found 4 JAX device(s) (tpu:0, tpu:1, tpu:2, tpu:3)" in runtime.describe(tpu)


def test_a_vertex_cluster_becomes_jax_processes_numbered_chief_first():
    env = {"TF_CONFIG": vertex_tf_config("worker", 1)}
    worker = runtime.Environment(backend="jax", **{k: v for k, v in vars(runtime.detect(
        env, gpus=0, tpu_devices=[], backend="tensorflow")).items() if k != "backend"})
    assert runtime.jax_processes(worker) == {
        "job_addresses": "cmle-training-workerpool0-ab12-0:2222,cmle-training-workerpool1-ab12-0:2222,"
                         "cmle-training-workerpool1-ab12-1:2222",
        "num_processes": 3, "process_id": 2}
    assert runtime.jax_processes(Environment(backend="jax")) is None


def test_tensorflow_only_models_refuse_the_jax_backend_before_training(tmp_path):
    with pytest.raises(ValueError, match="dcgan trains on the TensorFlow backend only .*cannot train on jax"):
        steps.train("dcgan", str(tmp_path / "no-data"), str(tmp_path / "model"),
                    environment=Environment(backend="jax", devices=("cpu:0",)))


def test_the_train_step_runs_data_parallel_on_two_jax_devices_and_exports_a_matching_saved_model(
        digits_for_lenet5, tmp_path):
    """Keras' distribution API on the JAX backend (two CPU devices), then the TensorFlow SavedModel written
    from the .keras file, checked against the JAX model's own predictions."""
    code = f"""
    import json
    import keras
    from zoo.pipeline import steps

    metadata = steps.train("lenet5", {digits_for_lenet5!r}, {str(tmp_path / "model")!r}, epochs=2, batch_size=16)
    model = keras.saving.load_model({str(tmp_path / "model" / "model.keras")!r})
    print(json.dumps({{k: metadata[k] for k in ("backend", "strategy", "replicas", "global_batch_size",
                                                "backend_check", "history", "tensorboard")}}))
    """
    env = {**os.environ, "KERAS_BACKEND": "jax", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "jax: found 2 JAX device(s) (cpu:0, cpu:1) -> DataParallel" in result.stdout
    metadata = json.loads(result.stdout.strip().splitlines()[-1])
    assert (metadata["backend"], metadata["strategy"], metadata["replicas"]) == ("jax", "DataParallel", 2)
    assert metadata["global_batch_size"] == 32
    assert metadata["history"]["val_accuracy"][-1] > 0.8, metadata["history"]
    for check in ("loaded", "served"):
        assert metadata["backend_check"][check]["compared"], metadata["backend_check"]
        assert metadata["backend_check"][check]["max_abs_diff"] < 1e-4
    from zoo.pipeline.serving import Predictor

    x = steps.load_prepared(digits_for_lenet5, "test")[0][:16]
    served = Predictor(str(tmp_path / "model" / "saved_model")).predict({"instances": x.tolist()})["predictions"]
    assert np.asarray(served).shape == (16, 10)
    assert os.listdir(os.path.join(metadata["tensorboard"], "train"))


def test_a_resumed_fit_draws_the_dropout_masks_the_uninterrupted_one_would(tmp_path):
    """BackupWithRandomState keeps the seed generators' states with each checkpoint: killed as epoch 3 begins
    and resumed, a model with dropout ends with the weights of the run that never stopped; with Keras' own
    BackupAndRestore the resumed run draws fresh masks and ends elsewhere."""
    import keras

    from zoo.nn import BackupWithRandomState

    x = np.random.default_rng(0).normal(size=(64, 8)).astype("float32")
    y = x.sum(axis=1, keepdims=True)

    class Killed(Exception):
        pass

    class Preempted(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise Killed()

    def fit(backup, callback, preempt=False):
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dropout(0.5), keras.layers.Dense(1)])
        model.compile(keras.optimizers.SGD(0.01), "mse")
        callbacks = [callback(str(tmp_path / backup), double_checkpoint=True), *([Preempted()] if preempt else [])]
        try:
            model.fit(x, y, batch_size=16, epochs=4, shuffle=False, verbose=0, callbacks=callbacks)
        except Killed:
            pass
        return model.get_weights()

    straight = fit("straight", BackupWithRandomState)
    fit("ours", BackupWithRandomState, preempt=True)
    with open(tmp_path / "ours" / BackupWithRandomState.STATE_FILE) as f:
        assert json.load(f)["epoch"] == 2  # written with the checkpoint taken after two epochs
    resumed = fit("ours", BackupWithRandomState)
    for a, b in zip(straight, resumed):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    fit("keras", keras.callbacks.BackupAndRestore, preempt=True)
    plain = fit("keras", keras.callbacks.BackupAndRestore)
    assert max(float(np.abs(a - b).max()) for a, b in zip(straight, plain)) > 1e-3
