"""The built-in strategies: protocol, quoting rules, GLFT online calibration in a backtest, configs.

The backtests run on one module-level synthetic market (``invrisk.data.synthetic_market``),
generated once: an arithmetic Brownian fair price with σ = 0.5 price units per sqrt(second)
and the default :class:`FlowSpec` order flow, A = 85 per second and k = 5 per price unit (0.5
per tick of 0.1). The generator's module docstring defines them: "market orders reaching
delta [measured from the step's reference mid] arrive at rate A exp(-k delta)", for each
side, and the book is re-centred on the fair price every 100 ms step.

The feed has a constant 1 ms latency and no jitter (``LatencySpec(jitter_mean_ns=0)``). The
strategy samples its reference mid at each decision (every 100 ms from the first event, i.e.
exactly when a step's re-centring is received); with a random jitter a decision can precede
the re-centring it should see, and the intensity fit measures depths from the previous step's
mid (A comes out about 10% low at σ = 0.1, and far lower when the mid moves several ticks per
step: see the GLFT module docstring).
"""

from __future__ import annotations

import math
import timeit
import tomllib
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from invrisk.backtest import BacktestResult, Fees, run_backtest
from invrisk.data.events import EVENT_DTYPE, EventArray
from invrisk.data.synthetic_market import (
    LatencySpec,
    PriceProcess,
    SyntheticMarket,
    synthetic_market,
    synthetic_perpetual,
)
from invrisk.errors import InvalidArgumentError
from invrisk.quoting import AvellanedaStoikov, GueantClosedForm, ModelState, Quotes
from invrisk.strategies import (
    ASConfig,
    AvellanedaStoikovMM,
    GLFTConfig,
    GLFTMarketMaker,
    GLFTParams,
    GridConfig,
    GridMM,
    Hold,
    HoldConfig,
    QuotingMarketMaker,
    build_strategy,
    strategy_config,
    strategy_from_dict,
)
from invrisk.strategies.glft import params_from_status
from invrisk.strategy import (
    AccountView,
    Context,
    Decision,
    Fill,
    InstrumentView,
    MarketView,
    QuoteTarget,
    Strategy,
)
from invrisk.units import NS_PER_MS, NS_PER_SECOND

INST = synthetic_perpetual("linear")  # tick 0.1, lot 0.001, contract size 1
TICK = INST.tick_size
A_TRUE = 85.0  # per second, FlowSpec default
K_TRUE = 5.0  # per price unit, FlowSpec default
SIGMA_TRUE = 0.5  # price units per sqrt(second)
WINDOW_S = 300
DURATION_S = 420
T0 = 1_767_225_600_000_000_000  # 2026-01-01 00:00 UTC
NO_EVENTS: EventArray = np.empty(0, dtype=EVENT_DTYPE)


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return synthetic_market(
        duration_ns=DURATION_S * NS_PER_SECOND,
        price=PriceProcess(
            kind="arithmetic", initial_price=60_000.0, sigma_price_per_sqrt_s=SIGMA_TRUE
        ),
        latency=LatencySpec(constant_ns=1_000_000, jitter_mean_ns=0.0),
        seed=5,
    )


def prefix(m: SyntheticMarket, seconds: float) -> EventArray:
    ev = m.events
    return ev[ev["local_ns"] < int(ev["local_ns"][0]) + round(seconds * NS_PER_SECOND)]


NO_FEES = Fees()


def backtest(events: EventArray, strategy: Strategy, fees: Fees = NO_FEES) -> BacktestResult:
    return run_backtest(events=events, instruments=[INST], strategy=strategy, fees=fees)


def glft(**kw: object) -> GLFTMarketMaker:
    args: dict[str, object] = {
        "gamma": 0.05,
        "q_max": 0.05,
        "order_qty": 0.01,
        "window_ns": WINDOW_S * NS_PER_SECOND,
        "refit_interval_ns": 10 * NS_PER_SECOND,
    }
    args.update(kw)
    return GLFTMarketMaker(**args)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def glft_run(market: SyntheticMarket) -> tuple[GLFTMarketMaker, BacktestResult]:
    s = glft()
    # Maker rebate and taker fee, so that the fee term of the PnL identity is not zero.
    return s, backtest(market.events, s, Fees(maker=-0.0001, taker=0.0004))


# -- helpers for single decisions ----------------------------------------------------------------


