"""The live dashboard: its JSON and websocket against journals written by paper runs and by hand,
the token and loopback rules, the command line, and the page end to end in headless Chromium
while a paper run trades."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from starlette.testclient import WebSocketDenialResponse
from typer.testing import CliRunner

from invrisk.backtest import Fees, ProbQueue
from invrisk.data.events import EventArray
from invrisk.data.synthetic_market import SyntheticMarket, benchmark_stream
from invrisk.errors import InvalidArgumentError
from invrisk.live import PaperGateway, Runtime
from invrisk.report._dashboard_state import DashboardState, JournalTail, read_only_engine
from invrisk.report.dashboard import create_app, serve_dashboard
from invrisk.risk.limits import InstrumentLimits, RiskGuard
from invrisk.store import Journal
from invrisk.strategies import GLFTMarketMaker
from invrisk.strategies.glft import GLFTParams
from invrisk.strategy import Fill
from tests.conftest import unavailable

BASE = "http://127.0.0.1:8050"
WS = "ws://127.0.0.1:8050/ws"
TOKEN = "test-token-0123456789abcdef"
CONFIG = {  # what 'invrisk run' records: units and limits come from here
    "data": {"source": "synthetic", "settlement": "linear"},
    "risk": {"max_position": 0.05, "max_order_qty": 0.05, "max_orders_per_s": 50.0},
}


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return benchmark_stream(30_000, seed=3)  # about 19 s of a BTCUSDT book


class FlakyLink(PaperGateway):
    """The connection drops after 400 batches and comes back 200 batches later."""

    async def market_batches(self) -> AsyncIterator[EventArray]:
        k = 0
        async for b in super().market_batches():
            k += 1
            if k == 400:
                self.disconnect()
            elif k == 600:
                self.reconnect()
            yield b


def paper_runtime(market: SyntheticMarket, journal: Journal, *, speed: float) -> Runtime:
    """GLFT (q_max 0.1 BTC) under a RiskGuard that caps the position at 0.05 BTC (so some
    orders are refused), on a link that drops once (a halt, then an automatic resume)."""
    journal.start_run(
        started_ns=int(market.events["local_ns"][0]), mode="paper", venue="sim", config=CONFIG
    )
    gateway = FlakyLink(
        events=market.events,
        instruments=[market.instrument],
        fees=Fees(maker=-1e-4, taker=5e-4),
        queue=ProbQueue("power", 2.0),
        speed=speed,
    )
    limits = InstrumentLimits(
        max_position=0.05, max_order_qty=0.05, max_order_notional=1e9, price_band=0.05
    )
    return Runtime(
        strategy=GLFTMarketMaker(
            gamma=0.05,
            q_max=0.1,
            order_qty=0.01,
            window_ns=60 * 10**9,
            warmup="fallback",
            fallback=GLFTParams(5.0, 80.0, 5.0),
        ),
        instruments=[market.instrument],
        gateway=gateway,
        guard=RiskGuard(limits={0: limits}),
        journal=journal,
        snapshot_interval_s=0.25,
        auto_resume={"disconnect": 1.0},
    )


@pytest.fixture(scope="module")
def paper_journal(market: SyntheticMarket, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The journal of a whole paper run, as fast as it goes."""
    path = tmp_path_factory.mktemp("dash") / "paper.sqlite"
    with Journal(path) as j:
        summary = asyncio.run(paper_runtime(market, j, speed=0.0).run())
    assert summary.fills > 50 and summary.halts  # the run the tests below rely on
    return path


def journal_rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def shown_with(x: float, digits: int) -> str:
    """How the page's ``signed`` formats ``x`` (en-US grouping)."""
    return ("+" if x > 0 else "") + f"{x:,.{digits}f}"


def series_last(state: dict[str, Any], name: str) -> float:
    return float(state["instruments"]["0"]["series"][name][-1][1])


def client(path: Path, **kwargs: Any) -> TestClient:
    return TestClient(create_app(path, poll_interval_s=0.05, **kwargs), base_url=BASE)


