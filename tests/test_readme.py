"""The README stays true: its model table is the registry's, and the commands it shows exist."""

import os
import re

from zoo.catalog import SECTIONS
from zoo.readme import render
import zoo

ROOT = os.path.join(os.path.dirname(__file__), os.pardir)


def _readme():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        return f.read()


def test_model_table_is_up_to_date():
    text = _readme()
    assert render(text) == text, "README's model table is stale: run `make readme`"


def test_every_registered_model_is_in_the_catalog_and_the_table():
    catalog = {n for names in SECTIONS.values() for n in names}
    assert set(zoo.list_models()) <= catalog
    for name in zoo.list_models():
        assert f"| `{name}` |" in _readme() and "available |" in _readme()


def test_the_zoo_subcommands_the_readme_shows_exist():
    from zoo.cli import COMMANDS

    shown = set(re.findall(r"zoo (list|show|compile|submit|run|serve)\b", _readme()))
    assert shown <= set(COMMANDS) and {"run", "compile", "submit", "serve"} <= shown