def view(
    bid: float,
    ask: float,
    *,
    t_ns: int = T0,
    bid_qty: float = 1.0,
    ask_qty: float = 1.0,
) -> MarketView:
    iv = InstrumentView(bid, ask, bid_qty, ask_qty, math.nan, math.nan, math.nan)
    return MarketView(t_ns=t_ns, instruments=(iv,), events=NO_EVENTS)


def account(q: float = 0.0) -> AccountView:
    z = np.zeros(1)
    return AccountView(
        position=np.array([q]), cash=z.copy(), equity=z.copy(), open_bids=z, open_asks=z
    )


def started(s: Strategy) -> Strategy:
    s.on_start(Context(instruments=(INST,), start_ns=T0))
    return s


def target(d: Decision) -> QuoteTarget:
    assert len(d.quotes) == 1
    return d.quotes[0]


def ticks(price: float) -> float:
    return price / TICK


# -- protocol ------------------------------------------------------------------------------------


def test_every_strategy_satisfies_the_protocol() -> None:
    model = GueantClosedForm(sigma=0.5, gamma=0.05, A=85.0, k=5.0, q_max=1.0, trade_qty=0.01)
    objs = [
        QuotingMarketMaker(model=model, order_qty=0.01, q_max=1.0),
        glft(),
        AvellanedaStoikovMM(sigma=0.5, gamma=0.05, k=5.0, order_qty=0.01, q_max=1.0),
        GridMM(n_levels=3, step_ticks=2, order_qty=0.01, q_max=1.0),
        Hold(),
    ]
    for obj in objs:
        assert isinstance(obj, Strategy), type(obj).__name__


# -- GLFT with online calibration (backtest) -----------------------------------------------------


def test_glft_calibration_recovers_the_generator_parameters(
    glft_run: tuple[GLFTMarketMaker, BacktestResult],
) -> None:
    s, _ = glft_run
    st = s.calibration
    assert st is not None and st.state == "ok" and s.params_source == "calibrated"
    assert st.sigma is not None and st.bid is not None and st.ask is not None
    # 300 s window: 3,000 intervals of 100 ms per side, se(A)/A ~ 3%, se(k)/k ~ 1.5%; the
    # estimates are within 4 reported standard errors of the truth on each side.
    for est in (st.bid, st.ask):
        assert est.status == "ok"
        assert abs(est.a_per_s - A_TRUE) < 4 * est.a_se_per_s, est
        assert abs(est.k_per_price - K_TRUE) < 4 * est.k_se_per_price, est
    # σ on a 1 s grid (300 intervals): se = σ / sqrt(600) ≈ 0.02; the mid's half-tick grid
    # adds tick²/6 per interval to the variance (0.7% of σ² dt = 0.25), well inside 4 se.
    sig = st.sigma
    assert abs(sig.sigma_price_per_sqrt_s - SIGMA_TRUE) < 4 * sig.sigma_se_price_per_sqrt_s
    # The model uses σ and the mean of the two sides' A and k.
    assert s.params == GLFTParams(
        sig.sigma_price_per_sqrt_s,
        0.5 * (st.bid.a_per_s + st.ask.a_per_s),
        0.5 * (st.bid.k_per_price + st.ask.k_per_price),
    )
    assert isinstance(s.model, GueantClosedForm)
    # Refits: at most one calibrator update per 10 s of decisions.
    assert s.n_updates <= DURATION_S // 10 and s.n_fits >= 5 and s.n_rejected_fits == 0


def test_glft_quotes_and_fills_both_sides_within_q_max(
    glft_run: tuple[GLFTMarketMaker, BacktestResult],
) -> None:
    s, res = glft_run
    # What the strategy asked for (its targets); the resting orders (res.bid/ask) are
    # usually filled within a decision interval on this busy market (A = 85 /s).
    quoted = np.isfinite(res.target_bid[:, 0]) & np.isfinite(res.target_ask[:, 0])
    assert quoted.sum() > 500
    assert np.all(res.target_bid[quoted, 0] < res.target_ask[quoted, 0])
    resting = np.isfinite(res.bid[:, 0]) & np.isfinite(res.ask[:, 0])
    assert resting.any() and np.all(res.bid[resting, 0] < res.ask[resting, 0])
    sides = res.fills["side"]
    assert (sides == 1).sum() > 50 and (sides == -1).sum() > 50
    assert bool(np.all(res.fills["maker"]))  # post-only quotes never take
    assert s.n_nonfinite == 0
    assert float(np.abs(res.position).max()) <= s.q_max + 1e-12
    assert float(np.abs(res.position_known).max()) <= s.q_max + 1e-12
    assert float(np.abs(res.position).max()) == pytest.approx(s.q_max)  # the limit binds


