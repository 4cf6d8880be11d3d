"""Local deploys and rollbacks: the baseline, the registry's `serving` alias and what serves always agree."""

import json
import os
import shutil
import subprocess
import sys
import threading

import pytest

from zoo.cli import main
from zoo.pipeline import serving, steps
from zoo.pipeline.baseline import BaselineError, LocalBaselineStore
from zoo.pipeline.release import LocalRegistry, ReleaseError, deploy_local, rollback_local, rollback_target

# Its module-scoped fixtures are expensive: `make test` keeps the module on one worker (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("release")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """An mlp trained briefly on synthetic_xor: (model folder, its evaluation)."""
    root = tmp_path_factory.mktemp("release")
    data, model = str(root / "data"), str(root / "model")
    steps.preprocess("mlp", "synthetic_xor", data)
    steps.train("mlp", data, model, epochs=2)
    return model, steps.evaluate("mlp", data, model)


def _with(evaluation, value):
    return {**evaluation, "value": value}


def _agree(root, dataset="synthetic_xor") -> str:
    """The version that serves, after checking the baseline, the alias and `zoo serve`'s choice agree."""
    baseline = LocalBaselineStore(os.path.join(root, "baselines")).read("mlp", dataset)
    alias = LocalRegistry(os.path.join(root, "registry")).serving("mlp", dataset)
    folder, served = serving.deployed_location(root, "mlp")
    assert baseline.version == alias == served and baseline.location == folder, (baseline, alias, served)
    return served


def _deploy(trained, root, value, **kwargs):
    model, evaluation = trained
    return deploy_local(model, _with(evaluation, value), os.path.join(root, "registry"),
                        os.path.join(root, "baselines"), **kwargs)


def test_a_deploy_keeps_the_evaluation_beside_the_version_and_moves_alias_and_baseline(trained, tmp_path):
    root = str(tmp_path)
    first = _deploy(trained, root, 0.6)
    assert first["serving"] and first["version"] == "1" and first["replaced"] is None
    with open(os.path.join(first["path"], "evaluation.json")) as f:
        kept = json.load(f)
    assert kept["value"] == 0.6 and len(kept["scores"]) == kept["examples"]  # scores too: a rollback needs them
    second = _deploy(trained, root, 0.9)
    assert second["replaced"] == "1" and _agree(root) == "2"
    assert LocalBaselineStore(os.path.join(root, "baselines")).read("mlp", "synthetic_xor").history == ["1"]
    worse = _deploy(trained, root, 0.7)
    assert not worse["serving"] and "keeps serving" in worse["note"] and _agree(root) == "2"
    assert os.path.isdir(worse["path"])  # kept in the registry, unserved


def test_concurrent_deploys_end_with_the_best_model_everywhere(trained, tmp_path):
    root, results, errors = str(tmp_path), [], []
    values = (0.55, 0.9, 0.7, 0.8, 0.6)
    start = threading.Barrier(len(values))

    def run(value):
        try:
            start.wait()
            results.append(_deploy(trained, root, value))
        except Exception as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(v,)) for v in values]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    served = _agree(root)
    best = next(r for r in results if r["version"] == served)
    baseline = LocalBaselineStore(os.path.join(root, "baselines")).read("mlp", "synthetic_xor")
    assert baseline.value == 0.9 and best["serving"]
    assert sorted(r["version"] for r in results) == ["1", "2", "3", "4", "5"]
    # Every version in the history really served once, in order of improving value.
    recorded = [LocalBaselineStore(os.path.join(root, "baselines")).read_version("mlp", "synthetic_xor", v).value
                for v in baseline.history]
    assert recorded == sorted(recorded) and all(v < 0.9 for v in recorded)


def test_an_unhealthy_version_changes_nothing_that_serves(trained, tmp_path):
    root = str(tmp_path)
    _deploy(trained, root, 0.6)
    broken = str(tmp_path / "broken")
    shutil.copytree(trained[0], broken)
    shutil.rmtree(os.path.join(broken, "saved_model", "variables"))
    with pytest.raises(ReleaseError, match="Version 2 at .* failed its health check") as err:
        deploy_local(broken, _with(trained[1], 0.9), os.path.join(root, "registry"), os.path.join(root, "baselines"))
    assert "\n" not in str(err.value) and "nothing that serves was changed" in str(err.value)
    assert _agree(root) == "1"


def test_a_baseline_that_cannot_be_recorded_puts_the_alias_back(trained, tmp_path, monkeypatch):
    root = str(tmp_path)
    _deploy(trained, root, 0.6)

    def refused(self, candidate):
        raise BaselineError("Corrupt baseline: disk full")

    monkeypatch.setattr(LocalBaselineStore, "propose", refused)
    with pytest.raises(BaselineError, match="disk full"):
        _deploy(trained, root, 0.9)
    monkeypatch.undo()
    assert _agree(root) == "1"


