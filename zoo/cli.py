"""The `zoo` command line: list, show, compile, submit (Vertex AI), run (locally through kfp.local), runs (past
local runs), serve, rollback, tune (hyperparameter search: KerasTuner locally, a Vertex AI tuning job), predict
(batch prediction: locally, or a Vertex AI batch prediction job).

`list`, `show` and `compile` never import TensorFlow. A bad argument exits with status 2 and one line on
stderr that says what was wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Sequence

from zoo.pipeline.baseline import BaselineError, LeaseError  # plain Python: no TensorFlow, no Cloud SDK
from zoo.pipeline.release import ReleaseError

# Keras backends the train step can use (zoo.pipeline.runtime.BACKENDS; repeated here so that parsing the
# command line imports nothing).
BACKENDS = ("tensorflow", "jax")
# A deploy, rollback or baseline that cannot go ahead: one line, exit status 1, nothing changed.
RELEASE_ERRORS = (ReleaseError, BaselineError, LeaseError)


class UsageError(Exception):
    """A bad argument: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's default prints the whole usage; one line is enough
        raise UsageError(f"{self.prog}: {message}")


def _hparam(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value  # a bare string, e.g. pooling=avg


def _add_vertex_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("Vertex AI training machines (with --target vertex)")
    g.add_argument("--accelerator", default="gpu", help="preset: cpu, gpu, multi-gpu or tpu (default gpu)")
    g.add_argument("--machine-type", help="override the preset's machine type, e.g. g2-standard-16")
    g.add_argument("--accelerator-type", help="override the accelerator, e.g. NVIDIA_L4, TPU_V5_LITEPOD")
    g.add_argument("--accelerator-count", type=int)
    g.add_argument("--replica-count", type=int, default=1, help="training machines (>1: multi-worker)")
    g.add_argument("--spot", action="store_true", help="train on Spot VMs (preemptible; resumes from backup)")
    g.add_argument("--serving-machine-type", default="n1-standard-4")
    g.add_argument("--serving-image", default="",
                   help="prediction container: default the component image (zoo serve --vertex); 'prebuilt' for "
                        "Vertex's TensorFlow 2.15 container; or the URI of another image of this Dockerfile")
    g.add_argument("--step-cpu", help="cores for preprocess and evaluate (default: the preset's)")
    g.add_argument("--step-memory", help="memory for preprocess and evaluate, e.g. 32G (default: the preset's)")
    g.add_argument("--evaluate-on-accelerator", action="store_true",
                   help="evaluate as a custom job on the training machine (default only for the big networks)")
    g.add_argument("--backend", choices=BACKENDS,
                   help="Keras backend of the train step (default: the preset's: jax for tpu, else tensorflow)")
    g.add_argument("--tensorboard", default="", metavar="RESOURCE",
                   help="Vertex AI TensorBoard instance for the training curves, "
                        "projects/P/locations/R/tensorboards/ID (the job runs as --service-account, else as the "
                        "pipeline's service account)")


def _vertex_options(args) -> dict:
    """The Vertex machine options given on the command line (validated by `pipelines.vertex.options`)."""
    chosen = dict(accelerator=args.accelerator, machine_type=args.machine_type,
                  accelerator_type=args.accelerator_type, accelerator_count=args.accelerator_count,
                  replica_count=args.replica_count, spot=args.spot, serving_machine_type=args.serving_machine_type,
                  serving_image=args.serving_image, step_cpu=args.step_cpu, step_memory=args.step_memory,
                  evaluate_on_accelerator=args.evaluate_on_accelerator, backend=args.backend)
    if getattr(args, "tensorboard", ""):
        chosen["tensorboard"] = args.tensorboard
    if getattr(args, "service_account", None):
        chosen["service_account"] = args.service_account
    return chosen


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="zoo", description="A Keras model zoo wired to Kubeflow Pipelines and Vertex AI.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("list", help="list the models")
    p.add_argument("--json", action="store_true", help="print JSON (name, family, task, styles, gate)")

    p = sub.add_parser("show", help="show a model's spec")
    p.add_argument("name")

    p = sub.add_parser("compile", help="compile pipelines to PipelineSpec JSON (or YAML)")
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--all", action="store_true", help="every registered model")
    p.add_argument("--out", required=True, help="output folder; writes OUT/NAME.json")
    p.add_argument("--target", choices=("local", "vertex"), default="local")
    p.add_argument("--format", choices=("json", "yaml"), default="json", dest="fmt")
    p.add_argument("--image", help="container image of the components")
    _add_vertex_options(p)

    p = sub.add_parser("submit", help="submit a model's pipeline to Vertex AI Pipelines")
    p.add_argument("name")
    p.add_argument("--project", required=True)
    p.add_argument("--region", required=True, help="e.g. us-central1")
    p.add_argument("--pipeline-root", required=True, help="gs://bucket/path for run artifacts")
    p.add_argument("--image", help="container image of the components (the project's image)")
    p.add_argument("--service-account", default="", help="runs the pipeline and the training job")
    p.add_argument("--baseline-uri", help="gs:// prefix of the baselines (default: PIPELINE_ROOT/baselines)")
    p.add_argument("--dataset")
    p.add_argument("--style", default="functional")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--hparam", action="append", type=_hparam, default=[], metavar="KEY=VALUE")
    p.add_argument("--require-significance", action="store_true")
    p.add_argument("--dry-run", action="store_true", help="build the job offline and print it; submit nothing")
    p.add_argument("--experiment", help="Vertex AI Experiment to put the run in (created if missing), to compare "
                                        "runs' parameters and metrics")
    _add_vertex_options(p)

    p = sub.add_parser("run", help="run a model's pipeline")
    p.add_argument("name")
    p.add_argument("--local", action="store_true", required=True, help="run here through kfp.local")
    p.add_argument("--style", default="functional", help="sequential, functional or subclass")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--dataset")
    p.add_argument("--root", default="runs/local", help="folder for runs, the registry and baselines")
    p.add_argument("--hparam", action="append", type=_hparam, default=[], metavar="KEY=VALUE",
                   help="a model hyperparameter (repeatable); VALUE is JSON or a plain string")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", choices=BACKENDS, default="tensorflow",
                   help="Keras backend of the train step (the served model is a TensorFlow SavedModel either way)")
    p.add_argument("--min-delta", type=float, help="improvement needed over the deployed model")
    p.add_argument("--floor", type=float, help="absolute floor for the first deployment")
    p.add_argument("--require-significance", action="store_true",
                   help="also require a significant improvement on the test set (paired test)")
    p.add_argument("--verbose", action="store_true", help="stream every task's log here")

    p = sub.add_parser("rollback", help="serve an earlier version again, with the baseline it earned",
                       description="Bring back an earlier version of a model: the registry's serving alias, what "
                                   "serves and the gate's baseline change together. Without --to, the version that "
                                   "served before the current one (again: further back).")
    p.add_argument("name")
    p.add_argument("--to", metavar="VERSION", help="the version to serve (default: the one before the current one)")
    p.add_argument("--dataset", help="default: the spec's first offline (--local) or online (Vertex) dataset")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--local", action="store_true", help="the local registry under --root")
    where.add_argument("--project", help="the Google Cloud project of the Vertex AI registry and endpoint")
    p.add_argument("--root", default="runs/local")
    p.add_argument("--region", help="Vertex AI region, e.g. us-central1 (with --project)")
    p.add_argument("--baseline-uri", help="gs:// prefix of the baselines, as given to `zoo submit` (with --project)")
    p.add_argument("--serving-machine-type", default="n1-standard-4")

    p = sub.add_parser("serve", help="serve the deployed model with Vertex AI's prediction contract",
                       description="Serve NAME's locally deployed version (under --root) on 127.0.0.1, or, with "
                                   "--vertex, run as Vertex AI's custom prediction container.")
    p.add_argument("name", nargs="?", help="the model (not with --vertex)")
    p.add_argument("--root", default="runs/local")
    p.add_argument("--dataset")
    p.add_argument("--vertex", action="store_true",
                   help="the Vertex AI container: AIP_HTTP_PORT, AIP_HEALTH_ROUTE, AIP_PREDICT_ROUTE and "
                        "AIP_STORAGE_URI (local folder or gs://) say what to serve and where; binds 0.0.0.0")
    p.add_argument("--host", help="address to bind (default 127.0.0.1; 0.0.0.0 with --vertex)")
    p.add_argument("--port", type=int, help="port (default 8080; AIP_HTTP_PORT with --vertex)")
    p.add_argument("--threads", type=int, help="threads that run the model (default min(4, cores))")
    p.add_argument("--read-timeout", type=float, default=15.0,
                   help="seconds a request may take to arrive whole (default 15; slower clients get 408)")
    p.add_argument("--max-body-mb", type=float, default=16.0, help="largest request body (default 16 MiB; 413)")

    p = sub.add_parser("predict", help="batch prediction with the deployed model over a file of instances",
                       description="Run NAME's deployed version over a file of instances: --local streams JSON Lines, "
                                   "CSV (tabular models) or a folder of images through the local registry's serving "
                                   "version; --project submits a Vertex AI batch prediction job against the registry "
                                   "model. Bad lines are reported (with their line numbers locally, as {\"error\": ...} "
                                   "predictions on Vertex AI); the rest are predicted.")
    p.add_argument("name")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--local", action="store_true", help="the local registry under --root")
    where.add_argument("--project", help="the Google Cloud project of the Vertex AI registry model")
    p.add_argument("--input", required=True,
                   help="JSON Lines or CSV file, a folder of images (--local), or with --project a gs:// .jsonl/.csv "
                        "file or a .txt list of gs:// image files (image models)")
    p.add_argument("--output", required=True,
                   help="--local: a JSON Lines file (bad lines go to OUTPUT.errors.jsonl); --project: a gs:// prefix")
    p.add_argument("--dataset", help="default: the spec's first offline (--local) or online (Vertex) dataset")
    p.add_argument("--batch-size", type=int, default=64, help="instances per model call / request (default 64)")
    p.add_argument("--root", default="runs/local")
    p.add_argument("--region", help="Vertex AI region, e.g. us-central1 (with --project)")
    p.add_argument("--model-id", help="the registry model's ID (default: looked up by display name at submit time)")
    p.add_argument("--machine-type", default="n1-standard-4", help="batch prediction machines (with --project)")
    p.add_argument("--replicas", type=int, default=1, help="batch prediction machines (with --project)")
    p.add_argument("--service-account", default="", help="the job's service account (with --project)")
    p.add_argument("--dry-run", action="store_true", help="print the Vertex AI job request; submit nothing")

    p = sub.add_parser("tune", help="search a model's hyperparameters (KerasTuner here, Vertex AI tuning job there)",
                       description="Search NAME's hyperparameter space (see `zoo show NAME`, search_space): each trial "
                                   "is the pipeline's train step scored on the validation split with the gate metric. "
                                   "--local runs KerasTuner on the offline data; --project builds a Vertex AI "
                                   "hyperparameter tuning job. Prints the best values as the command line of a "
                                   "normal pipeline run; tuning never deploys.")
    p.add_argument("name")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--local", action="store_true", help="KerasTuner on this machine, offline data")
    where.add_argument("--project", help="the Google Cloud project of the Vertex AI tuning job")
    p.add_argument("--algorithm", choices=("bayesian", "random", "grid"), default="bayesian",
                   help="bayesian (default: KerasTuner's BayesianOptimization; Vertex AI's default), random or grid")
    p.add_argument("--max-trials", type=int, help="trials in all (default 5 with --local, 10 on Vertex AI)")
    p.add_argument("--epochs", type=int, help="epochs per trial (default 2 with --local, the recipe's on Vertex AI)")
    p.add_argument("--dataset", help="default: the first offline (--local) or online (Vertex AI) dataset")
    p.add_argument("--style", default="functional")
    p.add_argument("--hparam", action="append", type=_hparam, default=[], metavar="KEY=VALUE",
                   help="a fixed model hyperparameter (repeatable; taken out of the search space)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--root", default="runs/local", help="--local: files go to ROOT/tuning/NAME/")
    p.add_argument("--verbose", action="store_true", help="--local: show the training output")
    p.add_argument("--region", help="Vertex AI region, e.g. us-central1 (with --project)")
    p.add_argument("--pipeline-root", help="gs://bucket/path; trial outputs go to PIPELINE_ROOT/tuning/NAME/")
    p.add_argument("--image", help="container image the trials run in (the project's image)")
    p.add_argument("--parallel-trials", type=int, default=2, help="trials at once on Vertex AI (default 2)")
    p.add_argument("--data-dir", default="", help="TFDS data_dir for the trials, e.g. gs://bucket/tfds")
    p.add_argument("--accelerator", default="gpu", help="trial machine preset: cpu, gpu, multi-gpu or tpu")
    p.add_argument("--machine-type")
    p.add_argument("--accelerator-type")
    p.add_argument("--accelerator-count", type=int)
    p.add_argument("--service-account", default="")
    p.add_argument("--dry-run", action="store_true", help="print the tuning job as JSON; submit nothing")

    p = sub.add_parser("runs", help="list a model's past local runs: metrics, gate decisions, deployed versions")
    p.add_argument("name")
    p.add_argument("--root", default="runs/local", help="the folder `zoo run --local --root` used")
    p.add_argument("--json", action="store_true", help="print JSON (one object per run, newest first)")
    return parser


