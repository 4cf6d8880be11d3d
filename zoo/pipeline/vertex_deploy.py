"""Deploy a trained zoo model on Vertex AI: Model Registry version -> endpoint -> baseline.

One parent model per zoo model (`zoo-<name>`): each deploy uploads a new version of it, serving the
SavedModel export from the project's own image by default (`zoo serve --vertex`: the same TensorFlow and
Keras as training) or from Vertex's prebuilt TensorFlow container (`serving_image="prebuilt"`, resolved here
in the deploy region from a table, see `PREBUILT_TF_SERVING`), carries the alias `serving`, and
replaces the previous version on the model's endpoint (created on first use). Only after the endpoint
serves it is the new baseline recorded, by compare-and-swap on Cloud Storage.

The SDK is passed in (`api`, default `google.cloud.aiplatform`) so tests exercise this logic against the
SDK's interface without a network.
"""

from __future__ import annotations

from typing import Any

SERVING_ALIAS = "serving"
# `serving_image` value that selects Vertex AI's prebuilt TensorFlow prediction container.
PREBUILT = "prebuilt"
# The newest prebuilt TensorFlow (CPU) prediction container, per Artifact Registry multi-region, as the
# Vertex SDK's own table has them (google/cloud/aiplatform/constants/prediction.py, TF_CONTAINER_URIS, in
# aiplatform 1.165): a table here, so that compiling a pipeline never imports the SDK (about 7 s). Its limits:
# TensorFlow 2.15 serving SavedModels exported by TF 2.21 (ops newer than 2.15 fail to load there, nothing
# tests that they do), TF Serving's request checks (no shape check before the model runs), and no zoo code.
PREBUILT_TF_VERSION = "2.15"
PREBUILT_TF_SERVING = {
    "us": "us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest",
    "europe": "europe-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest",
    "asia": "asia-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest",
}
# The SDK's default location when none is given (aiplatform.initializer).
DEFAULT_LOCATION = "us-central1"
# How the project's image serves (zoo.pipeline.serving): Vertex passes these to the container as AIP_*.
ZOO_SERVING_COMMAND = ["zoo", "serve", "--vertex"]
ZOO_PREDICT_ROUTE, ZOO_HEALTH_ROUTE, ZOO_PORT = "/predict", "/health", 8080


def prebuilt_image_uri(location: str | None) -> str:
    """Vertex's prebuilt TensorFlow CPU prediction container in the multi-region of `location`."""
    region = (location or DEFAULT_LOCATION).split("-", 1)[0]
    if region not in PREBUILT_TF_SERVING:
        raise ValueError(f"Vertex AI's prebuilt prediction containers are published for us-*, europe-* and asia-* "
                         f"regions; {location!r} has none. Serve from the project's image (the default).")
    return PREBUILT_TF_SERVING[region]


def serving_container(serving_image: str, location: str | None) -> dict[str, Any]:
    """`Model.upload`'s serving-container arguments for `serving_image`: `PREBUILT`, or an image built from
    this project's Dockerfile (the component image by default), which serves with `zoo serve --vertex`."""
    if not serving_image:
        raise ValueError("serving_image must be an image URI or 'prebuilt'")
    if serving_image == PREBUILT:
        return {"serving_container_image_uri": prebuilt_image_uri(location)}
    return {
        "serving_container_image_uri": serving_image,
        "serving_container_command": list(ZOO_SERVING_COMMAND),
        "serving_container_predict_route": ZOO_PREDICT_ROUTE,
        "serving_container_health_route": ZOO_HEALTH_ROUTE,
        "serving_container_ports": [ZOO_PORT],
    }


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
    container = serving_container(serving_image, location)  # an unknown region fails before anything changes
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
        **container,
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
