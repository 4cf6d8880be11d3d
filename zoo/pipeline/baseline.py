"""The record of what is deployed: the seed notes' `latest_acc`, one per model name and dataset.

A baseline holds the gate metric of the deployed model (and its per-example test scores, for the paired
significance test), where that model lives, when it was recorded, and the versions that served before it
(`history`, oldest first, which `zoo rollback` walks back). Stores update it through `propose`, a
compare-and-swap that never replaces a better baseline, or `replace` (a rollback: an explicit write over
exactly the baseline read). Locally that is a lock file and `os.replace`; on Google Cloud an object write
with a generation precondition (`GcsBaselineStore`).

Beside the baseline a store keeps one immutable record per deployed version (`record_version`): its
evaluation, scores included, so that a rollback restores a version together with the baseline it earned.

A deploy changes three things that must agree: the baseline, the registry's `serving` alias and what the
endpoint serves. `lease(model, dataset)` serialises deploys and rollbacks of one model and dataset across
processes and machines, so that they change together: locally an exclusive `flock` (released by the kernel
if the process dies); on Cloud Storage a lease object created only if absent, with an expiry after which
another run may break it (a run that died holding it cannot block deploys for longer than the lease).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import math
import os
import socket
import tempfile
import time
import uuid
from typing import Any, Callable

SCHEMA = 1
# Versions remembered in a baseline's history (what `zoo rollback` can walk back to without --to).
HISTORY = 50
# How long a Cloud Storage lease lasts before another run may break it, and how long a run waits for one.
LEASE_TTL_S = 3 * 3600
LEASE_WAIT_S = 3600


class BaselineError(RuntimeError):
    """The baseline exists but cannot be read or trusted; the gate fails rather than deploy by accident."""


class LeaseError(RuntimeError):
    """Another run holds the model's deploy lease for longer than this run waits."""


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclasses.dataclass
class Baseline:
    model: str
    dataset: str
    metric: str
    direction: str
    value: float
    version: str
    location: str
    recorded_at: float = dataclasses.field(default_factory=time.time)
    test_fingerprint: str | None = None
    scores: list[float] | None = None
    history: list[str] = dataclasses.field(default_factory=list)
    schema: int = SCHEMA

    def succeeding(self, current: "Baseline | None") -> "Baseline":
        """This record as the baseline that replaces `current`: `current`'s version joins the history."""
        history = [] if current is None else [*current.history, current.version][-HISTORY:]
        return dataclasses.replace(self, history=history)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: str) -> "Baseline":
        try:
            data = json.loads(text)
            fields = {f.name for f in dataclasses.fields(cls)}
            missing = {"model", "dataset", "metric", "direction", "value", "version", "location"} - set(data)
            if missing or not isinstance(data, dict):
                raise ValueError(f"missing fields {sorted(missing)}")
            baseline = cls(**{k: v for k, v in data.items() if k in fields})
            baseline.value = float(baseline.value)
            if not math.isfinite(baseline.value) or baseline.direction not in ("max", "min"):
                raise ValueError(f"value={baseline.value!r}, direction={baseline.direction!r}")
            if not isinstance(baseline.history, list) or not all(isinstance(v, str) for v in baseline.history):
                raise ValueError(f"history must list version names. Received: {baseline.history!r}")
        except (ValueError, TypeError) as err:
            raise BaselineError(f"Corrupt baseline {where}: {err}. Fix or delete it; nothing was deployed.") from None
        return baseline


