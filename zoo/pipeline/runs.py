"""Read local pipeline runs back from their folders: what one run did (`summarise`) and a model's past runs
(`list_runs`, behind `zoo runs MODEL`).

kfp.local leaves each run under `<root>/pipeline_root/<started>-<id>/zoo-<model>-<YYYY-MM-DD-HH-MM-SS-micro>/`
(one folder per task: `preprocess/data`, `train/model`, `evaluate/evaluation`, `gate/report`,
`gate/executor_output.json`, `deploy-local/deployment`, and `error.txt` beside the outputs of a task that
failed). Everything here is plain Python reading JSON and text files: listing runs imports neither
TensorFlow, Keras, kfp nor the Cloud SDK, so it is instant.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import glob
import json
import os
import re
import sys

TASKS = ("preprocess", "train", "evaluate", "gate", "deploy-local")
# A failed step's one-line reason, beside its outputs (written by `zoo.pipeline.steps.report_errors`).
ERROR_FILE = "error.txt"
STOPPED = "the pipeline stopped before the gate (see the log above)"
# kfp.local names a run's folder after the pipeline and the moment it started.
_STARTED = re.compile(r"-(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{6})$")


def pipeline_name(model_name: str) -> str:
    """The KFP pipeline name of a model (lower case, digits and hyphens): `pipelines.factory` names its
    pipelines with it, and kfp.local names run folders after it."""
    return "zoo-" + re.sub(r"[^a-z0-9-]+", "-", model_name.lower())


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
    # From the train step's metadata.json (None when training did not finish).
    started: str | None = None
    style: str | None = None
    backend: str | None = None
    hparams: dict | None = None
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    tensorboard: str | None = None  # the folder of the TensorBoard event files

    def lines(self) -> list[str]:
        """The short summary the CLI prints."""
        out = [f"model: {self.model}   dataset: {self.dataset}"]
        if not self.succeeded:
            where = f"run folder: {self.run_dir}" + (f"   full log: {self.log}" if self.log else "")
            return out + [f"FAILED: {self.error}", where] + self._curves()
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
        out += self._curves()
        if self.log:
            out.append(f"full log: {self.log}")
        return out

    def _curves(self) -> list[str]:
        if not self.tensorboard:
            return []
        return [f"training curves: tensorboard --logdir {self.tensorboard}"]

    def record(self) -> dict:
        """One run as `zoo runs --json` prints it."""
        return {
            "started": self.started, "model": self.model, "dataset": self.dataset, "style": self.style,
            "backend": self.backend, "hparams": self.hparams, "epochs": self.epochs, "batch_size": self.batch_size,
            "learning_rate": self.learning_rate, "succeeded": self.succeeded, "error": self.error,
            "metric": self.metric, "direction": self.direction, "value": self.value, "metrics": self.metrics,
            "deploy": self.deploy, "reason": self.reason,
            "deployed_version": self.deployment["version"] if self.deployment else None,
            "tensorboard": self.tensorboard, "run_dir": self.run_dir,
        }


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def _read_json(path: str):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _read_json_or_none(path: str):
    try:
        return _read_json(path)
    except (OSError, ValueError):
        return None


def summarise(model_name: str, dataset: str, run_dir: str) -> RunSummary:
    """Read a local run's folder: how it trained, the evaluation, the gate's decision and report, the
    deployment; a failed task's one-line reason."""
    summary = RunSummary(model=model_name, dataset=dataset, run_dir=run_dir, succeeded=True)
    _read_training(summary)
    for task in TASKS:
        error = os.path.join(run_dir, task, ERROR_FILE)
        if os.path.exists(error):
            summary.succeeded, summary.error = False, f"{task}: {_read_text(error).strip()}"
            return summary
    evaluation_path = os.path.join(run_dir, "evaluate", "evaluation")
    gate_output = os.path.join(run_dir, "gate", "executor_output.json")
    if not (os.path.exists(evaluation_path) and os.path.exists(gate_output)):
        summary.succeeded, summary.error = False, STOPPED
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


def _read_training(summary: RunSummary) -> None:
    """Fill in what the train step recorded in its Model artifact (metadata.json), if it finished."""
    trained = _read_json_or_none(os.path.join(summary.run_dir, "train", "model", "metadata.json"))
    if not isinstance(trained, dict):
        return
    summary.dataset = summary.dataset or trained.get("dataset")
    for key in ("style", "backend", "hparams", "epochs", "batch_size", "learning_rate"):
        setattr(summary, key, trained.get(key))
    # The folder that holds the event files: where the train step wrote them, or the Model artifact's `logs`
    # when the root was moved since (on Vertex AI the logs went to Cloud Storage instead).
    for logs in (trained.get("tensorboard"), os.path.join(summary.run_dir, "train", "model", "logs")):
        if logs and os.path.isdir(logs):
            summary.tensorboard = logs
            return


