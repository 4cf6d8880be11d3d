"""The Vertex AI target: the train step as a custom job on the requested machines, deploy to an endpoint.

Why google-cloud-pipeline-components' `create_custom_training_job_from_component`: it turns our own train
component into a Vertex custom job with the same inputs and outputs (no second copy of the step), and it
is the wrapper Vertex AI documents. Its cost is a dependency pin: gcpc 2.22 requires
google-cloud-aiplatform < 2, so the project resolves to aiplatform 1.x (see pyproject.toml).

Presets (machine terms; prices vary by region, see the README):
- cpu: n1-standard-8, no accelerator.
- gpu: g2-standard-8 with one NVIDIA L4.
- multi-gpu: a2-highgpu-4g with four NVIDIA A100 40GB (MirroredStrategy).
- tpu: a Cloud TPU v5e single host, ct5lp-hightpu-4t (4 chips, topology 2x2), trained on Keras' JAX backend
  (DataParallel over the chips, bfloat16): JAX is what TPUs run best, and its TPU build (jax[tpu], libtpu)
  works with the lock's TensorFlow, which only feeds data and exports there.

Each preset names the Keras backend it trains with (`backend`); `--backend` overrides it. A model whose spec
is `tensorflow_only` trains on TensorFlow whatever the preset says (on a TPU that needs the image built with
`--build-arg TPU_BACKEND=tensorflow`, see the Dockerfile).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    "cpu": dict(machine_type="n1-standard-8", accelerator_type="", accelerator_count=0, backend="tensorflow"),
    "gpu": dict(machine_type="g2-standard-8", accelerator_type="NVIDIA_L4", accelerator_count=1,
                backend="tensorflow"),
    "multi-gpu": dict(machine_type="a2-highgpu-4g", accelerator_type="NVIDIA_TESLA_A100", accelerator_count=4,
                      backend="tensorflow"),
    "tpu": dict(machine_type="ct5lp-hightpu-4t", accelerator_type="TPU_V5_LITEPOD", accelerator_count=4,
                tpu_topology="2x2", backend="jax"),
}
# CPU and memory of the steps that do not train (preprocess, evaluate, gate), per preset: preprocess
# streams data (writing shards or describing TFDS splits) and evaluate streams the test split, so they need
# a few cores for tf.data and enough memory for the model and one shuffle block, not the dataset.
STEP_RESOURCES: dict[str, tuple[str, str]] = {
    "cpu": ("4", "16G"),
    "gpu": ("8", "32G"),
    "multi-gpu": ("16", "64G"),
    "tpu": ("16", "64G"),
}
# The serving container: by default the component image itself, running `zoo serve --vertex` (the same
# TensorFlow and Keras as training, the zoo's input checks). `serving_image="prebuilt"` picks Vertex's prebuilt
# TensorFlow 2.15 container instead, resolved at deploy time in the deploy region from a table
# (zoo.pipeline.vertex_deploy.PREBUILT_TF_SERVING), so compiling never imports the Cloud SDK; any other value
# is the URI of an image built from this project's Dockerfile (e.g. its smaller CPU variant).


@dataclasses.dataclass(frozen=True)
class Accelerator:
    """Where the train step runs on Vertex AI, and where the deployed model serves."""

    preset: str = "gpu"
    machine_type: str = ""
    accelerator_type: str = ""
    accelerator_count: int = 0
    tpu_topology: str = ""
    # The Keras backend the train step uses ("tensorflow" or "jax"); the serving model is a SavedModel either way.
    backend: str = "tensorflow"
    replica_count: int = 1
    spot: bool = False
    service_account: str = ""
    serving_machine_type: str = "n1-standard-4"
    serving_image: str = ""
    step_cpu: str = "8"
    step_memory: str = "32G"
    # Evaluate on the training machine (as a custom job) rather than on a CPU step.
    evaluate_on_accelerator: bool = False
    # A Vertex AI TensorBoard instance (projects/P/locations/R/tensorboards/ID) the train job uploads its
    # TensorBoard logs to while it runs; "" for none. See `train_task` for where the logs go.
    tensorboard: str = ""

    @property
    def is_tpu(self) -> bool:
        return self.accelerator_type.startswith("TPU")


def options(accelerator: str = "gpu", *, machine_type: str | None = None, accelerator_type: str | None = None,
            accelerator_count: int | None = None, replica_count: int = 1, spot: bool = False,
            service_account: str = "", serving_machine_type: str = "n1-standard-4",
            serving_image: str = "", step_cpu: str | None = None, step_memory: str | None = None,
            evaluate_on_accelerator: bool = False, backend: str | None = None,
            tensorboard: str = "") -> Accelerator:
    """An `Accelerator` from a preset name and explicit overrides; ValueError for bad combinations."""
    from zoo.pipeline.runtime import check_backend

    if accelerator not in PRESETS:
        raise ValueError(f"Unknown accelerator preset {accelerator!r}. Allowed: {', '.join(PRESETS)}.")
    chosen = {**PRESETS[accelerator]}
    for key, value in (("machine_type", machine_type), ("accelerator_type", accelerator_type),
                       ("accelerator_count", accelerator_count), ("backend", backend)):
        if value is not None:
            chosen[key] = value
    if chosen["accelerator_type"] and int(chosen["accelerator_count"]) < 1:
        raise ValueError(f"accelerator_count must be at least 1 with accelerator_type={chosen['accelerator_type']!r}. "
                         f"Received: {chosen['accelerator_count']}")
    if not chosen["accelerator_type"] and int(chosen["accelerator_count"]) > 0:
        raise ValueError(f"accelerator_count={chosen['accelerator_count']} needs an accelerator_type.")
    check_backend(chosen["backend"])
    if replica_count < 1:
        raise ValueError(f"replica_count must be at least 1. Received: {replica_count}")
    if not chosen["machine_type"]:
        raise ValueError("machine_type must not be empty.")
    check_tensorboard(tensorboard)
    default_cpu, default_memory = STEP_RESOURCES[accelerator]
    step_cpu, step_memory = step_cpu or default_cpu, step_memory or default_memory
    if not _is_quantity(step_cpu, "") or not _is_quantity(step_memory, "KMGT"):
        raise ValueError(f"step_cpu is a number of cores and step_memory a size like '32G'. "
                         f"Received: step_cpu={step_cpu!r}, step_memory={step_memory!r}")
    return Accelerator(preset=accelerator, replica_count=int(replica_count), spot=bool(spot),
                       service_account=service_account, serving_machine_type=serving_machine_type,
                       serving_image=serving_image, step_cpu=str(step_cpu), step_memory=str(step_memory),
                       evaluate_on_accelerator=bool(evaluate_on_accelerator), tensorboard=tensorboard or "",
                       **chosen)


# A Vertex AI TensorBoard instance's resource name; its ID is the number Vertex AI gave it.
TENSORBOARD = re.compile(r"^projects/([a-z0-9-]+)/locations/([a-z]+-[a-z]+[0-9]+)/tensorboards/([0-9]+)$")


def check_tensorboard(resource: str) -> None:
    """A one-line ValueError unless `resource` is empty or a TensorBoard instance's resource name."""
    if resource and not TENSORBOARD.match(resource):
        raise ValueError(f"--tensorboard must be a Vertex AI TensorBoard resource name, "
                         f"projects/PROJECT/locations/REGION/tensorboards/NUMBER. Received: {resource!r}")


