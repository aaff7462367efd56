"""Download public market-data archives: Tardis.dev datasets and Binance's data.binance.vision.

Sources and URL schemes
-----------------------
**Tardis.dev downloadable CSV files.** One gzip-compressed CSV per exchange, data type, day and
symbol::

    https://datasets.tardis.dev/v1/<exchange>/<data_type>/<YYYY>/<MM>/<DD>/<SYMBOL>.csv.gz

e.g. ``https://datasets.tardis.dev/v1/deribit/trades/2019/11/01/BTC-PERPETUAL.csv.gz`` (the
cURL example of https://docs.tardis.dev/downloadable-csv-files). "Historical datasets for the
first day of each month are available to download without API key" (same page); other days need
an API key, sent as ``Authorization: Bearer <key>`` as the official client does
(tardis-dev/tardis-python, ``tardis_dev/_http.py``). Days are split by ``local_timestamp``; "an
empty gzip file is returned when no data is available for a given day" and Tardis publishes no
checksum: "use file size and gzip decompression success as primary integrity checks"
(https://docs.tardis.dev/downloadable-csv-files/api). The symbol is upper-cased with ``:`` and
``/`` replaced by ``-`` (``tardis_dev/download_datasets.py``, ``_normalize_symbol``); the local
file is named ``<exchange>_<data_type>_<YYYY-MM-DD>_<SYMBOL>.csv.gz`` as that client names it
(and as :mod:`invrisk.data.tardis` reads the data type from it).

**Binance public data** (https://github.com/binance/binance-public-data, README "Where do I access
it" and ``python/utility.py``, ``get_path``)::

    https://data.binance.vision/data/<market>/<daily|monthly>/<data_type>/<SYMBOL>/[<interval>/]
        <SYMBOL>-<data_type|interval>-<YYYY-MM-DD|YYYY-MM>.zip

with ``<market>`` = ``spot``, ``futures/um`` (USD-M) or ``futures/cm`` (COIN-M), e.g.
``https://data.binance.vision/data/futures/um/daily/trades/BTCUSDT/BTCUSDT-trades-2024-08-08.zip``
and ``.../spot/monthly/klines/BNBUSDT/1m/BNBUSDT-1m-2019-01.zip``. "Each zip file has a
``.CHECKSUM`` file together in the same folder" (README, CHECKSUM), in ``sha256sum`` format
(``<hex>  <file name>``); the zip is verified against it. Local files mirror the remote path
below the output directory (``data/futures/um/daily/...``), so spot and futures files of the same
name do not collide.

Transfer
--------
:func:`download_file` retries connection errors, timeouts, truncated bodies, HTTP 408/425/429 and
5xx with exponential back-off (``backoff_s * 2**(attempt - 1)``, capped at ``max_backoff_s``, at
least a numeric ``Retry-After``). A partial download is kept as ``<dest>.part`` and continued with
an HTTP ``Range`` request (a server that ignores Range restarts it). The finished file is
verified (sha256, gzip stream, size), fsynced and moved into place with ``os.replace``; on a
failed verification nothing is left at the destination. Other HTTP errors are a
:class:`~invrisk.errors.DataError` naming the URL. ``base_url`` arguments point the functions
at a mirror or a local test server.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import os
import re
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, TypeAlias

from invrisk.errors import DataError, InvalidArgumentError

__all__ = [
    "BINANCE_BASE_URL",
    "BINANCE_MARKETS",
    "TARDIS_BASE_URL",
    "BinanceMarket",
    "DownloadResult",
    "binance_path",
    "binance_url",
    "check_gzip",
    "download_binance",
    "download_file",
    "download_tardis",
    "parse_checksum",
    "tardis_filename",
    "tardis_url",
]

TARDIS_BASE_URL = "https://datasets.tardis.dev/v1"
BINANCE_BASE_URL = "https://data.binance.vision"
BinanceMarket: TypeAlias = Literal["spot", "um", "cm"]
BINANCE_MARKETS: dict[str, str] = {"spot": "spot", "um": "futures/um", "cm": "futures/cm"}
"""Market argument -> path segment: spot, USD-M futures (``um``), COIN-M futures (``cm``)."""

_KLINE_TYPES = ("klines", "markPriceKlines", "indexPriceKlines", "premiumIndexKlines")
_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_BLOCK = 1 << 20
_PROGRESS_MIN_BYTES = 1 << 20
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class DownloadResult:
    """One downloaded (or already present and verified) file."""

    url: str
    path: Path
    size_bytes: int
    sha256: str
    status: Literal["downloaded", "exists"]
    attempts: int
    """HTTP requests made for the file (0 if it was already there)."""
    resumed: bool
    """True if a partial file was continued with a Range request."""
    verified: str
    """What was checked: ``sha256 (.CHECKSUM)``, ``sha256``, ``gzip stream and size``..."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "status": self.status,
            "attempts": self.attempts,
            "resumed": self.resumed,
            "verified": self.verified,
        }


