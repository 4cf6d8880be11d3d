"""Hyperparameter search over a model's declared search space: KerasTuner here, Vertex AI's tuning service there.

The space is the spec's (`ModelSpec.tuning_space`: the learning rate and batch size by default, plus the model's
own options where its spec declares them) in plain Python (`zoo.spec.Range`, `zoo.spec.Choice`), mapped here to
KerasTuner's hyperparameters and, in `pipelines/tuning.py`, to Vertex AI's parameter specs.

A trial is the pipeline's own train step: the data is prepared once with `steps.preprocess`, each trial trains
with `steps.train` and is scored on the VALIDATION split with the gate's metric through the model's task (the
test split stays for the gate, which must not be tuned on). Locally, KerasTuner drives the trials through a
tuner subclass that overrides `run_trial`, the way KerasTuner documents for custom training (its oracles do the
search: random, Bayesian optimisation, grid). On Vertex AI, `python -m zoo.tuning trial ...` is the container
entry point of each trial of a hyperparameter tuning job: Vertex passes the trial's values as `--name=value`
arguments, and the score goes back through cloudml-hypertune, the reporting library Vertex reads.

Tuning never deploys: it prints the best values as the `zoo run` command line that trains them through the
normal pipeline, gate included. TensorFlow, KerasTuner and hypertune are imported inside functions only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import sys
import tempfile
import time
from typing import Any, Callable, Mapping, Sequence

from zoo.pipeline.runs import output_to
from zoo.spec import RECIPE_HPARAMS, Choice, Range, check_search_space, describe

ALGORITHMS = ("bayesian", "random", "grid")
# The trial entry point's own flags; a searched hyperparameter may not share a name with them.
TRIAL_FLAGS = ("model", "dataset", "style", "epochs", "hparams", "seed", "data_dir", "work_dir")


# ------------------------------------------------------------------------------------------------ the space
def search_space(spec, fixed: Mapping[str, Any] | None = None, space: Mapping[str, Any] | None = None) -> dict:
    """The space to search for `spec`: `space` if given, else the spec's, less the hyperparameters in `fixed`.

    ValueError (one line) for an unknown name, an entry that is not a Range or Choice, a model option that would
    change the model's inputs (the data is prepared once for all trials), or nothing left to search.
    """
    space = dict(spec.tuning_space if space is None else space)
    check_search_space(spec, space)
    space = {k: v for k, v in space.items() if k not in (fixed or {})}
    if not space:
        raise ValueError(f"{spec.name}: nothing left to search (every hyperparameter of the space is fixed).")
    base = {**spec.defaults, **spec.small, **(fixed or {})}
    for name, entry in space.items():
        if name in RECIPE_HPARAMS:
            continue
        for value in entry.values if isinstance(entry, Choice) else (entry.low, entry.high):
            if spec.inputs({**base, name: value}) != spec.inputs(base):
                raise ValueError(f"{spec.name}: {name}={value!r} changes the model's inputs; the search space may "
                                 "hold only options that keep them (the data is prepared once for all trials).")
    return space


def plan_search(model_name: str, *, dataset: str | None, style: str, hparams: Mapping[str, Any] | None,
                algorithm: str, online: bool, space: Mapping[str, Any] | None = None):
    """Check a search's arguments, as `zoo tune` takes them here and on Vertex AI, before anything runs.

    Returns (spec, dataset: the given one or the model's first offline one, or with `online` its first online
    one, fixed hyperparameters, space). Each bad argument is a one-line ValueError.
    """
    from zoo.registry import check_dataset, check_style, get_spec, resolve_hparams

    spec = get_spec(model_name)
    check_style(spec, style)
    dataset = dataset or ((spec.online_datasets if online else ()) or spec.offline_datasets)[0]
    check_dataset(spec, dataset)
    fixed = dict(hparams or {})
    resolve_hparams(spec, fixed)
    space = search_space(spec, fixed, space)
    if algorithm not in ALGORITHMS:
        raise ValueError(f"Unknown tuning algorithm {algorithm!r}. Allowed: {', '.join(ALGORITHMS)}.")
    return spec, dataset, fixed, space


def split_values(values: Mapping[str, Any]) -> tuple[dict[str, Any], float | None, int | None]:
    """A trial's values as (model hyperparameters, learning rate, batch size), as the train step takes them."""
    hparams = {k: v for k, v in values.items() if k not in RECIPE_HPARAMS}
    rate, batch = values.get("learning_rate"), values.get("batch_size")
    return hparams, None if rate is None else float(rate), None if batch is None else int(batch)


