"""The event dtype: layout, construction and validation."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from invrisk.data.events import (
    EVENT_DTYPE,
    EventKind,
    Side,
    empty_events,
    events_from_columns,
    is_sorted_by_local_time,
    iter_chunks,
    non_decreasing,
    release_rows,
)
from invrisk.errors import InvalidArgumentError


def test_layout() -> None:
    assert EVENT_DTYPE.names == (
        "exch_ns", "local_ns", "kind", "side", "price", "qty", "update_id", "first_id",
        "prev_id", "instrument",
    )  # fmt: skip
    assert EVENT_DTYPE["exch_ns"] == np.int64 and EVENT_DTYPE["local_ns"] == np.int64
    assert EVENT_DTYPE.isalignedstruct


def test_empty_events_have_no_ids() -> None:
    e = empty_events(3)
    assert np.all(e["update_id"] == -1) and np.all(e["first_id"] == -1)
    assert np.all(e["prev_id"] == -1) and np.all(e["kind"] == 0)
    with pytest.raises(InvalidArgumentError, match="n"):
        empty_events(-1)


def test_from_columns_broadcasts_and_checks() -> None:
    e = events_from_columns(
        exch_ns=[10, 20],
        local_ns=[11, 21],
        kind=EventKind.TRADE,
        side=[Side.BID, Side.ASK],
        price=100.5,
        qty=[0.1, 0.2],
        update_id=[7, 8],
    )
    assert e["price"].tolist() == [100.5, 100.5] and e["side"].tolist() == [1, -1]
    assert e["update_id"].tolist() == [7, 8] and e["first_id"].tolist() == [-1, -1]
    assert is_sorted_by_local_time(e)
    assert not is_sorted_by_local_time(e[::-1])
    with pytest.raises(InvalidArgumentError, match="kind"):
        events_from_columns(exch_ns=0, local_ns=0, kind=42, side=0, price=1.0, qty=1.0)
    with pytest.raises(InvalidArgumentError, match="side"):
        events_from_columns(exch_ns=0, local_ns=0, kind=1, side=2, price=1.0, qty=1.0)
    with pytest.raises(InvalidArgumentError, match="columns"):
        events_from_columns(exch_ns=[0, 1], local_ns=[0, 1, 2], kind=1, side=0, price=1.0, qty=1.0)


# -- page release of memory-mapped streams -------------------------------------------------


def _rss_file_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssFile:"):
                return int(line.split()[1])
    raise AssertionError("no RssFile in /proc/self/status")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="madvise release is Linux-only")
def test_release_rows_drops_resident_pages_and_keeps_values(tmp_path: Path) -> None:
    n = 1_000_000  # 72 MB
    ev = empty_events(n)
    ev["price"] = np.arange(n, dtype=np.float64)
    path = tmp_path / "ev.npy"
    np.save(path, ev)
    del ev
    mapped = np.load(path, mmap_mode="r")
    view = mapped.view(np.ndarray)[10:]  # a view of the map, as the engine holds it
    before = _rss_file_kb()
    assert float(view["price"].sum()) == float(np.arange(10, n).sum())  # touches every page
    touched = _rss_file_kb()
    assert touched - before > 50_000
    release_rows(view, 0, view.shape[0])
    assert touched - _rss_file_kb() > 50_000
    assert float(view["price"][123_456]) == 123_466.0  # faulted back in, same bytes
    chunks = [(lo, part.shape[0]) for lo, part in iter_chunks(view, 300_000)]
    assert chunks == [(0, 300_000), (300_000, 300_000), (600_000, 300_000), (900_000, 99_990)]


def test_release_rows_leaves_other_arrays_alone(tmp_path: Path) -> None:
    ev = empty_events(100_000)
    ev["price"] = 1.0
    path = tmp_path / "ev.npy"
    np.save(path, ev)
    cow = np.load(path, mmap_mode="c")  # copy-on-write: a release would drop the change
    cow["price"][5] = 7.0
    release_rows(cow, 0, cow.shape[0])
    assert float(cow["price"][5]) == 7.0
    release_rows(ev, 0, ev.shape[0])  # in memory: nothing to do
    assert float(ev["price"].sum()) == 100_000.0


def test_non_decreasing_across_chunk_boundaries() -> None:
    x = np.arange(10, dtype=np.int64)
    assert non_decreasing(x, chunk=3)
    x[6] = 4  # 5 -> 4 at the boundary of the second chunk
    assert not non_decreasing(x, chunk=3)
    assert not is_sorted_by_local_time(
        events_from_columns(
            exch_ns=x, local_ns=x, kind=[1] * 10, side=[1] * 10, price=[1.0] * 10, qty=[1.0] * 10
        )
    )
