"""The command line: output, and one-line errors with exit status 2 for bad arguments."""

import json
import subprocess
import sys

import pytest

import zoo
from zoo.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_and_show(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == zoo.list_models()
    code, out, _ = run(capsys, "list", "--json")
    assert {m["name"] for m in json.loads(out)} == set(zoo.list_models())
    code, out, _ = run(capsys, "show", "lenet5")
    shown = json.loads(out)
    assert shown["gate"]["metric"] == "accuracy" and shown["inputs"]["image"]["shape"] == [32, 32, 1]
    assert shown["styles"]["sequential"] == "supported"


@pytest.mark.parametrize("argv,expected", [
    (["show", "lenet"], "Unknown model 'lenet'. Did you mean 'lenet5'"),
    (["run", "lenet5", "--local", "--style", "funky"], "Unknown style 'funky'."),
    (["run", "lenet5", "--local", "--dataset", "mnsit"], "Unknown dataset for lenet5: 'mnsit'. Did you mean 'mnist'?"),
    (["run", "lenet5", "--local", "--hparam", "clases=3"], "Unknown hyperparameter for lenet5: 'clases'."),
    (["run", "lenet5", "--local", "--hparam", "noequals"], "expected KEY=VALUE"),
    (["run", "lenet5", "--local", "--epochs", "0"], "--epochs must be positive"),
    (["run", "lenet5"], "the following arguments are required: --local"),
    (["run", "lenet5", "--local", "--backend", "torch"], "invalid choice: 'torch'"),
    (["run", "gan", "--local", "--backend", "jax"], "gan trains on the TensorFlow backend only"),
    (["compile", "--out", "x"], "give model names or --all"),
    (["compile", "nope", "--out", "x"], "Unknown model 'nope'."),
    (["frobnicate"], "invalid choice"),
])
def test_bad_arguments_exit_2_with_one_line(capsys, argv, expected):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and expected in err
    assert out == ""


def test_the_console_script_exits_2_without_a_traceback():
    out = subprocess.run([sys.executable, "-m", "zoo.cli", "run", "lenett", "--local"], capture_output=True,
                         text=True)
    assert out.returncode == 2
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith("zoo: Unknown model 'lenett'. Did you mean 'lenet5'")
    assert line.endswith(f"{len(zoo.list_models())} choices: see `zoo list`.")