def keras_tuner_space(space: Mapping[str, Range | Choice]):
    """The space as `keras_tuner.HyperParameters` (Float/Int with their sampling, Choice)."""
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    for name, entry in space.items():
        if isinstance(entry, Choice):
            hp.Choice(name, list(entry.values))
        elif entry.integer:
            hp.Int(name, int(entry.low), int(entry.high), sampling=entry.scale)
        else:
            hp.Float(name, float(entry.low), float(entry.high), sampling=entry.scale)
    return hp


def parse_value(entry: Range | Choice, text: str):
    """A value as Vertex AI passes it on the command line (`--name=text`), typed as the space declares it."""
    if isinstance(entry, Range):
        return int(round(float(text))) if entry.integer else float(text)
    kind = type(entry.values[0])
    if kind is bool:
        value = text.strip().lower() in ("true", "1")
    elif kind is int:
        value = int(round(float(text)))
    elif kind is float:
        value = float(text)
    else:
        value = text
    return value


# ----------------------------------------------------------------------------------------------- one trial
def score(model_name: str, data_dir: str, model_dir: str, *, split: str = "val", seed: int = 0) -> dict:
    """Score a trained model on `split` as the evaluate step scores the test split (`steps.evaluate`): the
    task's metrics, and the gate's metric and direction for the dataset. Tuning scores on "val" so the gate's
    test split stays unseen."""
    from zoo.pipeline.steps import evaluate

    result = evaluate(model_name, data_dir, model_dir, seed=seed, split=split)
    return {key: result[key] for key in ("metric", "direction", "value", "metrics", "split")}


def run_trial(model_name: str, data_dir: str, model_dir: str, values: Mapping[str, Any], *,
              base_hparams: Mapping[str, Any] | None = None, style: str = "functional", epochs: int | None = None,
              seed: int = 0) -> dict:
    """Train with the trial's `values` through the pipeline's train step, then score on the validation split."""
    from zoo.pipeline import steps

    hparams, rate, batch = split_values(values)
    steps.train(model_name, data_dir, model_dir, style=style, hparams={**(base_hparams or {}), **hparams},
                epochs=epochs, batch_size=batch, learning_rate=rate, seed=seed)
    return score(model_name, data_dir, model_dir, split="val", seed=seed)


# ------------------------------------------------------------------------------------------ local (KerasTuner)
@dataclasses.dataclass
class TrialResult:
    """One trial: its id, values, status ("COMPLETED", "FAILED", ...), gate-metric value on the validation split."""

    trial_id: str
    values: dict[str, Any]
    status: str
    value: float | None = None
    message: str | None = None


@dataclasses.dataclass
class TuningResult:
    """A finished search: every trial, the best one, where its files are, and the command that uses the best."""

    model: str
    dataset: str
    metric: str
    direction: str
    algorithm: str
    folder: str
    trials: list[TrialResult]
    best: TrialResult | None
    command: str | None

    def lines(self, trials: bool = True) -> list[str]:
        """What `zoo tune` prints after the search (`trials=False` when they were printed as they ended)."""
        arrow = "↑" if self.direction == "max" else "↓"
        out = [trial_line(t, self.metric) for t in self.trials] if trials else []
        out.append(f"searched: {self.model} on {self.dataset}, validation {self.metric} ({arrow}), {self.algorithm} "
                   f"search, {len(self.trials)} trials")
        if self.best is None:
            out.append("best: none (no trial completed; see the log)")
        else:
            out.append(f"best: trial {self.best.trial_id}: {self.metric}={self.best.value:.4f}  "
                       f"{format_values(self.best.values)}")
            out.append(f"train it through the pipeline (the gate decides whether it deploys):\n  {self.command}")
        out.append(f"tuning files: {self.folder}")
        return out


