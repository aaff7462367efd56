"""``invrisk data ...`` (the typer sub-app, tested on its own): import, ls, query, synth,
validate, download; JSON output and exit code 2 on errors."""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from invrisk.cli_data import data_app
from invrisk.data.catalog import Catalog, read_events_parquet
from invrisk.data.events import EventKind
from tests.conftest import require_data
from tests.data.test_download import FileServer

runner = CliRunner()

BINANCE = "binance_l2_trades_2024-08-08_hftbacktest/usdm_btcusdt_20240808.gz"
TARDIS_TRADES = (
    "binance_l2_trades_2024-08-08_hftbacktest/derived_tardis_format/"
    "binance-futures_trades_2024-08-08_BTCUSDT_2354-2359UTC.csv.gz"
)
OHLCV = "binance_btc_eth_hourly_2017-2021_cdd/Binance_BTCUSDT_d.csv"


def run(args: list[str], **kwargs: object) -> dict:
    result = runner.invoke(data_app, [*args, "--json"], **kwargs)  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_help_explains_units_and_formats() -> None:
    top = runner.invoke(data_app, ["--help"])
    assert top.exit_code == 0
    for word in ("import", "validate", "synth", "ls", "query", "download", "ns UTC", "Tardis"):
        assert word in top.output
    expectations = {
        "import": ("sha256", "ns UTC", "quote currency"),
        "validate": ("tick", "quote currency"),
        "synth": ("EVENT_DTYPE", "ns UTC"),
        "ls": ("bytes", "UTC"),
        "query": ("start <= local_ns < end", "ISO-8601"),
    }
    for command, words in expectations.items():
        text = runner.invoke(data_app, [command, "--help"]).output
        for word in words:
            assert word in text, (command, word)
    for vendor, words in {
        "tardis": ("microseconds", "first day", "gzip"),
        "binance": ("CHECKSUM", "sha256", "YYYY-MM"),
    }.items():
        text = " ".join(runner.invoke(data_app, ["download", vendor, "--help"]).output.split())
        for word in words:
            assert word in text, (vendor, word)


def test_import_ls_query_round_trip(tmp_path: Path) -> None:
    cat = tmp_path / "cat"
    binance, tardis = require_data(BINANCE), require_data(TARDIS_TRADES)
    out = run(["import", str(binance), "--catalog", str(cat)])
    (first,) = out["imports"]
    assert first["status"] == "imported" and first["format"] == "binance"
    assert first["venue"] == "binance-futures" and first["symbols"] == ["BTCUSDT"]
    # the second time nothing is written, and the output says so
    again = run(["import", str(binance), "--catalog", str(cat)])
    assert again["imports"][0]["status"] == "already_imported"
    table = runner.invoke(data_app, ["import", str(binance), "--catalog", str(cat)])
    assert table.exit_code == 0 and "already imported" in " ".join(table.output.split())
    # a Tardis file into its own venue name
    trades = run(
        ["import", str(tardis), "--venue", "tardis-binance-futures", "--catalog", str(cat)]
    )
    assert trades["imports"][0]["format"] == "tardis" and trades["imports"][0]["rows"] == 21313

    folder = "binance_l2_trades_2024-08-08_hftbacktest/"
    spot = [str(require_data(f"{folder}spot_btcusdt_2024080{d}.gz")) for d in (8, 9)]
    together = run(["import", *spot, "--together", "--catalog", str(cat)])
    assert len(together["imports"]) == 1 and together["imports"][0]["venue"] == "binance"
    assert len(together["imports"][0]["parts"]) == 2  # two UTC days

    listing = run(["ls", "--catalog", str(cat), "--sources"])
    by_venue = {e["venue"]: e for e in listing["entries"]}
    assert by_venue["binance-futures"]["rows"] == first["rows"]
    assert by_venue["tardis-binance-futures"]["first_date"] == "2024-08-08"
    assert len(listing["sources"]) == 3
    assert listing["sources"][0]["sha256"] == first["source_id"]

    window = ["--start", "2024-08-08T23:56:00Z", "--end", "2024-08-08T23:57:00Z"]
    export = tmp_path / "slice.parquet"
    q = run(
        [
            "query",
            "binance-futures",
            "BTCUSDT",
            *window,
            "--kinds",
            "trade,bbo",
            "--out",
            str(export),
            "--catalog",
            str(cat),
        ]
    )
    lib = Catalog(cat).events(
        "binance-futures",
        "BTCUSDT",
        "2024-08-08T23:56:00Z",
        "2024-08-08T23:57:00Z",
        kinds=[EventKind.TRADE, EventKind.BBO],
    )
    assert q["events"] == len(lib) > 0 and set(q["by_kind"]) == {"TRADE", "BBO"}
    assert np.array_equal(read_events_parquet(export), lib)
    assert 61_000 < q["trade_price_min"] <= q["trade_price_max"] < 62_500


