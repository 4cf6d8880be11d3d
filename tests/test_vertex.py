"""The Vertex AI target, offline: compiled worker pools, submission with anonymous credentials, deploy logic."""

import json
import os
import subprocess
import sys

import pytest

from pipelines.compiler import compile_pipeline
from pipelines.vertex import PRESETS, options
from zoo.pipeline.baseline import Baseline, BaselineError, LocalBaselineStore
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


def _backend(spec):
    return spec["root"]["inputDefinitions"]["parameters"]["backend"]["defaultValue"]


def test_each_preset_says_which_keras_backend_it_trains_with(tmp_path):
    assert _backend(_compiled(tmp_path, accelerator="gpu")) == "tensorflow"
    assert _backend(_compiled(tmp_path, accelerator="tpu")) == "jax"  # DataParallel over the chips, bfloat16
    assert _backend(_compiled(tmp_path, accelerator="gpu", backend="jax")) == "jax"
    # A model whose training needs TensorFlow keeps it on the TPU preset; asking for JAX is an error.
    with open(compile_pipeline("dcgan", str(tmp_path), target="vertex", image=IMAGE, accelerator="tpu")) as f:
        assert _backend(json.load(f)) == "tensorflow"
    with pytest.raises(ValueError, match="dcgan trains on the TensorFlow backend only"):
        compile_pipeline("dcgan", str(tmp_path), target="vertex", image=IMAGE, backend="jax")
    with pytest.raises(ValueError, match="Unknown backend 'torch'"):
        compile_pipeline("lenet5", str(tmp_path), target="vertex", image=IMAGE, backend="torch")


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
class FakeRegistry:
    """The parent model's aliases: moving an alias to a version takes it off the version that had it."""

    def __init__(self):
        self.aliases: dict[str, str] = {}

    def add_version_aliases(self, new_aliases, version):
        for alias in new_aliases:
            self.aliases[alias] = str(version)
        FakeAPI.events.append(("aliases", str(version)))


class FakeModel:
    uploads = []
    registry = FakeRegistry()
    parent = "projects/p/locations/r/models/123"

    def __init__(self, version=None, model_name=None):
        if model_name is not None:
            parent, _, version = model_name.partition("@")
            assert parent == self.parent, model_name
        self.version_id = str(version)
        self.resource_name = self.parent
        self.versioned_resource_name = f"{self.resource_name}@{version}"
        self.versioning_registry = FakeModel.registry

    @classmethod
    def list(cls, filter, order_by):
        return [cls(str(len(cls.uploads)))] if cls.uploads else []

    @classmethod
    def upload(cls, **kwargs):
        cls.uploads.append(kwargs)
        version = str(len(cls.uploads))
        if kwargs["is_default_version"]:
            cls.registry.aliases["default"] = version
        return cls(version)


class FakeEndpoint:
    """An endpoint with deployments and a traffic split; `fail_deploy` makes the next deploy fail its health."""

    created = []

    def __init__(self, display_name):
        self.display_name = display_name
        self.resource_name = "projects/p/locations/r/endpoints/9"
        self.models, self.traffic_split, self.fail_deploy = [], {}, False

    @classmethod
    def list(cls, filter, order_by):
        return [e for e in cls.created if f'display_name="{e.display_name}"' == filter]

    @classmethod
    def create(cls, display_name):
        endpoint = cls(display_name)
        cls.created.append(endpoint)
        return endpoint

    def list_models(self):
        return [type("Deployed", (), {"id": m})() for m in self.models]

    def deploy(self, model, **kwargs):
        percent = kwargs["traffic_percentage"]
        FakeAPI.events.append(("deploy", model.version_id, percent))
        if self.fail_deploy:
            self.fail_deploy = False
            raise RuntimeError("Model server never became ready. Please validate that your model file or container "
                               "configuration are valid.")
        assert self.traffic_split or percent == 100, "the SDK requires 100 % on an empty endpoint"
        deployed = f"dm-{model.version_id}-{len(FakeAPI.events)}"
        self.models.append(deployed)
        self.traffic_split = {**self.traffic_split, deployed: percent} if percent < 100 else {deployed: 100}

    def update(self, traffic_split):
        assert sum(traffic_split.values()) == 100 and set(traffic_split) <= set(self.models)
        FakeAPI.events.append(("traffic", dict(traffic_split)))
        self.traffic_split = {m: traffic_split.get(m, 0) for m in self.models}

    def undeploy(self, deployed_model_id):
        assert not self.traffic_split.get(deployed_model_id), "undeploying a deployment that takes traffic"
        FakeAPI.events.append(("undeploy", deployed_model_id))
        self.models.remove(deployed_model_id)
        self.traffic_split.pop(deployed_model_id, None)

    def serving(self) -> str:
        """The version that takes all traffic."""
        (deployed,) = [m for m, percent in self.traffic_split.items() if percent == 100]
        return deployed.split("-")[1]


