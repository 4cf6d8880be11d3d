"""Datasets the project generates: seeded and deterministic, so tests and dry runs need no download."""

from __future__ import annotations

import numpy as np

from zoo.data import Splits, dataset, split_arrays

TRUTH_TABLES = {
    "and": (0, 0, 0, 1),
    "or": (0, 1, 1, 1),
    "nand": (1, 1, 1, 0),
    "xor": (0, 1, 1, 0),
}
_CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")


def _logic_gate(gate: str, name: str, seed: int, repeats: int) -> Splits:
    if gate not in TRUTH_TABLES:
        raise ValueError(f"Unknown logic gate {gate!r}. Allowed: {', '.join(TRUTH_TABLES)}.")
    x = np.tile(_CORNERS, (repeats, 1))
    y = np.tile(np.array(TRUTH_TABLES[gate], dtype="int32"), repeats)
    train, val, test = split_arrays(x, y, seed=seed)
    return Splits(name, "tabular", train, val, test, classes=2, info={"gate": gate})


@dataset("synthetic_logic_gates", offline=True,
         summary="The truth table of a logic gate (option gate=and|or|nand|xor; default and), repeated.")
def logic_gates(*, seed: int = 0, data_dir=None, gate: str = "and", repeats: int = 100) -> Splits:
    return _logic_gate(gate, "synthetic_logic_gates", seed, repeats)


@dataset("synthetic_xor", offline=True, summary="The XOR truth table, repeated: not linearly separable.")
def xor(*, seed: int = 0, data_dir=None, repeats: int = 100) -> Splits:
    return _logic_gate("xor", "synthetic_xor", seed, repeats)
