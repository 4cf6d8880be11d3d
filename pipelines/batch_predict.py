"""Batch prediction on Vertex AI: a `BatchPredictionJob` against the model the deploy step put in the registry.

`zoo predict NAME --project P --region R --input gs://…(.jsonl|.csv|.txt) --output gs://prefix` builds the
`aiplatform_v1.CreateBatchPredictionJobRequest` (the real Vertex AI API type, which the SDK's
`aiplatform.BatchPredictionJob.submit` builds too, but only while submitting it) and sends it with
`aiplatform_v1.JobServiceClient`; `--dry-run` prints the request as JSON and sends nothing, and the client
is built offline with anonymous credentials in the tests.

- **The model**: `zoo.pipeline.vertex_deploy.deploy` uploads every version under one parent model per zoo
  model and dataset, display name `zoo-<name>-<dataset>`, and moves the `serving` alias (with `default`) to
  the version that serves. The job targets `projects/P/locations/R/models/ID@serving`: what the endpoint
  serves, and what `zoo rollback` moves. `--model-id` gives the ID; without it the parent is looked up by its
  display name when the job is submitted (`ModelServiceClient.list_models`; a dry run shows `MODEL_ID`).
- **The container**: Vertex AI runs a batch prediction job on the model's own serving container, started with
  the same `AIP_HTTP_PORT`, `AIP_HEALTH_ROUTE`, `AIP_PREDICT_ROUTE` and `AIP_STORAGE_URI` as for an endpoint;
  it waits for the health route, then POSTs the input to the predict route in requests of
  `{"instances": [...], "parameters": ...}` (`--batch-size` instances each, Vertex's
  `manual_batch_tuning_parameters`), one instance per JSONL line, one JSON array per CSV row (header first,
  unquoted values as numbers, strings double-quoted) and one `{"b64": "<base64 of the file>"}` per path of a
  file list. That is exactly what `zoo serve --vertex` answers, with the same validation, so the component
  image serves batch prediction too. Results land under `--output` in a folder
  `prediction-<model display name>-<time>/`: `predictions_0001.jsonl`, ... with one
  `{"instance": ..., "prediction": ...}` line per instance, and `errors_0001.jsonl`, ... for requests that
  failed as a whole (a code and a message).
- **Bad lines**: the job's `model_parameters` are `{"errors": "per_instance"}`, which Vertex sends as the
  `"parameters"` of every request; with them the server predicts every good instance of a request and
  answers `{"error": "<reason>"}` as the prediction of each bad one (without them it refuses the whole
  request, as online clients expect). So a bad line is reported in `predictions_*.jsonl` as
  `{"instance": ..., "prediction": {"error": ...}}` and the other lines of its request are still predicted,
  as `zoo predict --local` does (which also gives line numbers; Vertex's output echoes the instance instead).
  (Sources: Vertex AI's "Get batch predictions from a custom trained model",
  cloud.google.com/vertex-ai/docs/predictions/get-batch-predictions, and `BatchPredictionJob` in
  `google.cloud.aiplatform_v1`.)
- **Formats**: `instances_format` comes from the input's name: `jsonl` (`.jsonl`, `.json`, `.ndjson`), `csv`
  (`.csv`), and `file-list` (`.txt`: one `gs://` path of an image file per line), the last for models that
  take one image: the server decodes each file as `zoo predict --local` decodes a folder of images
  (`zoo.pipeline.serving.decode_image`), so both give the same predictions. Whether a model takes images is
  read offline from its registry spec (`takes_images`: the task's `endpoint_takes_image`, else one float
  input of shape (H, W, 1, 3 or 4)), so a file list for another model is
  refused before anything is sent. `predictions_format` is `jsonl`. TFRecord inputs are refused: Vertex
  sends each record base64-encoded (`{"b64": ...}`), and the zoo's records are serialised examples, not image
  files the server could decode.
- **Machines**: a model served from a custom container needs dedicated resources: `--machine-type`
  (default n1-standard-4) and `--replicas` (starting and maximum replica count; batch jobs do not autoscale).
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

from pipelines.submit import PROJECT_ID, REGION

DEFAULT_MACHINE_TYPE = "n1-standard-4"
DEFAULT_BATCH_SIZE = 64
MODEL_ID_PLACEHOLDER = "MODEL_ID"
FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".txt": "file-list"}
REFUSED = {".tfrecord": "tf-record", ".gz": "tf-record-gzip"}
GCS = re.compile(r"^gs://[a-z0-9][a-z0-9._-]{1,220}(/\S*)?$")


def takes_images(spec) -> bool:
    """Whether the endpoint of the model of `spec` takes one image, `(H, W, C)` floats with C 1, 3 or 4 (what
    `zoo.pipeline.serving.image_input` finds in the exported signature), read offline: the task's
    `endpoint_takes_image` when it says, else the spec's own input signature (a serving wrapper of the zoo
    takes text or ids)."""
    from zoo.tasks import get_task

    says = get_task(spec.task).endpoint_takes_image
    if says is not None:
        return says
    if spec.serving:
        return False
    inputs = list(spec.inputs().values())
    return (len(inputs) == 1 and inputs[0].dtype.startswith(("float", "bfloat")) and len(inputs[0].shape) == 3
            and inputs[0].shape[2] in (1, 3, 4))


def _served_input(spec) -> str:
    """What the endpoint of `spec`'s model takes, in a few words (for a model that takes no image)."""
    from zoo.tasks import get_task

    if get_task(spec.task).endpoint_takes_image is False:
        return f"its endpoint ({spec.task}) takes seeds or image pairs, not one image"
    if spec.serving:
        return f"its endpoint takes what its serving wrapper {spec.serving} takes"
    return "it takes " + ", ".join(f"{name} {sig.dtype}{tuple(sig.shape)}" for name, sig in spec.inputs().items())