def settled_state(c: TestClient, path: Path) -> dict[str, Any]:
    """The JSON state once the poller has read every fill of the journal."""
    n_fills = journal_rows(path, "SELECT COUNT(*) FROM fills")[0][0]
    for _ in range(200):
        state: dict[str, Any] = c.get("/api/state").json()
        if sum(i["summary"]["fills"] for i in state["instruments"].values()) == n_fills:
            return state
        time.sleep(0.02)
    raise AssertionError(f"the dashboard never showed the journal's {n_fills} fills")


# -- the figures against the journal ----------------------------------------------------------


def test_state_endpoint_matches_the_journal(paper_journal: Path) -> None:
    """Position, cash, fees, counts, risk history and refusals as plain SQL sums give them;
    total PnL = cash + position x mark = realised + unrealised - fees."""
    with client(paper_journal) as c:
        state = settled_state(c, paper_journal)
    s = state["instruments"]["0"]["summary"]
    position, cash, fees, n = journal_rows(
        paper_journal, "SELECT SUM(side * qty), SUM(cash_delta), SUM(fee), COUNT(*) FROM fills"
    )[0]
    assert s["fills"] == n and s["position"] == pytest.approx(position, abs=1e-9)
    assert s["cash"] == pytest.approx(cash, rel=1e-12)
    assert s["fees"] == pytest.approx(fees, rel=1e-12)
    assert s["orders"] == journal_rows(paper_journal, "SELECT COUNT(*) FROM orders")[0][0]
    # the mark: the latest snapshot's mid, or the latest fill's price if that fill is newer
    snap_t, snap_mid = journal_rows(
        paper_journal, "SELECT t_ns, mark FROM snapshots ORDER BY seq DESC LIMIT 1"
    )[0]
    fill_t, fill_px = journal_rows(
        paper_journal, "SELECT local_ns, price FROM fills ORDER BY rowid DESC LIMIT 1"
    )[0]
    mark = fill_px if fill_t >= snap_t else snap_mid
    assert s["mark"] == pytest.approx(mark, rel=1e-12)
    assert s["contract"] == {"inverse": False, "contract_size": pytest.approx(1.0, rel=1e-9)}
    assert s["total"] == pytest.approx(cash + position * mark, rel=1e-9, abs=1e-9)
    assert s["realised"] + s["unrealised"] - s["fees"] == pytest.approx(s["total"], abs=1e-6)
    assert state["pnl_total"] == pytest.approx(s["total"], abs=1e-9)
    # the split: spread capture against the mid journaled with each fill, inventory PnL from
    # that mid to the mark (linear, contract size 1), by SQL
    spread, from_mids, no_mid = journal_rows(
        paper_journal,
        "SELECT SUM(side * qty * (mid - price)), SUM(side * qty * (? - mid)), "
        "SUM(mid IS NULL) FROM fills".replace("?", repr(float(mark))),
    )[0]
    assert no_mid == 0 and s["fills_without_mid"] == 0
    assert s["spread"] == pytest.approx(spread, rel=1e-9)
    assert s["inventory_pnl"] == pytest.approx(from_mids, rel=1e-9, abs=1e-9)
    assert s["spread"] + s["inventory_pnl"] - s["fees"] == pytest.approx(s["total"], abs=1e-6)
    assert series_last(state, "spread") == pytest.approx(spread, rel=1e-9)
    # delta of a linear BTC contract of size 1: the position in BTC, times the mark in USDT
    assert s["delta_base"] == pytest.approx(position, abs=1e-9)
    assert s["delta_quote"] == pytest.approx(position * mark, abs=1e-6)
    # our resting quotes: orders whose last recorded state is sent or acknowledged
    last_states = journal_rows(
        paper_journal,
        "SELECT o.side, o.price, e.status FROM orders o JOIN order_events e ON e.seq = "
        "(SELECT MAX(seq) FROM order_events WHERE order_id = o.order_id)",
    )
    live = [(side, px) for side, px, st in last_states if st in ("PENDING_NEW", "OPEN")]
    assert s["bid"] == max((px for side, px in live if side > 0), default=None)
    assert s["ask"] == min((px for side, px in live if side < 0), default=None)
    pending = {"PENDING_NEW", "OPEN", "PENDING_CANCEL"}
    assert s["live_orders"] == sum(st in pending for *_, st in last_states)
    # every transition with its cause, and the state it left
    transitions = journal_rows(
        paper_journal,
        "SELECT old_state, new_state, cause FROM risk_events WHERE kind='transition' ORDER BY seq",
    )
    assert [(t["old_state"], t["new_state"], t["cause"]) for t in state["transitions"]] == [
        tuple(t) for t in transitions
    ]
    assert transitions[0][1] == "HALTED" and "gateway refused" in transitions[0][2]
    assert state["state"] == transitions[-1][1] == "ACTIVE"  # resumed on its own
    refused = journal_rows(paper_journal, "SELECT COUNT(*) FROM risk_events WHERE kind='reject'")
    assert state["rejects"] == refused[0][0] > 0
    # limits from the run's config, units from its [data]
    assert state["units"] == {
        "position": "BTC",
        "money": "USDT",
        "price": "USDT",
        "base": "BTC",
        "quote": "USDT",
    }
    usage = {lim["name"]: lim for lim in state["limits"]}
    assert usage["|position|"]["limit"] == 0.05
    assert usage["|position|"]["usage"] == pytest.approx(abs(position) / 0.05, rel=1e-9)
    assert "drawdown (HALTED)" not in usage  # the config sets no drawdown limit
    # the series: one inventory point per fill ending at the position, the mids of snapshots
    series = state["instruments"]["0"]["series"]
    assert len(series["inventory"]) == n
    assert series["inventory"][-1][1] == pytest.approx(position, abs=1e-9)
    assert series["minus_fees"][-1][1] == pytest.approx(-fees, rel=1e-12)
    mids = journal_rows(paper_journal, "SELECT mark FROM snapshots ORDER BY seq")
    assert [p[1] for p in series["mid"]] == pytest.approx([m for (m,) in mids], rel=1e-12)
    assert len(series["bid"]) + len(series["ask"]) == s["orders"]


