"""The prediction server: Vertex AI's custom-container contract on FastAPI + uvicorn.

One server, two entries:
- `zoo serve NAME --root DIR` serves the locally deployed version (the one the registry's `serving` alias names) on
  127.0.0.1:8080, routes `/health` and `/predict`.
- `zoo serve --vertex` is the Vertex AI custom container (the component image's CMD): it reads only Vertex's
  variables, `AIP_HTTP_PORT` (8080), `AIP_HEALTH_ROUTE`, `AIP_PREDICT_ROUTE` and `AIP_STORAGE_URI` (a local
  folder or `gs://`, copied down with `tf.io.gfile` before loading), and binds 0.0.0.0.

The model loads in a background thread once the server listens: the health route answers 503 until it is
loaded, then 200 (Vertex's liveness probe only needs the port open; its health check waits for the 200).

Requests follow Vertex's format, `{"instances": [...], "parameters": {...}}` -> `{"predictions": [...],
"deployedModelVersion": ...}`, for every input the zoo serves: float tensors (images of a fixed size or of
any size, feature vectors, latent vectors), strings, integer ids and id sequences, and several named inputs
(each instance an object keyed by input name). Every input is checked against the SavedModel's serving
signature (dtype, rank, fixed dimensions, finiteness) *before* the model runs: a tensor of the wrong rank can
abort a oneDNN CPU process instead of raising.

Encoded images: a model whose one input is an image (`(H, W, C)` floats, C 1, 3 or 4, H and W fixed or free)
also takes an instance `{"b64": "<base64 of a PNG, JPEG, GIF or BMP file>"}` (or `{"<input name>": {"b64":
...}}`), Vertex's convention for binary data: it is how a Vertex AI batch prediction job sends each file of a
`file-list` input, and online clients may send images that way too. The bytes are decoded as
`zoo predict --local` decodes a folder of images (`decode_image`: TensorFlow's `tf.io.decode_image` to C
channels as floats in [0, 1], `tf.image.resize` to a fixed H x W), so both give the same numbers, and the
array is then checked like any instance. Bad base64, bytes that are not such an image and images over
`MAX_IMAGE_PIXELS` (read from the header, before decoding) are bad instances; a model that does not take an
image answers that it takes arrays.

Bad instances: by default a request with one bad instance is refused as a whole (400, below). With the
parameter `"errors": "per_instance"` (`{"instances": [...], "parameters": {"errors": "per_instance"}}`) every
good instance is predicted and each bad one gets `{"error": "<one line>"}` in its place among the
predictions, with a 200. Vertex AI sends a batch prediction job's `model_parameters` as the `"parameters"` of
every request, so `zoo predict --project` sets it: one bad line then fails alone instead of taking the
other instances of its request with it. The request itself (its JSON, `"instances"`, `"parameters"`) must
still be valid. The models take no parameters of their own.

A bad request gets a 4xx with a one-line JSON error (`{"error": "..."}`) and the server keeps serving:
malformed JSON (NaN/Infinity literals included), wrong shapes or types, null or non-finite numbers (1e39
overflows float32), an empty body (400), no Content-Length on a body that is not chunked (411), a body over
the limit (413, refused from its Content-Length before it is read), a request not fully received within the
read timeout (408: slow clients, or a Content-Length larger than the body), and invalid HTTP (400, in JSON
too). Responses are always valid JSON: non-finite outputs become null.

Load: uvicorn's listen backlog is 2048; the model runs on a small thread pool (TensorFlow releases the GIL
while it computes), and past `max_pending` queued requests the server answers 503 rather than queueing
without bound.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import dataclasses
import gc
import json
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from typing import Any, Callable, Iterator, Mapping

import numpy as np

PREDICT_PATH = "/predict"
HEALTH_PATH = "/health"
DEFAULT_PORT = 8080
MAX_INSTANCES = 10_000
# Vertex AI's online prediction requests are at most 1.5 MB; local clients may send bigger image batches.
MAX_BODY_BYTES = 16 * 1024 * 1024
# A request (headers and body) must arrive within this many seconds of its first byte.
READ_TIMEOUT_S = 15.0
MAX_PENDING = 1024
BACKLOG = 2048
# The request parameter that chooses how bad instances are answered: the whole request refused (the default) or
# an error in place of each bad instance's prediction (what a Vertex AI batch prediction job asks for).
ERRORS_PARAMETER = "errors"
ERROR_MODES = ("request", "per_instance")
PER_INSTANCE_ERRORS = {ERRORS_PARAMETER: "per_instance"}
IMAGE_FORMATS = "PNG, JPEG, GIF, BMP"
# An encoded image can decode to far more memory than its bytes (a "decompression bomb"): larger images are
# refused from their header, before they are decoded. 40 megapixels is a 7300 x 5500 photograph.
MAX_IMAGE_PIXELS = 40_000_000

log = logging.getLogger("zoo.serving")


class BadRequest(ValueError):
    """The request cannot be answered as sent; the message says why, in one line."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _one_line(text: str, limit: int = 500) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ------------------------------------------------------------------------------------------- predictor
