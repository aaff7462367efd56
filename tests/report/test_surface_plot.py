"""The volatility-surface HTML report: self-contained, complete, deterministic, written atomically.

The charts are checked through the figure JSON that the page hands to ``Plotly.newPlot``: the
plotted numbers are decoded and compared with the surface and quotes they came from.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import invrisk.report
from invrisk.data import load_deribit_chain, synthetic_chain
from invrisk.errors import InvalidArgumentError
from invrisk.report import surface_figures, surface_report_html, write_surface_report
from invrisk.surface import (
    ArbitrageReport,
    SmileQuotes,
    VolSurface,
    arbitrage_report,
    fit_surface,
    smile_quotes,
)
from invrisk.units import DAYS_PER_YEAR, ns_to_iso
from tests.conftest import require_data

BTC_SNAPSHOT = (
    "deribit_chain_snapshots_2026_znmahbub/deribit_options_snapshot_20260226T094105Z.csv.gz"
)
QUOTE_NAMES = {"bid IV", "ask IV", "mark IV (fit target)"}
FIT_NAMES = {"SVI fit", "SVI fit, extrapolated"}


@dataclasses.dataclass(frozen=True)
class Case:
    surface: VolSurface
    quotes: list[SmileQuotes]
    report: ArbitrageReport
    html: str


def _case(chain: Any) -> Case:
    surface = fit_surface(chain)
    quotes, _ = smile_quotes(chain)
    report = arbitrage_report(surface)
    return Case(surface, quotes, report, surface_report_html(surface, quotes=quotes, report=report))


@pytest.fixture(scope="module")
def synthetic() -> Case:
    return _case(synthetic_chain())


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


def test_public_names() -> None:
    assert invrisk.report.__all__ == sorted(invrisk.report.__all__)
    for name in invrisk.report.__all__:
        assert hasattr(invrisk.report, name)


def test_html_is_one_self_contained_document(synthetic: Case) -> None:
    text = synthetic.html
    assert text.startswith("<!DOCTYPE html>")
    assert text.count("<html") == 1 and text.rstrip().endswith("</html>")
    # plotly.js is embedded inline, exactly once; nothing is fetched from the network.
    assert text.count("* plotly.js v") == 1
    assert not re.search(r"<script[^>]*\bsrc\s*=", text)
    assert "<link" not in text and "@import" not in text
    # Outside the bundle (whose defaults name a map-data URL) the page links nowhere.
    start = text.index("<script>/**\n* plotly.js v")
    page = text[:start] + text[text.index("</script>", start) :]
    assert "http" not in page
    # The bundle is the bulk of a report; the page itself is a few hundred kB.
    assert len(page.encode()) < 500_000
    assert 3_000_000 < len(text.encode()) < 8_000_000


def test_header(synthetic: Case) -> None:
    s = synthetic.surface
    text = synthetic.html
    assert f"<title>BTC volatility surface, {ns_to_iso(s.valuation_ns)}</title>" in text
    for label, value in [
        ("currency", "BTC"),
        ("model", "SVI"),
        ("valuation time", ns_to_iso(s.valuation_ns)),
        ("expiries", str(len(s.slices))),
    ]:
        assert f"<tr><td>{label}</td><td><b>{value}</b></td></tr>" in text


def test_one_smile_panel_per_expiry_with_quotes_and_fit(synthetic: Case) -> None:
    surface, quotes = synthetic.surface, synthetic.quotes
    assert len(quotes) == len(surface.slices) == 9
    data, layout = _figure(synthetic.html, "invrisk-smiles")
    titles = [a["text"] for a in layout["annotations"]]
    axes = set()
    for s, q in zip(surface.slices, quotes, strict=True):
        label = ns_to_iso(s.expiry_ns)
        group = {t["name"]: t for t in data if t.get("meta") == label}
        assert set(group) == QUOTE_NAMES | FIT_NAMES, label
        panel = {(t["xaxis"], t["yaxis"]) for t in group.values()}
        assert len(panel) == 1  # one panel holds the whole group
        axes |= panel
        assert f"{label[:10]} ({s.t_yr * DAYS_PER_YEAR:.1f} d)" in titles
        # Quotes: k and vols in percent, exactly as given.
        target = group["mark IV (fit target)"]
        np.testing.assert_allclose(_array(target["x"]), q.log_moneyness, rtol=0, atol=1e-15)
        np.testing.assert_allclose(_array(target["y"]), 100.0 * q.iv, rtol=1e-14)
        np.testing.assert_allclose(_array(group["bid IV"]["y"]), 100.0 * q.iv_bid, rtol=1e-14)
        np.testing.assert_allclose(_array(group["ask IV"]["y"]), 100.0 * q.iv_ask, rtol=1e-14)
        np.testing.assert_allclose(
            _array(target["customdata"]), q.strike, rtol=1e-12
        )  # strike in the hover
        # Fit: the surface's own smile, solid over the quoted range, dotted beyond it.
        fit = group["SVI fit"]
        kf = _array(fit["x"])
        np.testing.assert_allclose(kf[[0, -1]], [s.k_min, s.k_max], rtol=0, atol=1e-15)
        expected = 100.0 * surface.iv_k(log_moneyness=kf, t_yr=s.t_yr)
        np.testing.assert_allclose(_array(fit["y"]), expected, rtol=1e-14)
        wing = _array(group["SVI fit, extrapolated"]["x"])
        assert np.nanmin(wing) < s.k_min - 0.2 * (s.k_max - s.k_min)
        assert np.nanmax(wing) > s.k_max + 0.2 * (s.k_max - s.k_min)
        assert np.isnan(wing).sum() == 1  # left and right wing, one gap
    assert len(axes) == len(surface.slices)  # a panel per expiry, none shared
    # One legend entry per kind of trace, not one per panel.
    assert sorted(t["name"] for t in data if t["showlegend"]) == sorted(QUOTE_NAMES | FIT_NAMES)


def test_axis_titles_carry_units(synthetic: Case) -> None:
    _, layout = _figure(synthetic.html, "invrisk-smiles")
    titles = [
        v["title"]["text"]
        for key, v in layout.items()
        if re.fullmatch(r"[xy]axis\d*", key) and v.get("title", {}).get("text")
    ]
    assert "log-moneyness k = ln(K/F) (–)" in titles and "implied vol (%)" in titles
    assert all(t.endswith(")") for t in titles)
    _, layout3d = _figure(synthetic.html, "invrisk-surface")
    scene = layout3d["scene"]
    assert scene["xaxis"]["title"]["text"] == "k = ln(K/F) (–)"
    assert scene["yaxis"]["title"]["text"] == "days to expiry (d, log scale)"
    assert scene["zaxis"]["title"]["text"] == "implied vol (%)"


def test_surface_3d_matches_the_surface(synthetic: Case) -> None:
    surface = synthetic.surface
    data, _ = _figure(synthetic.html, "invrisk-surface")
    (trace,) = [t for t in data if t["type"] == "surface"]
    k, days, z = _array(trace["x"]), _array(trace["y"]), _array(trace["z"])
    assert z.shape == (days.size, k.size)
    node_days = surface.t_yr * DAYS_PER_YEAR
    np.testing.assert_allclose(days[[0, -1]], node_days[[0, -1]], rtol=1e-12)
    assert np.all(np.isin(node_days, days))  # every fitted expiry is a grid row
    kk, dd = np.meshgrid(k, days)
    expected = 100.0 * surface.iv_k(log_moneyness=kk, t_yr=dd / DAYS_PER_YEAR)
    shown = ~np.isnan(z)
    assert shown.mean() > 0.3
    np.testing.assert_allclose(z[shown], expected[shown], rtol=1e-13)
    # On each expiry's row the surface covers the quoted range of log-moneyness.
    for s in surface.slices:
        row = z[np.searchsorted(days, s.t_yr * DAYS_PER_YEAR)]
        inside = (k >= s.k_min) & (k <= s.k_max)
        assert not np.isnan(row[inside]).any()
    kinds = sorted(t["name"] for t in data)
    assert kinds == ["fitted expiries", "implied vol", "target IV (quotes)"]


def test_fit_table_lists_every_expiry(synthetic: Case) -> None:
    text = synthetic.html
    table = text[text.index("<h2>Fit quality</h2>") : text.index("<h2>Arbitrage diagnostics")]
    for header in ["RMSE (vol pts)", "max |error| (vol pts)", "forward (USD)", "quotes used"]:
        assert f"<th>{header}</th>" in table
    for s in synthetic.surface.slices:
        row = re.search(rf"<tr><td class=l>{ns_to_iso(s.expiry_ns)}</td>(.*?)</tr>", table)
        assert row is not None
        cells = re.findall(r"<td>(.*?)</td>", row.group(1))
        assert cells[0] == f"{s.t_yr * DAYS_PER_YEAR:.2f}"
        assert cells[1] == f"{s.forward_usd:,.2f}"
        assert cells[2] == str(s.n_quotes)
        assert cells[4] == f"{s.rmse_vol_pts:.3f}"
        assert cells[5] == f"{s.max_abs_err_vol_pts:.3f}"
    # Rejections are listed by reason (the in-the-money side of every strike).
    assert "in_the_money=" in table


def test_arbitrage_section(synthetic: Case) -> None:
    text = synthetic.html
    assert synthetic.report.arbitrage_free
    assert '<p>Arbitrage free: <span class="yes">yes</span></p>' in text
    section = text[text.index("<h2>Arbitrage diagnostics") :]
    for row in synthetic.report.butterfly:
        assert f"<td class=l>{row['expiry']}</td>" in section
    assert section.count("<tr><td class=l>") == (
        len(synthetic.report.butterfly)
        + len(synthetic.report.calendar)
        + len(synthetic.report.call_prices)
    )
    # A report with a butterfly violation turns the verdict to "no".
    bad_row = {**synthetic.report.butterfly[0], "g_min": -0.01, "negative_points": 3}
    bad = dataclasses.replace(synthetic.report, butterfly=[bad_row, *synthetic.report.butterfly])
    text = surface_report_html(synthetic.surface, report=bad)
    assert '<p>Arbitrage free: <span class="no">no</span></p>' in text
    assert 'butterfly free (g ≥ 0 on every slice and midpoint): <span class="no">no</span>' in (
        text
    )
    # Without a report the section says how to get one.
    text = surface_report_html(synthetic.surface)
    assert "Arbitrage free:" not in text
    assert "No arbitrage report given" in text


def test_without_quotes_only_the_fit_is_drawn(synthetic: Case) -> None:
    text = surface_report_html(synthetic.surface)
    assert "No quotes given" in text
    data, _ = _figure(text, "invrisk-smiles")
    assert {t["name"] for t in data} == FIT_NAMES
    assert len(data) == 2 * len(synthetic.surface.slices)
    data3d, _ = _figure(text, "invrisk-surface")
    assert [t["type"] for t in data3d] == ["surface", "scatter3d"]


def test_quotes_of_unknown_expiries_are_noted(synthetic: Case) -> None:
    q = synthetic.quotes[0]
    stray = dataclasses.replace(q, expiry_ns=q.expiry_ns + 3_600_000_000_000)
    text = surface_report_html(synthetic.surface, quotes=[*synthetic.quotes, stray])
    assert f"Quotes of 1 expiries not in the surface: {ns_to_iso(stray.expiry_ns)}." in text


def test_mid_target_shows_the_mark_separately() -> None:
    chain = synthetic_chain()
    surface = fit_surface(chain, target="mid")
    quotes, _ = smile_quotes(chain, target="mid")
    data, _ = _figure(surface_report_html(surface, quotes=quotes), "invrisk-smiles")
    names = {t["name"] for t in data}
    assert {"mark IV", "target IV (fit)"} <= names
    assert "mark IV (fit target)" not in names


def test_title_is_escaped(synthetic: Case) -> None:
    text = surface_report_html(synthetic.surface, title='<b>"BTC" & co</b>')
    assert "<title>&lt;b&gt;&quot;BTC&quot; &amp; co&lt;/b&gt;</title>" in text
    assert '<b>"BTC"' not in text


def test_output_is_deterministic(synthetic: Case) -> None:
    again = surface_report_html(synthetic.surface, quotes=synthetic.quotes, report=synthetic.report)
    assert again == synthetic.html
    # A fresh fit of the same chain renders to the same bytes as well.
    assert _case(synthetic_chain()).html == synthetic.html


def test_surface_figures(synthetic: Case) -> None:
    smiles, surf = surface_figures(synthetic.surface, quotes=synthetic.quotes)
    assert len(smiles.data) == 5 * len(synthetic.surface.slices)
    assert [t.type for t in surf.data] == ["surface", "scatter3d", "scatter3d"]


def test_write_surface_report(synthetic: Case, tmp_path: Path) -> None:
    target = tmp_path / "surface.html"
    target.write_text("an older report")
    out = write_surface_report(
        str(target), synthetic.surface, quotes=synthetic.quotes, report=synthetic.report
    )
    assert out == target
    assert target.read_text(encoding="utf-8") == synthetic.html
    assert [p.name for p in tmp_path.iterdir()] == ["surface.html"]  # no temporary file left


def test_failed_write_leaves_the_old_file_and_no_temp(
    synthetic: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "surface.html"
    target.write_text("an older report")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_surface_report(target, synthetic.surface)
    assert target.read_text() == "an older report"
    assert [p.name for p in tmp_path.iterdir()] == ["surface.html"]


def test_bad_arguments(synthetic: Case, tmp_path: Path) -> None:
    s, q = synthetic.surface, synthetic.quotes
    cases: list[tuple[str, dict[str, Any]]] = [
        ("surface", {"surface": "BTC"}),
        ("surface", {"surface": s.summary()}),
        ("quotes", {"surface": s, "quotes": q[0]}),
        ("quotes[1]", {"surface": s, "quotes": [q[0], "q"]}),
        ("quotes[1]", {"surface": s, "quotes": [q[0], q[0]]}),
        ("report", {"surface": s, "report": synthetic.report.as_dict()}),
        ("title", {"surface": s, "title": 3}),
    ]
    for argument, kwargs in cases:
        with pytest.raises(InvalidArgumentError, match=re.escape(argument)) as info:
            surface_report_html(**kwargs)
        assert info.value.argument == argument
        with pytest.raises(InvalidArgumentError) as info:
            write_surface_report(tmp_path / "x.html", **kwargs)
        assert info.value.argument == argument
    for path in [tmp_path / "missing" / "x.html", tmp_path, 42]:
        with pytest.raises(InvalidArgumentError) as info:
            write_surface_report(path, s)  # type: ignore[arg-type]
        assert info.value.argument == "path"
    assert list(tmp_path.iterdir()) == []


def test_real_deribit_btc_chain() -> None:
    chain = load_deribit_chain(require_data(BTC_SNAPSHOT)).for_currency("BTC")
    case = _case(chain)
    assert len(case.surface.slices) == 13
    assert '<p>Arbitrage free: <span class="yes">yes</span></p>' in case.html
    data, _ = _figure(case.html, "invrisk-smiles")
    for s in case.surface.slices:
        label = ns_to_iso(s.expiry_ns)
        assert f"<td class=l>{label}</td>" in case.html
        assert {t["name"] for t in data if t.get("meta") == label} == QUOTE_NAMES | FIT_NAMES
    # Quotes without a bid keep NaN there (written as NaN, not drawn).
    q = case.quotes[0]
    no_bid = dataclasses.replace(q, iv_bid=np.where(np.arange(len(q)) % 2 == 0, np.nan, q.iv_bid))
    data, _ = _figure(surface_report_html(case.surface, quotes=[no_bid]), "invrisk-smiles")
    (bid,) = [t for t in data if t["name"] == "bid IV"]
    np.testing.assert_array_equal(np.isnan(_array(bid["y"])), np.isnan(no_bid.iv_bid))
