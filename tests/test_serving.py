"""The local prediction server: Vertex AI's predict contract, and clear errors for bad requests."""

import json
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest

from zoo.pipeline import serving, steps


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    data, model = str(root / "data"), str(root / "model")
    steps.preprocess("mlp", "synthetic_xor", data)
    steps.train("mlp", data, model, epochs=2)
    evaluation = steps.evaluate("mlp", data, model)
    steps.deploy_local(model, evaluation, str(root / "registry"), str(root / "baselines"))
    srv = serving.make_server(str(root), "mlp", port=0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


def call(url, body, path=serving.PREDICT_PATH, method="POST"):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data if method == "POST" else None, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_predicts_the_deployed_version_from_instances(server):
    status, body = call(server, {"instances": [[0, 0], [0, 1], [1, 0], [1, 1]]})
    assert status == 200 and body["deployedModelVersion"] == "1"
    predictions = np.array(body["predictions"])
    assert predictions.shape == (4, 1) and np.all((0 <= predictions) & (predictions <= 1))
    assert call(server, None, path=serving.HEALTH_PATH, method="GET")[1]["status"] == "ok"


@pytest.mark.parametrize("body,message", [
    (b"{oops", "not valid JSON"),
    ({"inputs": [[0, 1]]}, 'JSON object with an "instances" list'),
    ({"instances": []}, "non-empty list"),
    ({"instances": [[0, 1, 2]]}, "must have shape (2,)"),
    ({"instances": [["a", "b"]]}, "must hold float32 values"),
])
def test_bad_requests_get_400_and_one_line(server, body, message):
    status, reply = call(server, body)
    assert status == 400 and message in reply["error"] and "\n" not in reply["error"]
    assert call(server, {"instances": [[1, 1]]})[0] == 200  # and the server keeps serving


def test_unknown_path_and_missing_deployment(server, tmp_path):
    assert call(server, {"instances": [[0, 0]]}, path="/v1/predict")[0] == 404
    with pytest.raises(ValueError, match="No mlp model trained on synthetic_xor is deployed"):
        serving.deployed_predictor(str(tmp_path), "mlp")


def test_a_recommender_rejects_unknown_ids_with_the_models_own_message(tmp_path):
    import zoo

    spec = zoo.get_spec("matrix_factorization")
    data, model = str(tmp_path / "data"), str(tmp_path / "model")
    steps.preprocess("matrix_factorization", "synthetic_ratings", data, hparams=dict(spec.small))
    steps.train("matrix_factorization", data, model, hparams=dict(spec.small), epochs=1)
    evaluation = steps.evaluate("matrix_factorization", data, model)
    steps.deploy_local(model, evaluation, str(tmp_path / "registry"), str(tmp_path / "baselines"))
    predictor = serving.deployed_predictor(str(tmp_path), "matrix_factorization")
    ok = predictor.predict({"instances": [{"user": 1, "item": 2}]})
    assert len(ok["predictions"]) == 1
    with pytest.raises(serving.BadRequest, match="Unknown user id") as err:
        predictor.predict({"instances": [{"user": 10**6, "item": 2}]})
    assert "\n" not in str(err.value)
