"""Submit a model's pipeline to Vertex AI Pipelines as a `PipelineJob`.

`build_job` compiles the Vertex target and builds the real `aiplatform.PipelineJob`; with `offline=True` it
uses anonymous credentials, so `zoo submit --dry-run` shows the exact request without a network.

Experiments (`zoo submit --experiment NAME`): `PipelineJob.submit(experiment=NAME)` creates the Vertex AI
Experiment if needed and adds the run to it; Vertex AI then shows the pipeline's parameters (dataset, style,
hparams, epochs, batch_size, learning_rate, seed, backend, ...) as the run's parameters and the evaluate
step's `system.Metrics` artifact (every test metric) as its metrics, so runs of a model compare side by side.
TensorBoard (`--tensorboard`): see `pipelines.vertex.train_task`.
"""

from __future__ import annotations

import json
import re
import tempfile
from typing import Any

# The characters of a project id; its length (6-30) is left to Google Cloud, so short test ids work offline.
PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$|^[a-z]$")
REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
# Vertex AI Experiment names: lower-case letters, digits and hyphens, starting with a letter or digit, at
# most 128 characters (a Metadata context id).
EXPERIMENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")


def check_experiment(name: str | None) -> None:
    """A one-line ValueError unless `name` is None or a valid Vertex AI Experiment name."""
    if name is not None and not EXPERIMENT.match(name):
        raise ValueError(f"--experiment must be lower-case letters, digits and hyphens (starting with a letter "
                         f"or digit, at most 128 characters). Received: {name!r}")


def check_tensorboard_region(tensorboard: str, region: str) -> None:
    """Vertex AI uploads a job's logs only to a TensorBoard instance in the job's own region."""
    from pipelines.vertex import TENSORBOARD, check_tensorboard

    check_tensorboard(tensorboard)
    found = TENSORBOARD.match(tensorboard or "")
    if found and found.group(2) != region:
        raise ValueError(f"--tensorboard must be in the pipeline's region {region}. Received: {tensorboard!r}")


def check_target(project: str, region: str, pipeline_root: str, baseline_uri: str | None) -> None:
    """One-line ValueErrors for malformed project, region or Cloud Storage paths."""
    if not PROJECT_ID.match(project or ""):
        raise ValueError(f"--project must be a Google Cloud project id (lower-case letters, digits and "
                         f"hyphens, starting with a letter). Received: {project!r}")
    if not REGION.match(region or ""):
        raise ValueError(f"--region must be a region such as us-central1. Received: {region!r}")
    for flag, uri in (("--pipeline-root", pipeline_root), ("--baseline-uri", baseline_uri)):
        if uri is not None and not re.match(r"^gs://[^/\s]+(/\S*)?$", uri):
            raise ValueError(f"{flag} must be a gs://bucket/path. Received: {uri!r}")


def build_job(model_name: str, *, project: str, region: str, pipeline_root: str, image: str | None = None,
              baseline_uri: str | None = None, dataset: str | None = None, style: str = "functional",
              epochs: int | None = None, hparams: dict[str, Any] | None = None, require_significance: bool = False,
              batch_size: int | None = None, learning_rate: float | None = None, offline: bool = False,
              service_account: str = "", experiment: str | None = None, **machine):
    """The `aiplatform.PipelineJob` that runs `model_name`'s pipeline on Vertex AI (`experiment` is only
    checked here: it is given to `submit`)."""
    from google.cloud import aiplatform

    from pipelines.compiler import compile_pipeline
    from pipelines.factory import pipeline_name
    from zoo.registry import check_dataset, get_spec, resolve_hparams

    check_target(project, region, pipeline_root, baseline_uri)
    check_experiment(experiment)
    check_tensorboard_region(machine.get("tensorboard", ""), region)
    if machine.get("serving_image") == "prebuilt":
        from zoo.pipeline.vertex_deploy import prebuilt_image_uri

        prebuilt_image_uri(region)  # a region without prebuilt containers fails now, not after training
    spec = get_spec(model_name)
    if dataset:
        check_dataset(spec, dataset)
    resolve_hparams(spec, hparams or {})
    for flag, value in (("--epochs", epochs), ("--batch-size", batch_size), ("--learning-rate", learning_rate)):
        if value is not None and not value > 0:
            raise ValueError(f"{flag} must be positive. Received: {value}")
    parameters: dict[str, Any] = {
        "style": style, "hparams": json.dumps(hparams or {}, sort_keys=True),
        "baseline_uri": baseline_uri or pipeline_root.rstrip("/") + "/baselines",
        "require_significance": require_significance,
    }
    if dataset:
        parameters["dataset"] = dataset
    if epochs is not None:
        parameters["epochs"] = epochs
    if batch_size is not None:
        parameters["batch_size"] = int(batch_size)
    if learning_rate is not None:
        parameters["learning_rate"] = float(learning_rate)
    credentials = None
    if offline:
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()
    with tempfile.TemporaryDirectory() as tmp:
        template = compile_pipeline(model_name, tmp, target="vertex", image=image,
                                    service_account=service_account, **machine)
        return aiplatform.PipelineJob(
            display_name=pipeline_name(model_name), template_path=template, pipeline_root=pipeline_root,
            parameter_values=parameters, project=project, location=region, credentials=credentials,
            enable_caching=False, labels={"zoo-model": model_name.replace("_", "-")},
        )


def dry_run(job, experiment: str | None = None) -> dict:
    """What `zoo submit --dry-run` prints: the PipelineJob request, and the experiment the run would join
    (not a field of the request: the SDK adds the run to the experiment once it is created)."""
    shown = job.to_dict()
    if experiment:
        shown["experiment"] = experiment
    return shown


def submit(job, service_account: str = "", experiment: str | None = None) -> str:
    """Submit `job` (needs Google Cloud credentials), in Vertex AI Experiment `experiment` if given; returns
    where to watch it."""
    check_experiment(experiment)
    job.submit(service_account=service_account or None, experiment=experiment or None)
    where = f"submitted {job.resource_name}\n{job._dashboard_uri()}"
    if experiment:
        where += (f"\nexperiment {experiment}: https://console.cloud.google.com/vertex-ai/experiments/locations/"
                  f"{job.location}/experiments/{experiment}?project={job.project}")
    return where
