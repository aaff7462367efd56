"""Simple built-in strategies: Avellaneda–Stoikov on rolling sessions, a grid, and holding.

- :class:`AvellanedaStoikovMM` — :class:`~invrisk.quoting.AvellanedaStoikov` (2008) with fixed,
  user-given σ and k, on a finite horizon that restarts every ``session_ns``.
- :class:`GridMM` — ``n_levels`` quotes per side ``step_ticks`` apart around the mid, fixed
  size, shifted against the inventory.
- :class:`Hold` — never quotes; the passive baseline, optionally after one hedge to a target
  position.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from invrisk.errors import InvalidArgumentError
from invrisk.quoting.as_model import AvellanedaStoikov
from invrisk.quoting.base import check_nonnegative, check_positive
from invrisk.quoting.shaping import lots_down
from invrisk.strategies.market_maker import (
    QuotingMarketMaker,
    Reference,
    check_count,
    reference_price,
)
from invrisk.strategy import (
    AccountView,
    Context,
    Decision,
    Fill,
    HedgeIntent,
    MarketView,
    QuoteLevel,
    QuoteTarget,
)
from invrisk.units import NS_PER_DAY, bps_to_decimal

if TYPE_CHECKING:
    from invrisk.strategies.config import ASConfig, GridConfig, HoldConfig

__all__ = ["AvellanedaStoikovMM", "GridMM", "Hold"]

_GRID_TOL = 1e-9


class AvellanedaStoikovMM(QuotingMarketMaker):
    """Avellaneda–Stoikov (2008) quotes on a horizon that restarts every ``session_ns``.

    The paper's agent maximises the CARA utility of its wealth at a fixed terminal time ``T``;
    its reservation price ``s − q γ σ² (T − t)`` and spread ``γ σ² (T − t) + (2/γ) ln(1 + γ/k)``
    shrink to the risk-neutral ones as ``t → T``. A market maker runs forever, so the horizon
    here is a rolling session: ``T`` is the next multiple of ``session_ns`` since the epoch
    (UTC; 1 day gives 00:00 UTC, 8 h the perpetual funding times), and at ``t = T`` a new
    session starts with ``T' = T + session_ns``. The inventory is carried across sessions
    (nothing is liquidated at ``T``): the skew is largest at the start of a session and fades
    towards its end, a documented artefact of applying the finite-horizon formula on a rolling
    window. The paper has no inventory bound; ``q_max`` is enforced by the sizing.

    Parameters
    ----------
    sigma
        Mid-price volatility, price units per sqrt(second) (>= 0).
    gamma
        Risk aversion, per (price unit × contract) (> 0).
    k
        Decay of the fill intensity ``A exp(−k δ)``, per price unit (> 0).
    order_qty, q_max, instrument, eta, min_spread_ticks, requote_ticks, reference, post_only
        As in :class:`~invrisk.strategies.market_maker.QuotingMarketMaker`.
    session_ns
        Session length, ns (> 0; default 1 day).

    References
    ----------
    M. Avellaneda and S. Stoikov, "High-frequency trading in a limit order book",
    Quantitative Finance 8(3):217–224, 2008, eqs. (29)–(30).
    """

    def __init__(
        self,
        *,
        sigma: float,
        gamma: float,
        k: float,
        order_qty: float,
        q_max: float,
        session_ns: int = NS_PER_DAY,
        instrument: int = 0,
        eta: float = 0.0,
        min_spread_ticks: int = 1,
        requote_ticks: int = 0,
        reference: Reference = "mid",
        post_only: bool = True,
    ) -> None:
        super().__init__(
            model=None,
            order_qty=order_qty,
            q_max=q_max,
            instrument=instrument,
            eta=eta,
            min_spread_ticks=min_spread_ticks,
            requote_ticks=requote_ticks,
            reference=reference,
            post_only=post_only,
        )
        self.sigma = check_nonnegative("sigma", sigma)
        self.gamma = check_positive("gamma", gamma)
        self.k = check_positive("k", k)
        self.session_ns = check_count("session_ns", session_ns, 1)
        self.t_end_ns = -1

    @classmethod
    def from_config(cls, cfg: ASConfig) -> AvellanedaStoikovMM:
        """Build from a validated :class:`~invrisk.strategies.config.ASConfig`."""
        return cfg.build()

    def session_end(self, t_ns: int) -> int:
        """End of the session containing ``t_ns``: the next multiple of ``session_ns``."""
        return (t_ns // self.session_ns + 1) * self.session_ns

    def on_start(self, ctx: Context) -> None:
        super().on_start(ctx)
        self.model = None
        self.t_end_ns = -1

    def decide(self, view: MarketView, account: AccountView) -> Decision:
        """Start a new session when ``t_ns`` reaches its end, then quote."""
        if view.t_ns >= self.t_end_ns:
            self.t_end_ns = self.session_end(view.t_ns)
            self.model = AvellanedaStoikov(
                sigma=self.sigma, gamma=self.gamma, k=self.k, t_end_ns=self.t_end_ns
            )
        return Decision(quotes=(self._target(view, account, self.model),))


class GridMM:
    """``n_levels`` quotes per side, ``step_ticks`` apart, shifted against the inventory.

    With ``c = mid / tick − skew_ticks_per_unit · q`` (ticks; long inventory moves the grid
    down, so the asks get closer to the touch), the bids are at ticks
    ``floor(c − step/2) − j·step`` and the asks at ``ceil(c + step/2) + j·step``,
    ``j = 0 … n_levels − 1``: ``step`` ticks apart on the grid, the two best one ``step`` (or
    ``step + 1``) apart. If the best bid would be at or above the best ask of the book (or the
    best ask at or below the best bid) the whole side is shifted back to one tick inside the
    touch, keeping the spacing. Every level is ``order_qty`` contracts; a side has only as many
    levels as fit before ``|q|`` would exceed ``q_max`` if all of them filled (none when
    ``|q| >= q_max``), and, as in
    :class:`~invrisk.strategies.market_maker.QuotingMarketMaker`, levels that are not repeats
    of the previous target are only added while ``|q| + live orders of the side + new levels
    <= q_max`` (the orders they replace may still fill). Both sides are pulled when the book is
    not two-sided.

    Parameters
    ----------
    n_levels
        Levels per side (>= 1).
    step_ticks
        Distance between consecutive levels of a side, ticks (>= 1).
    order_qty
        Size of every level, contracts (> 0; rounded down to the lot, at least one lot).
    q_max
        Inventory limit, contracts (> 0).
    skew_ticks_per_unit
        Shift of the grid per contract of inventory, ticks (>= 0; default 0).
    instrument
        Index of the instrument (default 0).
    reference
        ``"mid"`` (default) or ``"microprice"``: the centre before the skew.
    post_only
        Send post-only quotes (default True).
    """

    def __init__(
        self,
        *,
        n_levels: int,
        step_ticks: int,
        order_qty: float,
        q_max: float,
        skew_ticks_per_unit: float = 0.0,
        instrument: int = 0,
        reference: Reference = "mid",
        post_only: bool = True,
    ) -> None:
        self.n_levels = check_count("n_levels", n_levels, 1)
        self.step_ticks = check_count("step_ticks", step_ticks, 1)
        self.order_qty = check_positive("order_qty", order_qty)
        self.q_max = check_positive("q_max", q_max)
        self.skew_ticks_per_unit = check_nonnegative("skew_ticks_per_unit", skew_ticks_per_unit)
        self.instrument = check_count("instrument", instrument, 0)
        if reference not in ("mid", "microprice"):
            raise InvalidArgumentError("reference", reference, "'mid' or 'microprice'")
        self.reference: Reference = reference
        self.post_only = bool(post_only)
        self.tick_size = math.nan
        self.level_qty = math.nan
        self._empty = QuoteTarget(self.instrument, (), (), self.post_only)
        self._reset()

    @classmethod
    def from_config(cls, cfg: GridConfig) -> GridMM:
        """Build from a validated :class:`~invrisk.strategies.config.GridConfig`."""
        return cfg.build()

    def on_start(self, ctx: Context) -> None:
        """Read the tick and lot; the level size is ``order_qty`` rounded down to the lot."""
        if self.instrument >= len(ctx.instruments):
            raise InvalidArgumentError(
                "instrument", self.instrument, f"an index < {len(ctx.instruments)}"
            )
        inst = ctx.instruments[self.instrument]
        self.tick_size = float(inst.tick_size)
        lot = float(inst.lot_size)
        n = lots_down(self.order_qty, lot)
        if n < 1:
            raise InvalidArgumentError("order_qty", self.order_qty, f"at least one lot ({lot})")
        self.level_qty = n * lot
        self._reset()

    def _reset(self) -> None:
        self.last_target: QuoteTarget | None = None
        self._prev_bids: frozenset[int] = frozenset()
        self._prev_asks: frozenset[int] = frozenset()
        self._bid_filled = False
        self._ask_filled = False

    def on_fill(self, fill: Fill) -> None:
        """Note the side filled (the position itself is read from the account)."""
        if fill.instrument == self.instrument:
            if fill.side > 0:
                self._bid_filled = True
            else:
                self._ask_filled = True

    def _n_side(self, room: float) -> int:
        if room <= 0.0:
            return 0
        return min(self.n_levels, math.floor(room / self.level_qty + _GRID_TOL))

    def _in_flight(
        self, ticks: list[int], prev: frozenset[int], live: float, room: float, filled: bool
    ) -> list[int]:
        """Keep the levels repeated from the previous target; add new ones while they fit.

        A level of the previous target is presumed still resting when no order of the side
        filled since and at least the previous target's quantity is live; new levels need
        ``|q| + live + new <= q_max`` (the orders being replaced may still fill).
        """
        size = self.level_qty
        whole = not filled and live >= len(prev) * size * (1.0 - 1e-9)
        free = room - live
        n_new = math.floor(free / size + _GRID_TOL) if free > 0.0 else 0
        out = []
        for t in ticks:
            if whole and t in prev:
                out.append(t)
            elif n_new > 0:
                out.append(t)
                n_new -= 1
        return out

    def decide(self, view: MarketView, account: AccountView) -> Decision:
        """The grid for the current mid and inventory (see the class docstring)."""
        if math.isnan(self.tick_size):
            raise InvalidArgumentError("decide", "called before on_start", "on_start(ctx) first")
        iv = view.instruments[self.instrument]
        bb, ba = iv.best_bid, iv.best_ask
        if not bb < ba:
            self._prev_bids = self._prev_asks = frozenset()
            self._bid_filled = self._ask_filled = False
            self.last_target = self._empty
            return Decision(quotes=(self._empty,))
        tick = self.tick_size
        inv = 1.0 / tick
        q = float(account.position[self.instrument])
        ref = reference_price(bb, ba, iv.bid_qty, iv.ask_qty, self.reference)
        c = ref * inv - self.skew_ticks_per_unit * q
        half = 0.5 * self.step_ticks
        bid0 = min(math.floor(c - half + _GRID_TOL), round(ba * inv) - 1)
        ask0 = max(math.ceil(c + half - _GRID_TOL), round(bb * inv) + 1)
        step, size = self.step_ticks, self.level_qty
        n_bid = self._n_side(self.q_max - q)
        n_ask = self._n_side(self.q_max + q)
        bid_ticks = [bid0 - j * step for j in range(n_bid) if bid0 - j * step > 0]
        ask_ticks = [ask0 + j * step for j in range(n_ask)]
        i = self.instrument
        bid_ticks = self._in_flight(
            bid_ticks,
            self._prev_bids,
            float(account.open_bids[i]),
            self.q_max - q,
            self._bid_filled,
        )
        ask_ticks = self._in_flight(
            ask_ticks,
            self._prev_asks,
            float(account.open_asks[i]),
            self.q_max + q,
            self._ask_filled,
        )
        self._prev_bids, self._prev_asks = frozenset(bid_ticks), frozenset(ask_ticks)
        self._bid_filled = self._ask_filled = False
        bids = tuple(QuoteLevel(t * tick, size) for t in bid_ticks)
        asks = tuple(QuoteLevel(t * tick, size) for t in ask_ticks)
        target = QuoteTarget(self.instrument, bids, asks, self.post_only)
        self.last_target = target
        return Decision(quotes=(target,))


class Hold:
    """Never quotes: the passive baseline, optionally after one hedge to a target position.

    With ``target_position`` set, the first decision at which the book is two-sided sends one
    :class:`~invrisk.strategy.HedgeIntent` (an IOC taker order) for ``target_position −
    position`` rounded down to the lot (nothing if that is less than a lot). Its limit is the
    opposite best price (``max_slippage_bps=None``: the order manager's default, so it takes
    at most the top level), or ``mid · (1 ± max_slippage_bps · 1e-4)``. The hedge is sent once
    and not retried: whatever part does not fill stays unhedged, and the position is then
    held.

    Parameters
    ----------
    instrument
        Index of the instrument (default 0).
    target_position
        Position to reach, contracts (signed; None: no hedge).
    max_slippage_bps
        Worst price accepted, bps from the mid (in (0, 10000)), or None.
    """

    def __init__(
        self,
        *,
        instrument: int = 0,
        target_position: float | None = None,
        max_slippage_bps: float | None = None,
    ) -> None:
        self.instrument = check_count("instrument", instrument, 0)
        if target_position is not None and not math.isfinite(float(target_position)):
            raise InvalidArgumentError("target_position", target_position, "a finite number")
        self.target_position = None if target_position is None else float(target_position)
        if max_slippage_bps is not None and not 0.0 < float(max_slippage_bps) < 10_000.0:
            raise InvalidArgumentError("max_slippage_bps", max_slippage_bps, "in (0, 10000) bps")
        self.max_slippage_bps = None if max_slippage_bps is None else float(max_slippage_bps)
        self.lot_size = math.nan
        self.hedge_sent: HedgeIntent | None = None
        self._done = target_position is None

    @classmethod
    def from_config(cls, cfg: HoldConfig) -> Hold:
        """Build from a validated :class:`~invrisk.strategies.config.HoldConfig`."""
        return cfg.build()

    def on_start(self, ctx: Context) -> None:
        if self.instrument >= len(ctx.instruments):
            raise InvalidArgumentError(
                "instrument", self.instrument, f"an index < {len(ctx.instruments)}"
            )
        self.lot_size = float(ctx.instruments[self.instrument].lot_size)
        self.hedge_sent = None
        self._done = self.target_position is None

    def on_fill(self, fill: Fill) -> None:
        """Nothing to do."""

    def decide(self, view: MarketView, account: AccountView) -> Decision:
        """No quotes; the initial hedge once the book is two-sided."""
        if self._done or self.target_position is None:
            return Decision()
        iv = view.instruments[self.instrument]
        if not iv.best_bid < iv.best_ask:
            return Decision()
        self._done = True
        diff = self.target_position - float(account.position[self.instrument])
        n = lots_down(abs(diff), self.lot_size)
        if n == 0:
            return Decision()
        side = 1.0 if diff > 0.0 else -1.0
        limit = None
        if self.max_slippage_bps is not None:
            limit = iv.mid * (1.0 + side * float(bps_to_decimal(self.max_slippage_bps)))
        self.hedge_sent = HedgeIntent(
            self.instrument, side * n * self.lot_size, limit, "hold: initial hedge"
        )
        return Decision(hedges=(self.hedge_sent,))
