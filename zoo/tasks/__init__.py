"""Tasks: where a model meets its data and its metric (see `zoo.tasks.base` for the contract).

A spec names its task (`spec.task`); `get_task` returns the task object that trains, evaluates and
serves that kind of model. Every module of this package but `base` may define `Task` subclasses; each
subclass with `names` is registered under those names on first use. Task modules never import TensorFlow at
import time, so the CLI and the compiler can check a spec's task cheaply.
"""

from __future__ import annotations

import importlib
import pkgutil

from zoo.tasks.base import Evaluation, Phase, Task, make_optimizer, output_count

_TASKS: dict[str, Task] = {}


def _modules() -> list[str]:
    return sorted(f"{__name__}.{info.name}" for info in pkgutil.iter_modules(__path__) if info.name != "base")


def _discover() -> None:
    if _TASKS:
        return
    for module in _modules():
        loaded = importlib.import_module(module)
        for value in vars(loaded).values():
            if isinstance(value, type) and issubclass(value, Task) and value.names and value.__module__ == module:
                instance = value()
                for name in value.names:
                    if name in _TASKS:
                        raise RuntimeError(f"Task {name!r} is registered twice.")
                    _TASKS[name] = instance


def list_tasks() -> list[str]:
    _discover()
    return sorted(_TASKS)


def get_task(name: str) -> Task:
    """The task object registered under `name`; ValueError naming the allowed tasks if there is none."""
    _discover()
    if name not in _TASKS:
        from zoo.registry import _unknown

        raise _unknown("task", name, _TASKS)
    return _TASKS[name]


__all__ = ["Evaluation", "Phase", "Task", "get_task", "list_tasks", "make_optimizer", "output_count"]
