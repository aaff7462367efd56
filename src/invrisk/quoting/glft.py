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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg

from invrisk._typing import Float64Array
from invrisk.errors import ConvergenceError, InvalidArgumentError
from invrisk.quoting.base import (
    ModelState,
    Quotes,
    check_finite,
    check_nonnegative,
    check_positive,
    make_quotes,
    tau_seconds,
)

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

# Below 1e4·eps relative to the eigen sum's scale, log-ratios of v lose more than ~1e-8.
_TAIL_REL_TOL = 1e4 * float(np.finfo(np.float64).eps)


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
    v_terminal: Float64Array
    offset: float
    k: float
    trade_qty: float

    @property
    def n_side(self) -> int:
        return (len(self.q_grid) - 1) // 2

    def value(self, *, tau_s: float, method: Method = "eigen") -> Float64Array:
        """``v(T − τ)`` on the grid, scaled by ``e^{λ_min τ}`` (quotes use ratios only).

        ``method="expm"`` is the independent dense ``scipy.linalg.expm`` reference.
        """
        tau = check_nonnegative("tau_s", tau_s)
        lam0 = float(self.eigvals[0])
        if method == "eigen":
            w = np.exp(-(self.eigvals - lam0) * tau) * self.coef
            out: Float64Array = self.eigvecs @ w
            return out
        if method == "expm":
            m = np.diag(self.diag - lam0) + np.diag(self.offdiag, 1) + np.diag(self.offdiag, -1)
            res: Float64Array = scipy.linalg.expm(-m * tau) @ self.v_terminal
            return res
        raise InvalidArgumentError("method", method, "'eigen' or 'expm'")

    def ground_state(self) -> Float64Array:
        """Eigenvector of the smallest eigenvalue, signed positive (the τ → ∞ limit of v)."""
        f: Float64Array = self.eigvecs[:, 0]
        return f if f.sum() > 0 else -f

    def depths_from_value(self, v: Float64Array, j: int) -> tuple[float, float, bool, bool]:
        """Bid/ask depths at grid index ``j`` from ``v`` (``nan`` for a withdrawn side)."""
        n = len(v) - 1
        bid_ok = j < n
        ask_ok = j > 0
        vj = math.log(float(v[j]))
        bid = (vj - math.log(float(v[j + 1]))) / self.k + self.offset if bid_ok else math.nan
        ask = (vj - math.log(float(v[j - 1]))) / self.k + self.offset if ask_ok else math.nan
        return bid, ask, bid_ok, ask_ok

    def depths(self, *, q: float, tau_s: float | None) -> tuple[float, float, bool, bool]:
        """Exact depths at inventory ``q``, ``tau_s`` seconds before the horizon.

        ``tau_s=None`` is the infinite horizon (ground state). Only the three needed rows of
        ``U`` are used, so one call costs O(levels).
        """
        j = _grid_index(q, self.trade_qty, self.n_side)
        lo, hi = max(j - 1, 0), min(j + 2, len(self.q_grid))
        if tau_s is None:
            w = np.zeros(len(self.eigvals))
            w[0] = 1.0
            v = np.abs(self.eigvecs[lo:hi, 0])
        else:
            tau = check_nonnegative("tau_s", tau_s)
            w = np.exp(-(self.eigvals - self.eigvals[0]) * tau) * self.coef
            v = self.eigvecs[lo:hi] @ w
        # The eigen sum has an absolute error of about eps·√n·‖w‖ (cancellation), so in the far
        # inventory tail, where v is tiny, its log-ratios are wrong. There the finite-horizon
        # solution falls back to the dense matrix exponential (no cancellation: exp(−Mτ) is a
        # nonnegative matrix); the stationary one raises.
        floor = _TAIL_REL_TOL * math.sqrt(len(w)) * float(np.linalg.norm(w))
        if float(np.min(v)) <= floor:
            if tau_s is None:
                raise ConvergenceError(
                    f"stationary quotes at q={q} are below the eigensolver's precision "
                    "(v_q too small); use a finite horizon or a smaller q_max"
                )
            with np.errstate(divide="ignore"):
                return self.depths_from_value(self.value(tau_s=tau_s, method="expm"), j)
        full = np.full(len(self.q_grid), math.nan)
        full[lo:hi] = v
        with np.errstate(divide="ignore"):
            return self.depths_from_value(full, j)


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
        lam, u = scipy.linalg.eigh_tridiagonal(diag, off)
    return GueantSolution(
        q_grid=q,
        diag=diag,
        offdiag=off,
        eigvals=lam,
        eigvecs=u,
        coef=u.T @ v_t,
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
