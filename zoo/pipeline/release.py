"""Releases on the local target: which version serves, how a new one takes over, how an earlier one comes back.

Three records say what is deployed, and they must agree:
- the baseline (`baselines/<model>/<dataset>.json`: the gate's reference, with the versions served before);
- the registry's `serving` alias (`registry/<model>/aliases.json`: {"serving": {dataset: version}}), as
  Vertex AI's Model Registry has one alias per model;
- what serves: `zoo serve NAME` loads the version the alias names.

A deploy copies the model into a new registry version (`registry/<model>/<n>/`, with its evaluation,
scores included, beside it) and records that evaluation for rollbacks, then checks the version is healthy
(it loads and answers a sample request on the server's own code path) before anything points at it. Only then,
holding the model's deploy lease (`BaselineStore.lease`), does it compare with the baseline once more, move
the alias and record the baseline, restoring the alias if the record fails. A run that loses to a better
concurrent one changes nothing: its version stays in the registry, unserved. `rollback` moves the alias
and the baseline back together, under the same lease, to a version recorded earlier.

Vertex AI's counterpart (Model Registry alias, endpoint traffic, baseline on Cloud Storage) is
`zoo.pipeline.vertex_deploy`; both share `rollback_target` and the baseline records.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from typing import Any

from zoo.pipeline.baseline import Baseline, better, open_store, write_atomically

SERVING_ALIAS = "serving"
ALIASES_FILE = "aliases.json"


class ReleaseError(RuntimeError):
    """A deploy or rollback that cannot go ahead; nothing that serves was changed."""


def baseline_record(evaluation: dict, version: str, location: str):
    """The baseline that version `version` (stored at `location`) earns with `evaluation`."""
    return Baseline(
        model=evaluation["model"], dataset=evaluation["dataset"], metric=evaluation["metric"],
        direction=evaluation["direction"], value=float(evaluation["value"]), version=str(version), location=location,
        test_fingerprint=evaluation.get("test_fingerprint"), scores=evaluation.get("scores"),
    )


def rollback_target(current, to: str | None) -> tuple[str, list[str]]:
    """(version to restore, history it will carry) for a rollback from the `current` baseline.

    Without `to`, the version that served before the current one; rolling back again goes further back.
    With `to`, that version; if it served before, the history is cut back to what preceded it, otherwise
    (a version that never served) the current version joins the history.
    """
    if current is None:
        raise ReleaseError("Nothing is deployed, so there is nothing to roll back.")
    if to is None:
        if not current.history:
            raise ReleaseError(f"Version {current.version} is the first deployed version of {current.model} on "
                               f"{current.dataset}; there is no earlier one. Name one with --to.")
        return current.history[-1], current.history[:-1]
    to = str(to)
    if to == current.version:
        raise ReleaseError(f"Version {to} of {current.model} on {current.dataset} is already serving.")
    if to in current.history:
        return to, current.history[:len(current.history) - 1 - current.history[::-1].index(to)]
    return to, [*current.history, current.version]


# ------------------------------------------------------------------------------------------ the registry
class LocalRegistry:
    """Model versions as folders `root/<model>/<n>/` and the `serving` alias per dataset."""

    def __init__(self, root: str):
        self.root = root

    def new_version(self, model: str) -> tuple[str, str]:
        """A new, empty version folder: (version, path); `os.mkdir` is atomic, so concurrent runs never share one."""
        model_root = os.path.join(self.root, model)
        os.makedirs(model_root, exist_ok=True)
        while True:
            versions = [int(n) for n in os.listdir(model_root) if n.isdigit()]
            version = str(max(versions, default=0) + 1)
            path = os.path.join(model_root, version)
            try:
                os.mkdir(path)
                return version, path
            except FileExistsError:
                continue

    def path(self, model: str, version: str) -> str:
        return os.path.join(self.root, model, str(version))

    def _aliases_path(self, model: str) -> str:
        return os.path.join(self.root, model, ALIASES_FILE)

    def serving(self, model: str, dataset: str) -> str | None:
        """The version the `serving` alias names for `dataset`, or None."""
        path = self._aliases_path(model)
        try:
            with open(path, encoding="utf-8") as f:
                aliases = json.load(f)
            version = aliases.get(SERVING_ALIAS, {}).get(dataset)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, AttributeError) as err:
            raise ReleaseError(f"Unreadable registry aliases {path}: {err}. Fix or delete the file.") from None
        return None if version is None else str(version)

    def set_serving(self, model: str, dataset: str, version: str | None) -> None:
        """Point the `serving` alias for `dataset` at `version` (None removes it); an atomic file replace.

        Callers hold the model's deploy lease, so read-modify-write here does not race."""
        path = self._aliases_path(model)
        try:
            with open(path, encoding="utf-8") as f:
                aliases = json.load(f)
        except FileNotFoundError:
            aliases = {}
        serving = dict(aliases.get(SERVING_ALIAS, {}))
        if version is None:
            serving.pop(dataset, None)
        else:
            serving[dataset] = str(version)
        aliases[SERVING_ALIAS] = serving
        write_atomically(path, json.dumps(aliases, indent=2, sort_keys=True))


