"""The paper runtime end to end: the same strategy as in backtests, the journal as the record,
and the automatic risk controls under injected faults."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from invrisk.backtest import Fees, ProbQueue
from invrisk.data.events import EventArray
from invrisk.data.synthetic_market import benchmark_stream
from invrisk.errors import InvalidArgumentError, RateLimitError
from invrisk.live import OrderEvent, PaperGateway, Runtime
from invrisk.order_manager import NewOrder
from invrisk.risk.limits import GuardLimits, InstrumentLimits, RiskGuard
from invrisk.store import Journal
from invrisk.strategies import GLFTMarketMaker
from invrisk.strategies.glft import GLFTParams
from invrisk.strategy import AccountView, Context, Decision, Fill, MarketView, QuoteTarget

MARKET = benchmark_stream(120_000, seed=3)


def glft() -> GLFTMarketMaker:
    return GLFTMarketMaker(
        gamma=0.05,
        q_max=0.1,
        order_qty=0.01,
        window_ns=60 * 10**9,
        warmup="fallback",
        fallback=GLFTParams(5.0, 80.0, 5.0),
    )


def gateway(cls: type[PaperGateway] = PaperGateway) -> PaperGateway:
    return cls(
        events=MARKET.events,
        instruments=[MARKET.instrument],
        fees=Fees(maker=-1e-4, taker=5e-4),
        queue=ProbQueue("power", 2.0),
    )


def journal(tmp_path: Path) -> Journal:
    j = Journal(tmp_path / "run.sqlite")
    j.start_run(started_ns=int(MARKET.events["local_ns"][0]), mode="paper", venue="sim")
    return j


def test_paper_run_journal_matches_the_runtime(tmp_path: Path) -> None:
    """GLFT through the paper gateway: fills on both sides, and the positions and cash
    recomputed from the journal's fills equal the runtime's own."""
    j = journal(tmp_path)
    rt = Runtime(strategy=glft(), instruments=[MARKET.instrument], gateway=gateway(), journal=j)
    s = asyncio.run(rt.run())
    assert s.decisions > 500 and s.fills > 100 and s.duplicate_fills == 0
    rec = j.recover()
    assert rec.n_fills == s.fills
    assert rec.positions[0] == pytest.approx(s.positions[0], abs=1e-9)
    assert rec.cash[0] == pytest.approx(s.cash[0], rel=1e-12)
    sides = {f["side"] for f in j.table("fills")}
    assert sides == {1, -1}
    assert abs(s.positions[0]) <= 0.1 + 0.01 + 1e-9  # q_max plus one order in flight
    assert all(f["mid"] is not None for f in j.table("fills"))  # the PnL split has its mids
    j.close()


def test_a_fill_is_journaled_with_the_mid_as_of_its_venue_time() -> None:
    """The mid kept per batch, looked up by a fill's venue time: the mid after the last batch
    whose latest venue time is at or before it (an L2Book replaying the same rows gives the
    expected mids); before the history, NaN; no venue time, the current mid."""
    from invrisk.market.book import L2Book

    rt = Runtime(strategy=glft(), instruments=[MARKET.instrument], gateway=gateway())
    ev = MARKET.events
    cuts = [0, 5_000, 5_400, 6_000]
    ref = L2Book(tick_size=MARKET.instrument.tick_size, lo_tick=500_000, n_ticks=200_000)
    expected = []
    for a, b in itertools.pairwise(cuts):
        rt._apply(ev[a:b])
        ref.apply(ev[a:b])
        expected.append((int(ev["exch_ns"][b - 1]), 0.5 * (ref.best_bid + ref.best_ask)))
    (t1, m1), (t2, m2), (t3, m3) = expected
    assert t1 < t2 < t3 and len({m1, m2, m3}) > 1  # three different mids to tell apart
    assert rt._mid_at(0, t1) == m1 and rt._mid_at(0, t2 - 1) == m1
    assert rt._mid_at(0, t2) == m2 and rt._mid_at(0, t3 + 10**9) == m3
    assert np.isnan(rt._mid_at(0, t1 - 1))
    assert rt._mid_at(0, 0) == m3  # no venue time: the mid now


class Duplicating(PaperGateway):
    """Every fill reported twice, the copy after the next event (a replayed message)."""

    def take_order_events(self) -> list[OrderEvent]:
        out: list[OrderEvent] = []
        for e in super().take_order_events():
            out.append(e)
            if e.kind == "fill":
                out.append(e)
        return out


def test_duplicated_fill_messages_count_once(tmp_path: Path) -> None:
    ref = asyncio.run(
        Runtime(strategy=glft(), instruments=[MARKET.instrument], gateway=gateway()).run()
    )
    j = journal(tmp_path)
    dup = Runtime(
        strategy=glft(), instruments=[MARKET.instrument], gateway=gateway(Duplicating), journal=j
    )
    s = asyncio.run(dup.run())
    assert s.duplicate_fills == s.fills > 0
    assert s.positions == ref.positions and s.fills == ref.fills
    j.close()


class Stalling(PaperGateway):
    """The feed stops after 300 batches (a stalled websocket)."""

    async def market_batches(self) -> AsyncIterator[EventArray]:
        k = 0
        async for b in super().market_batches():
            yield b
            k += 1
            if k == 300:
                await asyncio.sleep(3600)


def test_stale_feed_halts_and_cancels(tmp_path: Path) -> None:
    j = journal(tmp_path)
    guard = RiskGuard(
        limits={
            0: InstrumentLimits(
                max_position=1.0, max_order_qty=1.0, max_order_notional=1e9, price_band=0.05
            )
        }
    )
    rt = Runtime(
        strategy=glft(),
        instruments=[MARKET.instrument],
        gateway=gateway(Stalling),
        guard=guard,
        journal=j,
        stale_after_s=0.2,
    )

    async def main() -> object:
        task = asyncio.create_task(rt.run())
        for _ in range(100):
            await asyncio.sleep(0.05)
            if rt.halts:
                break
        task.cancel()
        return None

    asyncio.run(main())
    assert rt.halts and "stale market data" in rt.halts[0]
    assert guard.state.name == "HALTED"
    assert all(o.status.name == "PENDING_CANCEL" for o in rt.om.live_orders())
    con = sqlite3.connect(tmp_path / "run.sqlite")
    rows = con.execute(
        "SELECT new_state, cause FROM risk_events WHERE kind='transition'"
    ).fetchall()
    con.close()
    assert rows and rows[0][0] == "HALTED" and "stale" in rows[0][1]
    j.close()


class Disconnecting(PaperGateway):
    """The connection drops after 200 batches."""

    async def market_batches(self) -> AsyncIterator[EventArray]:
        k = 0
        async for b in super().market_batches():
            k += 1
            if k == 200:
                self.disconnect()
            yield b


def test_gateway_disconnect_halts_and_journals_the_refused_order(tmp_path: Path) -> None:
    j = journal(tmp_path)
    rt = Runtime(
        strategy=glft(),
        instruments=[MARKET.instrument],
        gateway=gateway(Disconnecting),
        journal=j,
    )
    s = asyncio.run(rt.run())
    assert s.halts and "gateway refused" in s.halts[0]
    rejects = [e for e in j.table("order_events") if e["kind"] == "reject"]
    assert rejects and rejects[0]["detail"] == "gateway_disconnected"
    # one halt, journaled once, however many orders of the decision the link refused
    assert len(s.halts) == 1 and [m[1] for m in transitions(j)] == ["HALTED"]
    j.close()


class Reckless:
    """Tries to break every limit: huge sizes, prices far from the market, both sides."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def on_start(self, ctx: Context) -> None:
        self.tick = ctx.instruments[0].tick_size

    def on_fill(self, fill: Fill) -> None:
        pass

    def decide(self, view: MarketView, account: AccountView) -> Decision:
        iv = view.instruments[0]
        if not iv.best_bid < iv.best_ask:
            return Decision()
        mid = iv.mid
        off = self.rng.uniform(-0.2, 0.2, 2) * mid
        qty = self.rng.choice([0.001, 0.5, 5.0, 500.0], 2)
        bid = round((mid - abs(off[0])) / self.tick) * self.tick
        ask = round((mid + abs(off[1])) / self.tick) * self.tick
        return Decision(
            quotes=(QuoteTarget.two_sided(0, bid=bid, ask=ask, bid_qty=qty[0], ask_qty=qty[1]),)
        )


