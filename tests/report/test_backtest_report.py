"""The backtest HTML report: complete, self-contained, numbers equal to independent sums.

Unit tests build :class:`BacktestResult` objects by hand (``build_result``) from a small
two-instrument book (a linear and an inverse perpetual) whose fills, positions and cash are
worked out in plain Python here; one test runs the real backtester on a synthetic stream. The
charts are read back from the figure JSON that the page hands to ``Plotly.newPlot``.
"""

from __future__ import annotations

import base64
import bisect
import dataclasses
import json
import math
import re
import statistics
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import invrisk.report
from invrisk.backtest import BacktestResult, Fees, run_backtest
from invrisk.backtest import _sim_kernels_python as kernel
from invrisk.backtest.results import build_result
from invrisk.data.synthetic_market import benchmark_stream, synthetic_perpetual
from invrisk.errors import InvalidArgumentError
from invrisk.instruments import Instrument
from invrisk.report import backtest_report, write_backtest_report
from invrisk.report.backtest_report import MAX_POINTS
from invrisk.strategy import (
    AccountView,
    Context,
    Decision,
    Fill,
    HedgeIntent,
    MarketView,
    QuoteTarget,
)

T0 = 1_767_225_600_000_000_000  # 2026-01-01 00:00 UTC
MS = 1_000_000
LINEAR = synthetic_perpetual("linear")  # BTCUSDT, contract size 1, settles USDT
INVERSE = synthetic_perpetual("inverse", contract_size=10.0)  # BTCUSD_PERP, settles BTC
LINE_NAMES = {
    "equity",
    "spread capture (cumulative)",
    "−fees (cumulative)",
    "inventory + funding (equity − spread + fees)",
    "position (true)",
    "position (known to the strategy)",
    "mid (local)",
    "our best bid",
    "our best ask",
}
FILL_NAMES = {"buy fill, maker", "buy fill, taker", "sell fill, maker", "sell fill, taker"}
HORIZONS = (0.1, 0.5, 1, 2, 5, 10, 30, 60)


# -- reading the page back -----------------------------------------------------------------------