def check_health(path: str, version: str) -> None:
    """Load the version's SavedModel as the server does and answer a sample request; ReleaseError if not."""
    from zoo.pipeline.serving import Predictor

    try:
        predictor = Predictor(os.path.join(path, "saved_model"), version=version)
        answer = predictor.predict({"instances": predictor.sample_instances(2)})
        if len(answer["predictions"]) != 2:
            raise ValueError(f"{len(answer['predictions'])} predictions for 2 instances")
    except Exception as err:  # anything: a version that cannot serve must not take over
        raise ReleaseError(f"Version {version} at {path} failed its health check ({type(err).__name__}: "
                           f"{' '.join(str(err).split())[:300]}); nothing that serves was changed.") from None


# ---------------------------------------------------------------------------------------------- deploy
def deploy_local(model_dir: str, evaluation: dict, registry_root: str, baseline_uri: str, *,
                 health_check=check_health) -> dict:
    """Copy the model into a new registry version and make it serve, if it still beats the baseline."""
    name, dataset = evaluation["model"], evaluation["dataset"]
    registry, store = LocalRegistry(registry_root), open_store(baseline_uri)
    version, path = registry.new_version(name)
    for file in ("model.keras", "metadata.json"):
        shutil.copy2(os.path.join(model_dir, file), os.path.join(path, file))
    shutil.copytree(os.path.join(model_dir, "saved_model"), os.path.join(path, "saved_model"))
    with open(os.path.join(path, "evaluation.json"), "w", encoding="utf-8") as f:
        json.dump(evaluation, f, indent=2)
    record = baseline_record(evaluation, version, path)
    store.record_version(record)
    result: dict[str, Any] = {"model": name, "dataset": dataset, "version": version, "path": path,
                              "baseline_recorded": False, "serving": False}
    health_check(path, version)

    with store.lease(name, dataset):
        current = store.read(name, dataset)
        if current is not None and not better(record.value, current.value, record.direction):
            result["note"] = (f"A concurrent run deployed a model at least as good ({current.metric} "
                              f"{current.value:.6g}, version {current.version}); it keeps serving.")
            return result
        before = registry.serving(name, dataset)
        registry.set_serving(name, dataset, version)
        try:
            written, current = store.propose(record)
            if not written:  # only if the lease was bypassed: the baseline is the authority
                raise ReleaseError(f"version {current.version} was recorded meanwhile")
        except BaseException:
            registry.set_serving(name, dataset, before)
            raise
    result.update(baseline_recorded=True, serving=True, replaced=None if current is None else current.version)
    return result


def rollback_local(root: str, model: str, dataset: str, to: str | None = None, *,
                   health_check=check_health) -> dict:
    """Serve an earlier version of `model` on `dataset` again, with the baseline it earned (local target)."""
    registry = LocalRegistry(os.path.join(root, "registry"))
    store = open_store(os.path.join(root, "baselines"))
    with store.lease(model, dataset):
        current = store.read(model, dataset)
        target, history = rollback_target(current, to)
        record = store.read_version(model, dataset, target)
        if record is None or not os.path.isdir(record.location):
            raise ReleaseError(f"No deployable version {target} of {model} on {dataset} is recorded under {root}.")
        health_check(record.location, target)
        before = registry.serving(model, dataset)
        registry.set_serving(model, dataset, target)
        try:
            store.replace(dataclasses.replace(record, history=history), expected=current)
        except BaseException:
            registry.set_serving(model, dataset, before)
            raise
    return {"model": model, "dataset": dataset, "version": target, "replaced": current.version,
            "metric": record.metric, "value": record.value, "path": record.location}


def serving_location(root: str, model: str, dataset: str) -> tuple[str, str]:
    """(folder, version) of what serves `model` on `dataset` under `root`: the version the alias names."""
    registry = LocalRegistry(os.path.join(root, "registry"))
    version = registry.serving(model, dataset)
    if version is None:
        raise ReleaseError(f"No {model} model trained on {dataset} is deployed under {root}; run `zoo run {model} "
                           f"--local --root {root}` first.")
    return registry.path(model, version), version
