"""Helpers for numba kernels shared by every package."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

__all__ = ["serial_copy"]


def serial_copy(func: Callable[..., Any]) -> Callable[..., Any]:
    """The same function under the name ``<name>_serial``.

    numba's on-disk cache is keyed by a function's qualified name and signature, not by its
    compile flags: compiling one function both serially and in parallel would make the two
    builds overwrite each other in the cache (and a process could load the serial build where
    it asked for the parallel one). A renamed copy gets its own cache entry.
    """
    name = func.__name__ + "_serial"
    copy = types.FunctionType(
        func.__code__, func.__globals__, name, func.__defaults__, func.__closure__
    )
    copy.__qualname__ = name
    copy.__module__ = func.__module__
    copy.__doc__ = func.__doc__
    return copy