def format_values(values: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())


def trial_line(trial: TrialResult, metric: str) -> str:
    shown = "-" if trial.value is None else f"{trial.value:.4f}"
    why = f"  ({trial.message})" if trial.message and trial.status != "COMPLETED" else ""
    return f"trial {trial.trial_id}: {metric}={shown}  {format_values(trial.values)}  [{trial.status}]{why}"


def best_command(model_name: str, values: Mapping[str, Any], *, fixed: Mapping[str, Any] | None = None,
                 dataset: str | None = None, style: str = "functional", submit: Mapping[str, str] | None = None) -> str:
    """The command line that trains `values` (plus the fixed hyperparameters) through the normal pipeline:
    `zoo run --local`, or with `submit` ({"project", "region", "pipeline_root"}) `zoo submit`; the learning rate
    and batch size as `--learning-rate` and `--batch-size`, the model's options as `--hparam KEY=VALUE`."""
    hparams, rate, batch = split_values(values)
    words = ["zoo", "run", model_name, "--local"]
    if submit:
        words = ["zoo", "submit", model_name, "--project", submit["project"], "--region", submit["region"],
                 "--pipeline-root", submit["pipeline_root"]]
    if dataset:
        words += ["--dataset", dataset]
    if style != "functional":
        words += ["--style", style]
    if rate is not None:
        words += ["--learning-rate", f"{rate:.6g}"]
    if batch is not None:
        words += ["--batch-size", str(batch)]
    for key, value in {**(fixed or {}), **hparams}.items():
        words += ["--hparam", f"{key}={_hparam_text(value)}"]
    return " ".join(shlex.quote(w) for w in words)