def test_rollback_serves_the_earlier_version_with_its_baseline_from_the_cli(trained, tmp_path, capsys):
    root = str(tmp_path)
    for value in (0.6, 0.75, 0.9):
        _deploy(trained, root, value)
    assert main(["rollback", "mlp", "--local", "--root", root]) == 0
    out = capsys.readouterr().out
    assert "version 2 serves again (was 3); baseline accuracy 0.75" in out, out
    assert _agree(root) == "2"
    restored = LocalBaselineStore(os.path.join(root, "baselines")).read("mlp", "synthetic_xor")
    assert restored.value == 0.75 and restored.history == ["1"] and restored.scores
    predictor = serving.deployed_predictor(root, "mlp")
    assert predictor.version == "2" and len(predictor.predict({"instances": [[0, 1]]})["predictions"]) == 1
    # The gate now compares with the restored model: 0.8 beats it, though not the rolled-back 0.9.
    assert steps.gate(_with(trained[1], 0.8), os.path.join(root, "baselines")).deploy

    assert main(["rollback", "mlp", "--local", "--root", root]) == 0 and _agree(root) == "1"
    assert main(["rollback", "mlp", "--local", "--root", root]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("zoo: Version 1 is the first deployed version") and "\n" not in err
    assert main(["rollback", "mlp", "--local", "--root", root, "--to", "3"]) == 0 and _agree(root) == "3"
    assert main(["rollback", "mlp", "--local", "--root", root, "--to", "3"]) == 1
    assert "already serving" in capsys.readouterr().err
    assert main(["rollback", "mlp", "--local", "--root", root, "--to", "8"]) == 1
    assert "No deployable version 8" in capsys.readouterr().err
    assert _agree(root) == "3"


def test_rollback_with_nothing_deployed_or_bad_arguments_says_so_in_one_line(tmp_path, capsys):
    assert main(["rollback", "mlp", "--local", "--root", str(tmp_path)]) == 1
    assert capsys.readouterr().err.strip() == "zoo: Nothing is deployed, so there is nothing to roll back."
    assert main(["rollback", "mlp", "--project", "p"]) == 2
    assert "give --region and --baseline-uri" in capsys.readouterr().err
    assert main(["rollback", "mlp"]) == 2  # --local or --project is required
    assert main(["rollback", "no_such_model", "--local"]) == 2


def test_rollback_target_walks_back_and_cuts_the_history():
    from zoo.pipeline.baseline import Baseline

    def at(version, history):
        return Baseline(model="m", dataset="d", metric="accuracy", direction="max", value=0.5, version=version,
                        location="x", history=history)

    assert rollback_target(at("4", ["1", "2", "3"]), None) == ("3", ["1", "2"])
    assert rollback_target(at("4", ["1", "2", "3"]), "2") == ("2", ["1"])
    assert rollback_target(at("4", ["1", "2", "3"]), "5") == ("5", ["1", "2", "3", "4"])  # never served before
    with pytest.raises(ReleaseError, match="already serving"):
        rollback_target(at("4", []), "4")


def test_corrupt_aliases_fail_with_one_line(tmp_path):
    registry = LocalRegistry(str(tmp_path))
    os.makedirs(tmp_path / "mlp")
    (tmp_path / "mlp" / "aliases.json").write_text("{not json")
    with pytest.raises(ReleaseError, match="Unreadable registry aliases .*aliases.json"):
        registry.serving("mlp", "synthetic_xor")


@pytest.mark.slow
def test_two_concurrent_local_runs_agree_on_baseline_alias_and_served_version(tmp_path):
    root = str(tmp_path)
    runs = [subprocess.Popen([sys.executable, "-m", "zoo.cli", "run", "mlp", "--local", "--root", root,
                              "--epochs", str(epochs), "--seed", str(seed)], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for seed, epochs in ((0, 2), (1, 30))]
    outputs = [run.communicate(timeout=900)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    served = _agree(root)
    baseline = LocalBaselineStore(os.path.join(root, "baselines")).read("mlp", "synthetic_xor")
    evaluations = [json.load(open(os.path.join(root, "registry", "mlp", v, "evaluation.json")))["value"]
                   for v in os.listdir(os.path.join(root, "registry", "mlp")) if v.isdigit()]
    assert baseline.value == max(evaluations) and served == baseline.version
    assert main(["rollback", "mlp", "--local", "--root", root]) in (0, 1)
    _agree(root)
