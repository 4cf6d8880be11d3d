"""GcsBaselineStore's compare-and-swap, through the real google-cloud-storage client.

Why not an emulator: gcp-storage-emulator (2026.7.19, the one on PyPI) ignores `ifGenerationMatch`; a
second write with `if_generation_match=0`, or with a wrong generation, succeeds there, so it cannot show a
compare-and-swap. The other emulators (fake-gcs-server) are Go binaries or containers, which cannot be
installed from PyPI. So the boundary is HTTP: `FakeGcs` below is a small in-process server speaking the
two JSON-API calls the store makes (media download, multipart upload) with Cloud Storage's generation
semantics: every write gets a new, larger generation; a write with `ifGenerationMatch=0` succeeds only if
the object does not exist, with `ifGenerationMatch=N` only if the live generation is N; otherwise 412,
which the client turns into `google.api_core.exceptions.PreconditionFailed`. The real client library
builds the requests, reads the generation from the download's headers and maps the errors, so the test
covers the store's use of it, not a fake of it.
"""

import base64
import dataclasses
import hashlib
import http.server
import json
import threading
import urllib.parse
from email import message_from_bytes, policy

import pytest

from zoo.pipeline.baseline import Baseline, BaselineError, GcsBaselineStore

BUCKET = "zoo-test-bucket"
PREFIX = "baselines"


