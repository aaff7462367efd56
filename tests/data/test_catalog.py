"""The Parquet catalog: round trips, idempotency, overlap de-duplication, ranges, streaming."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from invrisk.data.catalog import (
    EVENT_SCHEMA,
    MANIFEST_NAME,
    Catalog,
    detect_format,
    events_from_table,
    events_to_table,
    file_sha256,
    read_events_parquet,
    write_events_parquet,
)
from invrisk.data.events import EVENT_DTYPE, EventArray, EventKind, empty_events
from invrisk.errors import DataError, DataWarning, InvalidArgumentError
from invrisk.units import NS_PER_DAY, NS_PER_SECOND, to_ns
from tests.conftest import require_data

DAY0 = to_ns("2024-08-08")


def make_events(
    n: int, *, seed: int = 0, start_ns: int = DAY0, span_ns: int = NS_PER_DAY
) -> EventArray:
    """``n`` sorted events with every field populated (prices on a 0.1 grid)."""
    rng = np.random.default_rng(seed)
    ev = empty_events(n)
    ev["local_ns"] = np.sort(rng.integers(start_ns, start_ns + span_ns, n))
    ev["exch_ns"] = ev["local_ns"] - rng.integers(0, 2_000_000, n)
    ev["kind"] = rng.choice([int(EventKind.DEPTH), int(EventKind.TRADE), int(EventKind.BBO)], n)
    ev["side"] = rng.choice([-1, 1], n)
    ev["price"] = np.round(60_000 + rng.normal(0, 50, n), 1)
    ev["qty"] = np.round(rng.exponential(0.5, n), 3)
    ev["update_id"] = 1_000_000 + np.arange(n)
    ev["first_id"] = ev["update_id"] - 2
    ev["prev_id"] = ev["update_id"] - 3
    return ev


def merged(*arrays: EventArray) -> EventArray:
    """Reference merge (independent of the catalog): stable sort on local_ns."""
    joined = np.concatenate(arrays)
    return joined[np.argsort(joined["local_ns"], kind="stable")]


# -- round trip and layout ---------------------------------------------------------------------


def test_round_trip_identical_over_several_days(tmp_path: Path) -> None:
    ev = make_events(5_000, span_ns=3 * NS_PER_DAY)
    cat = Catalog(tmp_path / "cat")
    result = cat.import_events(ev, venue="binance-futures", symbol="BTCUSDT")
    assert result.status == "imported" and result.rows == len(ev)
    assert [p.date for p in result.parts] == ["2024-08-08", "2024-08-09", "2024-08-10"]
    back = cat.events("binance-futures", "BTCUSDT")
    assert back.dtype == EVENT_DTYPE
    assert np.array_equal(back, ev)
    # the layout: venue / symbol / type / date / part-<hash16>.parquet
    first = tmp_path / "cat" / result.parts[0].file
    assert first.exists()
    assert first.relative_to(tmp_path / "cat").parts[:4] == (
        "venue=binance-futures",
        "symbol=BTCUSDT",
        "type=events",
        "date=2024-08-08",
    )
    assert first.name == f"part-{result.source_id[:16]}.parquet"
    # int64 ns are stored as int64, not as Arrow timestamps
    assert ds.dataset(first).schema.field("local_ns").type == pa.int64()
    assert sum(p.rows for p in result.parts) == len(ev)


def test_manifest_records_the_source(tmp_path: Path) -> None:
    ev = make_events(100)
    cat = Catalog(tmp_path)
    result = cat.import_events(ev, venue="v", symbol="S", name="mine")
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())
    (record,) = manifest["sources"]
    assert record["id"] == result.source_id and record["name"] == "mine"
    assert record["rows"] == 100
    assert record["start_ns"] == int(ev["local_ns"].min())
    assert record["end_ns"] == int(ev["local_ns"].max())
    assert record["parts"][0]["file"] == result.parts[0].file
    # written atomically: no temporary file is left beside it
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert not (tmp_path / ".staging").exists()


def test_hive_layout_is_readable_by_pyarrow_directly(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    cat.import_events(make_events(300, span_ns=2 * NS_PER_DAY), venue="v", symbol="S")
    dataset = ds.dataset(
        tmp_path, format="parquet", partitioning="hive", exclude_invalid_files=True
    )
    table = dataset.to_table(filter=ds.field("date") == "2024-08-09")
    assert 0 < table.num_rows < 300
    assert set(EVENT_SCHEMA.names) <= set(table.schema.names)


def test_arrow_conversion_round_trip_and_single_file(tmp_path: Path) -> None:
    ev = make_events(1234)
    assert np.array_equal(events_from_table(events_to_table(ev)), ev)
    path = tmp_path / "x.parquet"
    assert write_events_parquet(path, ev, row_group_rows=100) == len(ev)
    assert np.array_equal(read_events_parquet(path), ev)
    assert write_events_parquet(path, iter(np.array_split(ev, 5)), row_group_rows=300) == len(ev)
    assert np.array_equal(read_events_parquet(path), ev)
    assert write_events_parquet(path, iter([])) == 0
    assert len(read_events_parquet(path)) == 0


# -- idempotency and overlaps ------------------------------------------------------------------


def test_reimport_same_source_does_nothing(tmp_path: Path) -> None:
    ev = make_events(1000)
    cat = Catalog(tmp_path)
    first = cat.import_events(ev, venue="v", symbol="S")
    mtime = (tmp_path / first.parts[0].file).stat().st_mtime_ns
    again = cat.import_events(ev, venue="v", symbol="S")
    assert again.status == "already_imported" and not again.imported
    assert again.source_id == first.source_id
    assert len(cat.sources()) == 1
    assert (tmp_path / first.parts[0].file).stat().st_mtime_ns == mtime
    assert np.array_equal(cat.events("v", "S"), ev)
    assert cat.ls()[0].rows == 1000


def test_overlapping_sources_do_not_duplicate_rows(tmp_path: Path) -> None:
    ev = make_events(2000)
    a, b = ev[:1200], ev[800:]  # 400 rows in both recordings
    cat = Catalog(tmp_path)
    cat.import_events(a, venue="v", symbol="S")
    rb = cat.import_events(b, venue="v", symbol="S")
    assert rb.imported and rb.overlaps == (cat.sources()[0]["id"],)
    assert np.array_equal(cat.events("v", "S"), ev)
    # without de-duplication the overlap is there twice
    assert len(cat.events("v", "S", dedup=False)) == 2400
    assert cat.ls()[0].rows == 2400  # ls reports rows stored


def test_overlap_rule_is_a_multiset_max_and_keeps_distinct_rows(tmp_path: Path) -> None:
    ev = make_events(50)
    twice = np.concatenate([ev[:10], ev[5:6], ev[10:]])  # row 5 really occurs twice in A
    twice = twice[np.argsort(twice["local_ns"], kind="stable")]
    other = ev[:20].copy()
    other["qty"][3] += 1.0  # same time, different size: a different record, kept
    cat = Catalog(tmp_path)
    cat.import_events(twice, venue="v", symbol="S")
    cat.import_events(other, venue="v", symbol="S")
    got = cat.events("v", "S")
    assert len(got) == len(twice) + 1
    assert int(np.sum(got == ev[5])) == 2
    assert int(np.sum(got == other[3])) == 1 and int(np.sum(got == ev[3])) == 1


def test_result_does_not_depend_on_import_order(tmp_path: Path) -> None:
    a = make_events(700, seed=1)
    b = make_events(700, seed=2)
    b["local_ns"][:50] = a["local_ns"][:50]  # ties between sources
    b.sort(order="local_ns", kind="stable")
    one, two = Catalog(tmp_path / "1"), Catalog(tmp_path / "2")
    one.import_events(a, venue="v", symbol="S")
    one.import_events(b, venue="v", symbol="S")
    two.import_events(b, venue="v", symbol="S")
    two.import_events(a, venue="v", symbol="S")
    got = one.events("v", "S")
    assert np.array_equal(got, two.events("v", "S"))
    assert np.array_equal(np.sort(got["local_ns"]), got["local_ns"])
    assert len(got) == 1400


def test_source_order_is_kept_when_local_time_steps_back(tmp_path: Path) -> None:
    ev = make_events(100)
    ev[[40, 41]] = ev[[41, 40]]  # one step back, as in a Tardis file after a snapshot
    other = make_events(100, seed=9)
    other["update_id"] += 10_000_000
    cat = Catalog(tmp_path)
    cat.import_events(ev, venue="v", symbol="S")
    assert np.array_equal(cat.events("v", "S"), ev)  # one source: exactly its order
    cat.import_events(other, venue="v", symbol="S")
    got = cat.events("v", "S")
    assert len(got) == 200
    assert np.array_equal(got[got["update_id"] < 10_000_000], ev)  # merged, not reordered
    assert np.array_equal(got[got["update_id"] >= 10_000_000], other)


def test_import_chunks_hashes_the_stream(tmp_path: Path) -> None:
    ev = make_events(3000, span_ns=2 * NS_PER_DAY)
    cat = Catalog(tmp_path, row_group_rows=500)
    first = cat.import_chunks(iter(np.array_split(ev, 7)), venue="v", symbol="S")
    again = cat.import_chunks(iter(np.array_split(ev, 3)), venue="v", symbol="S")
    assert first.imported and again.status == "already_imported"
    assert again.source_id == first.source_id
    assert np.array_equal(cat.events("v", "S"), ev)
    assert not (tmp_path / ".staging").exists()


def test_several_instruments_go_to_their_symbols(tmp_path: Path) -> None:
    ev = make_events(400)
    ev["instrument"] = np.arange(400) % 2
    cat = Catalog(tmp_path)
    cat.import_events(ev, venue="deribit", symbol=["BTC-PERPETUAL", "ETH-PERPETUAL"])
    eth = cat.events("deribit", "ETH-PERPETUAL")
    assert len(eth) == 200 and np.all(eth["instrument"] == 0)
    expected = ev[ev["instrument"] == 1].copy()
    expected["instrument"] = 0
    assert np.array_equal(eth, expected)
    assert {e.symbol for e in cat.ls()} == {"BTC-PERPETUAL", "ETH-PERPETUAL"}


# -- queries -----------------------------------------------------------------------------------


def test_time_range_is_half_open_and_exact(tmp_path: Path) -> None:
    ev = make_events(3000, span_ns=2 * NS_PER_DAY)
    ev["local_ns"][1000:1003] = ev["local_ns"][1000]  # a tie at the start bound
    cat = Catalog(tmp_path, row_group_rows=256)
    cat.import_events(ev, venue="v", symbol="S")
    t = ev["local_ns"]
    for lo, hi in [
        (int(t[1000]), int(t[2000])),
        (int(t[0]), int(t[-1])),  # the last row is excluded
        (int(t[0]), int(t[-1]) + 1),
        (DAY0 + NS_PER_DAY, DAY0 + 2 * NS_PER_DAY),  # exactly the second day
        (int(t[500]), int(t[500])),  # empty range
    ]:
        got = cat.events("v", "S", lo, hi)
        assert np.array_equal(got, ev[(t >= lo) & (t < hi)]), (lo, hi)
    assert np.array_equal(cat.events("v", "S", start_ns=int(t[2500])), ev[2500:])
    assert np.array_equal(cat.events("v", "S", end_ns=int(t[7])), ev[:7])
    # ISO strings work at the edge
    got = cat.events("v", "S", "2024-08-09T00:00:00Z", "2024-08-09T00:00:10Z")
    assert np.array_equal(
        got, ev[(t >= DAY0 + NS_PER_DAY) & (t < DAY0 + NS_PER_DAY + 10 * NS_PER_SECOND)]
    )


def test_kind_filter(tmp_path: Path) -> None:
    ev = make_events(1000)
    cat = Catalog(tmp_path)
    cat.import_events(ev, venue="v", symbol="S")
    trades = cat.events("v", "S", kinds=[EventKind.TRADE])
    assert np.array_equal(trades, ev[ev["kind"] == EventKind.TRADE])
    with pytest.raises(InvalidArgumentError, match="kinds"):
        cat.events("v", "S", kinds=[42])


def test_streaming_equals_full_read(tmp_path: Path) -> None:
    ev = make_events(20_000, span_ns=3 * NS_PER_DAY)
    other = make_events(5_000, seed=5, start_ns=DAY0 + NS_PER_DAY // 2, span_ns=NS_PER_DAY)
    cat = Catalog(tmp_path, row_group_rows=1000)
    cat.import_events(ev, venue="v", symbol="S")
    cat.import_events(other, venue="v", symbol="S")
    full = cat.events("v", "S")
    assert np.array_equal(full, merged(ev, other))
    chunks = list(cat.iter_events("v", "S", chunk_rows=777))
    assert all(0 < len(c) <= 777 for c in chunks)
    assert len(chunks) <= 2 * (len(full) // 777 + 1)  # small pieces are joined
    assert np.array_equal(np.concatenate(chunks), full)
    lo, hi = int(ev["local_ns"][3000]), int(ev["local_ns"][17000])
    part = list(cat.iter_events("v", "S", lo, hi, chunk_rows=1500))
    assert np.array_equal(np.concatenate(part), cat.events("v", "S", lo, hi))


def test_merge_handles_long_runs_of_equal_times(tmp_path: Path) -> None:
    a = make_events(3000, seed=3)
    b = make_events(3000, seed=4)
    a["local_ns"][100:2900] = a["local_ns"][100]  # a run longer than a batch
    b["local_ns"][:] = np.sort(np.concatenate([a["local_ns"][:1500], a["local_ns"][1500:]]))
    cat = Catalog(tmp_path, row_group_rows=200)
    cat.import_events(a, venue="v", symbol="S")
    cat.import_events(b, venue="v", symbol="S")
    got = np.concatenate(list(cat.iter_events("v", "S", chunk_rows=250)))
    assert len(got) == 6000
    assert np.all(np.diff(got["local_ns"]) >= 0)
    assert np.array_equal(got, cat.events("v", "S"))


# -- bars --------------------------------------------------------------------------------------


def test_ohlcv_round_trip(tmp_path: Path) -> None:
    open_ns = DAY0 + np.arange(48, dtype=np.int64) * 3600 * NS_PER_SECOND
    table = pa.table(
        {
            "open_ns": open_ns,
            "open": np.linspace(1, 2, 48),
            "high": np.linspace(1, 2, 48) + 0.1,
            "low": np.linspace(1, 2, 48) - 0.1,
            "close": np.linspace(1, 2, 48),
            "volume_base": np.ones(48),
            "volume_quote": np.full(48, np.nan),
            "trades": np.full(48, -1),
        }
    )
    cat = Catalog(tmp_path)
    result = cat.import_ohlcv(table, venue="binance", symbol="BTCUSDT", interval="1h")
    assert [p.date for p in result.parts] == ["2024-08-01"]  # bars: one part per month
    assert "/type=ohlcv-1h/date=2024-08-01/" in result.parts[0].file
    again = cat.import_ohlcv(table, venue="binance", symbol="BTCUSDT", interval="1h")
    assert again.status == "already_imported"
    back = cat.ohlcv("binance", "BTCUSDT", open_ns[10], open_ns[30])
    assert back.column("open_ns").to_pylist() == open_ns[10:30].tolist()
    assert back.column("high").to_pylist() == table.column("high").to_pylist()[10:30]
    daily = table.filter(pa.array(np.arange(48) % 24 == 0))
    cat.import_ohlcv(daily, venue="binance", symbol="BTCUSDT", interval="1d")
    assert {e.data_type for e in cat.ls()} == {"ohlcv-1h", "ohlcv-1d"}
    with pytest.raises(InvalidArgumentError, match="interval"):
        cat.ohlcv("binance", "BTCUSDT")
    assert cat.ohlcv("binance", "BTCUSDT", interval="1d").num_rows == 2


# -- errors ------------------------------------------------------------------------------------


def test_bad_input_names_the_argument(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    with pytest.raises(InvalidArgumentError, match="venue"):
        cat.import_events(make_events(3), venue="a/b", symbol="S")
    with pytest.raises(InvalidArgumentError, match="symbol"):
        cat.import_events(make_events(3), venue="v", symbol="BTC/USDT")
    with pytest.raises(InvalidArgumentError, match="events"):
        cat.import_events(np.zeros(3), venue="v", symbol="S")  # type: ignore[arg-type]
    ev = make_events(3)
    ev["instrument"] = 1
    with pytest.raises(InvalidArgumentError, match="instrument"):
        cat.import_events(ev, venue="v", symbol="S")
    cat.import_events(make_events(3), venue="v", symbol="S")
    with pytest.raises(InvalidArgumentError, match="end_ns"):
        cat.events("v", "S", 10, 5)


def test_unknown_symbol_and_damaged_catalog_are_clear_errors(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    with pytest.raises(DataError, match="nothing"):
        cat.events("v", "S")
    result = cat.import_events(make_events(10), venue="v", symbol="S")
    with pytest.raises(DataError, match="v/S"):
        cat.events("v", "OTHER")
    (tmp_path / result.parts[0].file).unlink()
    with pytest.raises(DataError, match="missing"):
        cat.events("v", "S")
    (tmp_path / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(DataError, match="manifest"):
        cat.ls()


def test_empty_range_and_empty_source(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    cat.import_events(make_events(10), venue="v", symbol="S")
    assert len(cat.events("v", "S", 0, 1)) == 0
    empty = cat.import_events(empty_events(0), venue="v", symbol="E")
    assert empty.imported and empty.rows == 0 and empty.parts == ()


# -- format detection on the real files --------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("binance_l2_trades_2024-08-08_hftbacktest/usdm_btcusdt_20240808.gz", "binance"),
        (
            "binance_l2_trades_2024-08-08_hftbacktest/derived_tardis_format/"
            "binance-futures_trades_2024-08-08_BTCUSDT_2354-2359UTC.csv.gz",
            "tardis",
        ),
        ("binance_btc_eth_hourly_2017-2021_cdd/Binance_BTCUSDT_1h.csv", "ohlcv"),
        ("btcusd_daily_2011-2025_bitstamp_coinbase/BTCUSD_1d_candles_full.csv", "ohlcv"),
    ],
)
def test_detect_format(relative: str, expected: str) -> None:
    assert detect_format(require_data(relative)) == expected


def test_detect_format_rejects_unknown(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text("hello,world\n1,2\n")
    with pytest.raises(DataError, match="unrecognised format"):
        detect_format(path)
    with pytest.raises(DataError, match="no such file"):
        detect_format(tmp_path / "missing.csv")
    archive = tmp_path / "x.zip"
    archive.write_bytes(b"PK\x03\x04" + bytes(40))
    with pytest.raises(DataError, match="zip archive"):
        detect_format(archive)


# -- vendor files through their readers --------------------------------------------------------

TARDIS_L2 = (
    "binance_l2_trades_2024-08-08_hftbacktest/derived_tardis_format/"
    "binance-futures_incremental_book_L2_2024-08-08_BTCUSDT_2354-2359UTC.csv.gz"
)


def test_tardis_file_round_trips_through_the_catalog(tmp_path: Path) -> None:
    from invrisk.data.tardis import read_tardis

    path = require_data(TARDIS_L2)
    with pytest.warns(DataWarning, match="local_timestamp goes backwards"):
        expected = read_tardis(path).events
    cat = Catalog(tmp_path, row_group_rows=100_000)
    with pytest.warns(DataWarning):
        result = cat.import_file(path)
    assert result.venue == "binance-futures" and result.format == "tardis"
    assert result.source_id == file_sha256(path)  # the file's own sha256
    # same rows, same order (including the row whose local time steps back)
    assert np.array_equal(cat.events("binance-futures", "BTCUSDT"), expected)
    assert cat.import_file(path).status == "already_imported"  # not even read again


def test_binance_stream_file_round_trips(tmp_path: Path) -> None:
    from invrisk.data.binance import read_binance_stream

    path = require_data("binance_l2_trades_2024-08-08_hftbacktest/spot_btcusdt_20240808.gz")
    stream = read_binance_stream(path)
    cat = Catalog(tmp_path)
    result = cat.import_file(path)
    assert (result.venue, result.symbols, result.format) == ("binance", ("BTCUSDT",), "binance")
    assert np.array_equal(cat.events("binance", "BTCUSDT"), stream.events)
    (record,) = cat.sources()
    assert record["market"] == "spot" and record["tick_size"] == pytest.approx(0.01)
    assert record["size_bytes"] == path.stat().st_size and record["sha256"] == result.source_id


def test_binance_recording_split_in_two_files_is_one_source(tmp_path: Path) -> None:
    from invrisk.data.binance import read_binance_stream

    folder = "binance_l2_trades_2024-08-08_hftbacktest/"
    paths = [require_data(folder + f"spot_btcusdt_2024080{d}.gz") for d in (8, 9)]
    expected = read_binance_stream(paths).events  # the second file has no snapshot of its own
    cat = Catalog(tmp_path)
    result = cat.import_file(paths)
    assert result.name == "spot_btcusdt_20240808.gz + spot_btcusdt_20240809.gz"
    assert [p.date for p in result.parts] == ["2024-08-08", "2024-08-09"]
    assert np.array_equal(cat.events("binance", "BTCUSDT"), expected)
    (record,) = cat.sources()
    assert record["sha256"] == [file_sha256(p) for p in paths]
    assert cat.import_file(paths).status == "already_imported"
    # the first file alone is the same rows as the recording's start: nothing is doubled
    cat.import_file(paths[0])
    assert np.array_equal(cat.events("binance", "BTCUSDT"), expected)
    with pytest.raises(InvalidArgumentError, match="one Binance recording"):
        cat.import_file([require_data(TARDIS_L2), require_data(TARDIS_L2)])