def _list(args) -> int:
    from zoo.registry import get_spec, list_models

    specs = [get_spec(n) for n in list_models()]
    if args.json:
        print(json.dumps([{"name": s.name, "family": s.family, "task": s.task, "styles": list(s.supported_styles),
                           "gate": {"metric": s.gate.metric, "direction": s.gate.direction}} for s in specs],
                         indent=2))
        return 0
    width = max(len(s.name) for s in specs)
    for s in specs:
        print(f"{s.name:<{width}}  {s.family:<12} {','.join(s.supported_styles):<32} {s.summary}")
    return 0


def _show(args) -> int:
    from zoo.registry import get_spec

    print(json.dumps(get_spec(args.name).to_dict(), indent=2, default=str))
    return 0


def _compile(args) -> int:
    from zoo.registry import get_spec, list_models

    if args.all == bool(args.names):
        raise UsageError("zoo compile: give model names or --all (not both)")
    names = list_models() if args.all else args.names
    for name in names:
        get_spec(name)  # an unknown name fails before anything is written
    from pipelines.compiler import compile_pipeline

    target_options = _vertex_options(args) if args.target == "vertex" else {}
    if args.target == "vertex":
        from pipelines.vertex import options

        options(**target_options)  # validate once, before writing anything
    for name in names:
        print(compile_pipeline(name, args.out, target=args.target, fmt=args.fmt, image=args.image,
                               **target_options))
    return 0


