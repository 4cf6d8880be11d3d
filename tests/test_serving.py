"""The prediction server: Vertex AI's custom-container contract, every input kind, bad input and load.

Servers run on 127.0.0.1 on free ports, in a thread of this process (`serving.running`) or, for the AIP_*
contract as Vertex starts the container, as a `zoo serve --vertex` subprocess; each is stopped at the end
and every network call has a timeout.
"""

import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from zoo.pipeline import serving, steps

# Its module-scoped fixtures are expensive: `make test` keeps the module on one worker (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("serving")

READ_TIMEOUT = 1.0  # the test servers' read timeout (slow clients get 408 after it)
MAX_BODY = 64 * 1024


# ------------------------------------------------------------------------------------------------ helpers
def call(url, body=None, path=serving.PREDICT_PATH, method=None, timeout=30):
    """(status, parsed JSON) of one request; every answer must be JSON."""
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method or ("POST" if data is not None else "GET"))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def wait_ready(url, path=serving.HEALTH_PATH, timeout=120):
    """Poll the health route until 200; returns every status seen (connection refused counts as None)."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, _ = call(url, path=path, timeout=5)
        except (urllib.error.URLError, ConnectionError):
            status = None
        seen.append(status)
        if status == 200:
            return seen
        time.sleep(0.1)
    raise AssertionError(f"not ready after {timeout} s; statuses {seen[-5:]}")


def raw(url, data: bytes, *, timeout=10, shut_write=False):
    """Send raw bytes, return (status, JSON body) of the first response (reads until the server closes or
    the response is complete)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        if data:
            s.sendall(data)
        if shut_write:
            s.shutdown(socket.SHUT_WR)
        received = b""
        while b"\r\n\r\n" not in received or len(received.partition(b"\r\n\r\n")[2]) < _length(received):
            chunk = s.recv(65536)
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    assert b"content-type: application/json" in head.lower(), head
    return status, json.loads(body[:_length(received)])


def _length(received: bytes) -> int:
    for line in received.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 1 << 30


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


GOOD = {"instances": [[0, 0], [0, 1], [1, 0], [1, 1]]}


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """An mlp trained briefly and deployed to a local registry: (root, version folder)."""
    root = tmp_path_factory.mktemp("serve")
    data, model = str(root / "data"), str(root / "model")
    steps.preprocess("mlp", "synthetic_xor", data)
    steps.train("mlp", data, model, epochs=2)
    evaluation = steps.evaluate("mlp", data, model)
    steps.deploy_local(model, evaluation, str(root / "registry"), str(root / "baselines"))
    folder, version = serving.deployed_location(str(root), "mlp")
    return str(root), folder


@pytest.fixture(scope="module")
def server(deployed):
    root, folder = deployed
    app = serving.make_app(serving.storage_loader(folder, "1"), max_body_bytes=MAX_BODY)
    with serving.running(app, read_timeout=READ_TIMEOUT) as url:
        wait_ready(url)
        yield url


# ----------------------------------------------------------------------------------------- the contract
def test_predicts_the_deployed_version_from_instances(server):
    status, body = call(server, GOOD)
    assert status == 200 and body["deployedModelVersion"] == "1"
    predictions = np.array(body["predictions"])
    assert predictions.shape == (4, 1) and np.all((0 <= predictions) & (predictions <= 1))
    # An instance may also name its input; an empty "parameters" object is accepted.
    named = call(server, {"instances": [{"features": [0, 1]}], "parameters": {}})
    assert named[0] == 200 and np.allclose(named[1]["predictions"], predictions[1:2], atol=1e-6)
    assert call(server, path=serving.HEALTH_PATH) == (200, {"status": "ready", "version": "1"})


def test_health_is_503_until_the_model_is_loaded_then_200(deployed):
    _, folder = deployed
    release = threading.Event()
    load = serving.storage_loader(folder, "1")

    def slow_load():
        assert release.wait(60)
        return load()

    with serving.running(serving.make_app(slow_load)) as url:
        assert call(url, path=serving.HEALTH_PATH) == (503, {"status": "loading"})
        status, body = call(url, GOOD)
        assert status == 503 and "not loaded" in body["error"]
        release.set()
        seen = wait_ready(url)
        assert set(seen) <= {503, 200}
        assert call(url, GOOD)[0] == 200


