"""Avellaneda–Stoikov (2008) finite-horizon quotes.

Units (one convention for the whole module): prices in price units (USD, or ticks), time in
seconds, ``sigma`` in price units per sqrt(second), ``gamma`` per (price unit × quantity),
``k`` per price unit. The horizon end is an int64 ns timestamp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from invrisk.quoting.base import (
    ModelState,
    Quotes,
    check_finite,
    check_nonnegative,
    check_positive,
    make_quotes,
    tau_seconds,
)

__all__ = ["AvellanedaStoikov", "avellaneda_stoikov_depths"]


def _depths(q: float, tau_s: float, sigma: float, gamma: float, k: float) -> tuple[float, float]:
    inv_risk = gamma * sigma * sigma * tau_s
    half = 0.5 * inv_risk + math.log1p(gamma / k) / gamma
    skew = q * inv_risk
    return skew + half, half - skew


def avellaneda_stoikov_depths(
    *, q: float, tau_s: float, sigma: float, gamma: float, k: float
) -> tuple[float, float]:
    """Bid and ask depths ``(s - bid, ask - s)`` of the Avellaneda–Stoikov approximation.

    Parameters
    ----------
    q
        Inventory (quantity, long positive).
    tau_s
        Time to the horizon ``T - t`` in seconds (>= 0).
    sigma
        Mid-price volatility, price units per sqrt(second) (>= 0).
    gamma
        Risk aversion, per (price unit × quantity) (> 0).
    k
        Decay of the fill intensity ``A exp(-k δ)``, per price unit (> 0).

    Notes
    -----
    Reservation price ``r = s - q γ σ² (T-t)`` (eq. 29) and total spread
    ``γ σ² (T-t) + (2/γ) ln(1 + γ/k)`` (eq. 30), centred on ``r``:
    ``δ^b = q γ σ² (T-t) + ½γσ²(T-t) + (1/γ)ln(1+γ/k)``, ``δ^a = −q γ σ² (T-t) + …``.

    References
    ----------
    M. Avellaneda and S. Stoikov, "High-frequency trading in a limit order book",
    Quantitative Finance 8(3):217–224, 2008, eqs. (29)–(30).

    Examples
    --------
    At zero inventory and horizon the spread is ``(2/γ) ln(1 + γ/k)``; with the paper's
    simulation values γ = 0.1, k = 1.5 it is 1.29 (Sec. 3.3):

    >>> b, a = avellaneda_stoikov_depths(q=0.0, tau_s=0.0, sigma=2.0, gamma=0.1, k=1.5)
    >>> round(b + a, 2)
    1.29
    """
    return _depths(
        check_finite("q", q),
        check_nonnegative("tau_s", tau_s),
        check_nonnegative("sigma", sigma),
        check_positive("gamma", gamma),
        check_positive("k", k),
    )


@dataclass(frozen=True, slots=True)
class AvellanedaStoikov:
    """Avellaneda–Stoikov (2008) quoting model over a horizon ending at ``t_end_ns``.

    Parameters are those of :func:`avellaneda_stoikov_depths` (σ per sqrt(second), time in
    seconds). There is no inventory bound, so both sides are always quoted.
    """

    sigma: float
    gamma: float
    k: float
    t_end_ns: int

    def __init__(self, *, sigma: float, gamma: float, k: float, t_end_ns: int) -> None:
        object.__setattr__(self, "sigma", check_nonnegative("sigma", sigma))
        object.__setattr__(self, "gamma", check_positive("gamma", gamma))
        object.__setattr__(self, "k", check_positive("k", k))
        object.__setattr__(self, "t_end_ns", int(t_end_ns))

    def reservation_price(self, *, q: float, t_ns: int, state: ModelState) -> float:
        """``r = s - q γ σ² (T - t)`` (eq. 29)."""
        tau = tau_seconds(t_ns, self.t_end_ns)
        return state.mid - check_finite("q", q) * self.gamma * self.sigma**2 * tau

    def quotes(self, *, q: float, t_ns: int, state: ModelState) -> Quotes:
        tau = tau_seconds(t_ns, self.t_end_ns)
        bid_d, ask_d = _depths(check_finite("q", q), tau, self.sigma, self.gamma, self.k)
        return make_quotes(state.mid, bid_d, ask_d, bid_quoted=True, ask_quoted=True)
