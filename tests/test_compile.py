"""Compiling pipelines: JSON that Vertex AI's PipelineJob accepts, without TensorFlow and without warnings."""

import json
import subprocess
import sys
import warnings

import pytest

import zoo
from pipelines.compiler import compile_pipeline


def _pipeline_job(path):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    return aiplatform.PipelineJob(display_name="t", template_path=path, project="p", location="us-central1",
                                  pipeline_root="gs://bucket/root", credentials=AnonymousCredentials())


def test_every_model_compiles_to_json_that_a_vertex_pipeline_job_loads(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        paths = [compile_pipeline(name, str(tmp_path)) for name in zoo.list_models()]
    for name, path in zip(zoo.list_models(), paths):
        assert path == str(tmp_path / f"{name}.json")
        with open(path) as f:
            spec = json.load(f)
        tasks = spec["root"]["dag"]["tasks"]
        assert {"preprocess", "train", "evaluate", "gate", "condition-1"} <= set(tasks)
        condition = tasks["condition-1"]["triggerPolicy"]["condition"]
        assert "inputs.parameter_values['pipelinechannel--gate-Output'] == true" in condition
        assert "deploy-local" in spec["components"]["comp-condition-1"]["dag"]["tasks"]
        job = _pipeline_job(path)
        assert job.to_dict()["pipelineSpec"]["pipelineInfo"]["name"] == f"zoo-{name.replace('_', '-')}"
        assert job.to_dict()["runtimeConfig"]["gcsOutputDirectory"] == "gs://bucket/root"


def test_every_model_compiles_for_vertex_with_custom_job_training_and_endpoint_deploy(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        paths = [compile_pipeline(name, str(tmp_path), target="vertex") for name in zoo.list_models()]
    for name, path in zip(zoo.list_models(), paths):
        with open(path) as f:
            text = f.read()
        assert "CustomJob" in text or "custom_job" in text or "customJob" in text, name
        job = _pipeline_job(path)
        assert job.to_dict()["pipelineSpec"]["pipelineInfo"]["name"] == f"zoo-{name.replace('_', '-')}"


def test_compiled_defaults_come_from_the_spec(tmp_path):
    spec = zoo.get_spec("lenet5")
    with open(compile_pipeline("lenet5", str(tmp_path))) as f:
        params = json.load(f)["root"]["inputDefinitions"]["parameters"]
    assert params["dataset"]["defaultValue"] == "digits"
    assert params["epochs"]["defaultValue"] == spec.recipe.epochs
    assert params["floor"]["defaultValue"] == ""  # the spec's floor for the run's dataset, read by the gate step


def test_yaml_format_and_unknown_format(tmp_path):
    import yaml

    with open(compile_pipeline("perceptron", str(tmp_path), fmt="yaml")) as f:
        assert yaml.safe_load(f)["pipelineInfo"]["name"] == "zoo-perceptron"
    with pytest.raises(ValueError, match="Unknown format 'xml'"):
        compile_pipeline("perceptron", str(tmp_path), fmt="xml")


def test_list_show_and_compile_never_import_tensorflow(tmp_path):
    code = (
        "import sys\n"
        "from zoo.cli import main\n"
        "main(['list']); main(['list', '--json']); main(['show', 'lenet5'])\n"
        f"main(['compile', '--all', '--out', {str(tmp_path)!r}])\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout


def test_compiling_every_model_for_vertex_never_imports_the_cloud_sdk(tmp_path):
    """The prebuilt serving image comes from a table (resolved at deploy time), not from aiplatform's helpers:
    importing the SDK took most of `zoo compile --target vertex`'s time."""
    code = (
        "import sys\n"
        "from zoo.cli import main\n"
        f"assert main(['compile', '--all', '--target', 'vertex', '--out', {str(tmp_path)!r}]) == 0\n"
        f"assert main(['compile', 'lenet5', '--target', 'vertex', '--serving-image', 'prebuilt', '--out', "
        f"{str(tmp_path / 'prebuilt')!r}]) == 0\n"
        "print('SDK', sorted(m for m in sys.modules if m.startswith(('google.cloud.aiplatform', 'vertexai'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "SDK []" in out.stdout
    assert len(list(tmp_path.glob("*.json"))) == len(zoo.list_models())
