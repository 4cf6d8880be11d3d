"""Save and load splits as `.npz` files without pickles (strings become fixed-width unicode arrays)."""

from __future__ import annotations

import hashlib
import os

import numpy as np

_SEP = "__"


def _plain(a) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype == object:  # Python strings: store as unicode so loading needs no pickle
        a = a.astype(str)
    return a


def save_split(path: str, x, y) -> None:
    arrays = {"y": _plain(y)}
    if isinstance(x, dict):
        arrays.update({f"x{_SEP}{k}": _plain(v) for k, v in x.items()})
    else:
        arrays["x"] = _plain(x)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def load_split(path: str):
    with np.load(path, allow_pickle=False) as data:
        y = data["y"]
        if "x" in data.files:
            return data["x"], y
        return {k.split(_SEP, 1)[1]: data[k] for k in data.files if k.startswith(f"x{_SEP}")}, y


def fingerprint(x, y) -> str:
    """A short hash that identifies a split's exact contents (the gate pairs scores only on equal test sets)."""
    h = hashlib.sha256()
    items = sorted(x.items()) if isinstance(x, dict) else [("x", x)]
    for key, a in [*items, ("y", y)]:
        a = np.ascontiguousarray(_plain(a))
        h.update(key.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]
