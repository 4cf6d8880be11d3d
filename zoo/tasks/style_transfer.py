"""Neural style transfer (Gatys, Ecker & Bethge 2016): what training, evaluating and serving mean for it.

Style transfer optimises an image, not a network: the network only provides features. So:

- **train** fits the network (a VGG-19 body with a small classifier head) as a classifier of the offline
  data's images: five procedural textures and the content scenes (`zoo.data.style_images`), with the
  recipe's sparse cross-entropy. Its features then tell stripes from checks from dots, and shapes from
  backgrounds: what the style (Gram) and content losses compare. (ImageNet weights, when a user has them,
  load with `weights=PATH` and need no training; see `zoo.models.style.style_transfer`.)
- **evaluate** runs the style-transfer optimisation for the spec's `steps` from the content image on a fixed
  pair of the test split (its first content scene and its first texture) and reports the relative
  decrease of the total loss, `(initial - final) / initial` (the gate, higher is better), the initial and
  final total, content, style and total-variation losses, and the classifier's test accuracy.
  The losses are measured in the evaluated network's own features (a retrained network moves the yardstick
  too; the floor sits above what untrained networks reach), and the evaluation's fingerprint records the
  optimisation settings (steps, weights, layers), which change what the number means.
- **serving** takes {"content": image, "style": image} (float32 (B, H, W, 3) in [0, 1]) and returns the
  stylised content at its own size; the optimisation loop runs inside the exported graph.
- **pictures**: content | style | stylised for the first test pairs (the first is the gated pair).
"""

from __future__ import annotations

import os
from typing import Iterable

import numpy as np

from zoo.metrics import Metric, register_metric
from zoo.tasks.base import Evaluation, Task, random_inputs

PICTURE_PAIRS = 3
TERMS = ("total", "content", "style", "tv")

register_metric(Metric("loss_decrease", "max", per_example=None, paired_test=None))


class StyleTransferTask(Task):
    """Trains the feature network as a classifier; gates on the relative loss decrease of a fixed pair."""

    names = ("style_transfer",)
    endpoint_takes_image = False
    metric_names = ("loss_decrease", "initial_loss", "final_loss", "content_loss", "style_loss", "tv_loss",
                    "initial_style_loss", "accuracy")

    # ---------------------------------------------------------------------------------------- evaluation
    def evaluate(self, model, batches: Iterable, spec, hparams, info, *, seed: int = 0) -> Evaluation:
        import keras

        from zoo.models.style.style_transfer import stylize, transfer_settings

        accuracy = keras.metrics.SparseCategoricalAccuracy()
        images, labels = [], []
        for x, y in batches:
            accuracy.update_state(np.asarray(y), np.asarray(model.predict_on_batch(x)))
            images.append(np.asarray(x, dtype="float32"))
            labels.append(np.asarray(y).reshape(-1))
        content, style = fixed_pairs(np.concatenate(images), np.concatenate(labels), info, count=1)
        settings = transfer_settings(hparams)
        result = stylize(model, content, style, settings)
        initial, final = (float(result.initial["total"][0]), float(result.final["total"][0]))
        metrics = {
            "loss_decrease": (initial - final) / initial if initial > 0 else 0.0,
            "initial_loss": initial, "final_loss": final,
            "content_loss": float(result.final["content"][0]), "style_loss": float(result.final["style"][0]),
            "tv_loss": float(result.final["tv"][0]), "initial_style_loss": float(result.initial["style"][0]),
            "accuracy": float(accuracy.result()),
        }
        fingerprint = "style_transfer:" + ",".join(f"{k}={v}" for k, v in sorted(vars(settings).items()))
        return Evaluation(metrics=metrics, fingerprint=fingerprint)

    # ------------------------------------------------------------------------------------------- serving
    def serving_model(self, model, spec, hparams, info):
        """{"content": (B, H, W, 3), "style": (B, H', W', 3)} in [0, 1] -> stylised content (B, H, W, 3)."""
        from zoo.models.style.style_transfer import serving_model, transfer_settings

        return serving_model(model, transfer_settings(hparams), tuple(hparams["input_shape"])[:2])

    # ------------------------------------------------------------------------------------------ pictures
    def pictures(self, model, batches: Iterable, spec, hparams, info, out_dir: str, *, seed: int = 0) -> dict[str, str]:
        """Rows of content | style | stylised for the first `PICTURE_PAIRS` test pairs (the gated pair first)."""
        from zoo.models.style.style_transfer import stylize, transfer_settings
        from zoo.pictures import save_png

        images, labels = [], []
        for x, y in batches:
            images.append(np.asarray(x, dtype="float32"))
            labels.append(np.asarray(y).reshape(-1))
        if not images:
            return {}
        content, style = fixed_pairs(np.concatenate(images), np.concatenate(labels), info, count=PICTURE_PAIRS)
        stylised = stylize(model, content, style, transfer_settings(hparams)).image
        rows = np.stack([content, style, stylised], axis=1).reshape(-1, *content.shape[1:])
        path = save_png(rows, os.path.join(out_dir, f"{spec.name}_pairs.png"), columns=3)
        return {"Content | style | stylised (first test pairs; the first is the gated pair)": path}

    # ------------------------------------------------------------------------------- standard model test
    def random_batch(self, spec, hparams, model, batch, rng):
        """Random images and random class ids of the model's head."""
        x = random_inputs(spec, hparams, batch, rng)
        classes = int(np.asarray(model.predict(x, verbose=0)).shape[-1])
        return x, rng.integers(0, classes, size=batch).astype("int32")


def fixed_pairs(images: np.ndarray, labels: np.ndarray, info, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The first `count` content images of a split (class `info["content_class"]`, by default the last class)
    paired in order with its first `count` style images (every other class); fewer if the split has fewer.

    Raises:
        ValueError: when the split has no content image or no style image.
    """
    content_class = int(info.get("content_class", labels.max()))
    is_content = labels == content_class
    content, style = images[is_content][:count], images[~is_content][:count]
    if not len(content) or not len(style):
        raise ValueError(f"Style transfer needs content images (class {content_class}) and style images (any other "
                         f"class) in the test split; it has {len(content)} and {len(style)}.")
    size = min(len(content), len(style))
    return content[:size], style[:size]