class FakeGcs(http.server.ThreadingHTTPServer):
    """Objects with generations, and hooks that act as a concurrent run at the moment a write arrives."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.objects: dict[str, tuple[bytes, int]] = {}  # name -> (content, generation)
        self.next_generation = 1_700_000_000_000_000
        self.before_upload = None  # called (under no lock) before a write's precondition is checked
        self.lose_next_response = False  # apply the next write, then answer 503 as if the reply was lost
        self.forbid_reads = False
        self.log: list[tuple[str, str, str | None]] = []  # (method, object name, ifGenerationMatch)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def put(self, name: str, content: bytes) -> int:
        with self.lock:
            self.next_generation += 1
            self.objects[name] = (content, self.next_generation)
            return self.next_generation


class _Handler(http.server.BaseHTTPRequestHandler):
    server: FakeGcs

    def log_message(self, *args):  # keep the test output clean
        pass

    def _reply(self, status: int, body: bytes, headers: dict | None = None, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, reason: str):
        body = {"error": {"code": status, "message": message, "errors": [{"message": message, "reason": reason}]}}
        self._reply(status, json.dumps(body).encode())

    def _resource(self, name: str, content: bytes, generation: int) -> dict:
        return {"kind": "storage#object", "bucket": BUCKET, "name": name, "generation": str(generation),
                "metageneration": "1", "size": str(len(content)), "contentType": "application/json",
                "md5Hash": base64.b64encode(hashlib.md5(content).digest()).decode()}

    def do_GET(self):  # noqa: N802 - http.server's naming
        url = urllib.parse.urlparse(self.path)
        prefix = f"/download/storage/v1/b/{BUCKET}/o/"
        if not url.path.startswith(prefix) or urllib.parse.parse_qs(url.query).get("alt") != ["media"]:
            return self._error(400, f"unsupported request {self.path}", "invalid")
        name = urllib.parse.unquote(url.path[len(prefix):])
        self.server.log.append(("GET", name, None))
        if self.server.forbid_reads:
            return self._error(403, "caller does not have storage.objects.get access", "forbidden")
        with self.server.lock:
            found = self.server.objects.get(name)
        if found is None:
            return self._error(404, f"No such object: {BUCKET}/{name}", "notFound")
        content, generation = found
        md5 = base64.b64encode(hashlib.md5(content).digest()).decode()
        self._reply(200, content, {"X-Goog-Generation": str(generation), "X-Goog-Metageneration": "1",
                                   "X-Goog-Hash": f"md5={md5}"}, content_type="application/octet-stream")

    def do_POST(self):  # noqa: N802
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path != f"/upload/storage/v1/b/{BUCKET}/o" or query.get("uploadType") != ["multipart"]:
            return self._error(400, f"unsupported request {self.path}", "invalid")
        body = self.rfile.read(int(self.headers["Content-Length"]))
        message = message_from_bytes(f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + body,
                                     policy=policy.HTTP)
        metadata_part, media_part = list(message.iter_parts())
        name = json.loads(metadata_part.get_content())["name"]
        content = media_part.get_payload(decode=True)
        match = query.get("ifGenerationMatch", [None])[0]
        self.server.log.append(("POST", name, match))
        hook, self.server.before_upload = self.server.before_upload, None
        if hook:
            hook()
        with self.server.lock:
            live = self.server.objects.get(name)
            if match is not None and int(match) != (live[1] if live else 0):
                return self._error(412, "At least one of the pre-conditions you specified did not hold.",
                                   "conditionNotMet")
            self.server.next_generation += 1
            self.server.objects[name] = (content, self.server.next_generation)
            generation = self.server.next_generation
        if self.server.lose_next_response:
            self.server.lose_next_response = False
            return self._error(503, "backend error (the write was applied)", "backendError")
        self._reply(200, json.dumps(self._resource(name, content, generation)).encode())


    def do_DELETE(self):  # noqa: N802
        url = urllib.parse.urlparse(self.path)
        prefix = f"/storage/v1/b/{BUCKET}/o/"
        if not url.path.startswith(prefix):
            return self._error(400, f"unsupported request {self.path}", "invalid")
        name = urllib.parse.unquote(url.path[len(prefix):])
        match = urllib.parse.parse_qs(url.query).get("ifGenerationMatch", [None])[0]
        self.server.log.append(("DELETE", name, match))
        with self.server.lock:
            live = self.server.objects.get(name)
            if live is None:
                return self._error(404, f"No such object: {BUCKET}/{name}", "notFound")
            if match is not None and int(match) != live[1]:
                return self._error(412, "At least one of the pre-conditions you specified did not hold.",
                                   "conditionNotMet")
            del self.server.objects[name]
        self.send_response(204)
        self.end_headers()


@pytest.fixture
def gcs():
    server = FakeGcs()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def make_store(server: FakeGcs) -> GcsBaselineStore:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project="test-project", credentials=AnonymousCredentials(),
                            client_options={"api_endpoint": server.url})
    return GcsBaselineStore(f"gs://{BUCKET}/{PREFIX}/", client=client)


OBJECT = f"{PREFIX}/lenet5/digits.json"


def baseline(value: float, version: str) -> Baseline:
    return Baseline(model="lenet5", dataset="digits", metric="accuracy", direction="max", value=value,
                    version=version, location=f"projects/p/locations/r/models/1@{version}",
                    test_fingerprint="abc", scores=[1.0, 0.0, 1.0])


def stored(server: FakeGcs) -> Baseline:
    return Baseline.from_json(server.objects[OBJECT][0].decode(), "fake")


def uploads(server: FakeGcs) -> list[str | None]:
    return [match for method, _, match in server.log if method == "POST"]


def test_the_first_write_requires_that_no_baseline_exists_and_later_ones_the_generation_read(gcs):
    store = make_store(gcs)
    assert store.read("lenet5", "digits") is None
    first = baseline(0.90, "1")
    assert store.propose(first) == (True, None)
    assert uploads(gcs) == ["0"]
    generation = gcs.objects[OBJECT][1]
    assert store.read("lenet5", "digits") == first

    assert store.propose(baseline(0.85, "2")) == (False, first)  # not better: nothing is sent
    assert uploads(gcs) == ["0"]
    better = baseline(0.95, "3")
    assert store.propose(better) == (True, first)
    assert uploads(gcs) == ["0", str(generation)]
    assert stored(gcs) == dataclasses.replace(better, history=["1"])  # the version it replaced is remembered


def test_a_better_baseline_written_in_between_is_never_overwritten(gcs):
    store = make_store(gcs)
    store.propose(baseline(0.90, "1"))
    concurrent = baseline(0.97, "concurrent")
    # Another run records 0.97 after this store read 0.90 and decided that 0.95 is better.
    gcs.before_upload = lambda: gcs.put(OBJECT, concurrent.to_json().encode())
    written, current = store.propose(baseline(0.95, "2"))
    assert (written, current) == (False, concurrent)
    assert stored(gcs) == concurrent
    assert uploads(gcs)[-1] != "0" and len(uploads(gcs)) == 2  # the one refused write, no second one


def test_a_worse_baseline_written_in_between_is_decided_against_again_and_replaced(gcs):
    store = make_store(gcs)
    store.propose(baseline(0.90, "1"))
    concurrent = baseline(0.92, "concurrent")
    gcs.before_upload = lambda: gcs.put(OBJECT, concurrent.to_json().encode())
    candidate = baseline(0.95, "2")
    assert store.propose(candidate) == (True, concurrent)
    assert stored(gcs) == dataclasses.replace(candidate, history=["concurrent"])
    refused, accepted = uploads(gcs)[-2:]
    assert int(accepted) == int(refused) + 1  # the retry carried the concurrent write's generation


def test_a_lost_response_to_a_write_that_landed_counts_as_written(gcs):
    store = make_store(gcs)
    first = baseline(0.90, "1")
    store.propose(first)
    gcs.lose_next_response = True  # applied, then 503: the client retries, and the retry gets 412
    candidate = baseline(0.95, "2")
    assert store.propose(candidate) == (True, first)
    assert stored(gcs) == dataclasses.replace(candidate, history=["1"])
    assert len(uploads(gcs)) == 3


def test_racing_runs_leave_the_best_baseline(gcs):
    values = [0.91, 0.97, 0.93, 0.95, 0.92, 0.96]
    results = {}

    def run(i, value):
        results[i] = make_store(gcs).propose(baseline(value, str(i)), attempts=20)

    threads = [threading.Thread(target=run, args=(i, v)) for i, v in enumerate(values)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == len(values)
    assert stored(gcs).value == max(values) and stored(gcs).version == "1"
    assert results[1][0] is True


@pytest.mark.parametrize("content, why", [
    (b"{not json", "Corrupt baseline gs://zoo-test-bucket/baselines/lenet5/digits.json"),
    (b'{"model": "lenet5"}', "missing fields"),
    (b"\xff\xfe\x00", "not UTF-8 text"),
])
def test_a_corrupt_baseline_fails_the_gate_and_is_not_overwritten(gcs, content, why):
    gcs.put(OBJECT, content)
    store = make_store(gcs)
    with pytest.raises(BaselineError, match="Corrupt baseline") as err:
        store.read("lenet5", "digits")
    assert why in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(BaselineError, match="Corrupt baseline"):
        store.propose(baseline(0.99, "2"))
    assert gcs.objects[OBJECT][0] == content and uploads(gcs) == []


def test_an_unreadable_baseline_is_an_error_not_a_first_deployment(gcs):
    gcs.forbid_reads = True
    with pytest.raises(BaselineError, match=r"Unreadable baseline .*Forbidden") as err:
        make_store(gcs).propose(baseline(0.99, "1"))
    assert "\n" not in str(err.value) and uploads(gcs) == []


def test_a_baseline_that_keeps_changing_gives_up_with_a_clear_error(gcs):
    store = make_store(gcs)
    store.propose(baseline(0.90, "1"))

    def rival():  # a slightly different worse baseline lands before every write
        gcs.put(OBJECT, baseline(0.91, "rival").to_json().encode())
        gcs.before_upload = rival

    gcs.before_upload = rival
    with pytest.raises(BaselineError, match="kept changing during 3 attempts; not recorded"):
        store.propose(baseline(0.95, "2"), attempts=3)
    assert stored(gcs).version == "rival"


@pytest.mark.parametrize("uri", ["s3://bucket/x", "gs://", "gs:///prefix", "/local/path"])
def test_a_bad_uri_is_a_one_line_error(uri):
    with pytest.raises(ValueError, match=r"looks like gs://BUCKET\[/PREFIX\]"):
        GcsBaselineStore(uri)


# ------------------------------------------------------------------------------------------- the deploy lease
LEASE = f"{PREFIX}/lenet5/digits.lease"


def test_a_lease_is_created_only_if_absent_and_released_by_deleting_exactly_its_generation(gcs):
    store = make_store(gcs)
    with store.lease("lenet5", "digits"):
        held = json.loads(gcs.objects[LEASE][0])
        assert held["expires_at"] > 0 and held["holder"]
        generation = gcs.objects[LEASE][1]
    assert LEASE not in gcs.objects
    assert [(m, match) for m, name, match in gcs.log if name == LEASE] == [("POST", "0"), ("DELETE", str(generation))]


def test_a_live_lease_of_another_run_is_waited_for_then_refused_with_one_line(gcs):
    import time as clock

    from zoo.pipeline.baseline import LeaseError

    other = json.dumps({"holder": "other-run", "expires_at": clock.time() + 600}).encode()
    gcs.put(LEASE, other)
    store = make_store(gcs)
    with pytest.raises(LeaseError) as err:
        with store.lease("lenet5", "digits", wait_s=0.3, poll_s=0.05):
            pytest.fail("entered a lease another run holds")
    message = str(err.value)
    assert "held by 'other-run'" in message and "Nothing was changed" in message and "\n" not in message
    assert gcs.objects[LEASE][0] == other  # untouched


def test_an_expired_lease_is_taken_over_once_and_its_old_holder_cannot_release_the_new_one(gcs):
    import time as clock

    stale = gcs.put(LEASE, json.dumps({"holder": "dead-run", "expires_at": clock.time() - 1}).encode())
    first, second = make_store(gcs), make_store(gcs)
    with first.lease("lenet5", "digits", ttl_s=0.2):
        assert ("POST", LEASE, str(stale)) in gcs.log  # taken over on the generation read, not blindly
        clock.sleep(0.3)  # this run overran its lease: another run takes it over meanwhile
        with second.lease("lenet5", "digits", wait_s=0):
            taken = gcs.objects[LEASE][1]
    assert LEASE not in gcs.objects  # the second run released its own lease; the first's delete found none
    assert ("DELETE", LEASE, str(taken)) in gcs.log


def test_rollback_writes_only_over_the_baseline_it_read_and_versions_are_kept(gcs):
    store = make_store(gcs)
    first, second = baseline(0.90, "1"), baseline(0.95, "2")
    for record in (first, second):
        store.record_version(record)
        store.propose(record)
    current = store.read("lenet5", "digits")
    assert current.history == ["1"] and store.read_version("lenet5", "digits", "1") == first
    assert store.read_version("lenet5", "digits", "9") is None
    with pytest.raises(BaselineError, match="changed during the rollback"):
        store.replace(first, expected=second)  # `second` as recorded has a history: not what is stored
    store.replace(first, expected=current)
    assert stored(gcs) == first