class FakeAPI:
    Model, Endpoint = FakeModel, FakeEndpoint
    events = []

    def __init__(self):
        FakeModel.uploads, FakeEndpoint.created, FakeModel.registry, FakeAPI.events = [], [], FakeRegistry(), []
        self.inits = []

    def init(self, **kwargs):
        self.inits.append(kwargs)


class LoggedStore(LocalBaselineStore):
    """A local baseline store that logs the lease and baseline writes among the SDK's events."""

    def lease(self, model, dataset, **kwargs):
        import contextlib

        @contextlib.contextmanager
        def logged():
            with super(LoggedStore, self).lease(model, dataset):
                FakeAPI.events.append(("lease", "acquired"))
                try:
                    yield
                finally:
                    FakeAPI.events.append(("lease", "released"))

        return logged()

    def propose(self, candidate):
        written, current = super().propose(candidate)
        FakeAPI.events.append(("baseline", candidate.version if written else None))
        return written, current

    def replace(self, record, expected):
        super().replace(record, expected)
        FakeAPI.events.append(("baseline", record.version))


def _evaluation(value):
    return {"model": "lenet5", "dataset": "mnist", "metric": "accuracy", "direction": "max", "value": value,
            "scores": [1.0], "test_fingerprint": "f"}


COMMON = dict(model_uri="gs://b/r/train/model", baseline_uri="unused", serving_image="img")


def _served(store) -> tuple[str, str, str]:
    """(baseline version, `serving` alias, version taking the endpoint's traffic): all three must agree."""
    (endpoint,) = FakeEndpoint.created
    return store.read("lenet5", "mnist").version, FakeModel.registry.aliases["serving"], endpoint.serving()


def test_deploy_moves_traffic_aliases_and_baseline_together_under_the_lease_then_undeploys_the_old(tmp_path):
    api, store = FakeAPI(), LoggedStore(str(tmp_path))
    first = deploy(evaluation=_evaluation(0.9), api=api, store=store, project="proj", location="europe-west4",
                   **COMMON)
    FakeAPI.events.clear()
    second = deploy(evaluation=_evaluation(0.95), api=api, store=store, **COMMON)
    assert api.inits[0] == {"project": "proj", "location": "europe-west4"}
    assert FakeModel.uploads[0]["parent_model"] is None and FakeModel.uploads[0]["display_name"] == "zoo-lenet5-mnist"
    assert FakeModel.uploads[1]["parent_model"] == "projects/p/locations/r/models/123"
    assert FakeModel.uploads[1]["artifact_uri"] == "gs://b/r/train/model/saved_model"
    assert "version_aliases" not in FakeModel.uploads[1] and not FakeModel.uploads[1]["is_default_version"]
    (deployed,) = FakeEndpoint.created[0].models
    assert FakeAPI.events == [
        ("lease", "acquired"), ("deploy", "2", 0), ("traffic", {deployed: 100}), ("aliases", "2"), ("baseline", "2"),
        ("undeploy", first["endpoint"] and second["undeployed"][0]), ("lease", "released"),
    ]
    assert first["deployed"] and second["deployed"] and second["replaced"] == "1"
    assert _served(store) == ("2", "2", "2") and FakeModel.registry.aliases["default"] == "2"
    assert len(FakeEndpoint.created[0].models) == 1
    assert store.read("lenet5", "mnist").history == ["1"]
    assert store.read_version("lenet5", "mnist", "1").value == 0.9  # kept for a rollback


def test_deploy_uploads_nothing_when_a_better_model_was_recorded_before_it_started(tmp_path):
    api, store = FakeAPI(), LocalBaselineStore(str(tmp_path))
    store.propose(Baseline(model="lenet5", dataset="mnist", metric="accuracy", direction="max", value=0.99,
                           version="7", location="elsewhere"))
    result = deploy(evaluation=_evaluation(0.95), api=api, store=store, **COMMON)
    assert not result["deployed"] and FakeModel.uploads == [] and FakeEndpoint.created == []
    assert store.read("lenet5", "mnist").version == "7"


