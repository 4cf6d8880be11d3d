"""cloudbuild.yaml, the Dockerfile and pipelines.publish, checked offline.

Neither Docker nor Cloud Build runs here, so the build files are checked statically against the repository:
every file they copy or call exists (and is not excluded from the build context), every command parses
with the project's own argument parsers, every substitution is declared and used, and the steps run in
order. The submit step's shell script really runs (with a stand-in `zoo` that records its arguments), the
compile -> publish hand-off runs for real on one model, and publishing is tested at kfp.registry's HTTP
boundary (`requests.post`), with no network.
"""

import fnmatch
import json
import os
import re
import shlex
import subprocess
import sys

import pytest
import requests
import yaml

from pipelines import publish

# Its module-scoped fixtures are expensive: `make test` keeps the module on one worker (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("cloudbuild")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
BUILTINS = {"PROJECT_ID", "PROJECT_NUMBER", "BUILD_ID", "LOCATION", "COMMIT_SHA", "SHORT_SHA", "REVISION_ID",
            "REPO_NAME", "REPO_FULL_NAME", "BRANCH_NAME", "TAG_NAME", "REF_NAME", "TRIGGER_NAME",
            "SERVICE_ACCOUNT_EMAIL", "SERVICE_ACCOUNT"}
SAMPLE = {"PROJECT_ID": "my-project-123", "SHORT_SHA": "abc1234"}
REFERENCE = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


@pytest.fixture(scope="module")
def build():
    return yaml.safe_load(read("cloudbuild.yaml"))


def substitute(value, values):
    """Cloud Build's substitution: ${NAME} and $NAME from `values`; $$ is a literal $."""
    if isinstance(value, list):
        return [substitute(v, values) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, values) for k, v in value.items()}
    if not isinstance(value, str):
        return value
    parts = value.split("$$")
    return "$".join(REFERENCE.sub(lambda m: values[m.group("braced") or m.group("bare")], p) for p in parts)


def references(value):
    text = json.dumps(value)
    return {m.group("braced") or m.group("bare") for part in text.split("$$") for m in REFERENCE.finditer(part)}


def values_for(build, **overrides):
    values = {**SAMPLE, **{k: str(v) for k, v in build["substitutions"].items()}, **overrides}
    for _ in range(3):  # dynamic substitutions: a value may name another (e.g. _PIPELINE_ROOT -> PROJECT_ID)
        values = {k: substitute(v, values) for k, v in values.items()}
    return values


def step(build, step_id):
    (found,) = [s for s in build["steps"] if s.get("id") == step_id]
    return found


# --------------------------------------------------------------------------------------------- cloudbuild
def test_every_substitution_is_declared_and_every_declared_one_is_used(build):
    declared = set(build["substitutions"])
    used = references({"steps": build["steps"], "images": build.get("images", [])})
    assert {name for name in used if name.startswith("_")} <= declared
    assert {name for name in used if not name.startswith("_")} <= BUILTINS
    # Cloud Build refuses a build whose substitutions are not all used (substitutionOption MUST_MATCH).
    assert declared <= used
    assert all(name.startswith("_") for name in declared)  # user substitutions must start with _
    assert {"PROJECT_ID", "SHORT_SHA"} <= used
    assert build["options"]["dynamicSubstitutions"] is True  # _PIPELINE_ROOT's default names ${PROJECT_ID}


def order(build):
    """Each step's prerequisites (transitively), with Cloud Build's rule: no waitFor -> all previous steps."""
    direct, ids = {}, []
    for s in build["steps"]:
        assert s.get("id") and s["id"] not in ids, "every step needs a unique id"
        wait = s.get("waitFor")
        direct[s["id"]] = set() if wait == ["-"] else set(ids if wait is None else wait)
        assert direct[s["id"]] <= set(ids), f"{s['id']} waits for a step that comes later or does not exist"
        ids.append(s["id"])
    closed = {}
    for i in ids:
        closed[i] = set(direct[i]).union(*(closed[d] for d in direct[i]))
    return ids, closed


def test_the_steps_run_in_order(build):
    ids, after = order(build)
    assert ids == ["test", "build-image", "push-image", "compile", "publish", "submit"]
    assert after["test"] == set()
    assert all("test" in after[i] for i in ids[1:])  # nothing is built or published from untested code
    assert "build-image" in after["push-image"]
    assert {"compile", "push-image"} <= after["publish"]  # templates name an image that already exists
    assert "publish" in after["submit"]


def test_the_test_step_is_make_test_in_the_locks_python(build):
    test = step(build, "test")
    assert [test["entrypoint"], *test["args"]] == ["make", "test"]
    assert re.search(r"^test:", read("Makefile"), re.M)
    locked = re.search(r"--python-version (\d+\.\d+)", read("requirements/test.lock")).group(1)
    assert test["name"] == f"python:{locked}"
    # The later Python steps run the .venv that `make test` created, in the same image.
    assert re.search(r"^VENV := \.venv$", read("Makefile"), re.M)
    for later in ("compile", "publish"):
        assert step(build, later)["name"] == test["name"] and step(build, later)["entrypoint"].startswith(".venv/bin/")