def test_realised_and_unrealised_pnl_by_hand(tmp_path: Path) -> None:
    """Average-cost accounting on fills whose results are worked out by hand, for a linear
    contract (value = 1 x price, USDT) and an inverse one (value = -100 / price, BTC)."""
    path = tmp_path / "hand.sqlite"
    j = Journal(path)
    j.start_run(started_ns=0, mode="paper", venue="hand")
    fid = iter(range(100))

    def fill(inst: int, side: int, qty: float, price: float, fee: float, cash: float) -> None:
        t = 1_000_000_000 * (next(fid) + 1)
        f = Fill(inst, 1, side, price, qty, fee, True, t, t)
        j.record_fill(f, fill_id=str(t), cash_delta=cash)

    # linear: buy 1 @ 100, buy 1 @ 110 (average 105), sell 1 @ 120 (realises +15),
    # sell 2 @ 100 (closes 1 at -5, opens a short of 1 at 100); fee 0.5 each
    fill(0, 1, 1.0, 100.0, 0.5, -100.5)
    fill(0, 1, 1.0, 110.0, 0.5, -110.5)
    fill(0, -1, 1.0, 120.0, 0.5, 119.5)
    fill(0, -1, 2.0, 100.0, 0.5, 199.5)
    # inverse, 100 USD contracts: buy 10 @ 50,000 (value -100/50,000 = -0.002 BTC each),
    # sell 4 @ 62,500 (value -0.0016): realises 4 x (-0.0016 + 0.002) = +0.0016 BTC; no fees
    fill(1, 1, 10.0, 50_000.0, 0.0, 10 * 0.002)
    fill(1, -1, 4.0, 62_500.0, 0.0, -4 * 0.0016)
    # marks: linear at 90 (the short of 1 from 100 gains 10), inverse at 40,000 (value
    # -0.0025: the 6 contracts long from -0.002 lose 6 x 0.0005 = 0.003 BTC)
    j.record_snapshot(t_ns=10**12, rows=[(0, -1.0, 108.0, 18.0, 90.0)])
    j.record_snapshot(t_ns=10**12, rows=[(1, 6.0, 0.0136, -0.0014, 40_000.0)])
    j.close()
    with client(path) as c:
        state = settled_state(c, path)
    lin, inv = state["instruments"]["0"]["summary"], state["instruments"]["1"]["summary"]
    assert lin["position"] == -1.0 and lin["fees"] == 2.0
    assert lin["realised"] == pytest.approx(15.0 - 5.0, abs=1e-12)
    assert lin["unrealised"] == pytest.approx(10.0, abs=1e-12)
    assert lin["total"] == pytest.approx(10.0 + 10.0 - 2.0, abs=1e-12)
    assert lin["total"] == pytest.approx(lin["cash"] - 1.0 * 90.0, abs=1e-12)
    assert lin["mark_source"] == "mid (snapshot)"
    assert inv["contract"] == {"inverse": True, "contract_size": pytest.approx(100.0)}
    assert inv["position"] == 6.0
    assert inv["realised"] == pytest.approx(0.0016, abs=1e-15)
    assert inv["unrealised"] == pytest.approx(-0.003, abs=1e-15)
    assert inv["total"] == pytest.approx(0.0016 - 0.003, abs=1e-15)
    assert state["units"]["position"] == "contracts"  # no config: generic words
    # fills journaled without a mid: no spread/inventory split, and the page is told why
    assert lin["spread"] is None and lin["inventory_pnl"] is None
    assert (lin["fills_without_mid"], inv["fills_without_mid"]) == (4, 2)
    # delta: linear -1 contract of 1 BTC at 90 (-90 USDT); inverse 6 x 100 USD = 600 USD,
    # 600 / 40,000 = 0.015 BTC
    assert (lin["delta_base"], lin["delta_quote"]) == (-1.0, pytest.approx(-90.0))
    assert inv["delta_base"] == pytest.approx(0.015, rel=1e-12)
    assert inv["delta_quote"] == pytest.approx(600.0, rel=1e-12)


