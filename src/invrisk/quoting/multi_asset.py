"""Multi-asset closed-form quotes: Guéant (2017) asymptotic and Bergault et al. (2021) tanh.

Units (as in :mod:`invrisk.quoting.glft`): prices in price units, time in seconds,
``sigma_cov`` the n×n covariance of the instruments' price increments in price² per second
(``Σ_ii = σ_i²``), ``A`` per second, ``k`` per price unit, ``gamma`` and ``xi`` per
(price unit × quantity), ``trade_qty`` (Δ^i) and ``q`` in quantity. ``A``, ``k`` and
``trade_qty`` are per instrument (scalars broadcast to all n instruments).

Both approximations replace each side's Hamiltonian by its quadratic expansion at p = 0 and
look for a quadratic value function ``θ(t, q) ≈ −qᵀ 𝒜(t) q`` (no drift, symmetric bid/ask,
so the linear term vanishes). With ``p^{i,b} = (θ(q) − θ(q + Δ^i e_i)) / Δ^i`` this gives

    p^{i,b} = 2 (𝒜 q)_i + Δ^i 𝒜_ii,   p^{i,a} = −2 (𝒜 q)_i + Δ^i 𝒜_ii,
    δ^{i,b} = δ̃*_ξ(p^{i,b}),          δ^{i,a} = δ̃*_ξ(p^{i,a}),

with ``δ̃*_ξ(p) = p + (1/(ξΔ^i)) ln(1 + ξΔ^i/k^i)`` (ξ > 0) or ``p + 1/k^i`` (ξ = 0).

Convention (the √2 of the two papers). For exponential intensities one side's Hamiltonian
is ``H_ξ(p) = (A Δ/k) C_ξ e^{−kp}``, so ``H″_ξ(0) = A Δ k C_ξ =: D`` (Guéant 2017's D, per
instrument), with ``C_ξ = (1 + ξΔ/k)^{−k/(ξΔ) − 1}``, ``C_0 = e^{−1}``. Inserting the ansatz
in the HJB, the bid and the ask each contribute ``½ D (±2(𝒜q)_i)²``, so the q-quadratic part
is ``4 qᵀ 𝒜 D 𝒜 q`` and

    𝒜′ = 4 𝒜 D 𝒜 − (γ/2) Σ = 2 𝒜 D₊ 𝒜 − (γ/2) Σ,   D₊ = 2 D,   𝒜(T) = 0,

which is Bergault et al.'s Riccati equation with their ``D₊ = diag((α₂^b + α₂^a) z^i)``:
each side's curvature ``α₂ z = A Δ k C_ξ = D``, summed over the two sides. Hence **this module
uses D = diag(A Δ k C_ξ) in Guéant's Γ and D₊ = 2D in Bergault's closed form**. Then

* asymptotic (Guéant 2017): ``Γ = D^{−1/2} (D^{1/2} Σ D^{1/2})^{1/2} D^{−1/2}`` solves
  ``Γ D Γ = Σ`` and ``𝒜_∞ = ½ √(γ/2) Γ`` (the stationary Riccati solution, 4𝒜D𝒜 = γΣ/2);
* finite horizon τ = T − t (Bergault et al. 2021):
  ``𝒜(τ) = ½ D₊^{−1/2} Â tanh(Â τ) D₊^{−1/2}``, ``Â = √γ (D₊^{1/2} Σ D₊^{1/2})^{1/2}``,
  which tends to ``𝒜_∞`` as τ → ∞ and to 0 (the myopic quotes δ̃*_ξ(0)) at τ = 0.

With n = 1 both reduce to the single-asset closed form of
:func:`invrisk.quoting.glft.gueant_closed_form_depths` (for the asymptotic one exactly:
``√(γ/2) Γ = √(γσ² / (2AΔkC_ξ))``).

Matrix square roots and ``tanh`` of symmetric PSD matrices use ``numpy.linalg.eigh``;
eigenvalues within round-off below zero (a validated PSD input) are set to 0 before the
square root — this is not a clamp of user input, which is rejected if materially indefinite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from invrisk._typing import ArrayLike, Float64Array
from invrisk.errors import InvalidArgumentError
from invrisk.quoting.base import (
    BookQuotes,
    book_depths_to_quotes,
    check_mids,
    check_nonnegative,
    check_positive,
    tau_seconds,
)

__all__ = [
    "MultiAssetClosedForm",
    "bergault_riccati_matrix",
    "gueant_gamma_matrix",
    "multi_asset_depths",
    "sqrtm_psd",
]

# Relative tolerances of the boundary checks (round-off of a covariance estimated in float64).
_SYM_RTOL = 1e-10
_PSD_RTOL = 1e-10


# --- matrix helpers ---------------------------------------------------------------------------


def _eigh_psd(m: Float64Array, name: str = "m") -> tuple[Float64Array, Float64Array]:
    """Eigenpairs of a symmetric PSD matrix, round-off negative eigenvalues set to 0."""
    lam, u = np.linalg.eigh(0.5 * (m + m.T))
    scale = float(np.max(np.abs(lam))) if lam.size else 0.0
    if lam.size and float(lam[0]) < -_PSD_RTOL * max(scale, 1e-300):
        raise InvalidArgumentError(name, f"min eigenvalue {lam[0]:.3g}", "a PSD matrix")
    return np.where(lam > 0.0, lam, 0.0), u


def sqrtm_psd(m: ArrayLike) -> Float64Array:
    """Principal square root of a symmetric positive semi-definite matrix via ``eigh``.

    ``sqrtm_psd(m) @ sqrtm_psd(m) == m`` up to round-off; the root is symmetric PSD.

    Examples
    --------
    >>> sqrtm_psd([[4.0, 0.0], [0.0, 9.0]]).tolist()
    [[2.0, 0.0], [0.0, 3.0]]
    """
    a = np.asarray(m, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise InvalidArgumentError("m", f"shape {a.shape}", "a square matrix")
    lam, u = _eigh_psd(a)
    out: Float64Array = (u * np.sqrt(lam)) @ u.T
    return out


def _c_xi(xi: float, trade_qty: Float64Array, k: Float64Array) -> Float64Array:
    """C_ξ per instrument: ``(1 + ξΔ/k)^{−k/(ξΔ) − 1}``, ``e^{−1}`` at ξ = 0."""
    if xi == 0.0:
        return np.full(k.shape, math.exp(-1.0))
    x = xi * trade_qty / k
    out: Float64Array = np.exp(-(1.0 / x + 1.0) * np.log1p(x))
    return out


def _depth_offset(xi: float, trade_qty: Float64Array, k: Float64Array) -> Float64Array:
    """δ̃*_ξ(p) − p per instrument: ``ln(1 + ξΔ/k)/(ξΔ)``, or ``1/k`` at ξ = 0."""
    if xi == 0.0:
        out0: Float64Array = 1.0 / k
        return out0
    out: Float64Array = np.log1p(xi * trade_qty / k) / (xi * trade_qty)
    return out


def gueant_gamma_matrix(sigma_cov: Float64Array, d: Float64Array) -> Float64Array:
    """Guéant (2017)'s ``Γ = D^{−1/2} (D^{1/2} Σ D^{1/2})^{1/2} D^{−1/2}`` (solves ΓDΓ = Σ).

    ``d`` is the diagonal of D = diag(H″_ξ(0)) = A Δ k C_ξ (per second per price unit ×
    quantity); inputs are assumed valid (kernel).
    """
    sd = np.sqrt(d)
    inner = sqrtm_psd(sd[:, None] * sigma_cov * sd[None, :])
    out: Float64Array = inner / sd[:, None] / sd[None, :]
    return out


def bergault_riccati_matrix(
    sigma_cov: Float64Array, d_plus: Float64Array, gamma: float, tau_s: float
) -> Float64Array:
    """Bergault et al. (2021)'s ``𝒜(τ) = ½ D₊^{−1/2} Â tanh(Â τ) D₊^{−1/2}``.

    ``Â = √γ (D₊^{1/2} Σ D₊^{1/2})^{1/2}``; ``d_plus`` is the diagonal of D₊ (= 2 A Δ k C_ξ,
    see the module docstring); ``tau_s`` the time to the horizon in seconds.
    """
    sd = np.sqrt(d_plus)
    lam, u = _eigh_psd(sd[:, None] * sigma_cov * sd[None, :], "sigma_cov")
    a_hat_eig = math.sqrt(gamma) * np.sqrt(lam)
    f = a_hat_eig * np.tanh(a_hat_eig * tau_s)  # Â tanh(Âτ) in Â's eigenbasis
    inner = (u * f) @ u.T
    out: Float64Array = 0.5 * inner / sd[:, None] / sd[None, :]
    return out


# --- validation -------------------------------------------------------------------------------


def _per_instrument(name: str, value: ArrayLike, n: int, *, allow_zero: bool) -> Float64Array:
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0:
        a = np.full(n, float(a))
    if a.shape != (n,):
        raise InvalidArgumentError(name, f"shape {a.shape}", f"a scalar or shape ({n},)")
    ok = np.isfinite(a) & ((a >= 0.0) if allow_zero else (a > 0.0))
    if not bool(np.all(ok)):
        raise InvalidArgumentError(name, a.tolist(), "finite, " + (">= 0" if allow_zero else "> 0"))
    return a


def _check_cov(sigma_cov: ArrayLike) -> Float64Array:
    s = np.asarray(sigma_cov, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] != s.shape[1] or s.shape[0] < 1:
        raise InvalidArgumentError("sigma_cov", f"shape {s.shape}", "a square n×n matrix, n >= 1")
    if not bool(np.all(np.isfinite(s))):
        raise InvalidArgumentError("sigma_cov", "non-finite entries", "a finite matrix")
    scale = float(np.max(np.abs(s)))
    if float(np.max(np.abs(s - s.T))) > _SYM_RTOL * scale:
        raise InvalidArgumentError("sigma_cov", "asymmetric matrix", "a symmetric matrix")
    lam = np.linalg.eigvalsh(s)
    if float(lam[0]) < -_PSD_RTOL * max(scale, 1e-300):
        raise InvalidArgumentError(
            "sigma_cov", f"min eigenvalue {lam[0]:.3g}", "a positive semi-definite matrix"
        )
    out: Float64Array = 0.5 * (s + s.T)
    return out


@dataclass(frozen=True, slots=True)
class _Params:
    sigma_cov: Float64Array
    gamma: float
    trade_qty: Float64Array
    d: Float64Array  # Guéant's D = A Δ k C_ξ; Bergault's D₊ = 2 d
    offset: Float64Array  # δ̃*_ξ(p) − p


def _check_params(
    sigma_cov: ArrayLike,
    gamma: float,
    A: ArrayLike,
    k: ArrayLike,
    trade_qty: ArrayLike,
    xi: float | None,
) -> _Params:
    s = _check_cov(sigma_cov)
    n = s.shape[0]
    g = check_positive("gamma", gamma)
    x = g if xi is None else check_nonnegative("xi", xi)
    a = _per_instrument("A", A, n, allow_zero=False)
    kk = _per_instrument("k", k, n, allow_zero=False)
    dq = _per_instrument("trade_qty", trade_qty, n, allow_zero=False)
    d = a * dq * kk * _c_xi(x, dq, kk)
    return _Params(s, g, dq, d, _depth_offset(x, dq, kk))


def _check_q(q: ArrayLike, n: int, name: str = "q") -> Float64Array:
    qa = np.asarray(q, dtype=np.float64)
    if qa.shape != (n,) or not bool(np.all(np.isfinite(qa))):
        raise InvalidArgumentError(name, f"{qa.tolist()}", f"{n} finite inventories")
    return qa


def _riccati(p: _Params, tau_s: float | None) -> Float64Array:
    if tau_s is None:
        return 0.5 * math.sqrt(0.5 * p.gamma) * gueant_gamma_matrix(p.sigma_cov, p.d)
    return bergault_riccati_matrix(p.sigma_cov, 2.0 * p.d, p.gamma, tau_s)


def _depths_from_riccati(
    a_mat: Float64Array, q: Float64Array, trade_qty: Float64Array, offset: Float64Array
) -> tuple[Float64Array, Float64Array]:
    aq = a_mat @ q
    half = trade_qty * np.diag(a_mat)
    bid: Float64Array = offset + 2.0 * aq + half
    ask: Float64Array = offset - 2.0 * aq + half
    return bid, ask


# --- public API -------------------------------------------------------------------------------


def multi_asset_depths(
    *,
    q: ArrayLike,
    sigma_cov: ArrayLike,
    gamma: float,
    A: ArrayLike,
    k: ArrayLike,
    trade_qty: ArrayLike = 1.0,
    xi: float | None = None,
    horizon_s: float | None = None,
) -> tuple[Float64Array, Float64Array]:
    """Approximate bid and ask depths of n market-made instruments (price units, shape (n,)).

    Parameters
    ----------
    q
        Inventories, shape (n,), quantity (long positive).
    sigma_cov
        Covariance of the instruments' price increments, n×n, price² per second; symmetric
        positive semi-definite.
    gamma
        Risk aversion γ > 0, per (price unit × quantity).
    A, k
        Intensity ``Λ^i(δ) = A^i e^{−k^i δ}``: ``A`` per second, ``k`` per price unit; scalar
        or shape (n,), > 0.
    trade_qty
        Δ^i, the size of each fill (quantity); scalar or shape (n,), > 0. Default 1.
    xi
        ξ: ``gamma`` (default, CARA model) or 0 (risk-adjusted expectation), or any ξ >= 0.
    horizon_s
        Time to the horizon τ = T − t in seconds, >= 0. ``None`` (default) gives Guéant's
        asymptotic (τ → ∞) closed form; a number gives Bergault et al.'s tanh closed form.

    Returns
    -------
    bid_depth, ask_depth
        ``mid_i − bid_i`` and ``ask_i − mid_i``, shape (n,). No inventory bound is applied.

    Notes
    -----
    Asymptotic: ``δ^{i,b} = δ̃*_ξ(√(γ/2)(Γ^{ii}(2q^i + Δ^i)/2 + Σ_{j≠i} Γ^{ij} q^j))``,
    ``δ^{i,a} = δ̃*_ξ(√(γ/2)(Γ^{ii}(Δ^i − 2q^i)/2 − Σ_{j≠i} Γ^{ij} q^j))`` with
    ``Γ = D^{−1/2}(D^{1/2}ΣD^{1/2})^{1/2}D^{−1/2}``, ``D = diag(A^i Δ^i k^i C_ξ^i)``.
    Finite horizon: the same with ``√(γ/2) Γ / 2`` replaced by Bergault et al.'s 𝒜(τ), using
    ``D₊ = 2D`` (derivation and the √2 convention in the module docstring).

    References
    ----------
    O. Guéant, "Optimal market making", Applied Mathematical Finance 24(2), 2017
    (arXiv:1605.01862), Sec. 6 (multi-asset closed form). P. Bergault, D. Evangelista,
    O. Guéant, D. Vieira, "Closed-form approximations in multi-asset market making",
    Applied Mathematical Finance 28(2), 2021 (arXiv:1810.04383), Sec. 3 (Riccati closed form).

    Examples
    --------
    One instrument with the GLFT (2013) figure parameters (σ = 0.3, A = 0.9, k = 0.3,
    γ = ξ = 0.01) gives the single-asset closed form, here at q = 0:

    >>> b, a = multi_asset_depths(q=[0.0], sigma_cov=[[0.09]], gamma=0.01, A=0.9, k=0.3)
    >>> round(float(b[0]), 6) == round(float(a[0]), 6)
    True
    """
    p = _check_params(sigma_cov, gamma, A, k, trade_qty, xi)
    qa = _check_q(q, p.sigma_cov.shape[0])
    tau = None if horizon_s is None else check_nonnegative("horizon_s", horizon_s)
    return _depths_from_riccati(_riccati(p, tau), qa, p.trade_qty, p.offset)


@dataclass(frozen=True, slots=True, eq=False)
class MultiAssetClosedForm:
    """Quoting model of :func:`multi_asset_depths` for n instruments.

    ``t_end_ns`` is the horizon (Bergault et al. finite-horizon quotes at τ = (t_end − t)/1e9 s);
    ``None`` quotes Guéant's asymptotic closed form and ignores ``t_ns``. ``q_max`` (scalar or
    shape (n,), quantity, optional) withdraws the bid at ``q^i >= q_max^i`` and the ask at
    ``q^i <= −q_max^i``; ``|q^i| > q_max^i`` is an error.
    """

    params: _Params
    riccati_inf: Float64Array  # 𝒜_∞, used when t_end_ns is None
    t_end_ns: int | None
    q_max: Float64Array | None

    def __init__(
        self,
        *,
        sigma_cov: ArrayLike,
        gamma: float,
        A: ArrayLike,
        k: ArrayLike,
        trade_qty: ArrayLike = 1.0,
        xi: float | None = None,
        t_end_ns: int | None = None,
        q_max: ArrayLike | None = None,
    ) -> None:
        p = _check_params(sigma_cov, gamma, A, k, trade_qty, xi)
        n = p.sigma_cov.shape[0]
        qm = None if q_max is None else _per_instrument("q_max", q_max, n, allow_zero=False)
        object.__setattr__(self, "params", p)
        object.__setattr__(self, "riccati_inf", _riccati(p, None))
        object.__setattr__(self, "t_end_ns", None if t_end_ns is None else int(t_end_ns))
        object.__setattr__(self, "q_max", qm)

    @property
    def n_instruments(self) -> int:
        return int(self.params.sigma_cov.shape[0])

    def depths(self, *, q: ArrayLike, t_ns: int) -> tuple[Float64Array, Float64Array]:
        """Bid and ask depths (price units, shape (n,)) before the inventory bound."""
        qa = _check_q(q, self.n_instruments)
        if self.t_end_ns is None:
            a_mat = self.riccati_inf
        else:
            a_mat = _riccati(self.params, tau_seconds(t_ns, self.t_end_ns))
        return _depths_from_riccati(a_mat, qa, self.params.trade_qty, self.params.offset)

    def book_quotes(self, *, positions: ArrayLike, t_ns: int, mids: ArrayLike) -> BookQuotes:
        """Quotes for every instrument at inventories ``positions`` (quantity, shape (n,))."""
        n = self.n_instruments
        qa = _check_q(positions, n, "positions")
        m = check_mids(mids, n)
        if self.q_max is not None and not bool(np.all(np.abs(qa) <= self.q_max)):
            raise InvalidArgumentError(
                "positions", qa.tolist(), f"|q| <= q_max={self.q_max.tolist()}"
            )
        bid, ask = self.depths(q=qa, t_ns=t_ns)
        if self.q_max is None:
            bid_ok = np.ones(n, dtype=np.bool_)
            ask_ok = bid_ok.copy()
        else:
            bid_ok = qa < self.q_max
            ask_ok = qa > -self.q_max
        bd, ad, b, a = book_depths_to_quotes(m, bid, ask, bid_quoted=bid_ok, ask_quoted=ask_ok)
        return BookQuotes(bd, ad, b, a, bid_ok, ask_ok)