def test_the_image_is_built_from_the_dockerfile_tagged_with_the_commit_and_latest_then_pushed(build):
    values = values_for(build)
    docker = substitute(step(build, "build-image"), values)
    args = docker["args"]
    assert args[0] == "build" and args[-1] == "." and os.path.exists(os.path.join(ROOT, "Dockerfile"))
    tags = [a.split("=", 1)[1] for a in args if a.startswith("--tag=")]
    repo = "us-central1-docker.pkg.dev/my-project-123/zoo/zoo-components"
    assert tags == [f"{repo}:abc1234", f"{repo}:latest"]
    build_args = dict(a.split("=", 2)[1:] for a in args if a.startswith("--build-arg="))
    assert set(build_args) <= set(dockerfile_args())
    assert build_args["ACCELERATOR"] in ("gpu", "cpu", "tpu")
    assert substitute(step(build, "push-image"), values)["args"] == ["push", "--all-tags", repo]
    assert substitute(build["images"], values) == tags


def test_the_compile_step_is_a_valid_zoo_compile_and_feeds_publish(build):
    from zoo.cli import _parser

    values = values_for(build)
    compile_step, publish_step = substitute(step(build, "compile"), values), substitute(step(build, "publish"), values)
    assert compile_step["entrypoint"] == ".venv/bin/zoo"
    assert re.search(r'^zoo = "zoo\.cli:main"$', read("pyproject.toml"), re.M)  # the console script
    args = _parser().parse_args(compile_step["args"])
    assert (args.command, args.all, args.names, args.target, args.fmt) == ("compile", True, [], "vertex", "yaml")
    assert args.image == "us-central1-docker.pkg.dev/my-project-123/zoo/zoo-components:abc1234"

    assert publish_step["entrypoint"] == ".venv/bin/python" and publish_step["args"][:2] == ["-m", "pipelines.publish"]
    assert os.path.exists(os.path.join(ROOT, "pipelines", "publish.py"))
    published = publish._parser().parse_args(publish_step["args"][2:])
    assert published.directory == args.out
    assert publish.check_host(published.host) == "https://us-central1-kfp.pkg.dev/my-project-123/zoo-pipelines"
    assert publish.check_tags(published.tags) == ["abc1234", "latest"]


