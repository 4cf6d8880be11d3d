"""Where training runs: the `tf.distribute` strategy and the mixed-precision policy, chosen from what is found.

    found                                          strategy                     precision
    a TPU                                          TPUStrategy                  mixed_bfloat16
    several workers (chief, worker) in TF_CONFIG   MultiWorkerMirroredStrategy  mixed_float16 on GPUs, else float32
    several GPUs (or explicit `devices`)           MirroredStrategy             mixed_float16 on GPUs
    one GPU                                        default                      mixed_float16
    CPU only                                       default                      float32

Under mixed_float16, `Model.compile` wraps the optimizer in a `LossScaleOptimizer` itself (Keras does that
only for mixed_float16, which is the only policy that needs it); the zoo's output heads compute in float32.

How a TPU is found. Vertex AI runs a custom job's container directly on a TPU VM (machine type `cloud-tpu`
with TPU_V2/TPU_V3, or the `ct5lp-hightpu-*` v5e types); on `cloud-tpu` machines it sets `TPU_CONFIG`, and
the zoo's Vertex target also sets `ZOO_TPU=local` on TPU jobs, whatever the machine. The TPU is attached
to that VM, so the resolver must be `TPUClusterResolver(tpu="local")`: with `tpu=None`, TensorFlow would
read `TPU_CONFIG` as a legacy *TPU Node* and call the Cloud TPU API for a node that does not exist.
The order of the signals:
  1. `ZOO_TPU`: an explicit resolver argument ("local", a TPU name, or grpc://host:8470); "none" disables.
  2. `TPU_CONFIG` (Vertex AI), `TPU_WORKER_HOSTNAMES` (GKE TPU VM pods), or `/dev/accel<N>` device files
     (TPU VM v2-v4 chips) -> "local".
  3. `TPU_NAME` (a TPU named by the user) or `KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS` (legacy GKE TPU nodes) -> that
     value, which TensorFlow resolves over the network.

How workers are found. Vertex AI sets `TF_CONFIG` on every replica of a distributed custom job, with the
roles "chief" (worker pool 0) and "worker" (pool 1); a single-replica job gets a cluster of one chief. A
malformed `TF_CONFIG` is a one-line `ValueError`, and so are parameter servers (this zoo trains
synchronously).

The JAX backend (`zoo run/submit --backend jax`; the TPU preset's default). The process selects it before
Keras is imported (`select_backend`). There is no `tf.distribute` then: Keras' distribution API shards each
batch over the devices JAX finds (`keras.distribution.DataParallel`: GPUs, TPU chips, or CPU devices that
`XLA_FLAGS=--xla_force_host_platform_device_count=N` creates), and a TF_CONFIG cluster of several replicas
becomes `keras.distribution.initialize` (one JAX process per replica, the chief's address as coordinator).
TensorFlow still reads the data (tf.data) and writes the serving SavedModel; it is kept off the GPUs so
that JAX has their memory.

Overrides (documented hooks, e.g. to debug a model that diverges under float16):
  `ZOO_PRECISION=float32|mixed_float16|mixed_bfloat16` forces the policy; `ZOO_TPU` as above.
Tests inject an `Environment` (with `devices=("/cpu:0", "/cpu:1")` MirroredStrategy runs on two logical CPUs).
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
from typing import Mapping, Sequence

POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")
# Keras backends the train step can use; the serving model is a TensorFlow SavedModel either way.
BACKENDS = ("tensorflow", "jax")
SYNC_ROLES = ("chief", "worker")  # the replicas that train in MultiWorkerMirroredStrategy
KNOWN_ROLES = SYNC_ROLES + ("ps", "evaluator")
TPU_DEVICE_GLOB = "/dev/accel[0-9]*"  # TPU VM chips; /dev/accel/ (a folder) is the kernel's NPU class


@dataclasses.dataclass(frozen=True)
class Environment:
    """What training found.

    Attributes:
        tpu: the `TPUClusterResolver` argument ("local" for a TPU attached to this VM, a TPU name or a
            grpc:// address for one reached over the network); None when there is no TPU.
        gpus: visible GPUs.
        workers: synchronous workers in the cluster (chief + worker), 1 when there is no cluster.
        task_type, task_index: this process's role in the cluster (None when there is no cluster).
        cluster: the cluster as ((role, (address, ...)), ...), for MultiWorkerMirroredStrategy.
        devices: devices to mirror over, overriding "all GPUs" (tests use two logical CPUs).
        precision: a forced dtype policy, or None to choose from the hardware.
        backend: the Keras backend that trains ("tensorflow" or "jax").
    """

    tpu: str | None = None
    gpus: int = 0
    workers: int = 1
    task_type: str | None = None
    task_index: int = 0
    cluster: tuple[tuple[str, tuple[str, ...]], ...] = ()
    devices: tuple[str, ...] = ()
    precision: str | None = None
    backend: str = "tensorflow"

    def __post_init__(self):
        check_backend(self.backend)
        if self.precision is not None and self.precision not in POLICIES:
            raise ValueError(f"Unknown precision policy {self.precision!r}. Allowed: {', '.join(POLICIES)}.")
        if self.gpus < 0 or self.workers < 1:
            raise ValueError(f"gpus must be >= 0 and workers >= 1. Received: gpus={self.gpus}, "
                             f"workers={self.workers}")

    @property
    def is_chief(self) -> bool:
        """Whether this process writes the outputs (TF's rule: the chief, or worker 0 when there is no chief)."""
        if self.task_type in (None, "chief"):
            return True
        roles = dict(self.cluster)
        return self.task_type == "worker" and self.task_index == 0 and not roles.get("chief")


def _parse_tf_config(text: str) -> tuple[dict[str, list[str]], str | None, int]:
    """The cluster, task type and task index in TF_CONFIG; a one-line ValueError when it is malformed."""
    def bad(why: str) -> ValueError:
        return ValueError(f"TF_CONFIG is invalid: {why}. Received: {' '.join(text.split())[:200]}")

    try:
        config = json.loads(text)
    except ValueError as err:
        raise bad(f"not JSON ({err.msg} at character {err.pos})") from None
    if not isinstance(config, dict):
        raise bad("expected a JSON object with 'cluster' and 'task'")
    cluster = config.get("cluster") or {}
    if not isinstance(cluster, dict):
        raise bad("'cluster' must map roles to lists of host:port addresses")
    for role, addresses in cluster.items():
        if role not in KNOWN_ROLES:
            raise bad(f"unknown role {role!r} in 'cluster' (allowed: {', '.join(KNOWN_ROLES)})")
        if (not isinstance(addresses, list)
                or not all(isinstance(a, str) and a.rpartition(":")[2].isdigit() for a in addresses)):
            raise bad(f"cluster[{role!r}] must be a list of host:port addresses")
    if cluster.get("ps"):
        raise bad("it has parameter servers ('ps'); the zoo trains synchronously "
                  "(MultiWorkerMirroredStrategy): use 'chief' and 'worker' replicas only")
    task = config.get("task") or {}
    if not isinstance(task, dict):
        raise bad("'task' must be an object with 'type' and 'index'")
    task_type, index = task.get("type"), task.get("index", 0)
    if task_type is None:
        if sum(len(cluster.get(r, [])) for r in SYNC_ROLES) > 1:
            raise bad("a cluster of several workers needs 'task' (this process's type and index)")
        return cluster, None, 0
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise bad(f"task index must be a non-negative integer, got {index!r}")
    if task_type not in cluster or index >= len(cluster[task_type]):
        raise bad(f"task {task_type}:{index} is not in the cluster")
    if task_type not in SYNC_ROLES:
        raise bad(f"this process is the {task_type!r}; the zoo trains on 'chief' and 'worker' replicas only")
    return cluster, task_type, index


def check_backend(name: str) -> str:
    """`name` if the train step can use it as Keras backend; else a one-line ValueError."""
    if name not in BACKENDS:
        raise ValueError(f"Unknown backend {name!r}. Allowed: {', '.join(BACKENDS)}.")
    return name


def backend_for(spec, backend: str, *, requested: bool = True) -> str:
    """The backend `spec`'s model trains with given `backend`: itself, unless the model is `tensorflow_only`.
    Then a backend the user asked for is a one-line ValueError, and a preset's default gives way to TensorFlow."""
    if check_backend(backend) == "tensorflow" or not spec.tensorflow_only:
        return backend
    if requested:
        raise ValueError(f"{spec.name} trains on the TensorFlow backend only ({spec.tensorflow_only}); "
                         f"it cannot train on {backend}.")
    return "tensorflow"


def select_backend(name: str) -> None:
    """Make `name` this process's Keras backend. Keras reads KERAS_BACKEND once, when it is first imported,
    so a process that imported Keras with another backend cannot switch: that is a one-line error."""
    import sys

    check_backend(name)
    if "keras" in sys.modules:
        import keras

        if keras.backend.backend() != name:
            raise RuntimeError(f"Keras was already imported with the {keras.backend.backend()!r} backend in this "
                               f"process; set KERAS_BACKEND={name} before importing Keras.")
    os.environ["KERAS_BACKEND"] = name


def _jax_devices() -> tuple[str, list[str]]:
    """JAX's platform (cpu, gpu, tpu) and its devices here, named platform:id."""
    import jax

    devices = jax.local_devices()
    return devices[0].platform, [f"{d.platform}:{d.id}" for d in devices]


def _tpu_from(env: Mapping[str, str], tpu_devices: Sequence[str]) -> str | None:
    explicit = env.get("ZOO_TPU", "").strip()
    if explicit:
        return None if explicit.lower() == "none" else explicit
    if env.get("TPU_CONFIG") or env.get("TPU_WORKER_HOSTNAMES") or tpu_devices:
        return "local"
    return env.get("TPU_NAME") or env.get("KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS") or None


def detect(env: Mapping[str, str] | None = None, gpus: int | None = None,
           tpu_devices: Sequence[str] | None = None, backend: str | None = None) -> Environment:
    """Inspect the environment: TPU, visible GPUs, TF_CONFIG's cluster. Each input is injectable for tests.

    Args:
        env: the environment variables (default `os.environ`).
        gpus: the number of visible GPUs (default: ask TensorFlow, which does not initialise the runtime).
        tpu_devices: TPU device files (default: those matching /dev/accel<N>).
        backend: the Keras backend (default: Keras' own). On JAX, JAX's device list says what is here.
    """
    if backend is None:
        import keras

        backend = keras.backend.backend()
    check_backend(backend)
    env = os.environ if env is None else env
    cluster, task_type, task_index = ({}, None, 0)
    if env.get("TF_CONFIG", "").strip():
        cluster, task_type, task_index = _parse_tf_config(env["TF_CONFIG"])
    workers = sum(len(cluster.get(role, [])) for role in SYNC_ROLES)
    precision = env.get("ZOO_PRECISION", "").strip() or None
    if precision is not None and precision not in POLICIES:
        raise ValueError(f"ZOO_PRECISION must be one of {', '.join(POLICIES)}. Received: {precision!r}")
    found = Environment(
        backend=backend, workers=max(workers, 1), task_type=task_type, task_index=task_index,
        cluster=tuple((role, tuple(a)) for role, a in sorted(cluster.items()) if a), precision=precision,
    )
    if backend == "jax":
        return _jax_hardware(found)
    tpu_devices = sorted(glob.glob(TPU_DEVICE_GLOB)) if tpu_devices is None else list(tpu_devices)
    if gpus is None:
        import tensorflow as tf

        gpus = len(tf.config.list_physical_devices("GPU"))
    return dataclasses.replace(found, tpu=_tpu_from(env, tpu_devices), gpus=int(gpus))


def _jax_hardware(found: Environment) -> Environment:
    """`found` with the TPU, GPUs and devices JAX sees (after joining a multi-replica job's processes)."""
    # JAX's processes must meet before JAX lists (or runs on) any device.
    processes = jax_processes(found)
    if processes and not _JAX_INITIALIZED:
        import keras

        keras.distribution.initialize(**processes)
        _JAX_INITIALIZED.append(processes["process_id"])
    platform, devices = _jax_devices()
    return dataclasses.replace(found, tpu="local" if platform == "tpu" else None,
                               gpus=len(devices) if platform == "gpu" else 0, devices=tuple(devices))


_JAX_INITIALIZED: list = []  # keras.distribution.initialize runs once per process


def strategy_name(environment: Environment) -> str:
    if environment.backend == "jax":
        return "DataParallel" if len(environment.devices) > 1 or environment.workers > 1 else "default"
    if environment.tpu:
        return "TPUStrategy"
    if environment.workers > 1:
        return "MultiWorkerMirroredStrategy"
    if len(environment.devices) > 1 or (not environment.devices and environment.gpus > 1):
        return "MirroredStrategy"
    return "default"


def precision_policy(environment: Environment) -> str:
    """bfloat16 on TPU (native there, no loss scaling needed), float16 on GPU, float32 on CPU."""
    if environment.precision:
        return environment.precision
    if environment.tpu:
        return "mixed_bfloat16"
    cpu_devices_only = bool(environment.devices) and all("cpu" in d.lower() for d in environment.devices)
    if environment.gpus > 0 and not cpu_devices_only:
        return "mixed_float16"
    return "float32"


def describe(environment: Environment) -> str:
    """One line for the training log: what was found and what was chosen."""
    found = [f"TPU {environment.tpu!r}" if environment.tpu else f"{environment.gpus} GPU(s)"]
    if environment.workers > 1:
        found.append(f"{environment.workers} workers, this is {environment.task_type}:{environment.task_index}")
    if environment.backend == "jax":
        found = [f"{len(environment.devices)} JAX device(s) ({', '.join(environment.devices[:4])}"
                 f"{', ...' if len(environment.devices) > 4 else ''})"] + found[1:]
    return (f"{environment.backend}: found {', '.join(found)} -> {strategy_name(environment)}, "
            f"precision {precision_policy(environment)}")


_TPU_STRATEGIES: dict = {}  # initialize_tpu_system wipes the TPU's memory: do it once per process


def _tpu_strategy(tpu: str):
    import tensorflow as tf

    if tpu in _TPU_STRATEGIES:
        return _TPU_STRATEGIES[tpu]
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except Exception as err:  # TF raises NotFoundError, ValueError, RuntimeError or ImportError here
        raise RuntimeError(
            f"A TPU was announced (resolver argument {tpu!r}) but TensorFlow could not use it: "
            f"{type(err).__name__}: {' '.join(str(err).split())[:300]}. On Vertex AI the image needs "
            "tensorflow-tpu and libtpu (build it with --build-arg ACCELERATOR=tpu); set ZOO_TPU=none to "
            "train without the TPU."
        ) from None
    strategy = tf.distribute.TPUStrategy(resolver)
    _TPU_STRATEGIES[tpu] = strategy
    return strategy


def make_strategy(environment: Environment):
    """The `tf.distribute.Strategy` for `environment`.

    MultiWorkerMirroredStrategy gets the cluster that `detect` read (not TF_CONFIG again), so an injected
    environment and the strategy agree. It must be created before TensorFlow runs any op in the process.
    """
    if environment.backend == "jax":
        return KerasDistribution(environment)
    import tensorflow as tf

    name = strategy_name(environment)
    if name == "TPUStrategy":
        return _tpu_strategy(environment.tpu)
    if name == "MultiWorkerMirroredStrategy":
        resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
            tf.train.ClusterSpec({role: list(addresses) for role, addresses in environment.cluster}),
            task_type=environment.task_type, task_id=environment.task_index, rpc_layer="grpc",
        )
        return _reduce_nested(tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver))
    if name == "MirroredStrategy":
        return tf.distribute.MirroredStrategy(devices=list(environment.devices) or None)
    return tf.distribute.get_strategy()


