"""`zoo tune --project ...`: a Vertex AI hyperparameter tuning job over a model's search space.

The job is the real `aiplatform.HyperparameterTuningJob`: it wraps an `aiplatform.CustomJob` whose one worker
pool runs the component image with `python -m zoo.tuning trial ...` (the pipeline's preprocess and train steps,
scored on the validation split and reported with cloudml-hypertune). Its parameter specs come from the spec's
search space (`DoubleParameterSpec`/`IntegerParameterSpec` with their scale, `DiscreteParameterSpec` for
numeric choices, `CategoricalParameterSpec` for strings and booleans) and its metric spec is the gate metric
with the gate's direction. With `offline=True` it is built with anonymous credentials, so `--dry-run` shows
the exact request without a network. Vertex's algorithms: its default (Bayesian optimisation, Vizier), random
or grid search; the best values then feed a normal pipeline run (`zoo submit`), never a deploy by themselves.
"""

from __future__ import annotations

import json
import time
from typing import Any, Mapping

from pipelines.submit import check_target
from zoo.spec import Choice, Range

# zoo's algorithm names -> aiplatform's `search_algorithm` (None is Vertex's default, Bayesian optimisation).
VERTEX_ALGORITHMS = {"bayesian": None, "random": "random", "grid": "grid"}
TRIAL_COMMAND = ["python3", "-m", "zoo.tuning", "trial"]


def parameter_specs(space: Mapping[str, Range | Choice]) -> dict:
    """The search space as aiplatform's parameter specs, by parameter id (the `--name` a trial receives)."""
    from google.cloud.aiplatform import hyperparameter_tuning as hpt

    specs = {}
    for name, entry in space.items():
        if isinstance(entry, Range):
            kind = hpt.IntegerParameterSpec if entry.integer else hpt.DoubleParameterSpec
            low, high = (int(entry.low), int(entry.high)) if entry.integer else (float(entry.low), float(entry.high))
            specs[name] = kind(min=low, max=high, scale=entry.scale)
        elif isinstance(entry.values[0], (str, bool)):
            specs[name] = hpt.CategoricalParameterSpec(values=[_category(v) for v in entry.values])
        else:
            specs[name] = hpt.DiscreteParameterSpec(values=[float(v) for v in entry.values], scale="linear")
    return specs


