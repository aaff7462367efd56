"""The frozen result of a backtest: time series, fills, PnL decomposition and summary metrics.

Units: prices in each instrument's quote currency; PnL, cash, fees and funding in its
settlement currency (quote for linear, coin for inverse); positions in contracts; times int64
ns UTC. Totals across instruments are only formed when they share a settlement currency.

PnL decomposition (per instrument, exact up to rounding, see the kernel's module docstring):
``total = spread + inventory - fees + funding``, where ``spread`` is the value captured
against the exchange mid at each fill, ``inventory`` the mark-to-market of the position on
mid moves, ``fees`` what was paid (rebates negative) and ``funding`` what was received.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from invrisk._typing import Float64Array, Int64Array
from invrisk.backtest import _sim_kernels_python as _k
from invrisk.errors import InvalidArgumentError
from invrisk.instruments import Instrument

__all__ = [
    "AMEND_DTYPE",
    "FILL_DTYPE",
    "FUNDING_DTYPE",
    "ORDER_DTYPE",
    "BacktestResult",
    "PnL",
    "summary_metrics",
]

FILL_DTYPE = np.dtype(
    [
        ("exch_ns", np.int64),
        ("local_ns", np.int64),
        ("instrument", np.int32),
        ("order_id", np.int64),
        ("side", np.int8),
        ("price", np.float64),
        ("qty", np.float64),
        ("fee", np.float64),
        ("maker", np.bool_),
        ("mid", np.float64),
    ]
)
"""One fill: exchange and local times, side +1/-1, price, qty (contracts), fee (settlement
currency, negative = rebate), maker flag and the exchange mid (price) at the fill."""

FUNDING_DTYPE = np.dtype(
    [
        ("exch_ns", np.int64),
        ("local_ns", np.int64),
        ("instrument", np.int32),
        ("position", np.float64),
        ("rate", np.float64),
        ("value", np.float64),
        ("payment", np.float64),
    ]
)
"""One funding settlement: when it happened and was reported, the position (contracts), the
rate (per interval), the value of one contract it used (mark, or mid without a mark; settlement
currency) and the payment received (negative = paid)."""

ORDER_DTYPE = np.dtype(
    [
        ("order_id", np.int64),
        ("instrument", np.int32),
        ("side", np.int8),
        ("price", np.float64),
        ("qty", np.float64),
        ("tif", np.int8),
        ("sent_ns", np.int64),
        ("status", np.int8),
        ("filled", np.float64),
        ("done_ns", np.int64),
        ("reason", "U40"),
    ]
)
"""One order the strategy placed: when it was sent (local time), its time in force
(:class:`~invrisk.strategy.TimeInForce`), its last known status
(:class:`~invrisk.order_manager.OrderStatus` code: 1 open, 3 filled, 4 cancelled, 5 rejected;
an order still live at the end keeps its live code: 0, 1, 2, or 6 with an amend in flight), the
quantity filled, when it ended (local time; -1 if it did not) and why it was rejected (the
RiskGuard's ``risk:<reason>`` or the simulated venue's). ``price`` and ``qty`` are the order as
first sent; its amends are in :data:`AMEND_DTYPE` rows."""

AMEND_DTYPE = np.dtype(
    [
        ("order_id", np.int64),
        ("sent_ns", np.int64),
        ("price", np.float64),
        ("qty", np.float64),
        ("status", np.int8),
        ("done_ns", np.int64),
        ("reason", "U40"),
    ]
)
"""One amend of an order (``run_backtest(amend_orders=True)``): when it was sent (local time),
the new price and new *total* size (contracts, fills included), its status (0 unanswered at
the end, 1 applied by the venue, 2 rejected), when the answer arrived (local time; -1 if none)
and why it was rejected (the RiskGuard's ``risk:<reason>``, then the order was cancelled, or
the simulated venue's: ``post_only_would_cross``, ``already_done``,
``amend_qty_not_above_filled``, ...)."""

SECONDS_PER_YEAR = 365 * 86_400


@dataclass(frozen=True, slots=True)
class PnL:
    """PnL of one instrument, settlement currency: total = spread + inventory - fees + funding."""

    total: float
    spread: float
    inventory: float
    fees: float
    funding: float
    volume: float
    maker_qty: float
    taker_qty: float
    position: float


@dataclass(frozen=True, slots=True, eq=False)
class BacktestResult:
    """Everything a backtest produced (arrays of shape ``(n_samples, n_instruments)``).

    Attributes
    ----------
    t_ns
        Local time of each sample (each strategy decision).
    mid
        Local mid price at each sample.
    position, position_known
        True position (exchange side) and the position the strategy had been told of.
    equity
        ``cash + position * value(exchange mid)`` per instrument (settlement currency); when a
        side of the exchange book is empty, the value last marked.
    bid, ask
        Our best order resting at the exchange per side at the sample time, before the
        decision's own new orders (nan when none): what was actually in the book.
    target_bid, target_ask
        The best price the strategy last asked for per side (nan when it asked for none).
    fills
        :data:`FILL_DTYPE` rows in the order they were reported.
    funding
        :data:`FUNDING_DTYPE` rows, one per settlement with a position.
    pnl
        :class:`PnL` per instrument at the end.
    orders
        :data:`ORDER_DTYPE` rows, one per order placed (sent or refused by the RiskGuard), in
        the order they were placed.
    orders_sent, cancels_sent, amends_sent
        New orders, cancels and amends the order manager issued.
    amends
        :data:`AMEND_DTYPE` rows, one per amend (sent or refused by the RiskGuard), in the
        order they were issued; empty unless the run amended orders.
    """

    instruments: tuple[Instrument, ...]
    t_ns: Int64Array
    mid: Float64Array
    position: Float64Array
    position_known: Float64Array
    equity: Float64Array
    bid: Float64Array
    ask: Float64Array
    target_bid: Float64Array
    target_ask: Float64Array
    fills: np.ndarray
    funding: np.ndarray
    pnl: tuple[PnL, ...]
    orders: np.ndarray
    orders_sent: int
    cancels_sent: int
    rejections: dict[str, int]
    risk_events: tuple[tuple[int, str], ...]
    out_of_window: int
    end_ns: int
    amends_sent: int = 0
    amends: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=AMEND_DTYPE))

    def summary(self, *, markouts_s: tuple[float, ...] = (1.0, 10.0, 60.0)) -> dict[str, object]:
        """Summary metrics (see :func:`summary_metrics`)."""
        return summary_metrics(self, markouts_s=markouts_s)

    def to_parquet(self, directory: str | Path) -> list[Path]:
        """Write ``samples.parquet``, ``fills.parquet``, ``funding.parquet`` and
        ``orders.parquet``, and ``amends.parquet`` when the run amended orders (directory
        made)."""
        import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
        import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        cols: dict[str, np.ndarray] = {"t_ns": self.t_ns}
        for i, inst in enumerate(self.instruments):
            for name in (
                "mid",
                "position",
                "position_known",
                "equity",
                "bid",
                "ask",
                "target_bid",
                "target_ask",
            ):
                cols[f"{inst.name}.{name}"] = getattr(self, name)[:, i]
        paths = [
            out / "samples.parquet",
            out / "fills.parquet",
            out / "funding.parquet",
            out / "orders.parquet",
        ]
        pq.write_table(_arrow_table(pa, cols), paths[0])
        tables = [
            (paths[1], self.fills, FILL_DTYPE),
            (paths[2], self.funding, FUNDING_DTYPE),
            (paths[3], self.orders, ORDER_DTYPE),
        ]
        if self.amends.size:
            paths.append(out / "amends.parquet")
            tables.append((paths[4], self.amends, AMEND_DTYPE))
        for path, rows, dtype in tables:
            pq.write_table(_arrow_table(pa, {n: rows[n] for n in dtype.names or ()}), path)
        return paths


def _arrow_table(pa: Any, columns: dict[str, np.ndarray]) -> Any:
    """A pyarrow table of 1-D numpy columns (numbers, booleans, unicode strings), built from
    their buffers: ``pa.table``/``pa.array`` on numpy input first import pandas to check for
    pandas objects, about 0.2 s of a backtest process that otherwise never loads it."""
    arrays = []
    for x in columns.values():
        a = np.ascontiguousarray(x)
        n = a.shape[0]
        if a.dtype.kind == "b":
            bits = np.packbits(a, bitorder="little")
            arrays.append(pa.Array.from_buffers(pa.bool_(), n, [None, pa.py_buffer(bits)]))
        elif a.dtype.kind == "U":
            data = [v.encode("utf-8") for v in a.tolist()]
            offsets = np.zeros(n + 1, dtype=np.int32)
            np.cumsum([len(b) for b in data], out=offsets[1:])
            bufs = [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))]
            arrays.append(pa.Array.from_buffers(pa.string(), n, bufs))
        else:
            dtype = pa.from_numpy_dtype(a.dtype)
            arrays.append(pa.Array.from_buffers(dtype, n, [None, pa.py_buffer(a)]))
    return pa.Table.from_arrays(arrays, names=list(columns))


def build_result(
    *,
    instruments: tuple[Instrument, ...],
    samples: dict[str, np.ndarray],
    fills: list[tuple[object, ...]],
    account: Float64Array,
    funding: list[tuple[object, ...]] | None = None,
    orders: np.ndarray | None = None,
    orders_sent: int,
    cancels_sent: int,
    rejections: dict[str, int],
    risk_events: list[tuple[int, str]],
    out_of_window: int,
    end_ns: int,
    amends_sent: int = 0,
    amends: Sequence[Sequence[object]] = (),
) -> BacktestResult:
    """Assemble a :class:`BacktestResult` from the engine's records (internal).

    ``samples`` holds ``t_ns`` (n,) and, each of shape (n, n_instruments), ``mid``,
    ``position_known``, ``position``, ``cash``, ``value`` (of one contract at the exchange
    mid, or the last value marked when a side of the book is empty), ``bid`` and ``ask`` (our
    best resting orders), ``target_bid`` and ``target_ask`` (the strategy's last targets).
    """
    n_inst = len(instruments)
    t_ns = np.asarray(samples["t_ns"], dtype=np.int64)
    arrays: dict[str, Float64Array] = {}
    for name in (
        "mid",
        "position_known",
        "position",
        "cash",
        "value",
        "bid",
        "ask",
        "target_bid",
        "target_ask",
    ):
        if name.startswith("target_") and name not in samples:  # optional: no targets known
            arrays[name] = np.full((t_ns.size, n_inst), np.nan)
            continue
        a = np.asarray(samples[name], dtype=np.float64)
        if a.shape != (t_ns.size, n_inst):
            raise InvalidArgumentError(
                f"samples[{name!r}]", f"shape {a.shape}", f"shape ({t_ns.size}, {n_inst})"
            )
        arrays[name] = a
    pos, cash, value = arrays["position"], arrays["cash"], arrays["value"]
    equity = cash + np.where(pos != 0.0, pos * value, 0.0)
    pnl = tuple(
        PnL(
            total=float(account[i, _k.A_CASH] + _held_value(account, i)),
            spread=float(account[i, _k.A_SPREAD]),
            inventory=float(account[i, _k.A_INV]),
            fees=float(account[i, _k.A_FEES]),
            funding=float(account[i, _k.A_FUNDING]),
            volume=float(account[i, _k.A_VOLUME]),
            maker_qty=float(account[i, _k.A_MAKER_QTY]),
            taker_qty=float(account[i, _k.A_TAKER_QTY]),
            position=float(account[i, _k.A_POS]),
        )
        for i in range(len(instruments))
    )
    return BacktestResult(
        instruments=instruments,
        t_ns=t_ns,
        mid=arrays["mid"],
        position=pos,
        position_known=arrays["position_known"],
        equity=equity,
        bid=arrays["bid"],
        ask=arrays["ask"],
        target_bid=arrays["target_bid"],
        target_ask=arrays["target_ask"],
        fills=np.array(fills, dtype=FILL_DTYPE) if fills else np.empty(0, dtype=FILL_DTYPE),
        funding=(
            np.array(funding, dtype=FUNDING_DTYPE) if funding else np.empty(0, dtype=FUNDING_DTYPE)
        ),
        pnl=pnl,
        orders=orders if orders is not None else np.empty(0, dtype=ORDER_DTYPE),
        orders_sent=orders_sent,
        cancels_sent=cancels_sent,
        rejections=dict(rejections),
        risk_events=tuple(risk_events),
        out_of_window=out_of_window,
        end_ns=end_ns,
        amends_sent=amends_sent,
        amends=_amend_log(amends),
    )


def _amend_log(rows: Sequence[Sequence[object]]) -> np.ndarray:
    """The engine's amend log rows (the fields of :data:`AMEND_DTYPE`, in order)."""
    out = np.empty(len(rows), dtype=AMEND_DTYPE)
    for j, name in enumerate(AMEND_DTYPE.names or ()):
        out[name] = [r[j] for r in rows]
    return out


def _held_value(account: Float64Array, i: int) -> float:
    pos = account[i, _k.A_POS]
    if pos == 0.0:
        return 0.0
    return float(pos * account[i, _k.A_LAST_VALUE])


def _max_drawdown(x: Float64Array) -> float:
    if x.size == 0:
        return 0.0
    return float(np.max(np.maximum.accumulate(x) - x))


def _ratio(returns: Float64Array, periods_per_year: float, *, downside: bool) -> float:
    if returns.size < 2:
        return math.nan
    dev = np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2)) if downside else np.std(returns, ddof=1)
    if dev == 0.0:
        return math.nan
    return float(np.mean(returns) / dev * math.sqrt(periods_per_year))


