"""One real kfp.local pipeline run per sequence, series and text task kind (see test_pipeline_tasks.py)."""

import pytest

from test_pipeline_tasks import SEQUENCE_REPRESENTATIVES, deploys_with_its_gate, rerun_keeps_the_deployed_model


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return str(tmp_path_factory.mktemp("sequence-task-runs"))


@pytest.mark.parametrize("name", SEQUENCE_REPRESENTATIVES)
def test_a_local_run_deploys_with_the_tasks_gate_metric_and_direction(name, root, capsys):
    deploys_with_its_gate(name, root, capsys)


# BERT's masks come from KerasHub's MaskedLMMaskGenerator, which draws unseeded (README, "Not done yet"): two
# identical runs train and score on different masks, so their metrics differ (0.628 against 0.644 measured).
RANDOM_MASKS = pytest.mark.xfail(reason="bert's masked-token masks are drawn unseeded", strict=False)


@pytest.mark.slow
@pytest.mark.parametrize("name", [pytest.param(n, marks=RANDOM_MASKS) if n == "bert" else n
                                  for n in SEQUENCE_REPRESENTATIVES])
def test_an_identical_rerun_keeps_the_deployed_model(name, tmp_path):
    rerun_keeps_the_deployed_model(name, tmp_path)
