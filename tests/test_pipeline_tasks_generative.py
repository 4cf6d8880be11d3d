"""One real kfp.local pipeline run per task kind of catalog G beyond the VAE and the GANs (see
test_pipeline_tasks.py): autoencoding, semi-supervised classification, image translation, density estimation
and denoising diffusion. Their learning is checked in-process in the fast suite (test_autoencoders, test_gans,
test_pix2pix, test_nade, test_diffusion), so these runs train one epoch and check the plumbing: the gate's
metric and direction in the summary, the deploy, and the sample progression on the run's pictures."""

import os

import pytest

from test_pipeline_tasks import GENERATIVE_REPRESENTATIVES, deploys_with_its_gate, rerun_keeps_the_deployed_model


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return str(tmp_path_factory.mktemp("generative-task-runs"))


@pytest.mark.parametrize("name", GENERATIVE_REPRESENTATIVES)
def test_a_local_run_deploys_with_the_tasks_gate_metric_and_direction(name, root, capsys):
    out = deploys_with_its_gate(name, root, capsys)
    pictures = [line.split("picture: ", 1)[1] for line in out.splitlines() if line.startswith("picture: ")]
    assert pictures and all(os.path.exists(p) for p in pictures), out
    assert any(p.endswith("_progression.gif") for p in pictures), out  # what it makes, epoch by epoch


@pytest.mark.slow
@pytest.mark.parametrize("name", GENERATIVE_REPRESENTATIVES)
def test_an_identical_rerun_keeps_the_deployed_model(name, tmp_path):
    rerun_keeps_the_deployed_model(name, tmp_path)