def test_a_run_that_loses_to_a_concurrent_better_one_while_uploading_changes_nothing_that_serves(tmp_path):
    api, store = FakeAPI(), LoggedStore(str(tmp_path))
    deploy(evaluation=_evaluation(0.90), api=api, store=store, **COMMON)
    upload = FakeModel.upload.__func__

    def concurrent_run_wins(cls, **kwargs):  # while this run uploads, another deploys something better
        uploaded = upload(cls, **kwargs)
        FakeModel.upload = classmethod(upload)
        deploy(evaluation=_evaluation(0.99), api=api, store=store, **COMMON)
        return uploaded

    FakeModel.upload = classmethod(concurrent_run_wins)
    try:
        result = deploy(evaluation=_evaluation(0.95), api=api, store=store, **COMMON)
    finally:
        FakeModel.upload = classmethod(upload)
    assert not result["deployed"] and "stays in the registry without the alias" in result["note"]
    assert result["version"] == "2"
    assert _served(store) == ("3", "3", "3")  # the better model, everywhere


def test_a_version_that_fails_its_health_check_takes_no_traffic_and_changes_nothing(tmp_path):
    api, store = FakeAPI(), LoggedStore(str(tmp_path))
    deploy(evaluation=_evaluation(0.90), api=api, store=store, **COMMON)
    FakeEndpoint.created[0].fail_deploy = True
    with pytest.raises(RuntimeError, match="never became ready"):
        deploy(evaluation=_evaluation(0.95), api=api, store=store, **COMMON)
    assert _served(store) == ("1", "1", "1") and len(FakeEndpoint.created[0].models) == 1
    assert [e[0] for e in FakeAPI.events[-3:]] == ["lease", "deploy", "lease"]  # released after the failure


def test_a_baseline_that_cannot_be_recorded_puts_traffic_and_aliases_back(tmp_path):
    api, store = FakeAPI(), LoggedStore(str(tmp_path))
    deploy(evaluation=_evaluation(0.90), api=api, store=store, **COMMON)
    before = dict(FakeEndpoint.created[0].traffic_split)

    def refused(candidate):
        raise BaselineError("Could not record the baseline gs://b/baselines/lenet5/mnist.json: Forbidden: 403")

    store.propose = refused
    with pytest.raises(BaselineError, match="Forbidden"):
        deploy(evaluation=_evaluation(0.95), api=api, store=store, **COMMON)
    kinds = [e[0] for e in FakeAPI.events[-8:]]
    assert kinds == ["lease", "deploy", "traffic", "aliases", "traffic", "aliases", "undeploy", "lease"], kinds
    assert FakeEndpoint.created[0].traffic_split == before
    assert _served(LocalBaselineStore(str(tmp_path))) == ("1", "1", "1")


def test_rollback_serves_the_previous_version_with_its_baseline_and_walks_back(tmp_path):
    from zoo.pipeline.release import ReleaseError
    from zoo.pipeline.vertex_deploy import rollback

    api, store = FakeAPI(), LoggedStore(str(tmp_path))
    for value in (0.90, 0.93, 0.95):
        deploy(evaluation=_evaluation(value), api=api, store=store, **COMMON)
    assert _served(store) == ("3", "3", "3")
    back = rollback(model="lenet5", dataset="mnist", baseline_uri="unused", api=api, store=store)
    assert (back["version"], back["replaced"], back["value"]) == ("2", "3", 0.93)
    assert _served(store) == ("2", "2", "2") and FakeModel.registry.aliases["default"] == "2"
    restored = store.read("lenet5", "mnist")
    assert restored.value == 0.93 and restored.history == ["1"] and restored.scores == [1.0]
    rollback(model="lenet5", dataset="mnist", baseline_uri="unused", api=api, store=store)
    assert _served(store) == ("1", "1", "1")
    with pytest.raises(ReleaseError, match="no earlier one. Name one with --to"):
        rollback(model="lenet5", dataset="mnist", baseline_uri="unused", api=api, store=store)
    rollback(model="lenet5", dataset="mnist", baseline_uri="unused", to="3", api=api, store=store)
    assert _served(store) == ("3", "3", "3") and store.read("lenet5", "mnist").history == ["1"]
    with pytest.raises(ReleaseError, match="No evaluation of version 9"):
        rollback(model="lenet5", dataset="mnist", baseline_uri="unused", to="9", api=api, store=store)
    assert len(FakeEndpoint.created[0].models) == 1
    # A later run is gated against the restored baseline and deploys as usual.
    rollback(model="lenet5", dataset="mnist", baseline_uri="unused", to="1", api=api, store=store)
    assert deploy(evaluation=_evaluation(0.91), api=api, store=store, **COMMON)["deployed"]


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
