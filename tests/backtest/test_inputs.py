"""Bad input to run_backtest gets a clear error, and a memory-mapped stream gives the same run.

Each error names the argument, the value and what is allowed (for event rows, the row).
"""

from __future__ import annotations

import numpy as np
import pytest

from invrisk.backtest import Fees, run_backtest
from invrisk.backtest import engine as _engine
from invrisk.data.events import EventKind, events_from_columns
from invrisk.data.synthetic_market import benchmark_stream, synthetic_perpetual
from invrisk.errors import InvalidArgumentError
from invrisk.market.book import book_range, book_window
from invrisk.risk.limits import InstrumentLimits, RiskGuard
from invrisk.strategies import GLFTMarketMaker, Hold
from invrisk.units import NS_PER_SECOND

LINEAR = synthetic_perpetual("linear")
T0 = 1_767_225_600_000_000_000


def stream(n: int = 6) -> np.ndarray:
    ex = T0 + np.arange(n, dtype=np.int64) * 1_000_000
    return events_from_columns(
        exch_ns=ex,
        local_ns=ex + 1_000,
        kind=[EventKind.DEPTH] * n,
        side=[1, -1] * (n // 2),
        price=[100.0, 100.2] * (n // 2),
        qty=[1.0] * n,
    )


def run(**kw: object) -> object:
    args: dict[str, object] = {
        "events": stream(),
        "instruments": [LINEAR],
        "strategy": Hold(),
    }
    args.update(kw)
    return run_backtest(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "pattern"),
    [
        ({"instruments": []}, r"instruments.*empty list"),
        ({"events": [1, 2]}, r"events.*list.*EVENT_DTYPE"),
        ({"events": np.zeros(3)}, r"events.*dtype float64.*EVENT_DTYPE"),
        ({"events": stream()[:0]}, r"events.*empty array"),
        ({"fees": [Fees(), Fees()]}, r"fees.*2 entries"),
        ({"decision_interval_ns": 0}, r"decision_interval_ns.*0.*int > 0"),
        ({"decision_interval_ns": True}, r"decision_interval_ns"),
        ({"funding_interval_ns": -1}, r"funding_interval_ns.*-1.*>= 0"),
        ({"backend": "cuda"}, r"backend.*cuda.*'numba' or 'python'"),
    ],
)
def test_bad_arguments_name_the_argument(kw: dict[str, object], pattern: str) -> None:
    with pytest.raises(InvalidArgumentError, match=pattern):
        run(**kw)


def test_unsorted_rows_name_the_row_also_across_chunks() -> None:
    ev = stream(10)
    ev["local_ns"][7] = ev["local_ns"][6] - 1
    with pytest.raises(InvalidArgumentError, match=r"local_ns decreases at row 7"):
        run(events=ev)
    for chunk in (3, 7, 4):  # the decrease inside a chunk and at a chunk boundary
        for backend in ("numba", "python"):
            with pytest.raises(InvalidArgumentError, match=r"local_ns decreases at row 7"):
                _engine._check_events(ev, [LINEAR], backend, chunk=chunk)


def test_instrument_out_of_range_names_the_row() -> None:
    ev = stream()
    ev["instrument"][4] = 2
    with pytest.raises(InvalidArgumentError, match=r"instrument 2 at row 4.*0\.\.0"):
        run(events=ev)


def test_guard_needs_one_settlement_currency() -> None:
    inverse = synthetic_perpetual("inverse")
    ev = np.concatenate([stream(), stream()])
    ev["instrument"][6:] = 1
    ev = ev[np.argsort(ev["local_ns"], kind="stable")]
    lim = InstrumentLimits(
        max_position=1.0, max_order_qty=1.0, max_order_notional=1e6, price_band=0.1
    )
    guard = RiskGuard(limits={0: lim, 1: lim})
    with pytest.raises(InvalidArgumentError, match=r"guard.*one settlement currency"):
        run(events=ev, instruments=[LINEAR, inverse], guard=guard)


def test_scan_notes_exchange_order_and_first_exchange_time() -> None:
    ev = stream(8)
    scan = _engine._check_events(ev, [LINEAR], chunk=3)
    assert scan.exch_sorted and scan.first_exch_ns == T0
    ev["exch_ns"][5] = T0 - 7  # arrived late: out of exchange order, and the earliest
    scan = _engine._check_events(ev, [LINEAR], chunk=3)
    assert not scan.exch_sorted and scan.first_exch_ns == T0 - 7


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scan_tick_ranges_are_book_ranges_per_instrument(seed: int) -> None:
    """The one-pass scan's priced tick range per instrument gives book_range's window (its
    own vectorised pass over that instrument's rows), with both twins of the scan kernel."""
    rng = np.random.default_rng(seed)
    n = 5_000
    ex = T0 + np.cumsum(rng.integers(0, 1_000_000, n)).astype(np.int64)
    ev = events_from_columns(
        exch_ns=ex,
        local_ns=ex + 1_000,
        kind=rng.choice([int(k) for k in EventKind], n),
        side=rng.choice([1, -1], n),
        price=np.where(rng.random(n) < 0.02, np.nan, 100.0 + rng.normal(0.0, 3.0, n)),
        qty=rng.random(n),
    )
    ev["instrument"] = rng.integers(0, 2, n)
    inverse = synthetic_perpetual("inverse")
    instruments = [LINEAR, inverse]
    for backend in ("numba", "python"):
        scan = _engine._check_events(ev, instruments, backend, chunk=777)
        for i, inst in enumerate(instruments):
            rows = ev[ev["instrument"] == i]
            assert scan.n_rows[i] == rows.size
            want = book_range(rows, inst.tick_size, margin_ticks=5)
            got = book_window(scan.lo_tick[i], scan.hi_tick[i], margin_ticks=5)
            assert got == want


def test_window_too_wide_for_max_ticks_is_centred_as_book_range_does() -> None:
    ev = stream(8)
    ev["price"][3] = 10_000.0  # one far level: the range is wider than max_ticks
    res = run(events=ev, max_ticks=500)
    want = book_range(ev, LINEAR.tick_size, margin_ticks=2_000, max_ticks=500)
    assert want.n_ticks == 500
    assert res.out_of_window > 0  # type: ignore[attr-defined]


def test_memory_mapped_stream_with_released_pages_gives_the_same_run(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GLFT strategy reads the event views it buffered after the engine released their
    pages (a tiny lag forces releases every few decisions): the run must be identical to the
    in-memory one, fill for fill."""
    market = benchmark_stream(60_000, seed=2)
    path = f"{tmp_path}/stream.npy"
    np.save(path, market.events)

    def glft() -> GLFTMarketMaker:
        return GLFTMarketMaker(gamma=0.05, q_max=0.1, order_qty=0.01, window_ns=20 * NS_PER_SECOND)

    ref = run_backtest(events=market.events, instruments=[market.instrument], strategy=glft())
    released: list[int] = []
    real = _engine.release_rows

    def spy(events: np.ndarray, lo: int, hi: int) -> None:
        released.append(hi - lo)
        real(events, lo, hi)

    monkeypatch.setattr(_engine, "RELEASE_LAG_ROWS", 500)
    monkeypatch.setattr(_engine, "release_rows", spy)
    mapped = np.load(path, mmap_mode="r")
    got = run_backtest(events=mapped, instruments=[market.instrument], strategy=glft())
    assert sum(released) > 50_000  # nearly all rows were released behind the replay
    assert ref.fills.size > 0
    np.testing.assert_array_equal(got.fills, ref.fills)
    np.testing.assert_array_equal(got.t_ns, ref.t_ns)
    assert got.summary() == ref.summary()


def test_order_log_agrees_with_the_fills_and_the_guard() -> None:
    """Every order placed is in the log once; its filled quantity is the sum of its fills, a
    filled order's end time is its last fill's, every order ended is at or after it was sent,
    and the orders the RiskGuard refused carry its reason."""
    from invrisk.order_manager import OrderStatus
    from invrisk.risk.limits import GuardLimits, InstrumentLimits, RiskGuard

    market = benchmark_stream(60_000, seed=4)
    guard = RiskGuard(
        limits={
            0: InstrumentLimits(
                max_position=0.02, max_order_qty=1.0, max_order_notional=1e9, price_band=0.05
            )
        },
        guard=GuardLimits(max_orders_per_s=15),
    )
    strat = GLFTMarketMaker(gamma=0.05, q_max=0.1, order_qty=0.01, window_ns=20 * NS_PER_SECOND)
    r = run_backtest(
        events=market.events, instruments=[market.instrument], strategy=strat, guard=guard
    )
    log = r.orders
    assert log.size == r.orders_sent and np.unique(log["order_id"]).size == log.size
    for row in log:
        f = r.fills[r.fills["order_id"] == row["order_id"]]
        assert row["filled"] == pytest.approx(float(f["qty"].sum()), abs=1e-12)
        if row["status"] == OrderStatus.FILLED:
            assert row["done_ns"] == int(f["local_ns"].max())
        if row["done_ns"] >= 0:
            assert row["done_ns"] >= row["sent_ns"]
    refused = log[np.char.startswith(log["reason"], "risk:")]
    assert refused.size == sum(r.rejections.values()) > 0
    assert set(refused["status"]) == {int(OrderStatus.REJECTED)}