def _is_quantity(text: str, units: str) -> bool:
    text = str(text)
    number = text[:-1] if units and text[-1:] in units else text
    try:
        return float(number) > 0
    except ValueError:
        return False


def size_step(task, accel: Accelerator):
    """Request the preset's CPU and memory for a step that runs on Vertex's default machines."""
    return task.set_cpu_limit(accel.step_cpu).set_memory_limit(accel.step_memory)


def evaluate_task(evaluate_component, arguments: dict, accel: Accelerator, on_accelerator: bool):
    """Evaluate as a step with the preset's CPU and memory, or as a custom job on the training machine when
    the model needs an accelerator to score the test set in reasonable time (big CNNs, generators)."""
    if not (on_accelerator or accel.evaluate_on_accelerator) or not accel.accelerator_type:
        return size_step(evaluate_component(**arguments), accel)
    return _custom_job(evaluate_component, arguments, accel, display_name="zoo-evaluate", replica_count=1,
                       spot=False)


# Where a train job with a TensorBoard instance writes its logs: a folder of the run under the pipeline root.
# KFP's placeholders, not a path fixed when compiling: `zoo compile` knows no pipeline root, a compiled template
# is submitted many times (Cloud Build, schedules), and a folder shared by runs would make each job upload
# the earlier runs' event files to its own TensorBoard experiment. Vertex AI Pipelines resolves the
# placeholders in task arguments when the job is created (as google-cloud-pipeline-components' own
# evaluation components do for their root_dir); Vertex AI Training then sets AIP_TENSORBOARD_LOG_DIR
# (a `logs` folder under this directory) in the job, which the train step writes to.
TENSORBOARD_OUTPUT = "{{$.pipeline_root}}/tensorboard/{{$.pipeline_job_uuid}}"
# The account a job with TensorBoard runs as when none is given: Vertex AI uploads TensorBoard logs only from
# jobs that name a service account, so the train job runs as the pipeline's own (gcpc's placeholder).
PIPELINE_SERVICE_ACCOUNT = "{{$.pipeline_service_account}}"


