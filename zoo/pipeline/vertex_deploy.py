"""Deploy a trained zoo model on Vertex AI, and roll back: Model Registry version, endpoint traffic, baseline.

One parent model and one endpoint per zoo model and dataset (`zoo-<name>-<dataset>`). Each deploy uploads a
new version of the parent, serving the SavedModel export from the project's own image by default
(`zoo serve --vertex`: the same TensorFlow and Keras as training) or from Vertex's prebuilt TensorFlow
container (`serving_image="prebuilt"`, resolved here in the deploy region from a table, see
`PREBUILT_TF_SERVING`).

What serves changes in one place, `_switch`, and only while this run holds the model's deploy lease
(`BaselineStore.lease`, on Cloud Storage):
1. the baseline is read again: a better model recorded meanwhile ends the deploy, changing nothing (the
   uploaded version stays in the registry, without the alias);
2. the version is deployed on the endpoint with 0 % of the traffic; Vertex finishes that only once the
   container answers its health route, so a version that cannot load never takes a request;
3. the traffic moves to it (100 %), the `serving` and `default` aliases move to it, the baseline is
   recorded; if any of these fails, the traffic split and the aliases are put back as they were and the new
   deployment is removed: what served before serves again;
4. only then are the versions it replaced undeployed.
`rollback` uses the same switch to bring back a version recorded earlier (its evaluation is kept in the
baseline store beside the baseline, `record_version`), with the baseline it earned.

The SDK is passed in (`api`, default `google.cloud.aiplatform`) so tests exercise this logic against the
SDK's interface without a network.
"""

from __future__ import annotations

import dataclasses
from typing import Any

SERVING_ALIAS = "serving"
# Vertex's alias for the version used when none is named; it moves with `serving`.
DEFAULT_ALIAS = "default"
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


def display_name(model: str, dataset: str) -> str:
    """The parent model's and the endpoint's display name for `model` trained on `dataset`."""
    return "zoo-" + "-".join(p.replace("_", "-").replace("/", "-") for p in (model, dataset))


def _sdk(api):
    if api is None:
        from google.cloud import aiplatform as api
    return api


def _endpoint(api, label: str, create: bool = True):
    endpoints = api.Endpoint.list(filter=f'display_name="{label}"', order_by="create_time")
    if endpoints:
        return endpoints[0]
    return api.Endpoint.create(display_name=label) if create else None


def _switch(*, endpoint, model, commit, restore_version: str | None, machine_type: str) -> dict:
    """Make `model` (a Model Registry version) serve on `endpoint`, then `commit()` the baseline.

    Deploys at 0 % (100 % on an empty endpoint, which the SDK requires and where nothing served anyway),
    moves the traffic and the aliases, commits; on any failure restores the traffic split and the aliases
    (to `restore_version`) and removes the new deployment. Returns what happened to the old deployments.
    """
    before = dict(endpoint.traffic_split)
    old = [m.id for m in endpoint.list_models()]
    endpoint.deploy(model=model, deployed_model_display_name=f"{endpoint.display_name}-v{model.version_id}",
                    machine_type=machine_type, min_replica_count=1, max_replica_count=1,
                    traffic_percentage=0 if before else 100)
    new = [m.id for m in endpoint.list_models() if m.id not in old]
    if len(new) != 1:
        raise RuntimeError(f"Could not tell which deployment on {endpoint.resource_name} is version "
                           f"{model.version_id}: new deployments {new}")
    registry = model.versioning_registry
    try:
        if before:
            endpoint.update(traffic_split={new[0]: 100})
        registry.add_version_aliases([SERVING_ALIAS, DEFAULT_ALIAS], version=model.version_id)
        commit()
    except BaseException:
        if before:
            endpoint.update(traffic_split=before)
        if restore_version is not None:
            registry.add_version_aliases([SERVING_ALIAS, DEFAULT_ALIAS], version=restore_version)
        endpoint.undeploy(deployed_model_id=new[0])
        raise
    undeployed, left = [], []
    for deployed_model_id in old:  # no traffic reaches them now; stop paying for them
        try:
            endpoint.undeploy(deployed_model_id=deployed_model_id)
            undeployed.append(deployed_model_id)
        except Exception as err:  # what serves is right; an old deployment to remove by hand is reported
            left.append(f"{deployed_model_id} ({type(err).__name__}: {' '.join(str(err).split())[:200]})")
    return {"endpoint": endpoint.resource_name, "undeployed": undeployed, "left_deployed": left}