def instances_format(input_uri: str, spec) -> str:
    """`jsonl`, `csv` or `file-list` (models that take images), from the name of the input (a wildcard is
    allowed, `gs://b/in/*.jsonl`) and the model's `spec`."""
    name = input_uri.lower()
    for suffix, fmt in REFUSED.items():
        if name.endswith(suffix):
            raise ValueError(f"--input {input_uri!r} reads as Vertex's {fmt!r} format, whose records reach the "
                             "container base64-encoded ({\"b64\": ...}) and are not image files: give JSON Lines, "
                             "CSV or a .txt list of image files")
    fmt = next((fmt for suffix, fmt in FORMATS.items() if name.endswith(suffix)), None)
    if fmt is None:
        raise ValueError(f"--input {input_uri!r}: name a .jsonl or .csv file, or a .txt list of gs:// image files "
                         "(a wildcard such as gs://b/in/*.jsonl works)")
    if fmt == "file-list" and not takes_images(spec):
        raise ValueError(f"--input {input_uri!r} reads as Vertex's 'file-list' format (one gs:// image file a line), "
                         f"for models that take one image; {spec.name} does not ({_served_input(spec)}): give JSON Lines or CSV")
    return fmt


def model_resource(project: str, region: str, model_id: str | None) -> str:
    """The registry model's serving version: `projects/P/locations/R/models/ID@serving`."""
    from zoo.pipeline.vertex_deploy import SERVING_ALIAS

    return f"projects/{project}/locations/{region}/models/{model_id or MODEL_ID_PLACEHOLDER}@{SERVING_ALIAS}"