def _category(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def worker_pool(model_name: str, *, image: str, dataset: str, style: str, epochs: int | None,
                hparams: Mapping[str, Any], seed: int, data_dir: str, accel) -> dict:
    """The one worker pool every trial runs: the component image running the trial entry point on `accel`."""
    args = ["--model", model_name, "--dataset", dataset, "--style", style,
            "--hparams", json.dumps(dict(hparams), sort_keys=True), "--seed", str(seed)]
    if epochs is not None:
        args += ["--epochs", str(epochs)]
    if data_dir:
        args += ["--data-dir", data_dir]
    machine = {"machine_type": accel.machine_type}
    if accel.accelerator_type:
        machine.update(accelerator_type=accel.accelerator_type, accelerator_count=accel.accelerator_count)
    if accel.tpu_topology:
        machine["tpu_topology"] = accel.tpu_topology
    container = {"image_uri": image, "command": list(TRIAL_COMMAND), "args": args}
    env = [{"name": "ZOO_TPU", "value": "local"}] if accel.is_tpu else []
    from zoo.pipeline.runtime import backend_for
    from zoo.registry import get_spec

    # The preset's Keras backend (a trial is one process: the variable decides it), as the pipeline's train step
    # gets it: a model that trains only on TensorFlow keeps TensorFlow.
    backend = backend_for(get_spec(model_name), accel.backend, requested=False)
    if backend != "tensorflow":
        env.append({"name": "KERAS_BACKEND", "value": backend})
    if env:
        container["env"] = env
    return {"machine_spec": machine, "replica_count": 1, "container_spec": container}


def build_tuning_job(model_name: str, *, project: str, region: str, pipeline_root: str, image: str | None = None,
                     dataset: str | None = None, style: str = "functional", epochs: int | None = None,
                     hparams: Mapping[str, Any] | None = None, seed: int = 0, data_dir: str = "",
                     max_trials: int = 10, parallel_trials: int = 2, max_failed_trials: int = 0,
                     algorithm: str = "bayesian", offline: bool = False, accelerator: str = "gpu",
                     machine_type: str | None = None, accelerator_type: str | None = None,
                     accelerator_count: int | None = None):
    """The `aiplatform.HyperparameterTuningJob` that searches `model_name`'s space on Vertex AI.

    Trials train on the model's first online dataset by default (the Vertex pipeline's default), full-size
    hyperparameters under `hparams`, for `epochs` (the recipe's when None) on the `accelerator` preset's machine.
    Trial outputs go under `pipeline_root/tuning/<model>/<started>/`.
    """
    from google.cloud import aiplatform

    from components import DEFAULT_IMAGE
    from pipelines import vertex
    from pipelines.factory import pipeline_name
    from zoo.tuning import TRIAL_FLAGS, plan_search

    check_target(project, region, pipeline_root, None)
    spec, dataset, fixed, space = plan_search(model_name, dataset=dataset, style=style, hparams=hparams,
                                              algorithm=algorithm, online=True)
    clash = sorted(set(space) & set(TRIAL_FLAGS))
    if clash:
        raise ValueError(f"{model_name}: searched hyperparameters {clash} share a name with the trial's own flags.")
    if algorithm == "grid" and any(isinstance(e, Range) and not e.integer for e in space.values()):
        raise ValueError("Vertex AI's grid search takes only integer ranges and choices; the space has a real-valued "
                         "range (use --algorithm bayesian or random).")
    for flag, value in (("--max-trials", max_trials), ("--parallel-trials", parallel_trials)):
        if value < 1:
            raise ValueError(f"{flag} must be at least 1. Received: {value}")
    if parallel_trials > max_trials:
        raise ValueError(f"--parallel-trials ({parallel_trials}) cannot exceed --max-trials ({max_trials}).")
    if epochs is not None and epochs < 1:
        raise ValueError(f"--epochs must be positive. Received: {epochs}")
    accel = vertex.options(accelerator, machine_type=machine_type, accelerator_type=accelerator_type,
                           accelerator_count=accelerator_count)
    rule = spec.gate.for_dataset(dataset)
    credentials = None
    if offline:
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()
    name = pipeline_name(model_name).replace("zoo-", "zoo-tune-", 1)
    output_dir = f"{pipeline_root.rstrip('/')}/tuning/{model_name}/{time.strftime('%Y%m%d-%H%M%S')}"
    pool = worker_pool(model_name, image=image or DEFAULT_IMAGE, dataset=dataset, style=style, epochs=epochs,
                       hparams=fixed, seed=seed, data_dir=data_dir, accel=accel)
    labels = {"zoo-model": model_name.replace("_", "-")}
    trial_job = aiplatform.CustomJob(display_name=f"{name}-trial", worker_pool_specs=[pool],
                                     base_output_dir=output_dir, staging_bucket=pipeline_root, project=project,
                                     location=region, credentials=credentials, labels=labels)
    return aiplatform.HyperparameterTuningJob(
        display_name=name, custom_job=trial_job,
        metric_spec={rule.metric: "maximize" if rule.direction == "max" else "minimize"},
        parameter_spec=parameter_specs(space), max_trial_count=max_trials, parallel_trial_count=parallel_trials,
        max_failed_trial_count=max_failed_trials, search_algorithm=VERTEX_ALGORITHMS[algorithm],
        project=project, location=region, credentials=credentials, labels=labels,
    )


def best_trial(job, space: Mapping[str, Range | Choice], metric: str, direction: str):
    """The best finished trial of a tuning job as ({parameter: value typed as the space says}, metric value),
    or None when no trial reported the metric."""
    from zoo.tuning import parse_value

    best = None
    for trial in job.trials:
        values = [m.value for m in trial.final_measurement.metrics if m.metric_id == metric]
        if values and (best is None or (values[0] > best[1] if direction == "max" else values[0] < best[1])):
            params = {p.parameter_id: parse_value(space[p.parameter_id], _text(p.value))
                      for p in trial.parameters if p.parameter_id in space}
            best = (params, values[0])
    return best


def _text(value) -> str:
    """A trial parameter's value as the text a trial would receive on its command line."""
    return repr(value) if isinstance(value, float) else str(value)


def run(job, service_account: str = "") -> str:
    """Create the job on Vertex AI (needs credentials) and follow it until it ends; returns where to see it."""
    job.run(service_account=service_account or None, sync=True)
    return f"tuning job: {job.resource_name}\n{job._dashboard_uri()}"


def report(job, model_name: str, *, project: str, region: str, pipeline_root: str, dataset: str | None = None,
           style: str = "functional", hparams: Mapping[str, Any] | None = None) -> list[str]:
    """What `zoo tune --project` prints once the job has ended: the best trial and the `zoo submit` command line
    that trains its values through the normal pipeline (gate included)."""
    from zoo.registry import get_spec
    from zoo.tuning import best_command, format_values, search_space

    spec = get_spec(model_name)
    fixed = dict(hparams or {})
    rule = spec.gate.for_dataset(dataset or (spec.online_datasets or spec.offline_datasets)[0])
    found = best_trial(job, search_space(spec, fixed), rule.metric, rule.direction)
    if found is None:
        return [f"best: none (no trial reported {rule.metric})"]
    values, value = found
    command = best_command(model_name, values, fixed=fixed, dataset=dataset, style=style,
                           submit={"project": project, "region": region, "pipeline_root": pipeline_root})
    return [f"best: {rule.metric}={value:.4f} on the validation split  {format_values(values)}",
            f"train it through the pipeline (the gate decides whether it deploys):\n  {command}"]