def test_a_model_that_fails_to_load_keeps_503_with_the_reason(tmp_path):
    def broken():
        raise FileNotFoundError("No SavedModel at gs://b/m")

    with serving.running(serving.make_app(broken)) as url:
        deadline = time.monotonic() + 10
        while (reply := call(url, path=serving.HEALTH_PATH))[1]["status"] == "loading" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reply == (503, {"status": "failed", "error": "FileNotFoundError: No SavedModel at gs://b/m"})


def test_the_aip_variables_as_vertex_sets_them(deployed):
    """`zoo serve --vertex` in a subprocess: Vertex's port, routes and a model folder as AIP_STORAGE_URI."""
    _, folder = deployed
    port = free_port()
    endpoint = "/v1/endpoints/123/deployedModels/456"
    env = {**os.environ, "AIP_HTTP_PORT": str(port), "AIP_HEALTH_ROUTE": endpoint,
           "AIP_PREDICT_ROUTE": endpoint + ":predict",
           # Vertex copies the model's artifact_uri (the SavedModel folder) and names the copy here.
           "AIP_STORAGE_URI": os.path.join(folder, "saved_model"), "AIP_DEPLOYED_MODEL_ID": "456",
           "AIP_MODE": "PREDICTION"}
    process = subprocess.Popen([sys.executable, "-m", "zoo.cli", "serve", "--vertex"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        seen = wait_ready(url, path=endpoint, timeout=180)
        assert set(seen) <= {None, 503, 200}, seen
        status, body = call(url, GOOD, path=endpoint + ":predict")
        assert status == 200 and len(body["predictions"]) == 4 and body["deployedModelVersion"] == "456"
        assert call(url, GOOD)[0] == 404  # only Vertex's routes
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
    assert f"http://0.0.0.0:{port}" in output, output[-2000:]  # all interfaces inside the container
    # uvicorn shuts down gracefully, then exits by the signal it caught (as a container's PID 1 should).
    assert process.returncode in (0, -signal.SIGTERM) and "Finished server process" in output, output[-2000:]


def test_a_remote_storage_uri_is_copied_down_before_loading(deployed):
    """AIP_STORAGE_URI on another filesystem (gs:// on Vertex; TensorFlow's ram:// here) is copied to a
    temporary folder, loaded, and the copy removed."""
    import tensorflow as tf

    _, folder = deployed
    remote = "ram://zoo-test/mlp/1"
    for parent, _, files in os.walk(folder):
        relative = os.path.relpath(parent, folder)
        target = remote if relative == "." else f"{remote}/{relative}"
        tf.io.gfile.makedirs(target)
        for name in files:
            tf.io.gfile.copy(os.path.join(parent, name), f"{target}/{name}", overwrite=True)
    local, temporary = serving.saved_model_path(remote)
    assert temporary and os.path.isfile(os.path.join(local, "saved_model.pb"))
    predictor = serving.storage_loader(remote, "7")()
    assert predictor.predict(GOOD)["deployedModelVersion"] == "7"
    with pytest.raises(FileNotFoundError, match="No SavedModel at ram://zoo-test/none"):
        serving.saved_model_path("ram://zoo-test/none")


# ------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("body,status,message", [
    (b"{oops", 400, "not valid JSON"),
    (b'{"instances": [[NaN, 1]]}', 400, "NaN is not a JSON number"),
    (b'{"instances": [[Infinity, 1]]}', 400, "Infinity is not a JSON number"),
    (b'{"instances": [[1e39, 1]]}', 400, "finite float32"),  # overflows float32
    (b'{"instances": [[1e400, 1]]}', 400, "finite float32"),  # overflows float64 while parsing
    (b'{"instances": [[null, 1]]}', 400, "got null"),
    (b"", 400, "empty"),
    (b"   ", 400, "empty"),
    (b"\xff\xfe\x00garbage", 400, "not"),
    (b"[" * 50_000, 400, "nests too deeply"),
    (b'"instances"', 400, '"instances" list'),
    ({"inputs": [[0, 1]]}, 400, '"instances" list'),
    ({"instances": []}, 400, "non-empty list"),
    ({"instances": [[0, 1]], "extra": 1}, 400, "unknown request fields ['extra']"),
    ({"instances": [[0, 1]], "parameters": [1]}, 400, '"parameters" must be a JSON object'),
    ({"instances": [[0, 1]], "parameters": {"temperature": 2}}, 400, "takes no parameters"),
    ({"instances": [[0, 1]], "parameters": {"errors": "skip"}}, 400, '"errors" must be "request" or "per_instance"'),
    ({"instances": [[0, 1]], "parameters": {"errors": "per_instance"}, "x": 1}, 400, "unknown request fields"),
    ({"instances": [[0, 1, 2]]}, 400, "must have shape (2,), got (3,)"),
    ({"instances": [[[0, 1]]]}, 400, "must have shape (2,), got (1, 2)"),  # wrong rank: refused before the model
    ({"instances": [0, 1]}, 400, "must have shape (2,), got ()"),
    ({"instances": [[0, 1], [1]]}, 400, "nested lists of different lengths"),
    ({"instances": [["a", "b"]]}, 400, "must hold numbers; got strings"),
    ({"instances": [[True, False]]}, 400, "must hold numbers; got true/false"),
    ({"instances": [[{"a": 1}, 1]]}, 400, "must hold numbers"),
    ({"instances": [{"image": [0, 1]}]}, 400, "must be a value for 'features'"),
    ({"instances": [[0, 1]] * (serving.MAX_INSTANCES + 1)}, 413, "at most"),  # over the body limit first
    # Sent whole: the server answers from the Content-Length, then drains the body before it closes (a
    # plain close would reset the connection and the client would never read the 413).
    (b'{"instances": [' + b"[0, 1], " * 400_000 + b"[0, 1]]}", 413, "at most"),
])
def test_bad_requests_get_a_4xx_with_one_line_of_json_and_the_server_keeps_serving(server, body, status, message):
    got, reply = call(server, body)
    assert got == status and message in reply["error"] and "\n" not in reply["error"], reply
    assert call(server, GOOD)[0] == 200