def jax_processes(environment: Environment) -> dict | None:
    """`keras.distribution.initialize`'s arguments for a cluster of several replicas (None for one).

    Vertex AI's TF_CONFIG lists the chief (pool 0) then the workers (pool 1); JAX numbers its processes the
    same way, and process 0's address is the coordinator that every process dials.
    """
    if environment.workers <= 1:
        return None
    roles = dict(environment.cluster)
    addresses = list(roles.get("chief", ())) + list(roles.get("worker", ()))
    offset = len(roles.get("chief", ())) if environment.task_type == "worker" else 0
    return {"job_addresses": ",".join(addresses), "num_processes": len(addresses),
            "process_id": offset + environment.task_index}


class KerasDistribution:
    """The JAX backend's counterpart of a `tf.distribute.Strategy`, as the train step uses one.

    Made before anything runs on JAX (after `detect`, which joins the processes of a multi-replica job): it
    hides the GPUs from TensorFlow (which only feeds data there) and, on several devices, makes
    `keras.distribution.DataParallel` the global distribution, so variables are replicated and each batch is
    split across devices. `scope()` has nothing to enter (the distribution is global); `close()` removes it.
    """

    def __init__(self, environment: Environment):
        import keras
        import tensorflow as tf

        try:
            tf.config.set_visible_devices([], "GPU")
        except RuntimeError:  # TensorFlow already ran an op on a GPU: too late to hide it
            pass
        devices = keras.distribution.list_devices()
        self.num_replicas_in_sync = len(devices)
        self.distribution = None
        if strategy_name(environment) == "DataParallel":
            self.distribution = keras.distribution.DataParallel(devices=devices)
            keras.distribution.set_distribution(self.distribution)

    def scope(self):
        import contextlib

        return contextlib.nullcontext()

    def close(self) -> None:
        if self.distribution is not None:
            import keras

            keras.distribution.set_distribution(None)
            self.distribution = None


