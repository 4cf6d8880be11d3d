"""Run a model's pipeline on this machine through `kfp.local`, and summarise what happened.

It is the very pipeline that runs on Vertex AI (same components, same gate), with the local target:
offline data, small hyperparameters, a folder registry and a baseline file under `root`.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import contextlib
import os
import sys
import tempfile
import time
from typing import Any

from pipelines.factory import make_pipeline, pipeline_name


@dataclasses.dataclass
class RunSummary:
    model: str
    dataset: str
    run_dir: str
    succeeded: bool
    error: str | None = None
    metric: str | None = None
    direction: str | None = None
    value: float | None = None
    metrics: dict = dataclasses.field(default_factory=dict)
    deploy: bool | None = None
    reason: str | None = None
    report: str | None = None
    deployment: dict | None = None
    pictures: list[str] = dataclasses.field(default_factory=list)
    log: str | None = None

    def lines(self) -> list[str]:
        """The short summary the CLI prints."""
        out = [f"model: {self.model}   dataset: {self.dataset}"]
        if not self.succeeded:
            where = f"run folder: {self.run_dir}" + (f"   full log: {self.log}" if self.log else "")
            return out + [f"FAILED: {self.error}", where]
        arrow = "↑" if self.direction == "max" else "↓"
        others = ", ".join(f"{k}={v:.4g}" for k, v in self.metrics.items() if k != self.metric)
        out.append(f"test {self.metric} ({arrow}): {self.value:.4f}" + (f"   ({others})" if others else ""))
        out.append(f"gate: {'DEPLOY' if self.deploy else 'KEEP DEPLOYED MODEL'}: {self.reason}")
        for picture in self.pictures:
            out.append(f"picture: {picture}")
        if self.deployment:
            out.append(f"deployed: version {self.deployment['version']} at {self.deployment['path']}")
            if self.deployment.get("note"):
                out.append(self.deployment["note"])
        else:
            out.append("deployed: nothing (the gate did not pass)")
        if self.log:
            out.append(f"full log: {self.log}")
        return out


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def _read_json(path: str):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _task_dir(run_dir: str, task: str) -> str | None:
    matches = glob.glob(os.path.join(run_dir, task))
    return matches[0] if matches else None


def run_local(model_name: str, root: str, *, dataset: str | None = None, style: str = "functional",
              hparams: dict[str, Any] | None = None, epochs: int | None = None,
              batch_size: int | None = None, learning_rate: float | None = None, seed: int = 0,
              min_delta: float | None = None, floor: float | None = None, require_significance: bool = False,
              quiet: bool = True) -> RunSummary:
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
    root = os.path.abspath(root)
    # A folder per run: kfp.local names a run's folder after the pipeline and the second it started, so two
    # runs of one model started together (concurrent runs under one root) would otherwise share or confuse it.
    os.makedirs(os.path.join(root, "pipeline_root"), exist_ok=True)
    pipeline_root = tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=os.path.join(root, "pipeline_root"))
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=pipeline_root, raise_on_error=False)

    arguments: dict[str, Any] = {
        "dataset": dataset, "style": style, "seed": seed,
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
    with _output_to(log_path if quiet else None):
        pipeline(**arguments)
    (run_dir,) = set(glob.glob(os.path.join(pipeline_root, pipeline_name(model_name) + "-*"))) - before
    summary = summarise(model_name, dataset, run_dir)
    summary.log = log_path if quiet else None
    return summary


@contextlib.contextmanager
def _output_to(path: str | None):
    """Send this process's and its children's stdout/stderr to `path` (kfp.local streams every task's log)."""
    if path is None:
        yield
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def summarise(model_name: str, dataset: str, run_dir: str) -> RunSummary:
    """Read a local run's folder: the evaluation, the gate's decision and report, the deployment."""
    summary = RunSummary(model=model_name, dataset=dataset, run_dir=run_dir, succeeded=True)
    for task in ("preprocess", "train", "evaluate", "gate", "deploy-local"):
        folder = _task_dir(run_dir, task)
        error = folder and os.path.join(folder, "error.txt")
        if error and os.path.exists(error):
            summary.succeeded, summary.error = False, f"{task}: {_read_text(error).strip()}"
            return summary
    evaluation_path = os.path.join(run_dir, "evaluate", "evaluation")
    gate_output = os.path.join(run_dir, "gate", "executor_output.json")
    if not (os.path.exists(evaluation_path) and os.path.exists(gate_output)):
        summary.succeeded, summary.error = False, "the pipeline stopped before the gate (see the log above)"
        return summary
    evaluation = _read_json(evaluation_path)
    summary.metric, summary.direction = evaluation["metric"], evaluation["direction"]
    summary.value, summary.metrics = evaluation["value"], evaluation["metrics"]
    pictures_dir = os.path.join(run_dir, "evaluate", "pictures_png")
    summary.pictures = [os.path.join(pictures_dir, p) for p in evaluation.get("pictures", {}).values()]
    summary.deploy = bool(_read_json(gate_output)["parameterValues"]["Output"])
    summary.report = _read_text(os.path.join(run_dir, "gate", "report"))
    summary.reason = summary.report.strip().splitlines()[-1]
    deployment_path = os.path.join(run_dir, "deploy-local", "deployment")
    if os.path.exists(deployment_path):
        summary.deployment = _read_json(deployment_path)
    elif summary.deploy:
        summary.succeeded, summary.error = False, "the gate passed but the deploy step did not run"
    return summary
