"""Batch prediction: `zoo predict --local` over JSON Lines, CSV and image folders, and the Vertex AI job.

A tiny mlp (XOR) and a LeNet-5 (scikit-learn digits) are trained for one epoch and deployed to temporary
local registries through the pipeline's own steps, without kfp (as tests/test_serving.py does). The Vertex AI
request is built offline, checked field by field and against the job the Vertex SDK itself builds from the
same arguments (its request captured before anything is sent), with clients made with anonymous credentials.
"""

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from zoo.pipeline import batch_predict, serving, steps

# Module fixtures train and deploy two models: `make test` keeps the module on one worker (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("batch_predict")

GOOD = [[0, 0], [0, 1], [1, 0], [1, 1], [0.5, 0.5], [1, 0.25], [0.25, 1]]


def deploy(root, name, dataset):
    data, model = str(root / "data"), str(root / "model")
    steps.preprocess(name, dataset, data)
    steps.train(name, data, model, epochs=1)
    steps.deploy_local(model, steps.evaluate(name, data, model), str(root / "registry"), str(root / "baselines"))
    return str(root)


@pytest.fixture(scope="module")
def mlp_root(tmp_path_factory):
    return deploy(tmp_path_factory.mktemp("mlp"), "mlp", "synthetic_xor")


@pytest.fixture(scope="module")
def predictor(mlp_root):
    folder, version = serving.deployed_location(mlp_root, "mlp")
    return serving.storage_loader(folder, version)()


def write_lines(path, lines):
    path.write_bytes(b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines))
    return str(path)


def records(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def wait_ready(url, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + serving.HEALTH_PATH, timeout=5):
                return  # 200 (a 503 while loading raises HTTPError)
        except urllib.error.URLError:
            time.sleep(0.05)
    raise AssertionError(f"the server at {url} was not ready after {timeout} s")


def cli(*argv):
    from zoo.cli import main

    return main([str(a) for a in argv])


# ------------------------------------------------------------------------------------------ the check
def test_a_malformed_line_is_named_and_every_other_line_is_predicted(mlp_root, tmp_path, capsys):
    lines = [json.dumps(i) for i in GOOD[:2]] + ['{"oops": [0, 1'] + [json.dumps(i) for i in GOOD[2:]]
    source = write_lines(tmp_path / "in.jsonl", lines)
    output = tmp_path / "out" / "predictions.jsonl"
    assert cli("predict", "mlp", "--local", "--root", mlp_root, "--input", source, "--output", output) == 1
    out, err = capsys.readouterr()
    assert f"{source} line 3: the line is not valid JSON" in err
    assert f"{len(GOOD)} predicted, 1 bad" in out
    got = records(output)
    assert [r["line"] for r in got] == [1, 2, 4, 5, 6, 7, 8]  # input order, the bad line's number skipped
    assert [r["instance"] for r in got] == GOOD
    assert all(len(r["prediction"]) == 1 and 0 <= r["prediction"][0] <= 1 for r in got)
    (bad,) = records(str(output) + ".errors.jsonl")
    assert bad["line"] == 3 and "not valid JSON" in bad["error"]


def test_a_clean_run_exits_0_and_removes_a_stale_errors_file(mlp_root, tmp_path, capsys):
    source = write_lines(tmp_path / "in.jsonl", [json.dumps(i) for i in GOOD])
    output = tmp_path / "predictions.jsonl"
    (tmp_path / "predictions.jsonl.errors.jsonl").write_text('{"line": 1, "error": "from an earlier run"}\n')
    assert cli("predict", "mlp", "--local", "--root", mlp_root, "--input", source, "--output", output) == 0
    assert f"{len(GOOD)} predicted, 0 bad" in capsys.readouterr().out
    assert len(records(output)) == len(GOOD) and not (tmp_path / "predictions.jsonl.errors.jsonl").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "predictions.jsonl"]  # no partial files left


