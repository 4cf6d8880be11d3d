"""Submit a model's pipeline to Vertex AI Pipelines as a `PipelineJob`.

`build_job` compiles the Vertex target and builds the real `aiplatform.PipelineJob`; with `offline=True` it
uses anonymous credentials, so `zoo submit --dry-run` shows the exact request without a network.
"""

from __future__ import annotations

import json
import re
import tempfile
from typing import Any

# The characters of a project id; its length (6-30) is left to Google Cloud, so short test ids work offline.
PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$|^[a-z]$")
REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")


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
              offline: bool = False, service_account: str = "", **machine):
    """The `aiplatform.PipelineJob` that runs `model_name`'s pipeline on Vertex AI."""
    from google.cloud import aiplatform

    from pipelines.compiler import compile_pipeline
    from pipelines.factory import pipeline_name
    from zoo.registry import check_dataset, get_spec, resolve_hparams

    check_target(project, region, pipeline_root, baseline_uri)
    if machine.get("serving_image") == "prebuilt":
        from zoo.pipeline.vertex_deploy import prebuilt_image_uri

        prebuilt_image_uri(region)  # a region without prebuilt containers fails now, not after training
    spec = get_spec(model_name)
    if dataset:
        check_dataset(spec, dataset)
    resolve_hparams(spec, hparams or {})
    if epochs is not None and epochs < 1:
        raise ValueError(f"--epochs must be positive. Received: {epochs}")
    parameters: dict[str, Any] = {
        "style": style, "hparams": json.dumps(hparams or {}, sort_keys=True),
        "baseline_uri": baseline_uri or pipeline_root.rstrip("/") + "/baselines",
        "require_significance": require_significance,
    }
    if dataset:
        parameters["dataset"] = dataset
    if epochs is not None:
        parameters["epochs"] = epochs
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


def submit(job, service_account: str = "") -> str:
    """Submit `job` (needs Google Cloud credentials); returns where to watch it."""
    job.submit(service_account=service_account or None)
    return f"submitted {job.resource_name}\n{job._dashboard_uri()}"