def test_import_ohlcv_and_default_catalog_from_env(tmp_path: Path) -> None:
    cat = tmp_path / "env-cat"
    out = run(["import", str(require_data(OHLCV))], env={"INVRISK_CATALOG": str(cat)})
    (r,) = out["imports"]
    assert r["type"] == "ohlcv-1d" and r["venue"] == "binance" and r["symbols"] == ["BTCUSDT"]
    assert (cat / "manifest.json").exists()
    text = runner.invoke(data_app, ["ls"], env={"INVRISK_CATALOG": str(cat)})
    assert text.exit_code == 0 and "ohlcv-1d" in text.output


def test_errors_exit_2_with_the_message(tmp_path: Path) -> None:
    missing = runner.invoke(
        data_app, ["import", str(tmp_path / "nope.gz"), "--catalog", str(tmp_path)]
    )
    assert missing.exit_code == 2 and "no such file" in missing.output
    junk = tmp_path / "junk.csv"
    junk.write_text("a,b\n1,2\n")
    bad = runner.invoke(data_app, ["import", str(junk), "--catalog", str(tmp_path)])
    assert bad.exit_code == 2 and "unrecognised format" in bad.output
    q = runner.invoke(data_app, ["query", "x", "y", "--catalog", str(tmp_path / "empty")])
    assert q.exit_code == 2 and "no events for venue='x'" in q.output
    kinds = runner.invoke(data_app, ["query", "x", "y", "--kinds", "NOPE"])
    assert kinds.exit_code == 2 and "TRADE" in kinds.output
    both = runner.invoke(data_app, ["synth", "--out", "a.parquet", "--catalog", str(tmp_path)])
    assert both.exit_code == 2


def test_synth_to_catalog_and_to_file(tmp_path: Path) -> None:
    cat = tmp_path / "cat"
    out = run(["synth", "--events", "5000", "--seed", "3", "--catalog", str(cat)])
    assert out["events"] == 5000 and out["import"]["status"] == "imported"
    again = run(["synth", "--events", "5000", "--seed", "3", "--catalog", str(cat)])
    assert again["import"]["status"] == "already_imported"  # same seed, same stream
    file = tmp_path / "s.parquet"
    single = run(["synth", "--events", "5000", "--seed", "3", "--out", str(file)])
    assert single["out"] == str(file)
    assert np.array_equal(read_events_parquet(file), Catalog(cat).events("synthetic", "SYNTH"))


def test_validate_binance_tardis_and_ohlcv() -> None:
    b = run(["validate", str(require_data(BINANCE))])
    assert b["format"] == "binance" and b["events"] > 0 and b["symbol"] == "BTCUSDT"
    assert isinstance(b["report"], dict)
    t = run(["validate", str(require_data(TARDIS_TRADES))])
    assert t["format"] == "tardis" and t["events"] == 21313 and t["dataset"] == "trades"
    o = run(["validate", str(require_data(OHLCV))])
    assert o["format"] == "ohlcv" and o["interval"] == "1d" and o["bars"] > 1000
    text = runner.invoke(data_app, ["validate", str(require_data(TARDIS_TRADES))])
    assert text.exit_code == 0 and "trades" in text.output


