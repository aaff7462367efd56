"""The event dtype: layout, construction and validation."""

from __future__ import annotations

import numpy as np
import pytest

from invrisk.data.events import (
    EVENT_DTYPE,
    EventKind,
    Side,
    empty_events,
    events_from_columns,
    is_sorted_by_local_time,
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
