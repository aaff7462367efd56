"""Select and weight the quotes a volatility surface is fitted to, with a reason for each rejection.

From a normalised :class:`~invrisk.data.chains.OptionChain`, one :class:`SmileQuotes` per expiry
holds the out-of-the-money options (calls above the forward, puts at or below it: the side whose
price carries the volatility information without the intrinsic value), their log-moneyness
k = ln(K/F), the target implied vol and a weight. Quotes are never silently dropped: every
rejected option is counted under its reason.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from invrisk._typing import Float64Array
from invrisk.errors import InvalidArgumentError
from invrisk.option_chain import OptionChain
from invrisk.pricing import coin_greeks, implied_vol_coin
from invrisk.units import NS_PER_MINUTE, ns_to_iso

__all__ = ["REJECTION_REASONS", "SmileQuotes", "Target", "Weighting", "smile_quotes"]

Target = Literal["mark", "mid"]
Weighting = Literal["uniform", "spread", "vega"]

REJECTION_REASONS = {
    "in_the_money": "in the money: the out-of-the-money option at the same strike is used",
    "no_price": "no target price (no mark, or no two-sided market for a mid)",
    "crossed": "crossed market: bid above ask",
    "no_vol": "no implied vol fits the price (below intrinsic, above the maximum, ...)",
    "too_cheap": "half a tick moves the implied vol by more than max_tick_vol_error",
    "zero_bid": "no bid (a mid needs both sides)",
    "wide_spread": "bid-ask spread in vol wider than max_spread_vol",
    "stale": "quote older than max_staleness_ns before the chain's latest valuation time",
}
"""Why a quote was not used, by reason code."""


@dataclass(frozen=True, slots=True)
class SmileQuotes:
    """The quotes of one expiry that a smile is fitted to.

    Attributes
    ----------
    expiry_ns, t_yr, forward_usd
        Expiry (int ns), years to it (ACT/365) and the forward the options are priced on.
    strike, log_moneyness
        Per quote: strike (USD) and k = ln(K/F).
    iv
        Target implied vol (decimal) per quote.
    weight
        Relative weight of each quote's squared vol error.
    iv_bid, iv_ask, iv_mark
        invrisk's implied vols of the quotes' bid, ask and mark (NaN where absent).
    rejected
        Number of the expiry's options rejected, by reason code (:data:`REJECTION_REASONS`).
    """

    expiry_ns: int
    t_yr: float
    forward_usd: float
    strike: Float64Array
    log_moneyness: Float64Array
    iv: Float64Array
    weight: Float64Array
    iv_bid: Float64Array
    iv_ask: Float64Array
    iv_mark: Float64Array
    rejected: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.strike.shape[0])


def smile_quotes(
    chain: OptionChain,
    *,
    target: Target = "mark",
    weighting: Weighting | None = None,
    tick_coin: float = 1e-4,
    max_tick_vol_error: float = 0.01,
    max_spread_vol: float = 0.25,
    max_staleness_ns: int | None = 15 * NS_PER_MINUTE,
) -> tuple[list[SmileQuotes], dict[str, str]]:
    """Per-expiry quotes to fit, and the expiries that could not be used (with why).

    Parameters
    ----------
    chain
        A chain of one currency (use ``chain.for_currency``).
    target
        ``"mark"``: the exchange's mark price (Deribit's own smooth fair value, inside the
        market; falls back to the bid/ask mid where a row has no mark). ``"mid"``: the middle
        of bid and ask, which needs both sides.
    weighting
        ``"uniform"`` (every quote's vol error counts the same), ``"spread"`` (1 / spread in
        vol², with the spread floored at 0.5 vol points) or ``"vega"`` (proportional to vega,
        so that errors are measured roughly in price). Default: uniform for marks, spread for
        mids.
    tick_coin
        Price tick in coin (Deribit: 0.0001).
    max_tick_vol_error
        A quote is too cheap to pin the vol down when half a tick moves its implied vol by more
        than this (decimal, default 1 vol point): deep out-of-the-money options priced at one
        or two ticks carry no volatility information.
    max_spread_vol
        With ``target="mid"``, quotes whose bid-ask spread in vol exceeds this are rejected.
    max_staleness_ns
        Quotes whose own valuation time (``chain.valuation_ns``: the row's ticker time in a
        sweep) is more than this before the chain's latest one are rejected as stale (None:
        keep all). Default 15 minutes; a sweep of a whole Deribit chain takes 2-3 minutes.

    Returns
    -------
    (list[SmileQuotes], dict[str, str])
        The usable expiries in time order, and ``{expiry ISO: reason}`` for expiries that have
        expired, have no valid forward, or keep fewer than 5 quotes.
    """
    if target not in ("mark", "mid"):
        raise InvalidArgumentError("target", target, "'mark' or 'mid'")
    if weighting is None:
        weighting = "uniform" if target == "mark" else "spread"
    if weighting not in ("uniform", "spread", "vega"):
        raise InvalidArgumentError("weighting", weighting, "'uniform', 'spread' or 'vega'")
    if not (math.isfinite(tick_coin) and tick_coin > 0.0):
        raise InvalidArgumentError("tick_coin", tick_coin, "a tick size > 0")
    if max_staleness_ns is not None and not max_staleness_ns >= 0:
        raise InvalidArgumentError("max_staleness_ns", max_staleness_ns, "ns >= 0 or None")
    stale = (
        np.zeros(len(chain), dtype=bool)
        if max_staleness_ns is None or len(chain) == 0
        else chain.valuation_ns < chain.valuation_ns.max() - max_staleness_ns
    )
    currencies = chain.currencies()
    if len(currencies) > 1:
        raise InvalidArgumentError(
            "chain", f"currencies {list(currencies)}", "a chain of one currency (for_currency)"
        )
    out: list[SmileQuotes] = []
    skipped: dict[str, str] = {}
    for expiry in chain.expiries():
        sel = chain.expiry_ns == expiry
        label = ns_to_iso(int(expiry))
        t_yr = chain.t_yr[sel]
        fwd = chain.forward_usd[sel]
        if not np.all(t_yr > 0.0):
            skipped[label] = "expired (time to expiry <= 0 at the valuation time)"
            continue
        if not np.all(np.isfinite(fwd) & (fwd > 0.0)):
            skipped[label] = "no valid forward (underlying price missing or <= 0)"
            continue
        smile = _one_expiry(
            chain,
            sel,
            int(expiry),
            target,
            weighting,
            tick_coin,
            max_tick_vol_error,
            max_spread_vol,
            stale[sel],
        )
        if len(smile) < 5:
            reasons = ", ".join(f"{k}={v}" for k, v in smile.rejected.items())
            skipped[label] = f"only {len(smile)} usable quotes (rejected: {reasons})"
            continue
        out.append(smile)
    return out, skipped


def _one_expiry(
    chain: OptionChain,
    sel: np.ndarray,
    expiry: int,
    target: Target,
    weighting: Weighting,
    tick: float,
    max_tick_vol_error: float,
    max_spread_vol: float,
    stale: np.ndarray,
) -> SmileQuotes:
    strike = chain.strike[sel]
    right = chain.right[sel].astype(np.float64)
    # One time and forward per expiry: the median over its rows (a sweep's rows differ by the
    # seconds the collector took, which is far below the fit's resolution).
    t_yr = float(np.median(chain.t_yr[sel]))
    fwd = float(np.median(chain.forward_usd[sel]))
    common = {"forward": fwd, "strike": strike, "t_yr": t_yr, "option_type": right}
    iv_bid = np.asarray(implied_vol_coin(price_coin=chain.bid_coin[sel], **common).vol)
    iv_ask = np.asarray(implied_vol_coin(price_coin=chain.ask_coin[sel], **common).vol)
    mark = implied_vol_coin(price_coin=chain.mark_coin[sel], **common)
    iv_mark = np.asarray(mark.vol)
    mid_price = 0.5 * (chain.bid_coin[sel] + chain.ask_coin[sel])
    iv_mid = np.asarray(implied_vol_coin(price_coin=mid_price, **common).vol)

    reasons = np.full(strike.shape[0], "", dtype=object)
    k = np.log(strike / fwd)
    otm = np.where(k > 0.0, right > 0, right < 0)
    reasons[~otm] = "in_the_money"
    crossed = chain.bid_coin[sel] > chain.ask_coin[sel]
    _mark_reason(reasons, stale, "stale")
    _mark_reason(reasons, crossed, "crossed")
    if target == "mark":
        price = np.where(np.isnan(chain.mark_coin[sel]), mid_price, chain.mark_coin[sel])
        iv = np.where(np.isnan(chain.mark_coin[sel]), iv_mid, iv_mark)
        _mark_reason(reasons, np.isnan(price), "no_price")
    else:
        price = mid_price
        iv = iv_mid
        _mark_reason(reasons, np.isnan(chain.bid_coin[sel]), "zero_bid")
        _mark_reason(reasons, np.isnan(price), "no_price")
        _mark_reason(reasons, (iv_ask - iv_bid) > max_spread_vol, "wide_spread")
    _mark_reason(reasons, np.isnan(iv), "no_vol")
    g = coin_greeks(vol=np.where(np.isnan(iv), 0.5, iv), **common)
    vega_coin = np.asarray(g.vega_coin)
    with np.errstate(divide="ignore", over="ignore"):  # vega can underflow to 0 or subnormal
        tick_vol = 0.5 * tick / vega_coin
    _mark_reason(reasons, ~(tick_vol <= max_tick_vol_error), "too_cheap")

    use = reasons == ""
    if weighting == "uniform":
        weight = np.ones(int(use.sum()))
    elif weighting == "spread":
        spread = (iv_ask - iv_bid)[use]
        weight = 1.0 / np.maximum(np.where(np.isfinite(spread), spread, 0.05), 0.005) ** 2
    else:
        weight = vega_coin[use] / np.max(vega_coin[use]) if use.any() else np.ones(0)
    counts = Counter(str(r) for r in reasons[~use])
    order = np.argsort(k[use])
    return SmileQuotes(
        expiry_ns=expiry,
        t_yr=t_yr,
        forward_usd=fwd,
        strike=strike[use][order],
        log_moneyness=k[use][order],
        iv=iv[use][order],
        weight=weight[order],
        iv_bid=iv_bid[use][order],
        iv_ask=iv_ask[use][order],
        iv_mark=iv_mark[use][order],
        rejected=dict(sorted(counts.items())),
    )


def _mark_reason(reasons: np.ndarray, mask: np.ndarray, code: str) -> None:
    """Record ``code`` for rows in ``mask`` that have no reason yet (first reason wins)."""
    reasons[mask & (reasons == "")] = code