def test_too_many_instances(deployed):
    predictor = serving.storage_loader(deployed[1])()
    with pytest.raises(serving.BadRequest, match=f"at most {serving.MAX_INSTANCES}"):
        predictor.predict({"instances": [[0, 1]] * (serving.MAX_INSTANCES + 1)})


def test_unknown_path_and_method(server):
    status, reply = call(server, GOOD, path="/v1/predict")
    assert status == 404 and "POST to /predict" in reply["error"]
    assert call(server, path=serving.PREDICT_PATH)[0] == 405
    assert call(server, GOOD, path=serving.HEALTH_PATH)[0] == 405


HEAD = b"POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"


@pytest.mark.parametrize("request_bytes,status,message", [
    # Content-Length that is not a number: uvicorn's h11 refuses the request; the reply is JSON too.
    (HEAD + b"Content-Length: abc\r\n\r\n{}", 400, "invalid HTTP request"),
    (HEAD + b"Content-Length: -5\r\n\r\n{}", 400, "invalid HTTP request"),
    (b"GARBAGE\r\n\r\n", 400, "invalid HTTP request"),
    # A body without Content-Length (and not chunked) is not read.
    (HEAD + b"\r\n" + json.dumps(GOOD).encode(), 411, "Content-Length"),
    # A Content-Length over the limit is refused before the body is read.
    (HEAD + f"Content-Length: {MAX_BODY + 1}\r\n\r\n".encode(), 413, "at most"),
    # A chunked body that grows over the limit is cut off.
    (HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + (b"8000\r\n" + b" " * 0x8000 + b"\r\n") * 3 + b"0\r\n\r\n",
     413, "more than"),
    # A Content-Length smaller than the body: the body read is cut short, so it is not valid JSON.
    (HEAD + b"Content-Length: 10\r\n\r\n" + json.dumps(GOOD).encode(), 400, "not valid JSON"),
])
def test_bad_http_gets_a_4xx_in_json(server, request_bytes, status, message):
    got, reply = raw(server, request_bytes)
    assert got == status and message in reply["error"], reply
    assert call(server, GOOD)[0] == 200


