"""Guéant–Lehalle–Fernandez-Tapia (2013) / Guéant (2017) quotes with bounded inventory.

Units (one convention for the whole module): prices in price units (USD, or ticks), time in
seconds, ``sigma`` in price units per sqrt(second), ``mu`` (drift) in price units per second,
``A`` per second, ``k`` per price unit, ``gamma`` and ``xi`` per (price unit × quantity),
``trade_qty`` (Δ) and ``q_max`` (Q) in quantity. Inventory lives on the grid
``-Q, -Q+Δ, ..., Q``.

Exact solution (Guéant 2017, Sec. 3; GLFT 2013, Th. 1): with exponential intensity
``Λ(δ) = A e^{-kδ}`` the change of variable ``v_q = exp(k θ(q) / Δ)`` makes the HJB system
linear, ``∂_t v = M v`` with the symmetric tridiagonal

    M_qq = k γ σ² q² / (2Δ) − k μ q / Δ,   M_{q,q±Δ} = −A C_ξ,
    C_ξ = (1 + ξΔ/k)^{−k/(ξΔ) − 1}  (ξ > 0),   C_0 = e^{−1},

and ``v(t) = exp(−M (T−t)) v(T)``, ``v_q(T) = exp(−k ℓ(q) / Δ)`` with ``ℓ(q) = α q²``. The
quotes are ``δ^b = (1/k) ln(v_q / v_{q+Δ}) + c``, ``δ^a = (1/k) ln(v_q / v_{q−Δ}) + c`` with
``c = (1/(ξΔ)) ln(1 + ξΔ/k)`` (ξ > 0) or ``1/k`` (ξ = 0). ``exp(−Mτ)`` comes from the
eigendecomposition of ``M`` (``scipy.linalg.eigh_tridiagonal``), computed once per model; each
quote then costs O(number of levels).

Far inventory tails: ``v_q`` can be hundreds of orders of magnitude below its peak, below the
absolute precision (``eps·‖u‖``) of the computed eigenvector entries. Every eigenvector ``u`` of
``M`` satisfies the three-term recurrence ``(M_qq − λ) u_q = η (u_{q−Δ} + u_{q+Δ})``; beyond its
turning point (``M_qq − λ > 2η`` up to the bound) the ratio ``r_q = u_q / u_{q∓Δ} =
η / (M_qq − λ − η r_{q±Δ})``, swept in from the bound, lies in ``(0, 1)`` and damps its own
rounding errors. Each eigenvector's tails are rebuilt from these ratios in log-magnitude/sign
form, anchored at its last point before the tail, and ``v`` is summed as a signed
log-sum-exp, so every ``ln(v_q / v_{q±Δ})`` keeps full relative precision. The infinite-horizon
ground state (τ → ∞) is the first column of the same decomposition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from invrisk._typing import Float64Array
from invrisk.errors import InvalidArgumentError
from invrisk.quoting._glft_kernels import rebuild_tail_kernel
from invrisk.quoting.base import (
    ModelState,
    Quotes,
    check_finite,
    check_nonnegative,
    check_positive,
    make_quotes,
    tau_seconds,
)

# scipy.linalg is imported in the functions that use it: loading it takes about 0.1 s, which a
# backtest with the closed-form model would pay for nothing.

__all__ = [
    "CarteaJaimungalPenalva",
    "GueantClosedForm",
    "GueantExact",
    "GueantSolution",
    "cjp_depths",
    "gueant_closed_form_depths",
    "solve_gueant",
]

Method = Literal["eigen", "expm"]

# The signed eigen sum loses about log10(1/ratio) digits when |Σ terms| / Σ|terms| = ratio;
# below 1e-6 (relative error above ~n·eps·1e6 ≈ 1e-8) the dense expm route is used instead.
_CANCEL_TOL = 1e-6


def _c_xi(xi: float, trade_qty: float, k: float) -> float:
    if xi == 0.0:
        return math.exp(-1.0)
    x = xi * trade_qty / k
    return math.exp(-(1.0 / x + 1.0) * math.log1p(x))


def _depth_offset(xi: float, trade_qty: float, k: float) -> float:
    """δ̃*_ξ(p) − p: ``(1/(ξΔ)) ln(1 + ξΔ/k)``, or ``1/k`` at ξ = 0."""
    if xi == 0.0:
        return 1.0 / k
    return math.log1p(xi * trade_qty / k) / (xi * trade_qty)


def _check_common(
    sigma: float, gamma: float, A: float, k: float, xi: float | None, mu: float, trade_qty: float
) -> tuple[float, float, float, float, float, float, float]:
    s = check_nonnegative("sigma", sigma)
    g = check_positive("gamma", gamma)
    a = check_positive("A", A)
    kk = check_positive("k", k)
    x = g if xi is None else check_nonnegative("xi", xi)
    m = check_finite("mu", mu)
    d = check_positive("trade_qty", trade_qty)
    return s, g, a, kk, x, m, d


def _levels(q_max: float, trade_qty: float) -> int:
    qm = check_positive("q_max", q_max)
    n = round(qm / trade_qty)
    if n < 1 or abs(n * trade_qty - qm) > 1e-9 * qm:
        raise InvalidArgumentError("q_max", q_max, f"a positive multiple of trade_qty={trade_qty}")
    return int(n)


def _grid_index(q: float, trade_qty: float, n_side: int) -> int:
    qf = check_finite("q", q)
    j = round(qf / trade_qty)
    if abs(j) > n_side:
        raise InvalidArgumentError("q", q, f"|q| <= q_max={n_side * trade_qty}")
    if abs(j * trade_qty - qf) > 1e-9 * max(trade_qty, abs(qf)):
        raise InvalidArgumentError("q", q, f"a multiple of trade_qty={trade_qty}")
    return int(j) + n_side


# --- closed form ------------------------------------------------------------------------------


def _closed_form_consts(
    sigma: float, gamma: float, A: float, k: float, xi: float, mu: float, trade_qty: float
) -> tuple[float, float, float]:
    """``(c, w, b)``: δ^b = c + w (q + Δ/2 − b), δ^a = c − w (q − Δ/2 − b), b = μ/(γσ²)."""
    c = _depth_offset(xi, trade_qty, k)
    w = math.sqrt(gamma * sigma * sigma / (2.0 * A * trade_qty * k * _c_xi(xi, trade_qty, k)))
    if mu == 0.0:
        b = 0.0
    elif sigma == 0.0:
        raise InvalidArgumentError("sigma", sigma, "> 0 when mu != 0 (the closed form has μ/σ²)")
    else:
        b = mu / (gamma * sigma * sigma)
    return c, w, b


def gueant_closed_form_depths(
    *,
    q: float,
    sigma: float,
    gamma: float,
    A: float,
    k: float,
    xi: float | None = None,
    mu: float = 0.0,
    trade_qty: float = 1.0,
) -> tuple[float, float]:
    """Closed-form approximate bid and ask depths of Guéant (2017), eqs. (4.6)–(4.9).

    Parameters
    ----------
    q
        Inventory (quantity).
    sigma, gamma, A, k, mu, trade_qty
        See the module docstring for units.
    xi
        ξ: ``gamma`` (default, model A = GLFT's CARA utility) or 0 (model B, risk-adjusted
        expectation), or any value >= 0.

    Notes
    -----
    ``δ^b ≈ c + (−μ/(γσ²) + (2q+Δ)/2) √(γσ² / (2AΔk C_ξ))`` and
    ``δ^a ≈ c + (μ/(γσ²) − (2q−Δ)/2) √(…)`` with ``c`` and ``C_ξ`` as in the module docstring
    (``1/C_ξ = (1+ξΔ/k)^{k/(ξΔ)+1}``, ``= e`` at ξ = 0). The spread ``2c + Δ√(…)`` does not
    depend on ``q``; the skew is linear in ``q``. With Δ = 1 and ξ = γ this is GLFT (2013)'s
    closed form. The approximation replaces the discrete-inventory Hamiltonian by its
    quadratic expansion around p = 0 and ignores the inventory bound and the horizon; it is the
    long-horizon (ground-state) limit for small ``|q|``.

    References
    ----------
    O. Guéant, "Optimal market making", Applied Mathematical Finance 24(2), 2017
    (arXiv:1605.01862), eqs. (4.6)–(4.9). O. Guéant, C.-A. Lehalle, J. Fernandez-Tapia,
    "Dealing with the inventory risk", Math. Financ. Econ. 7(4):477–507, 2013.

    Examples
    --------
    As γ → 0 the spread tends to the risk-neutral ``2/k``:

    >>> b, a = gueant_closed_form_depths(q=0.0, sigma=0.3, gamma=1e-12, A=0.9, k=0.3)
    >>> round(b + a, 5)  # 2/k = 6.66667
    6.66667
    """
    s, g, a, kk, x, m, d = _check_common(sigma, gamma, A, k, xi, mu, trade_qty)
    qf = check_finite("q", q)
    c, w, b = _closed_form_consts(s, g, a, kk, x, m, d)
    return c + w * (qf + 0.5 * d - b), c - w * (qf - 0.5 * d - b)


@dataclass(frozen=True, slots=True)
class GueantClosedForm:
    """Quoting model from :func:`gueant_closed_form_depths`, with the inventory bound applied.

    No bid at ``q >= q_max``, no ask at ``q <= -q_max``; ``|q| > q_max`` is an error. The model
    has no horizon, so ``t_ns`` is ignored.
    """

    c: float
    w: float
    b: float
    trade_qty: float
    q_max: float

    def __init__(
        self,
        *,
        sigma: float,
        gamma: float,
        A: float,
        k: float,
        q_max: float,
        xi: float | None = None,
        mu: float = 0.0,
        trade_qty: float = 1.0,
    ) -> None:
        s, g, a, kk, x, m, d = _check_common(sigma, gamma, A, k, xi, mu, trade_qty)
        c, w, b = _closed_form_consts(s, g, a, kk, x, m, d)
        object.__setattr__(self, "c", c)
        object.__setattr__(self, "w", w)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "trade_qty", d)
        object.__setattr__(self, "q_max", check_positive("q_max", q_max))

    def quotes(self, *, q: float, t_ns: int, state: ModelState) -> Quotes:
        qf = float(q)
        if not abs(qf) <= self.q_max:  # also rejects nan
            raise InvalidArgumentError("q", q, f"|q| <= q_max={self.q_max}")
        x = qf - self.b
        h = 0.5 * self.trade_qty
        return make_quotes(
            state.mid,
            self.c + self.w * (x + h),
            self.c - self.w * (x - h),
            bid_quoted=qf < self.q_max,
            ask_quoted=qf > -self.q_max,
        )


# --- exact solution ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class GueantSolution:
    """Eigendecomposition of the GLFT/Guéant generator ``M`` on the inventory grid.

    Attributes
    ----------
    q_grid
        Inventory levels ``-Q..Q`` step Δ.
    diag, offdiag
        ``M``'s diagonal and (constant) off-diagonal.
    eigvals, eigvecs
        ``M = U diag(λ) Uᵀ``, eigenvalues ascending. Without drift only the even eigenpairs
        (those ``v`` can reach) are kept, so ``eigvecs`` has ``Q/Δ + 1`` columns.
    coef
        ``Uᵀ v(T)``.
    log_abs_eigvecs, eigvec_signs
        ``ln|U|`` and ``sign(U)`` with the tails rebuilt from the ratio recurrence (see the
        module docstring): relatively accurate where ``U`` itself is below ``eps``.
    log_abs_coef, term_signs
        ``ln|coef|`` and ``sign(U) · sign(coef)``, the terms of the signed log-sum-exp.
    v_terminal
        ``v(T)`` on the grid.
    offset
        The constant ``c`` added to every depth.
    k, trade_qty
        As given.
    """

    q_grid: Float64Array
    diag: Float64Array
    offdiag: Float64Array
    eigvals: Float64Array
    eigvecs: Float64Array
    coef: Float64Array
    log_abs_eigvecs: Float64Array
    eigvec_signs: Float64Array
    log_abs_coef: Float64Array
    term_signs: Float64Array
    v_terminal: Float64Array
    offset: float
    k: float
    trade_qty: float

    @property
    def n_side(self) -> int:
        return (len(self.q_grid) - 1) // 2

    def _log_rows(self, rows: slice, tau: float) -> tuple[Float64Array, Float64Array]:
        """``ln v`` (up to a constant) on ``rows`` and each row's ``|Σ terms| / Σ|terms|``."""
        a = self.log_abs_eigvecs[rows] + (
            self.log_abs_coef - (self.eigvals - self.eigvals[0]) * tau
        )
        top = a.max(axis=1, keepdims=True)
        terms = np.exp(a - top)
        signed = (self.term_signs[rows] * terms).sum(axis=1)
        ratio = signed / terms.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out: Float64Array = top[:, 0] + np.log(signed)
        return out, ratio

    def log_value(self, *, tau_s: float | None) -> Float64Array:
        """``ln v(T − τ)`` on the grid, up to an additive constant (quotes use differences).

        ``tau_s=None`` is the infinite horizon: ``ln`` of the ground state. Accurate at every
        level, including the far tails where ``v`` underflows (see the module docstring).
        Rows where the eigen sum cancels by more than ``1e6`` fall back to the dense expm.
        """
        if tau_s is None:
            g: Float64Array = self.log_abs_eigvecs[:, 0].copy()
            return g
        tau = check_nonnegative("tau_s", tau_s)
        if tau == 0.0:
            return np.log(self.v_terminal)
        out, ratio = self._log_rows(slice(None), tau)
        bad = ~(ratio > _CANCEL_TOL)
        if bad.any():
            with np.errstate(divide="ignore"):
                out[bad] = np.log(self.value(tau_s=tau, method="expm"))[bad]
        return out

    def value(self, *, tau_s: float, method: Method = "eigen") -> Float64Array:
        """``v(T − τ)`` on the grid, scaled by ``e^{λ_min τ}`` (quotes use ratios only).

        ``method="expm"`` is the independent dense ``scipy.linalg.expm`` reference. Far-tail
        entries may underflow to 0; :meth:`log_value` does not.
        """
        tau = check_nonnegative("tau_s", tau_s)
        lam0 = float(self.eigvals[0])
        if method == "eigen":
            if tau == 0.0:
                return self.v_terminal.copy()
            log_v, _ = self._log_rows(slice(None), tau)
            out: Float64Array = np.exp(log_v)
            return out
        if method == "expm":
            m = np.diag(self.diag - lam0) + np.diag(self.offdiag, 1) + np.diag(self.offdiag, -1)
            import scipy.linalg

            res: Float64Array = scipy.linalg.expm(-m * tau) @ self.v_terminal
            return res
        raise InvalidArgumentError("method", method, "'eigen' or 'expm'")

    def ground_state(self) -> Float64Array:
        """Eigenvector of the smallest eigenvalue, positive, max entry 1 (τ → ∞ limit of v).

        Far-tail entries may underflow to 0; ``log_value(tau_s=None)`` does not.
        """
        g = self.log_abs_eigvecs[:, 0]
        f: Float64Array = np.exp(g - g.max())
        return f

    def depths_from_value(self, v: Float64Array, j: int) -> tuple[float, float, bool, bool]:
        """Bid/ask depths at grid index ``j`` from ``v`` (``nan`` for a withdrawn side)."""
        with np.errstate(divide="ignore"):
            return self.depths_from_log_value(np.log(np.asarray(v, dtype=np.float64)), j)

    def depths_from_log_value(self, log_v: Float64Array, j: int) -> tuple[float, float, bool, bool]:
        """Bid/ask depths at grid index ``j`` from ``ln v`` (``nan`` for a withdrawn side)."""
        n = len(log_v) - 1
        bid_ok = j < n
        ask_ok = j > 0
        vj = float(log_v[j])
        bid = (vj - float(log_v[j + 1])) / self.k + self.offset if bid_ok else math.nan
        ask = (vj - float(log_v[j - 1])) / self.k + self.offset if ask_ok else math.nan
        return bid, ask, bid_ok, ask_ok

    def depths(self, *, q: float, tau_s: float | None) -> tuple[float, float, bool, bool]:
        """Exact depths at inventory ``q``, ``tau_s`` seconds before the horizon.

        ``tau_s=None`` is the infinite horizon (ground state). Only the three needed rows of
        the decomposition are used, so one call costs O(levels); ``ln v`` is summed in log
        space, so the depths are accurate at every ``|q| <= Q``. If the signed eigen sum
        cancels by more than ``1e6`` on one of those rows (e.g. just before the horizon with a
        steep terminal penalty), the depths come from the dense matrix exponential instead.
        """
        j = _grid_index(q, self.trade_qty, self.n_side)
        lo, hi = max(j - 1, 0), min(j + 2, len(self.q_grid))
        full = np.full(len(self.q_grid), math.nan)
        if tau_s is None:
            full[lo:hi] = self.log_abs_eigvecs[lo:hi, 0]
            return self.depths_from_log_value(full, j)
        tau = check_nonnegative("tau_s", tau_s)
        if tau == 0.0:
            return self.depths_from_value(self.v_terminal, j)
        log_v, ratio = self._log_rows(slice(lo, hi), tau)
        if not bool(np.all(ratio > _CANCEL_TOL)):
            return self.depths_from_value(self.value(tau_s=tau, method="expm"), j)
        full[lo:hi] = log_v
        return self.depths_from_log_value(full, j)