def _figure(text: str, div_id: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The (data, layout) passed to ``Plotly.newPlot`` for the div ``div_id``."""
    match = re.search(r'Plotly\.newPlot\(\s*"' + re.escape(div_id) + r'",\s*', text)
    assert match is not None, f"no plot for div {div_id}"
    decoder = json.JSONDecoder()
    data, end = decoder.raw_decode(text, match.end())
    layout, _ = decoder.raw_decode(text, text.index("{", end))
    return data, layout


def _array(value: Any) -> np.ndarray:
    """A plotted array: plotly >= 6 writes numpy arrays as base64 typed arrays, older as lists."""
    if isinstance(value, dict) and "bdata" in value:
        out = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        if "shape" in value:
            shape = value["shape"]
            dims = [int(s) for s in (shape.split(",") if isinstance(shape, str) else shape)]
            out = out.reshape(dims)
        return out.astype(np.float64)
    return np.array(value, dtype=np.float64)  # None (JSON null) becomes NaN


def _traces(text: str, i: int, which: str = "timeline") -> dict[str, dict[str, Any]]:
    data, _ = _figure(text, f"invrisk-bt-{i}-{which}")
    out = {t["name"]: t for t in data}
    assert len(out) == len(data)  # names are unique within a figure
    return out


def _section(text: str, name: str) -> str:
    start = text.index(f"<h2>{name}</h2>")
    end = text.find("<h2>", start + 1)
    return text[start : end if end > 0 else len(text)]


def _metric(section: str, label: str) -> tuple[str, str]:
    """(value, unit) of a row of an instrument's metric table."""
    row = re.search(
        rf"<tr><td class=l>{re.escape(label)}</td><td>(.*?)</td><td>(.*?)</td></tr>", section
    )
    assert row is not None, label
    return row.group(1), row.group(2)


def _header_value(text: str, label: str) -> str:
    row = re.search(rf"<tr><td>{re.escape(label)}</td><td><b>(.*?)</b></td></tr>", text)
    assert row is not None, label
    return row.group(1)


def _float(cell: str) -> float:
    return float(cell.replace(",", ""))


def _utc(t_ns: int) -> str:
    """The page's time format, computed with the standard library (no numpy datetime64)."""
    return (datetime(1970, 1, 1) + timedelta(microseconds=t_ns // 1000)).isoformat(
        timespec="microseconds"
    )


# -- a hand-built result -------------------------------------------------------------------------


def _value(inst: Instrument, p: float) -> float:
    return -inst.contract_size / p if inst.is_inverse else inst.contract_size * p


@dataclasses.dataclass
class Book:
    """A small backtest written out by hand: its result and the independent reference sums."""

    result: BacktestResult
    fills: list[tuple[Any, ...]]
    total: list[float]
    spread: list[float]
    fees: list[float]
    funding: list[float]


def _mid(i: int, t_ns: int) -> float:
    s = (t_ns - T0) / 1e9
    return 100.0 + 0.5 * math.sin(s) if i == 0 else 50_000.0 + 20.0 * math.cos(s / 0.7)


# (instrument, exchange ms after T0, side, price, qty, maker); local time = exchange + 2 ms.
FILL_PLAN = [
    (0, 1_050, 1, 99.9, 1.0, True),
    (1, 1_500, 1, 49_990.0, 3.0, True),
    (0, 2_320, -1, 100.4, 0.5, True),
    (0, 3_710, 1, 100.6, 0.3, False),
    (0, 4_050, -1, 100.3, 0.2, True),  # 1 s later the sample's mid is NaN: no 1 s markout
    (0, 6_000, -1, 99.0, 2.0, False),
    (1, 7_000, -1, 50_030.0, 2.0, False),
    (0, 9_990, 1, 100.1, 1.0, True),
    (1, 12_345, 1, 49_980.5, 1.0, True),
    (0, 19_950, -1, 100.2, 1.0, True),  # no sample 0.1 s after it is reported
]
FEES = Fees(maker=-0.0001, taker=0.0005)


SAMPLE_FIELDS = ("mid", "position_known", "position", "cash", "value", "bid", "ask")


def _samples(rows: list[tuple[Any, ...]], n_inst: int) -> dict[str, np.ndarray]:
    """``build_result``'s sample arrays from rows ``(t_ns, *one array per SAMPLE_FIELDS)``."""
    out: dict[str, np.ndarray] = {"t_ns": np.array([r[0] for r in rows], dtype=np.int64)}
    for j, name in enumerate(SAMPLE_FIELDS, start=1):
        out[name] = np.array([r[j] for r in rows], dtype=np.float64).reshape(len(rows), n_inst)
    return out


def _book(n_samples: int = 200, plan: list[tuple[Any, ...]] = FILL_PLAN) -> Book:
    insts = (LINEAR, INVERSE)
    fills: list[tuple[Any, ...]] = []
    for i, ms, side, price, qty, maker in plan:
        inst = insts[i]
        ex = T0 + ms * MS
        fee = (FEES.maker if maker else FEES.taker) * qty * abs(_value(inst, price))
        fills.append(
            (ex, ex + 2 * MS, i, len(fills) + 1, side, price, qty, fee, maker, _mid(i, ex))
        )
    funding = [0.0, 1e-6]
    samples = []
    for k in range(n_samples):
        t = T0 + (k + 1) * 100 * MS
        mids = np.array([_mid(0, t), _mid(1, t)])
        if k == 50:
            mids[0] = math.nan  # a side of the local book empty at this sample
        done = [f for f in fills if f[0] <= t]
        known = [f for f in fills if f[1] <= t]
        pos = np.array([sum(f[4] * f[6] for f in done if f[2] == i) for i in (0, 1)])
        kpos = np.array([sum(f[4] * f[6] for f in known if f[2] == i) for i in (0, 1)])
        cash = np.array(
            [
                sum(-f[4] * f[6] * _value(insts[i], f[5]) - f[7] for f in done if f[2] == i)
                for i in (0, 1)
            ]
        )
        value = np.array([_value(insts[i], _mid(i, t)) for i in (0, 1)])
        bid, ask = mids - np.array([0.2, 5.0]), mids + np.array([0.2, 5.0])
        if 100 <= k < 110:
            bid[0] = math.nan  # bid not quoted for a second
        samples.append((t, mids, kpos, pos, cash, value, bid, ask))
    acc = np.zeros((2, kernel.A_N))
    total, spread, fees = [], [], []
    end = T0 + (n_samples + 1) * 100 * MS
    for i, inst in enumerate(insts):
        mine = [f for f in fills if f[2] == i]
        pos_i = sum(f[4] * f[6] for f in mine)
        cash_i = sum(-f[4] * f[6] * _value(inst, f[5]) - f[7] for f in mine) + funding[i]
        last_value = _value(inst, _mid(i, end))
        spread.append(sum(f[4] * f[6] * (_value(inst, f[9]) - _value(inst, f[5])) for f in mine))
        fees.append(sum(f[7] for f in mine))
        total.append(cash_i + pos_i * last_value)
        acc[i, kernel.A_POS], acc[i, kernel.A_CASH], acc[i, kernel.A_LAST_VALUE] = (
            pos_i,
            cash_i,
            last_value,
        )
        acc[i, kernel.A_SPREAD], acc[i, kernel.A_FEES], acc[i, kernel.A_FUNDING] = (
            spread[i],
            fees[i],
            funding[i],
        )
        acc[i, kernel.A_INV] = total[i] - spread[i] + fees[i] - funding[i]
        acc[i, kernel.A_VOLUME] = sum(f[6] * abs(_value(inst, f[5])) for f in mine)
        acc[i, kernel.A_MAKER_QTY] = sum(f[6] for f in mine if f[8])
        acc[i, kernel.A_TAKER_QTY] = sum(f[6] for f in mine if not f[8])
    result = build_result(
        instruments=insts,
        samples=_samples(samples, 2),
        fills=fills,
        account=acc,
        orders_sent=25,
        cancels_sent=7,
        rejections={"max_position": 2},
        risk_events=[(T0 + 5_000 * MS, "ACTIVE->REDUCING")],
        out_of_window=0,
        end_ns=end,
    )
    return Book(result, fills, total, spread, fees, funding)


def _markout_reference(res: BacktestResult, i: int, h: float, maker: bool | None) -> list[float]:
    """Per-fill markouts ``side * (mid(t + h) - price)`` by a plain loop over the fills."""
    times = [int(x) for x in res.t_ns]
    out = []
    for f in res.fills:
        if f["instrument"] != i or (maker is not None and bool(f["maker"]) != maker):
            continue
        k = bisect.bisect_left(times, int(f["local_ns"]) + round(h * 1e9))
        if k < len(times) and not math.isnan(res.mid[k, i]):
            out.append(float(f["side"]) * (float(res.mid[k, i]) - float(f["price"])))
    return out


@pytest.fixture(scope="module")
def book() -> Book:
    return _book()


@pytest.fixture(scope="module")
def page(book: Book) -> str:
    return backtest_report(book.result)


# -- tests ---------------------------------------------------------------------------------------


def test_public_names() -> None:
    assert invrisk.report.__all__ == sorted(invrisk.report.__all__)
    assert {"backtest_report", "write_backtest_report"} <= set(invrisk.report.__all__)


def test_html_is_one_self_contained_document(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<html") == 1 and page.rstrip().endswith("</html>")
    assert page.count("* plotly.js v") == 1  # the bundle is inlined once for all charts
    assert not re.search(r"<script[^>]*\bsrc\s*=", page)
    assert page.count("Plotly.newPlot(") == 4  # two charts per instrument
    for i in (0, 1):
        for which in ("timeline", "outcome"):
            _figure(page, f"invrisk-bt-{i}-{which}")


def test_header(book: Book, page: str) -> None:
    assert "<title>Backtest BTCUSDT, BTCUSD_PERP, 2026-01-01T00:00:00.1Z to " in page
    assert _header_value(page, "fills") == str(len(FILL_PLAN))
    assert _header_value(page, "orders / cancels / amends sent") == "25 / 7 / 0"
    assert _header_value(page, "risk rejections") == "max_position: 2"
    assert _header_value(page, "fills per order sent") == f"{len(FILL_PLAN) / 25:.3f}"
    # Totals per settlement currency: USDT and BTC are never added together.
    np.testing.assert_allclose(
        _float(_header_value(page, "total PnL (USDT)")), book.total[0], rtol=1e-7
    )
    np.testing.assert_allclose(
        _float(_header_value(page, "total PnL (BTC)")), book.total[1], rtol=1e-7
    )
    assert f"{MAX_POINTS:,} points are thinned" in page
    assert "<td class=l>2026-01-01T00:00:05Z</td><td class=l>ACTIVE-&gt;REDUCING</td>" in page


def test_metric_tables_have_units_and_independent_numbers(book: Book, page: str) -> None:
    for i, (inst, cur) in enumerate([(LINEAR, "USDT"), (INVERSE, "BTC")]):
        sec = _section(page, inst.name)
        for label, expected in [
            ("total PnL", book.total[i]),
            ("spread capture", book.spread[i]),
            ("fees paid (negative = rebate)", book.fees[i]),
            ("funding received", book.funding[i]),
        ]:
            value, unit = _metric(sec, label)
            assert unit == cur
            np.testing.assert_allclose(_float(value), expected, rtol=1e-7, atol=1e-15)
        mine = [f for f in book.fills if f[2] == i]
        assert _metric(sec, "fills") == (str(len(mine)), "count")
        value, unit = _metric(sec, "final position")
        assert unit == "contracts" and _float(value) == pytest.approx(
            sum(f[4] * f[6] for f in mine)
        )
        assert _metric(sec, "mean quoted spread")[1] == inst.price_currency
        sharpe = "Sharpe (annualised, 60 s PnL bars, 525,600 periods/yr)"
        assert _metric(sec, sharpe)[1] == "–"  # 365 * 86400 / 60 bars per year
    assert "No fills." not in page


def test_timeline_series(book: Book, page: str) -> None:
    res = book.result
    for i, inst in enumerate(res.instruments):
        tr = _traces(page, i)
        assert set(tr) == LINE_NAMES | FILL_NAMES
        assert {t["meta"] for t in tr.values()} == {inst.name}
        times = [_utc(int(t)) for t in res.t_ns]
        for name, series in [
            ("equity", res.equity[:, i]),
            ("position (true)", res.position[:, i]),
            ("position (known to the strategy)", res.position_known[:, i]),
            ("mid (local)", res.mid[:, i]),
            ("our best bid", res.bid[:, i]),
        ]:
            assert tr[name]["x"] == times  # every sample (short series), UTC
            np.testing.assert_array_equal(_array(tr[name]["y"]), series)  # NaN gaps kept
        # Cumulative spread capture and fees at each fill's exchange time, starting from 0.
        mine = sorted((f for f in book.fills if f[2] == i), key=lambda f: f[0])
        spread = np.cumsum([f[4] * f[6] * (_value(inst, f[9]) - _value(inst, f[5])) for f in mine])
        fees = np.cumsum([f[7] for f in mine])
        for name, expected in [
            ("spread capture (cumulative)", spread),
            ("−fees (cumulative)", -fees),
        ]:
            assert tr[name]["x"] == [times[0]] + [_utc(f[0]) for f in mine]
            np.testing.assert_allclose(_array(tr[name]["y"]), np.r_[0.0, expected], rtol=1e-12)
        assert spread[-1] == pytest.approx(res.pnl[i].spread, rel=1e-12)
        # The rest of the equity is the inventory PnL: sum of side * qty * (value(mid_t) -
        # value(mid at the fill)) over the fills done by each sample (no funding in samples).
        rest = _array(tr["inventory + funding (equity − spread + fees)"]["y"])
        for k, t in enumerate(res.t_ns):
            v = _value(inst, _mid(i, int(t)))
            inv = sum(f[4] * f[6] * (v - _value(inst, f[9])) for f in mine if f[0] <= t)
            assert rest[k] == pytest.approx(inv, rel=1e-9, abs=1e-9)
    _, layout = _figure(page, "invrisk-bt-0-timeline")
    assert layout["xaxis3"]["title"]["text"] == "time (UTC)" and layout["xaxis"]["type"] == "date"
    titles = {layout[k]["title"]["text"] for k in ("yaxis", "yaxis2", "yaxis3")}
    assert titles == {"PnL (USDT)", "position (contracts)", "price (USDT)"}


def test_fills_are_marked_by_side_and_liquidity(book: Book, page: str) -> None:
    for i in (0, 1):
        tr = _traces(page, i)
        for name in FILL_NAMES:
            side = 1 if name.startswith("buy") else -1
            maker = name.endswith("maker")
            mine = [f for f in book.fills if f[2] == i and f[4] == side and f[8] == maker]
            assert tr[name]["x"] == [_utc(f[0]) for f in mine]
            np.testing.assert_array_equal(_array(tr[name]["y"]), [f[5] for f in mine])
            symbol = tr[name]["marker"]["symbol"]
            assert symbol.startswith("triangle-up" if side == 1 else "triangle-down")
            assert symbol.endswith("-open") != maker  # open markers are taker fills


def test_decomposition_waterfall(book: Book, page: str) -> None:
    for i, p in enumerate(book.result.pnl):
        (wf,) = [t for t in _figure(page, f"invrisk-bt-{i}-outcome")[0] if t["type"] == "waterfall"]
        assert wf["x"] == ["spread capture", "inventory", "−fees", "funding", "total"]
        assert wf["measure"] == ["relative"] * 4 + ["total"]
        y = _array(wf["y"])
        np.testing.assert_allclose(y, [p.spread, p.inventory, -p.fees, p.funding, book.total[i]])
        assert y[:4].sum() == pytest.approx(y[4], rel=1e-12)


def test_markouts_match_a_plain_loop(book: Book, page: str) -> None:
    res = book.result
    for i in (0, 1):
        tr = _traces(page, i, "outcome")
        table = _section(page, res.instruments[i].name).split("<h3>PnL decomposition")[1]
        for g, maker in (("maker", True), ("taker", False)):
            np.testing.assert_array_equal(_array(tr[f"{g} fills"]["x"]), HORIZONS)
            y, se = _array(tr[f"{g} fills"]["y"]), _array(tr[f"{g} fills"]["error_y"]["array"])
            for k, h in enumerate(HORIZONS):
                v = _markout_reference(res, i, h, maker)
                np.testing.assert_allclose(y[k], statistics.fmean(v) if v else math.nan, rtol=1e-12)
                ref_se = statistics.stdev(v) / math.sqrt(len(v)) if len(v) > 1 else math.nan
                np.testing.assert_allclose(se[k], ref_se, rtol=1e-9)
        # The table row at 1 s: maker, taker and all fills (mean, SE, count).
        row = re.search(r"<tr><td class=l>1</td>(.*?)</tr>", table)
        assert row is not None
        cells = re.findall(r"<td>(.*?)</td>", row.group(1))
        for j, group in enumerate((True, False, None)):
            v = _markout_reference(res, i, 1.0, group)
            assert cells[3 * j + 2] == str(len(v))
            if v:
                assert _float(cells[3 * j]) == pytest.approx(statistics.fmean(v), rel=1e-5)
    # The NaN mid and the end of the samples leave fills out of 5 linear maker fills.
    assert len(_markout_reference(res, 0, 1.0, True)) == 3
    assert len(_markout_reference(res, 0, 0.1, True)) == 4


def test_no_fills() -> None:
    res = _book(n_samples=30, plan=[]).result
    text = backtest_report(res)
    assert _header_value(text, "fills") == "0"
    assert text.count("No fills.") == 2
    tr = _traces(text, 0)
    for name in FILL_NAMES:
        assert tr[name]["x"] == []
    assert _array(tr["spread capture (cumulative)"]["y"]).tolist() == [0.0]
    marks = _traces(text, 1, "outcome")
    assert np.isnan(_array(marks["maker fills"]["y"])).all()
    assert "<td>–</td><td>–</td><td>0</td>" in text


def test_no_samples() -> None:
    """A stream shorter than one decision interval: no samples; the fills are still shown."""
    res = _book(n_samples=0, plan=FILL_PLAN[:2]).result
    assert res.t_ns.size == 0
    text = backtest_report(res)
    assert _header_value(text, "decisions (samples)") == "0"
    tr = _traces(text, 0)
    assert tr["equity"]["x"] == []
    assert tr["buy fill, maker"]["x"] == [_utc(T0 + 1_050 * MS)]
    assert _array(tr["spread capture (cumulative)"]["y"]).size == 1  # one fill, no start point
    res = _book(n_samples=0, plan=[]).result
    assert _traces(backtest_report(res), 1)["spread capture (cumulative)"]["x"] == []


def test_long_series_are_thinned_but_no_fill_is_dropped() -> None:
    rng = np.random.default_rng(7)
    n, n_fills = 60_000, 25_000
    mid = 100.0 + np.cumsum(rng.normal(0.0, 0.05, n))
    t = T0 + np.arange(1, n + 1, dtype=np.int64) * 100 * MS
    one = np.ones(1)
    samples = [
        (
            int(t[k]),
            mid[k : k + 1],
            0 * one,
            0 * one,
            0 * one,
            mid[k : k + 1],
            mid[k : k + 1] - 0.1,
            mid[k : k + 1] + 0.1,
        )
        for k in range(n)
    ]
    at = np.sort(rng.integers(0, n, n_fills))
    side = rng.choice([-1, 1], n_fills)
    maker = rng.random(n_fills) < 0.7
    price = mid[at] - side * 0.1
    fills: list[tuple[Any, ...]] = [
        (int(t[a]), int(t[a]) + MS, 0, j, int(s), float(p), 0.01, 0.0, bool(m), float(mid[a]))
        for j, (a, s, p, m) in enumerate(zip(at, side, price, maker, strict=True))
    ]
    res = build_result(
        instruments=(LINEAR,),
        samples=_samples(samples, 1),
        fills=fills,
        account=np.zeros((1, kernel.A_N)),
        orders_sent=n_fills,
        cancels_sent=0,
        rejections={},
        risk_events=[],
        out_of_window=0,
        end_ns=int(t[-1]),
    )
    text = backtest_report(res, markouts_s=(1.0,))
    tr = _traces(text, 0)
    for name in LINE_NAMES:
        assert 1_000 < len(tr[name]["x"]) <= MAX_POINTS, name
    shown = _array(tr["mid (local)"]["y"])
    assert shown.max() == mid.max() and shown.min() == mid.min()  # extremes survive
    assert tr["mid (local)"]["x"][0] == _utc(int(t[0])) and tr["mid (local)"]["x"][-1] == _utc(
        int(t[-1])
    )
    spread = _array(tr["spread capture (cumulative)"]["y"])
    assert spread[-1] == pytest.approx(np.sum(side * 0.01 * (mid[at] - price)), rel=1e-9)
    # Every fill is drawn, at its own time and price.
    drawn = sorted(
        (x, float(y))
        for name in FILL_NAMES
        for x, y in zip(tr[name]["x"], _array(tr[name]["y"]), strict=True)
    )
    assert len(drawn) == n_fills
    assert drawn == sorted((_utc(f[0]), f[5]) for f in fills)


class _QuoteAndHedge:
    """Quotes 0.3 either side of the mid, skewed by the position; hedges |q| >= 0.03 as a taker."""

    def on_start(self, ctx: Context) -> None:
        pass

    def on_fill(self, fill: Fill) -> None:
        pass

    def decide(self, view: MarketView, account: AccountView) -> Decision:
        iv = view.instruments[0]
        if not math.isfinite(iv.mid):
            return Decision()
        q = float(account.position[0])
        if abs(q) >= 0.03:
            return Decision(hedges=(HedgeIntent(0, -q),))
        b = round((iv.mid - 0.3 - 2.0 * q) / 0.1) / 10
        a = round((iv.mid + 0.3 - 2.0 * q) / 0.1) / 10
        return Decision(
            quotes=(QuoteTarget.two_sided(0, bid=b, ask=a, bid_qty=0.01, ask_qty=0.01),)
        )


def test_end_to_end_on_a_synthetic_market(tmp_path: Path) -> None:
    m = benchmark_stream(20_000, seed=1)
    res = run_backtest(
        events=m.events, instruments=[m.instrument], strategy=_QuoteAndHedge(), fees=FEES
    )
    f = res.fills
    assert f["maker"].any() and not f["maker"].all()  # both kinds of fill occur
    text = backtest_report(res)
    sec = _section(text, m.instrument.name)
    # Fills: the header, the table and the markers all count every fill.
    assert _header_value(text, "fills") == str(f.size)
    assert _metric(sec, "fills")[0] == str(f.size)
    tr = _traces(text, 0)
    assert sum(len(tr[name]["x"]) for name in FILL_NAMES) == f.size
    # PnL: spread capture and fees re-summed from the fills (linear, contract size 1).
    spread = sum(float(r["side"] * r["qty"] * (r["mid"] - r["price"])) for r in f)
    fees = sum(float(r["fee"]) for r in f)
    assert _float(_metric(sec, "spread capture")[0]) == pytest.approx(spread, rel=1e-7)
    assert _float(_metric(sec, "fees paid (negative = rebate)")[0]) == pytest.approx(fees, rel=1e-7)
    assert _array(tr["spread capture (cumulative)"]["y"])[-1] == pytest.approx(spread, rel=1e-9)
    # Total: cash from the fills plus the final position at a price the market traded at.
    position = sum(float(r["side"] * r["qty"]) for r in f)
    cash = sum(float(-r["side"] * r["qty"] * r["price"] - r["fee"]) for r in f)
    total = _float(_metric(sec, "total PnL")[0])
    assert total == pytest.approx(res.pnl[0].total, rel=1e-7)
    assert _float(_header_value(text, "total PnL (USDT)")) == pytest.approx(total, rel=1e-7)
    if position:
        implied_mid = (total - cash) / position
        assert np.nanmin(res.mid) - 50 < implied_mid < np.nanmax(res.mid) + 50
    parts = [
        _float(_metric(sec, k)[0])
        for k in (
            "spread capture",
            "inventory",
            "fees paid (negative = rebate)",
            "funding received",
        )
    ]
    assert parts[0] + parts[1] - parts[2] + parts[3] == pytest.approx(total, rel=1e-6, abs=1e-6)
    # Markout at 1 s, maker and taker, from a plain loop over the fills.
    marks = _traces(text, 0, "outcome")
    k = HORIZONS.index(1)
    for g, maker in (("maker", True), ("taker", False)):
        v = _markout_reference(res, 0, 1.0, maker)
        assert v
        assert _array(marks[f"{g} fills"]["y"])[k] == pytest.approx(statistics.fmean(v), rel=1e-12)
    out = write_backtest_report(res, tmp_path / "bt.html", title="synthetic")
    assert out == tmp_path / "bt.html"
    written = out.read_text(encoding="utf-8")
    assert "<title>synthetic</title>" in written
    assert written == backtest_report(res, title="synthetic")


def test_output_is_deterministic(book: Book, page: str) -> None:
    assert backtest_report(book.result) == page
    assert backtest_report(_book().result) == page


def test_write_backtest_report(book: Book, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("an older report")
    out = write_backtest_report(book.result, str(target), markouts_s=(1, 5))
    assert out == target
    assert target.read_text(encoding="utf-8") == backtest_report(book.result, markouts_s=(1, 5))
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    with pytest.raises(InvalidArgumentError, match="path"):
        write_backtest_report(book.result, tmp_path / "missing" / "r.html")


def test_title_is_escaped(book: Book) -> None:
    text = backtest_report(book.result, title='<b>"MM" & co</b>')
    assert "<title>&lt;b&gt;&quot;MM&quot; &amp; co&lt;/b&gt;</title>" in text


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"markouts_s": ()}, "markouts_s"),
        ({"markouts_s": (1.0, -1.0)}, "markouts_s"),
        ({"markouts_s": (math.nan,)}, "markouts_s"),
        ({"markouts_s": "1"}, "markouts_s"),
        ({"markouts_s": (True,)}, "markouts_s"),
        ({"title": 3}, "title"),
    ],
)
def test_bad_arguments(book: Book, kwargs: dict[str, Any], argument: str) -> None:
    with pytest.raises(InvalidArgumentError, match=argument):
        backtest_report(book.result, **kwargs)


def test_not_a_result() -> None:
    with pytest.raises(InvalidArgumentError, match="result"):
        backtest_report({"t_ns": []})  # type: ignore[arg-type]