@pytest.mark.parametrize("seed", range(3))
def test_a_reckless_strategy_never_gets_an_order_past_the_guard(tmp_path: Path, seed: int) -> None:
    """Every order the guard let through respects the order size, the price band around the
    mid it saw, and (with all same-side orders filled) the position limit."""
    lim = InstrumentLimits(
        max_position=0.2, max_order_qty=0.05, max_order_notional=1e9, price_band=0.01
    )
    guard = RiskGuard(limits={0: lim}, guard=GuardLimits(max_orders_per_s=20))
    j = journal(tmp_path)
    rt = Runtime(
        strategy=Reckless(seed),
        instruments=[MARKET.instrument],
        gateway=gateway(),
        guard=guard,
        journal=j,
    )
    s = asyncio.run(rt.run(max_feed_ns=60 * 10**9))
    orders = {o["order_id"]: o for o in j.table("orders")}
    refused = {e["order_id"] for e in j.table("risk_events") if e["kind"] == "reject"}
    passed = [o for oid, o in orders.items() if oid not in refused]
    assert refused and len(refused) + len(passed) == len(orders)
    for o in passed:
        assert o["qty"] <= lim.max_order_qty
    assert abs(s.positions[0]) <= lim.max_position + 1e-9
    j.close()


def test_run_command(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from invrisk.cli import app
    from tests.conftest import REPO_ROOT

    cfg = REPO_ROOT / "examples" / "paper_synthetic_glft.toml"
    path = tmp_path / "paper.sqlite"
    runner = CliRunner()
    args = [
        "run",
        str(cfg),
        "--paper",
        "--events",
        "100000",
        "--speed",
        "0",
        "--journal",
        str(path),
    ]
    rules = ["--auto-resume", "stale=2", "--auto-resume", "disconnect=5", "--max-clock-skew", "1"]
    result = runner.invoke(app, [*args, "--duration", "30s", *rules, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert 30.0 <= doc["feed_s"] < 31.0 and doc["fills"] > 0 and doc["state"] == "ACTIVE"
    with Journal(path) as j:
        rec = j.recover(doc["run_id"])
    assert rec.n_fills == doc["fills"] and rec.positions[0] == pytest.approx(doc["position"])
    for extra, word in (
        (["--venue", "deribit"], "exclude each other"),
        (["--duration", "ten"], "--duration"),
        (["--auto-resume", "weather=1"], "auto_resume"),
        (["--auto-resume", "stale"], "--auto-resume"),
    ):
        bad = runner.invoke(app, [*args, *extra])
        assert bad.exit_code == 2 and word in bad.output, bad.output
    no_paper = runner.invoke(app, ["run", str(cfg)])
    assert no_paper.exit_code == 2 and "--paper" in no_paper.output


def test_paper_run_on_the_real_binance_recording(tmp_path: Path) -> None:
    """GLFT (the Binance example config) paper-trading the real BTCUSDT recording replayed as
    fast as possible: fills on both sides, inventory held within q_max plus an order in flight,
    and the positions recomputed from the journal equal the runtime's."""
    import json

    from typer.testing import CliRunner

    from invrisk.cli import app
    from tests.conftest import REPO_ROOT, require_data

    data = require_data("binance_l2_trades_2024-08-08_hftbacktest/usdm_btcusdt_20240808.gz")
    text = (REPO_ROOT / "examples" / "backtest_binance_btcusdt.toml").read_text(encoding="utf-8")
    cfg = tmp_path / "btc.toml"
    cfg.write_text(
        "\n".join(
            f'path = "{data}"' if ln.startswith("path = ") else ln for ln in text.splitlines()
        ),
        encoding="utf-8",
    )
    path = tmp_path / "btc.sqlite"
    result = CliRunner().invoke(
        app, ["run", str(cfg), "--paper", "--speed", "0", "--journal", str(path), "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["fills"] > 10 and abs(doc["position"]) <= 0.05 + 0.001 + 1e-9
    with Journal(path) as j:
        rec = j.recover(doc["run_id"])
        sides = {f["side"] for f in j.table("fills", doc["run_id"])}
    assert sides == {1, -1}
    assert rec.n_fills == doc["fills"] and rec.positions[0] == pytest.approx(
        doc["position"], abs=1e-12
    )


KILLED_RUN = """
import asyncio, sys
import numpy as np
from invrisk.backtest import Fees, ProbQueue
from invrisk.data.synthetic_market import benchmark_stream
from invrisk.live import PaperGateway, Runtime
from invrisk.store import Journal
from invrisk.strategies import GLFTMarketMaker
from invrisk.strategies.glft import GLFTParams
m = benchmark_stream(120_000, seed=3)
j = Journal(sys.argv[1])
j.start_run(started_ns=int(m.events["local_ns"][0]), mode="paper", venue="sim", run_id="k")
gw = PaperGateway(events=m.events, instruments=[m.instrument], fees=Fees(maker=-1e-4),
                  queue=ProbQueue("power", 2.0), speed=40.0)  # ~2 s of wall time
s = GLFTMarketMaker(gamma=0.05, q_max=0.1, order_qty=0.01, window_ns=60 * 10**9,
                    warmup="fallback", fallback=GLFTParams(5.0, 80.0, 5.0))
asyncio.run(Runtime(strategy=s, instruments=[m.instrument], gateway=gw, journal=j).run())
"""


def test_killed_mid_run_and_restarted_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    """A paper run is killed with SIGKILL once the journal holds 200 fills, then restarted from
    the journal on the rest of the feed: every fill is journaled once (ids unique, the
    restarted gateway's ids distinct), no client order id is reused, and the final positions
    recomputed from the journal equal the restarted runtime's."""
    import os
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "k.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(path)])
    deadline = time.monotonic() + 60
    n = 0
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if path.exists():
            try:
                con = sqlite3.connect(path, timeout=1)
                n = con.execute("SELECT COUNT(*) FROM fills").fetchone()[0]
                con.close()
            except sqlite3.OperationalError:
                continue
            if n >= 200:
                break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert n >= 200
    with Journal(path) as j:
        j.start_run(started_ns=0, mode="paper", venue="sim", run_id="k")  # adopt the run
        before = j.recover("k")
        last_t = max(int(f["local_ns"]) for f in j.table("fills", "k"))
        rest = MARKET.events[MARKET.events["local_ns"] > last_t]
        gw = PaperGateway(events=rest, instruments=[MARKET.instrument], fees=Fees(maker=-1e-4),
                          queue=ProbQueue("power", 2.0))  # fmt: skip
        rt = Runtime(strategy=glft(), instruments=[MARKET.instrument], gateway=gw, journal=j)
        report = rt.resume("k")
        assert rt.position[0] == pytest.approx(before.positions.get(0, 0.0))
        assert set(report["missing_at_venue"]) == set(before.open_orders)
        s = asyncio.run(rt.run())
        after = j.recover("k")
        fills = j.table("fills", "k")
        orders = j.table("orders", "k")
    assert s.fills > 0 and after.n_fills == before.n_fills + s.fills
    assert len({f["fill_id"] for f in fills}) == len(fills)
    assert len({o["order_id"] for o in orders}) == len(orders)  # no client id reused
    assert after.positions[0] == pytest.approx(s.positions[0], abs=1e-9)
    assert set(after.open_orders) <= {o.order_id for o in rt.om.live_orders()}


class Reversing(PaperGateway):
    """Every delivery's events in reverse order (newest first: acks after fills, cancel
    confirmations before the orders' earlier events, local times decreasing)."""

    def take_order_events(self) -> list[OrderEvent]:
        return super().take_order_events()[::-1]


class Delaying(PaperGateway):
    """Every fill reported one delivery late, after the events that followed it (a trade
    message arriving after its order's later updates)."""

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.held: list[OrderEvent] = []
        self.produced = 0

    def take_order_events(self) -> list[OrderEvent]:
        events = super().take_order_events()
        fills = [e for e in events if e.kind == "fill"]
        self.produced += len(fills)
        out = [e for e in events if e.kind != "fill"] + self.held
        self.held = fills
        return out


def test_messages_out_of_order_are_handled_on_the_runtime_clock(tmp_path: Path) -> None:
    """Reversed deliveries (timestamps going backwards) give the same run as in-order ones:
    the order manager runs on the runtime's monotonic clock, not the messages' stamps."""
    ref = asyncio.run(
        Runtime(strategy=glft(), instruments=[MARKET.instrument], gateway=gateway()).run()
    )
    s = asyncio.run(
        Runtime(strategy=glft(), instruments=[MARKET.instrument], gateway=gateway(Reversing)).run()
    )
    assert s.fills == ref.fills > 0 and s.positions[0] == pytest.approx(ref.positions[0], abs=1e-12)


def test_late_fills_are_kept_and_counted_once(tmp_path: Path) -> None:
    """Fills delivered a step late (some after their order's cancel confirmation) are all
    kept, each once: the runtime's fills, the journal's and the gateway's count agree (the
    last step's fills are still held when the feed ends), and the journal's positions equal
    the runtime's."""
    j = journal(tmp_path)
    gw = gateway(Delaying)
    rt = Runtime(strategy=glft(), instruments=[MARKET.instrument], gateway=gw, journal=j)
    s = asyncio.run(rt.run())
    assert isinstance(gw, Delaying)
    delivered = gw.produced - len(gw.held)
    assert s.fills == delivered > 0 and j.recover().n_fills == s.fills
    assert j.recover().positions[0] == pytest.approx(s.positions[0], abs=1e-12)
    j.close()


class RateLimiting(PaperGateway):
    """Every 7th order is refused with a rate-limit error; every accepted submit is logged."""

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.calls = 0
        self.accepted_at: list[int] = []

    async def submit(self, order: NewOrder) -> None:
        self.calls += 1
        if self.calls % 7 == 0:
            raise RateLimitError("429 too many requests")
        await super().submit(order)
        self.accepted_at.append(self.now_ns)


def test_rate_limit_errors_back_off_and_trading_goes_on(tmp_path: Path) -> None:
    """After each rate-limit error no order is sent until the backoff window has passed (the
    windows double while errors repeat), the refused orders are journaled as rejected, and
    trading resumes: fills keep coming and the run is not halted."""
    j = journal(tmp_path)
    gw = gateway(RateLimiting)
    rt = Runtime(
        strategy=glft(),
        instruments=[MARKET.instrument],
        gateway=gw,
        journal=j,
        backoff_s=0.3,
        max_backoff_s=2.0,
    )
    s = asyncio.run(rt.run())
    assert isinstance(gw, RateLimiting)
    assert rt.rate_limited > 5 and rt.sends_in_backoff > 0 and rt.backoffs
    for start, end in rt.backoffs:
        assert not any(start < t < end for t in gw.accepted_at)
        assert end - start <= 2 * 10**9
    assert s.fills > 50 and not s.halts
    reasons = {e["detail"] for e in j.table("order_events") if e["kind"] == "reject"}
    assert {"rate_limited", "rate_limit_backoff"} <= reasons
    j.close()


class Rejecting(PaperGateway):
    """After 10 s of feed every acknowledgement turns into a reject (a frozen account)."""

    def take_order_events(self) -> list[OrderEvent]:
        out = super().take_order_events()
        if self.now_ns > int(self.events["local_ns"][0]) + 10 * 10**9:
            out = [
                OrderEvent("reject", e.order_id, e.local_ns, e.exch_ns, reason="account_frozen")
                if e.kind == "ack"
                else e
                for e in out
            ]
        return out


def test_reject_storm_halts(tmp_path: Path) -> None:
    j = journal(tmp_path)
    rt = Runtime(
        strategy=glft(),
        instruments=[MARKET.instrument],
        gateway=gateway(Rejecting),
        journal=j,
        max_rejects_per_s=5,
    )
    s = asyncio.run(rt.run())
    assert s.halts and s.halts[0].startswith("reject storm")
    causes = [e["cause"] for e in j.table("risk_events") if e["kind"] == "transition"]
    assert causes and causes[0].startswith("reject storm")
    j.close()


class Hiccup(PaperGateway):
    """The feed pauses once, for 0.5 s of wall time, after 200 batches, then flows again."""

    async def market_batches(self) -> AsyncIterator[EventArray]:
        k = 0
        async for b in super().market_batches():
            yield b
            k += 1
            if k == 200:
                await asyncio.sleep(0.5)


@pytest.mark.parametrize("auto", [None, 1.0])
def test_stale_halt_resumes_only_when_configured(tmp_path: Path, auto: float | None) -> None:
    j = journal(tmp_path)
    guard = RiskGuard(
        limits={
            0: InstrumentLimits(
                max_position=1.0, max_order_qty=1.0, max_order_notional=1e9, price_band=0.05
            )
        }
    )
    rt = Runtime(
        strategy=glft(),
        instruments=[MARKET.instrument],
        gateway=gateway(Hiccup),
        guard=guard,
        journal=j,
        stale_after_s=0.2,
        auto_resume_after_s=auto,
    )
    s = asyncio.run(rt.run())
    moves = [
        (e["new_state"], e["cause"]) for e in j.table("risk_events") if e["kind"] == "transition"
    ]
    assert moves[0][0] == "HALTED" and moves[0][1].startswith("stale market data")
    if auto is None:
        assert len(moves) == 1 and s.state == "HALTED"
    else:
        assert moves[1][0] == "ACTIVE" and moves[1][1].startswith("auto resume")
        assert s.state == "ACTIVE"
        resumed = next(e["t_ns"] for e in j.table("risk_events") if e["new_state"] == "ACTIVE")
        assert any(o["created_ns"] > resumed for o in j.table("orders"))  # trading went on
    j.close()


def test_snapshots_agree_with_the_fills(tmp_path: Path) -> None:
    """Every 10 s of feed the journal holds a snapshot whose position is the sum of the fills
    received by then."""
    j = journal(tmp_path)
    rt = Runtime(
        strategy=glft(),
        instruments=[MARKET.instrument],
        gateway=gateway(),
        journal=j,
        snapshot_interval_s=10.0,
    )
    asyncio.run(rt.run())
    snaps = j.table("snapshots")
    fills = j.table("fills")
    assert len(snaps) >= 5
    assert [s["t_ns"] for s in snaps] == sorted(s["t_ns"] for s in snaps)
    for snap in snaps:
        pos = sum(f["side"] * f["qty"] for f in fills if f["local_ns"] <= snap["t_ns"])
        assert snap["position"] == pytest.approx(pos, abs=1e-9)
    j.close()


def test_without_a_guard_a_halt_still_stops_new_orders(tmp_path: Path) -> None:
    """No RiskGuard: after the disconnect halt the runtime stops deciding (no order request
    is journaled after the halt) and reports HALTED."""
    j = journal(tmp_path)
    rt = Runtime(
        strategy=glft(), instruments=[MARKET.instrument], gateway=gateway(Disconnecting), journal=j
    )
    s = asyncio.run(rt.run())
    halted_at = next(e["t_ns"] for e in j.table("risk_events") if e["new_state"] == "HALTED")
    assert s.state == "HALTED"
    assert not [o for o in j.table("orders") if o["created_ns"] > halted_at]
    j.close()


def test_fills_of_orders_the_order_manager_forgot_are_booked_from_the_journal(
    tmp_path: Path,
) -> None:
    """With an order manager that keeps only one terminal order, late fills arrive for orders
    it no longer knows: the runtime books them from the journal's order requests (side and
    instrument), so nothing is lost: journal and runtime agree, and the count matches."""
    from invrisk.order_manager import OrderManager

    j = journal(tmp_path)
    gw = gateway(Delaying)
    rt = Runtime(strategy=glft(), instruments=[MARKET.instrument], gateway=gw, journal=j)
    rt.om = OrderManager(
        tick_sizes=[MARKET.instrument.tick_size], on_event=j.on_order_event, recent_capacity=1
    )
    lookups: list[int] = []
    order_of = j.order_of

    def spy(order_id: int, run_id: str | None = None) -> dict[str, object] | None:
        lookups.append(order_id)
        return order_of(order_id, run_id)

    j.order_of = spy  # type: ignore[method-assign]
    s = asyncio.run(rt.run())
    assert isinstance(gw, Delaying)
    assert lookups  # the journal path was taken
    assert s.fills == gw.produced - len(gw.held) > 0 and rt.unknown_fills == 0
    rec = j.recover()
    assert rec.n_fills == s.fills and rec.positions[0] == pytest.approx(s.positions[0], abs=1e-12)
    j.close()


class Churner:
    """Moves its one bid by a tick at every decision: a cancel and a new order each time."""

    def on_start(self, ctx: Context) -> None:
        self.tick = ctx.instruments[0].tick_size
        self.k = 0

    def on_fill(self, fill: Fill) -> None:
        pass

    def decide(self, view: MarketView, account: AccountView) -> Decision:
        iv = view.instruments[0]
        if not iv.best_bid < iv.best_ask:
            return Decision()
        self.k += 1
        bid = (round(iv.best_bid / self.tick) - 20 - self.k % 2) * self.tick
        return Decision(
            quotes=(QuoteTarget.two_sided(0, bid=bid, ask=None, bid_qty=0.001, ask_qty=0.0),)
        )


def transitions(j: Journal) -> list[tuple[int, str, str]]:
    return [
        (e["t_ns"], e["new_state"], e["cause"])
        for e in j.table("risk_events")
        if e["kind"] == "transition"
    ]


@pytest.mark.parametrize("cool_s", [None, 2.0])
def test_cancel_storm_halts_and_resumes_only_after_its_cool_down(
    tmp_path: Path, cool_s: float | None
) -> None:
    """A strategy replacing its order every 10 ms sends ~100 cancels/s against a limit of 20:
    halted for a cancel storm; with a 2 s cool-down it resumes 2 s of feed later (and halts
    again, as it keeps churning); without one it stays halted."""
    j = journal(tmp_path)
    rt = Runtime(
        strategy=Churner(),
        instruments=[MARKET.instrument],
        gateway=gateway(),
        guard=RiskGuard(
            limits={
                0: InstrumentLimits(
                    max_position=1.0, max_order_qty=1.0, max_order_notional=1e9, price_band=0.05
                )
            }
        ),
        journal=j,
        decision_interval_ns=10_000_000,
        max_cancels_per_s=20,
        auto_resume=None if cool_s is None else {"cancel_storm": cool_s},
    )
    s = asyncio.run(rt.run(max_feed_ns=20 * 10**9))
    moves = transitions(j)
    assert moves[0][1] == "HALTED" and moves[0][2].startswith("cancel storm: 21 cancels")
    if cool_s is None:
        assert len(moves) == 1 and s.state == "HALTED"
    else:
        assert moves[1][1] == "ACTIVE" and moves[1][2].startswith("auto resume: cancel_storm")
        # the cool-down counts from the first step after the halt; the resume comes at the
        # first batch after it (batches span at most 10 ms of feed, and come with events)
        assert 2e9 <= moves[1][0] - moves[0][0] <= 2e9 + 50e6
        assert moves[2][1] == "HALTED"  # it churns again
    j.close()


class Skewing(PaperGateway):
    """From 10 s to 15 s of feed the venue's timestamps run 3 s ahead of our clock."""

    async def market_batches(self) -> AsyncIterator[EventArray]:
        t0 = int(self.events["local_ns"][0])
        async for b in super().market_batches():
            t = int(b["local_ns"][-1]) - t0
            if b.size and 10 * 10**9 <= t < 15 * 10**9:
                b = b.copy()  # the gateway's own rows stay as they are
                b["exch_ns"] += 3 * 10**9
            yield b


def test_clock_skew_halts_and_resumes_once_the_clocks_agree(tmp_path: Path) -> None:
    j = journal(tmp_path)
    rt = Runtime(
        strategy=glft(),
        instruments=[MARKET.instrument],
        gateway=gateway(Skewing),
        guard=RiskGuard(
            limits={
                0: InstrumentLimits(
                    max_position=1.0, max_order_qty=1.0, max_order_notional=1e9, price_band=0.05
                )
            }
        ),
        journal=j,
        max_clock_skew_s=1.0,
        auto_resume={"clock_skew": 1.0},
    )
    s = asyncio.run(rt.run(max_feed_ns=30 * 10**9))
    moves = transitions(j)
    t0 = int(MARKET.events["local_ns"][0])
    assert [m[1] for m in moves] == ["HALTED", "ACTIVE"] and s.state == "ACTIVE"
    assert moves[0][2].startswith("clock skew: local receive time") and "behind" in moves[0][2]
    assert 10e9 <= moves[0][0] - t0 < 10.1e9
    # clear from the first batch after 15 s, resumed one second of feed later
    assert 16e9 <= moves[1][0] - t0 < 16.1e9
    orders = [o["created_ns"] - t0 for o in j.table("orders")]
    assert not [t for t in orders if moves[0][0] - t0 < t < moves[1][0] - t0]
    assert any(t > moves[1][0] - t0 for t in orders)
    j.close()


def test_a_loss_halt_is_never_resumed_automatically(tmp_path: Path) -> None:
    """The RiskGuard halts on its trailing drawdown; auto-resume rules for every runtime halt
    kind (zero cool-down) leave it halted: losses need the operator."""
    from invrisk.live.runtime import HALT_KINDS

    guard = RiskGuard(
        limits={
            0: InstrumentLimits(
                max_position=1.0, max_order_qty=1.0, max_order_notional=1e9, price_band=0.05
            )
        },
        guard=GuardLimits(trailing_drawdown=0.01, reduce_drawdown=0.01),
    )
    rt = Runtime(
        strategy=glft(),
        instruments=[MARKET.instrument],
        gateway=gateway(),
        guard=guard,
        auto_resume=dict.fromkeys(HALT_KINDS, 0.0),
    )
    s = asyncio.run(rt.run())
    assert s.state == "HALTED" and not s.halts  # not a runtime halt
    assert [t.new.name for t in guard.transitions] == ["HALTED"]
    assert guard.transitions[0].cause.startswith("trailing_drawdown")


def test_bad_resume_rules_and_thresholds_are_named() -> None:
    base = {"strategy": glft(), "instruments": [MARKET.instrument], "gateway": gateway()}
    for kw, word in (
        ({"auto_resume": {"weather": 1.0}}, "auto_resume"),
        ({"auto_resume": {"stale": -1.0}}, "auto_resume['stale']"),
        ({"max_cancels_per_s": 0}, "max_cancels_per_s"),
        ({"max_clock_skew_s": 0.0}, "max_clock_skew_s"),
    ):
        with pytest.raises(InvalidArgumentError, match=word.replace("[", r"\[")):
            Runtime(**base, **kw)  # type: ignore[arg-type]


def test_status_panel_marks_pnl_and_delta_for_linear_and_inverse() -> None:
    """The run panel's P&L (cash + position at the mid) and delta: a linear perpetual's delta
    is q × size coins; an inverse one's is q × size USD of notional, i.e. q × size / mid coins."""
    from types import SimpleNamespace

    from invrisk.cli_run import _greeks_rows
    from invrisk.data.synthetic_market import synthetic_perpetual

    book = SimpleNamespace(best_bid=49_999.0, best_ask=50_001.0)
    linear = SimpleNamespace(
        books=[book], instruments=[synthetic_perpetual("linear")], position=[0.5], cash=[-24_000.0]
    )
    rows = dict(_greeks_rows(linear))
    size = linear.instruments[0].contract_size
    assert rows["P&L (marked to mid)"].startswith(f"{-24_000.0 + 0.5 * size * 50_000:+,.6g}")
    assert rows["delta"].startswith(f"{0.5 * size:+,.6g} BTC")
    inv = synthetic_perpetual("inverse")
    inverse = SimpleNamespace(books=[book], instruments=[inv], position=[10.0], cash=[0.02])
    rows = dict(_greeks_rows(inverse))
    notional = 10.0 * inv.contract_size
    assert rows["delta"] == (f"{notional / 50_000:+,.6g} {inv.base} ({notional:+,.2f} {inv.quote})")
    assert rows["P&L (marked to mid)"].startswith(f"{0.02 - notional / 50_000:+,.6g}")
    empty = SimpleNamespace(books=[None], instruments=[inv], position=[0.0], cash=[0.0])
    assert _greeks_rows(empty) == []