def _submit(args) -> int:
    from pipelines.submit import build_job, dry_run, submit
    from zoo.registry import check_style, get_spec

    spec = get_spec(args.name)
    check_style(spec, args.style)
    job = build_job(
        args.name, project=args.project, region=args.region, pipeline_root=args.pipeline_root, image=args.image,
        baseline_uri=args.baseline_uri, dataset=args.dataset, style=args.style, epochs=args.epochs,
        batch_size=args.batch_size, learning_rate=args.learning_rate, hparams=dict(args.hparam), require_significance=args.require_significance, offline=args.dry_run,
        experiment=args.experiment, **_vertex_options(args),
    )
    if args.dry_run:
        print(json.dumps(dry_run(job, args.experiment), indent=2, sort_keys=True))
        return 0
    print(submit(job, service_account=args.service_account, experiment=args.experiment))
    return 0


def _run(args) -> int:
    from zoo.registry import check_style, get_spec

    spec = get_spec(args.name)
    check_style(spec, args.style)
    for flag in ("epochs", "batch_size", "learning_rate"):
        value = getattr(args, flag)
        if value is not None and not value > 0:
            raise UsageError(f"zoo run: --{flag.replace('_', '-')} must be positive, got {value}")
    from pipelines.local import run_local

    summary = run_local(
        args.name, args.root, dataset=args.dataset, style=args.style, hparams=dict(args.hparam),
        epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate, seed=args.seed,
        backend=args.backend, min_delta=args.min_delta, floor=args.floor,
        require_significance=args.require_significance, quiet=not args.verbose,
    )
    print("\n".join(summary.lines()))
    return 0 if summary.succeeded else 1