def summary_metrics(
    result: BacktestResult,
    *,
    markouts_s: tuple[float, ...] = (1.0, 10.0, 60.0),
    bar_s: float = 60.0,
) -> dict[str, object]:
    """Per-instrument summary metrics of a backtest.

    Sharpe and Sortino use PnL changes over bars of ``bar_s`` seconds of the equity series
    (not returns on capital: a market maker's capital is a choice), annualised with
    ``365 * 86400 / bar_s`` periods per year (crypto trades every day); both are reported with
    that period count. Markouts: for each fill, ``side * (mid(t + h) - price)`` in price units
    (positive = the fill was good after h seconds), where ``t`` is the local time the fill was
    reported and ``mid(t + h)`` the local mid of the first sample at or after ``t + h``;
    averaged over the fills that have such a sample with a finite mid (NaN if none).
    ``fills_per_order`` counts fill records (a partial fill is one record) per order sent;
    ``filled_order_ratio`` is the share of orders sent with at least one fill. Instruments are
    keyed by name (``name@venue`` when two share a name).
    """
    if not (math.isfinite(bar_s) and bar_s > 0.0):
        raise InvalidArgumentError("bar_s", bar_s, "a finite number of seconds > 0")
    out: dict[str, object] = {
        "orders_sent": result.orders_sent,
        "cancels_sent": result.cancels_sent,
        "amends_sent": result.amends_sent,
        "rejections": dict(result.rejections),
        "n_fills": int(result.fills.size),
        "fills_per_order": result.fills.size / result.orders_sent
        if result.orders_sent
        else math.nan,
        "filled_order_ratio": (
            np.unique(result.fills["order_id"]).size / result.orders_sent
            if result.orders_sent
            else math.nan
        ),
        "periods_per_year": SECONDS_PER_YEAR / bar_s,
        "out_of_window_rows": result.out_of_window,
    }
    t = result.t_ns
    bar_ns = round(bar_s * 1e9)
    names = [inst.name for inst in result.instruments]
    per: dict[str, object] = {}
    for i, inst in enumerate(result.instruments):
        p = result.pnl[i]
        pos = result.position[:, i]
        eq = result.equity[:, i]
        dt = np.diff(t).astype(np.float64)
        tw_abs = float(np.sum(np.abs(pos[:-1]) * dt) / np.sum(dt)) if dt.size and dt.sum() else 0.0
        bars = np.searchsorted(t, np.arange(t[0], t[-1] + 1, bar_ns)) if t.size else t
        eq_bars = eq[np.clip(bars, 0, max(t.size - 1, 0))] if t.size else eq
        rets = np.diff(eq_bars)
        f = result.fills[result.fills["instrument"] == i]
        marks: dict[str, float] = {}
        mid = result.mid[:, i]
        for h in markouts_s:
            at = f["local_ns"] + round(h * 1e9)
            idx = np.searchsorted(t, at)
            ok = idx < t.size
            val = f["side"][ok] * (mid[idx[ok]] - f["price"][ok])
            val = val[np.isfinite(val)]
            marks[f"{h:g}s"] = float(np.mean(val)) if val.size else math.nan
        both = np.isfinite(result.bid[:, i]) & np.isfinite(result.ask[:, i])
        spread = result.ask[:, i] - result.bid[:, i]
        key = inst.name if names.count(inst.name) == 1 else f"{inst.name}@{inst.venue}#{i}"
        per[key] = {
            "pnl": p.total,
            "pnl_spread": p.spread,
            "pnl_inventory": p.inventory,
            "fees": p.fees,
            "funding": p.funding,
            "volume": p.volume,
            "turnover_qty": p.maker_qty + p.taker_qty,
            "maker_qty": p.maker_qty,
            "taker_qty": p.taker_qty,
            "final_position": p.position,
            "mean_abs_inventory": tw_abs,
            "max_abs_inventory": float(np.max(np.abs(pos))) if pos.size else 0.0,
            "max_drawdown": _max_drawdown(eq),
            "sharpe": _ratio(rets, SECONDS_PER_YEAR / bar_s, downside=False),
            "sortino": _ratio(rets, SECONDS_PER_YEAR / bar_s, downside=True),
            "n_fills": int(f.size),
            "markouts": marks,
            "quote_uptime": float(np.mean(both)) if both.size else 0.0,
            "mean_quoted_spread": float(np.mean(spread[both])) if both.any() else math.nan,
            "settlement": inst.settle,
        }
    out["instruments"] = per
    return out
