"""The latest-metric gate's semantics and the baseline store's compare-and-swap."""

import json
import multiprocessing
import os

import numpy as np
import pytest

from zoo.pipeline.baseline import Baseline, BaselineError, LocalBaselineStore, open_store
from zoo.pipeline.gate import decide, paired_p_value


def baseline(value, direction="max", metric="accuracy", scores=None, fingerprint="f1", version="1"):
    return Baseline(model="m", dataset="d", metric=metric, direction=direction, value=value, version=version,
                    location=f"/registry/m/{version}", scores=scores, test_fingerprint=fingerprint)


def test_first_run_deploys_when_the_floor_is_cleared_and_not_otherwise():
    assert decide(metric="accuracy", direction="max", candidate=0.9, baseline=None, floor=0.8).deploy
    refused = decide(metric="accuracy", direction="max", candidate=0.7, baseline=None, floor=0.8)
    assert not refused.deploy and "does not clear the floor" in refused.reason
    assert decide(metric="mse", direction="min", candidate=3.0, baseline=None, floor=4.0).deploy
    assert not decide(metric="mse", direction="min", candidate=5.0, baseline=None, floor=4.0).deploy
    assert decide(metric="mse", direction="min", candidate=5.0, baseline=None, floor=None).deploy


def test_a_candidate_must_beat_the_baseline_by_min_delta_in_the_metrics_direction():
    assert decide(metric="accuracy", direction="max", candidate=0.93, baseline=baseline(0.90), min_delta=0.02).deploy
    assert not decide(metric="accuracy", direction="max", candidate=0.91, baseline=baseline(0.90),
                      min_delta=0.02).deploy
    tie = decide(metric="accuracy", direction="max", candidate=0.90, baseline=baseline(0.90))
    assert not tie.deploy and "does not beat" in tie.reason
    lower_error = decide(metric="rmse", direction="min", candidate=0.8, baseline=baseline(1.0, "min", "rmse"))
    assert lower_error.deploy and lower_error.difference == pytest.approx(-0.2)
    assert not decide(metric="rmse", direction="min", candidate=1.2, baseline=baseline(1.0, "min", "rmse")).deploy


def test_a_nan_candidate_or_a_different_metric_never_deploys():
    assert not decide(metric="accuracy", direction="max", candidate=float("nan"), baseline=None).deploy
    other = decide(metric="accuracy", direction="max", candidate=0.99, baseline=baseline(0.5, "min", "mse"))
    assert not other.deploy and "cannot be compared" in other.reason
    with pytest.raises(ValueError, match="min_delta"):
        decide(metric="accuracy", direction="max", candidate=0.9, baseline=None, min_delta=-1)


def test_significance_uses_a_paired_test_on_the_same_test_set():
    rng = np.random.default_rng(0)
    base = (rng.random(400) < 0.80).astype(float)
    slightly = base.copy()
    slightly[np.flatnonzero(base == 0)[:3]] = 1  # three more hits: better, not significantly
    clearly = base.copy()
    clearly[np.flatnonzero(base == 0)[:40]] = 1
    common = dict(metric="accuracy", direction="max", require_significance=True, paired_test="mcnemar",
                  test_fingerprint="f1")
    weak = decide(candidate=slightly.mean(), baseline=baseline(base.mean(), scores=base.tolist()),
                  candidate_scores=slightly.tolist(), **common)
    assert not weak.deploy and "not significant" in weak.reason and weak.test == "McNemar exact"
    strong = decide(candidate=clearly.mean(), baseline=baseline(base.mean(), scores=base.tolist()),
                    candidate_scores=clearly.tolist(), **common)
    assert strong.deploy and strong.p_value < 0.05
    other_set = decide(candidate=clearly.mean(), baseline=baseline(base.mean(), scores=base.tolist(),
                       fingerprint="other"), candidate_scores=clearly.tolist(), **common)
    assert not other_set.deploy and "different test set" in other_set.reason


