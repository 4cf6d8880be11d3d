"""Tasks: where a model meets its data and its metric (see `zoo.tasks.base` for the contract).

A spec names its task (`spec.task`); `get_task` returns the task object that trains, evaluates and
serves that kind of model. Task modules register their classes with `register`; nothing here imports
TensorFlow, so the CLI and the compiler can check a spec's task cheaply.
"""

from __future__ import annotations

import importlib

from zoo.tasks.base import Evaluation, Phase, Task, make_optimizer, output_count

# Modules that define tasks, imported on first use.
_MODULES = ("zoo.tasks.supervised", "zoo.tasks.generative", "zoo.tasks.sequence", "zoo.tasks.segmentation")
_TASKS: dict[str, Task] = {}


def _discover() -> None:
    if _TASKS:
        return
    for module in _MODULES:
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