def test_glft_pnl_identity(glft_run: tuple[GLFTMarketMaker, BacktestResult]) -> None:
    _, res = glft_run
    (p,) = res.pnl
    assert p.fees < 0.0  # maker rebates received
    scale = max(1.0, abs(p.spread) + abs(p.inventory) + abs(p.fees))
    assert p.total == pytest.approx(p.spread + p.inventory - p.fees + p.funding, abs=1e-9 * scale)


def test_glft_flat_warmup_quotes_nothing_before_the_first_fit(
    glft_run: tuple[GLFTMarketMaker, BacktestResult],
) -> None:
    _, res = glft_run
    # Time from the first event (the first decision is one 100 ms interval later): the
    # calibrator's data start at the first event received.
    t = res.t_ns - (res.t_ns[0] - 100 * NS_PER_MS)
    window_ns = WINDOW_S * NS_PER_SECOND
    before = t < window_ns
    assert bool(np.all(np.isnan(res.target_bid[before, 0])))
    assert bool(np.all(np.isnan(res.target_ask[before, 0])))
    first = int(np.flatnonzero(np.isfinite(res.target_bid[:, 0]))[0])
    # The first fit comes at the first refit once the data span the window (10 s refits).
    assert window_ns <= t[first] <= window_ns + 11 * NS_PER_SECOND


def test_glft_refit_runs_after_the_decision_and_changes_nothing_without_the_hook(
    glft_run: tuple[GLFTMarketMaker, BacktestResult], market: SyntheticMarket
) -> None:
    """The refit a decision finds due runs in after_decide (off the decision-to-order path);
    a harness that never calls the hook gets the same run (the next decide refits first)."""

    class NoHook:  # the GLFT strategy seen through a harness without after_decide
        def __init__(self, inner: GLFTMarketMaker) -> None:
            self.inner = inner

        def on_start(self, ctx: Context) -> None:
            self.inner.on_start(ctx)

        def on_fill(self, fill: Fill) -> None:
            self.inner.on_fill(fill)

        def decide(self, view: MarketView, account: AccountView) -> Decision:
            return self.inner.decide(view, account)

    s, res = glft_run
    wrapped = NoHook(glft())
    other = backtest(market.events, wrapped, Fees(maker=-0.0001, taker=0.0004))
    assert wrapped.inner.n_fits == s.n_fits > 0
    np.testing.assert_array_equal(other.target_bid, res.target_bid)
    np.testing.assert_array_equal(other.fills, res.fills)
    # a due refit is not run inside decide
    t = glft()
    ev = prefix(market, 30.0)
    t0, t1 = int(ev["local_ns"][0]), int(ev["local_ns"][-1])
    t.on_start(Context(instruments=(INST,), start_ns=t0))
    iv = InstrumentView(60_000.0, 60_000.5, 1.0, 1.0, math.nan, math.nan, math.nan)
    t.decide(MarketView(t_ns=t1, instruments=(iv,), events=ev), account())
    assert t.n_updates == 0
    t.after_decide(t1)
    assert t.n_updates == 1


def test_glft_fallback_warmup_quotes_from_the_start(market: SyntheticMarket) -> None:
    fb = GLFTParams(0.4, 80.0, 4.0)
    s = glft(warmup="fallback", fallback=fb)
    res = backtest(prefix(market, 20.0), s)
    assert s.params_source == "fallback" and s.params == fb
    assert s.calibration_state == "warming_up"
    assert np.isfinite(res.target_bid[1:, 0]).all() and np.isfinite(res.target_ask[1:, 0]).all()


def test_glft_exact_runs_and_respects_the_limit(market: SyntheticMarket) -> None:
    s = glft(exact=True, window_ns=30 * NS_PER_SECOND)
    res = backtest(prefix(market, 60.0), s)
    assert s.params_source == "calibrated" and s.n_nonfinite == 0
    assert (res.fills["side"] == 1).any() and (res.fills["side"] == -1).any()
    assert float(np.abs(res.position).max()) <= s.q_max + 1e-12
    # Off-grid inventory (partial fills of a lot) is rounded to the model's Δ grid.
    assert s.model_inventory(0.013) == pytest.approx(0.01)
    assert s.model_inventory(-0.2) == pytest.approx(-0.05)