def _log_eigvecs(
    diag: Float64Array, eta: float, lam: Float64Array, u: Float64Array, *, even: bool
) -> tuple[Float64Array, Float64Array]:
    """``(ln|U|, sign(U))`` with both inventory tails rebuilt from the ratio recurrence.

    The ``+Q`` tail (rows after ``argmin M_ii``) and the ``−Q`` tail (rows before it) are
    rebuilt by the numba kernel ``rebuild_tail_kernel`` (see ``_glft_kernels_python.py``).
    ``even=True`` (no drift, even eigenvectors only): the ``−Q`` tail is the mirror image.
    """
    with np.errstate(divide="ignore"):
        log_abs: Float64Array = np.log(np.abs(u))
    signs: Float64Array = np.sign(u)
    i_min = int(np.argmin(diag))
    n = len(diag)
    rebuild_tail_kernel(log_abs, signs, diag, lam, eta, n - 1, i_min, -1)
    if even:
        log_abs[:i_min] = log_abs[:i_min:-1]
        signs[:i_min] = signs[:i_min:-1]
    else:
        rebuild_tail_kernel(log_abs, signs, diag, lam, eta, 0, i_min, 1)
    return log_abs, signs


def _even_block_eigh(
    diag: Float64Array, eta: float, n_side: int
) -> tuple[Float64Array, Float64Array]:
    """Eigenpairs of ``M`` on the subspace of even vectors (``v_{-q} = v_q``).

    Without drift ``M`` commutes with the reflection ``q -> -q`` and ``v(T)`` is even, so
    ``v(t)`` stays in the even subspace. In the orthonormal basis ``e_0``,
    ``(e_j + e_{-j})/√2`` (j = 1..n) ``M`` is tridiagonal of size n+1 with off-diagonal
    ``−η√2`` between ``e_0`` and the first pair and ``−η`` elsewhere. The smallest eigenvalue
    of ``M`` (positive eigenvector, Perron–Frobenius) belongs to this block. Returns the
    eigenvalues (ascending) and the eigenvectors mapped back to the full grid, shape
    ``(2n+1, n+1)``: a quarter of the work of the full problem.
    """
    d_half = diag[n_side:]
    off = np.full(n_side, -eta)
    off[0] *= math.sqrt(2.0)
    import scipy.linalg

    lam, w = scipy.linalg.eigh_tridiagonal(d_half, off)
    u = np.empty((2 * n_side + 1, n_side + 1))
    u[n_side] = w[0]
    half = w[1:] / math.sqrt(2.0)
    u[n_side + 1 :] = half
    u[:n_side] = half[::-1]
    return lam, u