def _reduce_nested(strategy):
    """Let `strategy.reduce` take a nested batch, as Keras 3's `fit` asks of it.

    Before training, Keras 3 (through 3.15) reduces a whole (x, y) batch of PerReplica values with one
    `strategy.reduce` call to build the model symbolically. MirroredStrategy accepts that; the collective
    ops of MultiWorkerMirroredStrategy take one value at a time and fail ("Attempt to convert a value
    (PerReplica...) to a Tensor", keras-team/keras#20585, tensorflow/tensorflow#72388). Reducing leaf by
    leaf gives Keras what it asks for; the strategy is otherwise untouched.
    """
    import tensorflow as tf

    reduce_leaf = strategy.reduce

    def reduce_one(reduce_op, value, axis):
        # Keras then reduces each step's logs with axis=0, which a scalar (loss, accuracy) does not have.
        if axis is not None and all(v.shape.rank == 0 for v in strategy.experimental_local_results(value)):
            axis = None
        return reduce_leaf(reduce_op, value, axis)

    def reduce(reduce_op, value, axis=None):
        if isinstance(value, (tuple, list, dict)):
            return tf.nest.map_structure(lambda v: v if v is None else reduce_one(reduce_op, v, axis), value)
        return reduce_one(reduce_op, value, axis)

    strategy.reduce = reduce
    return strategy


