"""Training curves and experiments: the train step's TensorBoard event files read back with TensorBoard's own
reader; `zoo submit --tensorboard/--experiment` built offline with the real Vertex AI SDK (anonymous
credentials; only the generated service clients' network calls are replaced)."""

import json
import os

import pytest
from google.auth.credentials import AnonymousCredentials

from pipelines.compiler import compile_pipeline
from pipelines.submit import build_job, submit
from zoo.cli import main
from zoo.pipeline import runtime, steps

IMAGE = "us-central1-docker.pkg.dev/proj/zoo/zoo-components:abc123"
TENSORBOARD = "projects/p-proj1/locations/us-central1/tensorboards/1234567890"
TARGET = ["--project", "p-proj1", "--region", "us-central1", "--pipeline-root", "gs://b/r"]


def _curves(log_dir: str) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """{"train"|"validation": {tag: [(epoch, value), ...]}} as TensorBoard itself reads the event files."""
    from tensorboard.backend.event_processing.event_accumulator import TENSORS, EventAccumulator
    from tensorboard.util.tensor_util import make_ndarray

    curves = {}
    for run in ("train", "validation"):
        events = EventAccumulator(os.path.join(log_dir, run), size_guidance={TENSORS: 0}).Reload()
        curves[run] = {tag: [(e.step, float(make_ndarray(e.tensor_proto))) for e in events.Tensors(tag)]
                       for tag in events.Tags()[TENSORS]}
    return curves


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    data = str(tmp_path_factory.mktemp("data"))
    steps.preprocess("perceptron", "synthetic_logic_gates", data)
    return data


def test_the_train_step_writes_training_and_validation_curves_that_tensorboard_reads(prepared, tmp_path,
                                                                                    monkeypatch):
    monkeypatch.delenv(runtime.VERTEX_TENSORBOARD_ENV, raising=False)
    model_dir = str(tmp_path / "model")
    metadata = steps.train("perceptron", prepared, model_dir, epochs=2)
    assert metadata["tensorboard"] == os.path.join(model_dir, "logs")
    curves = _curves(metadata["tensorboard"])
    for run, prefix in (("train", ""), ("validation", "val_")):
        for name in ("loss", "accuracy"):  # the loss and the model's compiled metric, one point per epoch
            points = curves[run][f"epoch_{name}"]
            assert [step for step, _ in points] == [0, 1], (run, name)
            # The curve is the history Keras returned, epoch by epoch.
            assert [v for _, v in points] == pytest.approx(metadata["history"][prefix + name], rel=1e-6)


def test_vertex_ai_s_tensorboard_folder_takes_the_logs_when_vertex_gives_one(prepared, tmp_path, monkeypatch):
    vertex_logs = tmp_path / "aip-tensorboard" / "logs"
    monkeypatch.setenv(runtime.VERTEX_TENSORBOARD_ENV, str(vertex_logs))
    model_dir = tmp_path / "model"
    metadata = steps.train("perceptron", prepared, str(model_dir), epochs=1)
    assert metadata["tensorboard"] == str(vertex_logs)
    assert [step for step, _ in _curves(str(vertex_logs))["validation"]["epoch_loss"]] == [0]
    assert not (model_dir / "logs").exists()


# ------------------------------------------------------------------------------------ Vertex AI TensorBoard
def _train_job(spec):
    params = spec["components"]["comp-train"]["inputDefinitions"]["parameters"]
    return params, spec["root"]["dag"]["tasks"]["train"]["inputs"]["parameters"]


def test_a_tensorboard_instance_is_attached_to_the_train_job_only(tmp_path):
    from kfp import dsl

    from pipelines.vertex import PIPELINE_SERVICE_ACCOUNT, TENSORBOARD_OUTPUT

    with open(compile_pipeline("resnet50", str(tmp_path), target="vertex", image=IMAGE,
                               tensorboard=TENSORBOARD)) as f:
        spec = json.load(f)
    defaults, task = _train_job(spec)
    assert defaults["tensorboard"]["defaultValue"] == TENSORBOARD
    # Each run logs to its own folder under its pipeline root, resolved by Vertex AI Pipelines.
    assert TENSORBOARD_OUTPUT == f"{dsl.PIPELINE_ROOT_PLACEHOLDER}/tensorboard/{dsl.PIPELINE_JOB_ID_PLACEHOLDER}"
    assert task["base_output_directory"] == {"runtimeValue": {"constant": TENSORBOARD_OUTPUT}}
    # Vertex AI uploads logs only from a job with a service account: the pipeline's, when none is given.
    assert task["service_account"] == {"runtimeValue": {"constant": PIPELINE_SERVICE_ACCOUNT}}
    # resnet50 evaluates on the accelerator as a custom job too, without TensorBoard.
    evaluate = spec["components"]["comp-evaluate"]["inputDefinitions"]["parameters"]
    assert evaluate["tensorboard"]["defaultValue"] == ""
    assert "base_output_directory" not in spec["root"]["dag"]["tasks"]["evaluate"]["inputs"]["parameters"]


