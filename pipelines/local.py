"""Run a model's pipeline on this machine through `kfp.local`, and summarise what happened.

It is the very pipeline that runs on Vertex AI (same components, same gate), with the local target:
offline data, small hyperparameters, a folder registry and a baseline file under `root`.
"""

from __future__ import annotations

import glob
import json
import os
import tempfile
import time
from typing import Any

from pipelines.factory import make_pipeline, pipeline_name
from zoo.pipeline.runs import RunSummary, output_to, summarise  # plain Python: `zoo runs` reads runs with it too

__all__ = ["RunSummary", "run_local", "summarise"]


def run_local(model_name: str, root: str, *, dataset: str | None = None, style: str = "functional",
              hparams: dict[str, Any] | None = None, epochs: int | None = None,
              batch_size: int | None = None, learning_rate: float | None = None, seed: int = 0,
              backend: str = "tensorflow", min_delta: float | None = None, floor: float | None = None,
              require_significance: bool = False, quiet: bool = True) -> RunSummary:
    """Run the pipeline with `kfp.local.SubprocessRunner` in this environment; return its summary.

    Everything lives under `root`: `pipeline_root/<started>-<id>/` (each run's artifacts), `registry/` (deployed
    versions) and `baselines/` (the deployed model's metric per model and dataset).
    """
    from kfp import local

    from zoo.registry import check_dataset, get_spec, resolve_hparams

    spec = get_spec(model_name)
    dataset = dataset or spec.offline_datasets[0]
    check_dataset(spec, dataset)
    resolve_hparams(spec, hparams or {})  # fail fast, before any task runs
    from zoo.pipeline.runtime import backend_for

    backend_for(spec, backend)
    root = os.path.abspath(root)
    # A folder per run: kfp.local names a run's folder after the pipeline and the second it started, so two
    # runs of one model started together (concurrent runs under one root) would otherwise share or confuse it.
    os.makedirs(os.path.join(root, "pipeline_root"), exist_ok=True)
    pipeline_root = tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=os.path.join(root, "pipeline_root"))
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=pipeline_root, raise_on_error=False)

    arguments: dict[str, Any] = {
        "dataset": dataset, "style": style, "seed": seed, "backend": backend,
        "hparams": json.dumps({**spec.small, **(hparams or {})}, sort_keys=True),
        "baseline_uri": os.path.join(root, "baselines"), "registry_root": os.path.join(root, "registry"),
        "require_significance": require_significance,
    }
    if epochs is not None:
        arguments["epochs"] = int(epochs)
    if batch_size is not None:
        arguments["batch_size"] = int(batch_size)
    if learning_rate is not None:
        arguments["learning_rate"] = float(learning_rate)
    if min_delta is not None:
        arguments["min_delta"] = float(min_delta)
    if floor is not None:
        arguments["floor"] = repr(float(floor))
    pipeline = make_pipeline(model_name, target="local")
    before = set(glob.glob(os.path.join(pipeline_root, pipeline_name(model_name) + "-*")))
    log_path = os.path.join(root, "logs", f"{pipeline_name(model_name)}-{time.strftime('%Y%m%d-%H%M%S')}.log")
    with output_to(log_path if quiet else None):
        pipeline(**arguments)
    (run_dir,) = set(glob.glob(os.path.join(pipeline_root, pipeline_name(model_name) + "-*"))) - before
    summary = summarise(model_name, dataset, run_dir)
    summary.log = log_path if quiet else None
    return summary