@pytest.mark.parametrize("request_bytes", [
    HEAD + b"Content-Length: 100\r\n\r\n" + b'{"instances": [[0, 1]]}',  # a Content-Length larger than the body
    HEAD + b"Content-Len",  # headers that stop coming
    b"",  # a connection that sends nothing
], ids=["lying-content-length", "slow-headers", "silent"])
def test_slow_or_lying_clients_get_408_after_the_read_timeout(server, request_bytes):
    started = time.monotonic()
    status, reply = raw(server, request_bytes, timeout=READ_TIMEOUT + 10)
    assert status == 408 and "did not arrive whole" in reply["error"]
    assert READ_TIMEOUT * 0.9 <= time.monotonic() - started < READ_TIMEOUT + 5
    assert call(server, GOOD)[0] == 200


def test_a_client_that_dribbles_its_body_is_cut_off_at_the_timeout_not_per_byte(server):
    body = json.dumps(GOOD).encode()
    host, port = server.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(HEAD + f"Content-Length: {len(body)}\r\n\r\n".encode())
        try:
            for byte in body:  # one byte every 0.2 s: each gap is short, the whole is over the timeout
                s.sendall(bytes([byte]))
                time.sleep(0.2)
        except OSError:
            pass  # the server closed the connection
        received = s.recv(65536)
    assert b" 408 " in received.split(b"\r\n")[0] and time.monotonic() - started < READ_TIMEOUT + 5
    assert call(server, GOOD)[0] == 200


def test_non_finite_outputs_are_null_and_the_answer_is_valid_json(tmp_path):
    import keras

    x = keras.Input((1,), name="x")
    keras.Model(x, keras.layers.Activation("exponential")(x)).export(str(tmp_path / "m"), verbose=False)
    with serving.running(serving.make_app(lambda: serving.Predictor(str(tmp_path / "m")))) as url:
        wait_ready(url)
        request = urllib.request.Request(url + "/predict", data=b'{"instances": [[0.0], [100.0]]}')
        with urllib.request.urlopen(request, timeout=30) as r:
            text = r.read().decode()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text)["predictions"] == [[1.0], [None]]  # exp(100) overflows float32


# ---------------------------------------------------------------------------------- every input kind
def _served_models(root):
    """A SavedModel per input kind the zoo serves (untrained zoo models and the zoo's serving wrappers)."""
    import keras

    import zoo
    from zoo.models.feedforward.dnn_binary import text_serving
    from zoo.models.sequence.decoding import greedy_decoder
    from zoo.models.vision.common import segmentation_serving_model

    def small(name):
        spec = zoo.get_spec(name)
        return {k: v for k, v in dict(spec.small).items() if k in spec.defaults}

    models = {
        # text: raw strings -> probabilities
        "text": text_serving(zoo.build("dnn_binary", num_words=16),
                             {"vocabulary": ["good", "bad", "film"], "num_words": 16}),
        # several named inputs of integer ids -> ratings
        "ids": zoo.build("matrix_factorization", **small("matrix_factorization")),
        # an int32 source sequence -> int32 decoded ids
        "sequence": greedy_decoder(zoo.build("seq2seq"), source_length=10, target_length=11),
        # a latent (noise) vector -> an image
        "latent": zoo.build("dcgan", **small("dcgan")).generator,
        # images of any size -> int32 masks of the same size
        "masks": segmentation_serving_model(zoo.build("fcn", **small("fcn")), (32, 32, 3)),
    }
    paths = {}
    for kind, model in models.items():
        paths[kind] = str(root / kind)
        model.export(paths[kind], verbose=False)
    keras.backend.clear_session()
    return paths


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    return _served_models(tmp_path_factory.mktemp("kinds"))


