"""The record of what is deployed: the seed notes' `latest_acc`, one per model name and dataset.

A baseline holds the gate metric of the deployed model (and its per-example test scores, for the paired
significance test), where that model lives, and when it was recorded. Stores update it only through
`propose`, a compare-and-swap that never replaces a better baseline: locally a lock file and `os.replace`;
on Google Cloud an object write with a generation precondition (`GcsBaselineStore`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import math
import os
import tempfile
import time
from typing import Any, Callable

SCHEMA = 1


class BaselineError(RuntimeError):
    """The baseline exists but cannot be read or trusted; the gate fails rather than deploy by accident."""


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
    schema: int = SCHEMA

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
        except (ValueError, TypeError) as err:
            raise BaselineError(f"Corrupt baseline {where}: {err}. Fix or delete it; nothing was deployed.") from None
        return baseline


def better(a: float, b: float, direction: str) -> bool:
    """Whether metric value `a` is strictly better than `b`."""
    return a > b if direction == "max" else a < b


class LocalBaselineStore:
    """Baselines as JSON files under `root/<model>/<dataset>.json`."""

    def __init__(self, root: str):
        self.root = root

    def _path(self, model: str, dataset: str) -> str:
        return os.path.join(self.root, model, dataset.replace("/", "__") + ".json")

    def read(self, model: str, dataset: str) -> Baseline | None:
        path = self._path(model, dataset)
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
        """Record `candidate` unless the current baseline is at least as good. Returns (written, current)."""
        with self._locked(candidate.model, candidate.dataset) as path:
            current = self.read(candidate.model, candidate.dataset)
            if current is not None and not better(candidate.value, current.value, candidate.direction):
                return False, current
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(candidate.to_json())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            return True, current


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

    def _blob(self, model: str, dataset: str):
        name = "/".join(p for p in (self.prefix, model, dataset.replace("/", "__") + ".json") if p)
        return self.client.bucket(self.bucket_name).blob(name)

    @staticmethod
    def _why(err: Exception) -> str:
        return f"{type(err).__name__}: {' '.join(str(err).split())[:300]}"

    def _read_with_generation(self, model: str, dataset: str) -> tuple[Baseline | None, int]:
        from google.api_core import exceptions

        blob = self._blob(model, dataset)
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
            if attempt > 0 and current == candidate:
                return True, previous  # our own write landed; only its response was lost
            if current is not None and not better(candidate.value, current.value, candidate.direction):
                return False, current
            previous = current
            blob = self._blob(candidate.model, candidate.dataset)
            try:
                blob.upload_from_string(candidate.to_json(), content_type="application/json",
                                        if_generation_match=generation)
                return True, current
            except exceptions.PreconditionFailed:
                continue  # another run recorded a baseline in between: decide again against it
            except exceptions.GoogleAPICallError as err:
                raise BaselineError(f"Could not record the baseline gs://{self.bucket_name}/{blob.name}: "
                                    f"{self._why(err)}") from None
        raise BaselineError(f"Baseline for {candidate.model}/{candidate.dataset} kept changing during "
                            f"{attempts} attempts; not recorded.")


def open_store(uri: str, client_factory: Callable[[], Any] | None = None):
    """The baseline store for a local folder or a gs:// prefix."""
    if not uri:
        raise ValueError("baseline_uri is empty: give a folder (local runs) or a gs:// prefix (Vertex AI).")
    if uri.startswith("gs://"):
        return GcsBaselineStore(uri, client=client_factory() if client_factory else None)
    return LocalBaselineStore(uri)