def test_reader_is_incremental_and_cannot_write(paper_journal: Path) -> None:
    engine = read_only_engine(paper_journal)
    tail = JournalTail(engine, max_rows=100)
    first = tail.read()
    assert first.run is not None and first.more  # more than 100 order events: capped
    total = len(first.fills)
    while (rows := tail.read()).fills or rows.more:
        assert rows.run is None
        total += len(rows.fills)
    assert total == journal_rows(paper_journal, "SELECT COUNT(*) FROM fills")[0][0]
    again = tail.read()
    assert not (again.fills or again.orders or again.order_events or again.snapshots)
    # read in slices of 7 rows per table, the figures are those of one read of everything
    sliced, whole = DashboardState(), DashboardState()
    small = JournalTail(engine, max_rows=7)
    while True:
        rows = small.read()
        sliced.apply(rows)
        if not (rows.more or rows.fills or rows.orders or rows.order_events):
            break
    whole.apply(JournalTail(engine, max_rows=10**6).read())
    assert sliced.full() == whole.full()
    with engine.connect() as conn, pytest.raises(OperationalError, match="readonly"):
        conn.exec_driver_sql("DELETE FROM fills")
    engine.dispose()
    with pytest.raises(InvalidArgumentError, match="journal"):
        read_only_engine(paper_journal.with_name("missing.sqlite"))


def test_websocket_sends_the_full_state_then_each_new_row(tmp_path: Path) -> None:
    path = tmp_path / "live.sqlite"
    j = Journal(path)
    j.start_run(started_ns=0, mode="paper", venue="hand")
    j.record_fill(Fill(0, 1, 1, 100.0, 0.5, 0.0, True, 10, 10), fill_id="a", cash_delta=-50.0)
    with client(path) as c, c.websocket_connect(WS) as ws:
        first = ws.receive_json()
        assert first["type"] == "full" and len(first["fills"]) == 1
        j.record_fill(Fill(0, 2, 1, 101.0, 0.25, 0.0, True, 20, 20), fill_id="b", cash_delta=-25.25)
        j.record_transition(t_ns=30, old="ACTIVE", new="HALTED", cause="operator: test")
        for _ in range(100):
            delta = ws.receive_json()
            assert delta["type"] == "delta"
            if delta["fills"]:
                break
        assert [f["price"] for f in delta["fills"]] == [101.0]
        assert delta["instruments"]["0"]["series"]["inventory"] == [[20 / 1e6, 0.75]]
        assert delta["instruments"]["0"]["summary"]["position"] == 0.75
        transitions = delta["transitions"]
        if not transitions:  # committed after the fill: maybe in the next poll
            transitions = ws.receive_json()["transitions"]
        assert transitions[0]["cause"] == "operator: test"
        # a newer run in the same journal: the page starts over on it
        rid = j.start_run(started_ns=0, mode="paper", venue="second")
        for _ in range(100):
            message = ws.receive_json()
            if message["type"] == "full":
                break
        assert message["run"]["run_id"] == rid and message["instruments"] == {}
    j.close()


