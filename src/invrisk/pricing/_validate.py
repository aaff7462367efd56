"""Boundary checks and broadcasting shared by the public pricing functions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from invrisk._checks import broadcast_shape as check_shapes
from invrisk._checks import first_bad as _first_bad
from invrisk._typing import ArrayLike, Float64Array
from invrisk.errors import InvalidArgumentError

__all__ = [
    "as_checked_float",
    "broadcast_flat",
    "check_backend",
    "check_shapes",
    "option_sign",
    "unflatten",
]

_CALL_NAMES = frozenset({"call", "c"})
_PUT_NAMES = frozenset({"put", "p"})
_OPTION_TYPE_FORM = "'call'/'put' (or 'c'/'p', 'C'/'P'), +1/-1, or an array of those"


def as_checked_float(
    name: str,
    value: ArrayLike,
    *,
    lower: float | None = None,
    strict: bool = True,
    allow_nan: bool = False,
    allow_inf: bool = False,
) -> Float64Array:
    """Convert to float64 and check every element; the error names the argument and element.

    ``lower`` is a bound that values must exceed (``strict``) or reach (not ``strict``).
    """
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(
            name, value, "a real number or an array of real numbers"
        ) from exc
    if not allow_nan:
        nan = np.isnan(arr)
        if nan.any():
            raise InvalidArgumentError(name, _first_bad(nan, arr), "a number, not NaN")
    if not allow_inf:
        inf = np.isinf(arr)
        if inf.any():
            raise InvalidArgumentError(name, _first_bad(inf, arr), "a finite number")
    if lower is not None:
        with np.errstate(invalid="ignore"):
            bad = ~(arr > lower) if strict else ~(arr >= lower)
        if allow_nan:
            bad &= ~np.isnan(arr)
        if bad.any():
            rel = ">" if strict else ">="
            raise InvalidArgumentError(name, _first_bad(bad, arr), f"a value {rel} {lower:g}")
    return arr


def option_sign(option_type: object) -> Float64Array:
    """+1.0 for calls and -1.0 for puts, from strings, ±1 integers (``OptionRight``) or arrays."""
    if isinstance(option_type, str):
        key = option_type.strip().lower()
        if key in _CALL_NAMES:
            return np.asarray(1.0)
        if key in _PUT_NAMES:
            return np.asarray(-1.0)
        raise InvalidArgumentError("option_type", option_type, _OPTION_TYPE_FORM)
    arr = np.asarray(option_type)
    if arr.dtype.kind in "US" or arr.dtype == object:
        if arr.dtype == object and not all(isinstance(v, str) for v in arr.ravel()):
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise InvalidArgumentError("option_type", option_type, _OPTION_TYPE_FORM) from exc
        else:
            lowered = np.char.lower(np.char.strip(arr.astype(str)))
            is_call = np.isin(lowered, list(_CALL_NAMES))
            is_put = np.isin(lowered, list(_PUT_NAMES))
            bad = ~(is_call | is_put)
            if bad.any():
                idx = int(np.flatnonzero(bad.ravel())[0])
                raise InvalidArgumentError(
                    "option_type",
                    f"{arr.ravel()[idx]} (element {idx} of the flattened array)",
                    _OPTION_TYPE_FORM,
                )
            return np.where(is_call, 1.0, -1.0)
    if arr.dtype.kind == "b":
        raise InvalidArgumentError(
            "option_type", option_type, _OPTION_TYPE_FORM + " (booleans are ambiguous)"
        )
    try:
        num = np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError("option_type", option_type, _OPTION_TYPE_FORM) from exc
    bad = ~((num == 1.0) | (num == -1.0))
    if bad.any():
        raise InvalidArgumentError("option_type", _first_bad(bad, num), _OPTION_TYPE_FORM)
    return num


def check_backend(backend: object) -> None:
    if backend not in ("numba", "python"):
        raise InvalidArgumentError("backend", backend, "'numba' or 'python'")


def broadcast_flat(*arrays: Float64Array) -> tuple[tuple[int, ...], list[Float64Array]]:
    """The common broadcast shape, and each input as a flat contiguous float64 array.

    An input with a single element stays a length-1 array (the kernels apply it to every
    element) instead of being copied out to the full size; inputs that already have the full
    shape and are contiguous float64 are passed through without a copy.
    """
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError as exc:
        shapes = ", ".join(str(a.shape) for a in arrays)
        raise InvalidArgumentError(
            "arrays", shapes, "shapes that broadcast together (numpy rules)"
        ) from exc
    flat = []
    for a in arrays:
        if a.size == 1:
            flat.append(np.ascontiguousarray(a, dtype=np.float64).reshape(1))
        else:
            full = np.broadcast_to(a, shape) if a.shape != shape else a
            flat.append(np.ascontiguousarray(full, dtype=np.float64).reshape(-1))
    return shape, flat


def unflatten(values: Float64Array, shape: Sequence[int]) -> float | Float64Array:
    """Reshape a kernel output; 0-d results become Python floats."""
    if len(shape) == 0:
        return float(values[0])
    return values.reshape(tuple(shape))
