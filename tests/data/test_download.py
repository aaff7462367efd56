"""Downloads against a real HTTP server on 127.0.0.1 (no network): retries, resume, checksums.

The server serves a directory laid out like datasets.tardis.dev/v1 and data.binance.vision,
made from the shared Binance/Tardis sample files, and fails on demand: a 503 before success,
a body cut short, a wrong checksum, a missing file.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import shutil
import socket
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from invrisk.data.download import (
    DownloadResult,
    binance_path,
    binance_url,
    check_gzip,
    download_binance,
    download_file,
    download_tardis,
    parse_checksum,
    tardis_filename,
    tardis_url,
)
from invrisk.errors import DataError, InvalidArgumentError
from tests.conftest import require_data

TARDIS_L2 = (
    "binance_l2_trades_2024-08-08_hftbacktest/derived_tardis_format/"
    "binance-futures_incremental_book_L2_2024-08-08_BTCUSDT_2354-2359UTC.csv.gz"
)
TARDIS_TRADES = (
    "binance_l2_trades_2024-08-08_hftbacktest/derived_tardis_format/"
    "binance-futures_trades_2024-08-08_BTCUSDT_2354-2359UTC.csv.gz"
)
FAST = {"backoff_s": 0.0, "timeout_s": 10.0}


class FileServer:
    """A static file server with Range support and scripted failures per path."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.script: dict[str, list[str]] = {}
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                server.requests.append((path, self.headers.get("Range")))
                actions = server.script.get(path)
                action = actions.pop(0) if actions else "ok"
                if action.isdigit():
                    self.send_response(int(action))
                    self.send_header("Content-Length", "0")
                    self.send_header("Retry-After", "0")
                    self.end_headers()
                    return
                file = server.root / path.lstrip("/")
                if not file.is_file():
                    body = b"not found"
                    self.send_response(404)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                data = file.read_bytes()
                start = 0
                rng = self.headers.get("Range")
                if rng and action != "ignore-range":
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if action == "truncate":  # promise everything, send a third, hang up
                    self.wfile.write(body[: len(body) // 3])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def ranges(self, path: str) -> list[str | None]:
        return [r for p, r in self.requests if p == path]


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Remote layouts built from the shared files (Tardis .csv.gz; Binance zip + .CHECKSUM)."""
    root = tmp_path_factory.mktemp("remote")
    l2 = root / "v1/binance-futures/incremental_book_L2/2024/08/08/BTCUSDT.csv.gz"
    l2.parent.mkdir(parents=True)
    shutil.copyfile(require_data(TARDIS_L2), l2)
    trades = root / "v1/binance-futures/trades/2024/08/01/BTCUSDT.csv.gz"
    trades.parent.mkdir(parents=True)
    shutil.copyfile(require_data(TARDIS_TRADES), trades)
    broken = root / "v1/binance-futures/trades/2024/09/01/BTCUSDT.csv.gz"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(trades.read_bytes()[:-100])  # a gzip stream without its end
    csv = gzip.decompress(trades.read_bytes())
    for name in ("BTCUSDT-trades-2024-08-08", "ETHUSDT-trades-2024-08-08"):
        zpath = root / f"data/futures/um/daily/trades/{name.split('-')[0]}/{name}.zip"
        zpath.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(f"{name}.csv", csv)
        digest = hashlib.sha256(zpath.read_bytes()).hexdigest()
        if name.startswith("ETH"):
            digest = "0" * 64  # the archive's checksum does not match the zip
        Path(f"{zpath}.CHECKSUM").write_text(f"{digest}  {zpath.name}\n")
    return root


@pytest.fixture
def server(remote: Path) -> Iterator[FileServer]:
    srv = FileServer(remote)
    srv.thread.start()
    try:
        yield srv
    finally:
        srv.httpd.shutdown()
        srv.httpd.server_close()


# -- URL schemes -------------------------------------------------------------------------------


def test_url_schemes() -> None:
    assert (
        tardis_url("deribit", "trades", "2019-11-01", "BTC-PERPETUAL")
        == "https://datasets.tardis.dev/v1/deribit/trades/2019/11/01/BTC-PERPETUAL.csv.gz"
    )
    assert tardis_url("binance", "trades", "2024-08-01", "btc/usdt", base_url="http://x/v1/") == (
        "http://x/v1/binance/trades/2024/08/01/BTC-USDT.csv.gz"
    )
    assert tardis_filename("deribit", "trades", "2019-11-01", "BTC-PERPETUAL") == (
        "deribit_trades_2019-11-01_BTC-PERPETUAL.csv.gz"
    )
    assert binance_url("um", "trades", "BTCUSDT", "2024-08-08") == (
        "https://data.binance.vision/data/futures/um/daily/trades/BTCUSDT/"
        "BTCUSDT-trades-2024-08-08.zip"
    )
    assert binance_path("cm", "klines", "BTCUSD_PERP", "2024-08", interval="1h") == (
        "data/futures/cm/monthly/klines/BTCUSD_PERP/1h/BTCUSD_PERP-1h-2024-08.zip"
    )
    with pytest.raises(InvalidArgumentError, match="interval"):
        binance_path("spot", "klines", "BTCUSDT", "2024-08-08")
    with pytest.raises(InvalidArgumentError, match="market"):
        binance_path("usdm", "trades", "BTCUSDT", "2024-08-08")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="day"):
        tardis_url("deribit", "trades", "2019-13-01", "X")


def test_parse_checksum() -> None:
    line = "a" * 64 + "  BTCUSDT-trades-2024-08-08.zip\n"
    assert parse_checksum(line) == "a" * 64
    with pytest.raises(DataError, match="sha256"):
        parse_checksum("<html>oops</html>")


# -- Tardis ------------------------------------------------------------------------------------


def test_tardis_download_with_progress(server: FileServer, tmp_path: Path) -> None:
    result = download_tardis(
        "binance-futures",
        "incremental_book_L2",
        "2024-08-08",
        "BTCUSDT",
        out_dir=tmp_path,
        base_url=server.url + "/v1",
        api_key="k",
        progress=True,  # 2.4 MB: the bar is shown on stderr
        **FAST,
    )
    assert isinstance(result, DownloadResult) and result.status == "downloaded"
    assert result.path == tmp_path / "binance-futures_incremental_book_L2_2024-08-08_BTCUSDT.csv.gz"
    assert result.path.read_bytes() == require_data(TARDIS_L2).read_bytes()
    assert result.verified == "gzip stream and size"
    assert not list(tmp_path.glob("*.part"))
    # present and valid: not fetched again
    again = download_tardis(
        "binance-futures",
        "incremental_book_L2",
        "2024-08-08",
        "BTCUSDT",
        out_dir=tmp_path,
        base_url=server.url + "/v1",
        **FAST,
    )
    assert again.status == "exists" and again.attempts == 0
    assert len(server.requests) == 1


def test_retry_after_503(server: FileServer, tmp_path: Path) -> None:
    path = "/v1/binance-futures/trades/2024/08/01/BTCUSDT.csv.gz"
    server.script[path] = ["503", "503"]
    sleeps: list[float] = []
    result = download_tardis(
        "binance-futures",
        "trades",
        "2024-08-01",
        "BTCUSDT",
        out_dir=tmp_path,
        base_url=server.url + "/v1",
        backoff_s=0.5,
        sleep=sleeps.append,
    )
    assert result.attempts == 3 and result.status == "downloaded"
    assert sleeps == [0.5, 1.0]  # exponential back-off
    check_gzip(result.path)


def test_truncated_response_is_resumed_with_range(server: FileServer, tmp_path: Path) -> None:
    path = "/v1/binance-futures/trades/2024/08/01/BTCUSDT.csv.gz"
    server.script[path] = ["truncate"]
    result = download_tardis(
        "binance-futures",
        "trades",
        "2024-08-01",
        "BTCUSDT",
        out_dir=tmp_path,
        base_url=server.url + "/v1",
        **FAST,
    )
    assert result.attempts == 2 and result.resumed
    ranges = server.ranges(path)
    assert ranges[0] is None and ranges[1] is not None and ranges[1].startswith("bytes=")
    assert result.path.read_bytes() == require_data(TARDIS_TRADES).read_bytes()


def test_server_ignoring_range_restarts(server: FileServer, tmp_path: Path) -> None:
    path = "/v1/binance-futures/trades/2024/08/01/BTCUSDT.csv.gz"
    server.script[path] = ["truncate", "ignore-range"]
    result = download_file(
        server.url + path, tmp_path / "t.csv.gz", check=lambda p: str(check_gzip(p)), **FAST
    )
    assert not result.resumed and result.attempts == 2
    assert result.path.read_bytes() == require_data(TARDIS_TRADES).read_bytes()


def test_truncated_every_time_gives_up(server: FileServer, tmp_path: Path) -> None:
    path = "/v1/binance-futures/trades/2024/08/01/BTCUSDT.csv.gz"
    server.script[path] = ["truncate", "503", "503"]
    with pytest.raises(DataError, match=r"after 3 attempts.*127\.0\.0\.1"):
        download_file(server.url + path, tmp_path / "t.csv.gz", retries=2, **FAST)
    assert not (tmp_path / "t.csv.gz").exists()  # only the .part, kept for a later resume
    assert (tmp_path / "t.csv.gz.part").exists()
    done = download_file(server.url + path, tmp_path / "t.csv.gz", **FAST)
    assert done.resumed and done.size_bytes == require_data(TARDIS_TRADES).stat().st_size


def test_corrupt_gzip_leaves_nothing(server: FileServer, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="gzip"):
        download_tardis(
            "binance-futures",
            "trades",
            "2024-09-01",
            "BTCUSDT",
            out_dir=tmp_path,
            base_url=server.url + "/v1",
            **FAST,
        )
    assert list(tmp_path.iterdir()) == []


def test_404_names_the_url_and_the_free_day_rule(server: FileServer, tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        download_tardis(
            "binance-futures",
            "trades",
            "2024-08-02",
            "BTCUSDT",
            out_dir=tmp_path,
            base_url=server.url + "/v1",
            **FAST,
        )
    message = str(info.value)
    assert "404" in message and "/v1/binance-futures/trades/2024/08/02/BTCUSDT.csv.gz" in message
    assert "first day of each month" in message
    assert len(server.requests) == 1  # a 404 is not retried
    assert list(tmp_path.iterdir()) == []


def test_connection_refused_is_retried_then_clear(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    sleeps: list[float] = []
    with pytest.raises(DataError, match="after 3 attempts"):
        download_file(
            f"http://127.0.0.1:{port}/x.gz",
            tmp_path / "x.gz",
            retries=2,
            backoff_s=0.25,
            sleep=sleeps.append,
        )
    assert sleeps == [0.25, 0.5]


# -- Binance -----------------------------------------------------------------------------------


def test_binance_download_verifies_checksum(server: FileServer, tmp_path: Path) -> None:
    result = download_binance(
        "um", "trades", "BTCUSDT", "2024-08-08", out_dir=tmp_path, base_url=server.url, **FAST
    )
    assert result.verified == "sha256 (.CHECKSUM)"
    assert (
        result.path
        == tmp_path / "data/futures/um/daily/trades/BTCUSDT/BTCUSDT-trades-2024-08-08.zip"
    )
    assert hashlib.sha256(result.path.read_bytes()).hexdigest() == result.sha256
    with zipfile.ZipFile(result.path) as z:
        assert z.namelist() == ["BTCUSDT-trades-2024-08-08.csv"]


def test_binance_checksum_retry_then_success(server: FileServer, tmp_path: Path) -> None:
    base = "/data/futures/um/daily/trades/BTCUSDT/BTCUSDT-trades-2024-08-08.zip"
    server.script[base + ".CHECKSUM"] = ["503"]
    server.script[base] = ["502"]
    result = download_binance(
        "um", "trades", "BTCUSDT", "2024-08-08", out_dir=tmp_path, base_url=server.url, **FAST
    )
    assert result.status == "downloaded" and result.attempts == 2


def test_binance_wrong_checksum_leaves_no_file(server: FileServer, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="sha256 mismatch") as info:
        download_binance(
            "um", "trades", "ETHUSDT", "2024-08-08", out_dir=tmp_path, base_url=server.url, **FAST
        )
    assert "ETHUSDT-trades-2024-08-08.zip" in str(info.value)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_binance_missing_file_is_a_clear_error(server: FileServer, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"HTTP 404 not found.*SOLUSDT-trades-2024-08-08\.zip"):
        download_binance(
            "um", "trades", "SOLUSDT", "2024-08-08", out_dir=tmp_path, base_url=server.url, **FAST
        )
    skipped = download_binance  # without the checksum the zip itself is requested (and missing)
    with pytest.raises(DataError, match=r"404.*SOLUSDT-trades-2024-08-08\.zip$"):
        skipped(
            "um",
            "trades",
            "SOLUSDT",
            "2024-08-08",
            out_dir=tmp_path,
            base_url=server.url,
            verify_checksum=False,
            **FAST,
        )


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="url"):
        download_file("ftp://example.com/x", tmp_path / "x")
    with pytest.raises(InvalidArgumentError, match="retries"):
        download_file("http://127.0.0.1/x", tmp_path / "x", retries=-1)