def test_without_tensorboard_the_train_job_has_no_output_directory(tmp_path):
    with open(compile_pipeline("lenet5", str(tmp_path), target="vertex", image=IMAGE)) as f:
        defaults, task = _train_job(json.load(f))
    assert defaults["tensorboard"]["defaultValue"] == ""
    assert "base_output_directory" not in task and "service_account" not in task


def test_submit_tensorboard_with_a_service_account_runs_the_job_as_that_account(capsys):
    assert main(["submit", "lenet5", *TARGET, "--dry-run", "--image", IMAGE, "--tensorboard", TENSORBOARD,
                 "--service-account", "trainer@p-proj1.iam.gserviceaccount.com"]) == 0
    job = json.loads(capsys.readouterr().out)
    defaults, task = _train_job(job["pipelineSpec"])
    assert defaults["tensorboard"]["defaultValue"] == TENSORBOARD
    assert defaults["service_account"]["defaultValue"] == "trainer@p-proj1.iam.gserviceaccount.com"
    assert "service_account" not in task and "base_output_directory" in task


@pytest.mark.parametrize("argv,message", [
    (["--tensorboard", "my-tensorboard"], "--tensorboard must be a Vertex AI TensorBoard resource name"),
    (["--tensorboard", "projects/p/locations/us-central1/tensorboards/abc"], "tensorboards/NUMBER"),
    (["--tensorboard", "projects/p-proj1/locations/europe-west4/tensorboards/1"],
     "--tensorboard must be in the pipeline's region us-central1"),
    (["--experiment", "My_Experiment"], "--experiment must be lower-case letters, digits and hyphens"),
    (["--experiment=-leading-hyphen"], "Received: '-leading-hyphen'"),
    (["--experiment", "x" * 129], "at most 128 characters"),
])
def test_bad_tensorboard_or_experiment_exits_2_with_one_line(capsys, argv, message):
    assert main(["submit", "lenet5", *TARGET, "--dry-run", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and message in err


def test_compile_rejects_a_malformed_tensorboard_before_writing(tmp_path, capsys):
    assert main(["compile", "lenet5", "--target", "vertex", "--out", str(tmp_path), "--tensorboard", "tb"]) == 2
    assert "--tensorboard must be" in capsys.readouterr().err and not list(tmp_path.iterdir())


# ------------------------------------------------------------------------------------ Vertex AI Experiments
def test_dry_run_prints_the_experiment_and_the_parameters_it_will_compare(capsys):
    assert main(["submit", "lenet5", *TARGET, "--dry-run", "--image", IMAGE, "--experiment", "lenet5-lr",
                 "--epochs", "3", "--hparam", "activation=relu"]) == 0
    job = json.loads(capsys.readouterr().out)
    assert job["experiment"] == "lenet5-lr"
    # Vertex AI logs the pipeline's parameters as the run's parameters: the hyperparameters are among them.
    assert job["runtimeConfig"]["parameterValues"]["epochs"] == 3
    assert json.loads(job["runtimeConfig"]["parameterValues"]["hparams"]) == {"activation": "relu"}
    declared = job["pipelineSpec"]["root"]["inputDefinitions"]["parameters"]
    assert {"hparams", "epochs", "batch_size", "learning_rate", "style", "dataset", "seed"} <= set(declared)
    # ... and the evaluate step's system.Metrics artifact as the run's metrics.
    outputs = job["pipelineSpec"]["components"]["comp-evaluate"]["outputDefinitions"]["artifacts"]
    assert outputs["metrics"]["artifactType"]["schemaTitle"] == "system.Metrics"


def test_without_experiment_the_dry_run_has_none(capsys):
    assert main(["submit", "lenet5", *TARGET, "--dry-run", "--image", IMAGE]) == 0
    assert "experiment" not in json.loads(capsys.readouterr().out)


def _vertex_ai_offline(monkeypatch, calls: list) -> None:
    """Vertex AI's services as the SDK's generated clients call them, answering like the service: the
    pipeline and metadata service clients' methods that `PipelineJob.submit(experiment=...)` calls."""
    from google.api_core import exceptions
    from google.cloud.aiplatform.compat.services import metadata_service_client_v1, pipeline_service_client_v1
    from google.cloud.aiplatform.compat.types import context_v1, metadata_store_v1, pipeline_job_v1
    from google.cloud.aiplatform.compat.types import pipeline_state_v1
    from google.cloud.aiplatform.utils import gcs_utils

    created, contexts = {}, {}

    def create_pipeline_job(self, *, parent, pipeline_job, pipeline_job_id, timeout=None):
        calls.append(("create_pipeline_job", parent, pipeline_job_id, pipeline_job))
        job = pipeline_job_v1.PipelineJob(pipeline_job)
        job.name = f"{parent}/pipelineJobs/{pipeline_job_id}"
        job.state = pipeline_state_v1.PipelineState.PIPELINE_STATE_RUNNING
        job.job_detail.pipeline_run_context.name = f"{parent}/metadataStores/default/contexts/{pipeline_job_id}"
        created["job"] = job
        return job

    def get_pipeline_job(self, *, name, **kwargs):
        return created["job"]

    def get_metadata_store(self, *, name, **kwargs):
        return metadata_store_v1.MetadataStore(name=name)

    def get_context(self, *, name, **kwargs):
        if name not in contexts:
            raise exceptions.NotFound(name)
        return contexts[name]

    def create_context(self, *, parent, context, context_id, **kwargs):
        calls.append(("create_context", context_id, context.schema_title))
        made = context_v1.Context(context)
        made.name = f"{parent}/contexts/{context_id}"
        contexts[made.name] = made
        return made

    def add_context_children(self, *, context, child_contexts, **kwargs):
        calls.append(("add_context_children", context, list(child_contexts)))

    # The SDK would check the pipeline root's bucket first (it logs and carries on when it cannot).
    monkeypatch.setattr(gcs_utils, "create_gcs_bucket_for_pipeline_artifacts_if_it_does_not_exist",
                        lambda **kwargs: None)
    for client, methods in (
        (pipeline_service_client_v1.PipelineServiceClient, (create_pipeline_job, get_pipeline_job)),
        (metadata_service_client_v1.MetadataServiceClient,
         (get_metadata_store, get_context, create_context, add_context_children)),
    ):
        for method in methods:
            monkeypatch.setattr(client, method.__name__, method)


def test_the_experiment_reaches_vertex_ai_with_the_run_s_hyperparameters(monkeypatch):
    """`submit` hands the experiment to the real `PipelineJob.submit`: the SDK creates the experiment (a
    system.Experiment metadata context), sends the CreatePipelineJob request, then adds the run's
    system.PipelineRun context to the experiment. Only the service clients' calls are replaced."""
    calls = []
    _vertex_ai_offline(monkeypatch, calls)
    job = build_job("lenet5", project="p-proj1", region="us-central1", pipeline_root="gs://b/r", image=IMAGE,
                    epochs=2, hparams={"activation": "relu"}, batch_size=64, learning_rate=0.003, offline=True,
                    experiment="lenet5-lr")
    assert isinstance(job.credentials, AnonymousCredentials)
    printed = submit(job, service_account="runner@p-proj1.iam.gserviceaccount.com", experiment="lenet5-lr")
    assert [c[0] for c in calls] == ["create_context", "create_pipeline_job", "add_context_children"]
    assert calls[0] == ("create_context", "lenet5-lr", "system.Experiment")
    _, parent, job_id, request = calls[1]
    assert parent == "projects/p-proj1/locations/us-central1" and job_id.startswith("zoo-lenet5-")
    assert request.service_account == "runner@p-proj1.iam.gserviceaccount.com"
    assert request.runtime_config.gcs_output_directory == "gs://b/r"
    # The hyperparameters the experiment compares, as the run's pipeline parameters.
    values = request.runtime_config.parameter_values
    assert (values["epochs"], values["batch_size"], values["learning_rate"]) == (2, 64, 0.003)
    assert json.loads(values["hparams"]) == {"activation": "relu"}
    store = f"{parent}/metadataStores/default/contexts"
    assert calls[2] == ("add_context_children", f"{store}/lenet5-lr", [f"{store}/{job_id}"])
    assert "experiments/lenet5-lr?project=p-proj1" in printed


def test_submit_refuses_a_bad_experiment_before_any_request(monkeypatch):
    job = build_job("lenet5", project="p-proj1", region="us-central1", pipeline_root="gs://b/r", image=IMAGE,
                    offline=True)
    monkeypatch.setattr(type(job), "submit", lambda *a, **k: pytest.fail("submitted"))
    with pytest.raises(ValueError, match="--experiment must be"):
        submit(job, experiment="Not Valid")


@pytest.mark.parametrize("kwargs,message", [
    (dict(batch_size=0), "--batch-size must be positive. Received: 0"),
    (dict(learning_rate=-1.0), "--learning-rate must be positive. Received: -1.0"),
])
def test_build_job_rejects_non_positive_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_job("lenet5", project="p-proj1", region="us-central1", pipeline_root="gs://b/r", offline=True,
                  **kwargs)

