"""Time and unit conversions (invrisk.units).

Reference values are computed independently of invrisk: instants with ``numpy.datetime64`` at
nanosecond resolution, year fractions with exact integer arithmetic (``fractions.Fraction``)
rounded once to float64.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invrisk.errors import InvalidArgumentError
from invrisk.units import (
    DAYS_PER_YEAR,
    DERIBIT_EXPIRY_HOUR_UTC,
    NS_PER_DAY,
    NS_PER_HOUR,
    NS_PER_MS,
    NS_PER_SECOND,
    NS_PER_US,
    NS_PER_YEAR,
    bps_to_decimal,
    datetime_to_ns,
    decimal_to_bps,
    deribit_expiry_ns,
    ms_to_ns,
    ns_to_datetime,
    ns_to_iso,
    theta_per_day,
    to_ns,
    vega_per_vol_pt,
    vol_from_pct,
    vol_to_pct,
    year_fraction,
)

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def np_ns(text: str) -> int:
    """Nanoseconds since the epoch of a UTC ISO time, by numpy (independent of invrisk)."""
    return int(np.datetime64(text, "ns").astype(np.int64))


def exact_year_fraction(start_ns: int, end_ns: int) -> float:
    return float(Fraction(end_ns - start_ns, 365 * 86_400 * 10**9))


# -- constants ------------------------------------------------------------------------------------


def test_constants() -> None:
    assert NS_PER_US == 10**3 and NS_PER_MS == 10**6 and NS_PER_SECOND == 10**9
    assert NS_PER_HOUR == 3_600 * 10**9 and NS_PER_DAY == 86_400 * 10**9
    assert DAYS_PER_YEAR == 365 and NS_PER_YEAR == 365 * 86_400 * 10**9
    assert DERIBIT_EXPIRY_HOUR_UTC == 8


# -- year_fraction --------------------------------------------------------------------------------


def test_year_fraction_exact_values() -> None:
    assert year_fraction(0, NS_PER_YEAR) == 1.0
    assert year_fraction(0, NS_PER_DAY) == 1.0 / 365.0
    assert year_fraction(NS_PER_DAY, 0) == -1.0 / 365.0
    assert year_fraction(5, 5) == 0.0
    # one Deribit week: 7 days / 365
    start = np_ns("2026-03-20T08:00:00")
    assert year_fraction(start, start + 7 * NS_PER_DAY) == 7.0 / 365.0
    assert isinstance(year_fraction(0, NS_PER_DAY), float)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (np_ns("2262-04-11T23:47:16.854775806"), np_ns("2262-04-11T23:47:16.854775807")),
        (2**62, 2**62 + 123_456_789),
        (INT64_MAX - 10**9, INT64_MAX),
        (INT64_MIN, INT64_MIN + 1),
        (-(10**18), 10**18),  # 1938 -> 2001, the difference still fits in int64
    ],
)
def test_year_fraction_keeps_nanoseconds_far_from_the_epoch(start: int, end: int) -> None:
    # The difference is taken in int64 before the division: one nanosecond in 2262 is one
    # nanosecond (as float64 division of the times would lose ~1000 ns there).
    assert year_fraction(start, end) == exact_year_fraction(start, end)
    assert year_fraction(np.int64(start), np.int64(end)) == exact_year_fraction(start, end)


def test_year_fraction_arrays_and_broadcasting() -> None:
    start = np_ns("2020-05-14T05:41:37.494")
    ends = np.array(
        [np_ns("2020-05-15T08:00"), np_ns("2020-06-26T08:00"), np_ns("2020-12-25T08:00")],
        dtype=np.int64,
    )
    out = year_fraction(start, ends)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == (3,)
    assert [float(x) for x in out] == [exact_year_fraction(start, int(e)) for e in ends]
    out2 = year_fraction(np.array([[start], [start - NS_PER_DAY]]), ends)
    assert out2.shape == (2, 3)
    for j, e in enumerate(ends):
        assert out2[1, j] == exact_year_fraction(start - NS_PER_DAY, int(e))


@settings(max_examples=300, deadline=None)
@given(st.integers(INT64_MIN // 2, INT64_MAX // 2), st.integers(INT64_MIN // 2, INT64_MAX // 2))
def test_year_fraction_is_correctly_rounded(start: int, end: int) -> None:
    # |end - start| < 2^63: int64 difference, one conversion to float, one division. The int to
    # float conversion rounds when |difference| > 2^53; the result is then within 1 ulp.
    got = year_fraction(start, end)
    want = exact_year_fraction(start, end)
    assert got == want or abs(got - want) <= math.ulp(want)
    if abs(end - start) <= 2**53:
        assert got == want


# -- to_ns ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "iso_utc"),
    [
        ("2026-03-01T13:48:15Z", "2026-03-01T13:48:15"),
        ("2026-03-01T13:48:15z", "2026-03-01T13:48:15"),
        ("2026-03-01T13:48:15", "2026-03-01T13:48:15"),  # no offset: UTC
        ("2026-03-01 13:48:15", "2026-03-01T13:48:15"),
        ("2026-03-01T13:48:15+00:00", "2026-03-01T13:48:15"),
        ("2026-03-01T15:48:15+02:00", "2026-03-01T13:48:15"),
        ("2026-03-01T08:18:15-05:30", "2026-03-01T13:48:15"),
        ("2026-03-01T13:48:15.5Z", "2026-03-01T13:48:15.5"),
        ("2026-03-01T13:48:15.123Z", "2026-03-01T13:48:15.123"),
        ("2026-03-01T13:48:15.123456Z", "2026-03-01T13:48:15.123456"),
        ("2026-03-01T13:48:15.1234567Z", "2026-03-01T13:48:15.1234567"),
        ("2026-03-01T13:48:15.123456789Z", "2026-03-01T13:48:15.123456789"),
        ("2026-03-01T13:48:15.000000001Z", "2026-03-01T13:48:15.000000001"),
        ("2026-03-01T15:48:15.123456789+02:00", "2026-03-01T13:48:15.123456789"),
        ("  2020-05-14T05:41:37.494Z ", "2020-05-14T05:41:37.494"),
        ("1969-12-31T23:59:59.123456789Z", "1969-12-31T23:59:59.123456789"),
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00"),
        ("2262-04-11T23:47:16.854775807Z", "2262-04-11T23:47:16.854775807"),
        ("2026-03-01", "2026-03-01T00:00:00"),
    ],
)
def test_to_ns_iso_strings(text: str, iso_utc: str) -> None:
    assert to_ns(text) == np_ns(iso_utc)
    assert isinstance(to_ns(text), int)


def test_to_ns_other_types() -> None:
    assert to_ns(1_772_372_895_000_000_000) == 1_772_372_895_000_000_000
    assert to_ns(np.int64(-5)) == -5 and isinstance(to_ns(np.int64(-5)), int)
    assert to_ns(date(2026, 3, 27)) == np_ns("2026-03-27T00:00")
    aware = datetime(2026, 3, 1, 15, 48, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert to_ns(aware) == np_ns("2026-03-01T13:48:15.123456")
    assert datetime_to_ns(aware) == np_ns("2026-03-01T13:48:15.123456")
    assert to_ns(datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)) == -1_000


@pytest.mark.parametrize("bad", [True, False, 1.5, None, b"2026-03-01", [1, 2]])
def test_to_ns_rejects_other_types(bad: object) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        to_ns(bad)  # type: ignore[arg-type]
    assert "value" in str(info.value)


@pytest.mark.parametrize(
    "bad",
    ["", "yesterday", "2026-13-01T00:00:00Z", "2026-03-01T25:00Z", "2026-03-01T13:48:15.12.3Z"],
)
def test_to_ns_rejects_bad_strings(bad: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        to_ns(bad)
    assert "value" in str(info.value)


def test_naive_datetime_is_rejected_not_guessed() -> None:
    naive = datetime(2026, 3, 1, 13, 48, 15)
    for func in (to_ns, datetime_to_ns):
        with pytest.raises(InvalidArgumentError) as info:
            func(naive)
        assert "timezone" in str(info.value)


# -- ns_to_iso / ns_to_datetime -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("t_ns", "text"),
    [
        (0, "1970-01-01T00:00:00Z"),
        (1, "1970-01-01T00:00:00.000000001Z"),
        (-1, "1969-12-31T23:59:59.999999999Z"),
        (np_ns("2026-03-01T13:48:15.5"), "2026-03-01T13:48:15.5Z"),
        (np_ns("2026-03-01T13:48:15.120"), "2026-03-01T13:48:15.12Z"),
        (INT64_MAX, "2262-04-11T23:47:16.854775807Z"),
        (INT64_MIN, "1677-09-21T00:12:43.145224192Z"),
    ],
)
def test_ns_to_iso(t_ns: int, text: str) -> None:
    assert ns_to_iso(t_ns) == text


@settings(max_examples=500, deadline=None)
@given(st.integers(INT64_MIN, INT64_MAX))
def test_ns_to_iso_round_trip(t_ns: int) -> None:
    text = ns_to_iso(t_ns)
    assert text.endswith("Z")
    assert to_ns(text) == t_ns
    assert np_ns(text[:-1]) == t_ns


@settings(max_examples=200, deadline=None)
@given(st.integers(INT64_MIN // 2, INT64_MAX // 2))
def test_ns_to_datetime_truncates_to_microseconds(t_ns: int) -> None:
    dt = ns_to_datetime(t_ns)
    assert dt.tzinfo is not None and dt.utcoffset() == timedelta(0)
    back = datetime_to_ns(dt)
    assert back <= t_ns < back + NS_PER_US


# -- Deribit expiries and exchange milliseconds ---------------------------------------------------


@pytest.mark.parametrize(
    ("day", "iso"),
    [
        (date(2020, 6, 26), "2020-06-26T08:00"),
        (date(2026, 3, 27), "2026-03-27T08:00"),
        (date(2024, 2, 29), "2024-02-29T08:00"),
        (date(2026, 12, 25), "2026-12-25T08:00"),
    ],
)
def test_deribit_expiry_ns(day: date, iso: str) -> None:
    assert deribit_expiry_ns(day) == np_ns(iso)


def test_deribit_expiry_matches_exchange_timestamps() -> None:
    # expiration_timestamp of BTC-26JUN20 in Deribit's ticker (ms)
    assert deribit_expiry_ns(date(2020, 6, 26)) == ms_to_ns(1_593_158_400_000)


def test_ms_to_ns_integers() -> None:
    assert ms_to_ns(1_589_434_897_494) == 1_589_434_897_494_000_000
    assert isinstance(ms_to_ns(1_589_434_897_494), int)
    assert ms_to_ns(np.int64(-3)) == -3_000_000
    arr = ms_to_ns(np.array([1_589_434_897_494, 1_593_158_400_000]))
    assert isinstance(arr, np.ndarray) and arr.dtype == np.int64
    assert arr.tolist() == [1_589_434_897_494_000_000, 1_593_158_400_000_000_000]
    assert ms_to_ns([0, 1]).tolist() == [0, 1_000_000]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("ms", "ns"),
    [
        (1.5, 1_500_000),
        (-2.25, -2_250_000),
        # exchange timestamps read as floats (CSV, JSON): integral milliseconds must convert
        # exactly, although ms·1e6 ~ 1.6e18 is beyond 2^53 in float64
        (1_589_434_897_494.0, 1_589_434_897_494_000_000),
        (1_772_372_895_000.0, 1_772_372_895_000_000_000),
        (1_589_434_897_494.5, 1_589_434_897_494_500_000),
    ],
)
def test_ms_to_ns_floats(ms: float, ns: int) -> None:
    assert ms_to_ns(ms) == ns
    assert ms_to_ns(np.array([ms])).tolist() == [ns]  # type: ignore[union-attr]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_ms_to_ns_rejects_non_finite(bad: float) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        ms_to_ns(np.array([1.0, bad]))
    assert "ms" in str(info.value)


# -- named unit conversions -----------------------------------------------------------------------


def test_vega_theta_and_vol_conversions() -> None:
    # Deribit reports vega per vol point and theta per day; raw Greeks are per 1.0 and per year.
    assert vega_per_vol_pt(1031.091) == pytest.approx(10.31091, rel=1e-15)
    assert vega_per_vol_pt(100.0) == 1.0
    assert theta_per_day(-365.0) == -1.0
    assert theta_per_day(-3941.0145) == pytest.approx(-10.7973, rel=1e-15)
    assert vol_from_pct(76.87) == 0.7687
    assert vol_to_pct(0.5) == 50.0
    for f in (
        vega_per_vol_pt,
        theta_per_day,
        vol_from_pct,
        vol_to_pct,
        bps_to_decimal,
        decimal_to_bps,
    ):
        assert isinstance(f(1.0), float)
        out = f(np.array([1.0, 2.0]))
        assert isinstance(out, np.ndarray) and out.shape == (2,)
        assert f(np.array([[3.0]])).shape == (1, 1)


def test_bps_conversions() -> None:
    assert bps_to_decimal(1.0) == 1e-4
    assert bps_to_decimal(25) == 0.0025
    assert decimal_to_bps(1e-4) == 1.0
    assert decimal_to_bps(-0.0125) == -125.0
    np.testing.assert_allclose(
        decimal_to_bps(bps_to_decimal(np.arange(-50.0, 50.0))),
        np.arange(-50.0, 50.0),
        rtol=1e-15,
        atol=0,
    )


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_conversions_are_pure_scalings(x: float) -> None:
    assert vega_per_vol_pt(x) == x * 0.01
    assert theta_per_day(x) == x / 365
    assert vol_from_pct(x) == x / 100
    assert vol_to_pct(x) == x * 100
    assert bps_to_decimal(x) == x * 1e-4
    assert decimal_to_bps(x) == x * 1e4