# ------------------------------------------------------------------------------ the same as online prediction
def test_batch_output_equals_what_the_running_server_answers(mlp_root, predictor, tmp_path):
    folder, version = serving.deployed_location(mlp_root, "mlp")
    with serving.running(serving.make_app(serving.storage_loader(folder, version))) as url:
        wait_ready(url)
        request = urllib.request.Request(url + serving.PREDICT_PATH, data=json.dumps({"instances": GOOD}).encode())
        with urllib.request.urlopen(request, timeout=30) as r:
            online = json.loads(r.read())
    source = write_lines(tmp_path / "in.jsonl", [json.dumps(i) for i in GOOD])
    summary = batch_predict.predict_file(predictor, source, str(tmp_path / "out.jsonl"), batch_size=3)  # 3 + 3 + 1
    assert summary.version == online["deployedModelVersion"] == version and summary.predicted == len(GOOD)
    batch = [r["prediction"] for r in records(summary.output)]
    np.testing.assert_allclose(batch, online["predictions"], rtol=0, atol=1e-6)


def test_every_bad_line_gets_the_online_servers_own_reason(predictor, tmp_path, capsys):
    instances = [[1e39, 1], [None, 1], [0, 1, 2], [[0, 1]], ["a", "b"], [True, False], {"image": [0, 1]}, 0]
    lines = [json.dumps(i) for i in instances] + ["[NaN, 1]", b"\xff\xfe[0, 1]", "[" * 5000 + "]" * 5000, b"[\xc3(]",
                                                  "[1, 0]"]
    source = write_lines(tmp_path / "in.jsonl", lines)
    summary = batch_predict.predict_file(predictor, source, str(tmp_path / "out.jsonl"), batch_size=2)
    assert (summary.predicted, summary.bad) == (1, len(lines) - 1) and records(summary.output)[0]["line"] == len(lines)
    errors = {r["line"]: r["error"] for r in records(summary.errors_path)}
    for line, instance in enumerate(instances, start=1):
        with pytest.raises(serving.BadRequest) as online:
            predictor.predict({"instances": [instance]})
        assert errors[line] == str(online.value)
    assert errors[9] == "the line is not valid JSON: NaN is not a JSON number"
    assert errors[10] == "the line is not valid JSON: Expecting value at line 1 column 1"  # read as UTF-16
    assert errors[11] == "the line nests too deeply"
    assert errors[12] == "the line is not UTF-8 JSON"
    err = capsys.readouterr().err
    assert all(f"line {n}:" in err for n in range(1, len(lines))) and err.count("\n") == len(lines) - 1


def test_the_input_is_streamed_batch_by_batch(predictor):
    consumed = []

    def items():
        for n, instance in enumerate(GOOD * 10, start=1):
            consumed.append(n)
            yield batch_predict.Item({"line": n}, instance)

    results = batch_predict.predict_items(predictor, items(), batch_size=4)
    first = next(results)
    assert first[1] and len(consumed) == 4  # the first batch is predicted before the fifth item is read
    assert len(list(results)) == len(GOOD) * 10 - 1


class RejectingPredictor:
    """A stand-in whose model rejects any batch holding a negative number (as a recommender rejects an unknown
    id inside the graph) and whose instances have free lengths (as images of any size do)."""

    version = "stub"

    def check_instance(self, value):
        return {"x": np.array([value], dtype="float32")}

    def run(self, feeds):
        if (feeds["x"] < 0).any():
            raise serving.BadRequest("the model rejected the request: assertion failed: negative")
        self.calls.append(feeds["x"].shape)
        return feeds["x"].sum(axis=1).tolist()


def test_a_batch_the_model_rejects_is_retried_one_by_one_and_order_is_kept():
    predictor = RejectingPredictor()
    predictor.calls = []
    values = [[1, 2], [3], [-1, 0], [4, 5], [6]]
    items = [batch_predict.Item({"line": n}, v) for n, v in enumerate(values, start=1)]
    results = list(batch_predict.predict_items(predictor, items, batch_size=5))
    assert [(item.where["line"], ok, value) for item, ok, value in results] == [
        (1, True, 3.0), (2, True, 3.0), (3, False, "the model rejected the request: assertion failed: negative"),
        (4, True, 9.0), (5, True, 6.0)]
    assert predictor.calls == [(1, 2), (1, 2), (2, 1)]  # the pairs retried one by one; the singles in one call


