"""Compile pipelines to PipelineSpec JSON (or YAML).

kfp 2.17 warns when asked to write JSON directly, so the compiler writes YAML to a temporary file and
converts it: the JSON holds exactly the same PipelineSpec.

Speed: the Vertex target's custom-job wrapper (google-cloud-pipeline-components) round-trips each component
through `yaml.safe_dump` and kfp's `yaml.safe_load`, in pure Python: two thirds of compiling every model.
While compiling, those three functions use libyaml's C loader and dumper when PyYAML has them (same data,
about 3 times faster); nothing imports the Cloud SDK (the prebuilt serving image comes from a table).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile

import yaml
from kfp import compiler

from pipelines.factory import make_pipeline

FORMATS = ("json", "yaml")


@contextlib.contextmanager
def _libyaml():
    """yaml.safe_load, safe_load_all and safe_dump backed by libyaml (C) for the duration, if available."""
    if not getattr(yaml, "__with_libyaml__", False):
        yield
        return
    saved = yaml.safe_load, yaml.safe_load_all, yaml.safe_dump
    yaml.safe_load = lambda stream: yaml.load(stream, Loader=yaml.CSafeLoader)
    yaml.safe_load_all = lambda stream: yaml.load_all(stream, Loader=yaml.CSafeLoader)
    yaml.safe_dump = lambda data, stream=None, **kwds: yaml.dump_all([data], stream, Dumper=yaml.CSafeDumper, **kwds)
    try:
        yield
    finally:
        yaml.safe_load, yaml.safe_load_all, yaml.safe_dump = saved


def compile_pipeline(model_name: str, out_dir: str, *, target: str = "local", fmt: str = "json",
                     image: str | None = None, **target_options) -> str:
    """Write `out_dir/<model_name>.<fmt>` and return its path."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown format {fmt!r}. Allowed: {', '.join(FORMATS)}.")
    kwargs = {"image": image} if image else {}
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{model_name}.{fmt}")
    with tempfile.TemporaryDirectory() as tmp, _libyaml():
        pipeline = make_pipeline(model_name, target=target, **kwargs, **target_options)
        yaml_path = os.path.join(tmp, "pipeline.yaml")
        compiler.Compiler().compile(pipeline, package_path=yaml_path)
        if fmt == "yaml":
            shutil.copyfile(yaml_path, path)
            return path
        with open(yaml_path, encoding="utf-8") as f:
            documents = [d for d in yaml.safe_load_all(f) if d is not None]
    spec = documents[0] if len(documents) == 1 else {"pipelineSpec": documents[0], "platformSpec": documents[1]}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(spec, f, indent=2, sort_keys=True)
    return path

