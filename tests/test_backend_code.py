"""Model code stays backend-agnostic (issue 16): TensorFlow is imported only where the code says why.

Every `import tensorflow` under `zoo/models` must sit in a function marked `@uses_tensorflow("reason")` (data
code in a `tf.data` map, serving wrappers, a `tf.distribute` detail, a `tf.GradientTape` step), and a model
whose training needs TensorFlow says so in its spec (`tensorflow_only`), which the backend tests read.
"""

from __future__ import annotations

import ast
import os

import pytest

import zoo

MODELS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "zoo", "models")


def _imports_tensorflow(node) -> bool:
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] == "tensorflow" for alias in node.names)
    return isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "tensorflow"


def _marked(function) -> bool:
    for decorator in function.decorator_list:
        call = decorator.func if isinstance(decorator, ast.Call) else decorator
        if getattr(call, "id", getattr(call, "attr", None)) == "uses_tensorflow":
            return isinstance(decorator, ast.Call) and bool(decorator.args)
    return False


def unmarked_tensorflow_imports(source: str, path: str = "<source>") -> list[str]:
    """Where `source` imports TensorFlow outside a function marked `@uses_tensorflow(reason)`."""
    found = []

    def visit(node, function):
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if _imports_tensorflow(child) and (function is None or not _marked(function)):
                found.append(f"{path}:{child.lineno}")
            visit(child, inner)

    visit(ast.parse(source), None)
    return found


def test_model_code_imports_tensorflow_only_in_functions_that_say_why():
    found, files = [], 0
    for folder, _, names in os.walk(MODELS):
        for name in sorted(n for n in names if n.endswith(".py")):
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as f:
                found += unmarked_tensorflow_imports(f.read(), os.path.relpath(path, MODELS))
            files += 1
    assert files > 50 and not found, found


def test_the_check_finds_unmarked_and_module_level_imports_and_accepts_marked_ones():
    source = '''
import tensorflow as tf

def data_map(x):
    import tensorflow as tf

@uses_tensorflow("serving: the export is a SavedModel")
def serve(x):
    from tensorflow import keras

class Layer:
    @uses_tensorflow
    def call(self, x):
        import tensorflow.experimental
'''
    assert unmarked_tensorflow_imports(source) == ["<source>:2", "<source>:5", "<source>:14"]


def test_tensorflow_only_models_say_why_and_the_rest_train_through_keras_alone():
    tensorflow_only = {name: zoo.get_spec(name).tensorflow_only for name in zoo.list_models()
                       if zoo.get_spec(name).tensorflow_only}
    assert set(tensorflow_only) == {"gan", "dcgan", "lsgan", "cgan", "acgan", "sgan", "pix2pix", "style_transfer"}
    assert all("tf.GradientTape" in reason for reason in tensorflow_only.values())
    assert zoo.get_spec("dcgan").to_dict()["tensorflow_only"] == tensorflow_only["dcgan"]  # `zoo show` says it


def test_a_blank_reason_is_refused():
    import dataclasses

    from zoo.nn import uses_tensorflow

    with pytest.raises(ValueError, match="tensorflow_only must be None or the reason"):
        dataclasses.replace(zoo.get_spec("dcgan"), tensorflow_only=" ")
    with pytest.raises(ValueError, match="needs the reason"):
        uses_tensorflow("")