def write_atomically(path: str, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the new one, never a part of it."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def better(a: float, b: float, direction: str) -> bool:
    """Whether metric value `a` is strictly better than `b`."""
    return a > b if direction == "max" else a < b


class LocalBaselineStore:
    """Baselines as JSON files under `root/<model>/<dataset>.json`."""

    def __init__(self, root: str):
        self.root = root

    def _path(self, model: str, dataset: str) -> str:
        return os.path.join(self.root, model, dataset.replace("/", "__") + ".json")

    def _version_path(self, model: str, dataset: str, version: str) -> str:
        return os.path.join(self.root, model, dataset.replace("/", "__") + ".versions", f"{version}.json")

    def read(self, model: str, dataset: str) -> Baseline | None:
        return self._read_file(self._path(model, dataset))

    def _read_file(self, path: str) -> Baseline | None:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as err:
            raise BaselineError(f"Unreadable baseline {path}: {err}. Nothing was deployed.") from None
        return Baseline.from_json(text, path)

    @contextlib.contextmanager
    def _locked(self, model: str, dataset: str):
        path = self._path(model, dataset)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield path
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def propose(self, candidate: Baseline) -> tuple[bool, Baseline | None]:
        """Record `candidate` unless the current baseline is at least as good. Returns (written, current).

        The written record carries the current version in its history (`Baseline.succeeding`)."""
        with self._locked(candidate.model, candidate.dataset) as path:
            current = self.read(candidate.model, candidate.dataset)
            if current is not None and not better(candidate.value, current.value, candidate.direction):
                return False, current
            write_atomically(path, candidate.succeeding(current).to_json())
            return True, current

    def replace(self, record: Baseline, expected: Baseline) -> None:
        """Write `record` over the current baseline, which must still be `expected` (a rollback)."""
        with self._locked(record.model, record.dataset) as path:
            if self.read(record.model, record.dataset) != expected:
                raise BaselineError(f"The baseline of {record.model} on {record.dataset} changed during the rollback; "
                                    "nothing was rolled back.")
            write_atomically(path, record.to_json())

    def record_version(self, record: Baseline) -> None:
        """Keep `record` (a version's evaluation) for a later rollback to that version."""
        write_atomically(self._version_path(record.model, record.dataset, record.version), record.to_json())

    def read_version(self, model: str, dataset: str, version: str) -> Baseline | None:
        return self._read_file(self._version_path(model, dataset, version))

    @contextlib.contextmanager
    def lease(self, model: str, dataset: str, **_):
        """Hold the deploy lease of `model` on `dataset` (an exclusive flock; waits for the holder)."""
        path = os.path.join(self.root, model, dataset.replace("/", "__") + ".lease")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


class GcsBaselineStore:
    """Baselines as objects `gs://bucket/prefix/<model>/<dataset>.json`, updated with generation preconditions.

    `propose` reads the object and its generation (from the same response as its content), decides, and
    writes with `if_generation_match` (0: only if there is no object yet). When another run wrote in
    between, Cloud Storage refuses the write (412) and the decision is taken again against what that run
    wrote, so a better baseline is never overwritten. The client retries a write whose response was lost;
    the retry then fails its own precondition, and the re-read finds this very baseline: that is a success.
    """

    def __init__(self, uri: str, client: Any = None):
        bucket, _, prefix = uri[len("gs://"):].partition("/") if uri.startswith("gs://") else ("", "", "")
        if not bucket:
            raise ValueError(f"A Cloud Storage baseline root looks like gs://BUCKET[/PREFIX]. Received: {uri!r}")
        self.uri, self.bucket_name, self.prefix = uri, bucket, prefix.strip("/")
        self._client = client

    @property
    def client(self):
        if self._client is None:
            from google.cloud import storage

            self._client = storage.Client()
        return self._client

    def _object(self, model: str, dataset: str, suffix: str = ".json"):
        name = "/".join(p for p in (self.prefix, model, dataset.replace("/", "__") + suffix) if p)
        return self.client.bucket(self.bucket_name).blob(name)

    def _blob(self, model: str, dataset: str):
        return self._object(model, dataset)

    @staticmethod
    def _why(err: Exception) -> str:
        return f"{type(err).__name__}: {' '.join(str(err).split())[:300]}"

    def _read_with_generation(self, model: str, dataset: str, blob=None) -> tuple[Baseline | None, int]:
        from google.api_core import exceptions

        blob = blob or self._blob(model, dataset)
        where = f"gs://{self.bucket_name}/{blob.name}"
        try:
            data = blob.download_as_bytes()
        except exceptions.NotFound:
            return None, 0
        except exceptions.GoogleAPICallError as err:  # e.g. Forbidden: never read as "no baseline yet"
            raise BaselineError(f"Unreadable baseline {where}: {self._why(err)}. Nothing was deployed.") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise BaselineError(f"Corrupt baseline {where}: not UTF-8 text ({err.reason} at byte {err.start}). "
                                "Fix or delete it; nothing was deployed.") from None
        if blob.generation is None:  # the precondition needs it; without it a write could clobber
            raise BaselineError(f"Unreadable baseline {where}: the response carried no generation.")
        return Baseline.from_json(text, where), int(blob.generation)

    def read(self, model: str, dataset: str) -> Baseline | None:
        return self._read_with_generation(model, dataset)[0]

    def propose(self, candidate: Baseline, attempts: int = 5) -> tuple[bool, Baseline | None]:
        """Record `candidate` unless the current baseline is at least as good. Returns (written, previous)."""
        from google.api_core import exceptions

        previous: Baseline | None = None
        for attempt in range(attempts):
            current, generation = self._read_with_generation(candidate.model, candidate.dataset)
            if attempt > 0 and current is not None and dataclasses.replace(current, history=candidate.history) == candidate:
                return True, previous  # our own write landed; only its response was lost
            if current is not None and not better(candidate.value, current.value, candidate.direction):
                return False, current
            previous = current
            blob = self._blob(candidate.model, candidate.dataset)
            try:
                blob.upload_from_string(candidate.succeeding(current).to_json(), content_type="application/json",
                                        if_generation_match=generation)
                return True, current
            except exceptions.PreconditionFailed:
                continue  # another run recorded a baseline in between: decide again against it
            except exceptions.GoogleAPICallError as err:
                raise BaselineError(f"Could not record the baseline gs://{self.bucket_name}/{blob.name}: "
                                    f"{self._why(err)}") from None
        raise BaselineError(f"Baseline for {candidate.model}/{candidate.dataset} kept changing during "
                            f"{attempts} attempts; not recorded.")

    def replace(self, record: Baseline, expected: Baseline) -> None:
        """Write `record` over the current baseline, which must still be `expected` (a rollback)."""
        from google.api_core import exceptions

        current, generation = self._read_with_generation(record.model, record.dataset)
        if current != expected:
            raise BaselineError(f"The baseline of {record.model} on {record.dataset} changed during the rollback; "
                                "nothing was rolled back.")
        blob = self._blob(record.model, record.dataset)
        try:
            blob.upload_from_string(record.to_json(), content_type="application/json", if_generation_match=generation)
        except exceptions.PreconditionFailed:
            raise BaselineError(f"The baseline of {record.model} on {record.dataset} changed during the rollback; "
                                "nothing was rolled back.") from None

    def record_version(self, record: Baseline) -> None:
        """Keep `record` (a version's evaluation) for a later rollback to that version."""
        blob = self._object(record.model, record.dataset, f".versions/{record.version}.json")
        blob.upload_from_string(record.to_json(), content_type="application/json")

    def read_version(self, model: str, dataset: str, version: str) -> Baseline | None:
        return self._read_with_generation(model, dataset, self._object(model, dataset, f".versions/{version}.json"))[0]

    @contextlib.contextmanager
    def lease(self, model: str, dataset: str, *, ttl_s: float = LEASE_TTL_S, wait_s: float = LEASE_WAIT_S,
              poll_s: float = 10.0):
        """Hold the deploy lease of `model` on `dataset`: an object created only if absent (generation 0).

        A live lease of another run is waited for (up to `wait_s`, then `LeaseError`); an expired one (its
        holder died or overran `ttl_s`) is taken over with a precondition on its generation, so two runs
        never both break it. Released by deleting exactly the generation this run wrote.
        """
        from google.api_core import exceptions

        blob = self._object(model, dataset, ".lease")
        where = f"gs://{self.bucket_name}/{blob.name}"
        holder, deadline, generation = _holder(), time.time() + wait_s, 0
        while True:
            body = json.dumps({"holder": holder, "expires_at": time.time() + ttl_s})
            try:
                blob.upload_from_string(body, content_type="application/json", if_generation_match=generation)
                generation = int(blob.generation)
                break
            except exceptions.PreconditionFailed:
                pass
            try:
                held = json.loads(blob.download_as_bytes())
                generation = int(blob.generation)
                expires_at = float(held["expires_at"])
            except exceptions.NotFound:
                generation = 0  # released in between: try to create it again
                continue
            except (ValueError, KeyError, TypeError):
                expires_at = 0.0  # an unreadable lease protects nothing: treat it as expired
                generation = int(blob.generation or 0)
            if expires_at <= time.time():
                continue  # expired: take it over, conditioned on the generation just read
            if time.time() >= deadline:
                raise LeaseError(f"The deploy lease {where} is held by {held.get('holder')!r} until "
                                 f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(expires_at))}; gave up "
                                 f"after waiting {wait_s:g} s. Nothing was changed.")
            time.sleep(poll_s)
            generation = 0
        try:
            yield
        finally:
            try:
                blob.delete(if_generation_match=generation)
            except (exceptions.NotFound, exceptions.PreconditionFailed):
                pass  # expired and taken over by another run: it is theirs now


def open_store(uri: str, client_factory: Callable[[], Any] | None = None):
    """The baseline store for a local folder or a gs:// prefix."""
    if not uri:
        raise ValueError("baseline_uri is empty: give a folder (local runs) or a gs:// prefix (Vertex AI).")
    if uri.startswith("gs://"):
        return GcsBaselineStore(uri, client=client_factory() if client_factory else None)
    return LocalBaselineStore(uri)
