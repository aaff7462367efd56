"""Vectorised Monte Carlo of the Avellaneda–Stoikov (2008) market-making setting.

Units (as in :mod:`invrisk.quoting.as_model`): prices in price units, time in seconds,
``sigma_per_sqrt_s`` in price units per sqrt(second), ``A_per_s`` per second, ``k_per_price``
per price unit. Trades are of unit size (one unit of quantity per fill).

Each of ``n_steps = horizon_s / dt_s`` steps, for every path at once:

1. the strategy quotes ``(δ^b, δ^a) = depths(q, τ, s)`` with ``τ = horizon_s − t`` (``nan`` =
   side not quoted);
2. each quoted side fills independently with probability ``λ(δ) dt = A e^{−kδ} dt`` (a value
   above 1, possible for a quote through the mid, means a sure fill; nothing is clamped): a bid
   fill buys one unit at ``s − δ^b`` (``q += 1``, cash ``−= s − δ^b``), an ask fill sells one at
   ``s + δ^a``;
3. the mid moves by ``±σ√dt`` with probability ½ each (``mid_process="binomial"``, the paper's
   choice) or by ``σ√dt·Z``, ``Z ~ N(0, 1)`` (``"gaussian"``).

Profit is ``X_T + q_T S_T``. The random numbers of each step are drawn as one block
``rng.random((3, n_paths))`` (rows: bid fill, ask fill, mid move; ``"gaussian"`` replaces the
third row by ``rng.standard_normal(n_paths)`` drawn after the block), so a run is fixed by its
seed and path ``i`` of a run only depends on column ``i`` of the blocks.

References
----------
M. Avellaneda and S. Stoikov, "High-frequency trading in a limit order book",
Quantitative Finance 8(3):217–224, 2008, Sec. 3.3 (simulation study).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from invrisk._typing import Float64Array
from invrisk.errors import InvalidArgumentError
from invrisk.quoting.as_model import AvellanedaStoikov, avellaneda_stoikov_depths
from invrisk.quoting.base import check_finite, check_nonnegative, check_positive
from invrisk.quoting.glft import GueantClosedForm, gueant_closed_form_depths

__all__ = [
    "DepthFunction",
    "MidProcess",
    "SimulationResult",
    "gueant_closed_form_strategy",
    "inventory_strategy",
    "simulate",
    "symmetric_strategy",
]

MidProcess = Literal["binomial", "gaussian"]

DepthFunction = Callable[[Float64Array, float, Float64Array], tuple[Float64Array, Float64Array]]
"""``depths(q, tau_s, mid) -> (delta_bid, delta_ask)``: arrays shaped like ``q``; ``nan`` marks a
side that is not quoted. ``q`` is the inventory of every path, ``tau_s`` the time to the horizon
in seconds, ``mid`` the mid price of every path."""


# --- strategies -------------------------------------------------------------------------------


def symmetric_strategy(spread: float) -> DepthFunction:
    """Fixed total ``spread`` (price units) centred on the mid: ``δ^b = δ^a = spread / 2``.

    This is the paper's "symmetric" benchmark (Sec. 3.3), which ignores the inventory.
    """
    half = 0.5 * check_finite("spread", spread)

    def depths(
        q: Float64Array, tau_s: float, mid: Float64Array
    ) -> tuple[Float64Array, Float64Array]:
        d = np.full(q.shape, half)
        return d, d

    return depths


def _linear_depths(
    bid0: float, bid_slope: float, ask0: float, ask_slope: float
) -> Callable[[Float64Array], tuple[Float64Array, Float64Array]]:
    def f(q: Float64Array) -> tuple[Float64Array, Float64Array]:
        return bid0 + bid_slope * q, ask0 + ask_slope * q

    return f


def _as_depths(model: AvellanedaStoikov) -> DepthFunction:
    sigma, gamma, k = model.sigma, model.gamma, model.k

    def depths(
        q: Float64Array, tau_s: float, mid: Float64Array
    ) -> tuple[Float64Array, Float64Array]:
        # avellaneda_stoikov_depths is scalar and affine in q: evaluate it at q = 0 and q = 1.
        b0, a0 = avellaneda_stoikov_depths(q=0.0, tau_s=tau_s, sigma=sigma, gamma=gamma, k=k)
        b1, a1 = avellaneda_stoikov_depths(q=1.0, tau_s=tau_s, sigma=sigma, gamma=gamma, k=k)
        return _linear_depths(b0, b1 - b0, a0, a1 - a0)(q)

    return depths


def _bounded(
    lin: Callable[[Float64Array], tuple[Float64Array, Float64Array]], q_max: float
) -> DepthFunction:
    def depths(
        q: Float64Array, tau_s: float, mid: Float64Array
    ) -> tuple[Float64Array, Float64Array]:
        bid, ask = lin(q)
        return np.where(q < q_max, bid, np.nan), np.where(q > -q_max, ask, np.nan)

    return depths


def _check_unit_trade(trade_qty: float) -> None:
    if trade_qty != 1.0:
        raise InvalidArgumentError("trade_qty", trade_qty, "1 (the simulator trades unit size)")


def gueant_closed_form_strategy(
    *,
    sigma: float,
    gamma: float,
    A: float,
    k: float,
    q_max: float,
    xi: float | None = None,
    mu: float = 0.0,
) -> DepthFunction:
    """GLFT/Guéant closed-form depths (:func:`gueant_closed_form_depths`, unit trade size),
    vectorised over ``q``; no bid at ``q >= q_max``, no ask at ``q <= -q_max``."""
    b0, a0 = gueant_closed_form_depths(q=0.0, sigma=sigma, gamma=gamma, A=A, k=k, xi=xi, mu=mu)
    b1, a1 = gueant_closed_form_depths(q=1.0, sigma=sigma, gamma=gamma, A=A, k=k, xi=xi, mu=mu)
    return _bounded(_linear_depths(b0, b1 - b0, a0, a1 - a0), check_positive("q_max", q_max))


def inventory_strategy(model: object) -> DepthFunction:
    """Vectorised depth function of an inventory-aware quoting model.

    Parameters
    ----------
    model
        :class:`AvellanedaStoikov` (eqs. 29–30, evaluated with the simulator's ``τ``; the
        model's ``t_end_ns`` is not used), :class:`GueantClosedForm` (unit ``trade_qty``; no
        bid at ``q_max``, no ask at ``-q_max``), or any object with a vectorised method
        ``depths(q, tau_s, mid) -> (delta_bid, delta_ask)``.
    """
    if isinstance(model, AvellanedaStoikov):
        return _as_depths(model)
    if isinstance(model, GueantClosedForm):
        _check_unit_trade(model.trade_qty)
        c, w, b = model.c, model.w, model.b
        # δ^b = c + w (q − b + ½), δ^a = c − w (q − b − ½)
        lin = _linear_depths(c + w * (0.5 - b), w, c + w * (0.5 + b), -w)
        return _bounded(lin, model.q_max)
    method = getattr(model, "depths", None)
    if callable(method):
        fn: DepthFunction = method
        return fn
    raise InvalidArgumentError(
        "model",
        type(model).__name__,
        "AvellanedaStoikov, GueantClosedForm or an object with depths(q, tau_s, mid)",
    )


# --- result -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class SimulationResult:
    """Per-path outcome of :func:`simulate`.

    Attributes
    ----------
    profit
        ``X_T + q_T S_T`` per path, price units × quantity.
    final_q
        ``q_T`` per path (quantity).
    avg_spread
        Time average per path of the quoted spread ``δ^b + δ^a`` over the steps where both
        sides were quoted (``nan`` if there were none), price units.
    """

    profit: Float64Array
    final_q: Float64Array
    avg_spread: Float64Array

    def table(self) -> dict[str, float]:
        """The paper-style row: mean spread, mean/std profit, mean/std final inventory.

        Standard deviations are sample standard deviations (``ddof=1``) across paths; the
        spread is the mean over paths of ``avg_spread`` (paths with no two-sided quote are
        skipped).
        """
        ddof = 1 if self.profit.size > 1 else 0
        return {
            "spread": float(np.nanmean(self.avg_spread)),
            "profit_mean": float(np.mean(self.profit)),
            "profit_std": float(np.std(self.profit, ddof=ddof)),
            "q_mean": float(np.mean(self.final_q)),
            "q_std": float(np.std(self.final_q, ddof=ddof)),
        }


# --- simulator --------------------------------------------------------------------------------


def _n_steps(horizon_s: float, dt_s: float) -> int:
    n = round(horizon_s / dt_s)
    if n < 1 or abs(n * dt_s - horizon_s) > 1e-9 * horizon_s:
        raise InvalidArgumentError("dt_s", dt_s, f"a divisor of horizon_s={horizon_s}")
    return int(n)


def _check_depth_arrays(bid: object, ask: object, n_paths: int) -> None:
    for name, arr in (("delta_bid", bid), ("delta_ask", ask)):
        if not isinstance(arr, np.ndarray) or arr.shape != (n_paths,):
            shape = getattr(arr, "shape", type(arr).__name__)
            raise InvalidArgumentError(
                "depths", f"{name} of shape {shape}", f"an array of shape ({n_paths},)"
            )


def simulate(
    depths: DepthFunction,
    *,
    n_paths: int,
    s0: float,
    sigma_per_sqrt_s: float,
    A_per_s: float,
    k_per_price: float,
    horizon_s: float,
    dt_s: float,
    seed: int,
    mid_process: MidProcess = "binomial",
) -> SimulationResult:
    """Simulate ``n_paths`` market-making paths of the AS (2008) setting at once.

    Parameters
    ----------
    depths
        Strategy, see :data:`DepthFunction` (e.g. :func:`inventory_strategy`,
        :func:`symmetric_strategy`).
    n_paths
        Number of paths (>= 1).
    s0
        Initial mid, price units.
    sigma_per_sqrt_s
        Mid volatility, price units per sqrt(second) (>= 0).
    A_per_s, k_per_price
        Fill intensity ``λ(δ) = A e^{−kδ}``: ``A`` per second (> 0), ``k`` per price unit (> 0).
    horizon_s, dt_s
        Horizon ``T`` and step, seconds; ``horizon_s / dt_s`` must be an integer.
    seed
        Seed of ``numpy.random.default_rng`` (int >= 0); equal seeds give equal results.
    mid_process
        ``"binomial"`` (±σ√dt, the paper's) or ``"gaussian"``.

    Notes
    -----
    The step order and the random-number layout are described in the module docstring.
    Paper values (Sec. 3.3): ``s0=100, sigma_per_sqrt_s=2, A_per_s=140, k_per_price=1.5,
    horizon_s=1, dt_s=0.005, n_paths=1000``.
    """
    if isinstance(n_paths, bool) or not isinstance(n_paths, (int, np.integer)) or n_paths < 1:
        raise InvalidArgumentError("n_paths", n_paths, "an integer >= 1")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidArgumentError("seed", seed, "an integer >= 0")
    if mid_process not in ("binomial", "gaussian"):
        raise InvalidArgumentError("mid_process", mid_process, "'binomial' or 'gaussian'")
    if not callable(depths):
        raise InvalidArgumentError("depths", depths, "a callable depths(q, tau_s, mid)")
    s_start = check_finite("s0", s0)
    sigma = check_nonnegative("sigma_per_sqrt_s", sigma_per_sqrt_s)
    a = check_positive("A_per_s", A_per_s)
    k = check_positive("k_per_price", k_per_price)
    horizon = check_positive("horizon_s", horizon_s)
    dt = check_positive("dt_s", dt_s)
    n_steps = _n_steps(horizon, dt)
    n = int(n_paths)

    rng = np.random.default_rng(int(seed))
    step = sigma * math.sqrt(dt)
    a_dt = a * dt
    mid = np.full(n, s_start)
    q = np.zeros(n)
    cash = np.zeros(n)
    spread_sum = np.zeros(n)
    spread_count = np.zeros(n)
    for i in range(n_steps):
        tau = horizon - i * dt
        bid, ask = depths(q, tau, mid)
        _check_depth_arrays(bid, ask, n)
        u = rng.random((3, n))
        with np.errstate(over="ignore", invalid="ignore"):
            # nan depth -> nan probability -> comparison False: the side is not quoted.
            buy = u[0] < a_dt * np.exp(-k * bid)
            sell = u[1] < a_dt * np.exp(-k * ask)
        both = np.isfinite(bid) & np.isfinite(ask)
        spread_sum += np.where(both, bid + ask, 0.0)
        spread_count += both
        cash -= np.where(buy, mid - bid, 0.0)
        cash += np.where(sell, mid + ask, 0.0)
        q += buy
        q -= sell
        if mid_process == "binomial":
            mid += np.where(u[2] < 0.5, step, -step)
        else:
            mid += step * rng.standard_normal(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        avg_spread = np.where(spread_count > 0, spread_sum / spread_count, np.nan)
    return SimulationResult(profit=cash + q * mid, final_q=q, avg_spread=avg_spread)
