"""Spec of catalog section G's density estimator, NADE (TensorFlow-free).

NADE owns its loss (recipe loss None): the exact negative log-likelihood of binarised images, which it also
reports per test image, so the gate is the test NLL in nats per image with a paired t-test against the
deployed model, and, before any deployment, the independent-pixel baseline's NLL on the same test images as
the floor to beat (`Gate.floor_metric`): a number measured on the test set rather than a fixed one, since
it scales with the image size (64 pixels on digits, 784 on MNIST).

The `small` configuration (local dry run, tests) works on the native 8x8 digits with 64 hidden units;
the defaults are the paper's binarised-MNIST model (28x28, 500 hidden units). Figures from measured local
runs (small configuration, digits binarised at 0.5, two CPU cores) are in the comment at the gate.
"""

from zoo.spec import Gate, ModelSpec, Recipe, TensorSig

SPECS = [
    ModelSpec(
        name="nade",
        family="generative",
        task="density_estimation",
        summary="NADE: exact autoregressive likelihood of binary images, p(x) = prod_d p(x_d | x_<d), each "
                "conditional a sigmoid layer on hidden units that share one weight matrix (one cumulative-sum "
                "pass); trained on the exact NLL; serves ancestral samples by seed.",
        reference="Larochelle & Murray 2011; seed 002 '9장' (NADE)",
        impl="zoo.models.density.nade:NADE_STYLES",
        defaults={"input_shape": (28, 28, 1), "hidden_units": 500},
        signature=lambda hp: {"image": TensorSig(tuple(hp["input_shape"]))},
        output="p(x_d = 1 | x_<d) for every pixel of the given binary image, shape (batch, H, W, C), float32; "
               "the served model maps an int32 seed per instance to one sampled binary image",
        offline_datasets=("digits",),
        online_datasets=("mnist",),
        recipe=Recipe(loss=None, learning_rate=5e-3, batch_size=32, epochs=30, patience=5),
        # Measured on digits (small configuration, seed 0): the independent-pixel baseline scores 24.6 nats
        # per test image (0.55 bits/dim); NADE untrained about 45, after the recipe about 17.8 (0.40 bits/dim).
        gate=Gate(metric="nll_nats", direction="min", floor_metric="baseline_nll_nats"),
        small={"input_shape": (8, 8, 1), "hidden_units": 64},
        adapter="zoo.models.density.nade:adapt_binary",
    ),
]
