"""Every registered model end to end on its offline data.

Fast suite: the pipeline's own step functions in order (preprocess -> train one epoch -> evaluate -> gate
-> deploy -> serve the export), which is what each kfp component calls, for one model of each task,
serving hook and adapter (every model in the slow suite). Slow suite: the real kfp.local
pipeline (`zoo run NAME --local`) for every model.
"""

import json
import os

import numpy as np
import pytest

import zoo
from zoo.pipeline import arrays, serving, steps


def _combination(name):
    spec = zoo.get_spec(name)
    return spec.task, spec.adapter, spec.serving


def _representatives() -> set[str]:
    """One model per (task, adapter, serving) combination: the fast suite's share of the zoo.

    Models that share all three go through the same data preparation, training, evaluation and serving
    code; the others of each combination run in the slow suite. So do combinations whose model the fast
    suite already runs through kfp.local (test_pipeline_tasks*, test_pipeline_local's lenet5): `zoo run`
    calls these same step functions, and its deploy step serves the export through the Predictor."""
    from test_pipeline_tasks import GENERATIVE_REPRESENTATIVES, SEQUENCE_REPRESENTATIVES, VISION_APP_REPRESENTATIVES
    from test_pipeline_tasks import REPRESENTATIVES as TASK_RUNS

    covered = {_combination(name) for name in (*TASK_RUNS, *SEQUENCE_REPRESENTATIVES, *GENERATIVE_REPRESENTATIVES,
                                                *VISION_APP_REPRESENTATIVES, "lenet5")}
    chosen = {}
    for name in zoo.list_models():
        if not zoo.get_spec(name).heavy and _combination(name) not in covered:
            chosen.setdefault(_combination(name), name)
    return set(chosen.values())


REPRESENTATIVES = _representatives()


def _param(name):
    return pytest.param(name) if name in REPRESENTATIVES else pytest.param(name, marks=pytest.mark.slow)


def _first_instances(data_dir, n=2):
    x, _ = arrays.load_split(os.path.join(data_dir, "test.npz"))
    if isinstance(x, dict):
        return [{k: v[i].tolist() for k, v in x.items()} for i in range(n)]
    return [x[i].tolist() for i in range(n)]


def _prepared_shapes(data_dir, predictor):
    x, _ = arrays.load_split(os.path.join(data_dir, "test.npz"))
    if isinstance(x, dict):
        return {k: tuple(v.shape[1:]) for k, v in x.items()}
    if len(predictor.inputs) != 1 or x.dtype.kind in "US":
        return None
    return {next(iter(predictor.inputs)): tuple(x.shape[1:])}


@pytest.mark.parametrize("name", [_param(n) for n in zoo.list_models()])
def test_steps_end_to_end(name, tmp_path):
    spec = zoo.get_spec(name)
    data, model = str(tmp_path / "data"), str(tmp_path / "model")
    dataset = spec.offline_datasets[0]
    steps.preprocess(name, dataset, data, hparams=dict(spec.small))
    steps.train(name, data, model, hparams=dict(spec.small), epochs=1)
    evaluation = steps.evaluate(name, data, model)
    assert evaluation["metric"] == spec.gate.metric and np.isfinite(evaluation["value"])
    # One epoch need not clear the model's floor; this checks the plumbing, the learning checks the learning.
    anything = float("-inf") if spec.gate.direction == "max" else float("inf")
    decision = steps.gate(evaluation, str(tmp_path / "baselines"), floor=anything)
    assert decision.deploy, decision.reason
    deployed = steps.deploy_local(model, evaluation, str(tmp_path / "registry"), str(tmp_path / "baselines"))
    assert deployed["baseline_recorded"]
    predictor = serving.deployed_predictor(str(tmp_path), name, dataset)
    prepared = {k: tuple(v.shape[1:].as_list()) for k, v in predictor.inputs.items()}
    if prepared == _prepared_shapes(data, predictor):
        instances = _first_instances(data)
    else:  # the served model takes other inputs than the prepared arrays (raw text, a latent vector, ...)
        instances = predictor.sample_instances(2)
    reply = predictor.predict({"instances": instances})
    assert len(reply["predictions"]) == 2
    # Vertex batch prediction decides offline whether the endpoint takes lists of image files: the export agrees.
    from pipelines.batch_predict import takes_images

    assert takes_images(spec) == (serving.image_input(predictor.inputs) is not None), predictor.inputs


@pytest.mark.slow
@pytest.mark.parametrize("name", zoo.list_models())
def test_zoo_run_local_deploys_on_a_fresh_root_and_names_the_gate_metric(name, tmp_path, capsys):
    from zoo.cli import main

    assert main(["run", name, "--local", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    spec = zoo.get_spec(name)
    assert f"test {spec.gate.metric} (" in out and "gate: DEPLOY" in out, out
    with open(os.path.join(tmp_path, "baselines", name, spec.offline_datasets[0].replace("/", "__") + ".json")) as f:
        assert json.load(f)["metric"] == spec.gate.metric