# -------------------------------------------------------------------------------------------------- CSV
def test_csv_rows_of_a_tabular_model_predict_as_their_json_lines(predictor, tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes('\ufeffx1,"x2"\n0,0\n0,1\n"a",1\n1\n\n1,0\n1,x\n'.encode() + b'"\xff",1\n')
    summary = batch_predict.predict_file(predictor, str(source), str(tmp_path / "out.jsonl"))
    got = records(summary.output)
    assert [r["line"] for r in got] == [2, 3, 7] and [r["instance"] for r in got] == [[0, 0], [0, 1], [1, 0]]
    online = predictor.predict({"instances": [[0, 0], [0, 1], [1, 0]]})["predictions"]
    np.testing.assert_allclose([r["prediction"] for r in got], online, rtol=0, atol=1e-6)
    errors = {r["line"]: r["error"] for r in records(summary.errors_path)}
    assert errors == {4: "'features' must hold numbers; got strings",
                      5: "each instance of 'features' must have shape (2,), got (1,)",
                      8: "an unquoted value is not a number: 'x' (strings must be double-quoted, as in Vertex AI's "
                         "CSV input)",
                      9: "the line is not UTF-8"}


def test_csv_layout_follows_the_serving_signature():
    import tensorflow as tf

    vector = {"features": tf.TensorSpec([None, 3], tf.float32)}
    named = {"user": tf.TensorSpec([None], tf.int32), "item": tf.TensorSpec([None, 1], tf.int32)}
    assert batch_predict.csv_layout(vector) == "vector" and batch_predict.csv_layout(named) == "named"
    rows = list(batch_predict.csv_items(["item,user", "2,1", '3,"x"', "4"], named))
    assert [r.value for r in rows[:2]] == [{"item": 2.0, "user": 1.0}, {"item": 3.0, "user": "x"}]
    assert rows[2].error == "the row has 1 values; the header has 2"
    with pytest.raises(batch_predict.InputError, match=r"header names \['user', 'rating'\]"):
        list(batch_predict.csv_items(["user,rating", "1,2"], named))
    with pytest.raises(batch_predict.InputError, match="header has 2 columns; the model's input 'features' takes 3"):
        list(batch_predict.csv_items(["a,b", "1,2"], vector))
    with pytest.raises(batch_predict.InputError, match=r"CSV input needs a tabular model.*image float32\(32, 32, 1\)"):
        batch_predict.csv_layout({"image": tf.TensorSpec([None, 32, 32, 1], tf.float32)})


# ------------------------------------------------------------------------------------------------ images
@pytest.fixture(scope="module")
def lenet_root(tmp_path_factory):
    return deploy(tmp_path_factory.mktemp("lenet"), "lenet5", "digits")


def test_a_folder_of_images_is_decoded_and_resized_as_the_model_expects(lenet_root, tmp_path, capsys):
    from PIL import Image
    from sklearn.datasets import load_digits

    import tensorflow as tf

    digits = load_digits()
    folder = tmp_path / "images"
    folder.mkdir()
    pixels = (digits.images[:4] / 16 * 255).round().astype("uint8")
    for i, image in enumerate(pixels):
        Image.fromarray(image).save(folder / f"digit{i}.png")
    Image.fromarray(np.zeros((12, 10, 3), "uint8")).save(folder / "colour.jpg")  # RGB, another size: to grey 32x32
    (folder / "notes.txt").write_text("not an image")
    output = tmp_path / "digits.jsonl"
    assert cli("predict", "lenet5", "--local", "--root", lenet_root, "--input", folder, "--output", output) == 1
    assert "file notes.txt: the file is not an image" in capsys.readouterr().err
    got = records(output)
    assert [r["file"] for r in got] == ["colour.jpg"] + [f"digit{i}.png" for i in range(4)]
    # The same images as the online server takes them: floats in [0, 1], resized to the signature's 32 x 32.
    arrays = tf.image.resize(pixels[..., None].astype("float32") / 255.0, (32, 32)).numpy()
    folder_, version = serving.deployed_location(lenet_root, "lenet5")
    online = serving.storage_loader(folder_, version)().predict({"instances": arrays.tolist()})["predictions"]
    np.testing.assert_allclose([r["prediction"] for r in got[1:]], online, rtol=0, atol=1e-5)
    assert records(str(output) + ".errors.jsonl") == [
        {"file": "notes.txt", "error": "the file is not an image TensorFlow decodes (PNG, JPEG, GIF, BMP)"}]


@pytest.fixture(scope="module")
def lenet_predictor(lenet_root):
    folder, version = serving.deployed_location(lenet_root, "lenet5")
    return serving.storage_loader(folder, version)()


def test_b64_images_predict_as_the_same_files_in_a_folder(lenet_predictor, tmp_path):
    """What a Vertex AI file-list job sends ({"b64": file bytes}, errors per instance) gives the numbers that
    `zoo predict --local` gives for a folder holding the same files."""
    import base64

    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (32, 32), dtype="uint8")).save(folder / "a.png")  # the model's size
    Image.fromarray(rng.integers(0, 256, (40, 30, 3), dtype="uint8")).save(folder / "b.jpg")  # RGB, resized
    (folder / "c.txt").write_text("not an image")
    summary = batch_predict.predict_file(lenet_predictor, str(folder), str(tmp_path / "out.jsonl"))
    local = {r["file"]: r["prediction"] for r in records(summary.output)}
    assert sorted(local) == ["a.png", "b.jpg"] and summary.bad == 1
    files = [(folder / name).read_bytes() for name in ("a.png", "c.txt", "b.jpg")]
    request = {"instances": [{"b64": base64.b64encode(data).decode()} for data in files],
               "parameters": serving.PER_INSTANCE_ERRORS}
    a, c, b = lenet_predictor.predict(request)["predictions"]
    np.testing.assert_allclose([a, b], [local["a.png"], local["b.jpg"]], rtol=0, atol=1e-6)
    assert c == {"error": 'the "b64" value is not an image TensorFlow decodes (PNG, JPEG, GIF, BMP)'}
    assert records(summary.errors_path) == [
        {"file": "c.txt", "error": "the file is not an image TensorFlow decodes (PNG, JPEG, GIF, BMP)"}]