def _hparam_text(value) -> str:
    """VALUE as `zoo run --hparam KEY=VALUE` reads it back (JSON, or a bare string that is not JSON)."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return value
    return json.dumps(value)


def tune_local(model_name: str, root: str = "runs/local", *, max_trials: int = 5, epochs: int = 2,
               dataset: str | None = None, seed: int = 0, algorithm: str = "bayesian", style: str = "functional",
               hparams: Mapping[str, Any] | None = None, space: Mapping[str, Range | Choice] | None = None,
               quiet: bool = True, on_trial: Callable[[TrialResult, str], None] | None = None) -> TuningResult:
    """Search `model_name`'s space with KerasTuner on offline data, each trial a train step scored on "val".

    Files go to `root/tuning/<model>/<started>-<id>/`: `data/` (prepared once), `trials/<id>/` (each trial's
    train-step output), `keras_tuner/` (the tuner's own records) and, when `quiet`, `trials.log` (training output).
    `hparams` are fixed model hyperparameters (taken out of the space); the local run's small configuration
    (`spec.small`) applies under them, as in `zoo run --local`. `on_trial(trial, metric)` follows each trial.
    """
    from zoo.pipeline import steps

    spec, dataset, fixed, space = plan_search(model_name, dataset=dataset, style=style, hparams=hparams,
                                              algorithm=algorithm, online=False, space=space)
    if max_trials < 1 or epochs < 1:
        raise ValueError(f"max_trials and epochs must be at least 1. Received: max_trials={max_trials}, "
                         f"epochs={epochs}")

    parent = os.path.join(os.path.abspath(root), "tuning", model_name)
    os.makedirs(parent, exist_ok=True)
    folder = tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=parent)
    log = os.path.join(folder, "trials.log") if quiet else None
    data_dir = os.path.join(folder, "data")
    base = {**spec.small, **fixed}
    with output_to(log):
        meta = steps.preprocess(model_name, dataset, data_dir, hparams=base, seed=seed)
    rule = spec.gate.for_dataset(meta["dataset"])

    def trial_fn(trial_id: str, values: dict) -> dict:
        with output_to(log):
            found = run_trial(model_name, data_dir, os.path.join(folder, "trials", trial_id), values,
                              base_hparams=base, style=style, epochs=epochs, seed=seed)
        return {rule.metric: found["value"]}

    with output_to(log):  # importing KerasTuner starts TensorFlow, which logs
        tuner = _make_tuner(algorithm, trial_fn, space, rule, max_trials=max_trials, seed=seed, folder=folder,
                            on_trial=on_trial)
    from keras_tuner.src import config as tuner_config

    debug = tuner_config.DEBUG
    # KerasTuner prints a failed trial's traceback when DEBUG is on (its default); quiet, the trial records keep it.
    tuner_config.DEBUG = debug and not quiet
    try:
        tuner.search(verbose=0)
    except Exception as err:
        _raise_cause(err)
    finally:
        tuner_config.DEBUG = debug
    trials = [_trial_result(t, rule.metric) for t in sorted(tuner.oracle.trials.values(),
                                                             key=lambda t: int(t.trial_id))]
    completed = [t for t in trials if t.status == "COMPLETED" and t.value is not None]
    best = None
    if completed:
        best_id = tuner.oracle.get_best_trials(1)[0].trial_id
        best = next(t for t in trials if t.trial_id == best_id)
    command = best and best_command(model_name, best.values, fixed=fixed,
                                    dataset=None if dataset == spec.offline_datasets[0] else dataset, style=style)
    result = TuningResult(model=model_name, dataset=dataset, metric=rule.metric, direction=rule.direction,
                          algorithm=algorithm, folder=folder, trials=trials, best=best, command=command)
    with open(os.path.join(folder, "result.json"), "w", encoding="utf-8") as f:
        json.dump(dataclasses.asdict(result), f, indent=2, default=str)
    return result


def _make_tuner(algorithm: str, trial_fn, space, rule, *, max_trials: int, seed: int, folder: str, on_trial=None):
    """A KerasTuner tuner of `algorithm` whose `run_trial` is `trial_fn` (the pipeline's train step)."""
    import keras_tuner
    from keras_tuner import errors

    from zoo.pipeline.steps import TrainingError

    bases = {"bayesian": keras_tuner.BayesianOptimization, "random": keras_tuner.RandomSearch,
             "grid": keras_tuner.GridSearch}

    class PipelineTuner(bases[algorithm]):
        """Runs each trial through `trial_fn` (KerasTuner's documented way to tune custom training)."""

        def run_trial(self, trial, *args, **kwargs):
            try:
                return trial_fn(trial.trial_id, dict(trial.hyperparameters.values))
            except TrainingError as err:  # diverged: a bad point of the space, not a broken search
                raise errors.FailedTrialError(str(err)) from err
            except Exception as err:  # a bad value or a bug: stop the search and say why
                raise errors.FatalError(str(err)) from err

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            if on_trial is not None:
                on_trial(_trial_result(self.oracle.get_trial(trial.trial_id), rule.metric), rule.metric)

    return PipelineTuner(
        objective=keras_tuner.Objective(rule.metric, direction=rule.direction),
        hyperparameters=keras_tuner_space(space), tune_new_entries=False, allow_new_entries=False,
        # KerasTuner takes seed 0 as "no seed" (it draws one): shift ours so every seed is reproducible.
        max_trials=max_trials, seed=seed + 1, max_consecutive_failed_trials=max_trials + 1,
        directory=folder, project_name="keras_tuner", overwrite=True,
    )


def _raise_cause(err: Exception):
    """Re-raise the error a trial stopped the search with (a one-line ValueError stays one), else `err`."""
    cause = err
    while cause.__cause__ is not None and type(cause).__module__.startswith("keras_tuner"):
        cause = cause.__cause__
    raise cause from None


def _trial_result(trial, metric: str) -> TrialResult:
    message = None
    if trial.message:
        lines = [line for line in str(trial.message).strip().splitlines() if line.strip()]
        message = lines[-1].strip().split("Error: ", 1)[-1] if lines else None
    value = trial.metrics.get_last_value(metric) if trial.metrics.exists(metric) else None
    return TrialResult(trial.trial_id, dict(trial.hyperparameters.values), str(trial.status),
                       None if value is None else float(value), message)


# ------------------------------------------------------------------------------- Vertex AI trial entry point
def trial_parser(space: Mapping[str, Range | Choice] | None = None) -> argparse.ArgumentParser:
    """The trial's flags, and with `space` one `--name` flag per searched hyperparameter (Vertex's spelling)."""
    p = argparse.ArgumentParser(prog="python -m zoo.tuning trial",
                                description="One trial of a Vertex AI hyperparameter tuning job.")
    p.add_argument("--model", required=True)
    p.add_argument("--dataset", help="default: the model's first online dataset (else its first offline one)")
    p.add_argument("--style", default="functional")
    p.add_argument("--epochs", type=int)
    p.add_argument("--hparams", default="{}", help="fixed model hyperparameters (JSON object)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default="", help="TFDS data_dir (e.g. gs://bucket/tfds)")
    p.add_argument("--work-dir", help="where the trial prepares data and trains (default: a temporary folder)")
    for name, entry in (space or {}).items():
        p.add_argument(f"--{name}", dest=f"tuned_{name}", type=lambda text, e=entry: parse_value(e, text),
                       help=json.dumps(describe(entry)))
    return p


def trial_main(argv: Sequence[str]) -> dict:
    """Run one Vertex AI trial: prepare the data, train with the values Vertex passed, score on the validation
    split and report the gate metric with cloudml-hypertune (`CLOUD_ML_HP_METRIC_FILE` says where it writes)."""
    import hypertune

    from zoo.pipeline import steps
    from zoo.registry import check_dataset, get_spec, resolve_hparams

    known, _ = trial_parser().parse_known_args(argv)
    spec = get_spec(known.model)
    fixed = steps.parse_hparams(known.hparams)
    resolve_hparams(spec, fixed)
    space = search_space(spec, fixed)
    args = trial_parser(space).parse_args(argv)
    values = {name: getattr(args, f"tuned_{name}") for name in space if getattr(args, f"tuned_{name}") is not None}
    dataset = args.dataset or (spec.online_datasets or spec.offline_datasets)[0]
    check_dataset(spec, dataset)
    work = args.work_dir or tempfile.mkdtemp(prefix="zoo-trial-")
    data_dir = os.path.join(work, "data")
    steps.preprocess(args.model, dataset, data_dir, hparams=fixed, seed=args.seed, data_dir=args.data_dir or None)
    found = run_trial(args.model, data_dir, os.path.join(work, "model"), values, base_hparams=fixed,
                      style=args.style, epochs=args.epochs, seed=args.seed)
    hypertune.HyperTune().report_hyperparameter_tuning_metric(hyperparameter_metric_tag=found["metric"],
                                                              metric_value=found["value"])
    print(f"trial: {found['metric']}={found['value']:.6g} on the validation split  {format_values(values)}")
    return {**found, "values": values}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "trial":
        print("usage: python -m zoo.tuning trial --model NAME [--dataset D] [--epochs N] [--hparams JSON] "
              "[--NAME=VALUE ...]", file=sys.stderr)
        return 2
    try:
        trial_main(argv[1:])
    except ValueError as err:
        print(f"zoo.tuning: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