def test_paired_t_test_for_errors_points_the_right_way():
    rng = np.random.default_rng(1)
    base = rng.random(200) + 1.0
    noise = rng.normal(0, 0.1, size=200)
    _, p_better = paired_p_value(base - 0.3 + noise, base, "min", "paired_t")
    _, p_worse = paired_p_value(base + 0.3 + noise, base, "min", "paired_t")
    assert p_better < 1e-6 and p_worse > 0.99


def test_report_shows_metric_baseline_candidate_and_decision():
    d = decide(metric="mae", direction="min", candidate=2.5, baseline=baseline(3.0, "min", "mae"))
    text = d.markdown("dnn_regression", "diabetes")
    assert "mae (lower is better)" in text and "| deployed (baseline) | 3 |" in text and "**DEPLOY**" in text


def test_store_round_trip_and_compare_and_swap_never_overwrites_a_better_baseline(tmp_path):
    store = LocalBaselineStore(str(tmp_path))
    assert store.read("m", "d") is None
    assert store.propose(baseline(0.8)) == (True, None)
    written, current = store.propose(baseline(0.7, version="2"))
    assert not written and current.value == 0.8
    assert store.propose(baseline(0.9, version="3"))[0]
    assert store.read("m", "d").version == "3"


def test_a_corrupt_or_incomplete_baseline_raises_a_clear_error(tmp_path):
    store = LocalBaselineStore(str(tmp_path))
    path = tmp_path / "m" / "d.json"
    path.parent.mkdir()
    for text in ("{not json", json.dumps({"model": "m"}), json.dumps({**json.loads(baseline(0.5).to_json()),
                                                                      "value": "NaN"})):
        path.write_text(text)
        with pytest.raises(BaselineError, match="Corrupt baseline .*nothing was deployed"):
            store.read("m", "d")
        with pytest.raises(BaselineError):
            store.propose(baseline(0.99))
        assert path.read_text() == text  # nothing lost


def _propose_many(root, values):
    store = LocalBaselineStore(root)
    for i, v in enumerate(values):
        store.propose(baseline(v, version=f"{os.getpid()}-{i}"))


def test_concurrent_proposals_leave_the_best_value(tmp_path):
    rng = np.random.default_rng(3)
    chunks = [rng.random(25).tolist() for _ in range(4)]
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_propose_many, args=(str(tmp_path), c)) for c in chunks]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert LocalBaselineStore(str(tmp_path)).read("m", "d").value == pytest.approx(max(max(c) for c in chunks))


def test_open_store_picks_the_backend():
    assert isinstance(open_store("/tmp/x"), LocalBaselineStore)
    assert type(open_store("gs://bucket/prefix")).__name__ == "GcsBaselineStore"


# ------------------------------------------------------------------ floors measured on the test set, per-dataset gates
def test_a_floor_metric_must_be_beaten_strictly_and_names_itself_in_the_reason():
    beaten = decide(metric="mae", direction="min", candidate=0.4, baseline=None, floor=0.5, floor_name="naive_mae")
    assert beaten.deploy and "below naive_mae = 0.5" in beaten.reason
    tied = decide(metric="mae", direction="min", candidate=0.5, baseline=None, floor=0.5, floor_name="naive_mae")
    assert not tied.deploy  # a forecaster no better than "tomorrow = today" is not deployed
    fixed = decide(metric="mae", direction="min", candidate=0.5, baseline=None, floor=0.5)
    assert fixed.deploy  # a fixed floor is "at most"


def test_gate_for_dataset_swaps_metric_direction_and_floor_and_rejects_bad_entries():
    from zoo.spec import Gate

    gate = Gate(metric="token_accuracy", floor=0.9, by_dataset={"ted_hrlr_translate": ("bleu", "max", None)})
    assert gate.for_dataset("synthetic_reverse") is gate
    online = gate.for_dataset("ted_hrlr_translate")
    assert (online.metric, online.direction, online.floor) == ("bleu", "max", None)
    with pytest.raises(ValueError, match="must be \\(metric, direction, floor\\)"):
        Gate(metric="a", by_dataset={"d": ("bleu", "up", None)})
    with pytest.raises(ValueError, match="fixed floor or a floor_metric, not both"):
        Gate(metric="mae", direction="min", floor=1.0, floor_metric="naive_mae")