def solve_gueant(
    *,
    sigma: float,
    gamma: float,
    A: float,
    k: float,
    q_max: float,
    xi: float | None = None,
    mu: float = 0.0,
    trade_qty: float = 1.0,
    terminal_penalty: float = 0.0,
) -> GueantSolution:
    """Build and diagonalise the linear system of GLFT (2013) / Guéant (2017).

    Parameters
    ----------
    sigma, gamma, A, k, xi, mu, trade_qty
        See :func:`gueant_closed_form_depths` and the module docstring (units).
    q_max
        Inventory bound Q, a positive multiple of ``trade_qty``.
    terminal_penalty
        α in ``ℓ(q) = α q²`` (price units per quantity²), the terminal liquidation penalty;
        0 gives ``v(T) = 1``.

    References
    ----------
    Guéant (2017), arXiv:1605.01862, Sec. 3 and Th. 3.1; GLFT (2013), Theorem 1 and Sec. 3
    (the T → ∞ limit from the eigenvector of the smallest eigenvalue).
    """
    s, g, a, kk, x, m, d = _check_common(sigma, gamma, A, k, xi, mu, trade_qty)
    alpha = check_nonnegative("terminal_penalty", terminal_penalty)
    n_side = _levels(q_max, d)
    q = d * np.arange(-n_side, n_side + 1, dtype=np.float64)
    diag = kk * g * s * s * q * q / (2.0 * d) - kk * m * q / d
    eta = a * _c_xi(x, d, kk)
    off = np.full(2 * n_side, -eta)
    v_t = np.exp(-kk * alpha * q * q / d)
    if m == 0.0:
        lam, u = _even_block_eigh(diag, eta, n_side)
    else:
        import scipy.linalg

        lam, u = scipy.linalg.eigh_tridiagonal(diag, off)
    log_abs, signs = _log_eigvecs(diag, eta, lam, u, even=m == 0.0)
    coef = (signs * np.exp(log_abs)).T @ v_t
    with np.errstate(divide="ignore"):
        log_abs_coef = np.log(np.abs(coef))
    return GueantSolution(
        q_grid=q,
        diag=diag,
        offdiag=off,
        eigvals=lam,
        eigvecs=u,
        coef=coef,
        log_abs_eigvecs=log_abs,
        eigvec_signs=signs,
        log_abs_coef=log_abs_coef,
        term_signs=signs * np.sign(coef),
        v_terminal=v_t,
        offset=_depth_offset(x, d, kk),
        k=kk,
        trade_qty=d,
    )


