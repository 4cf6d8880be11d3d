"""KFP v2 lightweight components: thin wrappers that parse inputs and call `zoo.pipeline.steps`.

The component functions are module-level so they can be read and tested; `make_components(image)` turns
them into KFP components running in a given container image (the project's image on Vertex AI; locally
kfp.local runs them in this Python environment). Each body imports what it needs, because KFP ships only
the function's source to the executor. (No `from __future__ import annotations` here: KFP reads the
annotations as types.)
"""


import dataclasses

from kfp import dsl
from kfp.dsl import HTML, Artifact, ClassificationMetrics, Dataset, Input, Markdown, Metrics, Model, Output

DEFAULT_IMAGE = "us-docker.pkg.dev/PROJECT/zoo/zoo-components:latest"


def preprocess(model_name: str, dataset_name: str, hparams: str, seed: int, data_dir: str,
               data: Output[Dataset]):
    """Load the dataset, shape it for the model, write train/val/test splits."""
    from zoo.pipeline import steps

    with steps.report_errors(data.path):
        meta = steps.preprocess(model_name, dataset_name, data.path, hparams=hparams, seed=seed,
                                data_dir=data_dir or None)
    data.metadata.update({"dataset": dataset_name, "kind": meta["kind"], "sizes": meta["sizes"],
                          "test_fingerprint": meta["test_fingerprint"]})


def train(model_name: str, style: str, hparams: str, epochs: int, batch_size: int, learning_rate: float,
          seed: int, backend: str, data: Input[Dataset], model: Output[Model]):
    """Train on the prepared data with `backend` (Keras' "tensorflow" or "jax"); the Model artifact holds
    model.keras, saved_model/ (a TensorFlow SavedModel either way), logs/ (TensorBoard) and metadata.json."""
    import os

    from zoo.pipeline import runtime, steps  # neither imports Keras

    # Beside the output, so a retried (preempted) task finds the same backup and resumes from it.
    backup_dir = os.path.join(os.path.dirname(model.path), "backup")
    with steps.report_errors(model.path):
        runtime.select_backend(backend)  # before anything imports Keras
        metadata = steps.train(model_name, data.path, model.path, style=style, hparams=hparams, epochs=epochs,
                               batch_size=batch_size, learning_rate=learning_rate, seed=seed,
                               backup_dir=backup_dir)
    model.metadata.update({k: metadata[k] for k in ("model", "style", "dataset", "seed", "epochs_run", "backend",
                                                    "strategy", "precision", "keras_version")})
    model.metadata["hparams"] = metadata["hparams"]
    model.metadata["framework"] = "keras"


def evaluate(model_name: str, seed: int, data: Input[Dataset], model: Input[Model], metrics: Output[Metrics],
             classification_metrics: Output[ClassificationMetrics], evaluation: Output[Artifact],
             pictures: Output[HTML]):
    """Score the model on the test split as its task does; log Metrics, a confusion matrix for classifiers,
    and the task's pictures (sample grids, masks, a generator's samples over training) as an HTML page the
    Vertex AI console shows."""
    import base64
    import html
    import os

    from zoo.pipeline import steps

    # The PNG files live beside the HTML page (its folder is the task's output folder, local or on GCS).
    pictures_dir = os.path.join(os.path.dirname(pictures.path), "pictures_png")
    with steps.report_errors(evaluation.path):
        result = steps.evaluate(model_name, data.path, model.path, out_path=evaluation.path,
                                pictures_dir=pictures_dir, seed=seed)
    for name, value in result["metrics"].items():
        metrics.log_metric(name, value)
    if "confusion_matrix" in result:
        matrix = result["confusion_matrix"]
        classification_metrics.log_confusion_matrix([str(i) for i in range(len(matrix))], matrix)
    figures = []
    for title, relative in result.get("pictures", {}).items():
        with open(os.path.join(pictures_dir, relative), "rb") as f:
            encoded = base64.b64encode(f.read()).decode("ascii")
        kind = "gif" if relative.endswith(".gif") else "png"
        figures.append(f"<figure><img src='data:image/{kind};base64,{encoded}'/>"
                       f"<figcaption>{html.escape(title)}</figcaption></figure>")
    with open(pictures.path, "w", encoding="utf-8") as f:
        f.write(f"<html><body><h3>{html.escape(model_name)}</h3>{''.join(figures) or '<p>No pictures.</p>'}"
                "</body></html>")
    evaluation.metadata.update({"metric": result["metric"], "value": result["value"]})
    pictures.metadata["files"] = [os.path.join(pictures_dir, p) for p in result.get("pictures", {}).values()]


def gate(baseline_uri: str, floor: str, min_delta: float, require_significance: bool, alpha: float,
         evaluation: Input[Artifact], report: Output[Markdown]) -> bool:
    """The latest-metric gate: True if the candidate should replace the deployed model."""
    import json

    from zoo.pipeline import steps

    with steps.report_errors(report.path):
        with open(evaluation.path, encoding="utf-8") as f:
            result = json.load(f)
        decision = steps.gate(result, baseline_uri, floor=steps.parse_floor(floor), min_delta=min_delta,
                              require_significance=require_significance, alpha=alpha)
        with open(report.path, "w", encoding="utf-8") as f:
            f.write(decision.markdown(result["model"], result["dataset"]))
    report.metadata.update({"deploy": decision.deploy, "reason": decision.reason})
    return decision.deploy


def deploy_local(registry_root: str, baseline_uri: str, model: Input[Model], evaluation: Input[Artifact],
                 deployment: Output[Artifact]):
    """Copy the model into the local versioned registry and record it as the new baseline."""
    import json

    from zoo.pipeline import steps

    with steps.report_errors(deployment.path):
        with open(evaluation.path, encoding="utf-8") as f:
            result = json.load(f)
        deployed = steps.deploy_local(model.path, result, registry_root, baseline_uri)
        with open(deployment.path, "w", encoding="utf-8") as f:
            json.dump(deployed, f, indent=2)
    deployment.metadata.update(deployed)


@dataclasses.dataclass(frozen=True)
class Components:
    preprocess: object
    train: object
    evaluate: object
    gate: object
    deploy_local: object


def make_components(image: str = DEFAULT_IMAGE) -> Components:
    """The components, running in `image` (which has the project and kfp installed)."""

    def component(fn):
        return dsl.component(fn, base_image=image, install_kfp_package=False)

    return Components(*(component(fn) for fn in (preprocess, train, evaluate, gate, deploy_local)))
