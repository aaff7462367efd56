"""The trading journal: every order, fill, risk decision and state change, in SQL, before it counts.

A :class:`Journal` writes through SQLAlchemy 2 to a SQLite file by default (PostgreSQL by URL).
Each record is one transaction committed before the call returns, or the records made inside
``with journal.batch():`` are one transaction committed at its end; either way the caller acts
only on what is already committed: the runtime journals a step's order requests and then sends
them, journals fills and then updates its positions. Inside a batch, order requests and order
events are held and written together (one ``executemany`` per table) at the batch's next other
statement or at its end, so every row still reaches the database in the order it was made.
SQLite runs in WAL mode with ``synchronous=NORMAL`` by default: a committed transaction
survives the process being killed (SIGKILL, a crash); ``durability="full"`` also survives a
power loss at the cost of an fsync per commit.

Tables (plain SQL can read them; times are int64 ns UTC, prices and quantities as given):

================  ===========================================================================
table             one row per
================  ===========================================================================
``runs``          run: ``run_id``, ``started_ns``, ``mode`` (``paper``/``live``/...),
                  ``venue``, ``config_json``
``orders``        order request (written before it is sent): ``run_id``, ``order_id`` (the
                  client id), ``instrument``, ``symbol``, ``side``, ``price``, ``qty``,
                  ``tif``, ``reason``, ``created_ns``
``order_events``  state change of an order: ``seq``, ``run_id``, ``order_id``, ``kind``
                  (``new``, ``ack``, ``reject``, ``cancel_sent``, ``cancelled``,
                  ``cancel_reject``, ``expired``, ``fill``), ``status`` (the order's state
                  after it), ``t_ns``, ``detail``
``fills``         execution: ``run_id``, ``fill_id`` (the venue's trade id; unique per run, so
                  a duplicated fill message is stored once), ``order_id``, ``instrument``,
                  ``side``, ``price``, ``qty``, ``fee``, ``cash_delta`` (settlement
                  currency), ``is_maker``, ``exch_ns``, ``local_ns``, ``mid`` (the
                  instrument's mid as of the fill's venue time, from the runtime's book;
                  NULL when unknown, or in a journal written before the column existed)
``risk_events``   RiskGuard decision: a trading-state ``transition`` (``old_state`` ->
                  ``new_state``, ``cause``) or an order ``reject`` (``order_id``, ``cause``)
``snapshots``     periodic position/risk snapshot per instrument: ``position``, ``cash``,
                  ``equity``, ``mark`` (NULL when unknown: no two-sided book)
================  ===========================================================================

Schema changes are additive: opening a journal written by an older version adds the tables
and nullable columns it lacks (``order_amends``, ``fills.mid``), and changes nothing else.

Recovery: :meth:`Journal.recover` rebuilds a run's positions and cash from its fills and lists
the orders whose last recorded state is live, for the runtime to reconcile with the venue
(:func:`reconcile_orders`).

Amends: ``order_events`` also holds ``amend_sent`` (detail: the requested total ``qty@price``),
``amended`` (detail: the ``qty@price`` now in force) and ``amend_reject`` (detail: the reason)
rows, with the order's state after them (``PENDING_AMEND`` while one is unanswered). An
``orders`` row stays the request as first sent; each applied amend is also a row of
``order_amends`` (``seq``, ``run_id``, ``order_id``, ``t_ns``, ``price``, ``qty``: the new
total, fills included), and :meth:`Journal.recover` reports a live order at the terms of its
last applied amend. An amend unanswered when the process stopped is not applied there: the
venue's answer, or the reconciliation, settles it.
"""

from __future__ import annotations

import contextlib
import json
import math
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from invrisk.errors import InvalidArgumentError
from invrisk.order_manager import ManagedOrder, NewOrder, OrderStatus
from invrisk.strategy import Fill

__all__ = [
    "Journal",
    "ReconcileReport",
    "Recovery",
    "reconcile_orders",
]

