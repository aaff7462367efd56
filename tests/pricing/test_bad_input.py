"""Bad input to the public pricing functions raises ``InvalidArgumentError`` naming the argument.

Every public function is called with one argument replaced by a bad value (negative or NaN
prices of the underlying, strikes and vols, NaN times, unknown option types, shapes that do not
broadcast); the error must be ``invrisk.errors.InvalidArgumentError`` (also a ``ValueError``)
and its message must contain the name of the argument as the caller spelled it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from invrisk.errors import InvalidArgumentError, InvriskError
from invrisk.pricing import (
    black76,
    black76_price,
    bsm,
    bsm_price,
    coin_greeks,
    coin_price,
    deribit_greeks,
    deribit_theta_per_day,
    implied_vol,
    implied_vol_bsm,
    implied_vol_coin,
)

NAN = math.nan

# Each public function with valid keyword arguments.
VALID: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {
    "black76": (
        black76,
        {
            "forward": 100.0,
            "strike": 90.0,
            "t_yr": 0.5,
            "vol": 0.6,
            "option_type": "call",
            "rate": 0.01,
        },
    ),
    "black76_price": (
        black76_price,
        {
            "forward": 100.0,
            "strike": 90.0,
            "t_yr": 0.5,
            "vol": 0.6,
            "option_type": "call",
            "rate": 0.01,
        },
    ),
    "bsm": (
        bsm,
        {
            "spot": 100.0,
            "strike": 90.0,
            "t_yr": 0.5,
            "vol": 0.6,
            "option_type": "put",
            "rate": 0.01,
            "div_yield": 0.02,
        },
    ),
    "bsm_price": (
        bsm_price,
        {
            "spot": 100.0,
            "strike": 90.0,
            "t_yr": 0.5,
            "vol": 0.6,
            "option_type": "put",
            "rate": 0.01,
            "div_yield": 0.02,
        },
    ),
    "coin_greeks": (
        coin_greeks,
        {"forward": 60_000.0, "strike": 65_000.0, "t_yr": 0.1, "vol": 0.7, "option_type": "c"},
    ),
    "coin_price": (
        coin_price,
        {"forward": 60_000.0, "strike": 65_000.0, "t_yr": 0.1, "vol": 0.7, "option_type": "c"},
    ),
    "deribit_greeks": (
        deribit_greeks,
        {"forward": 60_000.0, "strike": 65_000.0, "t_yr": 0.1, "vol": 0.7, "option_type": "p"},
    ),
    "implied_vol": (
        implied_vol,
        {
            "price": 12.0,
            "forward": 100.0,
            "strike": 95.0,
            "t_yr": 0.5,
            "option_type": "call",
            "rate": 0.01,
        },
    ),
    "implied_vol_bsm": (
        implied_vol_bsm,
        {
            "price": 12.0,
            "spot": 100.0,
            "strike": 95.0,
            "t_yr": 0.5,
            "option_type": "call",
            "rate": 0.01,
            "div_yield": 0.0,
        },
    ),
    "implied_vol_coin": (
        implied_vol_coin,
        {
            "price_coin": 0.02,
            "forward": 60_000.0,
            "strike": 65_000.0,
            "t_yr": 0.1,
            "option_type": "call",
        },
    ),
}


def _cases() -> list[Any]:
    """(function, argument, bad value) for every argument each function takes."""
    bad_positive = [-1.0, 0.0, NAN, math.inf, [100.0, -5.0], np.array([[1.0, NAN]])]
    bad_vol = [-0.1, NAN, math.inf, [0.5, -1e-12]]
    bad_real = [NAN, [0.0, NAN], "abc"]
    bad_type = [
        "straddle",
        "",
        2,
        0,
        0.5,
        True,
        False,
        None,
        ["call", "straddle"],
        np.array([1.0, 0.5]),
        [True, False],
        {"call"},
    ]
    per_argument = {
        "forward": bad_positive,
        "spot": bad_positive,
        "strike": bad_positive,
        "vol": bad_vol,
        "t_yr": bad_real,
        "rate": bad_real,
        "div_yield": bad_real,
        "option_type": bad_type,
        "price": ["abc", [1.0, "x"]],
        "price_coin": ["abc"],
    }
    cases = []
    for fname, (_, kwargs) in VALID.items():
        for arg in kwargs:
            for value in per_argument[arg]:
                cases.append(pytest.param(fname, arg, value, id=f"{fname}-{arg}-{value!r}"))
    return cases


def test_valid_arguments_are_valid() -> None:
    for func, kwargs in VALID.values():
        func(**kwargs)


@pytest.mark.parametrize(("fname", "arg", "value"), _cases())
def test_bad_value_names_the_argument(fname: str, arg: str, value: Any) -> None:
    func, kwargs = VALID[fname]
    with pytest.raises(InvalidArgumentError) as info:
        func(**{**kwargs, arg: value})
    assert arg in str(info.value)
    assert info.value.argument == arg
    assert isinstance(info.value, ValueError) and isinstance(info.value, InvriskError)


def test_array_element_is_located() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        black76(forward=[100.0, 101.0, -3.0], strike=90.0, t_yr=0.5, vol=0.6, option_type="call")
    assert "forward" in str(info.value) and "-3.0" in str(info.value) and "2" in str(info.value)


# -- shapes that do not broadcast -----------------------------------------------------------------

SHAPE_CASES = [
    ("black76", "forward", [100.0, 101.0, 102.0], "strike", [90.0, 95.0]),
    ("black76", "vol", np.full((2, 3), 0.5), "t_yr", [0.1, 0.2]),
    ("black76_price", "strike", [90.0, 95.0], "rate", [0.0, 0.01, 0.02]),
    ("bsm", "spot", [100.0, 101.0], "div_yield", [0.0, 0.01, 0.02]),
    ("bsm_price", "option_type", ["call", "put", "call"], "strike", [90.0, 95.0]),
    ("coin_greeks", "forward", [6e4, 6.1e4, 6.2e4], "vol", [0.5, 0.6]),
    ("coin_price", "t_yr", [0.1, 0.2, 0.3], "strike", [6e4, 6.5e4]),
    ("deribit_greeks", "forward", [6e4, 6.1e4], "t_yr", [0.1, 0.2, 0.3]),
    ("implied_vol", "price", [10.0, 11.0, 12.0], "strike", [90.0, 95.0]),
    ("implied_vol_bsm", "spot", [100.0, 101.0], "price", [10.0, 11.0, 12.0]),
    ("implied_vol_coin", "price_coin", [0.01, 0.02], "forward", [6e4, 6.1e4, 6.2e4]),
]


@pytest.mark.parametrize(
    ("fname", "arg_a", "a", "arg_b", "b"),
    SHAPE_CASES,
    ids=[f"{c[0]}-{c[1]}-{c[3]}" for c in SHAPE_CASES],
)
def test_mismatched_shapes_name_the_arguments(
    fname: str, arg_a: str, a: Any, arg_b: str, b: Any
) -> None:
    func, kwargs = VALID[fname]
    with pytest.raises(InvalidArgumentError) as info:
        func(**{**kwargs, arg_a: a, arg_b: b})
    message = str(info.value)
    assert arg_a in message and arg_b in message, message


# -- other public arguments -----------------------------------------------------------------------


@pytest.mark.parametrize("fname", sorted(VALID))
def test_unknown_backend_is_rejected(fname: str) -> None:
    func, kwargs = VALID[fname]
    with pytest.raises(InvalidArgumentError) as info:
        func(**kwargs, backend="gpu")
    assert "backend" in str(info.value)


@pytest.mark.parametrize(
    ("arg", "kwargs"),
    [
        ("t_yr", {"theta": -10.0, "price": 5.0, "t_yr": NAN}),
        ("price", {"theta": -10.0, "price": NAN, "t_yr": 0.1}),
        ("theta", {"theta": [-10.0, -11.0, -12.0], "price": [5.0, 6.0], "t_yr": 0.1}),
    ],
)
def test_deribit_theta_per_day_validates(arg: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        deribit_theta_per_day(**kwargs)
    assert arg in str(info.value)


def test_nan_price_is_a_status_not_an_error() -> None:
    # A missing quote is data, not a programming error: implied vols report it per element.
    iv = implied_vol(price=[NAN, 12.0], forward=100.0, strike=95.0, t_yr=0.5, option_type="call")
    assert math.isnan(np.asarray(iv.vol)[0]) and np.asarray(iv.status)[0] != 0
