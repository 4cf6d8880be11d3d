"""The Vertex AI target, offline: compiled worker pools, submission with anonymous credentials, deploy logic."""

import json
import os
import subprocess
import sys

import pytest

from pipelines.compiler import compile_pipeline
from pipelines.vertex import PRESETS, options
from zoo.pipeline.baseline import Baseline, LocalBaselineStore
from zoo.cli import main
from zoo.pipeline.vertex_deploy import deploy
from pipelines.submit import build_job

IMAGE = "us-central1-docker.pkg.dev/proj/zoo/zoo-components:abc123"


def _compiled(tmp_path, **machine):
    with open(compile_pipeline("lenet5", str(tmp_path), target="vertex", image=IMAGE, **machine)) as f:
        return json.load(f)


def _pools(spec):
    executor = spec["deploymentSpec"]["executors"]["exec-train"]
    assert executor["container"]["image"].startswith("gcr.io/ml-pipeline/google-cloud-pipeline-components")
    return spec["components"]["comp-train"]["inputDefinitions"]["parameters"]["worker_pool_specs"]["defaultValue"]


def test_gpu_preset_puts_the_machine_and_accelerator_in_the_worker_pool(tmp_path):
    (pool,) = _pools(_compiled(tmp_path, accelerator="gpu"))
    assert pool["machine_spec"] == {"machine_type": "g2-standard-8", "accelerator_type": "NVIDIA_L4",
                                    "accelerator_count": 1}
    assert pool["replica_count"] == 1 and pool["container_spec"]["image_uri"] == IMAGE


def test_tpu_preset_asks_for_a_tpu_v5e_host_and_tells_training_it_is_on_a_tpu(tmp_path):
    (pool,) = _pools(_compiled(tmp_path, accelerator="tpu"))
    assert pool["machine_spec"] == {"machine_type": "ct5lp-hightpu-4t", "accelerator_type": "TPU_V5_LITEPOD",
                                    "accelerator_count": 4, "tpu_topology": "2x2"}
    assert {"name": "ZOO_TPU", "value": "local"} in pool["container_spec"]["env"]


def test_overrides_replicas_and_spot(tmp_path):
    spec = _compiled(tmp_path, accelerator="multi-gpu", machine_type="a2-highgpu-8g", accelerator_count=8,
                     replica_count=3, spot=True)
    primary, workers = _pools(spec)
    assert primary["replica_count"] == 1 and workers["replica_count"] == 2
    assert workers["machine_spec"]["accelerator_count"] == 8 and workers["machine_spec"]["machine_type"] == "a2-highgpu-8g"
    params = spec["components"]["comp-train"]["inputDefinitions"]["parameters"]
    assert params["strategy"]["defaultValue"] == "SPOT"


def test_local_target_has_no_worker_pools_and_the_vertex_target_deploys_to_an_endpoint(tmp_path):
    local = json.dumps(json.load(open(compile_pipeline("lenet5", str(tmp_path / "l")))))
    assert "worker_pool_specs" not in local and "machine_spec" not in local
    vertex = _compiled(tmp_path / "v")
    assert "deploy-vertex" in vertex["components"]["comp-condition-1"]["dag"]["tasks"]
    assert vertex["root"]["inputDefinitions"]["parameters"]["dataset"]["defaultValue"] == "mnist"


def test_preprocess_and_evaluate_request_the_presets_cpu_and_memory(tmp_path):
    executors = _compiled(tmp_path, accelerator="cpu")["deploymentSpec"]["executors"]
    for step in ("exec-preprocess", "exec-evaluate"):
        resources = executors[step]["container"]["resources"]
        assert (resources["resourceCpuLimit"], resources["resourceMemoryLimit"]) == ("4", "16G"), step
    bigger = _compiled(tmp_path / "big", accelerator="gpu", step_cpu="16", step_memory="96G")
    resources = bigger["deploymentSpec"]["executors"]["exec-preprocess"]["container"]["resources"]
    assert (resources["resourceCpuLimit"], resources["resourceMemoryLimit"]) == ("16", "96G")


