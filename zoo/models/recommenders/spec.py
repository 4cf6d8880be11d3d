"""Specs of catalog section I, recommendation (TensorFlow-free)."""

from zoo.spec import Gate, ModelSpec, Recipe, TensorSig

IMPOSSIBLE_SEQUENTIAL = ("a keras.Sequential model has exactly one input tensor, and a recommender takes two "
                         "(user ids and item ids)")
# Big enough for the offline data (300 users, 200 items) and for MovieLens 100k (943 users, 1,682 items),
# so every catalog dataset trains with the defaults; the serving model still accepts only the ids the
# training data defined.
ID_TABLES = {"n_users": 1000, "n_items": 1700}
# The local dry run trains the small configuration on synthetic_ratings, so its tables hold that data's ids.
SMALL = {"n_users": 300, "n_items": 200, "factors": 4}


def _ids(hp):
    return {
        "user": TensorSig((), dtype="int32", low=0, high=hp["n_users"]),
        "item": TensorSig((), dtype="int32", low=0, high=hp["n_items"]),
    }


_STYLES = {"sequential": IMPOSSIBLE_SEQUENTIAL, "functional": None, "subclass": None}
# Predicting the mean rating scores an RMSE of about 1.05 on synthetic_ratings and 1.12 on MovieLens 100k;
# a trained factorisation about 0.55 and 0.93. The floor refuses a model no better than the mean on both.
# Plain stochastic gradient descent on the observed ratings, as the notes describe ("확률적 경사하강 기반
# 행렬분해"); at this rate it converges in about 50 epochs of 4,200 ratings, and three times the rate diverges.
_RECIPE = Recipe(loss="mse", metrics=("root_mean_squared_error",), optimizer="sgd", learning_rate=0.3, batch_size=64,
                 epochs=80, patience=5)
_GATE = Gate(metric="rmse", direction="min", floor=1.0)

SPECS = [
    ModelSpec(
        name="matrix_factorization",
        family="recommenders",
        task="rating_prediction",
        summary="Latent-factor collaborative filtering: user and item factors plus biases, dot product.",
        reference="Koren, Bell & Volinsky 2009; seed 003 '3) 잠재요인 협업 필터링'",
        impl="zoo.models.recommenders.factorization:MATRIX_FACTORIZATION",
        defaults={**ID_TABLES, "factors": 16, "l2": 1e-4, "mean_rating": 3.5},
        signature=_ids,
        output="predicted rating, shape (batch, 1); unknown user or item ids fail with an error naming them",
        offline_datasets=("synthetic_ratings",),
        online_datasets=("movielens/100k-ratings",),
        target="regression",
        styles=_STYLES,
        recipe=_RECIPE,
        gate=_GATE,
        adapter="zoo.models.recommenders.factorization:adapt_ratings",
        serving="zoo.models.recommenders.factorization:id_checked_serving",
        small=SMALL,
    ),
    ModelSpec(
        name="nmf",
        family="recommenders",
        task="rating_prediction",
        summary="Non-negative matrix factorisation: non-negative user and item factors, dot product.",
        reference="Lee & Seung 1999; seed 003 '행렬분해 기반의 비지도학습(NMF)'; 000 '전처리' (NMF)",
        impl="zoo.models.recommenders.factorization:NMF_STYLES",
        defaults={**ID_TABLES, "factors": 8, "l2": 1e-5, "mean_rating": 3.5},
        signature=_ids,
        output="predicted rating, shape (batch, 1); unknown user or item ids fail with an error naming them",
        offline_datasets=("synthetic_ratings",),
        online_datasets=("movielens/100k-ratings",),
        target="regression",
        styles=_STYLES,
        recipe=_RECIPE,
        gate=_GATE,
        adapter="zoo.models.recommenders.factorization:adapt_ratings",
        serving="zoo.models.recommenders.factorization:id_checked_serving",
        small=SMALL,
    ),
]
