"""What the live dashboard knows about a journal: incremental, read-only reads and the running
figures they give (no web framework here; :mod:`invrisk.report.dashboard` serves them).

:class:`JournalTail` opens the journal read-only (SQLite ``mode=ro``; WAL mode lets it read while
the runtime writes) and returns, on each :meth:`JournalTail.read`, only the rows added since the
previous call: by ``seq`` for ``order_events``, ``risk_events`` and ``snapshots``, by
``order_id`` for ``orders`` and by SQLite's ``rowid`` for ``fills`` (other databases: by
``local_ns``, skipping fill ids already seen at the boundary). Reads are capped per table; a
capped read says so (``more``) and the caller reads again at once.

:class:`DashboardState` folds those rows into per-instrument figures and time series. Money is
in the settlement currency. The PnL of each instrument (realised and unrealised by average
cost, fees, spread capture against the mid at each fill, inventory PnL, delta) is recomputed
from its fills by :class:`invrisk.store.pnl.FillAccount`, which reads the contract's value
function off the fills' ``cash_delta``; total = realised + unrealised - fees = spread +
inventory - fees = cash + position * value(mark).

The mark is the mid of the latest snapshot, or the latest fill price when a fill is newer (the
journal records no mid between snapshots); its source is reported beside it.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, inspect, literal_column, select
from sqlalchemy.pool import QueuePool

from invrisk.errors import InvalidArgumentError
from invrisk.store.journal import fills, order_events, orders, risk_events, runs, snapshots
from invrisk.store.pnl import FillAccount

__all__ = ["DashboardState", "JournalRows", "JournalTail", "read_only_engine"]

_TERMINAL = frozenset({"FILLED", "CANCELLED", "REJECTED"})
_NS_PER_MS = 1_000_000
_NS_PER_DAY = 86_400 * 1_000_000_000


def read_only_engine(journal: str | Path) -> Engine:
    """A SQLAlchemy engine that can only read ``journal`` (a SQLite file or a database URL).

    A SQLite file is opened with ``mode=ro`` (nothing can be written through it, and it is
    never created); for a URL, read-only use is this module's discipline (only SELECTs).
    """
    text = str(journal)
    if "://" in text:
        return create_engine(text)
    path = Path(text).expanduser().resolve()
    if not path.is_file():
        raise InvalidArgumentError("journal", text, "an existing journal file (SQLite)")
    uri = f"file:{quote(str(path))}?mode=ro"

    def connect() -> sqlite3.Connection:
        con = sqlite3.connect(uri, uri=True, check_same_thread=False)
        con.execute("PRAGMA busy_timeout=2000")
        return con

    return create_engine("sqlite://", creator=connect, poolclass=QueuePool, pool_size=1)


@dataclass(slots=True)
class JournalRows:
    """The rows a read found (each list in insertion order); ``run`` is the run's row when the
    run being followed changed (the state must start over)."""

    run: dict[str, Any] | None = None
    orders: list[dict[str, Any]] = field(default_factory=list)
    order_events: list[dict[str, Any]] = field(default_factory=list)
    fills: list[dict[str, Any]] = field(default_factory=list)
    risk_events: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    more: bool = False


class JournalTail:
    """Incremental reader of one run of a journal (see the module docstring).

    Parameters
    ----------
    engine
        From :func:`read_only_engine`.
    run_id
        The run to show; None follows the latest run (a newer run replaces it).
    max_rows
        Rows read per table and call (>= 1).
    """

    def __init__(self, engine: Engine, *, run_id: str | None = None, max_rows: int = 5000) -> None:
        if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
            raise InvalidArgumentError("max_rows", max_rows, "an int >= 1")
        self.engine = engine
        self.requested_run = run_id
        self.max_rows = max_rows
        self.run_id: str | None = None
        self._sqlite = engine.dialect.name == "sqlite"
        self._fill_cols: list[Any] | None = None
        self._reset()

    def _reset(self) -> None:
        self._order_id = -(2**62)
        self._event_seq = 0
        self._risk_seq = 0
        self._snapshot_seq = 0
        self._fill_pos = -(2**62)  # rowid (SQLite) or local_ns (others)
        self._fill_ids_at_pos: set[str] = set()

    def _current_run(self, conn: Any) -> dict[str, Any] | None:
        if self.requested_run is not None:
            query = select(runs).where(runs.c.run_id == self.requested_run)
        elif self._sqlite:  # insertion order: two replays of one feed share started_ns
            query = select(runs).order_by(literal_column("rowid").desc()).limit(1)
        else:
            query = select(runs).order_by(runs.c.started_ns.desc(), runs.c.run_id.desc()).limit(1)
        row = conn.execute(query).mappings().first()
        return None if row is None else dict(row)

    def read(self) -> JournalRows:
        """The rows added since the last call (all of them after a change of run)."""
        out = JournalRows()
        n = self.max_rows
        with self.engine.connect() as conn:
            run = self._current_run(conn)
            if run is None:
                return out
            if run["run_id"] != self.run_id:
                self.run_id = str(run["run_id"])
                self._reset()
                out.run = run
            rid = str(run["run_id"])
            # order events before orders: an order's request and its ``new`` event commit
            # together, so every event read here has its order in the next query; capped
            # reads stay consistent too (k events name at most k orders, each by its ``new``
            # event, and the orders cursor is never behind the events' orders)
            out.order_events = _rows_after(conn, order_events, "seq", self._event_seq, rid, n)
            out.orders = _rows_after(conn, orders, "order_id", self._order_id, rid, n)
            out.risk_events = _rows_after(conn, risk_events, "seq", self._risk_seq, rid, n)
            out.snapshots = _rows_after(conn, snapshots, "seq", self._snapshot_seq, rid, n)
            out.fills = self._read_fills(conn, rid)
        if out.order_events:
            self._event_seq = int(out.order_events[-1]["seq"])
        if out.orders:
            self._order_id = int(out.orders[-1]["order_id"])
        if out.risk_events:
            self._risk_seq = int(out.risk_events[-1]["seq"])
        if out.snapshots:
            self._snapshot_seq = int(out.snapshots[-1]["seq"])
        out.more = any(
            len(rows) >= n
            for rows in (out.order_events, out.orders, out.risk_events, out.snapshots, out.fills)
        )
        return out

    def _fill_columns(self, conn: Any) -> list[Any]:
        """The ``fills`` columns this journal has (one written before ``mid`` existed lacks
        it, and a read-only reader cannot add it)."""
        if self._fill_cols is None:
            have = {c["name"] for c in inspect(conn).get_columns("fills")}
            self._fill_cols = [c for c in fills.c if c.name in have]
        return self._fill_cols

    def _read_fills(self, conn: Any, rid: str) -> list[dict[str, Any]]:
        fc = fills.c
        cols = self._fill_columns(conn)
        if self._sqlite:
            rowid: Any = literal_column("fills.rowid")
            rows = _rows(
                conn,
                select(rowid.label("_pos"), *cols)
                .where(fc.run_id == rid, rowid > self._fill_pos)
                .order_by(rowid)
                .limit(self.max_rows),
            )
            if rows:
                self._fill_pos = int(rows[-1]["_pos"])
            return rows
        # no rowid: by receive time, skipping the fills already read at the boundary time
        rows = _rows(
            conn,
            select(*cols)
            .where(fc.run_id == rid, fc.local_ns >= self._fill_pos)
            .order_by(fc.local_ns, fc.fill_id)
            .limit(self.max_rows),
        )
        rows = [r for r in rows if r["fill_id"] not in self._fill_ids_at_pos]
        if rows:
            last = int(rows[-1]["local_ns"])
            same = {str(r["fill_id"]) for r in rows if int(r["local_ns"]) == last}
            self._fill_ids_at_pos = same | (
                self._fill_ids_at_pos if last == self._fill_pos else set()
            )
            self._fill_pos = last
        return rows


def _rows_after(
    conn: Any, table: Any, key: str, after: int, run_id: str, n: int
) -> list[dict[str, Any]]:
    """Up to ``n`` rows of ``table`` for ``run_id`` with ``key`` above ``after``, in ``key``
    order (the tail's cursor per table)."""
    c = table.c
    query = select(table).where(c.run_id == run_id, c[key] > after).order_by(c[key]).limit(n)
    return _rows(conn, query)


def _rows(conn: Any, query: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(query).mappings().all()]


# -- the figures --------------------------------------------------------------------------------


class _Series:
    """A capped time series of ``(t_ms, value...)`` points that remembers what is new."""

    __slots__ = ("new", "points")

    def __init__(self, cap: int) -> None:
        self.points: deque[tuple[float, ...]] = deque(maxlen=cap)
        self.new: list[tuple[float, ...]] = []

    def add(self, t_ns: int, *values: float) -> None:
        point = (t_ns / _NS_PER_MS, *values)
        self.points.append(point)
        self.new.append(point)


_SERIES = (
    "mid", "bid", "ask", "buy", "sell", "inventory", "equity", "realised", "minus_fees", "spread"
)  # fmt: skip


class _Instrument:
    """Running figures of one instrument: its fill account (:class:`FillAccount`), mark,
    live orders and time series."""

    def __init__(self, cap: int) -> None:
        self.account = FillAccount()
        self.mark = math.nan
        self.mark_ns = -1
        self.mark_source = "none"
        self.snapshot_equity = math.nan
        self.n_orders = 0
        # live orders: order id -> [side, price, qty, status]
        self.live: dict[int, list[Any]] = {}
        self.series = {name: _Series(cap) for name in _SERIES}

    @property
    def position(self) -> float:
        return self.account.position

    @property
    def total(self) -> float:
        return self.account.total(self.mark)

    def best_quotes(self) -> tuple[float, float]:
        """Our best bid and ask among the orders meant to rest (sent or acknowledged, not
        being cancelled)."""
        resting = [(s, p) for s, p, _, status in self.live.values() if status != "PENDING_CANCEL"]
        bids = [p for s, p in resting if s > 0]
        asks = [p for s, p in resting if s < 0]
        return max(bids, default=math.nan), min(asks, default=math.nan)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _limit(risk: Mapping[str, Any], key: str) -> float | None:
    value = risk.get(key)
    if isinstance(value, int | float) and math.isfinite(value) and value > 0:
        return float(value)
    return None


def _split_symbol(symbol: str) -> tuple[str, str]:
    """``BTCUSDT`` or ``BTC/USDT:USDT`` -> (base, settlement currency)."""
    if "/" in symbol:
        base, _, rest = symbol.partition("/")
        quote_ccy, _, settle = rest.partition(":")
        return base, settle or quote_ccy
    for quote_ccy in ("USDT", "USDC", "BUSD", "USD"):
        if symbol.endswith(quote_ccy) and len(symbol) > len(quote_ccy):
            return symbol[: -len(quote_ccy)], quote_ccy
    return "", ""


def units_from_config(config: Mapping[str, Any]) -> dict[str, str]:
    """Labels for position, money, price and the two legs of a delta (``base``, ``quote``) from
    a run's config (``invrisk run`` records its TOML config); generic words when the config
    does not say."""
    data = config.get("data") if isinstance(config.get("data"), Mapping) else None
    if data is None:
        return {
            "position": "contracts",
            "money": "settlement ccy",
            "price": "quote ccy",
            "base": "base ccy",
            "quote": "quote ccy",
        }
    inverse = data.get("settlement") == "inverse"
    symbol = str(data.get("ccxt_symbol") or data.get("symbol") or "")
    if data.get("source") == "synthetic":
        base, settle = "BTC", "USDT"
    else:
        base, settle = _split_symbol(symbol) if symbol else ("", "USDT")
    if inverse:
        coin = base or "coin"
        return {
            "position": "contracts",
            "money": coin,
            "price": "USD",
            "base": coin,
            "quote": "USD",
        }
    return {
        "position": base or "contracts",
        "money": settle,
        "price": settle,
        "base": base or "base ccy",
        "quote": settle,
    }


class DashboardState:
    """The dashboard's running view of one run (see the module docstring).

    :meth:`apply` folds a :class:`JournalRows` in and returns the update message for the page
    (the new points and rows, and the current figures); :meth:`full` returns everything kept.
    Both are JSON-ready dicts (times in ms since the epoch for the browser, NaN as None).

    Parameters
    ----------
    max_points
        Points kept per time series (older points are dropped).
    max_rows
        Fills and risk events kept for the tables.
    """

    def __init__(self, *, max_points: int = 20_000, max_rows: int = 200) -> None:
        self.max_points = max_points
        self.max_rows = max_rows
        self._start(None)

    def _start(self, run: Mapping[str, Any] | None) -> None:
        self.run = dict(run) if run is not None else None
        config: dict[str, Any] = {}
        if run is not None:
            try:
                loaded = json.loads(str(run.get("config_json") or "{}"))
            except json.JSONDecodeError:
                loaded = {}
            config = loaded if isinstance(loaded, dict) else {}
        self.units = units_from_config(config)
        risk = config.get("risk")
        self.risk_limits: dict[str, Any] = dict(risk) if isinstance(risk, Mapping) else {}
        self.instruments: dict[int, _Instrument] = {}
        self.state = "ACTIVE"
        self.transitions: deque[dict[str, Any]] = deque(maxlen=self.max_rows)
        self.rejects: deque[dict[str, Any]] = deque(maxlen=self.max_rows)
        self.n_rejects = 0
        self.recent_fills: deque[dict[str, Any]] = deque(maxlen=self.max_rows)
        self.order_times: deque[int] = deque()  # created_ns of the last second's orders
        self.n_orders = 0
        self.t_ns = -1  # latest feed time seen in the journal
        self.peak_equity = math.nan
        self.day = -1
        self.day_start_equity = math.nan
        self._new_fills: list[dict[str, Any]] = []
        self._new_transitions: list[dict[str, Any]] = []
        self._new_rejects: list[dict[str, Any]] = []

    def _inst(self, i: int) -> _Instrument:
        inst = self.instruments.get(i)
        if inst is None:
            inst = self.instruments[i] = _Instrument(self.max_points)
        return inst

    # -- folding rows in ------------------------------------------------------------------------

    def apply(self, rows: JournalRows) -> dict[str, Any]:
        """Fold ``rows`` in; return the update message (``type`` ``full`` after a new run)."""
        restarted = rows.run is not None
        if restarted:
            self._start(rows.run)
        for o in rows.orders:
            self._on_order(o)
        for e in rows.order_events:
            self._on_order_event(e)
        for f in rows.fills:
            self._on_fill(f)
        for r in rows.risk_events:
            self._on_risk_event(r)
        self._on_snapshots(rows.snapshots)
        self._track_equity()
        if restarted:
            message = self.full()
        else:
            message = self._message("delta", {k: s.new for k, s in self._all_series()})
        self._clear_new()
        return message

    def _all_series(self) -> Iterable[tuple[tuple[int, str], _Series]]:
        for i, inst in self.instruments.items():
            for name, series in inst.series.items():
                yield (i, name), series

    def _clear_new(self) -> None:
        for _, series in self._all_series():
            series.new = []
        self._new_fills, self._new_transitions, self._new_rejects = [], [], []

    def _seen(self, t_ns: int) -> None:
        self.t_ns = max(self.t_ns, t_ns)

    def _on_order(self, o: Mapping[str, Any]) -> None:
        inst = self._inst(int(o["instrument"]))
        t, side, price = int(o["created_ns"]), int(o["side"]), float(o["price"])
        inst.live[int(o["order_id"])] = [side, price, float(o["qty"]), "PENDING_NEW"]
        inst.n_orders += 1
        inst.series["bid" if side > 0 else "ask"].add(t, price)
        self.n_orders += 1
        self.order_times.append(t)
        self._seen(t)

    def _on_order_event(self, e: Mapping[str, Any]) -> None:
        oid, status, t = int(e["order_id"]), str(e["status"]), int(e["t_ns"])
        for inst in self.instruments.values():
            order = inst.live.get(oid)
            if order is not None:
                if status in _TERMINAL:
                    del inst.live[oid]
                else:
                    order[3] = status
                    if e["kind"] == "amended":  # the venue applied new terms: "qty@price"
                        qty, _, price = str(e["detail"]).partition("@")
                        order[1], order[2] = float(price), float(qty)
                        inst.series["bid" if order[0] > 0 else "ask"].add(t, order[1])
                break
        self._seen(t)

    def _on_fill(self, f: Mapping[str, Any]) -> None:
        inst = self._inst(int(f["instrument"]))
        t, side = int(f["local_ns"]), int(f["side"])
        price, qty, fee = float(f["price"]), float(f["qty"]), float(f["fee"])
        mid = f.get("mid")  # absent from journals older than the column, NULL if unknown
        acct = inst.account
        acct.fill(
            side=side, qty=qty, price=price, fee=fee, cash_delta=float(f["cash_delta"]), mid=mid
        )
        if t >= inst.mark_ns:
            inst.mark, inst.mark_ns, inst.mark_source = price, t, "last fill price"
        inst.series["buy" if side > 0 else "sell"].add(t, price, qty)
        inst.series["inventory"].add(t, inst.position)
        inst.series["realised"].add(t, acct.realised)
        inst.series["minus_fees"].add(t, -acct.fees)
        if acct.n_without_mid == 0:
            inst.series["spread"].add(t, acct.spread)
        row = {
            "t_ms": t / _NS_PER_MS,
            "instrument": int(f["instrument"]),
            "order_id": int(f["order_id"]),
            "side": "buy" if side > 0 else "sell",
            "qty": qty,
            "price": price,
            "fee": fee,
            "maker": bool(f["is_maker"]),
            "position_after": inst.position,
        }
        self.recent_fills.append(row)
        self._new_fills.append(row)
        self._seen(t)

    def _on_risk_event(self, r: Mapping[str, Any]) -> None:
        t = int(r["t_ns"])
        row: dict[str, Any] = {
            "t_ms": t / _NS_PER_MS,
            "old_state": str(r["old_state"]),
            "new_state": str(r["new_state"]),
            "cause": str(r["cause"]),
            "order_id": None if r["order_id"] is None else int(r["order_id"]),
        }
        if r["kind"] == "transition":
            self.state = row["new_state"]
            self.transitions.append(row)
            self._new_transitions.append(row)
        else:
            self.n_rejects += 1
            self.rejects.append(row)
            self._new_rejects.append(row)
        self._seen(t)

    def _on_snapshots(self, snaps: Sequence[Mapping[str, Any]]) -> None:
        by_time: dict[int, float] = {}
        for s in snaps:
            inst = self._inst(int(s["instrument"]))
            t = int(s["t_ns"])
            mark = s["mark"]
            if mark is not None and t >= inst.mark_ns:
                inst.mark, inst.mark_ns, inst.mark_source = float(mark), t, "mid (snapshot)"
            if mark is not None:
                inst.series["mid"].add(t, float(mark))
            if s["equity"] is not None:
                inst.snapshot_equity = float(s["equity"])
                inst.series["equity"].add(t, float(s["equity"]))
                by_time[t] = by_time.get(t, 0.0) + float(s["equity"])
            self._seen(t)
        for t, equity in sorted(by_time.items()):
            self._observe_equity(t, equity)

    def _observe_equity(self, t_ns: int, equity: float) -> None:
        if not math.isfinite(equity):
            return
        if not equity <= self.peak_equity:  # also replaces the initial NaN
            self.peak_equity = equity
        day = t_ns // _NS_PER_DAY
        if day != self.day:
            self.day, self.day_start_equity = day, equity

    def _track_equity(self) -> None:
        if self.instruments and self.t_ns >= 0:
            self._observe_equity(self.t_ns, self.account_total())
        while self.order_times and self.order_times[0] <= self.t_ns - 1_000_000_000:
            self.order_times.popleft()

    # -- reading the figures --------------------------------------------------------------------

    def account_total(self) -> float:
        """Total PnL of the account (sum over instruments; NaN while a mark is missing)."""
        return math.fsum(inst.total for inst in self.instruments.values())

    def limits(self) -> list[dict[str, Any]]:
        """Usage of the run's configured limits (``[risk]`` of its config), as the dashboard
        sees them from the journal: value, limit, usage = value / limit."""
        out: list[dict[str, Any]] = []
        lim = self.risk_limits
        money = self.units["money"]

        def add(name: str, unit: str, value: float, limit: float | None) -> None:
            if limit is not None:
                out.append(
                    {
                        "name": name,
                        "unit": unit,
                        "value": _finite(value),
                        "limit": limit,
                        "usage": _finite(value / limit),
                    }
                )

        position = abs(self.instruments[0].position) if 0 in self.instruments else 0.0
        add("|position|", self.units["position"], position, _limit(lim, "max_position"))
        total = self.account_total()
        drawdown = self.peak_equity - total if math.isfinite(self.peak_equity) else 0.0
        add("drawdown (REDUCING)", money, drawdown, _limit(lim, "reduce_drawdown"))
        add("drawdown (HALTED)", money, drawdown, _limit(lim, "trailing_drawdown"))
        day_loss = self.day_start_equity - total if math.isfinite(self.day_start_equity) else 0.0
        add("loss today (UTC)", money, day_loss, _limit(lim, "daily_loss"))
        add(
            "orders in the last 1 s",
            "orders",
            len(self.order_times),
            _limit(lim, "max_orders_per_s"),
        )
        return out

    def _summary(self, i: int, inst: _Instrument) -> dict[str, Any]:
        bid, ask = inst.best_quotes()
        acct, mark = inst.account, inst.mark
        delta_base, delta_quote = acct.delta(mark)
        return {
            "instrument": i,
            "position": acct.position,
            "cash": acct.cash,
            "realised": acct.realised,
            "unrealised": _finite(acct.unrealised(mark)),
            "fees": acct.fees,
            "spread": _finite(acct.spread_capture()),
            "inventory_pnl": _finite(acct.inventory(mark)),
            "fills_without_mid": acct.n_without_mid,
            "delta_base": _finite(delta_base),
            "delta_quote": _finite(delta_quote),
            "total": _finite(inst.total),
            "snapshot_equity": _finite(inst.snapshot_equity),
            "mark": _finite(inst.mark),
            "mark_source": inst.mark_source,
            "mark_t_ms": inst.mark_ns / _NS_PER_MS if inst.mark_ns >= 0 else None,
            "bid": _finite(bid),
            "ask": _finite(ask),
            "live_orders": len(inst.live),
            "fills": acct.n_fills,
            "orders": inst.n_orders,
            "contract": (
                None
                if acct.inverse is None
                else {"inverse": acct.inverse, "contract_size": acct.contract_size}
            ),
        }

    def _message(
        self, kind: str, series: Mapping[tuple[int, str], Iterable[tuple[float, ...]]]
    ) -> dict[str, Any]:
        per_inst: dict[str, dict[str, Any]] = {}
        for i, inst in sorted(self.instruments.items()):
            per_inst[str(i)] = {
                "summary": self._summary(i, inst),
                "series": {name: list(series[(i, name)]) for name in _SERIES},
            }
        run = self.run
        return {
            "type": kind,
            "run": None
            if run is None
            else {
                "run_id": run["run_id"],
                "mode": run["mode"],
                "venue": run["venue"],
                "started_ms": int(run["started_ns"]) / _NS_PER_MS,
            },
            "units": self.units,
            "t_ms": self.t_ns / _NS_PER_MS if self.t_ns >= 0 else None,
            "state": self.state,
            "pnl_total": _finite(self.account_total()),
            "limits": self.limits(),
            "rejects": self.n_rejects,
            "orders": self.n_orders,
            "instruments": per_inst,
            "fills": list(self.recent_fills) if kind == "full" else self._new_fills,
            "transitions": list(self.transitions) if kind == "full" else self._new_transitions,
            "recent_rejects": list(self.rejects) if kind == "full" else self._new_rejects,
        }

    def full(self) -> dict[str, Any]:
        """Everything kept: the message a page gets when it connects."""
        return self._message("full", {k: s.points for k, s in self._all_series()})