# -- access rules ------------------------------------------------------------------------------


def test_non_loopback_bind_without_token_refuses_to_start(paper_journal: Path) -> None:
    for host in ("0.0.0.0", "192.168.1.10", "::"):
        with pytest.raises(InvalidArgumentError, match=r"token=None .*not a loopback"):
            serve_dashboard(paper_journal, host=host, port=0)
    with pytest.raises(InvalidArgumentError, match="at least 16 characters"):
        serve_dashboard(paper_journal, host="0.0.0.0", port=0, token="short")


def test_with_a_token_every_request_must_carry_it(paper_journal: Path) -> None:
    with client(paper_journal, token=TOKEN) as c:
        for url in ("/", "/api/state", "/plotly.min.js"):
            assert c.get(url).status_code == 401
            assert c.get(url, params={"token": TOKEN[:-1] + "X"}).status_code == 401
            assert c.get(url, params={"token": TOKEN}).status_code == 200
        assert c.get("/api/state", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert c.get("/api/state", headers={"X-Invrisk-Token": TOKEN}).status_code == 200
        assert c.get("/api/state", headers={"Host": "dashboard.example"}).status_code == 401
        page = c.get("/", params={"token": TOKEN}).text
        assert f'src="plotly.min.js?token={TOKEN}"' in page  # the page's own requests carry it
        for bad in ("", f"?token={TOKEN[:-1]}X"):
            with pytest.raises(WebSocketDenialResponse) as refused, c.websocket_connect(WS + bad):
                pass
            assert refused.value.status_code == 401
        with c.websocket_connect(f"{WS}?token={TOKEN}") as ws:
            assert ws.receive_json()["type"] == "full"


def test_loopback_without_token_refuses_foreign_hosts_and_origins(paper_journal: Path) -> None:
    with client(paper_journal) as c:
        assert c.get("/api/state").status_code == 200
        for name in ("localhost:8050", "127.0.0.2:8050", "[::1]:8050"):
            assert c.get("/api/state", headers={"Host": name}).status_code == 200
        # a DNS-rebinding page reaches 127.0.0.1 under its own name
        assert c.get("/api/state", headers={"Host": "attacker.example:8050"}).status_code == 403
        with (
            pytest.raises(WebSocketDenialResponse) as refused,
            c.websocket_connect(WS, headers={"Origin": "http://attacker.example"}),
        ):
            pass
        assert refused.value.status_code == 403
        with c.websocket_connect(WS, headers={"Origin": BASE}) as ws:
            assert ws.receive_json()["type"] == "full"


def test_real_server_on_all_interfaces_answers_401_without_the_token(paper_journal: Path) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    with serve_dashboard(paper_journal, host="0.0.0.0", port=0, token=TOKEN) as server:
        base = f"http://127.0.0.1:{server.port}"
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"{base}/api/state", timeout=5)
        assert denied.value.code == 401
        denied.value.close()  # the error holds the response
        with urllib.request.urlopen(f"{base}/api/state?token={TOKEN}", timeout=5) as ok:
            assert json.load(ok)["type"] == "full"
        assert server.url == f"{base}/?token={TOKEN}"
        with pytest.raises(InvalidStatus) as ws_denied:
            connect(f"ws://127.0.0.1:{server.port}/ws", open_timeout=5).close()
        assert ws_denied.value.response.status_code == 401
        with connect(f"ws://127.0.0.1:{server.port}/ws?token={TOKEN}", open_timeout=5) as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "full"
    assert not server.running