def _serve_and_call(path, body):
    with serving.running(serving.make_app(lambda: serving.Predictor(path, "1"))) as url:
        wait_ready(url, timeout=60)
        return call(url, body)


def test_text_instances(served):
    status, body = _serve_and_call(served["text"], {"instances": ["a good film", "bad", ""]})
    assert status == 200 and np.array(body["predictions"]).shape == (3, 1)
    assert _serve_and_call(served["text"], {"instances": [1, 2]})[1]["error"].endswith("must hold strings "
                                                                                          "(lists of equal length where the input has a shape)")


def test_named_integer_id_instances(served):
    status, body = _serve_and_call(served["ids"], {"instances": [{"user": 1, "item": 2}, {"user": 3, "item": 4.0}]})
    assert status == 200 and len(body["predictions"]) == 2
    for bad, message in [({"user": 1.5, "item": 2}, "must hold integers"),
                         ({"user": 2**40, "item": 2}, "int32 integers in"),
                         ({"user": "1", "item": 2}, "must hold integers; got strings"),
                         ({"user": 1}, "exactly the keys")]:
        status, reply = _serve_and_call(served["ids"], {"instances": [bad]})
        assert status == 400 and message in reply["error"], reply


def test_sequence_instances_decode_to_integer_ids(served):
    status, body = _serve_and_call(served["sequence"], {"instances": [[3, 4, 5, 6, 2, 0, 0, 0, 0, 0]] * 2})
    ids = np.array(body["predictions"])
    assert status == 200 and ids.shape == (2, 11) and ids.dtype.kind == "i"


def test_latent_vectors_generate_images(served):
    status, body = _serve_and_call(served["latent"], {"instances": np.zeros((2, 32)).tolist()})
    assert status == 200 and np.array(body["predictions"]).shape == (2, 16, 16, 1)


def test_images_of_any_size_get_masks_of_their_size(served):
    instances = [np.full((20, 24, 3), 0.5).tolist(), np.full((9, 7, 3), 0.1).tolist(), np.zeros((20, 24, 3)).tolist()]
    status, body = _serve_and_call(served["masks"], {"instances": instances})
    assert status == 200
    shapes = [np.array(p).shape for p in body["predictions"]]
    assert shapes == [(20, 24), (9, 7), (20, 24)]
    assert all(np.array(p).dtype.kind == "i" for p in body["predictions"])
    status, reply = _serve_and_call(served["masks"], {"instances": [np.zeros((4, 4)).tolist()]})
    assert status == 400 and "must have shape (any, any, 3), got (4, 4)" in reply["error"]


def _png(pixels) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _b64(data: bytes) -> dict:
    import base64

    return {"b64": base64.b64encode(data).decode()}


def test_b64_images_decode_for_an_image_model_and_bad_ones_are_one_line_400s(served, server, monkeypatch):
    """`{"b64": ...}` (Vertex's file-list instances): a PNG gives what its pixels as floats in [0, 1] give."""
    pixels = np.random.default_rng(0).integers(0, 256, (20, 24, 3), dtype="uint8")
    arrays = (pixels / 255.0).tolist()
    with serving.running(serving.make_app(lambda: serving.Predictor(served["masks"], "1"))) as url:
        wait_ready(url, timeout=60)
        status, body = call(url, {"instances": [_b64(_png(pixels)), {"image": _b64(_png(pixels))}, arrays]})
        assert status == 200 and np.array(body["predictions"]).shape == (3, 20, 24)
        assert body["predictions"][0] == body["predictions"][1] == body["predictions"][2]
        monkeypatch.setattr(serving, "MAX_IMAGE_PIXELS", 100)
        for instance, message in [
            ({"b64": "not base64!"}, 'the "b64" value is not valid base64 (standard alphabet, padded)'),
            (_b64(b"hello, not an image"), 'the "b64" value is not an image TensorFlow decodes (PNG, JPEG, GIF, BMP)'),
            ({"b64": 5}, '"b64" must hold a base64 string; got a number'),
            (_b64(_png(pixels)), 'the "b64" value is an image of 24 x 20 pixels; at most 100 pixels'),
        ]:
            status, reply = call(url, {"instances": [arrays, instance]})
            assert status == 400 and reply["error"] == message, reply
    status, reply = call(server, {"instances": [[0, 1], _b64(_png(pixels))]})  # the mlp takes feature vectors
    assert (status, reply["error"]) == (400, 'this model takes arrays, not {"b64": ...} images: its input is '
                                             'features float32(2,)')