# --------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("argv,message", [
    (["mlp", "--input", "{tmp}/missing.jsonl"], "--input '{tmp}/missing.jsonl' does not exist"),
    (["mlp", "--input", "gs://bkt/in.jsonl"], "predict what is on Cloud Storage with a Vertex AI job"),
    (["mlp", "--root", "{tmp}", "--input", "{tmp}/in.jsonl"], "No mlp model trained on synthetic_xor is deployed"),
    (["mpl", "--input", "{tmp}/in.jsonl"], "Unknown model 'mpl'"),
    (["mlp", "--dataset", "mnist", "--input", "{tmp}/in.jsonl"], "dataset"),
    (["mlp", "--input", "{tmp}/in.jsonl", "--batch-size", "0"], "--batch-size must be between 1 and 10000"),
    (["mlp", "--input", "{tmp}/empty.jsonl"], "holds no instances"),
    (["mlp", "--input", "{tmp}/in.jsonl", "--output", "{tmp}/in.jsonl"], "would overwrite the input"),
    (["mlp", "--input", "{tmp}/in.jsonl", "--dry-run"], "are for Vertex AI"),
    (["mlp", "--input", "{tmp}/in.csv"], "the CSV header has 3 columns"),
])
def test_bad_input_exits_2_with_one_line(mlp_root, tmp_path, capsys, argv, message):
    (tmp_path / "in.jsonl").write_text("[0, 1]\n")
    (tmp_path / "empty.jsonl").write_text("\n\n")
    (tmp_path / "in.csv").write_text("a,b,c\n1,2,3\n")
    argv = [a.format(tmp=tmp_path) for a in argv]
    if "--root" not in argv:
        argv += ["--root", mlp_root]
    if "--output" not in argv:
        argv += ["--output", str(tmp_path / "out.jsonl")]
    assert cli("predict", "--local", *argv) == 2
    err = capsys.readouterr().err
    assert message.format(tmp=tmp_path) in err and err.count("\n") == 1, err
    assert not (tmp_path / "out.jsonl").exists()