Durability = Literal["normal", "full"]
_LIVE = {
    OrderStatus.PENDING_NEW.name,
    OrderStatus.OPEN.name,
    OrderStatus.PENDING_CANCEL.name,
    OrderStatus.PENDING_AMEND.name,
}

metadata = MetaData()
runs = Table(
    "runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("started_ns", BigInteger, nullable=False),
    Column("mode", String(16), nullable=False),
    Column("venue", String(64), nullable=False),
    Column("config_json", Text, nullable=False),
)
orders = Table(
    "orders",
    metadata,
    Column("run_id", String(64), ForeignKey("runs.run_id"), nullable=False),
    Column("order_id", BigInteger, nullable=False),
    Column("instrument", Integer, nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("side", SmallInteger, nullable=False),
    Column("price", Float, nullable=False),
    Column("qty", Float, nullable=False),
    Column("tif", SmallInteger, nullable=False),
    Column("reason", String(128), nullable=False),
    Column("created_ns", BigInteger, nullable=False),
    PrimaryKeyConstraint("run_id", "order_id"),
)
order_events = Table(
    "order_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), ForeignKey("runs.run_id"), nullable=False),
    Column("order_id", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("t_ns", BigInteger, nullable=False),
    Column("detail", String(256), nullable=False),
)
fills = Table(
    "fills",
    metadata,
    Column("run_id", String(64), ForeignKey("runs.run_id"), nullable=False),
    Column("fill_id", String(64), nullable=False),
    Column("order_id", BigInteger, nullable=False),
    Column("instrument", Integer, nullable=False),
    Column("side", SmallInteger, nullable=False),
    Column("price", Float, nullable=False),
    Column("qty", Float, nullable=False),
    Column("fee", Float, nullable=False),
    Column("cash_delta", Float, nullable=False),
    Column("is_maker", Boolean, nullable=False),
    Column("exch_ns", BigInteger, nullable=False),
    Column("local_ns", BigInteger, nullable=False),
    Column("mid", Float),  # NULL when unknown (one-sided book; journals older than the column)
    PrimaryKeyConstraint("run_id", "fill_id"),
)
risk_events = Table(
    "risk_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), ForeignKey("runs.run_id"), nullable=False),
    Column("t_ns", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("old_state", String(16), nullable=False),
    Column("new_state", String(16), nullable=False),
    Column("order_id", BigInteger),
    Column("cause", String(256), nullable=False),
)
snapshots = Table(
    "snapshots",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), ForeignKey("runs.run_id"), nullable=False),
    Column("t_ns", BigInteger, nullable=False),
    Column("instrument", Integer, nullable=False),
    Column("position", Float, nullable=False),
    Column("cash", Float, nullable=False),
    Column("equity", Float),  # NULL when unknown (no two-sided book: SQLite has no NaN)
    Column("mark", Float),
)
# one row per amend the venue applied (the orders row keeps the request as first sent)
order_amends = Table(
    "order_amends",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), ForeignKey("runs.run_id"), nullable=False),
    Column("order_id", BigInteger, nullable=False),
    Column("t_ns", BigInteger, nullable=False),
    Column("price", Float, nullable=False),
    Column("qty", Float, nullable=False),
)


# Statements built once: executed with a parameter dict, SQLAlchemy reuses their compiled form
# (building ``.values(...)`` per call costs more than the SQLite write itself).
runs_insert = runs.insert()
orders_insert = orders.insert()
order_events_insert = order_events.insert()
risk_events_insert = risk_events.insert()
order_amends_insert = order_amends.insert()
# A duplicate fill is detected by the row RETURNING gives back (none when the conflict skipped
# it): the driver's rowcount is not portable (psycopg reports -1 here through SQLAlchemy).
_FILL_INSERTS = {
    "sqlite": sqlite_insert(fills).on_conflict_do_nothing().returning(fills.c.fill_id),
    "postgresql": pg_insert(fills).on_conflict_do_nothing().returning(fills.c.fill_id),
}