@dataclass(frozen=True, slots=True, eq=False)
class GueantExact:
    """Exact GLFT/Guéant quoting model (see :func:`solve_gueant` for the parameters).

    ``t_end_ns`` is the horizon; ``None`` quotes the infinite-horizon (stationary) solution.
    """

    solution: GueantSolution
    t_end_ns: int | None

    def __init__(
        self,
        *,
        sigma: float,
        gamma: float,
        A: float,
        k: float,
        q_max: float,
        t_end_ns: int | None,
        xi: float | None = None,
        mu: float = 0.0,
        trade_qty: float = 1.0,
        terminal_penalty: float = 0.0,
    ) -> None:
        sol = solve_gueant(
            sigma=sigma,
            gamma=gamma,
            A=A,
            k=k,
            q_max=q_max,
            xi=xi,
            mu=mu,
            trade_qty=trade_qty,
            terminal_penalty=terminal_penalty,
        )
        object.__setattr__(self, "solution", sol)
        object.__setattr__(self, "t_end_ns", None if t_end_ns is None else int(t_end_ns))

    def quotes(self, *, q: float, t_ns: int, state: ModelState) -> Quotes:
        tau = None if self.t_end_ns is None else tau_seconds(t_ns, self.t_end_ns)
        bid, ask, bid_ok, ask_ok = self.solution.depths(q=q, tau_s=tau)
        return make_quotes(state.mid, bid, ask, bid_quoted=bid_ok, ask_quoted=ask_ok)