def test_the_module_imports_no_tensorflow_and_no_cloud_sdk():
    code = ("import sys, zoo.pipeline.batch_predict, pipelines.batch_predict; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'google.cloud.aiplatform') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -------------------------------------------------------------------------------------------- Vertex AI
VERTEX = dict(project="my-proj", region="us-central1", input_uri="gs://bkt/in/batch.jsonl", output_uri="gs://bkt/out")


def test_the_vertex_job_targets_the_serving_version_with_formats_and_machines():
    from pipelines.batch_predict import build_request

    request = build_request("mlp", model_id="1234", machine_type="n1-highmem-2", replicas=2, batch_size=16, **VERTEX)
    job = request.batch_prediction_job
    assert request.parent == "projects/my-proj/locations/us-central1"
    assert job.model == "projects/my-proj/locations/us-central1/models/1234@serving"
    assert job.display_name.startswith("zoo-mlp-synthetic-xor-predict-")
    assert job.input_config.instances_format == "jsonl"
    assert list(job.input_config.gcs_source.uris) == [VERTEX["input_uri"]]
    assert (job.output_config.predictions_format, job.output_config.gcs_destination.output_uri_prefix) == \
           ("jsonl", "gs://bkt/out")
    resources = job.dedicated_resources
    assert (resources.machine_spec.machine_type, resources.starting_replica_count, resources.max_replica_count) == \
           ("n1-highmem-2", 2, 2)
    assert job.manual_batch_tuning_parameters.batch_size == 16
    csv = build_request("mlp", model_id="1234", **{**VERTEX, "input_uri": "gs://bkt/in/*.csv"})
    assert csv.batch_prediction_job.input_config.instances_format == "csv"


def test_the_vertex_job_asks_for_errors_per_instance_and_takes_file_lists_for_image_models():
    """`model_parameters` (a google.protobuf.Value) reach the server as every request's "parameters"."""
    from google.cloud import aiplatform_v1
    from google.protobuf import json_format, struct_pb2

    from pipelines.batch_predict import build_request, to_json

    request = build_request("lenet5", model_id="1234", **{**VERTEX, "input_uri": "gs://bkt/in/digits.txt"})
    job = request.batch_prediction_job
    assert job.input_config.instances_format == "file-list"
    raw = aiplatform_v1.BatchPredictionJob.pb(job).model_parameters
    assert isinstance(raw, struct_pb2.Value) and json_format.MessageToDict(raw) == serving.PER_INSTANCE_ERRORS
    assert json.loads(to_json(request))["batchPredictionJob"]["modelParameters"] == {"errors": "per_instance"}
    assert build_request("mlp", **VERTEX).batch_prediction_job.model_parameters == job.model_parameters


def test_which_models_take_images_is_read_from_the_spec():
    """A quick table; test_end_to_end's test_steps_end_to_end checks every model's real export against
    `takes_images` (the fast suite a share of them, the slow suite all 65)."""
    import zoo
    from pipelines.batch_predict import takes_images

    images = {"lenet5", "resnet50", "autoencoder", "sgan", "pix2pix", "fcn", "yolo", "image_captioning"}
    others = {"mlp", "dnn_categorical", "dnn_binary", "matrix_factorization", "vae", "dcgan", "nade", "diffusion",
              "style_transfer", "acgan"}
    assert {name for name in images | others if takes_images(zoo.get_spec(name))} == images


def test_the_vertex_job_is_the_one_the_sdk_builds_from_the_same_arguments(monkeypatch):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform, aiplatform_v1

    from pipelines.batch_predict import build_request

    ours = build_request("mlp", model_id="1234", **VERTEX)
    sent = {}

    class Sent(Exception):
        pass

    def capture(self, **kwargs):  # the SDK's last step before the network
        sent.update(kwargs)
        raise Sent

    monkeypatch.setattr(aiplatform_v1.JobServiceClient, "create_batch_prediction_job", capture)
    job = ours.batch_prediction_job
    with pytest.raises(Sent):
        aiplatform.BatchPredictionJob.submit(
            job_display_name=job.display_name, model_name=job.model, instances_format="jsonl",
            predictions_format="jsonl", gcs_source=VERTEX["input_uri"], gcs_destination_prefix=VERTEX["output_uri"],
            machine_type="n1-standard-4", starting_replica_count=1, max_replica_count=1, batch_size=64,
            model_parameters=dict(serving.PER_INSTANCE_ERRORS), labels=dict(job.labels), project="my-proj",
            location="us-central1", credentials=AnonymousCredentials())
    assert sent["parent"] == ours.parent
    assert type(job).to_dict(sent["batch_prediction_job"]) == type(job).to_dict(job)


def test_submit_looks_the_registry_model_up_by_display_name(monkeypatch):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform_v1

    from pipelines.batch_predict import build_request, job_client, submit

    request = build_request("mlp", **VERTEX)
    assert request.batch_prediction_job.model.endswith("/models/MODEL_ID@serving")
    client = job_client("us-central1", AnonymousCredentials())  # the real client, built offline
    models = aiplatform_v1.ModelServiceClient(credentials=AnonymousCredentials())
    assert client.api_endpoint == "us-central1-aiplatform.googleapis.com"
    asked = {}

    def list_models(request):
        asked["filter"] = request.filter
        return [aiplatform_v1.Model(name="projects/42/locations/us-central1/models/987")]

    def create(request):
        asked["model"] = request.batch_prediction_job.model
        return aiplatform_v1.BatchPredictionJob(name="projects/42/locations/us-central1/batchPredictionJobs/55")

    monkeypatch.setattr(models, "list_models", list_models)
    monkeypatch.setattr(client, "create_batch_prediction_job", create)
    said = submit(request, client=client, model_client=models)
    assert asked == {"filter": 'display_name="zoo-mlp-synthetic-xor"',
                     "model": "projects/my-proj/locations/us-central1/models/987@serving"}
    assert said.startswith("submitted projects/42/locations/us-central1/batchPredictionJobs/55")
    monkeypatch.setattr(models, "list_models", lambda request: [])
    with pytest.raises(ValueError, match="No Vertex AI model named 'zoo-mlp-synthetic-xor'"):
        submit(build_request("mlp", **VERTEX), client=client, model_client=models)


def test_dry_run_prints_the_request_and_submits_nothing(monkeypatch, capsys):
    import pipelines.batch_predict as vertex

    monkeypatch.setattr(vertex, "submit", lambda *a, **k: pytest.fail("a dry run submitted"))
    assert cli("predict", "mlp", "--project", "my-proj", "--region", "us-central1", "--input", VERTEX["input_uri"],
               "--output", VERTEX["output_uri"], "--dry-run") == 0
    out, err = capsys.readouterr()
    printed = json.loads(out)
    assert printed["parent"] == "projects/my-proj/locations/us-central1"
    assert printed["batchPredictionJob"]["model"].endswith("models/MODEL_ID@serving")
    assert printed["batchPredictionJob"]["dedicatedResources"]["machineSpec"]["machineType"] == "n1-standard-4"
    assert "looked up at submit time" in err


@pytest.mark.parametrize("argv,message", [
    (["--input", "gs://bkt/in/files.txt"], "'file-list' format (one gs:// image file a line), for models that take "
                                            "one image; mlp does not (it takes features float32(2,))"),
    (["--input", "gs://bkt/in/data.tfrecord"], "'tf-record' format"),
    (["--input", "gs://bkt/in/data.parquet"], "name a .jsonl or .csv file, or a .txt list of gs:// image files"),
    (["--output", "/tmp/out"], "--output must be a gs://bucket/path"),
    (["--region", "central"], "--region must be a region"),
    (["--machine-type", "big"], "--machine-type must be"),
    (["--replicas", "0"], "--replicas must be positive"),
    (["--model-id", "projects/x"], "--model-id must be"),
    (["--region", ""], "give --region too"),
])
def test_bad_vertex_arguments_exit_2_with_one_line(capsys, argv, message):
    base = {"--region": "us-central1", "--input": VERTEX["input_uri"], "--output": VERTEX["output_uri"]}
    base.update(zip(argv[::2], argv[1::2]))
    assert cli("predict", "mlp", "--project", "my-proj", "--dry-run", *[x for kv in base.items() for x in kv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