def test_glft_rejects_nonpositive_fitted_parameters(
    glft_run: tuple[GLFTMarketMaker, BacktestResult],
) -> None:
    s, _ = glft_run
    st = s.calibration
    assert st is not None and st.sigma is not None and st.bid is not None
    assert params_from_status(st) == s.params
    flat = replace(st, sigma=replace(st.sigma, sigma_price_per_sqrt_s=0.0))
    assert params_from_status(flat) is None
    nan_k = replace(st, bid=replace(st.bid, k_per_price=math.nan))
    assert params_from_status(nan_k) is None
    with pytest.raises(InvalidArgumentError, match="a_per_s"):
        GLFTParams(0.5, -1.0, 5.0)


def test_glft_argument_checks() -> None:
    with pytest.raises(InvalidArgumentError, match="fallback"):
        glft(warmup="fallback")
    with pytest.raises(InvalidArgumentError, match="q_max"):
        glft(exact=True, q_max=0.055)
    with pytest.raises(InvalidArgumentError, match="gamma"):
        glft(gamma=0.0)
    with pytest.raises(InvalidArgumentError, match="refit_interval_ns"):
        glft(refit_interval_ns=1.5)


# -- the quoting rules (single decisions) --------------------------------------------------------


def closed_form(q_max: float = 1.0) -> GueantClosedForm:
    return GueantClosedForm(sigma=0.5, gamma=0.05, A=85.0, k=5.0, q_max=q_max, trade_qty=0.01)


def test_market_maker_rounds_outwards_and_never_crosses_the_touch() -> None:
    s = started(QuotingMarketMaker(model=closed_form(), order_qty=0.01, q_max=1.0))
    tg = target(s.decide(view(60_000.0, 60_000.1), account()))
    (b,), (a,) = tg.bids, tg.asks
    mq = closed_form().quotes(q=0.0, t_ns=T0, state=ModelState(60_000.05))
    assert ticks(b.price) == pytest.approx(math.floor(ticks(mq.bid) + 1e-9))
    assert ticks(a.price) == pytest.approx(math.ceil(ticks(mq.ask) - 1e-9))
    assert b.qty == a.qty == pytest.approx(0.01) and tg.post_only
    # A bid through the book's best ask is capped one tick below it.
    through = started(QuotingMarketMaker(model=Through(), order_qty=0.01, q_max=1.0))
    tg = target(through.decide(view(100.0, 100.5), account()))
    assert tg.bids[0].price == pytest.approx(100.4) and tg.asks[0].price == pytest.approx(102.3)


class Through:
    """A model quoting its bid 1.0 above the reference and its ask 2.0 above it."""

    def quotes(self, *, q: float, t_ns: int, state: ModelState) -> Quotes:
        return Quotes(-1.0, 2.0, state.mid + 1.0, state.mid + 2.0, True, True)


def test_min_spread_floor_in_ticks() -> None:
    tight = AvellanedaStoikov(sigma=0.0, gamma=1e-6, k=1e3, t_end_ns=T0)  # spread 2/k = 0.002
    s = started(QuotingMarketMaker(model=tight, order_qty=0.01, q_max=1.0, min_spread_ticks=6))
    tg = target(s.decide(view(100.0, 100.2), account()))  # mid 100.1, on the grid
    assert ticks(tg.asks[0].price) - ticks(tg.bids[0].price) == pytest.approx(6.0)


def test_inventory_limit_and_size_shaping() -> None:
    s = started(QuotingMarketMaker(model=closed_form(), order_qty=0.01, q_max=0.05, eta=10.0))
    tg = target(s.decide(view(100.0, 100.1), account(0.02)))
    # Long 0.02: bid shrinks to 0.01 exp(-10 * 0.02) = 0.0082 -> 0.008 (lot 0.001), ask full.
    assert tg.bids[0].qty == pytest.approx(0.008) and tg.asks[0].qty == pytest.approx(0.01)
    # 0.045 long: the bid is capped by the room to q_max (0.005).
    tg = target(s.decide(view(100.0, 100.1), account(0.045)))
    assert tg.bids[0].qty == pytest.approx(0.005)
    # At and beyond the limit (fills in flight) the adding side is not quoted, no error.
    for q in (0.05, 0.07):
        tg = target(s.decide(view(100.0, 100.1), account(q)))
        assert tg.bids == () and tg.asks[0].qty == pytest.approx(0.01)
    tg = target(s.decide(view(100.0, 100.1), account(-0.07)))
    assert tg.asks == () and tg.bids[0].qty == pytest.approx(0.01)