@dataclass(frozen=True, slots=True)
class Recovery:
    """What a run's journal says after a restart: positions and cash per instrument from the
    fills, the orders last seen live (``order_id`` -> its ``orders`` row, with ``price`` and
    ``qty`` those of its last applied amend and ``amended_ns`` when that amend was applied,
    None if never), and the next free order id."""

    run_id: str
    positions: Mapping[int, float]
    cash: Mapping[int, float]
    open_orders: Mapping[int, Mapping[str, Any]]
    next_order_id: int
    n_fills: int


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """Journal vs venue after a restart (see :func:`reconcile_orders` for the rule)."""

    matched: tuple[int, ...]
    unknown_at_venue: tuple[int, ...] = field(default=())
    missing_at_venue: tuple[int, ...] = field(default=())

    @property
    def clean(self) -> bool:
        return not (self.unknown_at_venue or self.missing_at_venue)


def reconcile_orders(journal_open: Iterable[int], venue_open: Iterable[int]) -> ReconcileReport:
    """Compare the orders the journal thinks live with those the venue reports open.

    The rule the runtime applies (and reports): an order open at the venue but not live in the
    journal (``unknown_at_venue``: sent by someone else, or journaled as terminal) is
    cancelled, never adopted; an order live in the journal but not open at the venue
    (``missing_at_venue``: filled or cancelled while we were down) has its fills fetched from
    the venue's trade history and journaled (each at most once, by fill id), then is marked
    cancelled for its unfilled rest.
    """
    j, v = set(journal_open), set(venue_open)
    return ReconcileReport(
        matched=tuple(sorted(j & v)),
        unknown_at_venue=tuple(sorted(v - j)),
        missing_at_venue=tuple(sorted(j - v)),
    )


class _DriverInserts:
    """The hot inserts (order requests, order events, fills) compiled once for the engine's
    dialect and run on the driver's cursor, inside the SQLAlchemy transaction of the caller.

    SQLAlchemy's per-statement work (parameter processing, result wrapping) costs 10-25 us a
    call, more than SQLite's own insert; a decision writes 4-6 rows on its way to the venue.
    The SQL text is SQLAlchemy's own compilation of the table's insert, so the columns and the
    conflict rule stay defined once, in the table definitions above.
    """

    def __init__(self, engine: Engine) -> None:
        name = engine.dialect.name
        fill_insert = _FILL_INSERTS.get(name)
        if fill_insert is None:
            raise InvalidArgumentError("journal", name, "a SQLite or PostgreSQL database")
        self.orders = self._compile(orders_insert, orders, engine)
        self.order_events = self._compile(order_events_insert, order_events, engine)
        self.fills = self._compile(fill_insert, fills, engine)

    @staticmethod
    def _compile(stmt: Any, table: Table, engine: Engine) -> tuple[str, tuple[str, ...] | None]:
        """(SQL, parameter names in position order, or None for a named paramstyle). Every
        insertable column is bound (omitting ``seq`` lets the database number the rows)."""
        names = [c.name for c in table.c if not (c.primary_key and c.autoincrement is True)]
        compiled = stmt.compile(dialect=engine.dialect, column_keys=names)
        positions = compiled.positiontup
        return str(compiled), (tuple(positions) if positions is not None else None)

    @staticmethod
    def params(
        spec: tuple[str, tuple[str, ...] | None], row: Mapping[str, Any]
    ) -> tuple[Any, ...] | Mapping[str, Any]:
        _, positions = spec
        return row if positions is None else tuple(row[k] for k in positions)

    def insert_many(
        self,
        conn: Connection,
        spec: tuple[str, tuple[str, ...] | None],
        rows: Sequence[Mapping[str, Any]],
    ) -> None:
        cur = conn.connection.cursor()
        try:
            params: list[Any] = [self.params(spec, r) for r in rows]
            cur.executemany(spec[0], params)
        finally:
            cur.close()

    def insert_fill(self, conn: Connection, row: Mapping[str, Any]) -> bool:
        """Insert a fill unless its (run, fill id) is there; True if it was inserted."""
        cur = conn.connection.cursor()
        try:
            cur.execute(self.fills[0], self.params(self.fills, row))
            return cur.fetchone() is not None
        finally:
            cur.close()