@pytest.mark.parametrize("kind", ["PNG", "JPEG", "GIF", "BMP"])
def test_an_images_size_is_read_from_its_header_before_it_is_decoded(kind):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.zeros((7, 300, 3), "uint8")).save(buffer, format=kind)
    assert serving._image_size(buffer.getvalue()) == (300, 7)
    assert serving._image_size(buffer.getvalue()[:5]) is None and serving._image_size(b"\xff\xd8junk") is None


def test_errors_per_instance_answer_200_with_an_error_in_place_of_each_bad_instance(server):
    good, bad = [[0, 1], [1, 1]], [0, 1, 2]
    strict = call(server, {"instances": good})[1]["predictions"]
    refused = call(server, {"instances": [bad]})[1]["error"]
    request = {"instances": [good[0], bad, good[1]], "parameters": serving.PER_INSTANCE_ERRORS}
    status, body = call(server, request)
    assert status == 200 and len(body["predictions"]) == 3
    assert body["predictions"][1] == {"error": refused} == {"error": "each instance of 'features' must have shape "
                                                                    "(2,), got (3,)"}
    np.testing.assert_allclose([body["predictions"][0], body["predictions"][2]], strict, rtol=0, atol=1e-6)
    # Each kind of bad instance gets its own one line; the request itself must still be valid.
    status, body = call(server, {"instances": [None, {"b64": "AA=="}, [True, False], [0, 0]],
                                 "parameters": {"errors": "per_instance"}})
    errors = [p.get("error") if isinstance(p, dict) else None for p in body["predictions"]]
    assert status == 200 and errors[3] is None and all(e and "\n" not in e for e in errors[:3]), body
    assert "takes arrays" in errors[1] and "true/false" in errors[2]
    status, reply = call(server, {"instances": [good[0], bad, good[1]]})  # without the parameter: as before
    assert status == 400 and reply["error"] == "the instances of 'features' are nested lists of different lengths"
    assert call(server, {"instances": [], "parameters": {"errors": "per_instance"}})[0] == 400


# ----------------------------------------------------------------------------------------------- load
def test_a_burst_of_100_concurrent_requests_all_succeed(server):
    clients = 100
    barrier = threading.Barrier(clients, timeout=60)

    def one(i):
        barrier.wait()
        return call(server, {"instances": [[i % 2, 1]]}, timeout=60)

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        replies = list(pool.map(one, range(clients)))
    assert [status for status, _ in replies] == [200] * clients
    assert all(len(body["predictions"]) == 1 for _, body in replies)


def test_responses_do_not_wait_for_the_clients_delayed_ack(server):
    """Accepted sockets get TCP_NODELAY (asyncio sets it only on sockets created as IPPROTO_TCP): without
    it every response written in two parts waited about 40 ms for the client's delayed ACK."""
    with serving.listening_socket("127.0.0.1", 0) as sock:
        assert sock.proto == socket.IPPROTO_TCP
    body = json.dumps({"instances": [[0.123456789, 1]] * 500}).encode()  # several TCP segments
    call(server, body)
    times = []
    for _ in range(15):
        started = time.perf_counter()
        assert call(server, body)[0] == 200
        times.append(time.perf_counter() - started)
    assert np.median(times) < 0.025, times


