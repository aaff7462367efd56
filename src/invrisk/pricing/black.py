"""Black-76 and Black–Scholes–Merton prices and Greeks, vectorised with numpy broadcasting.

All sensitivities are raw derivatives (see :class:`Greeks`); conventional scalings such as vega
per volatility point or theta per day are the named conversions in :mod:`invrisk.units`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from invrisk._typing import ArrayLike, Float64Array, FloatOrArray
from invrisk.pricing import _kernels, _kernels_python
from invrisk.pricing._validate import (
    as_checked_float,
    broadcast_flat,
    check_backend,
    check_shapes,
    option_sign,
    unflatten,
)

__all__ = ["Greeks", "black76", "black76_price", "bsm", "bsm_price"]

Backend = Literal["numba", "python"]

# Below this many options the serial jitted kernel is faster than starting the thread pool.
_PARALLEL_MIN = 20_000

_greeks_serial = _kernels.greeks_kernel_serial
_greeks_parallel = _kernels.greeks_kernel
_price_serial = _kernels.price_kernel_serial
_price_parallel = _kernels.price_kernel


@dataclass(frozen=True, slots=True)
class Greeks:
    """Value and sensitivities of European options, one element per option.

    Units are those of the inputs: with a forward or spot in USD the price is in USD. Every
    field is a raw derivative.

    Attributes
    ----------
    price
        Option value (discounted with ``rate``).
    delta
        dV/dS (per 1.0 of the underlying: the forward for Black-76, the spot for BSM).
    gamma
        d²V/dS² (per underlying unit squared; per USD for a USD underlying).
    vega
        dV/dσ per 1.0 of annualised volatility (``units.vega_per_vol_pt`` gives per 0.01).
    theta
        -dV/dT: value change per year of calendar time passing, underlying fixed
        (``units.theta_per_day`` gives per day).
    rho
        dV/dr per 1.0 of the continuously compounded rate. Black-76: at a fixed forward
        (= -T·V). BSM: at a fixed spot and dividend yield.
    vanna
        d²V/dS dσ.
    volga
        d²V/dσ² (vomma).
    charm
        -d(delta)/dT: delta change per year of calendar time passing.
    """

    price: FloatOrArray
    delta: FloatOrArray
    gamma: FloatOrArray
    vega: FloatOrArray
    theta: FloatOrArray
    rho: FloatOrArray
    vanna: FloatOrArray
    volga: FloatOrArray
    charm: FloatOrArray

    def as_dict(self) -> dict[str, FloatOrArray]:
        """The fields by name (for JSON output and tables)."""
        return {name: getattr(self, name) for name in self.__slots__}


def _inputs(
    underlying_name: str,
    underlying: ArrayLike,
    strike: ArrayLike,
    t_yr: ArrayLike,
    vol: ArrayLike,
    option_type: object,
    rate: ArrayLike,
    carry: ArrayLike | None,
) -> tuple[tuple[int, ...], list[Float64Array]]:
    s = as_checked_float(underlying_name, underlying, lower=0.0)
    k = as_checked_float("strike", strike, lower=0.0)
    t = as_checked_float("t_yr", t_yr)
    v = as_checked_float("vol", vol, lower=0.0, strict=False)
    r = as_checked_float("rate", rate)
    b = np.zeros(()) if carry is None else as_checked_float("div_yield", carry)
    cp = option_sign(option_type)
    named = {underlying_name: s, "strike": k, "t_yr": t, "vol": v, "option_type": cp, "rate": r}
    if carry is not None:
        named["div_yield"] = b
    check_shapes(**named)
    return broadcast_flat(cp, s, k, t, v, r, b)


def _greeks(
    shape: tuple[int, ...], flat: list[Float64Array], rho_carry: float, backend: Backend
) -> Greeks:
    check_backend(backend)
    cp, s, k, t, v, r, b = flat
    n = math.prod(shape)
    out = np.empty((_kernels_python.N_OUT, n))
    if n >= _PARALLEL_MIN:
        # Touch the fresh output pages in this thread first: page faults taken by the kernel's
        # worker threads contend in the kernel and cost more than the pricing itself.
        out.fill(0.0)
    if backend == "python":
        _kernels_python.greeks_kernel(cp, s, k, t, v, r, b, rho_carry, out)
    elif n >= _PARALLEL_MIN:
        _greeks_parallel(cp, s, k, t, v, r, b, rho_carry, out)
    else:
        _greeks_serial(cp, s, k, t, v, r, b, rho_carry, out)
    return Greeks(*(unflatten(out[i], shape) for i in range(_kernels_python.N_OUT)))


def _price(shape: tuple[int, ...], flat: list[Float64Array], backend: Backend) -> FloatOrArray:
    check_backend(backend)
    cp, s, k, t, v, r, b = flat
    out = np.empty(math.prod(shape))
    if backend == "python":
        _kernels_python.price_kernel(cp, s, k, t, v, r, b, out)
    elif out.shape[0] >= _PARALLEL_MIN:
        _price_parallel(cp, s, k, t, v, r, b, out)
    else:
        _price_serial(cp, s, k, t, v, r, b, out)
    return unflatten(out, shape)


def black76(
    *,
    forward: ArrayLike,
    strike: ArrayLike,
    t_yr: ArrayLike,
    vol: ArrayLike,
    option_type: object,
    rate: ArrayLike = 0.0,
    backend: Backend = "numba",
) -> Greeks:
    """Black (1976) price and Greeks of European options on a forward or future.

    Parameters
    ----------
    forward
        Forward price of the underlying for the option's expiry (> 0), e.g. USD per BTC.
    strike
        Strike in the same unit as ``forward`` (> 0).
    t_yr
        Time to expiry in years, ACT/365 (``units.year_fraction``). ``t_yr <= 0`` means expired:
        the value is the intrinsic value of ``forward`` and only delta is non-zero.
    vol
        Annualised volatility as a decimal (0.8 for 80%), >= 0. ``vol == 0`` gives the
        discounted intrinsic value and the σ -> 0 limits of the Greeks (infinite gamma at the
        money).
    option_type
        ``'call'``/``'put'`` (or ``'c'``/``'p'``), ``OptionRight`` / ±1, or an array of those.
    rate
        Continuously compounded discount rate per year (0 for Deribit's coin-settled options,
        whose premium is exchanged at the trade).
    backend
        ``'numba'`` (default) or ``'python'``, the pure-Python reference twin (slow).

    Returns
    -------
    Greeks
        Fields broadcast to the common shape of the inputs; floats for scalar inputs.

    Notes
    -----
    With D = exp(-rT), d1 = ln(F/K)/(σ√T) + σ√T/2, d2 = d1 - σ√T and ω = +1 (call) / -1 (put):
    V = ω D (F N(ω d1) - K N(ω d2)), delta = ω D N(ω d1), gamma = D n(d1)/(F σ√T),
    vega = D F n(d1) √T, theta = r V - D F n(d1) σ/(2√T), rho = -T V,
    vanna = -D n(d1) d2/σ, volga = vega d1 d2/σ, charm = r delta + D n(d1) d2/(2T).

    References
    ----------
    F. Black, "The pricing of commodity contracts", J. Financial Economics 3 (1976) 167-179.

    Examples
    --------
    Hull, *Options, Futures and Other Derivatives* (8th ed.), Example 18.6: a European put on a
    futures contract, F = K = 20, T = 4/12, r = 9%, σ = 25%, is worth 1.1166.

    >>> round(black76(forward=20.0, strike=20.0, t_yr=4 / 12, vol=0.25, option_type="put",
    ...               rate=0.09).price, 4)
    1.1166
    """
    shape, flat = _inputs("forward", forward, strike, t_yr, vol, option_type, rate, None)
    return _greeks(shape, flat, 0.0, backend)


def black76_price(
    *,
    forward: ArrayLike,
    strike: ArrayLike,
    t_yr: ArrayLike,
    vol: ArrayLike,
    option_type: object,
    rate: ArrayLike = 0.0,
    backend: Backend = "numba",
) -> FloatOrArray:
    """Black-76 value only (faster than :func:`black76`); arguments as there."""
    shape, flat = _inputs("forward", forward, strike, t_yr, vol, option_type, rate, None)
    return _price(shape, flat, backend)


def _bsm_flat(
    spot: ArrayLike,
    strike: ArrayLike,
    t_yr: ArrayLike,
    vol: ArrayLike,
    option_type: object,
    rate: ArrayLike,
    div_yield: ArrayLike,
) -> tuple[tuple[int, ...], list[Float64Array]]:
    q = as_checked_float("div_yield", div_yield)
    r = as_checked_float("rate", rate)
    shape, flat = _inputs("spot", spot, strike, t_yr, vol, option_type, r, q)
    # The kernel takes the cost of carry b = r - q in the slot where it received q.
    flat[6] = flat[5] - flat[6]
    return shape, flat


def bsm(
    *,
    spot: ArrayLike,
    strike: ArrayLike,
    t_yr: ArrayLike,
    vol: ArrayLike,
    option_type: object,
    rate: ArrayLike = 0.0,
    div_yield: ArrayLike = 0.0,
    backend: Backend = "numba",
) -> Greeks:
    """Black–Scholes–Merton price and Greeks on a spot with a continuous yield.

    Parameters are as in :func:`black76` with ``spot`` instead of ``forward`` and a continuous
    dividend (or foreign-rate, or funding) yield ``div_yield`` per year; the forward is
    ``spot * exp((rate - div_yield) * t_yr)``. Delta, gamma and vanna are with respect to the
    spot; rho is at a fixed spot and yield; theta and charm hold the spot fixed.

    References
    ----------
    R. C. Merton, "Theory of rational option pricing", Bell J. Econ. Manag. Sci. 4 (1973).

    Examples
    --------
    Hull (8th ed.), Example 15.6: S = 42, K = 40, r = 10%, σ = 20%, T = 0.5 gives a call of
    4.76 and a put of 0.81.

    >>> g = bsm(spot=42.0, strike=40.0, t_yr=0.5, vol=0.2, option_type=["call", "put"], rate=0.1)
    >>> [round(float(p), 2) for p in g.price]
    [4.76, 0.81]
    """
    shape, flat = _bsm_flat(spot, strike, t_yr, vol, option_type, rate, div_yield)
    return _greeks(shape, flat, 1.0, backend)


def bsm_price(
    *,
    spot: ArrayLike,
    strike: ArrayLike,
    t_yr: ArrayLike,
    vol: ArrayLike,
    option_type: object,
    rate: ArrayLike = 0.0,
    div_yield: ArrayLike = 0.0,
    backend: Backend = "numba",
) -> FloatOrArray:
    """Black–Scholes–Merton value only; arguments as in :func:`bsm`."""
    shape, flat = _bsm_flat(spot, strike, t_yr, vol, option_type, rate, div_yield)
    return _price(shape, flat, backend)
