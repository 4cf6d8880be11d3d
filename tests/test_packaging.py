"""The Keras library installs and works without the pipeline runtime's dependencies (the `pipelines` extra)."""

import os
import subprocess
import sys
import tomllib

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIPELINE_ONLY = ("kfp", "google-cloud-aiplatform", "google-cloud-pipeline-components", "google-cloud-storage")

# Runs in a child process with kfp and the Google Cloud SDKs made unimportable, as in a library-only install.
WITHOUT_EXTRA = """
import importlib.abc, sys

class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("kfp", "google_cloud_pipeline_components") or name.startswith("google.cloud"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Missing())
import zoo
model = zoo.build("lenet5", style="subclass")
print("BUILT", model.count_params())
from zoo.tasks import get_task
print("TASK", type(get_task(zoo.get_spec("lenet5").task)).__name__)
from zoo.cli import main
print("RUN", main(["run", "lenet5", "--local", "--root", sys.argv[1]]))
"""


def test_core_dependencies_leave_kfp_and_the_cloud_sdks_to_the_pipelines_extra():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    core = " ".join(project["dependencies"])
    extra = " ".join(project["optional-dependencies"]["pipelines"])
    for name in PIPELINE_ONLY:
        assert name not in core and name in extra, name
    with open(os.path.join(ROOT, "requirements", "library.lock")) as f:
        pinned = f.read()
    assert "tensorflow==" in pinned and "keras==" in pinned
    assert not any(f"\n{name}==" in pinned for name in PIPELINE_ONLY)


def test_zoo_imports_and_builds_without_the_extra_and_the_cli_says_what_to_install(tmp_path):
    result = subprocess.run([sys.executable, "-c", WITHOUT_EXTRA, str(tmp_path)], capture_output=True, text=True,
                            timeout=300)
    assert "BUILT 61706" in result.stdout, result.stderr[-2000:]
    assert "TASK ClassificationTask" in result.stdout
    assert "RUN 2" in result.stdout
    assert "needs the pipelines extra" in result.stderr and "keras-vertex-zoo[pipelines]" in result.stderr


@pytest.mark.slow
def test_a_fresh_venv_with_the_library_alone_builds_a_model(tmp_path):
    """pip-install the library (no extras) from its own lock into an empty venv, as a Keras user would."""
    venv = str(tmp_path / "venv")
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    python = os.path.join(venv, "bin", "python")
    uv = os.path.join(os.path.dirname(sys.executable), "uv")
    lock = os.path.join(ROOT, "requirements", "library.lock")
    subprocess.run([uv, "pip", "install", "-q", "--python", python, "-r", lock], check=True, timeout=900)
    subprocess.run([uv, "pip", "install", "-q", "--python", python, "--no-deps", ROOT], check=True, timeout=300)
    code = ("import importlib.util, zoo; m = zoo.build('mlp'); print('PARAMS', m.count_params()); "
            "print('KFP', importlib.util.find_spec('kfp') is not None)")
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True, timeout=300,
                         env={**os.environ, "KERAS_BACKEND": "tensorflow"}, cwd=str(tmp_path)).stdout
    assert "PARAMS" in out and "KFP False" in out, out