def check(project: str, region: str, input_uri: str, output_uri: str, machine_type: str, replicas: int,
          batch_size: int, model_id: str | None) -> None:
    """One-line ValueErrors for what Vertex would refuse, before anything is built."""
    from zoo.pipeline.serving import MAX_INSTANCES

    if not PROJECT_ID.match(project or ""):
        raise ValueError(f"--project must be a Google Cloud project id. Received: {project!r}")
    if not REGION.match(region or ""):
        raise ValueError(f"--region must be a region such as us-central1. Received: {region!r}")
    for flag, uri in (("--input", input_uri), ("--output", output_uri)):
        if not GCS.match(uri or ""):
            raise ValueError(f"{flag} must be a gs://bucket/path on Vertex AI. Received: {uri!r}")
    if not re.match(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$", machine_type or ""):
        raise ValueError(f"--machine-type must be a Compute Engine machine type such as n1-standard-4. "
                         f"Received: {machine_type!r}")
    if replicas < 1:
        raise ValueError(f"--replicas must be positive. Received: {replicas}")
    if not 1 <= batch_size <= MAX_INSTANCES:
        raise ValueError(f"--batch-size must be between 1 and {MAX_INSTANCES} (the server's limit). "
                         f"Received: {batch_size}")
    if model_id is not None and not re.match(r"^[a-z0-9][a-z0-9_-]{0,127}$", model_id):
        raise ValueError(f"--model-id must be the registry model's ID (digits, as in its resource name). "
                         f"Received: {model_id!r}")


def build_request(model: str, *, project: str, region: str, input_uri: str, output_uri: str,
                  dataset: str | None = None, model_id: str | None = None,
                  machine_type: str = DEFAULT_MACHINE_TYPE, replicas: int = 1, batch_size: int = DEFAULT_BATCH_SIZE,
                  service_account: str = "", now: _dt.datetime | None = None):
    """The `CreateBatchPredictionJobRequest` for `model` (trained on `dataset`, default its first online one)."""
    from google.cloud import aiplatform_v1 as v1

    from zoo.pipeline.serving import PER_INSTANCE_ERRORS
    from zoo.pipeline.vertex_deploy import display_name
    from zoo.registry import check_dataset, get_spec

    spec = get_spec(model)
    dataset = dataset or (spec.online_datasets or spec.offline_datasets)[0]
    check_dataset(spec, dataset)
    check(project, region, input_uri, output_uri, machine_type, replicas, batch_size, model_id)
    fmt = instances_format(input_uri, spec)
    stamp = (now or _dt.datetime.now(_dt.timezone.utc)).strftime("%Y%m%d-%H%M%S")
    label = display_name(model, dataset)
    job = v1.BatchPredictionJob(
        display_name=f"{label}-predict-{stamp}",
        model=model_resource(project, region, model_id),
        input_config=v1.BatchPredictionJob.InputConfig(instances_format=fmt,
                                                       gcs_source=v1.GcsSource(uris=[input_uri])),
        output_config=v1.BatchPredictionJob.OutputConfig(
            predictions_format="jsonl", gcs_destination=v1.GcsDestination(output_uri_prefix=output_uri)),
        dedicated_resources=v1.BatchDedicatedResources(
            machine_spec=v1.MachineSpec(machine_type=machine_type),
            starting_replica_count=replicas, max_replica_count=replicas),
        manual_batch_tuning_parameters=v1.ManualBatchTuningParameters(batch_size=batch_size),
        # Sent as every request's "parameters": the server then answers a bad instance with an error in its place.
        model_parameters=dict(PER_INSTANCE_ERRORS),
        service_account=service_account,
        labels={"zoo-model": model.replace("_", "-"), "zoo-registry-model": label},
    )
    return v1.CreateBatchPredictionJobRequest(parent=f"projects/{project}/locations/{region}",
                                              batch_prediction_job=job)


def to_json(request) -> str:
    """The request as the API's JSON (what `--dry-run` prints)."""
    return type(request).to_json(request, indent=2, sort_keys=True, use_integers_for_enums=False,
                                 always_print_fields_with_no_presence=False)


def _client_options(region: str) -> dict:
    return {"api_endpoint": f"{region}-aiplatform.googleapis.com"}


def job_client(region: str, credentials: Any = None):
    """The Vertex AI job service client of `region` (`credentials` None: the environment's)."""
    from google.cloud import aiplatform_v1 as v1

    return v1.JobServiceClient(credentials=credentials, client_options=_client_options(region))


def lookup_model_id(project: str, region: str, label: str, client: Any = None) -> str:
    """The ID of the registry model named `label` (the parent the deploy step uploads versions under)."""
    from google.cloud import aiplatform_v1 as v1

    client = client or v1.ModelServiceClient(client_options=_client_options(region))
    models = list(client.list_models(request=v1.ListModelsRequest(
        parent=f"projects/{project}/locations/{region}", filter=f'display_name="{label}"')))
    if not models:
        raise ValueError(f"No Vertex AI model named {label!r} in {project}/{region}: deploy one with `zoo submit` "
                         "first, or give --model-id")
    if len(models) > 1:
        raise ValueError(f"{len(models)} Vertex AI models are named {label!r} in {project}/{region}; give --model-id "
                         f"(one of {sorted(m.name.rsplit('/', 1)[-1] for m in models)})")
    return models[0].name.rsplit("/", 1)[-1]


def submit(request, *, client: Any = None, model_client: Any = None) -> str:
    """Send `request` (looking the model up first when it has no ID); returns the job's name and console link."""
    job = request.batch_prediction_job
    project, region = request.parent.split("/")[1], request.parent.split("/")[3]
    if f"/models/{MODEL_ID_PLACEHOLDER}@" in job.model:
        label = job.labels["zoo-registry-model"]
        job.model = job.model.replace(MODEL_ID_PLACEHOLDER, lookup_model_id(project, region, label, model_client))
    created = (client or job_client(region)).create_batch_prediction_job(request=request)
    job_id = created.name.rsplit("/", 1)[-1]
    return (f"submitted {created.name} ({job.model})\nhttps://console.cloud.google.com/vertex-ai/locations/{region}/"
            f"batch-predictions/{job_id}?project={project}")