def test_validate_strict_exit_code(tmp_path: Path) -> None:
    text = (
        "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
        "deribit,BTC-PERPETUAL,1585699202957000,1585699203089980,1,buy,6425.5,12\n"
        "deribit,BTC-PERPETUAL,1585699202958000,1585699203089000,2,sell,6425.0,3\n"
    )
    path = tmp_path / "deribit_trades_2020-04-01_BTC-PERPETUAL.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    lenient = runner.invoke(data_app, ["validate", str(path), "--json"])
    assert lenient.exit_code == 0
    out = json.loads(lenient.stdout)
    assert out["report"]["n_nonmonotonic"] == 1 and out["report"]["ok"] is False
    assert out["warnings"]  # the reader's and the validator's DataWarnings, not raised
    strict = runner.invoke(data_app, ["validate", str(path), "--strict"])
    assert strict.exit_code == 1 and "defects found" in strict.output


# -- download against a local server -----------------------------------------------------------


@pytest.fixture
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileServer]:
    root = tmp_path_factory.mktemp("remote-cli")
    day = root / "v1/binance-futures/trades/2024/08/01/BTCUSDT.csv.gz"
    day.parent.mkdir(parents=True)
    shutil.copyfile(require_data(TARDIS_TRADES), day)
    import hashlib
    import zipfile

    zpath = root / "data/spot/daily/trades/BTCUSDT/BTCUSDT-trades-2024-08-08.zip"
    zpath.parent.mkdir(parents=True)
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("BTCUSDT-trades-2024-08-08.csv", gzip.decompress(day.read_bytes()))
    digest = hashlib.sha256(zpath.read_bytes()).hexdigest()
    Path(f"{zpath}.CHECKSUM").write_text(f"{digest}  {zpath.name}\n")
    srv = FileServer(root)
    srv.thread.start()
    try:
        yield srv
    finally:
        srv.httpd.shutdown()
        srv.httpd.server_close()


def test_download_tardis_and_import(server: FileServer, tmp_path: Path) -> None:
    out = run(
        [
            "download",
            "tardis",
            "binance-futures",
            "trades",
            "2024-08-01",
            "BTCUSDT",
            "--base-url",
            server.url + "/v1",
            "--out",
            str(tmp_path / "dl"),
            "--import",
            "--catalog",
            str(tmp_path / "cat"),
        ]
    )
    d = out["download"]
    assert d["status"] == "downloaded" and d["verified"] == "gzip stream and size"
    assert Path(d["path"]).name == "binance-futures_trades_2024-08-01_BTCUSDT.csv.gz"
    assert out["import"]["rows"] == 21313 and out["import"]["venue"] == "binance-futures"


def test_download_binance_and_404(server: FileServer, tmp_path: Path) -> None:
    out = run(
        [
            "download",
            "binance",
            "spot",
            "trades",
            "BTCUSDT",
            "2024-08-08",
            "--base-url",
            server.url,
            "--out",
            str(tmp_path),
        ]
    )
    assert out["download"]["verified"] == "sha256 (.CHECKSUM)"
    text = runner.invoke(
        data_app,
        [
            "download",
            "binance",
            "spot",
            "trades",
            "BTCUSDT",
            "2024-08-08",
            "--base-url",
            server.url,
            "--out",
            str(tmp_path),
        ],
    )
    assert text.exit_code == 0 and "already present" in text.output
    missing = runner.invoke(
        data_app,
        [
            "download",
            "tardis",
            "binance-futures",
            "trades",
            "2024-08-02",
            "BTCUSDT",
            "--base-url",
            server.url + "/v1",
            "--out",
            str(tmp_path),
            "--retries",
            "0",
        ],
    )
    assert missing.exit_code == 2
    assert "404" in missing.output and "/2024/08/02/BTCUSDT.csv.gz" in missing.output
    bad_market = runner.invoke(
        data_app, ["download", "binance", "usdm", "trades", "X", "2024-08-08"]
    )
    assert bad_market.exit_code == 2
