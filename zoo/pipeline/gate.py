"""The latest-metric gate: deploy a candidate only if it beats the model now deployed.

Semantics (DESIGN.md):
- no baseline yet: deploy if the candidate's metric is finite and clears the absolute `floor` (or strictly
  beats a reference metric of the same evaluation, e.g. a naive forecast's error: `Gate.floor_metric`);
- a baseline: deploy only if the candidate improves on it by at least `min_delta` in the metric's direction
  (strictly, when `min_delta` is 0: a tie keeps what is deployed);
- optionally (`require_significance`) the improvement must also be statistically significant on the test
  set: a paired test against the deployed model's per-example scores on the same examples (McNemar's exact
  test for accuracy, a paired t-test for per-example errors), one-sided at level `alpha`;
- a corrupt or unreadable baseline raises `BaselineError`: nothing deploys by accident.
Like TFX's Evaluator it has absolute and change thresholds against the latest blessed model; unlike it, it
can ask for significance and always compares with what is actually deployed (the baseline is written only
after a deploy succeeds).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np

from zoo.pipeline.baseline import Baseline, better


@dataclasses.dataclass
class Decision:
    deploy: bool
    reason: str
    metric: str
    direction: str
    candidate: float
    baseline: float | None = None
    difference: float | None = None
    p_value: float | None = None
    test: str | None = None

    def markdown(self, model: str, dataset: str) -> str:
        arrow = "higher is better" if self.direction == "max" else "lower is better"
        fmt = lambda v: "—" if v is None else f"{v:.6g}"  # noqa: E731
        rows = [
            ("model", model), ("dataset", dataset), ("metric", f"{self.metric} ({arrow})"),
            ("deployed (baseline)", fmt(self.baseline)), ("candidate", fmt(self.candidate)),
            ("difference (candidate − baseline)", fmt(self.difference)),
        ]
        if self.test:
            rows.append((f"significance ({self.test})", f"p = {self.p_value:.4g}"))
        rows.append(("decision", "**DEPLOY**" if self.deploy else "**KEEP DEPLOYED MODEL**"))
        table = "\n".join(f"| {k} | {v} |" for k, v in rows)
        return f"# Latest-metric gate\n\n| | |\n|---|---|\n{table}\n\n{self.reason}\n"


def paired_p_value(candidate: Sequence[float], baseline: Sequence[float], direction: str,
                test: str) -> tuple[str, float]:
    """One-sided p-value that the candidate's per-example scores are better than the baseline's.

    `test` is what the task declared for these scores: "mcnemar" (0/1 hits) or "paired_t" (real values).
    """
    from scipy import stats

    if test not in ("mcnemar", "paired_t"):
        raise ValueError(f"Unknown paired test {test!r}. Allowed: 'mcnemar', 'paired_t'.")
    cand, base = np.asarray(candidate, dtype="float64"), np.asarray(baseline, dtype="float64")
    if len(cand) != len(base):
        raise ValueError(f"Paired scores differ in length ({len(cand)} vs {len(base)}); they are not paired.")
    if test == "mcnemar":
        wins = int(np.sum((cand > base)))
        losses = int(np.sum((cand < base)))
        if direction == "min":
            wins, losses = losses, wins
        if wins + losses == 0:
            return "McNemar exact", 1.0
        return "McNemar exact", float(stats.binomtest(wins, wins + losses, 0.5, alternative="greater").pvalue)
    diff = (cand - base) if direction == "max" else (base - cand)
    if np.allclose(diff, 0):
        return "paired t-test", 1.0
    return "paired t-test", float(stats.ttest_1samp(diff, 0.0, alternative="greater").pvalue)


def decide(
    *, metric: str, direction: str, candidate: float, baseline: Baseline | None, floor: float | None = None,
    min_delta: float = 0.0, require_significance: bool = False, alpha: float = 0.05,
    candidate_scores: Sequence[float] | None = None, test_fingerprint: str | None = None,
    paired_test: str | None = None, floor_name: str | None = None,
) -> Decision:
    """Decide whether the candidate deploys. See the module docstring for the rules."""
    if min_delta < 0:
        raise ValueError(f"min_delta must be >= 0. Received: min_delta={min_delta}")
    d = Decision(deploy=False, reason="", metric=metric, direction=direction, candidate=float(candidate))
    if not math.isfinite(d.candidate):
        d.reason = f"The candidate's {metric} is {candidate}: not a number a model can be deployed on."
        return d
    if baseline is None:
        if floor is None:
            d.deploy, d.reason = True, "No model is deployed yet and no floor is set: the first model deploys."
            return d
        if floor_name:  # a reference measured on the same test set (e.g. a naive forecast): beat it strictly
            clears = better(d.candidate, floor, direction)
            word = f"{'above' if direction == 'max' else 'below'} {floor_name} ="
        else:
            clears = d.candidate >= floor if direction == "max" else d.candidate <= floor
            word = "at least" if direction == "max" else "at most"
        d.deploy = clears
        d.reason = (f"No model is deployed yet; the candidate's {metric} {d.candidate:.6g} "
                    f"{'clears' if clears else 'does not clear'} the floor ({word} {floor:.6g}).")
        return d
    if baseline.metric != metric or baseline.direction != direction:
        d.reason = (f"The deployed model was gated on {baseline.metric} ({baseline.direction}), this run on "
                    f"{metric} ({direction}): they cannot be compared, so nothing deploys.")
        return d
    d.baseline = baseline.value
    d.difference = d.candidate - baseline.value
    improvement = d.difference if direction == "max" else -d.difference
    beats = improvement > 0 and improvement >= min_delta
    need = f"by at least {min_delta:g}" if min_delta > 0 else "strictly"
    if not beats:
        d.reason = (f"The candidate's {metric} {d.candidate:.6g} does not beat the deployed model's "
                    f"{baseline.value:.6g} {need} (improvement {improvement:+.6g}).")
        return d
    d.reason = (f"The candidate's {metric} {d.candidate:.6g} beats the deployed model's {baseline.value:.6g} "
                f"{need} (improvement {improvement:+.6g}).")
    if require_significance:
        if candidate_scores is None or baseline.scores is None or paired_test is None:
            d.reason += (f" Significance was required but {metric} has no per-example scores to pair (it is not "
                         "a mean over examples, or they are missing), so nothing deploys.")
            return d
        if test_fingerprint is None or baseline.test_fingerprint != test_fingerprint:
            d.reason += (" Significance was required but the deployed model was scored on a different test set,"
                         " so no paired test is possible and nothing deploys.")
            return d
        d.test, d.p_value = paired_p_value(candidate_scores, baseline.scores, direction, paired_test)
        if d.p_value >= alpha:
            d.reason += f" The improvement is not significant ({d.test}, p = {d.p_value:.4g} ≥ α = {alpha:g})."
            return d
        d.reason += f" It is significant ({d.test}, p = {d.p_value:.4g} < α = {alpha:g})."
    d.deploy = True
    return d