def _serve(args) -> int:
    from zoo.pipeline import serving

    if args.threads is not None and args.threads < 1 or not args.read_timeout > 0 or not args.max_body_mb > 0:
        raise UsageError("zoo serve: --threads, --read-timeout and --max-body-mb must be positive")
    if args.vertex:
        if args.name or args.port is not None:
            raise UsageError("zoo serve --vertex: the model and port come from AIP_STORAGE_URI and AIP_HTTP_PORT; "
                             "give no NAME or --port")
        vertex = serving.VertexSettings.from_environ()
        load, port = serving.storage_loader(vertex.storage_uri), vertex.port
        host, health, predict = args.host or "0.0.0.0", vertex.health_route, vertex.predict_route
        what = vertex.storage_uri
    else:
        if not args.name:
            raise UsageError("zoo serve: give the model NAME (or --vertex)")
        folder, version = serving.deployed_location(args.root, args.name, args.dataset)
        load = serving.storage_loader(folder, version)
        host, port = args.host or "127.0.0.1", 8080 if args.port is None else args.port
        health, predict = serving.HEALTH_PATH, serving.PREDICT_PATH
        what = f"{args.name} version {version}"

    def announce(bound: str, bound_port: int) -> None:
        print(f"serving {what} at http://{bound}:{bound_port}: POST {predict}, GET {health} (503 until the "
              "model is loaded; Ctrl-C to stop)", flush=True)

    try:
        serving.serve(load, host=host, port=port, predict_route=predict, health_route=health,
                      read_timeout=args.read_timeout, workers=args.threads,
                      max_body_bytes=int(args.max_body_mb * 1024 * 1024), announce=announce)
    except OSError as err:  # the port is taken, or the address is not this machine's
        raise UsageError(f"zoo serve: cannot listen on {host}:{port}: {err.strerror or err}") from None
    return 0