def run_folders(root: str, model_name: str) -> list[tuple[datetime.datetime, str]]:
    """(start time, folder) of each run of `model_name` under `root/pipeline_root`, newest first.

    Runs live one level down (`pipeline_root/<started>-<id>/<pipeline>-<time>`, as `run_local` makes them)
    or, from older versions, directly under `pipeline_root`.
    """
    base = os.path.join(root, "pipeline_root")
    prefix = pipeline_name(model_name)
    found = []
    for pattern in (os.path.join(base, "*", prefix + "-*"), os.path.join(base, prefix + "-*")):
        for folder in glob.glob(pattern):
            name = os.path.basename(folder)
            match = _STARTED.search(name)
            # The time stamp must follow the pipeline name directly: zoo-mlp-<time>, not zoo-mlp-mixer-<time>.
            if match and os.path.isdir(folder) and name[:match.start()] == prefix:
                found.append((datetime.datetime(*map(int, match.groups())), folder))
    return sorted(found, reverse=True)


def _dataset_of(run_dir: str) -> str:
    for path in (os.path.join(run_dir, "preprocess", "data", "meta.json"),
                 os.path.join(run_dir, "train", "model", "metadata.json")):
        found = _read_json_or_none(path)
        if isinstance(found, dict) and found.get("dataset"):
            return found["dataset"]
    return "?"


def list_runs(root: str, model_name: str) -> list[RunSummary]:
    """The summaries of `model_name`'s local runs under `root`, newest first."""
    runs = []
    for started, folder in run_folders(root, model_name):
        try:
            summary = summarise(model_name, _dataset_of(folder), folder)
        except (OSError, ValueError, KeyError, TypeError) as err:  # a file cut short, edited by hand...
            summary = RunSummary(model=model_name, dataset=_dataset_of(folder), run_dir=folder, succeeded=False,
                                 error=f"unreadable run folder ({type(err).__name__}: {' '.join(str(err).split())})")
        if summary.error == STOPPED:
            summary.error = "stopped before the gate (still running, or killed)"
        summary.started = started.strftime("%Y-%m-%d %H:%M:%S")
        runs.append(summary)
    return runs


def describe(run: RunSummary, defaults: dict | None = None) -> list[str]:
    """A few lines about one run, as `zoo runs` prints them; with the spec's `defaults`, only the
    hyperparameters that differ from them (`--json` has them all)."""
    if not run.succeeded:
        head = f"FAILED   {run.error}"
    else:
        arrow = "↑" if run.direction == "max" else "↓"
        others = "  ".join(f"{k}={v:.4g}" for k, v in run.metrics.items() if k != run.metric)
        head = f"{run.metric} {run.value:.4f} ({arrow})" + (f"   {others}" if others else "")
    trained = [run.dataset, run.style, run.backend]
    trained += [f"{k} {v}" for k, v in (("epochs", run.epochs), ("batch_size", run.batch_size),
                                         ("learning_rate", run.learning_rate)) if v is not None]
    out = [f"{run.started}  {head}", "    " + " · ".join(str(t) for t in trained if t)]
    if run.hparams:
        changed = {k: v for k, v in sorted(run.hparams.items()) if defaults is None or _differs(v, defaults.get(k))}
        listed = "  ".join(f"{k}={json.dumps(v)}" for k, v in changed.items())
        out.append(f"    hparams: {listed or 'the defaults'}")
    if run.deploy is not None:
        decision = f"DEPLOYED version {run.deployment['version']}" if run.deployment else (
            "DEPLOY (not deployed)" if run.deploy else "KEEP DEPLOYED MODEL")
        out.append(f"    gate: {decision}: {run.reason}")
    out.append(f"    folder: {run.run_dir}")
    return out


def _differs(value, default) -> bool:
    """JSON turns tuples into lists: compare as JSON."""
    return json.dumps(value, sort_keys=True) != json.dumps(default, sort_keys=True, default=list)


@contextlib.contextmanager
def output_to(path: str | None):
    """Send this process's and its children's stdout and stderr (Python's and the TensorFlow runtime's, at the
    file-descriptor level) to the log file `path`, if given: kfp.local streams every task's log, and KerasTuner
    and TensorFlow log as they start."""
    if path is None:
        yield
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
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