class _RetryableError(Exception):
    """A transfer failure worth another attempt."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


# ---------------------------------------------------------------------------------------------
# URL schemes


def _day(value: date | str, argument: str = "day") -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidArgumentError(argument, value, "a date YYYY-MM-DD") from exc


def _check_name(argument: str, value: str) -> str:
    if not _NAME.match(value):
        raise InvalidArgumentError(argument, value, "letters, digits, '.', '_' and '-'")
    return value


def _tardis_symbol(symbol: str) -> str:
    return symbol.replace(":", "-").replace("/", "-").upper()


def tardis_url(
    exchange: str,
    data_type: str,
    day: date | str,
    symbol: str,
    *,
    base_url: str = TARDIS_BASE_URL,
) -> str:
    """URL of one Tardis.dev CSV dataset file (see the module docstring).

    Examples
    --------
    >>> tardis_url("deribit", "trades", "2019-11-01", "BTC-PERPETUAL")
    'https://datasets.tardis.dev/v1/deribit/trades/2019/11/01/BTC-PERPETUAL.csv.gz'
    """
    d = _day(day)
    quoted = urllib.parse.quote(_tardis_symbol(symbol), safe="")
    return (
        f"{base_url.rstrip('/')}/{_check_name('exchange', exchange)}/"
        f"{_check_name('data_type', data_type)}/{d:%Y/%m/%d}/{quoted}.csv.gz"
    )


def tardis_filename(exchange: str, data_type: str, day: date | str, symbol: str) -> str:
    """Local name ``<exchange>_<data_type>_<YYYY-MM-DD>_<SYMBOL>.csv.gz`` (tardis-dev's)."""
    safe = re.sub(r'[:\\/?*<>|"]', "-", _tardis_symbol(symbol))
    return f"{exchange}_{data_type}_{_day(day):%Y-%m-%d}_{safe}.csv.gz"


def binance_path(
    market: BinanceMarket,
    data_type: str,
    symbol: str,
    period: date | str,
    *,
    interval: str | None = None,
) -> str:
    """Path of a Binance archive zip below the base URL (see the module docstring).

    ``period`` is a day (``YYYY-MM-DD``: the ``daily`` files) or a month (``YYYY-MM``:
    ``monthly``). ``interval`` (``1m``, ``1h``, ``1d``...) is required for the kline types.

    Examples
    --------
    >>> binance_path("um", "trades", "btcusdt", "2024-08-08")
    'data/futures/um/daily/trades/BTCUSDT/BTCUSDT-trades-2024-08-08.zip'
    >>> binance_path("spot", "klines", "BNBUSDT", "2019-01", interval="1m")
    'data/spot/monthly/klines/BNBUSDT/1m/BNBUSDT-1m-2019-01.zip'
    """
    if market not in BINANCE_MARKETS:
        raise InvalidArgumentError("market", market, "spot, um (USD-M futures) or cm (COIN-M)")
    _check_name("data_type", data_type)
    sym = _check_name("symbol", symbol.upper())
    if isinstance(period, date):
        stamp, freq = _day(period).isoformat(), "daily"
    elif re.fullmatch(r"\d{4}-\d{2}", period):
        stamp, freq = period, "monthly"
    else:
        stamp, freq = _day(period, "period").isoformat(), "daily"
    if data_type in _KLINE_TYPES:
        if not interval:
            raise InvalidArgumentError("interval", interval, f"a kline interval for {data_type}")
        _check_name("interval", interval)
        folder = f"data/{BINANCE_MARKETS[market]}/{freq}/{data_type}/{sym}/{interval}"
        return f"{folder}/{sym}-{interval}-{stamp}.zip"
    if interval:
        raise InvalidArgumentError("interval", interval, f"no interval for {data_type}")
    return f"data/{BINANCE_MARKETS[market]}/{freq}/{data_type}/{sym}/{sym}-{data_type}-{stamp}.zip"


def binance_url(
    market: BinanceMarket,
    data_type: str,
    symbol: str,
    period: date | str,
    *,
    interval: str | None = None,
    base_url: str = BINANCE_BASE_URL,
) -> str:
    """Full URL of a Binance archive zip (its checksum is this URL + ``.CHECKSUM``)."""
    path = binance_path(market, data_type, symbol, period, interval=interval)
    return f"{base_url.rstrip('/')}/{path}"


# ---------------------------------------------------------------------------------------------
# Verification


def parse_checksum(text: str, *, url: str = "") -> str:
    """The sha256 hex digest of a ``sha256sum``-format line (``<hex>  <name>``)."""
    match = re.match(r"\s*([0-9a-fA-F]{64})\b", text)
    if match is None:
        raise DataError(f"not a sha256 checksum file: {text[:80]!r}", path=url or None)
    return match.group(1).lower()


def check_gzip(path: str | os.PathLike[str]) -> int:
    """Decompress a whole gzip file (checking every member's CRC-32 and length); returns the
    uncompressed size. A truncated or corrupt stream is a :class:`DataError`."""
    size = 0
    try:
        with gzip.open(path, "rb") as f:
            while block := f.read(_BLOCK):
                size += len(block)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"corrupt or truncated gzip stream: {exc}", path=str(path)) from exc
    return size


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# Transfer