def test_big_networks_evaluate_on_the_training_machine_as_a_custom_job(tmp_path):
    with open(compile_pipeline("resnet50", str(tmp_path), target="vertex", image=IMAGE)) as f:
        spec = json.load(f)
    pools = spec["components"]["comp-evaluate"]["inputDefinitions"]["parameters"]["worker_pool_specs"]["defaultValue"]
    assert pools[0]["machine_spec"]["accelerator_type"] == "NVIDIA_L4" and pools[0]["replica_count"] == 1
    asked = _compiled(tmp_path / "asked", evaluate_on_accelerator=True)
    assert "worker_pool_specs" in asked["components"]["comp-evaluate"]["inputDefinitions"]["parameters"]
    small = _compiled(tmp_path / "small")
    assert "worker_pool_specs" not in small["components"]["comp-evaluate"]["inputDefinitions"]["parameters"]


@pytest.mark.parametrize("kwargs,message", [
    (dict(accelerator="fpga"), "Unknown accelerator preset 'fpga'"),
    (dict(accelerator="gpu", step_memory="lots"), "step_memory a size like"),
    (dict(accelerator="gpu", accelerator_count=0), "accelerator_count must be at least 1"),
    (dict(accelerator="cpu", accelerator_count=2), "needs an accelerator_type"),
    (dict(accelerator="gpu", replica_count=0), "replica_count must be at least 1"),
])
def test_bad_machine_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        options(**kwargs)


def test_every_preset_is_valid():
    for name in PRESETS:
        assert options(name).preset == name