# -------------------------------------------------------------------------------------------- the CLI
@pytest.mark.parametrize("argv,environ,message", [
    (["serve"], {}, "give the model NAME"),
    (["serve", "--vertex"], {"AIP_STORAGE_URI": ""}, "AIP_STORAGE_URI is not set"),
    (["serve", "mlp", "--vertex"], {}, "give no NAME"),
    (["serve", "--vertex"], {"AIP_STORAGE_URI": "/nowhere/model"}, "No SavedModel at /nowhere/model"),
    (["serve", "--vertex"], {"AIP_STORAGE_URI": "/x", "AIP_HTTP_PORT": "http"}, "AIP_HTTP_PORT must be a port"),
    (["serve", "mlp", "--threads", "0"], {}, "must be positive"),
])
def test_serve_bad_arguments_exit_2_with_one_line(capsys, monkeypatch, argv, environ, message):
    from zoo.cli import main

    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_serve_without_a_deployment_says_how_to_make_one(capsys, tmp_path):
    from zoo.cli import main

    assert main(["serve", "mlp", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "No mlp model trained on synthetic_xor is deployed" in err and err.count("\n") == 1


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


# ------------------------------------------------------------------------------------- float32 exports
def test_float32_copy_of_a_mixed_precision_lenet5_serves_in_float32(tmp_path):
    import keras

    import zoo
    from zoo.pipeline.export import float32_copy, is_mixed

    keras.config.set_dtype_policy("mixed_bfloat16")
    mixed = zoo.build("lenet5")
    keras.config.set_dtype_policy("float32")
    reference = zoo.build("lenet5")  # the same network in float32, given the trained (mixed) weights
    reference.set_weights(mixed.get_weights())
    copy = float32_copy(mixed)
    assert is_mixed(mixed) and not is_mixed(copy) and copy is not mixed
    assert {layer.compute_dtype for layer in copy.layers} == {"float32"}
    assert keras.config.dtype_policy().name == "float32"
    for a, b in zip(copy.get_weights(), mixed.get_weights()):
        np.testing.assert_array_equal(a, b)
    images = np.random.default_rng(0).uniform(size=(4, 32, 32, 1)).astype("float32")
    expected = reference.predict(images, verbose=0)
    np.testing.assert_allclose(copy.predict(images, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert np.abs(np.asarray(mixed.predict(images, verbose=0), dtype="float32") - expected).max() > 1e-5

    copy.export(str(tmp_path / "float32"), verbose=False)
    mixed.export(str(tmp_path / "mixed"), verbose=False)
    assert _graph_dtypes(tmp_path / "mixed") & {"DT_BFLOAT16"}  # what the train step exported until now
    assert not _graph_dtypes(tmp_path / "float32") & {"DT_BFLOAT16", "DT_HALF"}
    assert float32_copy(copy) is copy  # float32 already: nothing to do


def _graph_dtypes(folder) -> set:
    """Every dtype named by an op attribute in a SavedModel's graph and function library."""
    from tensorflow.core.framework import types_pb2
    from tensorflow.core.protobuf import saved_model_pb2

    model = saved_model_pb2.SavedModel()
    model.ParseFromString((folder / "saved_model.pb").read_bytes())
    found = set()
    for meta in model.meta_graphs:
        nodes = list(meta.graph_def.node)
        for function in meta.graph_def.library.function:
            nodes += list(function.node_def)
        for node in nodes:
            for value in node.attr.values():
                for dtype in ([value.type] if value.type else []) + list(value.list.type):
                    found.add(types_pb2.DataType.Name(dtype))
    return found


@pytest.mark.parametrize("name,style", [("lenet5", "subclass"), ("vae", "subclass"), ("dcgan", "subclass"),
                                        ("seq2seq", "functional")])
def test_float32_copy_rebuilds_subclassed_and_generative_models(name, style):
    """What the train step exports: the VAE's decoder, the GAN's generator and seq2seq's decoder are taken
    from the copy, so its nested models must be float32 too."""
    import keras

    import zoo
    from zoo.pipeline.export import float32_copy, is_mixed

    spec = zoo.get_spec(name)
    keras.config.set_dtype_policy("mixed_bfloat16")
    mixed = zoo.build(name, style=style, **{k: v for k, v in dict(spec.small).items() if k in spec.defaults})
    keras.config.set_dtype_policy("float32")
    copy = float32_copy(mixed)
    assert is_mixed(mixed) and not is_mixed(copy) and type(copy) is type(mixed)
    for a, b in zip(copy.get_weights(), mixed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