# --- Cartea, Jaimungal & Penalva (2015), ch. 10 -----------------------------------------------


def cjp_depths(
    *,
    tau_s: float,
    phi: float,
    terminal_penalty: float,
    k: float,
    lambda_bid: float,
    lambda_ask: float,
    q_max: int,
) -> tuple[Float64Array, Float64Array]:
    """Bid and ask depths on the grid ``-q_max..q_max`` (unit steps), ``nan`` at the bounds.

    Parameters
    ----------
    tau_s
        Time to the horizon, seconds.
    phi
        Running inventory penalty φ (price units per quantity² per second).
    terminal_penalty
        α, the terminal liquidation penalty (price units per quantity²).
    k
        κ, per price unit.
    lambda_bid, lambda_ask
        λ⁻ (sell market orders, fill our bid) and λ⁺ (buy market orders, fill our ask), per s.

    Notes
    -----
    ``h = (1/κ) ln ω``, ``ω(t) = exp(𝐀 (T−t)) z`` with ``𝐀_qq = −φκq²``,
    ``𝐀_{q,q−1} = λ⁺ e^{−1}``, ``𝐀_{q,q+1} = λ⁻ e^{−1}``, ``z_q = e^{−ακq²}``; buy depth
    ``δ⁻ = 1/κ + h(q) − h(q+1)``, sell depth ``δ⁺ = 1/κ + h(q) − h(q−1)``. Computed with dense
    ``scipy.linalg.expm`` (the matrix is not symmetric when λ⁺ ≠ λ⁻). Equals Guéant (2017)
    model B (ξ = 0, Δ = 1) with ``φ = γσ²/2``.

    References
    ----------
    Á. Cartea, S. Jaimungal, J. Penalva, "Algorithmic and High-Frequency Trading", Cambridge
    University Press, 2015, ch. 10 (Sec. 10.2).
    """
    tau = check_nonnegative("tau_s", tau_s)
    ph = check_nonnegative("phi", phi)
    al = check_nonnegative("terminal_penalty", terminal_penalty)
    kk = check_positive("k", k)
    lb = check_positive("lambda_bid", lambda_bid)
    la = check_positive("lambda_ask", lambda_ask)
    if int(q_max) != q_max or q_max < 1:
        raise InvalidArgumentError("q_max", q_max, "an integer >= 1")
    n = int(q_max)
    q = np.arange(-n, n + 1, dtype=np.float64)
    e1 = math.exp(-1.0)
    mat = np.diag(-ph * kk * q * q) + np.diag(np.full(2 * n, la * e1), -1)
    mat += np.diag(np.full(2 * n, lb * e1), 1)
    import scipy.linalg

    omega = scipy.linalg.expm(mat * tau) @ np.exp(-al * kk * q * q)
    h = np.log(omega) / kk
    bid = np.full(2 * n + 1, math.nan)
    ask = np.full(2 * n + 1, math.nan)
    bid[:-1] = 1.0 / kk + h[:-1] - h[1:]
    ask[1:] = 1.0 / kk + h[1:] - h[:-1]
    return bid, ask


