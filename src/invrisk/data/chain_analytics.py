"""Implied vols and Greeks for a whole option chain, with a comparison to the exchange's numbers.

:func:`analyze_chain` takes an :class:`~invrisk.data.chains.OptionChain`, inverts its quotes
(mark, bid and ask, in coin) into implied vols with invrisk's solver, computes Greeks at the
mark vol in Deribit's units, and sums them over the chain. It is what ``invrisk chain`` prints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from invrisk._typing import Float64Array, Int8Array
from invrisk.data.chains import OptionChain
from invrisk.pricing import IVStatus, deribit_greeks, implied_vol_coin

__all__ = ["ChainAnalysis", "analyze_chain"]


@dataclass(frozen=True, slots=True)
class ChainAnalysis:
    """Per-option implied vols and Greeks of a chain, and chain totals.

    Per-option arrays (aligned with ``chain``) hold invrisk's numbers: ``iv_mark``, ``iv_bid``,
    ``iv_ask`` (decimal, NaN where no vol fits, reason in the matching ``status_*`` array of
    :class:`~invrisk.pricing.IVStatus` codes), and at ``iv_mark`` the Greeks in Deribit's units:
    ``delta``, ``delta_premium_adjusted``, ``gamma`` (per USD), ``vega`` (USD per vol point),
    ``theta`` (USD per day, Deribit's convention).

    ``totals`` sums the Greeks over the chain for one long contract of every option with a mark
    vol, and counts statuses; ``agreement`` compares ``iv_mark`` with the exchange's mark IV
    where the file has one (vol points).
    """

    chain: OptionChain
    iv_mark: Float64Array
    iv_bid: Float64Array
    iv_ask: Float64Array
    status_mark: Int8Array
    status_bid: Int8Array
    status_ask: Int8Array
    delta: Float64Array
    delta_premium_adjusted: Float64Array
    gamma: Float64Array
    vega: Float64Array
    theta: Float64Array
    totals: dict[str, float | int]
    agreement: dict[str, float | int]
    status_counts: dict[str, dict[str, int]]

    def rows(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per option (NaN as ``None``)."""
        c = self.chain
        out = []
        for i in range(len(c)):
            out.append(
                {
                    "instrument": str(c.instrument[i]),
                    "expiry_ns": int(c.expiry_ns[i]),
                    "strike": float(c.strike[i]),
                    "right": "call" if c.right[i] > 0 else "put",
                    "t_yr": _num(c.t_yr[i]),
                    "forward_usd": _num(c.forward_usd[i]),
                    "bid_coin": _num(c.bid_coin[i]),
                    "ask_coin": _num(c.ask_coin[i]),
                    "mark_coin": _num(c.mark_coin[i]),
                    "iv_mark": _num(self.iv_mark[i]),
                    "iv_bid": _num(self.iv_bid[i]),
                    "iv_ask": _num(self.iv_ask[i]),
                    "status_mark": IVStatus(int(self.status_mark[i])).name,
                    "exchange_mark_iv": _num(c.mark_iv[i]),
                    "exchange_bid_iv": _num(c.bid_iv[i]),
                    "exchange_ask_iv": _num(c.ask_iv[i]),
                    "delta": _num(self.delta[i]),
                    "delta_premium_adjusted": _num(self.delta_premium_adjusted[i]),
                    "gamma_per_usd": _num(self.gamma[i]),
                    "vega_usd_per_vol_pt": _num(self.vega[i]),
                    "theta_usd_per_day": _num(self.theta[i]),
                    "exchange_delta": _num(c.delta[i]),
                }
            )
        return out


def _num(x: float) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


def analyze_chain(chain: OptionChain) -> ChainAnalysis:
    """Implied vols of mark, bid and ask and Greeks at the mark vol for every option.

    Options whose time to expiry is not positive (``t_yr <= 0``) get status ``EXPIRED`` and NaN
    Greeks. The forward is the chain's ``forward_usd`` (Deribit's ``underlying_price``) and the
    rate 0, as Deribit prices its coin-settled options.
    """
    common: dict[str, Any] = {
        "forward": chain.forward_usd,
        "strike": chain.strike,
        "t_yr": chain.t_yr,
        "option_type": chain.right.astype(np.float64),
    }
    mark = implied_vol_coin(price_coin=chain.mark_coin, **common)
    bid = implied_vol_coin(price_coin=chain.bid_coin, **common)
    ask = implied_vol_coin(price_coin=chain.ask_coin, **common)
    iv_mark = np.asarray(mark.vol)
    has_vol = ~np.isnan(iv_mark)
    g = deribit_greeks(vol=np.where(has_vol, iv_mark, 0.0), **common)

    def masked(x: object) -> Float64Array:
        return np.where(has_vol, np.asarray(x, dtype=np.float64), np.nan)

    delta = masked(g.delta)
    delta_pa = masked(g.delta_premium_adjusted)
    gamma = masked(g.gamma)
    vega = masked(g.vega)
    theta = masked(g.theta)
    totals: dict[str, float | int] = {
        "options": len(chain),
        "with_mark_vol": int(has_vol.sum()),
        "delta": float(np.nansum(delta)),
        "delta_premium_adjusted": float(np.nansum(delta_pa)),
        "gamma_per_usd": float(np.nansum(gamma)),
        "vega_usd_per_vol_pt": float(np.nansum(vega)),
        "theta_usd_per_day": float(np.nansum(theta)),
    }
    diff_pts = np.abs(iv_mark - chain.mark_iv) * 100.0
    both = ~np.isnan(diff_pts)
    agreement: dict[str, float | int] = {"compared": int(both.sum())}
    if both.any():
        agreement["median_abs_diff_vol_pts"] = float(np.median(diff_pts[both]))
        agreement["max_abs_diff_vol_pts"] = float(np.max(diff_pts[both]))
    return ChainAnalysis(
        chain=chain,
        iv_mark=iv_mark,
        iv_bid=np.asarray(bid.vol),
        iv_ask=np.asarray(ask.vol),
        status_mark=np.asarray(mark.status),
        status_bid=np.asarray(bid.status),
        status_ask=np.asarray(ask.status),
        delta=delta,
        delta_premium_adjusted=delta_pa,
        gamma=gamma,
        vega=vega,
        theta=theta,
        totals=totals,
        agreement=agreement,
        status_counts={
            "mark": mark.reason_counts(),
            "bid": bid.reason_counts(),
            "ask": ask.reason_counts(),
        },
    )
