"""Time and unit conversions: the one place where scalings live.

Inside invrisk time is int64 nanoseconds since the Unix epoch, UTC (``*_ns``). Year fractions are
ACT/365 computed from nanoseconds: crypto trades every calendar day, so a year is 365 days of
86,400 seconds and there is no business-day calendar.

Raw model sensitivities are per 1.0 of their variable (vega per 1.0 of volatility, theta per
year). The conventional scalings that exchanges and desks quote are the named conversions below;
no pricing function applies them silently.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import overload

import numpy as np

from invrisk._typing import ArrayLike, Float64Array, Int64Array
from invrisk.errors import InvalidArgumentError

__all__ = [
    "DAYS_PER_YEAR",
    "DERIBIT_EXPIRY_HOUR_UTC",
    "NS_PER_DAY",
    "NS_PER_HOUR",
    "NS_PER_MINUTE",
    "NS_PER_MS",
    "NS_PER_SECOND",
    "NS_PER_US",
    "NS_PER_YEAR",
    "bps_to_decimal",
    "datetime_to_ns",
    "decimal_to_bps",
    "deribit_expiry_ns",
    "ms_to_ns",
    "ns_to_datetime",
    "ns_to_iso",
    "theta_per_day",
    "to_ns",
    "vega_per_vol_pt",
    "vol_from_pct",
    "vol_to_pct",
    "year_fraction",
]

NS_PER_US = 1_000
NS_PER_MS = 1_000_000
NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND
NS_PER_HOUR = 3_600 * NS_PER_SECOND
NS_PER_DAY = 86_400 * NS_PER_SECOND
DAYS_PER_YEAR = 365
"""ACT/365: crypto markets trade every calendar day."""
NS_PER_YEAR = DAYS_PER_YEAR * NS_PER_DAY
DERIBIT_EXPIRY_HOUR_UTC = 8
"""Deribit options and futures expire at 08:00 UTC."""


@overload
def year_fraction(start_ns: int, end_ns: int) -> float: ...
@overload
def year_fraction(start_ns: ArrayLike, end_ns: ArrayLike) -> float | Float64Array: ...
def year_fraction(start_ns: ArrayLike, end_ns: ArrayLike) -> float | Float64Array:
    """ACT/365 year fraction ``(end_ns - start_ns) / (365 * 86400e9)``.

    The difference is taken in int64 before the division, so nanosecond precision is kept for
    any pair of dates in the int64 range. Negative when ``end_ns`` is before ``start_ns``.

    Examples
    --------
    >>> year_fraction(0, NS_PER_DAY * 365)
    1.0
    >>> year_fraction(0, NS_PER_DAY)  # one day
    0.0027397260273972603
    """
    start = np.asarray(start_ns, dtype=np.int64)
    end = np.asarray(end_ns, dtype=np.int64)
    out = (end - start).astype(np.float64) / float(NS_PER_YEAR)
    if out.ndim == 0:
        return float(out)
    return out


def ms_to_ns(ms: ArrayLike) -> int | Int64Array:
    """Milliseconds since the epoch (exchange timestamps) to int64 nanoseconds."""
    arr = np.asarray(ms)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise InvalidArgumentError("ms", ms, "finite millisecond timestamps")
        # Whole and fractional milliseconds separately: ms * 1e6 in float64 would round
        # epoch times (about 1.6e18 ns, beyond 2**53) to a multiple of 256 ns.
        whole = np.floor(arr)
        frac_ns = np.rint((arr - whole) * NS_PER_MS).astype(np.int64)
        out: Int64Array = whole.astype(np.int64) * np.int64(NS_PER_MS) + frac_ns
    else:
        out = arr.astype(np.int64) * np.int64(NS_PER_MS)
    if out.ndim == 0:
        return int(out)
    return out


def datetime_to_ns(dt: datetime) -> int:
    """A timezone-aware datetime to int64 ns UTC. Naive datetimes are rejected, not guessed."""
    if dt.tzinfo is None:
        raise InvalidArgumentError("dt", dt, "a timezone-aware datetime (e.g. tzinfo=UTC)")
    delta = dt.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND + delta.microseconds * NS_PER_US


def to_ns(value: int | str | datetime | date) -> int:
    """Convert an edge-of-library time value to int64 ns UTC.

    Accepts int ns (returned unchanged), an ISO-8601 string (``2026-03-01T13:48:15Z``; a string
    without an offset is read as UTC), a timezone-aware datetime, or a date (midnight UTC).
    Nanosecond digits in strings are kept (``...15.123456789Z``).
    """
    if isinstance(value, bool):
        raise InvalidArgumentError("value", value, "int ns, ISO-8601 string, datetime or date")
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, datetime):
        return datetime_to_ns(value)
    if isinstance(value, date):
        return datetime_to_ns(datetime(value.year, value.month, value.day, tzinfo=UTC))
    if isinstance(value, str):
        return _iso_to_ns(value)
    raise InvalidArgumentError("value", value, "int ns, ISO-8601 string, datetime or date")


def _iso_to_ns(text: str) -> int:
    s = text.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    # Split off sub-microsecond digits, which datetime cannot hold.
    extra_ns = 0
    dot = s.find(".")
    if dot != -1:
        end = dot + 1
        while end < len(s) and s[end].isdigit():
            end += 1
        frac = s[dot + 1 : end]
        if len(frac) > 6:
            extra_ns = int(frac[6:9].ljust(3, "0"))
            s = s[: dot + 1] + frac[:6] + s[end:]
    try:
        dt = datetime.fromisoformat(s)
    except ValueError as exc:
        raise InvalidArgumentError(
            "value", text, "an ISO-8601 time such as 2026-03-01T13:48:15Z"
        ) from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return datetime_to_ns(dt) + extra_ns


def ns_to_datetime(t_ns: int) -> datetime:
    """int64 ns UTC to an aware datetime (microsecond resolution; for display only)."""
    seconds, rem = divmod(int(t_ns), NS_PER_SECOND)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=rem // NS_PER_US)


def ns_to_iso(t_ns: int) -> str:
    """int64 ns UTC to an ISO-8601 string ending in ``Z`` (nanoseconds kept when non-zero)."""
    seconds, rem = divmod(int(t_ns), NS_PER_SECOND)
    base = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if rem == 0:
        return base + "Z"
    return f"{base}.{rem:09d}".rstrip("0") + "Z"


def deribit_expiry_ns(day: date) -> int:
    """The expiry instant of a Deribit contract dated ``day``: 08:00 UTC that day, in ns."""
    return datetime_to_ns(
        datetime(day.year, day.month, day.day, DERIBIT_EXPIRY_HOUR_UTC, tzinfo=UTC)
    )


def bps_to_decimal(bps: ArrayLike) -> float | Float64Array:
    """Basis points to a decimal fraction (1 bp = 1e-4)."""
    out = np.asarray(bps, dtype=np.float64) * 1e-4
    return float(out) if out.ndim == 0 else out


def decimal_to_bps(x: ArrayLike) -> float | Float64Array:
    """A decimal fraction to basis points."""
    out = np.asarray(x, dtype=np.float64) * 1e4
    return float(out) if out.ndim == 0 else out


def vol_from_pct(vol_pct: ArrayLike) -> float | Float64Array:
    """Volatility quoted in percent (Deribit's ``mark_iv = 76.87``) to annualised decimal."""
    out = np.asarray(vol_pct, dtype=np.float64) / 100.0
    return float(out) if out.ndim == 0 else out


def vol_to_pct(vol: ArrayLike) -> float | Float64Array:
    """Annualised decimal volatility to percent."""
    out = np.asarray(vol, dtype=np.float64) * 100.0
    return float(out) if out.ndim == 0 else out


def vega_per_vol_pt(vega: ArrayLike) -> float | Float64Array:
    """Vega per 1.0 of volatility to vega per volatility point (0.01), e.g. Deribit's vega."""
    out = np.asarray(vega, dtype=np.float64) * 0.01
    return float(out) if out.ndim == 0 else out


def theta_per_day(theta: ArrayLike) -> float | Float64Array:
    """Theta per year (raw model theta) to theta per calendar day (ACT/365)."""
    out = np.asarray(theta, dtype=np.float64) / DAYS_PER_YEAR
    return float(out) if out.ndim == 0 else out