def _rollback(args) -> int:
    from zoo.registry import check_dataset, get_spec

    spec = get_spec(args.name)
    if args.local:
        dataset = args.dataset or spec.offline_datasets[0]
        check_dataset(spec, dataset)
        from zoo.pipeline.release import rollback_local

        done = rollback_local(args.root, args.name, dataset, to=args.to)
        where = done["path"]
    else:
        if not (args.region and args.baseline_uri):
            raise UsageError("zoo rollback --project: give --region and --baseline-uri too")
        dataset = args.dataset or (spec.online_datasets or spec.offline_datasets)[0]
        check_dataset(spec, dataset)
        from zoo.pipeline.vertex_deploy import rollback

        done = rollback(model=args.name, dataset=dataset, baseline_uri=args.baseline_uri, to=args.to,
                        serving_machine_type=args.serving_machine_type, project=args.project, location=args.region)
        where = f"{done['model_resource']} on {done['endpoint']}"
    print(f"{args.name} on {dataset}: version {done['version']} serves again (was {done['replaced']}); "
          f"baseline {done['metric']} {done['value']:.6g}; {where}")
    return 0


def _predict(args) -> int:
    from zoo.registry import check_dataset, get_spec

    spec = get_spec(args.name)  # an unknown model (or dataset) fails first
    if args.dataset:
        check_dataset(spec, args.dataset)
    if args.local:
        if args.region or args.dry_run or args.model_id:
            raise UsageError("zoo predict --local: --region, --model-id and --dry-run are for Vertex AI (--project)")
        from zoo.pipeline.batch_predict import InputError, predict_local

        try:
            summary = predict_local(args.name, args.input, args.output, root=args.root, dataset=args.dataset,
                                    batch_size=args.batch_size)
        except (InputError, ReleaseError) as err:  # no deployment, unreadable input: nothing was predicted
            raise UsageError(f"zoo predict: {' '.join(str(err).split())}") from None
        print("\n".join(summary.lines()))
        return 0 if summary.succeeded else 1
    if not args.region:
        raise UsageError("zoo predict --project: give --region too")
    from pipelines.batch_predict import build_request, submit, to_json

    request = build_request(args.name, project=args.project, region=args.region, input_uri=args.input,
                            output_uri=args.output, dataset=args.dataset, model_id=args.model_id,
                            machine_type=args.machine_type, replicas=args.replicas, batch_size=args.batch_size,
                            service_account=args.service_account)
    if args.dry_run:
        print(to_json(request))
        if not args.model_id:
            print("zoo predict: MODEL_ID is looked up at submit time (the registry model named "
                  f"{request.batch_prediction_job.labels['zoo-registry-model']}); give --model-id to fix it",
                  file=sys.stderr)
        return 0
    print(submit(request))
    return 0