def test_pulls_quotes_without_a_two_sided_book() -> None:
    s = started(QuotingMarketMaker(model=closed_form(), order_qty=0.01, q_max=1.0))
    for b, a in ((math.nan, 100.1), (100.0, math.nan), (100.1, 100.1)):
        tg = target(s.decide(view(b, a), account()))
        assert tg.bids == () and tg.asks == ()
    assert s.n_pulled == 3


def test_microprice_reference() -> None:
    s = started(
        QuotingMarketMaker(model=closed_form(), order_qty=0.01, q_max=1.0, reference="microprice")
    )
    s.decide(view(100.0, 100.1, bid_qty=3.0, ask_qty=1.0), account())
    assert s.last_reference == pytest.approx((100.0 * 1.0 + 100.1 * 3.0) / 4.0)
    s.decide(view(100.0, 100.1, bid_qty=0.0, ask_qty=0.0), account())
    assert s.last_reference == pytest.approx(100.05)


def test_requote_threshold_keeps_prices_within_ticks() -> None:
    s = started(QuotingMarketMaker(model=closed_form(), order_qty=0.01, q_max=1.0, requote_ticks=2))
    first = target(s.decide(view(100.0, 100.1), account()))
    # The mid moves 2 ticks: both sides keep their price (still inside the touch).
    kept = target(s.decide(view(100.2, 100.3), account()))
    assert kept == first
    # 3 ticks from the kept prices: the quotes move.
    moved = target(s.decide(view(100.3, 100.4), account()))
    assert ticks(moved.bids[0].price) == pytest.approx(ticks(first.bids[0].price) + 3)
    # A size change (a fill moved q, with shaping) replaces the order, at the fresh price.
    s2 = started(
        QuotingMarketMaker(
            model=closed_form(), order_qty=0.01, q_max=1.0, requote_ticks=5, eta=10.0
        )
    )
    a = target(s2.decide(view(100.0, 100.1), account()))
    b = target(s2.decide(view(100.2, 100.3), account(-0.01)))
    assert b.asks[0].qty < a.asks[0].qty
    assert b.asks[0].price != a.asks[0].price and b.bids[0].price == a.bids[0].price
    # A kept price that would now be at or through the touch is not kept: the ask at 100.5
    # (3 ticks from the fresh 100.8) would sit on the best bid.
    c = target(s2.decide(view(100.5, 100.6), account(-0.01)))
    assert c.asks[0].price == pytest.approx(100.8) and c.bids[0].price == b.bids[0].price


