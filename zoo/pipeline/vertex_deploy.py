"""Deploy a trained zoo model on Vertex AI: Model Registry version -> endpoint -> baseline.

One parent model per zoo model (`zoo-<name>`): each deploy uploads a new version of it, serving the
SavedModel export from a prebuilt TensorFlow prediction container, carries the alias `serving`, and
replaces the previous version on the model's endpoint (created on first use). Only after the endpoint
serves it is the new baseline recorded, by compare-and-swap on Cloud Storage.

The SDK is passed in (`api`, default `google.cloud.aiplatform`) so tests exercise this logic against the
SDK's interface without a network.
"""

from __future__ import annotations

from typing import Any

SERVING_ALIAS = "serving"


def display_name(model: str) -> str:
    return "zoo-" + model.replace("_", "-")


def deploy(*, model_uri: str, evaluation: dict, baseline_uri: str, serving_image: str,
           serving_machine_type: str = "n1-standard-4", project: str | None = None, location: str | None = None,
           api: Any = None, store: Any = None) -> dict:
    """Upload, deploy and record; returns what was done (resource names, version, baseline outcome)."""
    from zoo.pipeline.baseline import better, open_store
    from zoo.pipeline.steps import record_baseline

    if api is None:
        from google.cloud import aiplatform as api
    if not model_uri.startswith("gs://"):
        raise ValueError(f"Vertex AI serves models from Cloud Storage; the model is at {model_uri!r}.")
    store = store or open_store(baseline_uri)
    name, dataset = evaluation["model"], evaluation["dataset"]
    api.init(project=project or None, location=location or None)

    # A better model may have been recorded since this run's gate: then leave the endpoint alone.
    current = store.read(name, dataset)
    if current is not None and not better(evaluation["value"], current.value, evaluation["direction"]):
        return {"model": name, "deployed": False, "baseline_recorded": False,
                "note": f"a model at least as good (version {current.version}) was recorded meanwhile"}

    label = display_name(name)
    parents = api.Model.list(filter=f'display_name="{label}"', order_by="create_time")
    uploaded = api.Model.upload(
        display_name=label,
        artifact_uri=model_uri.rstrip("/") + "/saved_model",
        serving_container_image_uri=serving_image,
        parent_model=parents[0].resource_name if parents else None,
        is_default_version=True,
        version_aliases=[SERVING_ALIAS],
        version_description=f"{evaluation['metric']}={evaluation['value']:.6g} on {dataset}",
        labels={"zoo-model": name.replace("_", "-"), "dataset": dataset.replace("/", "-").replace("_", "-")},
    )
    endpoints = api.Endpoint.list(filter=f'display_name="{label}"', order_by="create_time")
    endpoint = endpoints[0] if endpoints else api.Endpoint.create(display_name=label)
    previous = [m.id for m in endpoint.list_models()]
    endpoint.deploy(model=uploaded, deployed_model_display_name=f"{label}-v{uploaded.version_id}",
                    machine_type=serving_machine_type, min_replica_count=1, max_replica_count=1,
                    traffic_percentage=100)
    for deployed_model_id in previous:  # the new version takes all traffic; stop paying for the old ones
        endpoint.undeploy(deployed_model_id=deployed_model_id)

    written, prior = record_baseline(store, evaluation, str(uploaded.version_id), uploaded.versioned_resource_name)
    result = {"model": name, "deployed": True, "version": str(uploaded.version_id),
              "model_resource": uploaded.versioned_resource_name, "endpoint": endpoint.resource_name,
              "baseline_recorded": written}
    if not written:
        result["note"] = (f"a concurrent run recorded a model at least as good (version {prior.version}) while "
                          "this one deployed; its baseline stands")
    return result