def _tune(args) -> int:
    from zoo.registry import get_spec

    get_spec(args.name)  # an unknown model fails first
    for flag in ("max_trials", "epochs", "parallel_trials"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise UsageError(f"zoo tune: --{flag.replace('_', '-')} must be at least 1, got {value}")
    if args.local:
        if args.region or args.pipeline_root or args.image or args.dry_run:
            raise UsageError("zoo tune --local: --region, --pipeline-root, --image and --dry-run are for Vertex AI "
                             "(--project)")
        from zoo.tuning import trial_line, tune_local

        result = tune_local(args.name, args.root, max_trials=args.max_trials or 5, epochs=args.epochs or 2,
                            dataset=args.dataset, seed=args.seed, algorithm=args.algorithm, style=args.style,
                            hparams=dict(args.hparam), quiet=not args.verbose,
                            on_trial=lambda trial, metric: print(trial_line(trial, metric), flush=True))
        print("\n".join(result.lines(trials=False)))
        return 0 if result.best else 1
    if not (args.region and args.pipeline_root):
        raise UsageError("zoo tune --project: give --region and --pipeline-root too")
    from pipelines.tuning import build_tuning_job, report, run

    target = dict(project=args.project, region=args.region, pipeline_root=args.pipeline_root)
    job = build_tuning_job(args.name, **target, image=args.image, dataset=args.dataset, style=args.style,
                           epochs=args.epochs, hparams=dict(args.hparam), seed=args.seed, data_dir=args.data_dir,
                           max_trials=args.max_trials or 10, parallel_trials=args.parallel_trials,
                           algorithm=args.algorithm, offline=args.dry_run, accelerator=args.accelerator,
                           machine_type=args.machine_type, accelerator_type=args.accelerator_type,
                           accelerator_count=args.accelerator_count)
    if args.dry_run:
        print(json.dumps(job.to_dict(), indent=2, sort_keys=True))
        return 0
    print(run(job, service_account=args.service_account))
    print("\n".join(report(job, args.name, **target, dataset=args.dataset, style=args.style,
                           hparams=dict(args.hparam))))
    return 0


def _runs(args) -> int:
    from zoo.pipeline.runs import describe, list_runs  # plain Python: no TensorFlow, kfp or Cloud SDK
    from zoo.registry import get_spec

    spec = get_spec(args.name)  # an unknown model: one line, exit 2
    runs = list_runs(args.root, args.name)
    if args.json:
        print(json.dumps([run.record() for run in runs], indent=2))
        return 0
    if not runs:
        print(f"No runs of {args.name} under {args.root}/pipeline_root (`zoo run {args.name} --local --root "
              f"{args.root}` makes one).")
        return 0
    print(f"{args.name}: {len(runs)} run(s) under {args.root}/pipeline_root, newest first")
    for run in runs:
        print("\n".join(["", *describe(run, dict(spec.defaults))]))
    return 0


COMMANDS = {
    "list": _list,
    "show": _show,
    "compile": _compile,
    "submit": _submit,
    "run": _run,
    "serve": _serve,
    "rollback": _rollback,
    "tune": _tune,
    "predict": _predict,
    "runs": _runs,
}


# Top-level modules of the `pipelines` extra: without them the library works but no pipeline runs.
PIPELINE_EXTRA_MODULES = ("kfp", "google")
# Those of the `serving` extra (which `pipelines` includes): the prediction server.
SERVING_EXTRA_MODULES = ("fastapi", "starlette", "uvicorn", "h11")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        try:
            return COMMANDS[args.command](args)
        except ModuleNotFoundError as err:
            top = (err.name or "").split(".")[0]
            if top not in PIPELINE_EXTRA_MODULES + SERVING_EXTRA_MODULES:
                raise
            extra = "serving" if top in SERVING_EXTRA_MODULES else "pipelines"
            raise UsageError(f"zoo {args.command} needs the {extra} extra ({err.name} is not installed): "
                             f"pip install 'keras-vertex-zoo[{extra}]'") from None
    except UsageError as err:
        print(str(err), file=sys.stderr)
        return 2
    except RELEASE_ERRORS as err:
        print(f"zoo: {' '.join(str(err).split())}", file=sys.stderr)
        return 1
    except ValueError as err:  # unknown model, style, dataset, hyperparameter, bad value
        print(f"zoo: {' '.join(str(err).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