def test_avellaneda_stoikov_symmetric_at_zero_inventory_and_sessions() -> None:
    hour = 3600 * NS_PER_SECOND
    s = AvellanedaStoikovMM(
        sigma=0.5, gamma=0.05, k=5.0, order_qty=0.01, q_max=1.0, session_ns=hour
    )
    started(s)
    for bid, t in ((60_000.0, T0 + 1), (100.0, T0 + hour // 2), (1234.5, T0 + hour - 1)):
        tg = target(s.decide(view(bid, bid + TICK, t_ns=t), account()))
        mid = bid + TICK / 2
        assert mid - tg.bids[0].price == pytest.approx(tg.asks[0].price - mid, abs=1e-9)
        assert s.t_end_ns == T0 + hour  # T0 is a multiple of one hour
    # Long inventory skews both quotes down (reservation price below the mid).
    tg = target(s.decide(view(100.0, 100.1, t_ns=T0 + 2), account(0.5)))
    assert 100.05 - tg.bids[0].price > tg.asks[0].price - 100.05
    # A new session starts at the horizon: T moves one session on.
    s.decide(view(100.0, 100.1, t_ns=T0 + hour), account())
    assert s.t_end_ns == T0 + 2 * hour
    assert isinstance(s.model, AvellanedaStoikov) and s.model.t_end_ns == T0 + 2 * hour


@given(
    bid_tick=st.integers(1_000, 1_000_000),
    spread_ticks=st.integers(1, 5),
    sigma=st.floats(0.0, 5.0),
    gamma=st.floats(1e-3, 1.0),
    k=st.floats(0.5, 50.0),
    elapsed=st.floats(0.0, 0.999),
)
def test_avellaneda_stoikov_zero_inventory_symmetry_property(
    bid_tick: int, spread_ticks: int, sigma: float, gamma: float, k: float, elapsed: float
) -> None:
    """At q = 0 the rounded quotes are symmetric about the mid, whatever the book's spread."""
    minute = 60 * NS_PER_SECOND
    s = AvellanedaStoikovMM(
        sigma=sigma, gamma=gamma, k=k, order_qty=0.01, q_max=1.0, session_ns=minute
    )
    started(s)
    bid, ask = bid_tick * TICK, (bid_tick + spread_ticks) * TICK
    tg = target(s.decide(view(bid, ask, t_ns=T0 + int(elapsed * minute)), account()))
    mid_ticks = bid_tick + spread_ticks / 2
    a = ticks(tg.asks[0].price)
    if not tg.bids:  # the symmetric bid would be at a price <= 0: not quoted
        assert 2 * mid_ticks - a <= 0.0
        return
    b = ticks(tg.bids[0].price)
    assert mid_ticks - b == pytest.approx(a - mid_ticks, abs=1e-6)


def test_grid_levels_on_the_tick_grid() -> None:
    g = started(GridMM(n_levels=4, step_ticks=3, order_qty=0.01, q_max=1.0))
    tg = target(g.decide(view(100.0, 100.1), account()))
    assert len(tg.bids) == len(tg.asks) == 4
    bt = [ticks(lv.price) for lv in tg.bids]
    at = [ticks(lv.price) for lv in tg.asks]
    for x in bt + at:
        assert x == pytest.approx(round(x), abs=1e-9)
    # c = 1000.5 ticks: bids floor(1000.5 - 1.5) - 3j = 999, 996, ...; asks 1002, 1005, ...
    assert bt == pytest.approx([999, 996, 993, 990]) and at == pytest.approx(
        [1002, 1005, 1008, 1011]
    )
    assert all(lv.qty == pytest.approx(0.01) for lv in tg.bids + tg.asks)


def test_grid_skew_touch_and_inventory_limit() -> None:
    g = started(
        GridMM(n_levels=3, step_ticks=1, order_qty=0.01, q_max=0.025, skew_ticks_per_unit=100.0)
    )
    # Long 0.02: centre moves 2 ticks down; the asks would cross the best bid -> one tick above
    # it; only floor((0.025 - 0.02) / 0.01) = 0 bid levels fit.
    tg = target(g.decide(view(100.0, 100.1), account(0.02)))
    assert tg.bids == ()
    assert [ticks(lv.price) for lv in tg.asks] == pytest.approx([1001, 1002, 1003])
    # Short 0.01: centre 1001.5 ticks, bids capped one tick below the best ask (1000, ...);
    # ask room 0.025 - 0.01 = 0.015 holds one level, bid room 0.035 all three.
    tg = target(g.decide(view(100.0, 100.1), account(-0.01)))
    assert [ticks(lv.price) for lv in tg.asks] == pytest.approx([1002])
    assert [ticks(lv.price) for lv in tg.bids] == pytest.approx([1000, 999, 998])


def test_hold_never_quotes(market: SyntheticMarket) -> None:
    h = Hold()
    res = backtest(prefix(market, 30.0), h)
    assert res.orders_sent == 0 and len(res.fills) == 0
    assert bool(np.all(np.isnan(res.bid))) and bool(np.all(np.isnan(res.ask)))


def test_hold_initial_hedge_to_target(market: SyntheticMarket) -> None:
    h = Hold(target_position=-0.2, max_slippage_bps=5.0)
    res = backtest(prefix(market, 30.0), h)
    assert h.hedge_sent is not None and h.hedge_sent.qty == pytest.approx(-0.2)
    assert res.orders_sent == 1 and not bool(np.any(res.fills["maker"]))
    assert float(res.position[-1, 0]) == pytest.approx(-0.2)
    assert bool(np.all(np.isnan(res.bid))) and bool(np.all(np.isnan(res.ask)))


@pytest.mark.parametrize(
    "strategy",
    [
        AvellanedaStoikovMM(
            sigma=0.5, gamma=0.05, k=5.0, order_qty=0.01, q_max=0.05, session_ns=60 * NS_PER_SECOND
        ),
        GridMM(n_levels=3, step_ticks=2, order_qty=0.01, q_max=0.05, skew_ticks_per_unit=20.0),
    ],
    ids=["as", "grid"],
)
def test_simple_market_makers_trade_in_a_backtest(
    market: SyntheticMarket, strategy: Strategy
) -> None:
    res = backtest(prefix(market, 60.0), strategy, Fees(maker=-0.0001))
    sides = res.fills["side"]
    assert (sides == 1).any() and (sides == -1).any()
    assert float(np.abs(res.position).max()) <= 0.05 + 1e-12
    (p,) = res.pnl
    scale = max(1.0, abs(p.spread) + abs(p.inventory) + abs(p.fees))
    assert p.total == pytest.approx(p.spread + p.inventory - p.fees + p.funding, abs=1e-9 * scale)


# -- cost of a decision --------------------------------------------------------------------------


def test_decide_cost() -> None:
    """Median-free lower bound: the best of 5 repeats of 2,000 decisions each (µs/decision)."""
    v, acc = view(60_000.0, 60_000.1), account(0.02)
    strategies: list[Strategy] = [
        QuotingMarketMaker(model=closed_form(), order_qty=0.01, q_max=1.0),
        AvellanedaStoikovMM(sigma=0.5, gamma=0.05, k=5.0, order_qty=0.01, q_max=1.0),
        GridMM(n_levels=5, step_ticks=1, order_qty=0.01, q_max=1.0),
        Hold(),
    ]
    for s in strategies:
        started(s)
        best = min(timeit.repeat(lambda s=s: s.decide(v, acc), number=2_000, repeat=5)) / 2_000
        # Well under 50 µs on a developer machine (~10-20 µs); loose bound for slow CI hosts.
        assert best < 200e-6, (type(s).__name__, best)


# -- configs -------------------------------------------------------------------------------------

TOML = """
[glft]
type = "glft"
gamma = 0.05        # per price unit x contract
q_max = 10          # contracts
order_qty = 0.01    # contracts
window_s = 600
refit_interval_s = 10

[glft_fallback]
type = "glft"
gamma = 0.1
q_max = 1
order_qty = 0.01
exact = true
warmup = "fallback"
fallback_sigma = 0.5
fallback_a = 85.0
fallback_k = 5.0
requote_ticks = 2
reference = "microprice"

[as]
type = "as"
sigma = 5.0
gamma = 0.01
k = 5.0
q_max = 1
order_qty = 0.01
session_s = 28800
eta = 0.5

[grid]
type = "grid"
n_levels = 5
step_ticks = 2
order_qty = 0.01
q_max = 0.5
skew_ticks_per_unit = 10.0

[hold]
type = "hold"
target_position = -0.5
max_slippage_bps = 10
"""


def test_config_round_trip_from_toml() -> None:
    tables = tomllib.loads(TOML)
    g = build_strategy(tables["glft"])
    assert isinstance(g, GLFTMarketMaker)
    assert (g.gamma, g.q_max, g.order_qty) == (0.05, 10.0, 0.01)
    assert g.window_ns == 600 * NS_PER_SECOND and g.refit_interval_ns == 10 * NS_PER_SECOND
    assert g.warmup == "flat" and not g.exact and g.fallback is None
    f = build_strategy(tables["glft_fallback"])
    assert isinstance(f, GLFTMarketMaker) and f.exact and f.reference == "microprice"
    assert f.fallback == GLFTParams(0.5, 85.0, 5.0) and f.requote_ticks == 2
    a = build_strategy(tables["as"])
    assert isinstance(a, AvellanedaStoikovMM)
    assert (a.sigma, a.gamma, a.k, a.eta) == (5.0, 0.01, 5.0, 0.5)
    assert a.session_ns == 8 * 3600 * NS_PER_SECOND
    gr = build_strategy(tables["grid"])
    assert isinstance(gr, GridMM) and (gr.n_levels, gr.step_ticks) == (5, 2)
    h = strategy_from_dict(tables["hold"])
    assert isinstance(h, Hold) and h.target_position == -0.5 and h.max_slippage_bps == 10.0
    # Config -> dict -> config is the identity; each class has from_config.
    for name, cls, scls in (
        ("glft_fallback", GLFTConfig, GLFTMarketMaker),
        ("as", ASConfig, AvellanedaStoikovMM),
        ("grid", GridConfig, GridMM),
        ("hold", HoldConfig, Hold),
    ):
        cfg = strategy_config(tables[name])
        assert isinstance(cfg, cls)
        assert strategy_config(cfg.model_dump()) == cfg
        assert isinstance(scls.from_config(cfg), scls)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ({"gamma": 0.05, "q_max": 1, "order_qty": 0.01}, "type"),
        ({"type": "avellaneda", "gamma": 0.05}, "type"),
        ({"type": "glft", "q_max": 1, "order_qty": 0.01}, "gamma"),
        ({"type": "glft", "gamma": -0.05, "q_max": 1, "order_qty": 0.01}, "gamma"),
        ({"type": "glft", "gamma": 0.05, "q_max": "10", "order_qty": 0.01}, "q_max"),
        ({"type": "glft", "gamma": 0.05, "q_max": 1, "order_qty": 0.01, "gama": 1}, "gama"),
        ({"type": "glft", "gamma": 0.05, "q_max": 1, "order_qty": 0.01, "window_s": 0}, "window_s"),
        (
            {"type": "glft", "gamma": 0.05, "q_max": 1, "order_qty": 0.01, "warmup": "fallback"},
            "fallback_sigma",
        ),
        (
            {"type": "glft", "gamma": 0.05, "q_max": 1, "order_qty": 0.01, "fallback_k": 5.0},
            "fallback_sigma",
        ),
        (
            {"type": "glft", "gamma": 0.05, "q_max": 1.005, "order_qty": 0.01, "exact": True},
            "q_max",
        ),
        ({"type": "glft", "gamma": math.inf, "q_max": 1, "order_qty": 0.01}, "gamma"),
        ({"type": "as", "sigma": 1, "gamma": 1, "k": 1, "q_max": 1, "order_qty": 0}, "order_qty"),
        (
            {"type": "as", "sigma": 1, "gamma": 1, "k": 1, "q_max": 1, "order_qty": 1, "eta": -1},
            "eta",
        ),
        (
            {"type": "grid", "n_levels": 2.5, "step_ticks": 1, "order_qty": 1, "q_max": 1},
            "n_levels",
        ),
        (
            {"type": "grid", "n_levels": 2, "step_ticks": 0, "order_qty": 1, "q_max": 1},
            "step_ticks",
        ),
        ({"type": "hold", "max_slippage_bps": 10_000}, "max_slippage_bps"),
        ({"type": "hold", "reference": "mid"}, "reference"),
    ],
)
def test_bad_configs_name_the_field(table: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        build_strategy(table)
    assert info.value.argument == field
    assert field in str(info.value)


def test_bad_config_chains_the_validation_error() -> None:
    from pydantic import ValidationError

    with pytest.raises(InvalidArgumentError) as info:
        build_strategy({"type": "grid", "n_levels": 0, "step_ticks": 1, "order_qty": 1, "q_max": 1})
    assert isinstance(info.value.__cause__, ValidationError)
    with pytest.raises(InvalidArgumentError, match="strategy"):
        build_strategy(["type", "grid"])  # type: ignore[arg-type]


def test_in_flight_orders_count_against_q_max() -> None:
    # Long 0.04 with 0.01 still live on the bid: a repeat of the previous level is kept...
    z = np.zeros(1)
    live = AccountView(
        position=np.array([0.04]),
        cash=z,
        equity=z,
        open_bids=np.array([0.01]),
        open_asks=np.array([0.01]),
    )
    s2 = started(QuotingMarketMaker(model=closed_form(), order_qty=0.01, q_max=0.05))
    a = target(s2.decide(view(100.0, 100.1), account(0.04)))
    assert a.bids[0].qty == pytest.approx(0.01)
    kept = target(s2.decide(view(100.0, 100.1), live))
    assert kept.bids == a.bids
    # ... but a moved bid is a new order while the old one may still fill: no room for it.
    moved = target(s2.decide(view(100.3, 100.4), live))
    assert moved.bids == () and moved.asks[0].qty == pytest.approx(0.01)
    # Once the cancel is acknowledged (nothing live), the bid comes back.
    back = target(s2.decide(view(100.3, 100.4), account(0.04)))
    assert back.bids[0].qty == pytest.approx(0.01)


def test_exported_members_sorted_and_resolve() -> None:
    import invrisk.strategies as pkg

    assert list(pkg.__all__) == sorted(pkg.__all__)
    for name in pkg.__all__:
        assert hasattr(pkg, name), name