def deploy(*, model_uri: str, evaluation: dict, baseline_uri: str, serving_image: str,
           serving_machine_type: str = "n1-standard-4", project: str | None = None, location: str | None = None,
           api: Any = None, store: Any = None) -> dict:
    """Upload a version and make it serve if it still beats the baseline; returns what was done."""
    from zoo.pipeline.baseline import better, open_store
    from zoo.pipeline.release import ReleaseError, baseline_record

    if not model_uri.startswith("gs://"):
        raise ValueError(f"Vertex AI serves models from Cloud Storage; the model is at {model_uri!r}.")
    container = serving_container(serving_image, location)  # an unknown region fails before anything changes
    api = _sdk(api)
    store = store or open_store(baseline_uri)
    name, dataset = evaluation["model"], evaluation["dataset"]
    api.init(project=project or None, location=location or None)

    # A better model may have been recorded since this run's gate: then upload nothing.
    current = store.read(name, dataset)
    if current is not None and not better(evaluation["value"], current.value, evaluation["direction"]):
        return {"model": name, "deployed": False, "baseline_recorded": False,
                "note": f"a model at least as good (version {current.version}) was recorded meanwhile"}

    label = display_name(name, dataset)
    parents = api.Model.list(filter=f'display_name="{label}"', order_by="create_time")
    uploaded = api.Model.upload(
        display_name=label,
        artifact_uri=model_uri.rstrip("/") + "/saved_model",
        **container,
        parent_model=parents[0].resource_name if parents else None,
        is_default_version=not parents,  # the first version must carry `default`; later ones get it on switch
        version_description=f"{evaluation['metric']}={evaluation['value']:.6g} on {dataset}",
        labels={"zoo-model": name.replace("_", "-"), "dataset": dataset.replace("/", "-").replace("_", "-")},
    )
    record = baseline_record(evaluation, str(uploaded.version_id), uploaded.versioned_resource_name)
    store.record_version(record)
    result = {"model": name, "deployed": False, "version": str(uploaded.version_id),
              "model_resource": uploaded.versioned_resource_name, "baseline_recorded": False}

    with store.lease(name, dataset):
        current = store.read(name, dataset)
        if current is not None and not better(record.value, current.value, record.direction):
            result["note"] = (f"a model at least as good (version {current.version}) was recorded while this one "
                              "uploaded; it keeps serving, this version stays in the registry without the alias")
            return result

        def commit():
            written, prior = store.propose(record)
            if not written:  # only if another run ignored the lease; the baseline is the authority
                raise ReleaseError(f"version {prior.version} was recorded meanwhile; nothing was changed")

        switched = _switch(endpoint=_endpoint(api, label), model=uploaded, commit=commit,
                           restore_version=None if current is None else current.version,
                           machine_type=serving_machine_type)
    result.update(deployed=True, baseline_recorded=True, replaced=None if current is None else current.version,
                  **switched)
    return result


def rollback(*, model: str, dataset: str, baseline_uri: str, to: str | None = None,
             serving_machine_type: str = "n1-standard-4", project: str | None = None, location: str | None = None,
             api: Any = None, store: Any = None) -> dict:
    """Serve an earlier version of `model` on `dataset` again, with the baseline it earned."""
    from zoo.pipeline.baseline import open_store
    from zoo.pipeline.release import ReleaseError, rollback_target

    api = _sdk(api)
    store = store or open_store(baseline_uri)
    api.init(project=project or None, location=location or None)
    with store.lease(model, dataset):
        current = store.read(model, dataset)
        target, history = rollback_target(current, to)
        record = store.read_version(model, dataset, target)
        if record is None:
            raise ReleaseError(f"No evaluation of version {target} of {model} on {dataset} is recorded under "
                               f"{baseline_uri}; only versions deployed by the zoo can be rolled back to.")
        restored = dataclasses.replace(record, history=history)
        version = api.Model(model_name=record.location)
        endpoint = _endpoint(api, display_name(model, dataset), create=False)
        if endpoint is None:
            raise ReleaseError(f"No endpoint {display_name(model, dataset)!r} exists; nothing was changed.")
        switched = _switch(endpoint=endpoint, model=version,
                           commit=lambda: store.replace(restored, expected=current),
                           restore_version=current.version, machine_type=serving_machine_type)
    return {"model": model, "dataset": dataset, "version": target, "replaced": current.version,
            "metric": record.metric, "value": record.value, "model_resource": record.location, **switched}
