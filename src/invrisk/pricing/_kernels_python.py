"""Pure-Python pricing kernels: the reference twins of the jitted kernels in ``_kernels.py``.

These functions are plain Python over flat float64 arrays. ``_kernels.py`` compiles the very same
functions with numba; the tests run both and require equal results. Helpers are marked
``register_jitable`` so they run as Python here and are inlined when a jitted caller compiles.

Everything here assumes validated input (the public wrappers in ``black.py`` and ``implied.py``
check it). Degenerate regimes are explicit branches, never clamps:

* ``t_yr <= 0``: the option has expired; value is the undiscounted intrinsic value of the
  underlying level given (spot or forward), all sensitivities except delta are zero and delta is
  ``cp`` in the money, 0 out of the money, ``cp/2`` exactly at the strike (the t -> 0 limit).
* ``vol == 0`` with ``t_yr > 0``: the value is the discounted intrinsic value of the forward;
  sensitivities take their sigma -> 0 limits, which are infinite for gamma (and charm when the
  carry is non-zero) exactly at the forward.

Generalised Black–Scholes with cost of carry ``b`` (Haug, *The Complete Guide to Option Pricing
Formulas*, 2nd ed., ch. 1): ``F = S exp(bT)``, value ``cp exp(-rT) (F N(cp d1) - K N(cp d2))``.
``b = 0`` is Black (1976) on a forward or future; ``b = r - q`` is Black–Scholes–Merton with a
continuous yield ``q``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange
from numba.extending import register_jitable

from invrisk._typing import Float64Array, Int8Array

# Output rows of the Greeks kernel.
N_OUT = 9
ROW_PRICE, ROW_DELTA, ROW_GAMMA, ROW_VEGA, ROW_THETA, ROW_RHO, ROW_VANNA, ROW_VOLGA, ROW_CHARM = (
    range(N_OUT)
)

# Implied-volatility status codes (mirrored by ``IVStatus`` in implied.py).
IV_OK = 0
IV_BELOW_INTRINSIC = 1
IV_ABOVE_MAXIMUM = 2
IV_NO_TIME_VALUE = 3
IV_EXPIRED = 4
IV_MISSING_PRICE = 5
IV_NOT_CONVERGED = 6

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT3 = math.sqrt(3.0)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_TWO_PI = 2.0 * math.pi
_IV_MAX_ITER = 12
# The size of a Householder step of order four approximates the error before it, and the error
# after it is of order (step / s)**4: a step below 1e-8 relative leaves nothing measurable.
_IV_STEP_TOL = 1e-8


@register_jitable
def step(a: Float64Array) -> int:
    """Index step of an input: 1 for a length-n array, 0 for a length-1 array.

    Inputs that are scalars after broadcasting are passed as length-1 arrays instead of being
    copied out to length n; element ``i`` of input ``a`` is ``a[i * step(a)]``.
    """
    return 0 if a.shape[0] == 1 else 1


@register_jitable
def norm_cdf(x: float) -> float:
    """Standard normal CDF via erfc, accurate in both tails."""
    return 0.5 * math.erfc(-x / _SQRT2)


@register_jitable
def norm_pdf(x: float) -> float:
    return _INV_SQRT_2PI * math.exp(-0.5 * x * x)


@register_jitable
def greeks_one(
    cp: float, s: float, k: float, t: float, vol: float, r: float, b: float, rho_carry: float
) -> tuple[float, float, float, float, float, float, float, float, float]:
    """Price and Greeks of one option under generalised Black–Scholes.

    ``rho_carry`` is 1.0 when the carry moves with the rate (Black–Scholes–Merton: rho at fixed
    dividend yield) and 0.0 when it does not (Black-76: rho at a fixed forward).
    Returns (price, delta, gamma, vega, theta, rho, vanna, volga, charm) with theta = -dV/dT and
    charm = -d(delta)/dT, both per year of calendar time.
    """
    if t <= 0.0:
        payoff = cp * (s - k)
        if payoff > 0.0:
            return payoff, cp, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
        if s == k:
            return 0.0, 0.5 * cp, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
        return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0

    sqrt_t = math.sqrt(t)
    # exp(0) is exactly 1: skipping the calls for the common r = b = 0 changes no bit.
    df_r = 1.0 if r == 0.0 else math.exp(-r * t)
    df_carry = 1.0 if b == r else math.exp((b - r) * t)
    s_disc = s * df_carry  # = F exp(-rT)
    k_disc = k * df_r

    if vol == 0.0:
        fwd = s * math.exp(b * t)
        if fwd == k:
            n_d1 = 0.5
            delta = 0.5 * cp * df_carry
            vega = s_disc * _INV_SQRT_2PI * sqrt_t
            theta = -cp * (b - r) * s_disc * 0.5 - cp * r * k_disc * 0.5
            rho = rho_carry * cp * t * s_disc * 0.5
            vanna = df_carry * _INV_SQRT_2PI * 0.5 * sqrt_t
            if b == 0.0:
                charm = -(b - r) * delta
            else:
                charm = -(b - r) * delta - math.copysign(math.inf, b)
            return 0.0, delta, math.inf, vega, theta, rho, vanna, 0.0, charm
        n_d1 = 1.0 if cp * (fwd - k) > 0.0 else 0.0
        price = cp * (s_disc - k_disc) if n_d1 > 0.0 else 0.0
        if not price > 0.0:
            price = 0.0  # rounding of F e^{-rT} - K e^{-rT} when F is within an ulp of K
        delta = cp * df_carry * n_d1
        theta = -cp * (b - r) * s_disc * n_d1 - cp * r * k_disc * n_d1
        rho = -t * price + rho_carry * cp * t * s_disc * n_d1
        charm = -(b - r) * delta
        return price, delta, 0.0, 0.0, theta, rho, 0.0, 0.0, charm

    v = vol * sqrt_t
    d1 = (math.log(s / k) + b * t) / v + 0.5 * v
    d2 = d1 - v
    n_d1 = norm_cdf(cp * d1)
    n_d2 = norm_cdf(cp * d2)
    pdf1 = norm_pdf(d1)
    price = cp * (s_disc * n_d1 - k_disc * n_d2)
    if not price > 0.0:
        price = 0.0  # see price_one: a subnormal difference rounded below zero
    delta = cp * df_carry * n_d1
    gamma = df_carry * pdf1 / (s * v)
    vega = s_disc * pdf1 * sqrt_t
    theta = (
        -s_disc * pdf1 * vol / (2.0 * sqrt_t)
        - cp * (b - r) * s_disc * n_d1
        - cp * r * k_disc * n_d2
    )
    rho = -t * price + rho_carry * cp * t * s_disc * n_d1
    vanna = -df_carry * pdf1 * d2 / vol
    volga = vega * d1 * d2 / vol
    charm = -(b - r) * delta - df_carry * pdf1 * (b / v - d2 / (2.0 * t))
    return price, delta, gamma, vega, theta, rho, vanna, volga, charm


def greeks_kernel(
    cp: Float64Array,
    s: Float64Array,
    k: Float64Array,
    t: Float64Array,
    vol: Float64Array,
    r: Float64Array,
    b: Float64Array,
    rho_carry: float,
    out: Float64Array,
) -> None:
    """Fill ``out`` (shape (9, n)) with price and Greeks of n options.

    Inputs are flat arrays of length n or 1 (a length-1 input applies to every option).
    """
    n = out.shape[1]
    j_cp, j_s, j_k, j_t, j_v, j_r, j_b = (
        step(cp),
        step(s),
        step(k),
        step(t),
        step(vol),
        step(r),
        step(b),
    )
    for i in prange(n):
        res = greeks_one(
            cp[i * j_cp],
            s[i * j_s],
            k[i * j_k],
            t[i * j_t],
            vol[i * j_v],
            r[i * j_r],
            b[i * j_b],
            rho_carry,
        )
        out[0, i] = res[0]
        out[1, i] = res[1]
        out[2, i] = res[2]
        out[3, i] = res[3]
        out[4, i] = res[4]
        out[5, i] = res[5]
        out[6, i] = res[6]
        out[7, i] = res[7]
        out[8, i] = res[8]


@register_jitable
def price_one(cp: float, s: float, k: float, t: float, vol: float, r: float, b: float) -> float:
    """Value only; the same branches and the same floating-point operations as
    :func:`greeks_one`, so the two agree bit for bit."""
    if t <= 0.0:
        payoff = cp * (s - k)
        return payoff if payoff > 0.0 else 0.0
    df_r = 1.0 if r == 0.0 else math.exp(-r * t)
    df_carry = 1.0 if b == r else math.exp((b - r) * t)
    s_disc = s * df_carry
    k_disc = k * df_r
    if vol == 0.0:
        fwd = s * math.exp(b * t)
        if fwd == k or not cp * (fwd - k) > 0.0:
            return 0.0
        price = cp * (s_disc - k_disc)
        return price if price > 0.0 else 0.0
    v = vol * math.sqrt(t)
    d1 = (math.log(s / k) + b * t) / v + 0.5 * v
    d2 = d1 - v
    price = cp * (s_disc * norm_cdf(cp * d1) - k_disc * norm_cdf(cp * d2))
    # Far out of the money both terms can be subnormal and their difference round below zero;
    # the value itself is positive, smaller than any double: report 0, never a negative price.
    return price if price > 0.0 else 0.0


def price_kernel(
    cp: Float64Array,
    s: Float64Array,
    k: Float64Array,
    t: Float64Array,
    vol: Float64Array,
    r: Float64Array,
    b: Float64Array,
    out: Float64Array,
) -> None:
    n = out.shape[0]
    j_cp, j_s, j_k, j_t, j_v, j_r, j_b = (
        step(cp),
        step(s),
        step(k),
        step(t),
        step(vol),
        step(r),
        step(b),
    )
    for i in prange(n):
        out[i] = price_one(
            cp[i * j_cp], s[i * j_s], k[i * j_k], t[i * j_t], vol[i * j_v], r[i * j_r], b[i * j_b]
        )


# --------------------------------------------------------------------------------------------
# Implied volatility
#
# The problem is reduced to Jäckel's normalised form (P. Jäckel, "Let's Be Rational", Wilmott
# 2015, sections 2-3): x = ln(F/K), s = vol * sqrt(T), beta = price / (D sqrt(F K)), and the
# normalised out-of-the-money call b(x, s) = e^{x/2} N(x/s + s/2) - e^{-x/2} N(x/s - s/2) with
# x <= 0. An in-the-money option is first mapped to its out-of-the-money counterpart by parity
# (the time value is the same), and a put with x > 0 is the call with -x.
#
# b is convex in s below its inflection point s_c = sqrt(2|x|) and concave above. Below b(s_c)
# the solver works on ln b (lower branch), above it on ln(b_max - b) (upper branch), where
# b_max - b = e^{x/2} N(-d1) + e^{-x/2} N(d2) is evaluated without cancellation. Starting points:
# the tangent at the inflection point (exact to third order there, and Brenner–Subrahmanyam at
# x = 0), the small-s asymptotic b ~ (2 pi |x| / 3 sqrt 3) N(-|x| / (sqrt 3 s))^3 in the low
# tail (Jäckel 2015, eq. 4.x; its leading term agrees with the Mills-ratio expansion of b), and
# b_max - b ~ 2 cosh(x/2) N(-s/2) in the high tail. Iterations are Householder steps of order
# four, safeguarded by a bracket that each evaluation narrows.
# --------------------------------------------------------------------------------------------


@register_jitable
def _norm_inv_rough(p: float) -> float:
    """Inverse normal CDF to about 4.5e-4 absolute (Abramowitz & Stegun 26.2.23); p in (0, 1).

    Only used for starting points; Householder iterations supply the accuracy.
    """
    q = p if p < 0.5 else 1.0 - p
    t = math.sqrt(-2.0 * math.log(q))
    z = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (
        1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t
    )
    return -z if p < 0.5 else z


@register_jitable
def _normalised_otm_call(x: float, s: float, ex2: float, emx2: float) -> tuple[float, float]:
    """Return (b, b_max - b) for x <= 0, s > 0; both without subtractive cancellation."""
    d1 = x / s + 0.5 * s
    d2 = x / s - 0.5 * s
    # b = e^{x/2} N(d1) - e^{-x/2} N(d2); for x <= 0 and small s both terms are tails.
    b = ex2 * norm_cdf(d1) - emx2 * norm_cdf(d2)
    c = ex2 * norm_cdf(-d1) + emx2 * norm_cdf(d2)
    return b, c


@register_jitable
def normalised_vol(x: float, beta: float) -> tuple[float, int, bool]:
    """Solve b(x, s) = beta for s, with x <= 0 and 0 < beta < e^{x/2}.

    Returns (s, iterations, converged).
    """
    ex2 = math.exp(0.5 * x)
    emx2 = math.exp(-0.5 * x)
    ax = -x
    s_c = math.sqrt(2.0 * ax)
    # At s_c: d1 = 0 and d2 = -s_c.
    b_c = 0.5 * ex2 - emx2 * norm_cdf(-s_c)
    db_c = _INV_SQRT_2PI * math.exp(-0.5 * ax)
    upper = beta >= b_c
    c_target = ex2 - beta  # b_max - beta, only used on the upper branch

    # Starting point.
    s = s_c + (beta - b_c) / db_c  # tangent at the inflection point
    if upper:
        lo = s_c
        hi = math.inf
        if s > 2.0 * s_c + 1.0:
            p = c_target / (ex2 + emx2)
            s = -2.0 * _norm_inv_rough(p)
        if not s > s_c:
            s = s_c + 0.5 * (beta - b_c) / db_c
    else:
        lo = 0.0
        hi = s_c
        # Bounds on the root: b is convex below s_c, so the tangent at s_c under-estimates it
        # and the tangent's zero crossing s_up is above the root; b(x, s) <= b(0, s) <=
        # s / sqrt(2 pi) puts beta sqrt(2 pi) below it.
        s_up = s
        s_floor = beta * _SQRT_2PI
        if s < 0.5 * s_c:
            p = (3.0 * _SQRT3 * beta / (_TWO_PI * ax)) ** (1.0 / 3.0)
            if p < 0.5:  # the low-tail asymptotic (valid for small s)
                s = -ax / (_SQRT3 * _norm_inv_rough(p))
            elif s_up > s_floor:  # between the bounds, geometrically
                s = math.sqrt(s_floor * min(s_up, s_c))
            else:
                s = s_floor
        if not (s > 0.0 and s < s_c):
            s = s_floor

    ln_target = math.log(c_target) if upper else math.log(beta)
    it = 0
    while it < _IV_MAX_ITER:
        it += 1
        b, c = _normalised_otm_call(x, s, ex2, emx2)
        # b'(s) = e^{x/2} n(d1) = exp(-(x^2/s^2 + s^2/4)/2) / sqrt(2 pi)
        u = ax / s
        db = _INV_SQRT_2PI * math.exp(-0.5 * (u * u + 0.25 * s * s))
        h = u * u / s - 0.25 * s  # b'' / b'
        h3 = h * h - 3.0 * u * u / (s * s) - 0.25  # b''' / b'
        if upper:
            f = c
            f1 = -db
        else:
            f = b
            f1 = db
        if not f > 0.0:
            # The objective underflowed: the bracket side is known from the branch.
            if upper:
                hi = s
            else:
                lo = s
            s = 0.5 * (lo + hi) if hi < math.inf else 2.0 * s
            continue
        g = math.log(f) - ln_target
        if g == 0.0:
            return s, it, True
        # Narrow the bracket: ln b increases in s, ln c decreases.
        if (g < 0.0) != upper:
            lo = s
        else:
            hi = s
        g1 = f1 / f
        g2 = f1 * h / f - g1 * g1
        g3 = f1 * h3 / f - 3.0 * g1 * (f1 * h / f) + 2.0 * g1 * g1 * g1
        nu = -g / g1
        h2 = g2 / g1
        hh3 = g3 / g1
        denom = 1.0 + nu * (h2 + hh3 * nu / 6.0)
        step = nu * (1.0 + 0.5 * h2 * nu) / denom if denom != 0.0 else nu
        s_new = s + step
        if not (s_new >= lo and s_new <= hi and s_new > 0.0):
            s_new = s + nu  # plain Newton
            if not (s_new >= lo and s_new <= hi and s_new > 0.0):
                s_new = 0.5 * (lo + hi) if hi < math.inf else 2.0 * s
        converged = abs(s_new - s) <= _IV_STEP_TOL * s_new
        s = s_new
        if converged:
            return s, it, True
    return s, it, False


@register_jitable
def implied_vol_one(
    price: float, f: float, k: float, t: float, cp: float, df: float
) -> tuple[float, int]:
    """Black-76 implied volatility of one discounted price. Returns (vol, status)."""
    if math.isnan(price):
        return math.nan, IV_MISSING_PRICE
    if t <= 0.0:
        return math.nan, IV_EXPIRED
    x = math.log(f / k)
    sqrt_fk = math.sqrt(f * k)
    beta = price / (df * sqrt_fk)
    ex2 = math.exp(0.5 * x)
    emx2 = math.exp(-0.5 * x)
    if cp > 0.0:
        intrinsic = max((f - k) / sqrt_fk, 0.0)
        b_max = ex2
    else:
        intrinsic = max((k - f) / sqrt_fk, 0.0)
        b_max = emx2
    # Bounds compared on the price itself, where "exactly at the bound" is exact.
    bound = df * (f if cp > 0.0 else k)
    if price >= bound or beta >= b_max:
        return math.nan, IV_ABOVE_MAXIMUM
    time_value = beta - intrinsic
    if time_value < 0.0:
        return math.nan, IV_BELOW_INTRINSIC
    if time_value == 0.0:
        return math.nan, IV_NO_TIME_VALUE
    # The out-of-the-money counterpart must stay below its own bound e^{-|x|/2}; for an
    # in-the-money price at (or within rounding of) the upper bound, subtracting the intrinsic
    # value can land on it even though beta < b_max passed above.
    if time_value >= math.exp(-0.5 * abs(x)):
        return math.nan, IV_ABOVE_MAXIMUM
    s, _, converged = normalised_vol(-abs(x), time_value)
    if not converged:
        return math.nan, IV_NOT_CONVERGED
    return s / math.sqrt(t), IV_OK


def implied_vol_kernel(
    price: Float64Array,
    f: Float64Array,
    k: Float64Array,
    t: Float64Array,
    cp: Float64Array,
    df: Float64Array,
    vol_out: Float64Array,
    status_out: Int8Array,
) -> None:
    n = vol_out.shape[0]
    j_p, j_f, j_k, j_t, j_cp, j_df = step(price), step(f), step(k), step(t), step(cp), step(df)
    for i in prange(n):
        v, st = implied_vol_one(
            price[i * j_p], f[i * j_f], k[i * j_k], t[i * j_t], cp[i * j_cp], df[i * j_df]
        )
        vol_out[i] = v
        status_out[i] = st


def implied_vol_iterations(x: Float64Array, beta: Float64Array) -> Float64Array:
    """Iterations used per normalised problem (diagnostics for tests and benchmarks)."""
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = normalised_vol(x[i], beta[i])[1]
    return out