def test_submit_dry_run_prints_the_job_offline(capsys):
    code = main(["submit", "lenet5", "--project", "p-proj1", "--region", "us-central1", "--pipeline-root",
                 "gs://b/r", "--dry-run", "--image", IMAGE, "--epochs", "3"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    job = json.loads(out)
    assert job["displayName"] == "zoo-lenet5"
    assert job["runtimeConfig"]["gcsOutputDirectory"] == "gs://b/r"
    assert job["runtimeConfig"]["parameterValues"]["baseline_uri"] == "gs://b/r/baselines"
    assert job["runtimeConfig"]["parameterValues"]["epochs"] == 3


def test_submit_as_the_issue_runs_it_needs_no_network():
    argv = ["submit", "lenet5", "--project", "p", "--region", "us-central1", "--pipeline-root", "gs://b/r",
            "--dry-run"]
    out = subprocess.run([sys.executable, "-m", "zoo.cli", *argv], capture_output=True, text=True,
                         env={**os.environ, "NO_PROXY": "*", "HTTPS_PROXY": "http://127.0.0.1:9"})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["runtimeConfig"]["gcsOutputDirectory"] == "gs://b/r"
    out = subprocess.run([sys.executable, "-m", "zoo.cli", *argv[:2], *argv[4:]], capture_output=True, text=True)
    assert out.returncode == 2 and out.stderr.strip().splitlines() == [
        "zoo submit: the following arguments are required: --project"]


@pytest.mark.parametrize("argv,message", [
    (["--project", "My_Proj", "--region", "us-central1", "--pipeline-root", "gs://b/r"], "--project must be"),
    (["--project", "my-proj", "--region", "nowhere", "--pipeline-root", "gs://b/r"], "--region must be a region"),
    (["--project", "my-proj", "--region", "us-central1", "--pipeline-root", "/tmp/r"], "--pipeline-root must be"),
    (["--project", "my-proj", "--region", "us-central1", "--pipeline-root", "gs://b/r", "--accelerator", "x"],
     "Unknown accelerator preset"),
    (["--project", "my-proj", "--region", "us-central1", "--pipeline-root", "gs://b/r", "--dataset", "cifar"],
     "Unknown dataset for lenet5"),
])
def test_submit_bad_arguments_exit_2_with_one_line(capsys, argv, message):
    assert main(["submit", "lenet5", "--dry-run", *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err


# ----------------------------------------------------------------------------- deploy at the SDK's boundary
class FakeModel:
    uploads = []

    def __init__(self, version):
        self.version_id = version
        self.resource_name = "projects/p/locations/r/models/123"
        self.versioned_resource_name = f"{self.resource_name}@{version}"

    @classmethod
    def list(cls, filter, order_by):
        return [cls(str(len(cls.uploads)))] if cls.uploads else []

    @classmethod
    def upload(cls, **kwargs):
        cls.uploads.append(kwargs)
        return cls(str(len(cls.uploads)))


class FakeEndpoint:
    created = []

    def __init__(self):
        self.resource_name = "projects/p/locations/r/endpoints/9"
        self.models, self.events = [], []

    @classmethod
    def list(cls, filter, order_by):
        return list(cls.created)

    @classmethod
    def create(cls, display_name):
        endpoint = cls()
        cls.created.append(endpoint)
        return endpoint

    def list_models(self):
        return [type("Deployed", (), {"id": m})() for m in self.models]

    def deploy(self, model, **kwargs):
        self.events.append(("deploy", model.version_id, kwargs["traffic_percentage"]))
        self.models.append(f"dm-{model.version_id}")

    def undeploy(self, deployed_model_id):
        self.events.append(("undeploy", deployed_model_id))
        self.models.remove(deployed_model_id)


class FakeAPI:
    Model, Endpoint = FakeModel, FakeEndpoint

    def __init__(self):
        FakeModel.uploads, FakeEndpoint.created = [], []
        self.inits = []

    def init(self, **kwargs):
        self.inits.append(kwargs)


def _evaluation(value):
    return {"model": "lenet5", "dataset": "mnist", "metric": "accuracy", "direction": "max", "value": value,
            "scores": [1.0], "test_fingerprint": "f"}


def test_deploy_uploads_a_version_under_one_parent_serves_it_alone_then_records_the_baseline(tmp_path):
    api, store = FakeAPI(), LocalBaselineStore(str(tmp_path))
    common = dict(model_uri="gs://b/r/train/model", baseline_uri="unused", serving_image="img", api=api,
                  store=store, project="proj", location="europe-west4")
    first = deploy(evaluation=_evaluation(0.9), **common)
    second = deploy(evaluation=_evaluation(0.95), **common)
    assert api.inits[0] == {"project": "proj", "location": "europe-west4"}
    assert FakeModel.uploads[0]["parent_model"] is None
    assert FakeModel.uploads[1]["parent_model"] == "projects/p/locations/r/models/123"
    assert FakeModel.uploads[1]["artifact_uri"] == "gs://b/r/train/model/saved_model"
    assert FakeModel.uploads[1]["version_aliases"] == ["serving"]
    (endpoint,) = FakeEndpoint.created
    assert endpoint.events == [("deploy", "1", 100), ("deploy", "2", 100), ("undeploy", "dm-1")]
    assert first["baseline_recorded"] and second["baseline_recorded"]
    assert store.read("lenet5", "mnist").location == "projects/p/locations/r/models/123@2"


def test_deploy_leaves_the_endpoint_alone_when_a_better_model_was_recorded_meanwhile(tmp_path):
    api, store = FakeAPI(), LocalBaselineStore(str(tmp_path))
    store.propose(Baseline(model="lenet5", dataset="mnist", metric="accuracy", direction="max", value=0.99,
                           version="7", location="elsewhere"))
    result = deploy(model_uri="gs://b/m", evaluation=_evaluation(0.95), baseline_uri="x", serving_image="img",
                    api=api, store=store)
    assert not result["deployed"] and FakeModel.uploads == [] and FakeEndpoint.created == []
    assert store.read("lenet5", "mnist").version == "7"


def test_deploy_needs_the_model_in_cloud_storage(tmp_path):
    with pytest.raises(ValueError, match="Vertex AI serves models from Cloud Storage"):
        deploy(model_uri="/local/model", evaluation=_evaluation(0.9), baseline_uri="x", serving_image="i",
               api=FakeAPI(), store=LocalBaselineStore(str(tmp_path)))


# ------------------------------------------------------------------------------------------ serving image
def test_deploy_serves_from_the_component_image_with_zoo_serve_by_default(tmp_path):
    from zoo.pipeline.vertex_deploy import ZOO_SERVING_COMMAND

    api, store = FakeAPI(), LocalBaselineStore(str(tmp_path))
    deploy(model_uri="gs://b/m", evaluation=_evaluation(0.9), baseline_uri="x", api=api, store=store,
           serving_image="europe-docker.pkg.dev/p/zoo/zoo-components:abc", location="europe-west4")
    (upload,) = FakeModel.uploads
    assert upload["serving_container_image_uri"] == "europe-docker.pkg.dev/p/zoo/zoo-components:abc"
    assert upload["serving_container_command"] == ZOO_SERVING_COMMAND == ["zoo", "serve", "--vertex"]
    assert upload["serving_container_predict_route"] == "/predict"
    assert upload["serving_container_health_route"] == "/health"
    assert upload["serving_container_ports"] == [8080]


@pytest.mark.parametrize("location,uri", [
    ("europe-west4", "europe-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest"),
    ("asia-northeast1", "asia-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest"),
    ("us-central1", "us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest"),
    (None, "us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest"),  # the SDK's default location
])
def test_the_prebuilt_option_resolves_in_the_deploy_region_and_sets_no_zoo_command(tmp_path, location, uri):
    api, store = FakeAPI(), LocalBaselineStore(str(tmp_path))
    deploy(model_uri="gs://b/m", evaluation=_evaluation(0.9), baseline_uri="x", api=api, store=store,
           serving_image="prebuilt", location=location)
    (upload,) = FakeModel.uploads
    assert upload["serving_container_image_uri"] == uri
    assert not any(key in upload for key in ("serving_container_command", "serving_container_predict_route"))


def test_a_region_without_prebuilt_containers_fails_before_anything_is_uploaded(tmp_path):
    api = FakeAPI()
    with pytest.raises(ValueError, match="published for us-\\*, europe-\\* and asia-\\* regions"):
        deploy(model_uri="gs://b/m", evaluation=_evaluation(0.9), baseline_uri="x", api=api,
               store=LocalBaselineStore(str(tmp_path)), serving_image="prebuilt", location="me-west1")
    assert FakeModel.uploads == []
    with pytest.raises(ValueError, match="'me-west1' has none"):
        build_job("lenet5", project="p", region="me-west1", pipeline_root="gs://b/r", offline=True,
                  serving_image="prebuilt")


def test_the_prebuilt_table_matches_the_vertex_sdks_own():
    from google.cloud.aiplatform.constants import prediction

    from zoo.pipeline.vertex_deploy import PREBUILT_TF_SERVING, PREBUILT_TF_VERSION

    sdk = prediction._SERVING_CONTAINER_URI_MAP
    for region, uri in PREBUILT_TF_SERVING.items():
        assert sdk[region]["tensorflow"]["cpu"][PREBUILT_TF_VERSION] == uri
    newest = max(sdk["us"]["tensorflow"]["cpu"], key=lambda v: tuple(int(p) for p in v.split(".")))
    assert PREBUILT_TF_VERSION == newest  # a newer prebuilt TensorFlow: update the table
    assert set(PREBUILT_TF_SERVING) == set(sdk)


def test_compiled_vertex_pipelines_deploy_from_the_component_image_or_the_prebuilt_option(tmp_path):
    image = "us-central1-docker.pkg.dev/p/zoo/zoo-components:abc"

    def serving_image(**machine):
        path = compile_pipeline("lenet5", str(tmp_path / str(len(machine))), target="vertex", image=image,
                                **machine)
        with open(path) as f:
            text = json.load(f)
        inputs = text["root"]["dag"]["tasks"]["condition-1"]["componentRef"]["name"]
        deploy_task = text["components"][inputs]["dag"]["tasks"]["deploy-vertex"]
        return deploy_task["inputs"]["parameters"]["serving_image"]["runtimeValue"]["constant"]

    assert serving_image() == image
    assert serving_image(serving_image="prebuilt") == "prebuilt"