@dataclass(frozen=True, slots=True)
class CarteaJaimungalPenalva:
    """Quoting model of :func:`cjp_depths` over a horizon ending at ``t_end_ns``.

    Each call computes a dense matrix exponential (a reference model, not a fast path).
    """

    phi: float
    terminal_penalty: float
    k: float
    lambda_bid: float
    lambda_ask: float
    q_max: int
    t_end_ns: int

    def __init__(
        self,
        *,
        phi: float,
        terminal_penalty: float,
        k: float,
        lambda_bid: float,
        lambda_ask: float,
        q_max: int,
        t_end_ns: int,
    ) -> None:
        object.__setattr__(self, "phi", check_nonnegative("phi", phi))
        object.__setattr__(
            self, "terminal_penalty", check_nonnegative("terminal_penalty", terminal_penalty)
        )
        object.__setattr__(self, "k", check_positive("k", k))
        object.__setattr__(self, "lambda_bid", check_positive("lambda_bid", lambda_bid))
        object.__setattr__(self, "lambda_ask", check_positive("lambda_ask", lambda_ask))
        if int(q_max) != q_max or q_max < 1:
            raise InvalidArgumentError("q_max", q_max, "an integer >= 1")
        object.__setattr__(self, "q_max", int(q_max))
        object.__setattr__(self, "t_end_ns", int(t_end_ns))

    def quotes(self, *, q: float, t_ns: int, state: ModelState) -> Quotes:
        j = _grid_index(q, 1.0, self.q_max)
        bid, ask = cjp_depths(
            tau_s=tau_seconds(t_ns, self.t_end_ns),
            phi=self.phi,
            terminal_penalty=self.terminal_penalty,
            k=self.k,
            lambda_bid=self.lambda_bid,
            lambda_ask=self.lambda_ask,
            q_max=self.q_max,
        )
        n = 2 * self.q_max
        return make_quotes(
            state.mid, float(bid[j]), float(ask[j]), bid_quoted=j < n, ask_quoted=j > 0
        )
