"""The jitted kernels equal their pure-Python twins, bit for bit.

``_kernels.py`` compiles the functions of ``_kernels_python.py`` with numba, without
``fastmath``: LLVM may then neither reorder floating-point operations nor contract a*b + c into
a fused multiply-add (that needs the ``contract`` flag, which numba only sets under fastmath),
and ``math.exp``/``log``/``erfc``/``sqrt`` resolve to the same C library functions that CPython
calls. The same operations in the same order on the same inputs therefore give the same bits, so
we require **exact** equality (compared as 64-bit patterns, which also distinguishes -0.0 from
0.0), not a few-ulp tolerance. Parallel and serial builds, and the public functions with
``backend="python"`` and ``backend="numba"``, are held to the same standard.

Inputs are random and include every degenerate branch: expired (t <= 0, at, in and out of the
money), zero volatility (at and away from the forward, with and without carry), NaN prices and
prices outside the no-arbitrage bounds for the implied-vol kernel, and length-1 inputs that the
kernels broadcast.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from invrisk.pricing import _kernels as jit
from invrisk.pricing import _kernels_python as py
from invrisk.pricing import (
    black76,
    black76_price,
    bsm,
    bsm_price,
    coin_greeks,
    deribit_greeks,
    implied_vol,
    implied_vol_bsm,
    implied_vol_coin,
)

N = 6_000
N_PARALLEL = 25_000  # above the public functions' thresholds for the parallel kernels


@dataclass(frozen=True)
class Inputs:
    cp: np.ndarray
    s: np.ndarray
    k: np.ndarray
    t: np.ndarray
    vol: np.ndarray
    r: np.ndarray
    b: np.ndarray

    def args(self) -> tuple[np.ndarray, ...]:
        return (self.cp, self.s, self.k, self.t, self.vol, self.r, self.b)


def make_inputs(seed: int, n: int) -> Inputs:
    rng = np.random.default_rng(seed)
    cp = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    s = np.exp(rng.uniform(np.log(1e-3), np.log(1e6), n))
    k = s * np.exp(rng.normal(0.0, 0.8, n))
    t = np.exp(rng.uniform(np.log(1e-5), np.log(10.0), n))
    vol = np.exp(rng.uniform(np.log(1e-3), np.log(6.0), n))
    r = np.where(rng.random(n) < 0.2, 0.0, rng.uniform(-0.05, 0.2, n))
    b = np.where(rng.random(n) < 0.3, 0.0, rng.uniform(-0.2, 0.2, n))
    m = n // 12
    # expired: t = 0 or negative, in/out of the money and exactly at the strike
    t[:m] = rng.choice([0.0, -1e-12, -0.25], m)
    k[: m // 3] = s[: m // 3]
    # zero vol away from the forward, at the forward with and without carry
    vol[m : 3 * m] = 0.0
    b[2 * m : 2 * m + m // 2] = 0.0
    # the forward exactly as the kernel computes it, s·exp(b·t), so that F == K holds exactly
    k[2 * m : 3 * m] = [
        si * math.exp(bi * ti)
        for si, bi, ti in zip(s[2 * m : 3 * m], b[2 * m : 3 * m], t[2 * m : 3 * m], strict=True)
    ]
    # carry equal to the rate (the BSM q = 0 case, a separate fast path in the kernels)
    b[3 * m : 4 * m] = r[3 * m : 4 * m]
    # far tails: huge and tiny strikes, tiny vol
    k[4 * m : 4 * m + m // 2] *= 1e6
    k[4 * m + m // 2 : 5 * m] *= 1e-6
    vol[5 * m : 6 * m] = 1e-9
    return Inputs(cp, s, k, t, vol, r, b)


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64).view(np.uint64)


def assert_identical(a: np.ndarray, b: np.ndarray, what: str) -> None:
    """Bitwise equal (NaNs with the same payload, signed zeros with the same sign)."""
    a = np.asarray(a)
    b = np.asarray(b)
    assert a.shape == b.shape, what
    if a.dtype.kind == "f":
        diff = bits(a) != bits(b)
    else:
        diff = a != b
    if diff.any():
        i = np.unravel_index(int(np.flatnonzero(diff.ravel())[0]), a.shape)
        raise AssertionError(
            f"{what}: {int(diff.sum())} elements differ, first at {i}: {a[i]!r} vs {b[i]!r}"
        )


@pytest.fixture(scope="module")
def inputs() -> Inputs:
    return make_inputs(7, N)


def test_inputs_reach_every_branch(inputs: Inputs) -> None:
    expired = inputs.t <= 0
    zero_vol = (inputs.vol == 0) & ~expired
    fwd = np.array(
        [
            s * math.exp(b * max(t, 0.0))
            for s, b, t in zip(inputs.s, inputs.b, inputs.t, strict=True)
        ]
    )
    assert (expired & (inputs.s == inputs.k)).any()
    assert (expired & (inputs.cp * (inputs.s - inputs.k) > 0)).any()
    assert (expired & (inputs.cp * (inputs.s - inputs.k) < 0)).any()
    assert (zero_vol & (fwd == inputs.k) & (inputs.b == 0)).any()
    assert (zero_vol & (fwd == inputs.k) & (inputs.b != 0)).any()
    assert (zero_vol & (fwd != inputs.k)).any()
    assert ((inputs.r == 0) & (inputs.b == 0) & ~expired).any()
    assert ((inputs.b == inputs.r) & (inputs.r != 0) & ~expired).any()


@pytest.mark.parametrize("rho_carry", [0.0, 1.0])
def test_greeks_kernels_equal_python_twin(inputs: Inputs, rho_carry: float) -> None:
    n = inputs.s.shape[0]
    ref = np.empty((py.N_OUT, n))
    py.greeks_kernel(*inputs.args(), rho_carry, ref)
    for kernel in (jit.greeks_kernel, jit.greeks_kernel_serial):
        out = np.empty((py.N_OUT, n))
        kernel(*inputs.args(), rho_carry, out)
        assert_identical(out, ref, kernel.__name__)
    assert np.isinf(ref[py.ROW_GAMMA]).any()  # the vol = 0, at-the-forward limit is exercised


def test_price_kernels_equal_python_twin(inputs: Inputs) -> None:
    n = inputs.s.shape[0]
    ref = np.empty(n)
    py.price_kernel(*inputs.args(), ref)
    for kernel in (jit.price_kernel, jit.price_kernel_serial):
        out = np.empty(n)
        kernel(*inputs.args(), out)
        assert_identical(out, ref, kernel.__name__)
    # The price-only kernel is a separate function; it agrees with the price row of the Greeks
    # kernel to an ulp of the terms: with vol = 0 exactly at the forward the Greeks kernel
    # returns 0 (its F == K branch) and the price kernel max(ω(S e^{(b-r)T} - K e^{-rT}), 0),
    # which rounds to 0 or one ulp; and max(-0.0, 0.0) keeps the sign of an expired put's -0.0.
    greeks = np.empty((py.N_OUT, n))
    py.greeks_kernel(*inputs.args(), 0.0, greeks)
    t_pos = np.maximum(inputs.t, 0.0)
    terms = inputs.s * np.exp((inputs.b - inputs.r) * t_pos) + inputs.k * np.exp(-inputs.r * t_pos)
    assert np.all(np.abs(ref - greeks[py.ROW_PRICE]) <= 2 * np.finfo(float).eps * terms)


def test_kernels_broadcast_length_one_inputs_like_full_arrays(inputs: Inputs) -> None:
    # A length-1 input applies to every element: same bits as the input repeated n times.
    n = 500
    full = Inputs(*(a[:n].copy() for a in inputs.args()))
    one = Inputs(
        cp=full.cp[:1],
        s=full.s,
        k=full.k[:1],
        t=full.t,
        vol=full.vol[:1],
        r=full.r[:1],
        b=full.b,
    )
    rep = Inputs(
        cp=np.repeat(full.cp[:1], n),
        s=full.s,
        k=np.repeat(full.k[:1], n),
        t=full.t,
        vol=np.repeat(full.vol[:1], n),
        r=np.repeat(full.r[:1], n),
        b=full.b,
    )
    for kernel in (py.greeks_kernel, jit.greeks_kernel, jit.greeks_kernel_serial):
        a = np.empty((py.N_OUT, n))
        c = np.empty((py.N_OUT, n))
        kernel(*one.args(), 1.0, a)
        kernel(*rep.args(), 1.0, c)
        assert_identical(a, c, f"{getattr(kernel, '__name__', kernel)} length-1 inputs")
    ref = np.empty(n)
    py.price_kernel(*rep.args(), ref)
    for kernel in (jit.price_kernel, jit.price_kernel_serial):
        out = np.empty(n)
        kernel(*one.args(), out)
        assert_identical(out, ref, "price kernel length-1 inputs")


def iv_inputs(inputs: Inputs) -> tuple[np.ndarray, ...]:
    """Black-76 prices of the sample, with missing and impossible prices mixed in."""
    n = inputs.s.shape[0]
    f = inputs.s
    df = np.exp(-inputs.r * np.maximum(inputs.t, 0.0))
    greeks = np.empty((py.N_OUT, n))
    py.greeks_kernel(
        inputs.cp, f, inputs.k, inputs.t, inputs.vol, inputs.r, np.zeros(1), 0.0, greeks
    )
    price = greeks[py.ROW_PRICE].copy()
    rng = np.random.default_rng(11)
    idx = rng.permutation(n)
    q = n // 10
    price[idx[:q]] = np.nan  # missing
    price[idx[q : 2 * q]] *= 0.5  # often below intrinsic
    # above the upper bound D·F (call) / D·K (put); exactly at it see test_implied_vol.py
    price[idx[2 * q : 3 * q]] = (
        (1.0 + 1e-6)
        * df[idx[2 * q : 3 * q]]
        * np.where(
            inputs.cp[idx[2 * q : 3 * q]] > 0, f[idx[2 * q : 3 * q]], inputs.k[idx[2 * q : 3 * q]]
        )
    )
    price[idx[3 * q : 4 * q]] = np.inf
    return price, f, inputs.k, inputs.t, inputs.cp, df


def test_implied_vol_kernels_equal_python_twin(inputs: Inputs) -> None:
    args = iv_inputs(inputs)
    n = args[0].shape[0]
    ref_vol = np.empty(n)
    ref_status = np.empty(n, dtype=np.int8)
    py.implied_vol_kernel(*args, ref_vol, ref_status)
    for kernel in (jit.implied_vol_kernel, jit.implied_vol_kernel_serial):
        vol = np.empty(n)
        status = np.empty(n, dtype=np.int8)
        kernel(*args, vol, status)
        assert_identical(vol, ref_vol, kernel.__name__ + " vol")
        assert_identical(status, ref_status, kernel.__name__ + " status")
    seen = set(np.unique(ref_status).tolist())
    assert {
        py.IV_OK,
        py.IV_BELOW_INTRINSIC,
        py.IV_ABOVE_MAXIMUM,
        py.IV_NO_TIME_VALUE,
        py.IV_EXPIRED,
        py.IV_MISSING_PRICE,
    } <= seen


def test_implied_vol_kernels_broadcast_length_one_inputs(inputs: Inputs) -> None:
    price, f, k, t, cp, df = (a[:400].copy() for a in iv_inputs(inputs))
    one = (price, f, k[:1], t[:1], cp[:1], df[:1])
    rep = (
        price,
        f,
        np.repeat(k[:1], 400),
        np.repeat(t[:1], 400),
        np.repeat(cp[:1], 400),
        np.repeat(df[:1], 400),
    )
    for kernel in (py.implied_vol_kernel, jit.implied_vol_kernel, jit.implied_vol_kernel_serial):
        v1, s1 = np.empty(400), np.empty(400, dtype=np.int8)
        v2, s2 = np.empty(400), np.empty(400, dtype=np.int8)
        kernel(*one, v1, s1)
        kernel(*rep, v2, s2)
        assert_identical(v1, v2, "iv length-1 vol")
        assert_identical(s1, s2, "iv length-1 status")


# -- the public functions, backend="python" against backend="numba" ------------------------------


@pytest.fixture(scope="module")
def big() -> Inputs:
    return make_inputs(8, N_PARALLEL)


def _both(func: Callable[..., Any], **kw: Any) -> tuple[Any, Any]:
    return func(**kw, backend="python"), func(**kw, backend="numba")


@pytest.mark.parametrize("n", [1, 37, N_PARALLEL], ids=["scalar-ish", "serial", "parallel"])
def test_public_greeks_backends_identical(big: Inputs, n: int) -> None:
    x = Inputs(*(a[:n] for a in big.args()))
    f = x.s
    common = {"strike": x.k, "t_yr": x.t, "vol": x.vol, "option_type": x.cp}
    for name, kw in (
        ("black76", {"forward": f, "rate": x.r}),
        ("bsm", {"spot": f, "rate": x.r, "div_yield": x.b}),
    ):
        func = black76 if name == "black76" else bsm
        a, b = _both(func, **common, **kw)
        for field, value in a.as_dict().items():
            assert_identical(np.asarray(value), np.asarray(b.as_dict()[field]), f"{name}.{field}")
    a, b = _both(black76_price, forward=f, rate=x.r, **common)
    assert_identical(np.asarray(a), np.asarray(b), "black76_price")
    a, b = _both(bsm_price, spot=f, rate=x.r, div_yield=x.b, **common)
    assert_identical(np.asarray(a), np.asarray(b), "bsm_price")
    a, b = _both(coin_greeks, forward=f, **common)
    for field in (
        "price_coin",
        "delta_coin",
        "gamma_coin",
        "vega_coin",
        "theta_coin",
        "vanna_coin",
        "volga_coin",
        "delta_premium_adjusted",
    ):
        assert_identical(np.asarray(getattr(a, field)), np.asarray(getattr(b, field)), field)
    a, b = _both(deribit_greeks, forward=f, **common)
    for field in (
        "delta",
        "gamma",
        "vega",
        "theta",
        "theta_analytic",
        "rho",
        "delta_premium_adjusted",
        "price_coin",
    ):
        assert_identical(np.asarray(getattr(a, field)), np.asarray(getattr(b, field)), field)


def test_public_scalar_call_backends_identical() -> None:
    kw = {
        "forward": 60_000.0,
        "strike": 65_000.0,
        "t_yr": 0.25,
        "vol": 0.55,
        "option_type": "call",
        "rate": 0.02,
    }
    a, b = _both(black76, **kw)
    assert a == b
    assert isinstance(a.price, float) and isinstance(b.price, float)


@pytest.mark.parametrize("n", [37, N_PARALLEL], ids=["serial", "parallel"])
def test_public_implied_vol_backends_identical(big: Inputs, n: int) -> None:
    price, f, k, t, cp, _ = (a[:n] for a in iv_inputs(big))
    r = big.r[:n]
    a, b = _both(implied_vol, price=price, forward=f, strike=k, t_yr=t, option_type=cp, rate=r)
    assert_identical(np.asarray(a.vol), np.asarray(b.vol), "implied_vol vol")
    assert_identical(np.asarray(a.status), np.asarray(b.status), "implied_vol status")
    a, b = _both(
        implied_vol_bsm,
        price=price,
        spot=f,
        strike=k,
        t_yr=t,
        option_type=cp,
        rate=r,
        div_yield=big.b[:n],
    )
    assert_identical(np.asarray(a.vol), np.asarray(b.vol), "implied_vol_bsm vol")
    assert_identical(np.asarray(a.status), np.asarray(b.status), "implied_vol_bsm status")
    a, b = _both(
        implied_vol_coin, price_coin=price / f, forward=f, strike=k, t_yr=t, option_type=cp
    )
    assert_identical(np.asarray(a.vol), np.asarray(b.vol), "implied_vol_coin vol")
    assert_identical(np.asarray(a.status), np.asarray(b.status), "implied_vol_coin status")


def test_implied_vol_twins_agree_at_the_upper_bound() -> None:
    # Prices exactly at the no-arbitrage maximum (D·F for a call, D·K for a put), in the money.
    # The Python twin must return a status where the jitted kernel does, not raise: CPython's
    # math.log raises ValueError at 0 where numba's returns -inf.
    f = np.array([655.47, 41.93, 997.21, 3.05, 83.63, 200.49])
    k = np.array([595.74, 2.75, 969.27, 8.23, 243.71, 647.39])
    cp = np.array([1.0, 1.0, 1.0, -1.0, -1.0, -1.0])
    price = np.where(cp > 0, f, k)  # r = 0: D = 1
    t = np.full(6, 0.5)
    df = np.ones(6)
    ref_vol, ref_status = np.empty(6), np.empty(6, dtype=np.int8)
    py.implied_vol_kernel(price, f, k, t, cp, df, ref_vol, ref_status)
    vol, status = np.empty(6), np.empty(6, dtype=np.int8)
    jit.implied_vol_kernel_serial(price, f, k, t, cp, df, vol, status)
    assert_identical(vol, ref_vol, "vol at the upper bound")
    assert_identical(status, ref_status, "status at the upper bound")
