"""Tests of invrisk.data.validate: hand-built event arrays with known defects, and real data.

The real-data cases start from the Binance USD-M BTCUSDT recording in shared/data (clean per
its PROVENANCE.txt: 0 gaps, 0 crossed books) and remove or duplicate rows to plant a defect.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from invrisk.data.binance import read_binance_stream
from invrisk.data.events import EventArray, EventKind, Side, events_from_columns
from invrisk.data.validate import ClockOffsetStats, infer_tick_size, validate_events
from invrisk.errors import DataWarning, InvalidArgumentError
from tests.conftest import require_data

USDM_BTC = "binance_l2_trades_2024-08-08_hftbacktest/usdm_btcusdt_20240808.gz"
SPOT_0808 = "binance_l2_trades_2024-08-08_hftbacktest/spot_btcusdt_20240808.gz"
K = EventKind
B, A = Side.BID, Side.ASK
S = 1_000_000_000
T0 = 1_723_161_255 * S


def _ev(rows: list[tuple[int, int, int, float, float, int, int, int]]) -> EventArray:
    """Rows of (local, kind, side, price, qty, update_id, first_id, prev_id).

    ``local_ns = T0 + local``; ``exch_ns = local_ns - 1 s``.
    """
    cols = list(zip(*rows, strict=True))
    local = T0 + np.array(cols[0], dtype=np.int64)
    return events_from_columns(
        exch_ns=local - S, local_ns=local, kind=cols[1], side=cols[2], price=cols[3],
        qty=cols[4], update_id=cols[5], first_id=cols[6], prev_id=cols[7],
    )  # fmt: skip


def _book(prev_style: bool = True) -> list[tuple[int, int, int, float, float, int, int, int]]:
    """CLEAR + 2x2 snapshot (id 100), then three chained diffs (futures or spot style)."""
    pu = (lambda x: x) if prev_style else (lambda x: -1)
    return [
        (1, K.CLEAR, 0, 0.0, 0.0, -1, -1, -1),
        (1, K.SNAPSHOT, B, 10.0, 1.0, 100, -1, -1),
        (1, K.SNAPSHOT, B, 9.9, 1.0, 100, -1, -1),
        (1, K.SNAPSHOT, A, 10.1, 1.0, 100, -1, -1),
        (1, K.SNAPSHOT, A, 10.2, 1.0, 100, -1, -1),
        (2, K.DEPTH, B, 10.0, 2.0, 102, 100 if prev_style else 101, pu(99)),
        (3, K.TRADE, A, 10.0, 0.5, 7, -1, -1),
        (4, K.DEPTH, A, 10.1, 0.5, 105, 103, pu(102)),
        (4, K.DEPTH, B, 9.8, 1.0, 105, 103, pu(102)),
        (5, K.BBO, B, 10.0, 2.0, 105, -1, -1),
        (5, K.BBO, A, 10.1, 0.5, 105, -1, -1),
        (6, K.DEPTH, B, 9.9, 0.0, 106, 106, pu(105)),
    ]


@pytest.mark.parametrize("prev_style", [True, False])
def test_clean_events(prev_style: bool) -> None:
    ev = _ev(_book(prev_style))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rep = validate_events(ev, path="book.gz")
    assert rep.ok
    assert rep.tick_size == 0.1
    assert rep.counts["DEPTH"] == 4 and rep.counts["SNAPSHOT"] == 4 and rep.counts["BBO"] == 2
    assert (rep.n_nonmonotonic, rep.n_duplicates, rep.n_crossed, rep.n_gaps) == (0, 0, 0, 0)
    assert rep.clock_offset is not None
    assert rep.clock_offset.median_ns == S  # local - exch
    assert rep.clock_offset.n_messages == 6  # one sample per (local, exch) message
    out = rep.as_dict()
    assert json.loads(json.dumps(out))["ok"] is True


def test_nonmonotonic_rows() -> None:
    rows = _book()
    rows[6] = (1, K.TRADE, A, 10.0, 0.5, 7, -1, -1)  # local 1 after local 2
    with pytest.warns(DataWarning, match=r"book\.gz, row 6: local_ns earlier"):
        rep = validate_events(_ev(rows), path="book.gz")
    assert rep.n_nonmonotonic == 1 and rep.nonmonotonic_rows == (6,)
    assert not rep.ok


def test_duplicate_rows_are_bit_identical() -> None:
    rows = _book()
    rows.insert(7, rows[6])  # the trade twice
    ev = _ev(rows)
    with pytest.warns(DataWarning, match="row 7: identical to an earlier row"):
        rep = validate_events(ev)
    assert rep.duplicate_rows == (7,)
    ev2 = _ev(_book())
    ev2 = np.concatenate([ev2, ev2[-1:]])
    ev2["qty"][-1] = -0.0  # 0.0 and -0.0 differ bit for bit: not a duplicate
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert validate_events(ev2).n_duplicates == 0


def test_crossed_snapshot_and_later_crossing() -> None:
    rows = _book()
    rows[2] = (1, K.SNAPSHOT, B, 10.3, 1.0, 100, -1, -1)  # bid 10.3 >= ask 10.1
    with pytest.warns(DataWarning, match="row 4: crossed book"):
        rep = validate_events(_ev(rows))
    # Crossed at the snapshot's end (row 4) and after every later message: nothing removes
    # the 10.3 bid (no repair), and only the first crossing follows a reset.
    assert rep.crossed_rows == (4, 5, 8, 11)
    assert rep.crossed_after_reset_rows == (4,)


def test_transient_cross_inside_a_message_is_not_reported() -> None:
    rows = _book()
    # One message (same local and update id): a bid at 10.1 before the 10.1 ask is removed.
    rows[7] = (4, K.DEPTH, B, 10.1, 1.0, 105, 103, 102)
    rows[8] = (4, K.DEPTH, A, 10.1, 0.0, 105, 103, 102)
    rows[9] = (5, K.BBO, B, 10.1, 1.0, 105, -1, -1)
    rows[10] = (5, K.BBO, A, 10.2, 1.0, 105, -1, -1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rep = validate_events(_ev(rows))
    assert rep.n_crossed == 0


@pytest.mark.parametrize(
    ("index", "row", "rule"),
    [
        (7, (4, K.DEPTH, A, 10.1, 0.5, 105, 103, 101), "prev_id == previous u"),
        (5, (2, K.DEPTH, B, 10.0, 2.0, 102, 101, 99), "first_id <= snapshot id <= u"),
    ],
)
def test_futures_gaps(
    index: int, row: tuple[int, int, int, float, float, int, int, int], rule: str
) -> None:
    rows = _book()
    rows[index] = row
    if index == 7:
        rows[8] = (4, K.DEPTH, B, 9.8, 1.0, 105, 103, 101)
    with pytest.warns(DataWarning, match=rf"row {index}: depth update-id gap"):
        rep = validate_events(_ev(rows))
    (gap,) = rep.gaps
    assert (gap.row, gap.rule) == (index, rule)


def test_spot_gap_and_clear_stops_checks() -> None:
    rows = _book(prev_style=False)
    rows[11] = (6, K.DEPTH, B, 9.9, 0.0, 108, 107, -1)  # U 107 != 105 + 1
    with pytest.warns(DataWarning, match="first_id == previous u \\+ 1"):
        rep = validate_events(_ev(rows))
    assert rep.n_gaps == 1 and rep.gaps[0].expected == 106 and rep.gaps[0].got == 107
    # After a CLEAR there is no book: the same break is not checked.
    rows.insert(11, (6, K.CLEAR, 0, 0.0, 0.0, -1, -1, -1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert validate_events(_ev(rows)).n_gaps == 0


def test_off_grid_prices_skip_the_book() -> None:
    rows = _book()
    rows[8] = (4, K.DEPTH, B, 9.85, 1.0, 105, 103, 102)
    with pytest.warns(
        DataWarning, match="row 8: price 9.85 is not a multiple of the tick size 0.1"
    ):
        rep = validate_events(_ev(rows), tick_size=0.1)
    assert rep.off_grid_rows == (8,) and rep.n_crossed is None
    assert not rep.ok


def test_clock_drift_is_warned() -> None:
    n = 600
    local = np.arange(n, dtype=np.int64) * S  # one trade a second for ten minutes
    offset = np.where(local < 300 * S, -1_270_000_000, -1_000_000_000)  # a 270 ms jump
    ev = events_from_columns(exch_ns=local - offset, local_ns=local, kind=K.TRADE, side=B,
                             price=100.0, qty=1.0, update_id=np.arange(n))  # fmt: skip
    with pytest.warns(DataWarning, match="drifts by 270000000 ns"):
        rep = validate_events(ev)
    clock = rep.clock_offset
    assert isinstance(clock, ClockOffsetStats)
    assert len(clock.window_medians_ns) == 10
    assert clock.drift_ns == 270_000_000
    assert (clock.p1_ns, clock.p99_ns) == (-1_270_000_000, -1_000_000_000)
    known = np.zeros(n, bool)
    known[:100] = True
    rep2 = validate_events(ev, exch_known=known)
    assert rep2.clock_offset is not None and rep2.clock_offset.n_messages == 100


def test_infer_tick_size() -> None:
    assert infer_tick_size(np.array([61685.99, 61686.0, 61700.5])) == 0.01
    assert infer_tick_size(np.array([2681.38, 2681.4])) == 0.02  # few prices: a multiple
    assert infer_tick_size(np.array([1.0, 2.0, 4.0])) == 1.0
    assert np.isnan(infer_tick_size(np.array([], dtype=float)))
    assert np.isnan(infer_tick_size(np.array([np.pi])))


def test_invalid_arguments() -> None:
    ev = _ev(_book())
    with pytest.raises(InvalidArgumentError, match="events"):
        validate_events(np.zeros(3))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="tick_size"):
        validate_events(ev, tick_size=-1.0)
    with pytest.raises(InvalidArgumentError, match="exch_known"):
        validate_events(ev, exch_known=np.ones(2, bool))
    with pytest.raises(InvalidArgumentError, match="window_ns"):
        validate_events(ev, window_ns=0)


# --------------------------------------------------------------------------------------------
# Real data
# --------------------------------------------------------------------------------------------


def test_real_stream_with_a_removed_depth_message_has_one_gap() -> None:
    s = read_binance_stream(require_data(USDM_BTC))
    ev = s.events
    dep = np.flatnonzero(ev["kind"] == K.DEPTH)
    ids = np.unique(ev["update_id"][dep])
    drop_id = ids[len(ids) // 2]
    keep = ~((ev["kind"] == K.DEPTH) & (ev["update_id"] == drop_id))
    cut = ev[keep]
    with pytest.warns(DataWarning, match=r"btc\.gz, row \d+: depth update-id gap"):
        rep = validate_events(cut, path="btc.gz", tick_size=s.tick_size,
                              exch_known=~s.exch_from_local[keep])  # fmt: skip
    (gap,) = rep.gaps
    assert gap.rule == "prev_id == previous u"
    assert gap.expected == ids[len(ids) // 2 - 1] and gap.got == drop_id
    assert cut["update_id"][gap.row] == ids[len(ids) // 2 + 1]
    assert cut["update_id"][gap.row - 1] != cut["update_id"][gap.row]


def test_real_spot_stream_tick_and_duplicate() -> None:
    s = read_binance_stream(require_data(SPOT_0808))
    ev = s.events
    bbo = np.flatnonzero(ev["kind"] == K.BBO)[100]
    dup = np.insert(ev, bbo + 2, ev[bbo : bbo + 2])  # one bookTicker recorded twice
    known = np.insert(~s.exch_from_local, bbo + 2, [False, False])
    with pytest.warns(DataWarning, match="identical to an earlier row"):
        rep = validate_events(dup, path="spot.gz", exch_known=known)
    assert rep.tick_size == 0.01  # inferred from the prices, as the reader's
    assert rep.duplicate_rows == (bbo + 2, bbo + 3)
    assert rep.n_crossed == 0 and rep.n_gaps == 0