def train_task(train_component, arguments: dict, accel: Accelerator):
    """The train step as a Vertex AI custom job with `accel`'s worker pools (and TensorBoard, if asked)."""
    tensorboard = {}
    if accel.tensorboard:
        tensorboard = {"base_output_directory": TENSORBOARD_OUTPUT}
        if not accel.service_account:
            tensorboard["service_account"] = PIPELINE_SERVICE_ACCOUNT
    return _custom_job(train_component, {**arguments, **tensorboard}, accel, display_name="zoo-train",
                       replica_count=accel.replica_count, spot=accel.spot, tensorboard=accel.tensorboard)


def _custom_job(component, arguments: dict, accel: Accelerator, *, display_name: str, replica_count: int,
                spot: bool, tensorboard: str = ""):
    from google_cloud_pipeline_components.v1.custom_job import create_custom_training_job_from_component

    env = [{"name": "ZOO_TPU", "value": "local"}] if accel.is_tpu else []
    job = create_custom_training_job_from_component(
        component,
        display_name=display_name,
        machine_type=accel.machine_type,
        accelerator_type=accel.accelerator_type,
        accelerator_count=accel.accelerator_count if accel.accelerator_type else 1,
        replica_count=replica_count,
        service_account=accel.service_account,
        # Spot VMs can be preempted: Vertex restarts the job and BackupAndRestore resumes it.
        strategy="SPOT" if spot else "STANDARD",
        restart_job_on_worker_restart=spot,
        env=env,
        # Vertex AI uploads the job's TensorBoard logs (AIP_TENSORBOARD_LOG_DIR) to this instance as it runs.
        tensorboard=tensorboard,
    )
    if accel.tpu_topology:
        # The wrapper has no TPU topology argument; v5e machines need it in every pool's machine spec.
        for pool in job.component_spec.inputs["worker_pool_specs"].default:
            pool["machine_spec"]["tpu_topology"] = accel.tpu_topology
    return job(**arguments)


def serving_image_uri(accel: Accelerator, image: str) -> str:
    """What the deploy step serves from: `accel.serving_image` ("prebuilt" or a URI), else the component image."""
    return accel.serving_image or image


def deploy_task(model_name: str, trained, evaluation, baseline_uri, accel: Accelerator, image: str):
    """Upload the model as a new Vertex Model Registry version, deploy it, then record the baseline."""
    from components.vertex import LOCATION_PLACEHOLDER, PROJECT_PLACEHOLDER, make_deploy_component

    deploy = make_deploy_component(image)
    return deploy(
        model_name=model_name, project=PROJECT_PLACEHOLDER, location=LOCATION_PLACEHOLDER, baseline_uri=baseline_uri,
        serving_image=serving_image_uri(accel, image),
        serving_machine_type=accel.serving_machine_type, model=trained.outputs["model"],
        evaluation=evaluation.outputs["evaluation"],
    )