def task_dir(base: str, environment: Environment) -> str:
    """Where this process writes `base`'s files: `base` on the chief, `base/<type>-<index>` on other workers.

    Keras 3's BackupAndRestore and `model.save` write fixed file names; under MultiWorkerMirroredStrategy
    every replica runs them, so the non-chief replicas need their own folders (their state is identical).
    """
    if environment.is_chief:
        return base
    return os.path.join(base, f"{environment.task_type}-{environment.task_index}")


# Vertex AI sets this in a custom job that has a TensorBoard instance attached (`zoo submit --tensorboard`):
# a gs:// folder that Vertex uploads to the instance while the job runs.
VERTEX_TENSORBOARD_ENV = "AIP_TENSORBOARD_LOG_DIR"


def tensorboard_dir(model_dir: str, environment: Environment, env: Mapping[str, str] | None = None) -> str:
    """Where the train step's TensorBoard callback writes: Vertex AI's log folder when it gives one, else
    `model_dir/logs` (in the Model artifact, so `tensorboard --logdir` finds a run's curves beside its model).
    Each replica of a multi-worker job writes its own subfolder."""
    env = os.environ if env is None else env
    base = env.get(VERTEX_TENSORBOARD_ENV, "").strip() or os.path.join(model_dir, "logs")
    return task_dir(base, environment)
