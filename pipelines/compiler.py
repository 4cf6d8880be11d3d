"""Compile pipelines to PipelineSpec JSON (or YAML).

kfp 2.17 warns when asked to write JSON directly, so the compiler writes YAML to a temporary file and
converts it: the JSON holds exactly the same PipelineSpec.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import yaml
from kfp import compiler

from pipelines.factory import make_pipeline

FORMATS = ("json", "yaml")


def compile_pipeline(model_name: str, out_dir: str, *, target: str = "local", fmt: str = "json",
                     image: str | None = None, **target_options) -> str:
    """Write `out_dir/<model_name>.<fmt>` and return its path."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown format {fmt!r}. Allowed: {', '.join(FORMATS)}.")
    kwargs = {"image": image} if image else {}
    pipeline = make_pipeline(model_name, target=target, **kwargs, **target_options)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{model_name}.{fmt}")
    with tempfile.TemporaryDirectory() as tmp:
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

