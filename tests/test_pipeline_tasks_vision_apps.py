"""One real kfp.local pipeline run per task kind of catalog D beyond segmentation (see test_pipeline_tasks.py):
object detection (yolo), image captioning and style transfer. Their learning is checked in-process in the fast
suite (test_yolo, test_captioning, test_style_transfer), so these runs train one epoch and check the plumbing:
the gate's metric and direction in the summary, the deploy, and the pictures the run shows (boxes over test
images, captions under them, the stylised image beside its inputs)."""

import os

import pytest

from test_pipeline_tasks import VISION_APP_REPRESENTATIVES, deploys_with_its_gate, rerun_keeps_the_deployed_model


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return str(tmp_path_factory.mktemp("vision-app-runs"))


@pytest.mark.parametrize("name", VISION_APP_REPRESENTATIVES)
def test_a_local_run_deploys_with_the_tasks_gate_metric_and_direction(name, root, capsys):
    out = deploys_with_its_gate(name, root, capsys)
    pictures = [line.split("picture: ", 1)[1] for line in out.splitlines() if line.startswith("picture: ")]
    assert pictures and all(os.path.exists(p) for p in pictures), out


@pytest.mark.slow
@pytest.mark.parametrize("name", VISION_APP_REPRESENTATIVES)
def test_an_identical_rerun_keeps_the_deployed_model(name, tmp_path):
    rerun_keeps_the_deployed_model(name, tmp_path)
