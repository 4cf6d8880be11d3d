"""Generated datasets for catalog sections A, B and I: seeded, deterministic, no download.

Each loader draws from `numpy.random.default_rng(seed)` only, so the same seed gives the same examples and
the same splits on every machine. The hidden truth a dataset plants (a line, a seasonal series, a labelling
rule, low-rank factors) is recorded in `Splits.info`, so tests can check what a model recovered.
"""

from __future__ import annotations

import numpy as np

from zoo.data import Split, Splits, dataset, split_arrays

# ------------------------------------------------------------------------------------------------ helpers


def _check_choice(option: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"Unknown {option} {value!r}. Allowed: {', '.join(map(repr, allowed))}.")


def _check_positive_int(option: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{option}` must be an integer of at least {minimum}. Received: {option}={value!r}")
    return int(value)


def _check_fraction(option: str, value, *, low: float = 0.0, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"`{option}` must be a number in [{low}, {high}]. Received: {option}={value!r}")
    return float(value)


def _check_non_negative(option: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"`{option}` must be a non-negative number. Received: {option}={value!r}")
    return float(value)


# ------------------------------------------------------------------------------------------ linear line

# The seed notes' example (000 "지도학습"): X = [1..5], y = [12, 23, 34, 45, 56], on the line y = 11x + 1.
NOTES_X = (1.0, 2.0, 3.0, 4.0, 5.0)
NOTES_Y = (12.0, 23.0, 34.0, 45.0, 56.0)
SLOPE, INTERCEPT = 11.0, 1.0
LINEAR_VARIANTS = ("noisy", "notes")


@dataset("synthetic_linear", offline=True,
         summary="Points of the line y = 11x + 1: a noisy sample (default) or the seed notes' 5 exact points "
                 "(variant='notes').")
def synthetic_linear(*, seed: int = 0, data_dir=None, variant: str = "noisy", n: int = 1000,
                     noise: float = 2.0) -> Splits:
    """The seed notes' linear-regression data.

    Args:
        variant: "noisy" (n points, x uniform in [0, 5], Gaussian noise of std `noise` on y) or "notes" (the
            notes' five exact points, split 3/1/1; any two of them determine the line).
        n: number of points of the noisy variant.
        noise: standard deviation of the noise on y.

    Returns:
        `Splits` of kind "tabular": x of shape (N, 1), y of shape (N,), both float32 and not standardised,
        so a fitted Dense(1) reads off the slope and intercept directly (`info["slope"]`, `info["intercept"]`).
    """
    _check_choice("synthetic_linear variant", variant, LINEAR_VARIANTS)
    info = {"slope": SLOPE, "intercept": INTERCEPT, "variant": variant}
    if variant == "notes":
        x = np.asarray(NOTES_X, dtype="float32")[:, None]
        y = np.asarray(NOTES_Y, dtype="float32")
        # With val and test at 20% each of five points, the split is 3/1/1.
        train, val, test = split_arrays(x, y, seed=seed, val=0.2, test=0.2, stratify=False)
        return Splits("synthetic_linear", "tabular", train, val, test, info=info)
    n = _check_positive_int("n", n, minimum=20)
    noise = _check_non_negative("noise", noise)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 5.0, size=(n, 1)).astype("float32")
    y = (SLOPE * x[:, 0] + INTERCEPT + rng.normal(0.0, noise, size=n)).astype("float32")
    train, val, test = split_arrays(x, y, seed=seed, stratify=False)
    return Splits("synthetic_linear", "tabular", train, val, test, info={**info, "noise": noise})


# ----------------------------------------------------------------------------------------------- series


@dataset("synthetic_series", offline=True,
         summary="A seasonal series with trend and noise, as windows of past values -> the next value "
                 "(chronological splits).")
def synthetic_series(*, seed: int = 0, data_dir=None, length: int = 1200, window: int = 48, period: int = 12,
                     noise: float = 0.5) -> Splits:
    """A univariate series y_t = 10 + 0.01 t + 2 sin(2 pi t / period) + noise, cut into forecasting windows.

    Each example is the `window` values before time t (x, oldest first) and the value at t (y). The splits are
    chronological, not shuffled: the first 70% of targets train, the next 15% validate, the last 15% test, so a
    forecaster is always scored on the future of what it was trained on. A window may reach back into the
    previous split; those values are observed history at forecast time, not leaked targets.

    Args:
        length: number of time steps generated.
        window: number of past values per example (models that use fewer, like AR(p), take the last p).
        period: length of the seasonal cycle.
        noise: standard deviation of the Gaussian noise.

    Returns:
        `Splits` of kind "sequence": x float32 (N, window), y float32 (N,).
    """
    window = _check_positive_int("window", window)
    period = _check_positive_int("period", period, minimum=2)
    length = _check_positive_int("length", length, minimum=window + 20)
    noise = _check_non_negative("noise", noise)
    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype="float64")
    series = 10.0 + 0.01 * t + 2.0 * np.sin(2 * np.pi * t / period) + rng.normal(0.0, noise, size=length)
    series = series.astype("float32")
    # Row i holds series[i : i + window] and predicts series[i + window].
    x = np.lib.stride_tricks.sliding_window_view(series[:-1], window).copy()
    y = series[window:].copy()
    n = len(y)
    cut_train, cut_val = int(round(0.70 * n)), int(round(0.85 * n))
    parts = [slice(0, cut_train), slice(cut_train, cut_val), slice(cut_val, n)]
    train, val, test = (Split(x[p], y[p]) for p in parts)
    info = {"window": window, "period": period, "noise": noise, "split": "chronological",
            "target_start": {"train": window, "val": window + cut_train, "test": window + cut_val}}
    return Splits("synthetic_series", "sequence", train, val, test, info=info)


# ------------------------------------------------------------------------------------------- two sources

TWO_SOURCE_DIMS = {"source_a": 4, "source_b": 6}
_TRUTH_SEED = 20240611  # the labelling rule stays fixed across sample seeds


@dataset("synthetic_two_source", offline=True,
         summary="Two feature groups (source_a: 4, source_b: 6); the binary label needs both.")
def synthetic_two_source(*, seed: int = 0, data_dir=None, n: int = 2000, noise: float = 0.3) -> Splits:
    """Binary labels that depend on two separate feature groups, for `multi_input`.

    y = 1 when s_a + s_b + noise > 0, where s_a and s_b are fixed unit-variance linear scores of `source_a`
    and `source_b`. Either group alone predicts about 75% of labels; both together about 93%.

    Args:
        n: number of examples.
        noise: standard deviation of the noise added to the score (the label noise).

    Returns:
        `Splits` of kind "tabular", x a dict {"source_a": (N, 4), "source_b": (N, 6)} of float32, y int32 (N,),
        2 classes, stratified.
    """
    n = _check_positive_int("n", n, minimum=40)
    noise = _check_non_negative("noise", noise)
    truth = np.random.default_rng(_TRUTH_SEED)
    weights = {k: truth.normal(size=d) for k, d in TWO_SOURCE_DIMS.items()}
    rng = np.random.default_rng(seed)
    x = {k: rng.normal(size=(n, d)).astype("float32") for k, d in TWO_SOURCE_DIMS.items()}
    scores = {k: x[k] @ w / np.linalg.norm(w) for k, w in weights.items()}
    y = (scores["source_a"] + scores["source_b"] + rng.normal(0.0, noise, size=n) > 0).astype("int32")
    train, val, test = split_arrays(x, y, seed=seed)
    info = {"inputs": dict(TWO_SOURCE_DIMS), "weights": {k: w.tolist() for k, w in weights.items()}}
    return Splits("synthetic_two_source", "tabular", train, val, test, classes=2, info=info)


# ---------------------------------------------------------------------------------------------- sentiment

_NOUNS = ("movie", "film", "plot", "acting", "story", "ending", "soundtrack", "cast", "script", "dialogue",
          "pacing", "camera work", "lead actor", "sequel", "director")
_POSITIVE = ("good", "great", "excellent", "wonderful", "brilliant", "enjoyable", "superb", "charming",
             "moving", "clever")
_NEGATIVE = ("bad", "terrible", "awful", "boring", "dull", "weak", "poor", "dreadful", "tedious", "bland")
# (past tense, base form) of verbs that carry a polarity
_LIKE = (("loved", "love"), ("enjoyed", "enjoy"), ("liked", "like"), ("adored", "adore"))
_DISLIKE = (("hated", "hate"), ("disliked", "dislike"), ("regretted", "regret"), ("resented", "resent"))
_INTENSIFIERS = ("", "really ", "very ", "truly ", "quite ", "so ")
_OPENERS = ("", "honestly ", "overall ", "i think ", "to be fair ", "in the end ", "sadly ", "luckily ")
_DETERMINERS = ("the", "this", "that")


def _adjective_clause(rng) -> tuple[str, int]:
    """'the plot was (not) (very) good': the adjective's polarity, flipped by 'not'."""
    positive = rng.random() < 0.5
    adjective = rng.choice(_POSITIVE if positive else _NEGATIVE)
    negated = rng.random() < 0.35
    verb = rng.choice(("was", "is", "seemed", "felt"))
    text = (f"{rng.choice(_DETERMINERS)} {rng.choice(_NOUNS)} {verb} {'not ' if negated else ''}"
            f"{rng.choice(_INTENSIFIERS)}{adjective}")
    return text, int(positive != negated)


def _verb_clause(rng) -> tuple[str, int]:
    """'i (did not) (really) love this film': the verb's polarity, flipped by 'did not'."""
    positive = rng.random() < 0.5
    past, base = _LIKE[rng.integers(len(_LIKE))] if positive else _DISLIKE[rng.integers(len(_DISLIKE))]
    negated = rng.random() < 0.35
    adverb = rng.choice(("", "really ", "truly "))
    verb = f"did not {adverb}{base}" if negated else f"{adverb}{past}"
    return f"i {verb} {rng.choice(_DETERMINERS)} {rng.choice(_NOUNS)}", int(positive != negated)


def _sentence(rng) -> tuple[str, int]:
    kind = rng.random()
    if kind < 0.45:
        text, label = _adjective_clause(rng)
    elif kind < 0.75:
        text, label = _verb_clause(rng)
    else:
        # Contrast: "A but B" means what B says, whatever A said; order matters, so a bag of words
        # cannot get these right by counting alone.
        first, _ = (_adjective_clause if rng.random() < 0.5 else _verb_clause)(rng)
        text, label = (_adjective_clause if rng.random() < 0.5 else _verb_clause)(rng)
        text = f"{first} but {text}"
    return f"{rng.choice(_OPENERS)}{text}", label


MAX_SENTENCES = 100_000


@dataset("synthetic_sentiment", offline=True,
         summary="Short English movie-review sentences with a planted sentiment (negation and 'but' included).")
def synthetic_sentiment(*, seed: int = 0, data_dir=None, n: int = 2000) -> Splits:
    """Sentences whose label is their sentiment: 1 positive, 0 negative.

    The signal is learnable but not trivial: polarity words decide, "not"/"did not" flips them, and in
    "A but B" only B counts. All sentences are distinct, so no sentence is both trained on and tested.

    Args:
        n: number of distinct sentences, at most 100,000.

    Returns:
        `Splits` of kind "text": x an object array of Python strings (lower case, no punctuation), y int32,
        2 classes, stratified.
    """
    n = _check_positive_int("n", n, minimum=40)
    if n > MAX_SENTENCES:
        raise ValueError(f"synthetic_sentiment generates at most {MAX_SENTENCES:,} sentences. Received: n={n}")
    rng = np.random.default_rng(seed)
    seen: dict[str, int] = {}
    # Millions of distinct sentences exist, so repeats are rare and the loop ends after about n draws.
    while len(seen) < n:
        text, label = _sentence(rng)
        seen.setdefault(text, label)
    x = np.array(list(seen), dtype=object)
    y = np.array(list(seen.values()), dtype="int32")
    train, val, test = split_arrays(x, y, seed=seed)
    return Splits("synthetic_sentiment", "text", train, val, test, classes=2,
                  info={"labels": {"0": "negative", "1": "positive"}})


# ------------------------------------------------------------------------------------------------ ratings


@dataset("synthetic_ratings", offline=True,
         summary="User-item ratings in [1, 5] from hidden low-rank factors, biases and noise.")
def synthetic_ratings(*, seed: int = 0, data_dir=None, n_users: int = 300, n_items: int = 200, rank: int = 3,
                      density: float = 0.1, noise: float = 0.3) -> Splits:
    """Explicit ratings r(u, i) = clip(3.5 + b_u + b_i + low_rank(u, i) + noise, 1, 5) of observed pairs.

    The low-rank part comes from non-negative hidden factors (uniform in [0, 1]) of `rank` dimensions, scaled
    to unit standard deviation; user and item biases have a standard deviation of 0.4. Like MovieLens,
    predicting the mean rating leaves an RMSE of about 1.1. A `density` fraction of all user-item pairs is
    observed (each once), split at random into train/val/test.

    Args:
        n_users, n_items: number of users and items (ids 0..n-1).
        rank: rank of the hidden factors.
        density: fraction of user-item pairs rated.
        noise: standard deviation of the rating noise (the best achievable RMSE, before clipping).

    Returns:
        `Splits` of kind "ids": x a dict {"user": int32 (N,), "item": int32 (N,)}, y float32 (N,) ratings;
        `info` holds n_users, n_items and the rating range.
    """
    n_users = _check_positive_int("n_users", n_users, minimum=2)
    n_items = _check_positive_int("n_items", n_items, minimum=2)
    rank = _check_positive_int("rank", rank)
    density = _check_fraction("density", density, low=0.0, high=1.0)
    noise = _check_non_negative("noise", noise)
    pairs = int(round(density * n_users * n_items))
    if pairs < 20:
        raise ValueError(f"synthetic_ratings needs at least 20 ratings; n_users * n_items * density = {pairs}.")
    rng = np.random.default_rng(seed)
    user_factors = rng.uniform(0.0, 1.0, size=(n_users, rank))
    item_factors = rng.uniform(0.0, 1.0, size=(n_items, rank))
    user_bias = rng.normal(0.0, 0.4, size=n_users)
    item_bias = rng.normal(0.0, 0.4, size=n_items)
    # Each product of two U(0,1) has mean 1/4 and variance 7/144; standardise their sum, then scale.
    product_mean, product_std = rank / 4.0, np.sqrt(rank * 7.0 / 144.0)
    chosen = rng.choice(n_users * n_items, size=pairs, replace=False)
    users, items = (chosen // n_items).astype("int32"), (chosen % n_items).astype("int32")
    low_rank = (np.sum(user_factors[users] * item_factors[items], axis=1) - product_mean) / product_std
    ratings = 3.5 + user_bias[users] + item_bias[items] + low_rank + rng.normal(0.0, noise, size=pairs)
    y = np.clip(ratings, 1.0, 5.0).astype("float32")
    train, val, test = split_arrays({"user": users, "item": items}, y, seed=seed, stratify=False)
    info = {"n_users": n_users, "n_items": n_items, "rank": rank, "noise": noise, "rating_range": [1.0, 5.0]}
    return Splits("synthetic_ratings", "ids", train, val, test, info=info)
