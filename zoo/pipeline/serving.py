"""Serve the locally deployed model with Vertex AI's prediction contract.

`{"instances": [...]}` in, `{"predictions": [...], "deployedModelVersion": ...}` out, from the SavedModel
export of the version the baseline names (the model now deployed). A bad request gets HTTP 400 and a
one-line error; the server keeps serving.
"""

from __future__ import annotations

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

PREDICT_PATH = "/predict"
HEALTH_PATH = "/health"
MAX_INSTANCES = 10_000


class BadRequest(ValueError):
    """The request cannot be answered as sent; the message says why, in one line."""


class Predictor:
    """Predictions from a SavedModel export, validated against its serving signature."""

    def __init__(self, saved_model_dir: str, version: str = "unknown"):
        import tensorflow as tf

        self.version = version
        self._loaded = tf.saved_model.load(saved_model_dir)
        self._fn = self._loaded.signatures["serving_default"]
        _, kwargs = self._fn.structured_input_signature
        self.inputs = {name: spec for name, spec in kwargs.items()}

    def _tensor(self, name, values):
        import tensorflow as tf

        spec = self.inputs[name]
        try:
            if spec.dtype == tf.string:
                array = np.asarray(values, dtype=object).astype(str)
            else:
                array = np.asarray(values, dtype=spec.dtype.as_numpy_dtype)
        except (TypeError, ValueError):
            raise BadRequest(f"input {name!r} must hold {spec.dtype.name} values") from None
        expected = spec.shape[1:]
        if len(expected) == array.ndim and expected[-1] == 1:
            array = array[..., None]  # a bare value for a (None, 1) input
        if not expected.is_compatible_with(array.shape[1:]):
            raise BadRequest(f"each instance of {name!r} must have shape {tuple(expected.as_list())}, "
                             f"got {tuple(array.shape[1:])}")
        return tf.constant(array)

    def predict(self, body) -> dict:
        if not isinstance(body, dict) or "instances" not in body:
            raise BadRequest('the request must be a JSON object with an "instances" list')
        instances = body["instances"]
        if not isinstance(instances, list) or not instances:
            raise BadRequest('"instances" must be a non-empty list')
        if len(instances) > MAX_INSTANCES:
            raise BadRequest(f'"instances" holds {len(instances)} items; at most {MAX_INSTANCES} per request')
        names = list(self.inputs)
        if len(names) == 1:
            feeds = {names[0]: self._tensor(names[0], instances)}
        else:
            if not all(isinstance(i, dict) for i in instances):
                raise BadRequest(f"each instance must be an object with keys {names}")
            missing = sorted(set(names) - set().union(*(i.keys() for i in instances)))
            if missing or any(set(i) != set(names) for i in instances):
                raise BadRequest(f"each instance must have exactly the keys {names}")
            feeds = {n: self._tensor(n, [i[n] for i in instances]) for n in names}
        try:
            outputs = self._fn(**feeds)
        except Exception as err:  # e.g. an id outside the model's vocabulary, asserted in the graph
            lines = [line.strip() for line in getattr(err, "message", str(err)).splitlines() if line.strip()]
            # TensorFlow's first line is "Graph execution error:"; the assertion's own text is what helps.
            message = next((line for line in lines if "assertion failed" in line), lines[0] if lines else "error")
            raise BadRequest(f"the model rejected the request: {message}") from None
        values = {k: v.numpy().tolist() for k, v in outputs.items()}
        if len(values) == 1:
            predictions = next(iter(values.values()))
        else:
            predictions = [dict(zip(values, row)) for row in zip(*values.values())]
        return {"predictions": predictions, "deployedModelVersion": self.version}


def deployed_predictor(root: str, model: str, dataset: str | None = None) -> Predictor:
    """The predictor of the version that the baseline under `root` says is deployed."""
    from zoo.pipeline.baseline import LocalBaselineStore
    from zoo.registry import get_spec

    spec = get_spec(model)
    dataset = dataset or spec.offline_datasets[0]
    baseline = LocalBaselineStore(os.path.join(root, "baselines")).read(model, dataset)
    if baseline is None:
        raise ValueError(f"No {model} model trained on {dataset} is deployed under {root}; run `zoo run {model} "
                         f"--local --root {root}` first.")
    return Predictor(os.path.join(baseline.location, "saved_model"), version=baseline.version)


class _Handler(BaseHTTPRequestHandler):
    predictor: Predictor

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path == HEALTH_PATH:
            self._reply(200, {"status": "ok", "version": self.server.predictor.version})
        else:
            self._reply(404, {"error": f"unknown path {self.path}; POST to {PREDICT_PATH}"})

    def do_POST(self):  # noqa: N802
        if self.path != PREDICT_PATH:
            self._reply(404, {"error": f"unknown path {self.path}; POST to {PREDICT_PATH}"})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"null")
            except ValueError:
                raise BadRequest("the request body is not valid JSON") from None
            self._reply(200, self.server.predictor.predict(body))
        except BadRequest as err:
            self._reply(400, {"error": str(err)})

    def log_message(self, format, *args):  # keep the terminal for the CLI's own lines
        pass


def make_server(root: str, model: str, *, dataset: str | None = None, host: str = "127.0.0.1",
                port: int = 8080, predictor: Predictor | None = None) -> ThreadingHTTPServer:
    """An HTTP server (not yet serving) for the deployed model; port 0 picks a free port."""
    server = ThreadingHTTPServer((host, port), _Handler)
    server.predictor = predictor or deployed_predictor(root, model, dataset)
    return server