def test_an_unreadable_journal_is_reported_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "not-a-journal.sqlite"
    path.write_bytes(b"this is not a SQLite database" * 100)
    with client(path) as c:
        status = c.get("/api/state").json()["status"]
        assert "cannot read the journal" in status["error"] and status["polls"] == 0
        with c.websocket_connect(WS) as ws:
            assert ws.receive_json()["status"]["error"] == status["error"]
            assert ws.receive_json()["type"] == "status"  # and it keeps trying


def test_the_dashboard_names_its_extra_when_fastapi_is_missing(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['fastapi'] = None\n"
        "import invrisk.cli, invrisk.report.dashboard as d\n"  # both import without it
        "try:\n"
        "    d.create_app('x.sqlite')\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'invrisk[dashboard]'" in out.stdout and "fastapi" in out.stdout


# -- the command line --------------------------------------------------------------------------


def test_cli_refuses_a_missing_journal_and_a_public_bind_without_token(
    paper_journal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from invrisk.cli import app

    monkeypatch.delenv("INVRISK_DASHBOARD_TOKEN", raising=False)
    runner = CliRunner()
    missing = runner.invoke(app, ["dashboard", str(paper_journal.with_name("nope.sqlite"))])
    assert missing.exit_code == 2 and "expected an existing journal file" in missing.output
    public = runner.invoke(app, ["dashboard", str(paper_journal), "--host", "0.0.0.0"])
    assert public.exit_code == 2 and "--token" in public.output


def test_cli_serves_the_journal(paper_journal: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("INVRISK_DASHBOARD_TOKEN", None)
    cmd = [sys.executable, "-m", "invrisk.cli", "dashboard", str(paper_journal), "--port", "0"]
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            url = line[line.index("http://") :].split()[0]
            assert url.endswith("/")
            with urllib.request.urlopen(url + "api/state", timeout=5) as r:
                state = json.load(r)
            run_id = journal_rows(paper_journal, "SELECT run_id FROM runs")[0][0]
            assert state["run"]["run_id"] == run_id
        finally:
            proc.terminate()
            proc.communicate(timeout=10)


# -- end to end in Chromium --------------------------------------------------------------------

CHROMIUM = Path(os.environ.get("INVRISK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_browser() -> Any:
    """Playwright's sync API, or a skip (a failure under CI) naming what is missing."""
    problem = None
    if not CHROMIUM.is_file():
        problem = f"{CHROMIUM} is missing: 'make browser' installs Debian's chromium"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = problem or "playwright is missing: pip install -e '.[dev]'"
    if problem is not None:
        unavailable(problem)
    return sync_playwright


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    """Poll ``condition`` from Python (the page's CSP forbids Playwright's in-page eval)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.05)


class BackgroundRun:
    """A runtime in its own thread and event loop (as beside a dashboard in one process)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.summary: Any = None
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self.thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        async def go() -> None:
            self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()
            self.summary = await self.runtime.run()

        try:
            asyncio.run(go())
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # reported by the test
            self.error = exc

    def stop(self) -> None:
        if self._loop is not None and self._task is not None and self.thread.is_alive():
            self._loop.call_soon_threadsafe(self._task.cancel)
        self.thread.join(15)


@pytest.fixture
def artifacts(tmp_path: Path) -> Iterator[Path]:
    """Where screenshots go: the test's tmp dir, copied to $INVRISK_ARTIFACTS when set."""
    out = tmp_path / "artifacts"
    out.mkdir()
    yield out
    target = os.environ.get("INVRISK_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for png in out.glob("*.png"):
            shutil.copy2(png, Path(target) / png.name)


def test_browser_shows_live_inventory_and_pnl_during_a_paper_run(
    market: SyntheticMarket, tmp_path: Path, artifacts: Path
) -> None:
    """A paper run paced to last about 10 s writes a journal; the dashboard serves it on a
    free loopback port; headless Chromium opens the page and sees the inventory, PnL and fill
    count change while the run trades, then the final figures equal the journal's."""
    sync_playwright = require_browser()
    path = tmp_path / "live.sqlite"
    journal = Journal(path)
    feed_s = (int(market.events["local_ns"][-1]) - int(market.events["local_ns"][0])) / 1e9
    run = BackgroundRun(paper_runtime(market, journal, speed=feed_s / 10.0))
    server = serve_dashboard(path, port=0, poll_interval_s=0.2)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1100})
                errors: list[str] = []  # script errors and console errors (CSP violations)
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.goto(server.url)
                wait_until(lambda: page.inner_text("#conn-status") == "live", "the websocket")
                assert "paper on sim" in page.inner_text("#run-info")  # the run, no trade yet
                run.thread.start()  # the page is watching from the first trade on
                wait_until(lambda: page.inner_text("#inventory-value") != "–", "the first figures")
                assert "BTC" in page.inner_text("#inventory-label")
                assert "USDT" in page.inner_text("#pnl-label")
                seen: dict[str, set[str]] = {"inventory": set(), "pnl": set(), "counts": set()}
                deadline = time.monotonic() + 8.0
                while (
                    run.thread.is_alive()
                    and time.monotonic() < deadline
                    and min(map(len, seen.values())) < 3
                ):
                    for key in seen:
                        seen[key].add(page.inner_text(f"[data-testid={key}]"))
                    time.sleep(0.2)
                assert len(seen["inventory"]) >= 2, seen  # live updates, not one picture
                assert len(seen["pnl"]) >= 2, seen
                assert len(seen["counts"]) >= 3, seen
                points = page.evaluate(
                    "['chart-quotes', 'chart-inventory', 'chart-pnl']"
                    ".map(id => document.getElementById(id).data.map(t => t.x.length))"
                )
                assert all(n > 0 for n in points[0][:2]) and points[1][0] > 0, points
                page.screenshot(path=artifacts / "dashboard-live.png", full_page=True)
                run.thread.join(30)
                assert run.error is None and run.summary is not None
                # the run is over: the page settles on the journal's final figures
                n_fills = journal_rows(path, "SELECT COUNT(*) FROM fills")[0][0]
                position = run.summary.positions[0]
                wait_until(
                    lambda: page.inner_text("#counts-value").startswith(f"{n_fills:,} /"),
                    f"the page to show the journal's {n_fills} fills",
                )
                shown = shown_with(position, 4)
                assert page.inner_text("#inventory-value") == shown
                # delta of the linear contract of 1 BTC: the position, in BTC; the PnL split
                assert page.inner_text("#delta-value") == shown_with(position, 6)
                assert "BTC" in page.inner_text("#delta-label")
                for kpi in ("#spread-value", "#invpnl-value"):
                    assert page.inner_text(kpi) not in ("–", ""), kpi
                assert page.inner_text("#split-note") == ""  # every fill has its mid
                assert page.inner_text("#risk-state") == "ACTIVE"
                # the halt (journaled once per refused order) and the automatic resume
                transitions = journal_rows(
                    path, "SELECT COUNT(*) FROM risk_events WHERE kind='transition'"
                )
                risk_rows = page.locator("#risk-table tbody tr")
                assert risk_rows.count() == transitions[0][0] >= 2
                assert "auto resume" in risk_rows.first.inner_text()  # newest first
                assert "gateway refused" in risk_rows.last.inner_text()
                page.screenshot(path=artifacts / "dashboard-final.png", full_page=True)
                assert not errors, errors
            finally:
                browser.close()
    finally:
        run.stop()
        server.stop()
        journal.close()
    assert (artifacts / "dashboard-live.png").stat().st_size > 10_000


def test_run_dashboard_serves_the_running_paper_run(tmp_path: Path) -> None:
    """``invrisk run --paper --dashboard``: the page's state is served while the run trades
    (its run id, fills growing between two reads), and the server stops with the run."""
    from tests.conftest import REPO_ROOT

    journal = tmp_path / "paper.sqlite"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("INVRISK_DASHBOARD_TOKEN", None)
    cmd = [
        sys.executable, "-m", "invrisk.cli", "run",
        str(REPO_ROOT / "examples" / "paper_synthetic_glft.toml"), "--paper",
        "--events", "200000", "--speed", "10", "--duration", "60s", "--journal", str(journal),
        "--dashboard", "--dashboard-port", "0", "--json",
    ]  # fmt: skip
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        try:
            assert proc.stderr is not None
            line = proc.stderr.readline()
            assert "dashboard: http://127.0.0.1:" in line, line
            url = line[line.index("http://") :].split()[0]
            seen = []
            for _ in range(2):
                time.sleep(1.5)
                with urllib.request.urlopen(url + "api/state", timeout=5) as r:
                    seen.append(json.load(r))
            out, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    doc = json.loads(out)
    assert proc.returncode == 0 and seen[0]["run"]["run_id"] == doc["run_id"]
    fills = [
        s["instruments"]["0"]["summary"]["fills"] if "0" in s["instruments"] else 0 for s in seen
    ]
    assert fills[1] > fills[0] >= 0, fills  # it was trading while served
    with pytest.raises(OSError):  # stopped with the run
        urllib.request.urlopen(url + "api/state", timeout=2)


def test_an_amended_order_is_shown_at_its_new_price(tmp_path: Path) -> None:
    """An order amended by the venue (order manager in amend mode) moves on the page: our best
    bid is its new price, and the bid line steps there when the amend is applied."""
    from invrisk.order_manager import AmendOrder, OrderManager
    from invrisk.strategy import QuoteTarget

    path = tmp_path / "amend.sqlite"
    j = Journal(path)
    j.start_run(started_ns=0, mode="paper", venue="hand", config=CONFIG)
    om = OrderManager(tick_sizes=[0.1], on_event=j.on_order_event, amend=True)
    t0 = 1_767_225_600_000_000_000
    (new,) = om.reconcile(
        QuoteTarget.two_sided(0, bid=99.9, ask=None, bid_qty=1.0, ask_qty=0.0), now_ns=t0
    )
    om.on_ack(new.order_id, now_ns=t0 + 1)
    (amend,) = om.reconcile(
        QuoteTarget.two_sided(0, bid=99.7, ask=None, bid_qty=2.0, ask_qty=0.0), now_ns=t0 + 2
    )
    assert isinstance(amend, AmendOrder) and amend.order_id == new.order_id
    om.on_amend_ack(new.order_id, now_ns=t0 + 3, price=99.7, qty=2.0)
    j.close()
    state = DashboardState()
    state.apply(JournalTail(read_only_engine(path)).read())
    full = state.full()
    s = full["instruments"]["0"]["summary"]
    assert (s["bid"], s["live_orders"], s["orders"]) == (99.7, 1, 1)
    bids = full["instruments"]["0"]["series"]["bid"]
    assert [p[1] for p in bids] == [99.9, 99.7]
    assert bids[1][0] == (t0 + 3) / 1e6


def test_a_journal_older_than_the_mid_column_is_read_without_a_split(tmp_path: Path) -> None:
    """A journal written before ``fills.mid`` existed (the column dropped here), read by the
    read-only tail that cannot add it: the fills are shown, and the spread/inventory split is
    unknown (None) with the count of fills that lack a mid, never made up."""
    path = tmp_path / "old.sqlite"
    j = Journal(path)
    j.start_run(started_ns=0, mode="paper", venue="hand", config=CONFIG)
    t = 1_767_225_600_000_000_000
    j.record_fill(Fill(0, 1, 1, 100.0, 0.5, 0.0, True, t, t), fill_id="a", cash_delta=-50.0)
    j.close()
    con = sqlite3.connect(path)
    con.execute("ALTER TABLE fills DROP COLUMN mid")
    con.commit()
    con.close()
    state = DashboardState()
    rows = JournalTail(read_only_engine(path)).read()
    assert len(rows.fills) == 1 and "mid" not in rows.fills[0]
    state.apply(rows)
    s = state.full()["instruments"]["0"]["summary"]
    assert (s["fills"], s["position"], s["fills_without_mid"]) == (1, 0.5, 1)
    assert s["spread"] is None and s["inventory_pnl"] is None
