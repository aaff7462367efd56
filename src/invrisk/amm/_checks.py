"""Boundary checks shared by the AMM functions (the element and shape reporting is layer 0's
:mod:`invrisk._checks`, shared with the pricing package)."""

from __future__ import annotations

import numpy as np

from invrisk._checks import broadcast_shape
from invrisk._checks import first_bad as _first_bad
from invrisk._typing import ArrayLike, Float64Array, FloatOrArray
from invrisk.errors import InvalidArgumentError

__all__ = [
    "as_float",
    "broadcast_shape",
    "check_range",
    "out",
    "positive_int",
    "positive_scalar",
]


def as_float(
    name: str,
    value: ArrayLike,
    *,
    lower: float | None = None,
    strict: bool = True,
    allow_inf: bool = False,
) -> Float64Array:
    """``value`` as float64; every element must be a number above ``lower`` (``>=`` if not
    ``strict``) and finite unless ``allow_inf`` (then only ``+inf`` is allowed)."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(
            name, value, "a real number or an array of real numbers"
        ) from exc
    nan = np.isnan(arr)
    if nan.any():
        raise InvalidArgumentError(name, _first_bad(nan, arr), "a number, not NaN")
    bad_inf = np.isneginf(arr) if allow_inf else np.isinf(arr)
    if bad_inf.any():
        allowed = "a number or +inf" if allow_inf else "a finite number"
        raise InvalidArgumentError(name, _first_bad(bad_inf, arr), allowed)
    if lower is not None:
        bad = ~(arr > lower) if strict else ~(arr >= lower)
        if bad.any():
            rel = ">" if strict else ">="
            raise InvalidArgumentError(name, _first_bad(bad, arr), f"a value {rel} {lower:g}")
    return arr


def check_range(lower: Float64Array, upper: Float64Array) -> None:
    """``price_lower < price_upper`` element by element (after broadcasting)."""
    lo, hi = np.broadcast_arrays(lower, upper)
    bad = ~(lo < hi)
    if bad.any():
        idx = int(np.flatnonzero(bad.ravel())[0])
        where = "" if lo.ndim == 0 else f" (element {idx} of the flattened arrays)"
        value = f"[{float(lo.ravel()[idx])!r}, {float(hi.ravel()[idx])!r}]{where}"
        raise InvalidArgumentError(
            "price_lower/price_upper", value, "price_lower < price_upper (a non-empty range)"
        )


def positive_scalar(name: str, value: object, *, strict: bool = True) -> float:
    """A finite real scalar > 0 (>= 0 if not ``strict``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InvalidArgumentError(name, value, "a real number")
    v = float(value)
    ok = v > 0.0 if strict else v >= 0.0
    if not (np.isfinite(v) and ok):
        raise InvalidArgumentError(name, value, "a finite number " + ("> 0" if strict else ">= 0"))
    return v


def positive_int(name: str, value: object) -> int:
    """An integer >= 1 (booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or int(value) < 1:
        raise InvalidArgumentError(name, value, "an integer >= 1")
    return int(value)


def out(arr: Float64Array) -> FloatOrArray:
    """0-d results become Python floats; arrays are returned as they are."""
    if arr.ndim == 0:
        return float(arr)
    return arr
