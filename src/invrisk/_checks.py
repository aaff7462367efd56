"""Argument-check helpers shared by the layer-1 packages (layer 0: imports only ``errors`` and
``_typing``).

An error about an array argument names its first offending element (:func:`first_bad`); an
error about arguments that do not broadcast names each with its shape (:func:`broadcast_shape`);
a TOML file that is missing or malformed is named with the argument it came from
(:func:`read_toml`).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from invrisk._typing import ArrayLike
from invrisk.errors import InvalidArgumentError

__all__ = ["broadcast_shape", "first_bad", "read_toml"]


class _Element:
    """The first offending element of an array argument, shown as ``-1.0 (element 3)``."""

    def __init__(self, value: float, index: int | None) -> None:
        self.value = value
        self.index = index

    def __repr__(self) -> str:
        if self.index is None:
            return repr(self.value)
        return f"{self.value!r} (element {self.index} of the flattened array)"


def first_bad(mask: np.ndarray, arr: np.ndarray) -> object:
    """The first element of ``arr`` where ``mask`` is True, as an error shows it (its index in
    the flattened array unless ``arr`` is 0-d)."""
    idx = int(np.flatnonzero(mask.ravel())[0])
    return _Element(float(arr.ravel()[idx]), None if arr.ndim == 0 else idx)


class _Shapes:
    """Argument shapes shown in an error, e.g. ``forward (3,), strike (2,)``."""

    def __init__(self, shapes: dict[str, tuple[int, ...]]) -> None:
        self.shapes = shapes

    def __repr__(self) -> str:
        return ", ".join(f"{name} {shape}" for name, shape in self.shapes.items())


def broadcast_shape(**arrays: ArrayLike) -> tuple[int, ...]:
    """The broadcast shape of the named arguments; an error names them if they do not fit."""
    shapes = {name: np.shape(value) for name, value in arrays.items()}
    try:
        return np.broadcast_shapes(*shapes.values())
    except ValueError as exc:
        raise InvalidArgumentError(
            "/".join(shapes), _Shapes(shapes), "shapes that broadcast together (numpy rules)"
        ) from exc


def read_toml(path: str | Path, argument: str) -> dict[str, Any]:
    """The table of the TOML file at ``path``; a missing file or invalid TOML is an
    :class:`~invrisk.errors.InvalidArgumentError` on ``argument`` naming the file."""
    p = Path(path)
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidArgumentError(argument, str(p), "an existing TOML file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InvalidArgumentError(argument, f"{p}: {exc}", "valid TOML") from exc
