"""Where training runs: the `tf.distribute` strategy and the mixed-precision policy, chosen from what is found.

TPU -> TPUStrategy (bfloat16), several workers in TF_CONFIG -> MultiWorkerMirroredStrategy, several GPUs ->
MirroredStrategy, one GPU -> the default strategy; any GPU -> mixed_float16 (loss scaling is added by
`compile`); CPU only -> float32 and the default strategy.
"""

from __future__ import annotations

import dataclasses
import json
import os


@dataclasses.dataclass(frozen=True)
class Environment:
    """What training found: TPU address (None if none), GPU count, and workers in the cluster."""

    tpu: str | None
    gpus: int
    workers: int


def detect(env: dict | None = None, gpus: int | None = None) -> Environment:
    """Inspect the environment (injectable for tests): TPU address, visible GPUs, TF_CONFIG workers."""
    env = os.environ if env is None else env
    tpu = env.get("TPU_NAME") or env.get("TPU_WORKER_HOSTNAMES") or env.get("ZOO_TPU")
    workers = 1
    if env.get("TF_CONFIG"):
        try:
            cluster = json.loads(env["TF_CONFIG"]).get("cluster", {})
        except ValueError:
            raise ValueError("TF_CONFIG is not valid JSON; cannot tell how many workers there are.") from None
        workers = sum(len(cluster.get(role, [])) for role in ("chief", "worker"))
    if gpus is None:
        import tensorflow as tf

        gpus = len(tf.config.list_physical_devices("GPU"))
    return Environment(tpu=tpu or None, gpus=gpus, workers=max(workers, 1))


def strategy_name(environment: Environment) -> str:
    if environment.tpu:
        return "TPUStrategy"
    if environment.workers > 1:
        return "MultiWorkerMirroredStrategy"
    if environment.gpus > 1:
        return "MirroredStrategy"
    return "default"


def precision_policy(environment: Environment) -> str:
    if environment.tpu:
        return "mixed_bfloat16"
    if environment.gpus > 0:
        return "mixed_float16"
    return "float32"


def make_strategy(environment: Environment):
    """The `tf.distribute.Strategy` for `environment`."""
    import tensorflow as tf

    name = strategy_name(environment)
    if name == "TPUStrategy":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=environment.tpu if environment.tpu != "local" else "local")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    if name == "MultiWorkerMirroredStrategy":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "MirroredStrategy":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()