def _sqlite_pragmas(durability: Durability) -> Any:
    def connect(dbapi_connection: Any, _record: Any) -> None:
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=5000")
        cur.close()

    return connect


def _add_missing_columns(engine: Engine) -> None:
    """Add the nullable columns a journal from an older version lacks (additive changes only)."""
    have = {c["name"] for c in inspect(engine).get_columns("fills")}
    if "mid" not in have:
        with engine.begin() as conn:
            conn.execute(sql_text("ALTER TABLE fills ADD COLUMN mid FLOAT"))


class Journal:
    """A journal database (see the module docstring).

    Parameters
    ----------
    target
        A SQLite file path (created if missing) or a SQLAlchemy URL
        (``postgresql+psycopg://user@host/db``).
    durability
        SQLite only: ``"normal"`` (default; survives a process crash) or ``"full"`` (also a
        power loss).
    """

    def __init__(self, target: str | Path, *, durability: Durability = "normal") -> None:
        if durability not in ("normal", "full"):
            raise InvalidArgumentError("durability", durability, "'normal' or 'full'")
        text = str(target)
        url = text if "://" in text else f"sqlite:///{Path(text).expanduser()}"
        if "://" not in text and not Path(text).expanduser().parent.is_dir():
            raise InvalidArgumentError("target", text, "a file in an existing directory")
        self.url = url
        self.engine: Engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas(durability))
        metadata.create_all(self.engine)
        _add_missing_columns(self.engine)
        self._driver = _DriverInserts(self.engine)
        self.run_id: str | None = None
        self._conn: Connection | None = None
        # inside a batch, order requests and order events wait here and go in with one
        # executemany per table (before any other statement of the batch, and before its
        # commit): a decision's requests cost one round trip instead of one per row
        self._pending_orders: list[dict[str, Any]] = []
        self._pending_events: list[dict[str, Any]] = []

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group the records made inside into one transaction, committed on exit (before the
        caller acts on them). Records outside a batch commit one by one."""
        if self._conn is not None:  # already inside a batch: join it
            yield
            return
        with self.engine.begin() as conn:
            self._conn = conn
            try:
                yield
                self._flush(conn)
            finally:
                self._conn = None
                self._pending_orders.clear()
                self._pending_events.clear()

    def _flush(self, conn: Connection) -> None:
        """Write the batch's waiting order requests and events, in the order they were made."""
        if self._pending_orders:
            self._driver.insert_many(conn, self._driver.orders, self._pending_orders)
            self._pending_orders = []
        if self._pending_events:
            self._driver.insert_many(conn, self._driver.order_events, self._pending_events)
            self._pending_events = []

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Connection]:
        if self._conn is not None:
            self._flush(self._conn)  # statements reach the database in the order they are made
            yield self._conn
        else:
            with self.engine.begin() as conn:
                yield conn

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ----------------------------------------------------------------------------

    def start_run(
        self,
        *,
        started_ns: int,
        mode: str,
        venue: str,
        config: Mapping[str, Any] | None = None,
        run_id: str | None = None,
    ) -> str:
        """Record a new run (or adopt ``run_id`` if it exists: a restart) and make it current."""
        rid = run_id or uuid.uuid4().hex
        with self.engine.begin() as conn:
            exists = conn.execute(select(runs.c.run_id).where(runs.c.run_id == rid)).first()
            if exists is None:
                conn.execute(
                    runs_insert,
                    {
                        "run_id": rid,
                        "started_ns": int(started_ns),
                        "mode": mode,
                        "venue": venue,
                        "config_json": json.dumps(dict(config or {}), default=str, sort_keys=True),
                    },
                )
        self.run_id = rid
        return rid

    def _run(self) -> str:
        if self.run_id is None:
            raise InvalidArgumentError("journal", "no current run", "start_run(...) first")
        return self.run_id

    def record_order(self, order: NewOrder, *, t_ns: int, symbol: str = "") -> None:
        """An order request, before it is sent (with its ``new`` event)."""
        rid = self._run()
        request = {
            "run_id": rid,
            "order_id": order.order_id,
            "instrument": order.instrument,
            "symbol": symbol,
            "side": order.side,
            "price": order.price,
            "qty": order.qty,
            "tif": int(order.tif),
            "reason": order.reason,
            "created_ns": int(t_ns),
        }
        new = {
            "run_id": rid,
            "order_id": order.order_id,
            "kind": "new",
            "status": OrderStatus.PENDING_NEW.name,
            "t_ns": int(t_ns),
            "detail": "",
        }
        if self._conn is not None:  # in a batch: written at its next statement or its end
            self._pending_orders.append(request)
            self._pending_events.append(new)
            return
        with self._tx() as conn:
            self._driver.insert_many(conn, self._driver.orders, [request])
            self._driver.insert_many(conn, self._driver.order_events, [new])

    def record_event(
        self, order_id: int, *, kind: str, status: OrderStatus, t_ns: int, detail: str = ""
    ) -> None:
        """A state change of an order (ack, reject, cancel sent/acknowledged/rejected ...)."""
        row = {
            "run_id": self._run(),
            "order_id": int(order_id),
            "kind": kind,
            "status": OrderStatus(status).name,
            "t_ns": int(t_ns),
            "detail": detail[:256],
        }
        if self._conn is not None:  # in a batch: written at its next statement or its end
            self._pending_events.append(row)
            return
        with self._tx() as conn:
            self._driver.insert_many(conn, self._driver.order_events, [row])

    def on_order_event(self, kind: str, order: ManagedOrder) -> None:
        """The :class:`~invrisk.order_manager.OrderManager` ``on_event`` hook: journals each
        state change as it happens (``new`` with the order request). A ``fill`` event records
        the order's state after the fill; the execution itself is journaled by
        :meth:`record_fill` with the venue's id, before the order manager hears of it (so a
        duplicated fill message is refused there and never reaches the order manager)."""
        if kind == "new":
            self.record_order(
                NewOrder(
                    order.order_id,
                    order.instrument,
                    order.side,
                    order.price,
                    order.qty,
                    order.tif,
                    order.reason,
                ),
                t_ns=order.updated_ns,
            )
            return
        if kind == "amended":
            self.record_amend(
                order.order_id,
                price=order.price,
                qty=order.qty,
                t_ns=order.updated_ns,
                status=order.status,
            )
            return
        self.record_event(
            order.order_id,
            kind=kind,
            status=order.status,
            t_ns=order.updated_ns,
            detail=(
                order.reason
                if kind in ("reject", "cancel_reject", "amend_reject")
                else f"{order.last_fill_qty}@{order.last_fill_price}"
                if kind == "fill"
                else f"{order.amend_qty}@{order.amend_price}"
                if kind == "amend_sent"
                else ""
            ),
        )

    def record_fill(
        self,
        fill: Fill,
        *,
        fill_id: str,
        cash_delta: float | None = None,
        mid: float | None = None,
    ) -> bool:
        """An execution; False (and nothing written) if ``fill_id`` is already journaled.

        ``cash_delta`` is the settlement-currency cash change (default ``-side * qty * price -
        fee``: a linear contract of size 1; pass the engine's value for others). ``mid`` is the
        instrument's mid as of the fill's venue time (quote currency; None or NaN: unknown),
        which splits PnL into spread capture and inventory (:mod:`invrisk.store.pnl`).
        """
        if not fill_id:
            raise InvalidArgumentError("fill_id", fill_id, "the venue's trade id (non-empty)")
        if not (math.isfinite(fill.qty) and fill.qty > 0 and math.isfinite(fill.price)):
            raise InvalidArgumentError("fill", fill, "a finite price and a quantity > 0")
        cash = -fill.side * fill.qty * fill.price - fill.fee if cash_delta is None else cash_delta
        row = {
            "run_id": self._run(),
            "fill_id": fill_id,
            "order_id": int(fill.order_id),
            "instrument": int(fill.instrument),
            "side": int(fill.side),
            "price": float(fill.price),
            "qty": float(fill.qty),
            "fee": float(fill.fee),
            "cash_delta": float(cash),
            "is_maker": bool(fill.is_maker),
            "exch_ns": int(fill.exch_ns),
            "local_ns": int(fill.local_ns),
            "mid": float(mid) if mid is not None and math.isfinite(mid) else None,
        }
        with self._tx() as conn:
            return self._driver.insert_fill(conn, row)

    def record_transition(self, *, t_ns: int, old: str, new: str, cause: str) -> None:
        """A trading-state change of the RiskGuard."""
        with self._tx() as conn:
            conn.execute(
                risk_events_insert,
                {
                    "run_id": self._run(),
                    "t_ns": int(t_ns),
                    "kind": "transition",
                    "old_state": old,
                    "new_state": new,
                    "order_id": None,
                    "cause": cause[:256],
                },
            )

    def record_risk_reject(self, *, t_ns: int, order_id: int, reason: str, state: str) -> None:
        """An order the RiskGuard refused (``reason`` its code and detail)."""
        with self._tx() as conn:
            conn.execute(
                risk_events_insert,
                {
                    "run_id": self._run(),
                    "t_ns": int(t_ns),
                    "kind": "reject",
                    "old_state": state,
                    "new_state": state,
                    "order_id": int(order_id),
                    "cause": reason[:256],
                },
            )

    def record_snapshot(
        self, *, t_ns: int, rows: Sequence[tuple[int, float, float, float, float]]
    ) -> None:
        """Positions per instrument: ``(instrument, position, cash, equity, mark)`` rows."""
        rid = self._run()
        with self._tx() as conn:
            conn.execute(
                snapshots.insert(),
                [
                    {
                        "run_id": rid,
                        "t_ns": int(t_ns),
                        "instrument": int(i),
                        "position": float(q),
                        "cash": float(c),
                        "equity": float(e) if math.isfinite(e) else None,
                        "mark": float(m) if math.isfinite(m) else None,
                    }
                    for i, q, c, e, m in rows
                ],
            )

    def record_amend(
        self,
        order_id: int,
        *,
        price: float,
        qty: float,
        t_ns: int,
        status: OrderStatus | None = None,
    ) -> None:
        """An amend the venue applied: the order's new ``price`` and total ``qty`` (contracts,
        fills included), as an ``amended`` event and an ``order_amends`` row in one commit.
        ``status`` is the order's state after it (default OPEN)."""
        after = OrderStatus.OPEN if status is None else OrderStatus(status)
        with self.batch(), self._tx() as conn:  # the batch makes record_event join it
            conn.execute(
                order_amends_insert,
                {
                    "run_id": self._run(),
                    "order_id": int(order_id),
                    "t_ns": int(t_ns),
                    "price": float(price),
                    "qty": float(qty),
                },
            )
            self.record_event(
                order_id, kind="amended", status=after, t_ns=t_ns, detail=f"{qty}@{price}"
            )

    # -- reading ----------------------------------------------------------------------------

    def runs(self) -> list[dict[str, Any]]:
        """Every run, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(runs).order_by(runs.c.started_ns)).mappings().all()
        return [dict(r) for r in rows]

    def recover(self, run_id: str | None = None) -> Recovery:
        """Positions and cash from the fills, and the orders last seen live (see the class)."""
        rid = run_id or self._run()
        with self.engine.connect() as conn:
            pos = conn.execute(
                select(
                    fills.c.instrument,
                    func.sum(fills.c.side * fills.c.qty),
                    func.sum(fills.c.cash_delta),
                    func.count(),
                )
                .where(fills.c.run_id == rid)
                .group_by(fills.c.instrument)
            ).all()
            last = (
                select(order_events.c.order_id, func.max(order_events.c.seq).label("seq"))
                .where(order_events.c.run_id == rid)
                .group_by(order_events.c.order_id)
                .subquery()
            )
            states = conn.execute(
                select(order_events.c.order_id, order_events.c.status).join(
                    last, order_events.c.seq == last.c.seq
                )
            ).all()
            live_ids = [int(oid) for oid, status in states if status in _LIVE]
            rows = (
                conn.execute(
                    select(orders).where(orders.c.run_id == rid, orders.c.order_id.in_(live_ids))
                )
                .mappings()
                .all()
                if live_ids
                else []
            )
            amended = self._last_amends(conn, rid, live_ids)
            max_id = conn.execute(
                select(func.max(orders.c.order_id)).where(orders.c.run_id == rid)
            ).scalar()
        return Recovery(
            run_id=rid,
            positions={int(i): float(q) for i, q, _, _ in pos},
            cash={int(i): float(c) for i, _, c, _ in pos},
            open_orders={
                int(r["order_id"]): {**dict(r), "amended_ns": None}
                | amended.get(int(r["order_id"]), {})
                for r in rows
            },
            next_order_id=int(max_id or 0) + 1,
            n_fills=int(sum(n for *_, n in pos)),
        )

    @staticmethod
    def _last_amends(
        conn: Connection, rid: str, order_ids: Sequence[int]
    ) -> dict[int, dict[str, Any]]:
        """The terms of the last applied amend of each of ``order_ids`` that has one."""
        if not order_ids:
            return {}
        last = (
            select(order_amends.c.order_id, func.max(order_amends.c.seq).label("seq"))
            .where(order_amends.c.run_id == rid, order_amends.c.order_id.in_(order_ids))
            .group_by(order_amends.c.order_id)
            .subquery()
        )
        rows = conn.execute(
            select(
                order_amends.c.order_id,
                order_amends.c.price,
                order_amends.c.qty,
                order_amends.c.t_ns,
            ).join(last, order_amends.c.seq == last.c.seq)
        ).all()
        return {
            int(oid): {"price": float(price), "qty": float(qty), "amended_ns": int(t)}
            for oid, price, qty, t in rows
        }

    def order_of(self, order_id: int, run_id: str | None = None) -> dict[str, Any] | None:
        """The journaled request of one order of the run (None if it was never journaled)."""
        rid = run_id or self._run()
        with self._tx() as conn:
            row = (
                conn.execute(
                    select(orders).where(orders.c.run_id == rid, orders.c.order_id == order_id)
                )
                .mappings()
                .first()
            )
        return None if row is None else dict(row)

    def table(self, name: str, run_id: str | None = None) -> list[dict[str, Any]]:
        """The rows of one table (``orders``, ``order_events``, ``order_amends``, ``fills``,
        ``risk_events``, ``snapshots``) of a run, in insertion order."""
        tables = {
            "orders": (orders, orders.c.order_id),
            "order_events": (order_events, order_events.c.seq),
            "order_amends": (order_amends, order_amends.c.seq),
            "fills": (fills, fills.c.local_ns),
            "risk_events": (risk_events, risk_events.c.seq),
            "snapshots": (snapshots, snapshots.c.seq),
        }
        if name not in tables:
            raise InvalidArgumentError("name", name, f"one of {sorted(tables)}")
        tab, order = tables[name]
        rid = run_id or self._run()
        with self.engine.connect() as conn:
            rows = (
                conn.execute(select(tab).where(tab.c.run_id == rid).order_by(order))
                .mappings()
                .all()
            )
        return [dict(r) for r in rows]