def run_submit_step(build, tmp_path, **overrides):
    """Run the submit step's script with bash, as Cloud Build would, with a stand-in zoo that records its args."""
    values = values_for(build, **overrides)
    submit = substitute(step(build, "submit"), values)
    assert submit["entrypoint"] == "bash" and submit["args"][0] == "-c"
    stand_in = tmp_path / ".venv" / "bin" / "zoo"
    stand_in.parent.mkdir(parents=True)
    stand_in.write_text(f'#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n')
    stand_in.chmod(0o755)
    env = {"PATH": os.environ["PATH"], **dict(e.split("=", 1) for e in submit["env"])}
    result = subprocess.run(["bash", "-c", submit["args"][1]], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_submit_step_does_nothing_unless_a_model_is_named(build, tmp_path):
    assert build["substitutions"]["_SUBMIT"] == ""
    assert run_submit_step(build, tmp_path) == "_SUBMIT is empty: nothing submitted."


@pytest.mark.parametrize("service_account", ["", "zoo-runner@my-project-123.iam.gserviceaccount.com"])
def test_the_submit_step_is_a_valid_zoo_submit(build, tmp_path, service_account):
    from pipelines.submit import check_target
    from zoo.cli import _parser

    out = run_submit_step(build, tmp_path, _SUBMIT="lenet5", _SERVICE_ACCOUNT=service_account)
    argv = json.loads(out)
    args = _parser().parse_args(argv)
    assert (args.command, args.name, args.project, args.region) == ("submit", "lenet5", "my-project-123",
                                                                      "us-central1")
    assert args.pipeline_root == "gs://my-project-123-zoo/pipeline-root"
    assert args.image == "us-central1-docker.pkg.dev/my-project-123/zoo/zoo-components:abc1234"
    assert args.accelerator == "gpu" and args.service_account == service_account
    check_target(args.project, args.region, args.pipeline_root, None)  # zoo submit's own validation


@pytest.mark.slow
def test_the_submit_step_builds_a_real_pipeline_job_offline(build, tmp_path, capsys):
    from zoo.cli import main

    argv = json.loads(run_submit_step(build, tmp_path, _SUBMIT="lenet5"))
    assert main(argv + ["--dry-run"]) == 0, capsys.readouterr().err


# ------------------------------------------------------------------------------------------------- Docker
def dockerfile_instructions():
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    logical, current = [], ""
    for line in read("Dockerfile").splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        current += " " + stripped
        if current.endswith("\\"):
            current = current[:-1]
            continue
        instruction, _, rest = current.strip().partition(" ")
        logical.append((instruction.upper(), rest.strip()))
        current = ""
    assert not current, "the Dockerfile ends inside a continued line"
    return logical


def dockerfile_args():
    """Each ARG's default (an ARG re-declared after FROM without a value keeps the first default)."""
    defaults = {}
    for instruction, rest in dockerfile_instructions():
        if instruction == "ARG":
            name, _, value = rest.partition("=")
            defaults[name] = value if "=" in rest else defaults.get(name)
    return defaults


def ignored(path, patterns):
    """Whether .dockerignore's patterns exclude `path` (or a folder above it)."""
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    result = False
    for pattern in patterns:
        negate, pattern = pattern.startswith("!"), pattern.lstrip("!").strip("/")
        if any(fnmatch.fnmatch(c, pattern) or fnmatch.fnmatch(c, pattern.replace("**/", "")) for c in candidates):
            result = not negate
    return result


def test_the_dockerfile_installs_the_locked_project_on_a_python_base_as_a_non_root_user():
    instructions = dockerfile_instructions()
    args = dockerfile_args()
    (base,) = [rest for instruction, rest in instructions if instruction == "FROM"]
    locked = re.search(r"--python-version (\d+\.\d+)", read("requirements/test.lock")).group(1)
    assert args["PYTHON_VERSION"] == locked  # the interpreter the lock was resolved for
    assert base == "python:${PYTHON_VERSION}-slim-bookworm"
    makefile_uv = re.search(r"^UV_VERSION := (\S+)$", read("Makefile"), re.M).group(1)
    assert args["UV_VERSION"] == makefile_uv and args["ACCELERATOR"] == "gpu"

    patterns = [line.strip() for line in read(".dockerignore").splitlines() if line.strip() and not line.startswith("#")]
    copied = []
    for instruction, rest in instructions:
        if instruction in ("COPY", "ADD"):
            sources = [s for s in shlex.split(rest)[:-1] if not s.startswith("--")]
            for source in sources:
                assert os.path.exists(os.path.join(ROOT, source)), f"COPY of a missing file: {source}"
                assert not ignored(source, patterns), f".dockerignore excludes {source}, which the image copies"
            copied += sources
    assert ignored(".venv/bin/python", patterns) and ignored("runs/local/x", patterns)
    # Every package that pyproject.toml ships is copied before `pip install .`.
    packages = re.search(r'include = \[(.*)\]', read("pyproject.toml")).group(1)
    for package in re.findall(r'"(\w+)\*"', packages):
        assert package in copied
    assert {"pyproject.toml", "README.md", "requirements/test.lock"} <= set(copied)  # README: pyproject's readme

    for instruction, rest in instructions:
        if instruction == "RUN":  # each RUN is valid POSIX shell (docker runs it with /bin/sh -c)
            check = subprocess.run(["sh", "-n", "-c", rest], capture_output=True, text=True)
            assert check.returncode == 0, f"{rest[:80]}...: {check.stderr}"
    runs = " ".join(rest for instruction, rest in instructions if instruction == "RUN")
    assert "--constraint requirements/test.lock" in runs and "uv pip install --no-deps ." in runs
    assert "tensorflow[and-cuda]" in runs and "tensorflow-tpu==" in runs
    assert "jax[cuda12]" in runs and "jax[tpu]" in runs and "--extra jax" in runs  # the JAX backend's builds
    labels = " ".join(rest for instruction, rest in instructions if instruction == "LABEL")
    assert 'ai.zoo.keras-backends="tensorflow,jax"' in labels
    env = " ".join(rest for instruction, rest in instructions if instruction == "ENV")
    assert "KERAS_BACKEND=tensorflow" in env
    users = [rest for instruction, rest in instructions if instruction == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert not [i for i, _ in instructions if i == "ENTRYPOINT"]  # KFP sets each step's command
    (cmd,) = [rest for instruction, rest in instructions if instruction == "CMD"]
    assert json.loads(cmd)[0] == "zoo"  # exec form, the console script


def test_every_runtime_dependency_is_pinned_in_the_lock_within_its_range():
    """The image resolves pyproject's dependencies with the lock as constraints: each must be in it."""
    import tomllib

    from packaging.requirements import Requirement

    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", read("requirements/test.lock"), re.M))
    pins = {re.sub(r"[-_.]+", "-", k).lower(): v for k, v in pins.items()}
    dependencies = tomllib.loads(read("pyproject.toml"))["project"]["dependencies"]
    for dependency in dependencies:
        requirement = Requirement(dependency)
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in pins, f"{name} is not in requirements/test.lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (name, pins[name])


# ------------------------------------------------------------------------------------------------ publish
HOST = "https://us-central1-kfp.pkg.dev/my-project-123/zoo-pipelines"


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    """lenet5's Vertex template, compiled as the compile step compiles every model."""
    from zoo.cli import main

    out = tmp_path_factory.mktemp("templates")
    assert main(["compile", "lenet5", "--target", "vertex", "--image",
                 "us-central1-docker.pkg.dev/my-project-123/zoo/zoo-components:abc1234",
                 "--out", str(out), "--format", "yaml"]) == 0
    return out


def fake_credentials():
    """What google.auth.default() returns on Cloud Build, minus the metadata server: a token on refresh."""
    from google.auth import credentials

    class BuildCredentials(credentials.Credentials):
        def refresh(self, request):
            self.token = "build-token"

    return BuildCredentials()


@pytest.fixture
def registry(monkeypatch):
    """Artifact Registry's upload endpoint, at the HTTP call kfp.registry makes (`requests.post`)."""
    calls = []
    status = {"code": 200}

    def post(url, data=None, headers=None, files=None, auth=None, **kwargs):
        prepared = requests.Request("POST", url).prepare()
        auth(prepared)
        content = files["content"].read()
        name = yaml.safe_load(content)["pipelineInfo"]["name"]
        calls.append({"url": url, "data": data, "content": content, "name": name,
                      "authorization": prepared.headers.get("authorization")})
        response = requests.Response()
        response.status_code, response.url = status["code"], url
        response.reason = "OK" if status["code"] == 200 else "Forbidden"
        response._content = f"{name}/sha256:{'0' * 64}".encode() if status["code"] == 200 else b"denied"
        return response

    import google.auth

    monkeypatch.setattr(requests, "post", post)
    monkeypatch.setattr(google.auth, "default", lambda *a, **k: (fake_credentials(), "my-project-123"))
    return calls, status


def test_publish_uploads_every_template_with_its_tags(templates, registry, capsys):
    calls, _ = registry
    assert publish.main(["--host", HOST + "/", "--tag", "abc1234", "--tag", "latest", "--tag", "latest",
                         str(templates)]) == 0
    (call,) = calls
    assert call["url"] == HOST and call["data"] == {"tags": "abc1234,latest"}
    assert call["content"] == (templates / "lenet5.yaml").read_bytes() and call["name"] == "zoo-lenet5"
    assert call["authorization"] == "Bearer build-token"
    out = capsys.readouterr().out
    assert f"published zoo-lenet5: {HOST}/zoo-lenet5/sha256:{'0' * 64} (tags: abc1234, latest)" in out


def test_a_refused_upload_is_one_line_naming_the_template(templates, registry, capsys):
    calls, status = registry
    status["code"] = 403
    assert publish.main(["--host", HOST, "--tag", "v1", str(templates)]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "lenet5.yaml (zoo-lenet5)" in err and "403" in err


def test_dry_run_checks_without_uploading(templates, registry, capsys):
    calls, _ = registry
    assert publish.main(["--dry-run", "--host", HOST, "--tag", "v1", str(templates)]) == 0
    assert calls == [] and "would publish zoo-lenet5" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--host", "https://example.com/repo", "--tag", "v1", "{dir}"], "--host must look like"),
    (["--host", HOST + "/extra", "--tag", "v1", "{dir}"], "--host must look like"),
    (["--host", HOST, "--tag", "", "{dir}"], "A tag is letters"),
    (["--host", HOST, "--tag", "sha256:abc", "{dir}"], "A tag is letters"),
    (["--host", HOST, "{dir}"], "the following arguments are required: --tag"),
    (["--host", HOST, "--tag", "v1", "{dir}/missing"], "Not a folder"),
    (["--host", HOST, "--tag", "v1", "{json}"], "JSON templates only; Artifact Registry takes YAML"),
    (["--host", HOST, "--tag", "v1", "{empty}"], "no templates"),
    (["--host", HOST, "--tag", "v1", "{other}"], "is not a compiled pipeline"),
])
def test_bad_arguments_are_one_line_errors(tmp_path, registry, capsys, argv, message):
    calls, _ = registry
    folders = {name: tmp_path / name for name in ("dir", "json", "empty", "other")}
    for folder in folders.values():
        folder.mkdir()
    (folders["dir"] / "x.yaml").write_text("pipelineInfo: {name: zoo-x}\nroot: {}\n")
    (folders["json"] / "lenet5.json").write_text("{}")
    (folders["other"] / "values.yaml").write_text("a: 1\n")
    argv = [a.format(**{k: str(v) for k, v in folders.items()}) for a in argv]
    assert publish.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and err.startswith("publish: ")
    assert calls == []
