"""One real kfp.local pipeline run per sequence, series and text task kind (see test_pipeline_tasks.py)."""

import pytest

from test_pipeline_tasks import SEQUENCE_REPRESENTATIVES, deploys_with_its_gate, rerun_keeps_the_deployed_model


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return str(tmp_path_factory.mktemp("sequence-task-runs"))


@pytest.mark.parametrize("name", SEQUENCE_REPRESENTATIVES)
def test_a_local_run_deploys_with_the_tasks_gate_metric_and_direction(name, root, capsys):
    deploys_with_its_gate(name, root, capsys)


@pytest.mark.slow
@pytest.mark.parametrize("name", SEQUENCE_REPRESENTATIVES)
def test_an_identical_rerun_keeps_the_deployed_model(name, tmp_path):
    rerun_keeps_the_deployed_model(name, tmp_path)
