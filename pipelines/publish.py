"""Publish compiled pipeline templates to a Kubeflow Pipelines repository in Artifact Registry.

    python -m pipelines.publish --host https://REGION-kfp.pkg.dev/PROJECT/REPO --tag TAG [--tag TAG...] DIR

Uploads every `DIR/*.yaml` (as `zoo compile --all --format yaml --out DIR` writes them) with
`kfp.registry.RegistryClient.upload_pipeline`; Artifact Registry names the package after the template's
`pipelineInfo.name` (zoo-<model>) and versions it by content hash, and the tags point at that version.
Credentials are Application Default Credentials (on Cloud Build, the build's service account, which needs
roles/artifactregistry.writer on the repository). A bad argument exits with status 2 and one line; a
failed upload exits with status 1 and one line naming the template.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import sys
from typing import Any, Sequence

import yaml

# What kfp.registry recognises as an Artifact Registry host (anything else needs a context file).
HOST_PATTERN = re.compile(r"^https://(?P<region>[a-z0-9-]+)-kfp\.pkg\.dev/(?P<project>[a-z0-9][a-z0-9:.-]*)"
                          r"/(?P<repository>[a-z0-9][a-z0-9-]*)$")
# Artifact Registry tag ids; kfp additionally refuses tags that look like versions ("sha256:...").
TAG_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class PublishError(Exception):
    """An upload failed; printed as one line, exit status 1."""


def check_host(host: str) -> str:
    host = host.rstrip("/")
    if not HOST_PATTERN.match(host):
        raise ValueError(f"--host must look like https://REGION-kfp.pkg.dev/PROJECT/REPOSITORY. Received: {host!r}")
    return host


def check_tags(tags: Sequence[str]) -> list[str]:
    for tag in tags:
        if not TAG_PATTERN.match(tag) or tag.startswith("sha256"):
            raise ValueError(f"A tag is letters, digits, '.', '_' or '-' (at most 128, not 'sha256...'). "
                             f"Received: {tag!r}")
    return list(dict.fromkeys(tags))  # the same tag twice would be sent twice


def templates(directory: str) -> list[tuple[str, str]]:
    """(path, pipeline name) of each template in `directory`; ValueError when there is none or one is not a pipeline."""
    if not os.path.isdir(directory):
        raise ValueError(f"Not a folder: {directory!r}")
    paths = sorted(glob.glob(os.path.join(directory, "*.yaml")) + glob.glob(os.path.join(directory, "*.yml")))
    if not paths:
        found = "JSON templates only; Artifact Registry takes YAML: compile with --format yaml" if glob.glob(
            os.path.join(directory, "*.json")) else "no templates"
        raise ValueError(f"Nothing to publish in {directory!r}: {found}.")
    found = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                spec = next((d for d in yaml.safe_load_all(f) if d is not None), None)
        except yaml.YAMLError as err:
            raise ValueError(f"{path} is not YAML: {' '.join(str(err).split())}") from None
        name = spec.get("pipelineInfo", {}).get("name") if isinstance(spec, dict) else None
        if not name or "root" not in spec:
            raise ValueError(f"{path} is not a compiled pipeline (no pipelineInfo.name and root).")
        found.append((path, name))
    return found


def publish(directory: str, host: str, tags: Sequence[str], *, client: Any = None) -> list[dict]:
    """Upload every template in `directory`; returns one record per template (name, package, version, tags)."""
    host, tags = check_host(host), check_tags(tags)
    found = templates(directory)
    if client is None:
        from kfp.registry import RegistryClient

        client = RegistryClient(host=host)
    published = []
    for path, name in found:
        try:
            package, version = client.upload_pipeline(file_name=path, tags=tags)
        except Exception as err:  # requests.HTTPError, google.auth errors: say which template and why
            raise PublishError(f"Uploading {path} ({name}) to {host} failed: {type(err).__name__}: "
                               f"{' '.join(str(err).split())[:300]}") from None
        published.append({"template": path, "pipeline": name, "package": package, "version": version,
                          "tags": tags, "uri": f"{host}/{package}/{version}"})
    return published


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise ValueError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m pipelines.publish",
                     description="Upload compiled pipeline templates (YAML) to an Artifact Registry KFP repository.")
    parser.add_argument("--host", required=True, help="https://REGION-kfp.pkg.dev/PROJECT/REPOSITORY")
    parser.add_argument("--tag", action="append", required=True, dest="tags",
                        help="tag for every uploaded version (repeatable), e.g. the commit and 'latest'")
    parser.add_argument("--dry-run", action="store_true", help="check the arguments and templates; upload nothing")
    parser.add_argument("directory", metavar="DIR", help="folder of templates from `zoo compile --format yaml`")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.dry_run:
            check_host(args.host)
            check_tags(args.tags)
            for path, name in templates(args.directory):
                print(f"would publish {name} from {path}")
            return 0
        published = publish(args.directory, args.host, args.tags)
    except ValueError as err:
        print(f"publish: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    except PublishError as err:
        print(f"publish: {err}", file=sys.stderr)
        return 1
    for record in published:
        print(f"published {record['pipeline']}: {record['uri']} (tags: {', '.join(record['tags'])})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