class Predictor:
    """Predictions from a SavedModel export, validated against its serving signature."""

    def __init__(self, saved_model_dir: str, version: str = "unknown"):
        import tensorflow as tf

        import tensorflow_text  # noqa: F401  (registers the text ops that KerasHub's tokenizers put in exports)

        import zoo  # noqa: F401  (every process that loads a saved zoo model imports zoo first)

        self.version = str(version)
        self._loaded = tf.saved_model.load(saved_model_dir)
        self._fn = self._loaded.signatures["serving_default"]
        _, kwargs = self._fn.structured_input_signature
        self.inputs = {name: spec for name, spec in kwargs.items()}
        self.image_input = image_input(self.inputs)  # the one image input's name, or None
        self._string = tf.string
        self._invalid_argument = tf.errors.InvalidArgumentError

    def sample_instances(self, count: int, free_size: int = 4) -> list:
        """`count` valid instances for the served signature (ones, or a short text; `free_size` for each
        unknown dimension): what a smoke test or a load benchmark sends."""
        def value(spec):
            shape = [d or free_size for d in spec.shape[1:].as_list()]
            if spec.dtype == self._string:
                return np.full(shape, "a good film", dtype=object).tolist() if shape else "a good film"
            return np.ones(shape, dtype=spec.dtype.as_numpy_dtype).tolist()

        one = {name: value(spec) for name, spec in self.inputs.items()}
        return [one if len(one) > 1 else next(iter(one.values())) for _ in range(count)]

    # ----------------------------------------------------------------------------------- conversion
    def _array(self, name: str, values) -> np.ndarray:
        """`values` (the instances' JSON for input `name`) as an array of the signature's dtype and shape."""
        spec = self.inputs[name]
        if spec.dtype == self._string:
            array = _strings(name, values)
        else:
            array = _numbers(name, values, np.dtype(spec.dtype.as_numpy_dtype))
        expected = spec.shape[1:]
        if expected.rank is None:
            return array
        dims = expected.as_list()
        if array.ndim == len(dims) and dims and dims[-1] == 1:
            array = array[..., None]  # a bare value for a (None, 1) input
        shape = tuple(array.shape[1:])
        if len(shape) != len(dims) or any(d is not None and d != s for d, s in zip(dims, shape)) or 0 in shape:
            wanted = "(" + ", ".join("any" if d is None else str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"
            raise BadRequest(f"each instance of {name!r} must have shape {wanted}, got {shape}")
        return array

    def _feeds(self, instances: list) -> list[tuple[list[int], dict[str, np.ndarray]]]:
        """Batches to run, each with the positions of its instances: one batch, or one per instance shape
        for a single input of free size (images of any size)."""
        names = list(self.inputs)
        if len(names) == 1:
            (name,) = names
            values = [i[name] if isinstance(i, dict) and set(i) == {name} else i for i in instances]
            values = [self._image(name, v) if _is_b64(v) else v for v in values]
            if any(isinstance(v, dict) for v in values):
                raise BadRequest(f"each instance must be a value for {name!r} or an object with that one key")
            free = self.inputs[name].shape.rank is not None and None in self.inputs[name].shape[1:].as_list()
            if not free:
                return [(list(range(len(values))), {name: self._array(name, values)})]
            groups: dict[tuple, tuple[list[int], list[np.ndarray]]] = {}
            for index, value in enumerate(values):
                array = self._array(name, [value])
                positions, arrays = groups.setdefault(array.shape, ([], []))
                positions.append(index)
                arrays.append(array)
            return [(positions, {name: np.concatenate(arrays)}) for positions, arrays in groups.values()]
        if any(_is_b64(i) for i in instances):
            raise self._not_images()
        if not all(isinstance(i, dict) and set(i) == set(names) for i in instances):
            raise BadRequest(f"each instance must be an object with exactly the keys {names}")
        return [(list(range(len(instances))), {n: self._array(n, [i[n] for i in instances]) for n in names})]

    def _image(self, name: str, value: dict) -> np.ndarray:
        """A `{"b64": ...}` instance for input `name` decoded to the array the model's image input takes."""
        if name != self.image_input:
            raise self._not_images()
        encoded = value["b64"]
        if not isinstance(encoded, str):
            raise BadRequest(f'"b64" must hold a base64 string; got {_json_type(encoded)}')
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest('the "b64" value is not valid base64 (standard alphabet, padded)') from None
        return decode_image(data, self.inputs[name], what='the "b64" value')

    def _not_images(self) -> BadRequest:
        return BadRequest(f'this model takes arrays, not {{"b64": ...}} images: its input is '
                          f"{describe_inputs(self.inputs)}")

    # ----------------------------------------------------------------------------------------- predict
    def predict(self, body) -> dict:
        """The answer to a request body (parsed JSON); `BadRequest` for a bad request, and for a bad instance
        unless the parameters ask for errors per instance (see the module's docstring)."""
        instances, per_instance = _request(body)
        if per_instance:
            return {"predictions": self._predict_each(instances), "deployedModelVersion": self.version}
        predictions: list[Any] = [None] * len(instances)
        for positions, feeds in self._feeds(instances):
            for position, row in zip(positions, self.run(feeds)):
                predictions[position] = row
        return {"predictions": predictions, "deployedModelVersion": self.version}

    def _predict_each(self, instances: list) -> list:
        """Predictions for the good instances and `{"error": reason}` in place of each bad one."""
        answers: list[Any] = [None] * len(instances)
        checked: list[tuple[int, dict]] = []
        for index, instance in enumerate(instances):
            try:
                checked.append((index, self.check_instance(instance)))
            except BadRequest as err:
                answers[index] = {"error": _one_line(str(err))}
        results = run_each(self, [feeds for _, feeds in checked])
        for (index, _), (ok, value) in zip(checked, results):
            answers[index] = value if ok else {"error": _one_line(value)}
        return answers

    def check_instance(self, instance) -> dict[str, np.ndarray]:
        """One instance converted and checked exactly as the instances of a request are (`BadRequest` when
        it is bad): its feeds, each with a batch dimension of 1. Batch prediction (`zoo.pipeline.batch_predict`)
        checks its input line by line with it, and so do requests with errors per instance, so that one bad
        instance does not sink the others."""
        try:
            ((_, feeds),) = self._feeds([instance])
        except RecursionError:
            raise BadRequest("the instance nests too deeply") from None
        return feeds

    def run(self, feeds: dict[str, np.ndarray]) -> list:
        """The model's outputs, one JSON value per row, for checked `feeds` (`BadRequest` when the model itself
        rejects them, e.g. an id outside its vocabulary)."""
        import tensorflow as tf

        tensors = {k: tf.constant(v) for k, v in feeds.items()}
        try:
            outputs = self._fn(**tensors)
        except self._invalid_argument as err:  # e.g. an id outside the model's vocabulary, asserted in the graph
            lines = [line.strip() for line in getattr(err, "message", str(err)).splitlines() if line.strip()]
            # TensorFlow's first line is "Graph execution error:"; the assertion's own text is what helps.
            message = next((line for line in lines if "assertion failed" in line), lines[0] if lines else "error")
            raise BadRequest(f"the model rejected the request: {_one_line(message)}") from None
        values = {k: _jsonable(v.numpy()) for k, v in outputs.items()}
        if len(values) == 1:
            return next(iter(values.values()))
        return [dict(zip(values, row)) for row in zip(*values.values())]


def _numbers(name: str, values, dtype: np.dtype) -> np.ndarray:
    try:
        array = np.asarray(values)
    except (ValueError, TypeError, OverflowError):  # nested lists of different lengths
        raise BadRequest(f"the instances of {name!r} are nested lists of different lengths") from None
    kind = array.dtype.kind
    what = "integers" if dtype.kind in "iu" else "booleans" if dtype.kind == "b" else "numbers"
    if dtype.kind == "b":
        if kind != "b":
            raise BadRequest(f"{name!r} must hold true/false values")
        return array
    if kind == "O":
        raise BadRequest(f"{name!r} must hold {what}; got null, an object, mixed types, lists of different "
                         "lengths or an integer too large")
    if kind not in "iuf":
        shown = {"U": "strings", "S": "strings", "b": "true/false"}.get(kind, array.dtype.name)
        raise BadRequest(f"{name!r} must hold {what}; got {shown}")
    if dtype.kind in "iu":
        if kind == "f":
            if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
                raise BadRequest(f"{name!r} must hold integers; got fractions or non-finite numbers")
        info = np.iinfo(dtype)
        if array.size and (array.min() < info.min or array.max() > info.max):
            raise BadRequest(f"{name!r} must hold {dtype.name} integers in [{info.min}, {info.max}]")
        return array.astype(dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        converted = array.astype(dtype)
    if not np.all(np.isfinite(converted)):
        raise BadRequest(f"{name!r} must hold finite {dtype.name} numbers; got NaN, infinity or a number beyond "
                         f"the {dtype.name} range")
    return converted


def _strings(name: str, values) -> np.ndarray:
    try:
        array = np.array(values, dtype=object)
    except (ValueError, TypeError):
        raise BadRequest(f"the instances of {name!r} are nested lists of different lengths") from None
    flat = array.reshape(-1)
    if not all(isinstance(v, str) for v in flat):
        raise BadRequest(f"{name!r} must hold strings (lists of equal length where the input has a shape)")
    return array


def _jsonable(array: np.ndarray) -> list:
    """Rows of a model output as JSON values: non-finite floats become null, bytes become text."""
    kind = array.dtype.kind
    if kind == "f" or array.dtype.name == "bfloat16":
        array = array.astype(np.float64)
        finite = np.isfinite(array)
        if not finite.all():
            array = array.astype(object)
            array[~finite] = None
        return array.tolist()
    if kind in "OS":
        decode = np.vectorize(lambda v: v.decode("utf-8", "replace") if isinstance(v, bytes) else v, otypes=[object])
        return decode(array).tolist() if array.size else array.tolist()
    return array.tolist()


def _request(body) -> tuple[list, bool]:
    """The instances of a request body, and whether its parameters ask for errors per instance."""
    if not isinstance(body, dict) or "instances" not in body:
        raise BadRequest('the request must be a JSON object with an "instances" list')
    unknown = sorted(set(body) - {"instances", "parameters"})
    if unknown:
        raise BadRequest(f'unknown request fields {unknown}; send "instances" (and optionally "parameters")')
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise BadRequest('"parameters" must be a JSON object')
    unknown = sorted(set(parameters) - {ERRORS_PARAMETER})
    if unknown:
        raise BadRequest(f'this model takes no parameters; got {unknown} (the server takes only "{ERRORS_PARAMETER}": '
                         f'{" or ".join(json.dumps(m) for m in ERROR_MODES)})')
    mode = parameters.get(ERRORS_PARAMETER, "request")
    if mode not in ERROR_MODES:
        raise BadRequest(f'"{ERRORS_PARAMETER}" must be {" or ".join(json.dumps(m) for m in ERROR_MODES)}; '
                         f"got {_one_line(json.dumps(mode), 80)}")
    instances = body["instances"]
    if not isinstance(instances, list) or not instances:
        raise BadRequest('"instances" must be a non-empty list')
    if len(instances) > MAX_INSTANCES:
        raise BadRequest(f'"instances" holds {len(instances)} items; at most {MAX_INSTANCES} per request')
    return instances, mode == "per_instance"


def run_each(predictor, checked: list[dict[str, np.ndarray]]) -> list[tuple[bool, Any]]:
    """(True, prediction) or (False, reason) for each of the `checked` feeds (`Predictor.check_instance`'s),
    in order: one `predictor.run` per group of equal shapes (images of free size differ); a group the model
    rejects is run again one instance at a time, so that only the culprits fail."""
    results: list[tuple[bool, Any]] = [(False, None)] * len(checked)
    groups: dict[tuple, list[int]] = {}
    for index, feeds in enumerate(checked):
        groups.setdefault(tuple((k, v.shape) for k, v in feeds.items()), []).append(index)
    for positions in groups.values():
        batch = {k: np.concatenate([checked[p][k] for p in positions]) for k in checked[positions[0]]}
        try:
            for position, row in zip(positions, predictor.run(batch)):
                results[position] = (True, row)
        except BadRequest as err:
            if len(positions) == 1:
                results[positions[0]] = (False, str(err))
                continue
            for position in positions:
                try:
                    results[position] = (True, predictor.run(checked[position])[0])
                except BadRequest as one:
                    results[position] = (False, str(one))
    return results


def _is_b64(value) -> bool:
    return isinstance(value, dict) and set(value) == {"b64"}


def _json_type(value) -> str:
    return {bool: "true/false", type(None): "null", dict: "an object", list: "a list"}.get(type(value), "a number")


def describe_inputs(inputs: Mapping) -> str:
    """A serving signature ({name: TensorSpec}) in a few words: `image float32(32, 32, 1), ...`."""
    return ", ".join(f"{n} {s.dtype.name}{tuple(s.shape.as_list()[1:]) if s.shape.rank is not None else '(any)'}"
                     for n, s in inputs.items())


# ---------------------------------------------------------------------------------------------- images
def image_input(inputs: Mapping) -> str | None:
    """The name of the one input of serving signature `inputs` ({name: TensorSpec}) when it is an image,
    `(None, H, W, C)` floats with C 1, 3 or 4 (H and W fixed or free); None for any other model."""
    if len(inputs) != 1:
        return None
    ((name, spec),) = inputs.items()
    shape = spec.shape[1:].as_list() if spec.shape.rank is not None else None
    if not spec.dtype.is_floating or shape is None or len(shape) != 3 or shape[2] not in (1, 3, 4):
        return None
    return name


def decode_image(data: bytes, spec, what: str = "the image") -> np.ndarray:
    """Encoded image bytes as the image input `spec` ((None, H, W, C) floats) takes them, `(H, W, C)` float32.

    TensorFlow decodes them (`tf.io.decode_image`: PNG, JPEG, GIF (its first frame), BMP) to C channels as
    floats in [0, 1], the scale the zoo's image datasets train on, and `tf.image.resize` (bilinear, as
    `zoo.data.adapt.fit_images` fits the datasets) brings them to a fixed H x W; an input of free size keeps
    the image's own size. The one conversion of both `zoo predict --local` (a folder of images) and the
    server (`{"b64": ...}` instances). A `BadRequest` that names `what` when the bytes are not such an image
    or it has more than `MAX_IMAGE_PIXELS` pixels.
    """
    import tensorflow as tf

    size = _image_size(data)
    if size is not None and size[0] * size[1] > MAX_IMAGE_PIXELS:
        raise BadRequest(f"{what} is an image of {size[0]} x {size[1]} pixels; at most {MAX_IMAGE_PIXELS:,} pixels")
    height, width, channels = spec.shape[1:].as_list()
    try:
        image = tf.io.decode_image(data, channels=channels, expand_animations=False, dtype=tf.float32)
    except tf.errors.InvalidArgumentError:
        raise BadRequest(f"{what} is not an image TensorFlow decodes ({IMAGE_FORMATS})") from None
    if height is not None and width is not None and tuple(image.shape[:2]) != (height, width):
        image = tf.image.resize(image, (height, width))
    return image.numpy()


def _image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from an encoded image's header, without decoding its pixels (Pillow's `Image.open` is
    lazy); None when Pillow does not recognise it (then TensorFlow's decoder decides)."""
    import io
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                return image.size
    except Image.DecompressionBombError:  # Pillow's own limit (twice its MAX_IMAGE_PIXELS), above ours
        return MAX_IMAGE_PIXELS + 1, 1
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for bytes that are not an image it knows
        return None


# --------------------------------------------------------------------------------- where models come from
def deployed_location(root: str, model: str, dataset: str | None = None) -> tuple[str, str]:
    """(model folder, version) of the version the registry's `serving` alias names under `root`; no TensorFlow."""
    from zoo.pipeline.release import serving_location
    from zoo.registry import get_spec

    return serving_location(root, model, dataset or get_spec(model).offline_datasets[0])


def deployed_predictor(root: str, model: str, dataset: str | None = None) -> Predictor:
    """The predictor of the version that the baseline under `root` says is deployed."""
    folder, version = deployed_location(root, model, dataset)
    return Predictor(os.path.join(folder, "saved_model"), version=version)


def _is_local(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file://")


def saved_model_path(uri: str) -> tuple[str, str | None]:
    """The local SavedModel folder for `uri` and a temporary folder to remove afterwards (or None).

    `uri` is a SavedModel folder (what Vertex copies from the model's artifact_uri) or a model folder that
    holds `saved_model/` (a local registry version); remote ones (`gs://`) are copied down first.
    """
    import tensorflow as tf

    uri = uri[len("file://"):] if uri.startswith("file://") else uri
    uri = uri.rstrip("/") or "/"
    for candidate in (uri, uri + "/saved_model"):
        if tf.io.gfile.exists(candidate + "/saved_model.pb"):
            break
    else:
        raise FileNotFoundError(f"No SavedModel at {uri}: expected saved_model.pb there or in {uri}/saved_model")
    if _is_local(candidate):
        return candidate, None
    local = tempfile.mkdtemp(prefix="zoo-serve-")
    copy_tree(candidate, local)
    return local, local


def copy_tree(source: str, destination: str) -> None:
    """Copy a folder (any tf.io.gfile filesystem: gs://, local, ram://) into a local folder."""
    import tensorflow as tf

    source = source.rstrip("/")
    for parent, _, files in tf.io.gfile.walk(source):
        relative = parent[len(source):].strip("/")
        target = os.path.join(destination, relative)
        os.makedirs(target, exist_ok=True)
        for name in files:
            tf.io.gfile.copy(f"{parent.rstrip('/')}/{name}", os.path.join(target, name), overwrite=True)


@dataclasses.dataclass(frozen=True)
class VertexSettings:
    """What Vertex AI tells a custom prediction container, from its AIP_* variables."""

    port: int
    health_route: str
    predict_route: str
    storage_uri: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> "VertexSettings":
        environ = os.environ if environ is None else environ
        storage = environ.get("AIP_STORAGE_URI", "")
        if not storage:
            raise ValueError("AIP_STORAGE_URI is not set: Vertex AI sets it to the model's artifacts (a gs:// "
                             "folder); set it to a SavedModel or model folder to run the container yourself.")
        try:
            port = int(environ.get("AIP_HTTP_PORT") or DEFAULT_PORT)
        except ValueError:
            raise ValueError(f"AIP_HTTP_PORT must be a port number, got {environ['AIP_HTTP_PORT']!r}") from None
        routes = (environ.get("AIP_HEALTH_ROUTE") or HEALTH_PATH, environ.get("AIP_PREDICT_ROUTE") or PREDICT_PATH)
        for route in routes:
            if not route.startswith("/"):
                raise ValueError(f"AIP_HEALTH_ROUTE and AIP_PREDICT_ROUTE must start with '/', got {route!r}")
        return cls(port=port, health_route=routes[0], predict_route=routes[1], storage_uri=storage)


def storage_loader(uri: str, version: str | None = None) -> Callable[[], Predictor]:
    """A loader (run in the server's background thread) for the model at `uri`; a local `uri` without a
    SavedModel fails here, at once (a remote one is looked at when the loader runs)."""
    if _is_local(uri):
        folder = uri[len("file://"):] if uri.startswith("file://") else uri
        if not any(os.path.isfile(os.path.join(folder, *sub, "saved_model.pb")) for sub in ((), ("saved_model",))):
            raise ValueError(f"No SavedModel at {uri}: expected saved_model.pb there or in its saved_model folder.")

    def load() -> Predictor:
        path, temporary = saved_model_path(uri)
        try:
            return Predictor(path, version=version or os.environ.get("ZOO_MODEL_VERSION")
                             or os.environ.get("AIP_DEPLOYED_MODEL_ID") or "unknown")
        finally:
            if temporary:
                shutil.rmtree(temporary, ignore_errors=True)

    return load


# -------------------------------------------------------------------------------------------------- app
class _State:
    def __init__(self, load: Callable[[], Predictor], workers: int):
        self.load = load
        self.predictor: Predictor | None = None
        self.error: str | None = None
        self.ready = threading.Event()
        self.pending = 0
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zoo-predict")

    def load_in_background(self) -> None:
        def run():
            started = time.monotonic()
            try:
                self.predictor = self.load()
            except Exception as err:  # the health route reports it; the log has the traceback
                self.error = _one_line(f"{type(err).__name__}: {err}")
                log.exception("loading the model failed")
                return
            # TensorFlow, Keras and the model leave some 400,000 objects that every full collection of
            # Python's cyclic GC walks again (about 0.2 s on a CPU core, triggered every few requests by the
            # lists JSON decoding makes): move them out of its reach. p99 of an 8-image LeNet-5 request
            # in-process: 171 ms -> 2.4 ms.
            gc.freeze()
            self.ready.set()
            log.info("model version %s loaded in %.1f s; inputs %s", self.predictor.version,
                     time.monotonic() - started, {k: v.shape.as_list() for k, v in self.predictor.inputs.items()})

        threading.Thread(target=run, name="zoo-load-model", daemon=True).start()

    def answer(self, body: bytes) -> tuple[int, bytes]:
        """(status, JSON body) for a complete request body; runs on the executor."""
        try:
            result = self.predictor.predict(parse_json(body))
            return 200, json.dumps(result, allow_nan=False, separators=(",", ":")).encode()
        except BadRequest as err:
            return err.status, _error_body(str(err))
        except RecursionError:
            return 400, _error_body("the instances nest too deeply")
        except Exception as err:  # a bug or a resource problem, not the client's fault
            log.exception("prediction failed")
            return 500, _error_body(f"prediction failed: {type(err).__name__}: {err}")


def parse_json(data: bytes | str, what: str = "the request body"):
    """`data` parsed as strict JSON (no NaN or Infinity literals), or a one-line `BadRequest` that names `what`."""
    def no_constants(name: str):
        raise BadRequest(f"{what} is not valid JSON: {name} is not a JSON number")

    try:
        return json.loads(data, parse_constant=no_constants)
    except UnicodeDecodeError:
        raise BadRequest(f"{what} is not UTF-8 JSON") from None
    except json.JSONDecodeError as err:
        raise BadRequest(f"{what} is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}") from None
    except RecursionError:
        raise BadRequest(f"{what} nests too deeply") from None


def _error_body(message: str) -> bytes:
    return json.dumps({"error": _one_line(message)}).encode()


def make_app(load: Callable[[], Predictor], *, predict_route: str = PREDICT_PATH, health_route: str = HEALTH_PATH,
             max_body_bytes: int = MAX_BODY_BYTES, workers: int | None = None, max_pending: int = MAX_PENDING):
    """The FastAPI app: `load` runs in a background thread at startup and returns the Predictor."""
    from fastapi import FastAPI
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import Response
    from starlette.exceptions import HTTPException
    from starlette.requests import ClientDisconnect

    workers = workers or min(4, os.cpu_count() or 1)
    state = _State(load, workers)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        state.load_in_background()
        yield
        state.executor.shutdown(wait=False, cancel_futures=True)

    def reply(status: int, body: bytes, close: bool = False) -> Response:
        return Response(content=body, status_code=status, media_type="application/json",
                        headers={"connection": "close"} if close else None)

    def error(status: int, message: str, close: bool = False) -> Response:
        return reply(status, _error_body(message), close)

    app = FastAPI(title="zoo prediction server", lifespan=lifespan, openapi_url=None, docs_url=None,
                  redoc_url=None)
    app.state.zoo = state

    async def health(request) -> Response:
        if state.ready.is_set():
            return reply(200, json.dumps({"status": "ready", "version": state.predictor.version}).encode())
        if state.error:
            return reply(503, json.dumps({"status": "failed", "error": state.error}).encode())
        return reply(503, json.dumps({"status": "loading"}).encode())

    async def predict(request) -> Response:
        if not state.ready.is_set():
            return error(503, f"the model is not loaded ({state.error or 'loading'}); retry when {health_route} "
                              "answers 200")
        length = request.headers.get("content-length")
        if length is None and "chunked" not in request.headers.get("transfer-encoding", "").lower():
            return error(411, "the request needs a Content-Length header (or a chunked body)", close=True)
        if length is not None and int(length) > max_body_bytes:  # h11 has checked that it is a number
            return error(413, f"the body has {int(length)} bytes; at most {max_body_bytes}", close=True)
        body = bytearray()
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_body_bytes:
                    return error(413, f"the body has more than {max_body_bytes} bytes", close=True)
        except ClientDisconnect:  # gone (or timed out by the protocol): nobody reads the answer
            return error(400, "the client disconnected", close=True)
        if not body.strip():
            return error(400, 'the request body is empty; send {"instances": [...]}')
        if state.pending >= max_pending:
            return error(503, f"the server has {state.pending} requests waiting; retry later")
        state.pending += 1
        try:
            status, payload = await asyncio.get_running_loop().run_in_executor(state.executor, state.answer,
                                                                               bytes(body))
        finally:
            state.pending -= 1
        return reply(status, payload)

    # Plain (Starlette) routes: the handlers take the raw request, they read and check the body themselves.
    app.add_route(health_route, health, methods=["GET"], include_in_schema=False)
    app.add_route(predict_route, predict, methods=["POST"], include_in_schema=False)

    async def http_error(request, exc: HTTPException) -> Response:
        if exc.status_code == 404:
            return error(404, f"unknown path {request.url.path}; POST to {predict_route}, GET {health_route}")
        if exc.status_code == 405:
            return error(405, f"{request.method} is not allowed on {request.url.path}")
        return error(exc.status_code, str(exc.detail))

    async def invalid(request, exc) -> Response:
        return error(400, str(exc))

    async def crashed(request, exc: Exception) -> Response:
        return error(500, f"internal error: {type(exc).__name__}")

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(Exception, crashed)
    return app


# ----------------------------------------------------------------------------------------------- server
def _raw_response(status: int, message: str) -> bytes:
    body = _error_body(message)
    head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n")
    return head.encode() + body


def protocol_class(read_timeout: float = READ_TIMEOUT_S):
    """uvicorn's h11 protocol with a read timeout, a lingering close and JSON errors.

    - Read timeout: uvicorn times out idle kept-alive connections only, so a client that sends part of its
      headers, or a body shorter than its Content-Length, would hold a connection (and, for the body, a
      request) forever. Here every request must arrive whole within `read_timeout` seconds of its first byte
      (of the connection, for the first request), or it gets a 408 and the connection closes.
    - Lingering close: when the server answers before it has read the whole request (413 from the
      Content-Length, 411, 408, invalid HTTP) and closes, the client may still be sending; closing at once
      makes the kernel reset the connection and the client sees "connection reset" instead of the answer.
      Here the server half-closes (FIN after the answer), discards what still comes for up to
      `read_timeout` seconds, and closes when the client does.
    - uvicorn's own 400 for invalid HTTP (a Content-Length that is not a number, a malformed request line)
      is plain text; here it is JSON like every other answer.
    """
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class _Transport:
        """The transport as uvicorn sees it: its close() is the protocol's lingering close."""

        def __init__(self, transport, protocol):
            self._transport, self._protocol = transport, protocol

        def __getattr__(self, name):
            return getattr(self._transport, name)

        def close(self) -> None:
            self._protocol._close()

        def is_closing(self) -> bool:
            return self._protocol._lingering or self._transport.is_closing()

    class ZooH11Protocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None
        _linger: asyncio.TimerHandle | None = None
        _lingering = False

        def connection_made(self, transport) -> None:
            self._raw = transport
            super().connection_made(_Transport(transport, self))
            self._arm()

        def connection_lost(self, exc) -> None:
            self._disarm()
            if self._linger is not None:
                self._linger.cancel()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._lingering:
                return  # the rest of a request already answered: discard
            if self._deadline is None and self.conn.their_state is h11.IDLE:
                self._arm()  # the first bytes of the next request on a kept-alive connection
            super().data_received(data)

        def eof_received(self) -> None:
            if self._lingering:
                self._raw.close()
            return super().eof_received()

        def handle_events(self) -> None:
            super().handle_events()
            if self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
                self._disarm()  # the request has arrived whole (or the connection is done)

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(read_timeout, self._expired)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _close(self) -> None:
            raw = self._raw
            if self._lingering or raw.is_closing():
                return
            self._disarm()
            unread = self.conn.their_state in (h11.SEND_BODY, h11.ERROR) or bool(self.conn.trailing_data[0])
            if not unread or not raw.can_write_eof():
                raw.close()
                return
            self._lingering = True
            raw.write_eof()  # after what is buffered: the answer, then FIN
            raw.resume_reading()
            self._linger = self.loop.call_later(read_timeout, raw.close)

        def _expired(self) -> None:
            self._deadline = None
            if self.transport.is_closing() or self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
                return
            cycle = self.cycle
            answered = cycle is not None and cycle.response_started and not cycle.response_complete
            if cycle is not None and not cycle.response_complete:
                cycle.disconnected = True  # the app's receive() returns http.disconnect; its reply is dropped
                cycle.message_event.set()
            if not answered:
                self.transport.write(_raw_response(
                    408, f"the request did not arrive whole within {read_timeout:g} s (a slow client, or a "
                         "Content-Length larger than the body)"))
            self.transport.close()

        def send_400_response(self, msg: str) -> None:
            self.transport.write(_raw_response(400, "invalid HTTP request (request line, headers or "
                                                    "Content-Length)"))
            self.transport.close()

    return ZooH11Protocol


def make_server(app, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT, read_timeout: float = READ_TIMEOUT_S,
                log_level: str = "info", access_log: bool = False):
    """A uvicorn server (not yet running) for `app`."""
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, http=protocol_class(read_timeout), lifespan="on",
                            backlog=BACKLOG, timeout_keep_alive=5, timeout_graceful_shutdown=10,
                            log_level=log_level, access_log=access_log, server_header=False)
    return uvicorn.Server(config)


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound socket (port 0: a free one); uvicorn listens on it with its backlog."""
    # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and without it a
    # response written in two parts waits for the client's delayed ACK (40 ms a request).
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


@contextlib.contextmanager
def running(app, *, host: str = "127.0.0.1", port: int = 0, read_timeout: float = READ_TIMEOUT_S,
            startup_timeout: float = 30.0) -> Iterator[str]:
    """Serve `app` from a background thread (tests, benchmarks); yields its base URL, stops on exit."""
    server = make_server(app, host=host, port=port, read_timeout=read_timeout, log_level="warning")
    sock = listening_socket(host, port)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="zoo-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the prediction server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def serve(load: Callable[[], Predictor], *, host: str, port: int, predict_route: str = PREDICT_PATH,
          health_route: str = HEALTH_PATH, read_timeout: float = READ_TIMEOUT_S, workers: int | None = None,
          max_body_bytes: int = MAX_BODY_BYTES, announce: Callable[[str, int], None] | None = None) -> None:
    """Serve until interrupted (SIGINT/SIGTERM: uvicorn shuts down gracefully)."""
    if not log.handlers:  # uvicorn configures its own loggers only; say when the model is loaded (or not)
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    app = make_app(load, predict_route=predict_route, health_route=health_route, workers=workers,
                   max_body_bytes=max_body_bytes)
    server = make_server(app, host=host, port=port, read_timeout=read_timeout)
    sock = listening_socket(host, port)
    if announce:
        announce(host, sock.getsockname()[1])
    server.run(sockets=[sock])
