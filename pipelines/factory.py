"""One pipeline factory for any registered model: preprocess -> train -> evaluate -> gate -> deploy.

The local target deploys into a versioned folder registry; the vertex target (pipelines/vertex.py) runs the
train step as a Vertex AI custom job on the requested accelerators and deploys to a Vertex endpoint.
Defaults of the pipeline's parameters come from the model's spec, so a compiled template runs as is.
"""


import json

from kfp import dsl

from components import DEFAULT_IMAGE, make_components
from zoo.pipeline.runtime import backend_for
from zoo.pipeline.runs import pipeline_name  # noqa: F401  (the pipeline's name; also re-exported)
from zoo.registry import get_spec

TARGETS = ("local", "vertex")


def make_pipeline(model_name: str, target: str = "local", image: str = DEFAULT_IMAGE, **target_options):
    """The pipeline function for `model_name` on `target` ("local" or "vertex").

    Args:
        model_name: a registry name.
        target: "local" (kfp.local and a folder registry; small hyperparameters and offline data by
            default) or "vertex" (Vertex AI custom training job and endpoint; full-size defaults).
        image: the container image the components run in.
        **target_options: for "vertex", the accelerator settings of `pipelines.vertex.Accelerator`.
    """
    if target not in TARGETS:
        raise ValueError(f"Unknown target {target!r}. Allowed: {', '.join(TARGETS)}.")
    spec = get_spec(model_name)
    comps = make_components(image)
    local = target == "local"
    default_dataset = spec.offline_datasets[0] if local or not spec.online_datasets else spec.online_datasets[0]
    default_hparams = json.dumps(dict(spec.small) if local else {}, sort_keys=True)
    recipe = spec.recipe
    default_backend = "tensorflow"
    if not local:
        from pipelines import vertex

        vertex_options = vertex.options(**target_options)
        # Asked for explicitly: an error for a tensorflow_only model; a preset's default: overruled.
        default_backend = backend_for(spec, vertex_options.backend, requested=bool(target_options.get("backend")))
    elif target_options:
        raise ValueError(f"Options {sorted(target_options)} apply only to the vertex target.")

    @dsl.pipeline(name=pipeline_name(model_name), description=f"{spec.name}: {spec.summary}")
    def pipeline(
        dataset: str = default_dataset,
        style: str = "functional",
        hparams: str = default_hparams,
        epochs: int = recipe.epochs,
        batch_size: int = recipe.batch_size,
        learning_rate: float = recipe.learning_rate,
        seed: int = 0,
        backend: str = default_backend,
        data_dir: str = "",
        baseline_uri: str = "",
        registry_root: str = "",
        floor: str = "",  # "": the spec's floor for the dataset's gate (see steps.gate)
        min_delta: float = spec.gate.min_delta,
        require_significance: bool = False,
        alpha: float = 0.05,
    ):
        prep = comps.preprocess(model_name=model_name, dataset_name=dataset, hparams=hparams, seed=seed,
                                data_dir=data_dir)
        if not local:
            vertex.size_step(prep, vertex_options)
        training_args = dict(model_name=model_name, style=style, hparams=hparams, epochs=epochs,
                             batch_size=batch_size, learning_rate=learning_rate, seed=seed, backend=backend,
                             data=prep.outputs["data"])
        if local:
            trained = comps.train(**training_args)
        else:
            trained = vertex.train_task(comps.train, training_args, vertex_options)
        evaluation_args = dict(model_name=model_name, seed=seed, data=prep.outputs["data"],
                               model=trained.outputs["model"])
        if local:
            evaluation = comps.evaluate(**evaluation_args)
        else:
            # Big networks score their test set on the training machine; the rest on a sized CPU step.
            evaluation = vertex.evaluate_task(comps.evaluate, evaluation_args, vertex_options,
                                              on_accelerator=spec.heavy)
        decision = comps.gate(baseline_uri=baseline_uri, floor=floor, min_delta=min_delta,
                              require_significance=require_significance, alpha=alpha,
                              evaluation=evaluation.outputs["evaluation"])
        # The baseline changes between runs: never answer the gate or deploy from Vertex's cache.
        decision.set_caching_options(False)
        # A bool compared with True (see DESIGN.md's kfp.local trap); tests assert deploy really runs.
        with dsl.If(decision.outputs["Output"] == True, name="gate-passed"):  # noqa: E712
            if local:
                deploy = comps.deploy_local(registry_root=registry_root, baseline_uri=baseline_uri,
                                            model=trained.outputs["model"],
                                            evaluation=evaluation.outputs["evaluation"])
            else:
                deploy = vertex.deploy_task(model_name, trained, evaluation, baseline_uri, vertex_options, image)
            deploy.set_caching_options(False)

    return pipeline