def _user_agent() -> str:
    from invrisk import __version__

    return f"invrisk/{__version__} (+python urllib)"


def _retry_after(headers: Any) -> float | None:
    """Seconds of a numeric ``Retry-After`` header (HTTP-date values are ignored)."""
    if headers is None:
        return None
    value = headers.get("Retry-After")
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None


@contextlib.contextmanager
def _progress_bar(enabled: bool, label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr (bytes) when enabled and the file is over 1 MB."""
    if not enabled or total is None or total <= _PROGRESS_MIN_BYTES:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.update(task, completed=n)


def _fetch_bytes(
    url: str, *, headers: Mapping[str, str], timeout_s: float, max_bytes: int = 1 << 20
) -> bytes:
    """GET a small resource (a checksum file) in one attempt; errors as for files."""
    request = urllib.request.Request(url, headers={"User-Agent": _user_agent(), **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            data: bytes = response.read(max_bytes + 1)
    except urllib.error.HTTPError as exc:
        exc.close()  # release the connection (the error holds the response)
        if exc.code in _RETRY_STATUS:
            raise _RetryableError(
                f"HTTP {exc.code} {exc.reason}", retry_after_s=_retry_after(exc.headers)
            ) from exc
        raise _http_error(exc, url) from exc
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as exc:
        raise _RetryableError(f"{type(exc).__name__}: {exc}") from exc
    if len(data) > max_bytes:
        raise DataError(f"response larger than {max_bytes} bytes", path=url)
    return data


def _http_error(exc: urllib.error.HTTPError, url: str, hint: str = "") -> DataError:
    reason = {404: "not found (no such file on the server)", 403: "forbidden", 401: "unauthorized"}
    text = reason.get(exc.code, str(exc.reason))
    return DataError(f"HTTP {exc.code} {text} for {url}{hint}", path=url)


def _with_retries(
    action: Callable[[int], Any],
    *,
    url: str,
    retries: int,
    backoff_s: float,
    max_backoff_s: float,
    sleep: Callable[[float], None],
) -> Any:
    """Call ``action(attempt)`` until it does not raise :class:`_RetryableError`."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return action(attempt)
        except _RetryableError as exc:
            if attempt > retries:
                raise DataError(
                    f"download failed after {attempt} attempts ({exc}) for {url}", path=url
                ) from exc
            delay = min(max_backoff_s, backoff_s * 2 ** (attempt - 1))
            if exc.retry_after_s is not None:
                delay = max(delay, min(exc.retry_after_s, max_backoff_s))
            sleep(delay)


def download_file(
    url: str,
    dest: str | os.PathLike[str],
    *,
    headers: Mapping[str, str] | None = None,
    expected_sha256: str | None = None,
    check: Callable[[Path], str] | None = None,
    retries: int = 5,
    backoff_s: float = 1.0,
    max_backoff_s: float = 60.0,
    timeout_s: float = 60.0,
    resume: bool = True,
    overwrite: bool = False,
    progress: bool = False,
    error_hint: str = "",
    sleep: Callable[[float], None] = time.sleep,
) -> DownloadResult:
    """Download ``url`` to ``dest`` with retries, resume, verification and an atomic rename.

    Parameters
    ----------
    url
        http(s) URL.
    dest
        Final path; its directory is created. The partial file is ``<dest>.part``.
    headers
        Extra request headers (e.g. ``Authorization``).
    expected_sha256
        Hex digest the file must have; a mismatch deletes the download (after one fresh
        attempt if the mismatching file had been resumed) and raises :class:`DataError`.
    check
        ``check(path) -> description`` run on the finished partial file; raises DataError
        if the content is bad (e.g. :func:`check_gzip`).
    retries
        Further attempts after the first, on retryable failures (module docstring).
    backoff_s, max_backoff_s
        Back-off before retry k: ``min(max_backoff_s, backoff_s * 2**(k - 1))`` seconds.
    timeout_s
        Socket timeout per request, seconds.
    resume
        Continue an existing ``.part`` file with a Range request.
    overwrite
        Download again even if ``dest`` exists and verifies.
    progress
        Show a rich progress bar on stderr for files over 1 MB.
    """
    if retries < 0:
        raise InvalidArgumentError("retries", retries, "an integer >= 0")
    if backoff_s < 0 or max_backoff_s < 0 or timeout_s <= 0:
        raise InvalidArgumentError(
            "backoff_s/max_backoff_s/timeout_s",
            (backoff_s, max_backoff_s, timeout_s),
            "backoffs >= 0 and a timeout > 0 (seconds)",
        )
    if not url.startswith(("http://", "https://")):
        raise InvalidArgumentError("url", url, "an http:// or https:// URL")
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")

    def verify(path: Path) -> tuple[str, str]:
        digest = _sha256(path)
        if expected_sha256 is not None and digest != expected_sha256.lower():
            raise _ChecksumMismatchError(
                f"sha256 mismatch: expected {expected_sha256.lower()}, got {digest}"
            )
        what = "sha256" if expected_sha256 is not None else ""
        if check is not None:
            what = ", ".join(w for w in (what, check(path)) if w)
        return digest, what or "size"

    if dest.exists() and not overwrite:
        with contextlib.suppress(_ChecksumMismatchError, DataError):
            digest, what = verify(dest)
            return DownloadResult(url, dest, dest.stat().st_size, digest, "exists", 0, False, what)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not resume:
        part.unlink(missing_ok=True)
    base_headers = {"User-Agent": _user_agent(), **(headers or {})}
    state = {"resumed": False, "attempts": 0}

    def attempt(_: int) -> None:
        state["attempts"] += 1
        offset = part.stat().st_size if part.exists() else 0
        request_headers = dict(base_headers)
        if offset:
            request_headers["Range"] = f"bytes={offset}-"
        request = urllib.request.Request(url, headers=request_headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                _receive(response, part, offset, url, progress, state)
        except urllib.error.HTTPError as exc:
            exc.close()  # release the connection (the error holds the response)
            if exc.code == 416 and offset:  # our partial file is no prefix of theirs: restart
                part.unlink(missing_ok=True)
                raise _RetryableError("HTTP 416 on resume; restarting") from exc
            if exc.code in _RETRY_STATUS or exc.code >= 500:
                raise _RetryableError(
                    f"HTTP {exc.code} {exc.reason}", retry_after_s=_retry_after(exc.headers)
                ) from exc
            raise _http_error(exc, url, error_hint) from exc
        except (
            urllib.error.URLError,
            http.client.HTTPException,
            ConnectionError,
            TimeoutError,
            ssl.SSLError,
        ) as exc:
            raise _RetryableError(f"{type(exc).__name__}: {exc}") from exc

    def fetch_and_verify(attempt_no: int) -> DownloadResult:
        attempt(attempt_no)
        try:
            digest, what = verify(part)
        except _ChecksumMismatchError as exc:
            was_resumed = bool(state["resumed"])
            part.unlink(missing_ok=True)
            if was_resumed:  # the kept prefix may be stale: one fresh download
                state["resumed"] = False
                raise _RetryableError(str(exc)) from exc
            raise DataError(f"{exc} for {url}; nothing was kept", path=url) from exc
        except DataError as exc:
            part.unlink(missing_ok=True)
            raise DataError(f"{exc}; nothing was kept (downloaded from {url})", path=url) from exc
        with open(part, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(part, dest)
        return DownloadResult(
            url,
            dest,
            dest.stat().st_size,
            digest,
            "downloaded",
            int(state["attempts"]),
            bool(state["resumed"]),
            what,
        )

    result: DownloadResult = _with_retries(
        fetch_and_verify,
        url=url,
        retries=retries,
        backoff_s=backoff_s,
        max_backoff_s=max_backoff_s,
        sleep=sleep,
    )
    return result


class _ChecksumMismatchError(Exception):
    """The downloaded bytes do not have the expected sha256."""


def _receive(
    response: http.client.HTTPResponse,
    part: Path,
    offset: int,
    url: str,
    progress: bool,
    state: dict[str, Any],
) -> None:
    """Write a response body to the partial file (appending after a 206 to a Range)."""
    status = response.status
    length_header = response.headers.get("Content-Length")
    length = int(length_header) if length_header is not None else None
    if offset and status == 206:
        content_range = response.headers.get("Content-Range", "")
        match = re.match(r"bytes (\d+)-(\d+)/(\d+|\*)", content_range)
        if match is None or int(match.group(1)) != offset:
            part.unlink(missing_ok=True)
            raise _RetryableError(f"unexpected Content-Range {content_range!r} on resume")
        mode, done = "ab", offset
        state["resumed"] = True
    elif status == 200:
        mode, done = "wb", 0  # no Range support (or no partial file): from the start
    else:
        raise _RetryableError(f"unexpected HTTP status {status}")
    total = None if length is None else done + length
    with open(part, mode) as f, _progress_bar(progress, part.name[:-5], total) as advance:
        while block := response.read(_BLOCK):
            f.write(block)
            done += len(block)
            advance(done)
    if total is not None and done != total:
        raise _RetryableError(f"truncated response: {done} of {total} bytes")


# ---------------------------------------------------------------------------------------------
# Vendors


def download_tardis(
    exchange: str,
    data_type: str,
    day: date | str,
    symbol: str,
    *,
    out_dir: str | os.PathLike[str] = ".",
    base_url: str | None = None,
    api_key: str | None = None,
    **options: Any,
) -> DownloadResult:
    """Download one Tardis.dev CSV dataset file (module docstring: URL, free days, checks).

    The file is written to ``out_dir/<exchange>_<data_type>_<YYYY-MM-DD>_<SYMBOL>.csv.gz`` and
    verified by decompressing it whole (CRC-32 and length of every gzip member) and by its
    size against ``Content-Length``. ``options`` go to :func:`download_file` (``retries``,
    ``backoff_s``, ``timeout_s``, ``progress``, ``overwrite``...).
    """
    d = _day(day)
    url = tardis_url(exchange, data_type, d, symbol, base_url=base_url or TARDIS_BASE_URL)
    headers = {"Accept-Encoding": "gzip"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    hint = ""
    if not api_key and d.day != 1:
        hint = (
            " (Tardis.dev serves only the first day of each month without an API key; "
            "pass an API key for other days)"
        )

    def gzip_check(path: Path) -> str:
        check_gzip(path)
        return "gzip stream and size"

    dest = Path(out_dir) / tardis_filename(exchange, data_type, d, symbol)
    return download_file(url, dest, headers=headers, check=gzip_check, error_hint=hint, **options)


def download_binance(
    market: BinanceMarket,
    data_type: str,
    symbol: str,
    period: date | str,
    *,
    interval: str | None = None,
    out_dir: str | os.PathLike[str] = ".",
    base_url: str | None = None,
    verify_checksum: bool = True,
    **options: Any,
) -> DownloadResult:
    """Download one Binance archive zip and verify it against its ``.CHECKSUM`` (sha256).

    The zip is written to ``out_dir/<remote path>`` (``data/futures/um/daily/trades/...``). The
    checksum file is fetched first (with the same retries); without it (HTTP 404) the download
    is refused unless ``verify_checksum=False``. ``options`` go to :func:`download_file`.
    """
    url = binance_url(
        market, data_type, symbol, period, interval=interval, base_url=base_url or BINANCE_BASE_URL
    )
    rel = binance_path(market, data_type, symbol, period, interval=interval)
    expected = None
    if verify_checksum:
        checksum_url = url + ".CHECKSUM"
        raw = _with_retries(
            lambda _: _fetch_bytes(
                checksum_url, headers={}, timeout_s=float(options.get("timeout_s", 60.0))
            ),
            url=checksum_url,
            retries=int(options.get("retries", 5)),
            backoff_s=float(options.get("backoff_s", 1.0)),
            max_backoff_s=float(options.get("max_backoff_s", 60.0)),
            sleep=options.get("sleep", time.sleep),
        )
        expected = parse_checksum(raw.decode("utf-8", "replace"), url=checksum_url)
    result = download_file(url, Path(out_dir) / rel, expected_sha256=expected, **options)
    if verify_checksum and result.verified.startswith("sha256"):
        return DownloadResult(
            result.url,
            result.path,
            result.size_bytes,
            result.sha256,
            result.status,
            result.attempts,
            result.resumed,
            "sha256 (.CHECKSUM)",
        )
    return result
