"""Option market making in vega space: Baldacci, Bergault & Guéant (2021), quadratic approximation.

The market maker quotes a book of N options on one underlying. Every option's delta is hedged
continuously, every option's vega ``V^i`` is frozen at the start of the (short) horizon, so the
whole book's risk is carried by one number, the portfolio vega ``V = Σ_i q^i V^i``, and the
book is kept inside ``|V| <= V̄``.

Units (one convention for the whole module)
-------------------------------------------
- prices, depths and vegas in price units (USD, or coin): ``mids``, ``vegas`` (price change per
  1.0 of implied vol, i.e. per 100 vol points — the pricing core's raw vega), depths;
- ``sizes`` (z^i) in contracts per fill; ``portfolio_vega`` and ``vega_limit`` in price units per
  1.0 vol (Σ contracts × vega);
- time in seconds: ``horizon_s``, the intensities (fills per second), ``vol_drift_per_s``;
- ``intensity``: an :class:`~invrisk.quoting.intensity.Intensity` per option, δ the distance
  from the mid in price units — exponential ``A e^{−kδ}`` or the paper's logistic
  ``λ / (1 + e^{α + βδ/V^i})`` (:meth:`LogisticIntensity.from_vega`);
- ``gamma`` per price unit (absolute risk aversion of the risk-adjusted expectation);
- ``terminal_penalty`` ℓ per price unit per vega² (``v(T, V) = −ℓ V²``, a liquidation cost of
  the vega left at the horizon; 0 by default);
- ``vol_of_vol`` ξ per sqrt(year), the Heston vol-of-variance: the implied variance moves as
  ``d(σ²) = … + ξ σ dW``, so the implied vol moves as ``dσ = … + (ξ/2) dW`` and one unit of
  portfolio vega carries price variance ``ξ²/4`` per year. It is converted to seconds inside
  (ACT/365, ``units.NS_PER_YEAR``).

Simplifications against the paper
---------------------------------
- The drift term ``V (a_P − a_Q)/(2√ν)`` of the paper (P and Q vol drifts differ) is the optional
  ``vol_drift_per_s`` μ (expected implied-vol change per second, vol units); default 0.
- Only the quadratic approximation is implemented (no grid solve of the exact HJB).

Derivation (risk-adjusted expectation, "model B" of Guéant 2017, ξ_Guéant = 0)
-----------------------------------------------------------------------------
With ``ψ = γ ξ² / 8`` (per second after conversion) the value function ``v(t, V)`` solves

    0 = ∂_t v + μ V − ψ V² + Σ_i z^i [ H^i(p^{i,b}) + H^i(p^{i,a}) ],   v(T, V) = 0,
    p^{i,b} = (v(V) − v(V + z^i V^i)) / z^i,   p^{i,a} = (v(V) − v(V − z^i V^i)) / z^i,

a bid fill buys z^i options (V rises by z^i V^i), an ask fill sells them. For the exponential
Hamiltonian ``H(p) = sup_δ λ(δ)(δ − p)`` with maximiser ``δ̃(p)`` (exponential intensity:
``H(p) = (A/(k e)) e^{−kp}``, ``δ̃(p) = p + 1/k``; logistic: :mod:`invrisk.quoting.intensity`).
Expanding H to second order at p = 0 (Guéant 2017, Sec. 4; Bergault & Guéant 2021),
``H(p) ≈ α₀ + α₁ p + ½ α₂ p²`` (exponential: ``α₂ = kA/e``), and trying
``v = −a(t) V² − b(t) V − c(t)``:

    p^{i,b} = V^i (2aV + b) + a z^i (V^i)²,   p^{i,a} = −V^i (2aV + b) + a z^i (V^i)².

Then ``p^b + p^a = 2 a z (V^i)²`` and ``(p^b)² + (p^a)² = 2 (V^i)² (2aV + b)² + 2 a² z² (V^i)⁴``;
collecting the powers of V (``S = Σ_i z^i α₂^i (V^i)²``, the book's "liquidity in vega²"):

    V²:  ȧ = 4 S a² − ψ,      V¹:  ḃ = 4 S a b + μ,     (c does not enter the quotes).

(α₀ and α₁ enter only c). In the time to go ``τ = T − t`` with ``a(0) = ℓ`` (the terminal
penalty) and ``b(0) = 0`` these Riccati/linear ODEs have the closed form, with
``x = κτ``, ``κ = √(4 S ψ)``, ``th(x) = tanh(x)/x`` (``th(0) = 1``) and
``g(x) = (1 − sech x)/x²`` (``g(0) = ½``):

    a(τ) = (ℓ + ψ τ th(x)) / (1 + 4Sℓ τ th(x)),
    b(τ) = −μ (τ th(x) + 4Sℓ τ² g(x)) / (1 + 4Sℓ τ th(x)),

(ℓ = 0: ``a = √(ψ/(4S)) tanh(κτ)``, ``b = −μ τ th(κτ)``; the ℓ terms follow from the tanh
addition formula, ``a = a_∞ tanh(κτ + c)`` with ``tanh c = ℓ/a_∞``), finite and stable for
ψ → 0 or S → 0 (no exponentials of positive arguments). The quotes are
``δ^{i,b/a} = δ̃^i(p^{i,b/a})``; for exponential intensities

    δ^{i,b} = 1/k^i + V^i (2aV + b) + a z^i (V^i)²,
    δ^{i,a} = 1/k^i − V^i (2aV + b) + a z^i (V^i)².

A long-vega book (V > 0, a > 0) lowers every bid and every ask, each by an amount
proportional to that option's vega; with exponential intensities the spread
``2/k^i + 2a z^i (V^i)²`` does not depend on V (with logistic ones δ̃ is not affine and it does,
slightly).
γ → 0 gives ``a = 0`` and the risk-neutral depth ``1/k`` (model B; the CARA "model A" depth
``(1/γ) ln(1 + γ/k)`` is not used here, the paper's criterion being the risk-adjusted mean).
With one option and ``V = q V¹`` the τ → ∞ quotes are exactly Guéant (2017)'s closed form
(4.6)–(4.9) with ξ_Guéant = 0, Δ = z and an asset volatility ``σ = V¹ ξ / 2`` (the option's
price diffusion).

Inventory bound: a side is quoted when the post-fill vega ``V' = V ± z^i V^i`` satisfies
``|V'| <= V̄``, or when it reduces the risk (``|V'| < |V|``) — so a book already outside the
bound (vegas re-marked) may still quote the side that brings it back.

References
----------
B. Baldacci, P. Bergault, O. Guéant, "Algorithmic market making for options", Quantitative
Finance 21(1):85–97, 2021 (arXiv:1907.12433), Sec. 2–3 (vega state, HJB with
``−(γξ²/8)(V^π)²`` and the execution terms), Sec. 4 (logistic intensities, the 20-call
example). O. Guéant, "Optimal market making", Applied
Mathematical Finance 24(2), 2017, Sec. 4 (quadratic Hamiltonian, closed forms). P. Bergault,
O. Guéant, "Size matters for OTC market makers", SIAM J. Financial Math. 12(1), 2021 (the
quadratic approximation of multi-dimensional value functions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from invrisk._typing import ArrayLike, BoolArray, Float64Array
from invrisk.errors import InvalidArgumentError
from invrisk.quoting.base import (
    BookQuotes,
    book_depths_to_quotes,
    check_finite,
    check_mids,
    check_nonnegative,
    tau_seconds,
)
from invrisk.quoting.intensity import Intensity
from invrisk.units import NS_PER_SECOND, NS_PER_YEAR

__all__ = [
    "VegaBookModel",
    "VegaBookQuotes",
    "vega_book_coefficients",
    "vega_book_quotes",
]

SECONDS_PER_YEAR = NS_PER_YEAR / NS_PER_SECOND


@dataclass(frozen=True, slots=True, eq=False)
class VegaBookQuotes(BookQuotes):
    """Quotes for every option of a vega book (arrays of shape ``(N,)``).

    The :class:`~invrisk.quoting.base.BookQuotes` fields (depths from each mid in price units,
    prices before tick rounding, ``nan``/``False`` on a side withdrawn because its fill would
    push the portfolio vega beyond the bound), plus:

    Attributes
    ----------
    a, b
        Coefficients of ``v(V) ≈ −a V² − b V`` at this time to go (a per price unit per
        vega², b dimensionless).
    portfolio_vega
        The V the quotes were computed at.
    """

    a: float
    b: float
    portfolio_vega: float


# --- boundary checks ---------------------------------------------------------------------------


def _vector(name: str, value: ArrayLike, *, n: int | None, positive: bool) -> Float64Array:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidArgumentError(name, f"array of shape {arr.shape}", "a non-empty 1-D array")
    if n is not None and arr.size != n:
        raise InvalidArgumentError(name, f"array of length {arr.size}", f"length {n}")
    if not np.all(np.isfinite(arr)):
        raise InvalidArgumentError(name, "array with nan/inf", "finite values")
    if positive and not np.all(arr > 0.0):
        raise InvalidArgumentError(name, f"min {arr.min()!r}", "values > 0")
    if not positive and not np.all(arr >= 0.0):
        raise InvalidArgumentError(name, f"min {arr.min()!r}", "values >= 0")
    return arr


def _check_book(
    vegas: ArrayLike, sizes: ArrayLike, intensity: Intensity
) -> tuple[Float64Array, Float64Array, Intensity]:
    v = _vector("vegas", vegas, n=None, positive=False)
    n = v.size
    z_in = np.full(n, sizes, dtype=np.float64) if np.ndim(sizes) == 0 else sizes
    z = _vector("sizes", z_in, n=n, positive=True)
    if not isinstance(intensity, Intensity):
        raise InvalidArgumentError(
            "intensity", type(intensity).__name__, "an ExponentialIntensity or LogisticIntensity"
        )
    if intensity.n not in (1, n):
        raise InvalidArgumentError("intensity", f"{intensity.n} options", f"1 or {n}")
    return v, z, intensity.broadcast(n)


def _check_limit(vega_limit: float) -> float:
    lim = float(vega_limit)
    if not (math.isfinite(lim) and lim > 0.0):
        raise InvalidArgumentError("vega_limit", vega_limit, "a finite number > 0")
    return lim


# --- numerics (pure functions, inputs assumed valid) -------------------------------------------


def _liquidity(vegas: Float64Array, sizes: Float64Array, intensity: Intensity) -> float:
    """``S = Σ_i z^i α₂^i (V^i)²`` (per second per price unit × vega²)."""
    return float(np.sum(sizes * intensity.curvature() * vegas * vegas))


def _tanh_over_x(x: float) -> float:
    return 1.0 if x < 1e-8 else math.tanh(x) / x


def _one_minus_sech_over_x2(x: float) -> float:
    """``(1 − sech x) / x²``, with its series ``½ − 5x²/24`` near 0 and ``1/x²`` far out."""
    if x < 1e-4:
        return 0.5 - 5.0 * x * x / 24.0
    if x > 700.0:  # sech x < 1e-304
        return 1.0 / (x * x)
    return (1.0 - 1.0 / math.cosh(x)) / (x * x)


def _coefficients(
    *, liquidity: float, psi: float, mu: float, tau_s: float, ell: float
) -> tuple[float, float]:
    """Closed-form ``(a(τ), b(τ))`` of the Riccati system (module docstring)."""
    x = math.sqrt(4.0 * liquidity * psi) * tau_s
    tth = tau_s * _tanh_over_x(x)
    den = 1.0 + 4.0 * liquidity * ell * tth
    a = (ell + psi * tth) / den
    # "0.0 -" keeps b = +0.0 (not -0.0) without drift.
    b = 0.0 - mu * (tth + 4.0 * liquidity * ell * tau_s * tau_s * _one_minus_sech_over_x2(x)) / den
    return a, b


def _depths(
    *,
    vegas: Float64Array,
    sizes: Float64Array,
    intensity: Intensity,
    a: float,
    b: float,
    portfolio_vega: float,
    vega_limit: float,
) -> tuple[Float64Array, Float64Array, BoolArray, BoolArray]:
    skew = vegas * (2.0 * a * portfolio_vega + b)
    curv = a * sizes * vegas * vegas
    step = sizes * vegas
    v_bid = portfolio_vega + step
    v_ask = portfolio_vega - step
    abs_v = abs(portfolio_vega)
    bid_ok = (np.abs(v_bid) <= vega_limit) | (np.abs(v_bid) < abs_v)
    ask_ok = (np.abs(v_ask) <= vega_limit) | (np.abs(v_ask) < abs_v)
    bid_depth = intensity.optimal_depth(curv + skew)
    ask_depth = intensity.optimal_depth(curv - skew)
    return bid_depth, ask_depth, bid_ok, ask_ok


def _psi_per_s(gamma: float, vol_of_vol: float) -> float:
    return gamma * vol_of_vol * vol_of_vol / (8.0 * SECONDS_PER_YEAR)


def _assemble(
    mids: Float64Array,
    vegas: Float64Array,
    sizes: Float64Array,
    intensity: Intensity,
    a: float,
    b: float,
    portfolio_vega: float,
    vega_limit: float,
) -> VegaBookQuotes:
    bd, ad, bok, aok = _depths(
        vegas=vegas,
        sizes=sizes,
        intensity=intensity,
        a=a,
        b=b,
        portfolio_vega=portfolio_vega,
        vega_limit=vega_limit,
    )
    bd, ad, bid, ask = book_depths_to_quotes(mids, bd, ad, bid_quoted=bok, ask_quoted=aok)
    return VegaBookQuotes(bd, ad, bid, ask, bok, aok, a=a, b=b, portfolio_vega=portfolio_vega)


# --- public API --------------------------------------------------------------------------------


def vega_book_coefficients(
    *,
    vegas: ArrayLike,
    sizes: ArrayLike,
    intensity: Intensity,
    gamma: float,
    vol_of_vol: float,
    horizon_s: float,
    vol_drift_per_s: float = 0.0,
    terminal_penalty: float = 0.0,
) -> tuple[float, float]:
    """``(a, b)`` of ``v(V) ≈ −a V² − b V`` with ``horizon_s`` seconds to go.

    See the module docstring for the units, the ODE and its closed form, and
    :func:`vega_book_quotes` for the parameters.

    Examples
    --------
    γ = 0 without terminal penalty is the risk-neutral case, ``a = 0``:

    >>> from invrisk.quoting.intensity import ExponentialIntensity
    >>> vega_book_coefficients(vegas=[10.0], sizes=1.0, gamma=0.0, vol_of_vol=0.5,
    ...                        intensity=ExponentialIntensity(A=1.0, k=2.0), horizon_s=60.0)
    (0.0, 0.0)
    """
    v, z, lam = _check_book(vegas, sizes, intensity)
    g = check_nonnegative("gamma", gamma)
    xi = check_nonnegative("vol_of_vol", vol_of_vol)
    tau = check_nonnegative("horizon_s", horizon_s)
    mu = check_finite("vol_drift_per_s", vol_drift_per_s)
    ell = check_nonnegative("terminal_penalty", terminal_penalty)
    return _coefficients(
        liquidity=_liquidity(v, z, lam), psi=_psi_per_s(g, xi), mu=mu, tau_s=tau, ell=ell
    )


def vega_book_quotes(
    *,
    mids: ArrayLike,
    vegas: ArrayLike,
    sizes: ArrayLike,
    intensity: Intensity,
    gamma: float,
    vol_of_vol: float,
    horizon_s: float,
    portfolio_vega: float,
    vega_limit: float,
    vol_drift_per_s: float = 0.0,
    terminal_penalty: float = 0.0,
) -> VegaBookQuotes:
    """Bid/ask quotes for every option of a book, from its portfolio vega, in one call.

    Parameters
    ----------
    mids
        Reference prices (price units), shape ``(N,)``.
    vegas
        Vega of one contract of each option per 1.0 of implied vol (price units), >= 0, frozen
        for the horizon (e.g. ``black76(...).vega`` or the coin pricing core's vega).
    sizes
        z^i, contracts per fill (> 0); a scalar applies to every option.
    intensity
        Fill intensity per option (:class:`~invrisk.quoting.intensity.ExponentialIntensity`
        ``A e^{−kδ}`` or :class:`~invrisk.quoting.intensity.LogisticIntensity`), rates per
        second, depths in price units; parameters of length 1 apply to every option.
    gamma
        Risk aversion γ per price unit (>= 0; 0 is risk-neutral).
    vol_of_vol
        ξ per sqrt(year) (>= 0), the vol-of-variance: ``dσ = … + (ξ/2) dW``.
    horizon_s
        Time to the end of the horizon, seconds (>= 0).
    portfolio_vega
        V = Σ q^i V^i (price units per 1.0 vol), long positive.
    vega_limit
        V̄ > 0; sides whose fill would leave ``|V| > V̄`` (and not reduce ``|V|``) are withdrawn.
    vol_drift_per_s
        μ, expected implied-vol change per second (vol units), the paper's P-vs-Q drift; 0.
    terminal_penalty
        ℓ >= 0 (per price unit per vega²): ``v(T, V) = −ℓ V²``; 0.

    Returns
    -------
    VegaBookQuotes

    Notes
    -----
    ``δ^{i,b/a} = δ̃^i(a z^i (V^i)² ± V^i (2aV + b))`` with the closed-form ``a``, ``b`` of
    the module docstring (quadratic approximation of Baldacci, Bergault & Guéant 2021); for
    exponential intensities ``δ̃(p) = p + 1/k``.

    Examples
    --------
    At V = 0 each option is quoted symmetrically around its mid:

    >>> from invrisk.quoting.intensity import ExponentialIntensity
    >>> q = vega_book_quotes(mids=[100.0, 50.0], vegas=[40.0, 20.0], sizes=1.0,
    ...                      intensity=ExponentialIntensity(A=1.0, k=0.5), gamma=1e-3,
    ...                      vol_of_vol=1.0, horizon_s=3600.0, portfolio_vega=0.0,
    ...                      vega_limit=1e4)
    >>> bool(np.allclose(q.bid_depth, q.ask_depth))
    True
    """
    v, z, lam = _check_book(vegas, sizes, intensity)
    m = check_mids(mids, v.size)
    g = check_nonnegative("gamma", gamma)
    xi = check_nonnegative("vol_of_vol", vol_of_vol)
    tau = check_nonnegative("horizon_s", horizon_s)
    mu = check_finite("vol_drift_per_s", vol_drift_per_s)
    ell = check_nonnegative("terminal_penalty", terminal_penalty)
    pv = check_finite("portfolio_vega", portfolio_vega)
    lim = _check_limit(vega_limit)
    a, b = _coefficients(
        liquidity=_liquidity(v, z, lam), psi=_psi_per_s(g, xi), mu=mu, tau_s=tau, ell=ell
    )
    return _assemble(m, v, z, lam, a, b, pv, lim)


@dataclass(frozen=True, slots=True, eq=False)
class VegaBookModel:
    """Vega-book quoting model over a horizon ending at ``t_end_ns`` (int ns UTC).

    Stores the validated book (vegas frozen at construction, as in the paper) and its
    liquidity ``S``; each quote costs two closed-form scalars and a few vectorised array
    operations. Parameters and units as :func:`vega_book_quotes`. Implements
    :class:`~invrisk.quoting.base.BookQuotingModel` (:meth:`book_quotes` takes the positions
    in contracts) and :meth:`quotes` (takes the portfolio vega directly).
    """

    vegas: Float64Array
    sizes: Float64Array
    intensity: Intensity
    gamma: float
    vol_of_vol: float
    vega_limit: float
    t_end_ns: int
    vol_drift_per_s: float
    terminal_penalty: float
    liquidity: float
    psi_per_s: float

    def __init__(
        self,
        *,
        vegas: ArrayLike,
        sizes: ArrayLike,
        intensity: Intensity,
        gamma: float,
        vol_of_vol: float,
        vega_limit: float,
        t_end_ns: int,
        vol_drift_per_s: float = 0.0,
        terminal_penalty: float = 0.0,
    ) -> None:
        v, z, lam = _check_book(vegas, sizes, intensity)
        g = check_nonnegative("gamma", gamma)
        xi = check_nonnegative("vol_of_vol", vol_of_vol)
        for name, arr in (("vegas", v), ("sizes", z)):
            arr = arr.copy()
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "intensity", lam)
        object.__setattr__(self, "gamma", g)
        object.__setattr__(self, "vol_of_vol", xi)
        object.__setattr__(self, "vega_limit", _check_limit(vega_limit))
        object.__setattr__(self, "t_end_ns", int(t_end_ns))
        object.__setattr__(
            self, "vol_drift_per_s", check_finite("vol_drift_per_s", vol_drift_per_s)
        )
        object.__setattr__(
            self, "terminal_penalty", check_nonnegative("terminal_penalty", terminal_penalty)
        )
        object.__setattr__(self, "liquidity", _liquidity(v, z, lam))
        object.__setattr__(self, "psi_per_s", _psi_per_s(g, xi))

    @property
    def n_instruments(self) -> int:
        return int(self.vegas.size)

    def portfolio_vega(self, positions: ArrayLike) -> float:
        """``V = Σ q^i V^i`` for positions ``q`` (contracts, long positive)."""
        q = np.asarray(positions, dtype=np.float64)
        if q.shape != self.vegas.shape or not np.all(np.isfinite(q)):
            raise InvalidArgumentError(
                "positions", f"array of shape {q.shape}", f"finite, shape {self.vegas.shape}"
            )
        return float(q @ self.vegas)

    def quotes(self, *, portfolio_vega: float, t_ns: int, mids: ArrayLike) -> VegaBookQuotes:
        """Quotes for every option at portfolio vega ``V`` and time ``t_ns`` (<= ``t_end_ns``)."""
        tau = tau_seconds(t_ns, self.t_end_ns)
        pv = check_finite("portfolio_vega", portfolio_vega)
        m = check_mids(mids, self.vegas.size)
        a, b = _coefficients(
            liquidity=self.liquidity,
            psi=self.psi_per_s,
            mu=self.vol_drift_per_s,
            tau_s=tau,
            ell=self.terminal_penalty,
        )
        return _assemble(m, self.vegas, self.sizes, self.intensity, a, b, pv, self.vega_limit)

    def book_quotes(self, *, positions: ArrayLike, t_ns: int, mids: ArrayLike) -> VegaBookQuotes:
        """Quotes for every option given the positions (contracts per option, long positive)."""
        return self.quotes(portfolio_vega=self.portfolio_vega(positions), t_ns=t_ns, mids=mids)
