"""A Keras 3 model zoo, every model in three styles, wired to Kubeflow Pipelines v2 and Vertex AI.

    import zoo
    model = zoo.build("resnet50", include_top=False, input_shape=(96, 96, 3), pooling="avg")

Importing `zoo` does not import TensorFlow, so the CLI's `list`, `show` and `compile` stay fast. It does
make every zoo layer and model known to Keras as soon as Keras is imported (now, if it already is), so a
saved zoo model loads with `keras.saving.load_model(path, safe_mode=True)` in any process that imported
`zoo` first.
"""

import sys as _sys

from zoo.registry import build, get_spec, list_models
from zoo.spec import STYLES, ModelSpec

__all__ = ["build", "get_spec", "list_models", "load_model", "ModelSpec", "STYLES"]
__version__ = "0.1.0"


def load_model(path: str, **kwargs):
    """Load a saved zoo model (a `.keras` file) with `safe_mode=True`."""
    import keras

    register_all()
    return keras.saving.load_model(path, safe_mode=True, **kwargs)


def register_all() -> None:
    """Import every zoo implementation module, which registers its layers and models with Keras."""
    import importlib

    importlib.import_module("zoo.nn")
    for name in list_models():
        importlib.import_module(get_spec(name).impl.partition(":")[0])


def _register_after_keras_import() -> None:
    # Keras resolves custom classes only through its registry, and imports modules by itself only for its
    # own packages. Importing Keras here would import TensorFlow on every `zoo list`; instead, register the
    # zoo's classes right after Keras is imported, whoever imports it.
    import importlib.abc
    import importlib.util

    class _AfterKeras(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            if fullname != "keras":
                return None
            _sys.meta_path.remove(self)
            spec = importlib.util.find_spec("keras")
            if spec is None or spec.loader is None:
                return spec
            exec_module = spec.loader.exec_module

            def exec_then_register(module):
                exec_module(module)
                try:
                    register_all()
                except ImportError:
                    # A zoo module imported Keras first and is still initialising, so a module that imports
                    # from it cannot load yet; `zoo.load_model` (and `zoo.build`) register what they need.
                    pass

            spec.loader.exec_module = exec_then_register
            return spec

    _sys.meta_path.insert(0, _AfterKeras())


if "keras" in _sys.modules:
    register_all()
else:
    _register_after_keras_import()
