"""Backtest configuration: pydantic models loaded from TOML, and the run they describe (layer 6).

A backtest file has one table per concern; every field has a unit in its name or description,
unknown fields are errors, and an error names the file and the field::

    [data]
    source = "synthetic"        # "synthetic" (built-in generator) or "binance" (recorder file)
    events = 2_000_000          # synthetic: events to generate
    seed = 0
    settlement = "linear"       # synthetic: "linear" (USDT) or "inverse" (coin) perpetual
    # start_s = 60.0            # optional time slice: skip the first 60 s (local clock) ...
    # duration_s = 120.0        # ... and keep 120 s; the slice starts from the book's state

    [exchange]
    entry_latency_ms = 10.0     # decision -> exchange
    response_latency_ms = 10.0  # exchange -> us
    queue = "risk_averse"       # "risk_averse", "prob_power", "prob_log"
    queue_power = 2.0           # prob_power only
    partial_fills = true
    maker_fee = -0.0001         # fraction of notional, negative = rebate
    taker_fee = 0.0005
    funding_interval_h = 8.0    # 0 disables funding

    [run]
    decision_interval_ms = 100.0
    # decision_phase_ms = 50.0  # decide at clock times = 50 ms (mod the interval)
    decide_on_fill = false
    price_tolerance_ticks = 0
    amend_orders = false        # true: move resting quotes with amends, not cancel + new

    [risk]                      # optional: the pre-trade RiskGuard
    max_position = 1.0          # contracts
    max_order_qty = 0.1
    max_order_notional = 1e6    # settlement currency
    price_band = 0.01           # fraction of the mid
    max_orders_per_s = 50
    trailing_drawdown = 500.0   # settlement currency: HALT

    [[limit]]                   # optional, with [risk]: portfolio (Greeks) limits, refused
    name = "btc delta"          # before an order that would breach them if it filled
    metric = "delta_coin"       # delta_coin, delta_premium_adjusted_coin, delta_usd,
    underlying = "BTC"          # gross_notional_usd (invrisk.risk.delta_limits)
    max_abs = 0.5

    [strategy]                  # see invrisk.strategies.config
    type = "glft"

    [output]
    parquet_dir = "out/run1"    # optional
    report = "out/run1.html"    # optional

Relative paths in ``[data]`` and ``[output]`` are relative to the TOML file's directory;
``$VARIABLES`` in ``data.path`` are expanded (e.g. ``$INVRISK_SHARED_DATA/...``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from invrisk._checks import read_toml
from invrisk.backtest import (
    BacktestResult,
    ConstantLatency,
    Fees,
    ProbQueue,
    QueueModel,
    RiskAverseQueue,
    run_backtest,
)
from invrisk.data.events import EventArray
from invrisk.errors import InvalidArgumentError
from invrisk.instruments import Instrument, parse_ccxt
from invrisk.risk.delta_limits import DELTA_ONE_METRICS, DeltaOneLimits
from invrisk.risk.limit_set import Limit, LimitSet
from invrisk.risk.limits import GuardLimits, InstrumentLimits, RiskGuard

__all__ = [
    "BacktestConfig",
    "DataConfig",
    "ExchangeConfig",
    "OutputConfig",
    "RiskConfig",
    "RunConfig",
    "load_backtest_config",
    "load_events",
    "run_from_config",
    "time_slice",
]

NS_PER_MS = 1_000_000
NS_PER_HOUR = 3_600_000_000_000


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Model):
    """Where the events come from."""

    source: Literal["synthetic", "binance"] = "synthetic"
    path: Path | None = Field(None, description="binance: the recorder file (.gz)")
    events: int = Field(1_000_000, gt=0, description="synthetic: number of events")
    seed: int = Field(0, ge=0, description="synthetic: generator seed")
    settlement: Literal["linear", "inverse"] = "linear"
    symbol: str | None = Field(None, description="binance: symbol to read (default: the file's)")
    ccxt_symbol: str | None = Field(
        None, description="binance: instrument as a ccxt symbol (default BASE/USDT:USDT)"
    )
    lot_size: float = Field(0.001, gt=0, description="binance: quantity step, contracts")
    max_ticks: int = Field(200_000, gt=0, description="book window limit, ticks")
    start_s: float = Field(
        0.0, ge=0, description="skip the first start_s seconds of the stream (local clock)"
    )
    duration_s: float | None = Field(
        None, gt=0, description="keep this many seconds from start_s (None: to the end)"
    )


class ExchangeConfig(_Model):
    """Exchange-simulation models."""

    entry_latency_ms: float = Field(10.0, ge=0)
    response_latency_ms: float = Field(10.0, ge=0)
    queue: Literal["risk_averse", "prob_power", "prob_log"] = "risk_averse"
    queue_power: float = Field(2.0, gt=0)
    partial_fills: bool = True
    maker_fee: float = Field(0.0, ge=-0.01, le=0.01, description="fraction of notional")
    taker_fee: float = Field(0.0, ge=-0.01, le=0.01, description="fraction of notional")
    funding_interval_h: float = Field(8.0, ge=0)


class RunConfig(_Model):
    """The decision loop."""

    decision_interval_ms: float = Field(100.0, gt=0)
    decision_phase_ms: float | None = Field(
        None, ge=0, description="decide at clock times = phase (mod interval); None: from start"
    )
    decide_on_fill: bool = False
    price_tolerance_ticks: int = Field(0, ge=0)
    qty_tolerance: float = Field(
        0.0, ge=0, lt=1, description="keep a resting order whose leaves are within this fraction"
    )
    amend_orders: bool = Field(
        False,
        description=(
            "move a resting quote to its new level with one amend (same order id; a size "
            "decrease at the same price keeps its queue position) instead of cancel + new"
        ),
    )
    seed: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _phase_within_interval(self) -> RunConfig:
        phase = self.decision_phase_ms
        if phase is not None and phase >= self.decision_interval_ms:
            raise ValueError(
                f"decision_phase_ms={phase} must be below decision_interval_ms="
                f"{self.decision_interval_ms}"
            )
        return self


class RiskConfig(_Model):
    """Pre-trade limits (one set for the traded instrument) and account triggers."""

    max_position: float = Field(gt=0, description="contracts")
    max_order_qty: float = Field(gt=0, description="contracts")
    max_order_notional: float = Field(math.inf, gt=0, description="settlement currency")
    price_band: float = Field(math.inf, gt=0, description="fraction of the mid")
    max_orders_per_s: float = Field(math.inf, gt=0)
    trailing_drawdown: float = Field(math.inf, gt=0, description="settlement currency")
    reduce_drawdown: float = Field(math.inf, gt=0, description="settlement currency")
    daily_loss: float = Field(math.inf, gt=0, description="settlement currency")


class OutputConfig(_Model):
    """What to write after the run."""

    parquet_dir: Path | None = None
    report: Path | None = None


class BacktestConfig(_Model):
    """A whole backtest (see the module docstring)."""

    data: DataConfig = DataConfig()
    exchange: ExchangeConfig = ExchangeConfig()
    run: RunConfig = RunConfig()
    risk: RiskConfig | None = None
    limit: list[Limit] = Field(
        default_factory=list, description="[[limit]] tables: the RiskGuard's portfolio limits"
    )
    strategy: dict[str, Any] = Field(description="the [strategy] table (invrisk.strategies)")

    @model_validator(mode="after")
    def _limits_need_a_guard(self) -> BacktestConfig:
        if self.limit and self.risk is None:
            raise ValueError("[[limit]] tables need a [risk] table (the RiskGuard checks them)")
        names = [lim.name for lim in self.limit]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"[[limit]] names must be distinct: {dupes}")
        for lim in self.limit:
            if lim.metric not in DELTA_ONE_METRICS:
                raise ValueError(
                    f"[[limit]] {lim.name!r}: metric {lim.metric!r} is not one a traded "
                    f"(delta-one) book gives: use one of {DELTA_ONE_METRICS}"
                )
        return self

    output: OutputConfig = OutputConfig()


def _field_path(err: Mapping[str, Any]) -> str:
    return ".".join(str(p) for p in err.get("loc", ()))


def load_backtest_config(path: str | Path) -> BacktestConfig:
    """Read and validate a backtest TOML file; relative paths resolved against its folder."""
    p = Path(path)
    raw = read_toml(p, "config")
    try:
        cfg = BacktestConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where, value = _field_path(first), first.get("input")
        if isinstance(value, dict):  # a check across a table's fields: name the table only
            value = f"[{where}]" if where else "the file's tables"
        raise InvalidArgumentError(
            f"{p}: {where or 'config'}", value, first.get("msg", "a valid value")
        ) from exc
    base = p.parent
    data = cfg.data
    if data.path is not None:
        expanded = Path(os.path.expandvars(str(data.path)))
        if "$" in str(expanded):
            raise InvalidArgumentError(
                f"{p}: data.path", str(data.path), "a path whose $VARIABLES are set"
            )
        data = data.model_copy(
            update={"path": expanded if expanded.is_absolute() else base / expanded}
        )
    out = cfg.output
    upd = {
        k: base / v
        for k, v in (("parquet_dir", out.parquet_dir), ("report", out.report))
        if v is not None and not v.is_absolute()
    }
    return cfg.model_copy(update={"data": data, "output": out.model_copy(update=upd)})


def load_events(data: DataConfig) -> tuple[EventArray, Instrument]:
    """The events and the instrument a ``[data]`` table describes (the time slice
    ``start_s``/``duration_s`` applied, see :func:`time_slice`)."""
    events, inst = _load_stream(data)
    if data.start_s == 0.0 and data.duration_s is None:
        return events, inst
    sliced = time_slice(
        events,
        start_s=data.start_s,
        duration_s=data.duration_s,
        tick_size=inst.tick_size,
        max_ticks=data.max_ticks,
    )
    return sliced, inst


def time_slice(
    events: EventArray,
    *,
    start_s: float,
    duration_s: float | None,
    tick_size: float,
    max_ticks: int,
) -> EventArray:
    """The rows of ``events`` with ``local_ns`` in ``[t0 + start_s, t0 + start_s + duration_s)``
    (``t0`` the first row's ``local_ns``; seconds), led by the book as it stood at the start.

    A slice that does not begin at the first row starts with a CLEAR of both sides and a
    SNAPSHOT of every level of the book rebuilt from the rows before it, stamped with the
    first kept row's times: a backtest on the slice starts from the market's state at that
    instant, built only from earlier data. Mark, index and funding rows before the slice are
    not carried over.

    Raises
    ------
    InvalidArgumentError
        Naming ``data.start_s`` / ``data.duration_s`` when the slice holds no row.
    """
    from invrisk.data.events import EventKind
    from invrisk.market.book import L2Book

    t = events["local_ns"]
    lo = int(t[0]) + round(start_s * 1e9)
    i0 = int(np.searchsorted(t, lo, side="left"))
    i1 = t.size if duration_s is None else int(np.searchsorted(t, lo + round(duration_s * 1e9)))
    if i1 <= i0:
        span_s = (int(t[-1]) - int(t[0])) / 1e9
        raise InvalidArgumentError(
            "data.start_s/duration_s",
            f"{start_s}/{duration_s}",
            f"a time slice holding events (the stream spans {span_s:.3f} s)",
        )
    if i0 == 0:
        return events[:i1]
    before = events[:i0]
    book = L2Book.for_events(before, tick_size=tick_size, max_ticks=max_ticks)
    book.apply(before)
    sides = [
        (side, *book.levels(side, max(n, 1)))
        for side, n in ((1, book.n_bid_levels), (-1, book.n_ask_levels))
    ]
    n_rows = 1 + sum(p.size for _, p, _ in sides)
    head = np.zeros(n_rows, dtype=events.dtype)
    head["exch_ns"] = events["exch_ns"][i0]
    head["local_ns"] = t[i0]
    head["update_id"] = head["first_id"] = head["prev_id"] = -1
    head["instrument"] = events["instrument"][i0]
    head["kind"][0] = EventKind.CLEAR
    row = 1
    for side, price, qty in sides:
        n = price.size
        head["kind"][row : row + n] = EventKind.SNAPSHOT
        head["side"][row : row + n] = side
        head["price"][row : row + n] = price
        head["qty"][row : row + n] = qty
        row += n
    return np.concatenate([head, events[i0:i1]])


def _load_stream(data: DataConfig) -> tuple[EventArray, Instrument]:
    if data.source == "synthetic":
        from invrisk.data import synthetic_market as sm

        if data.settlement == "linear":
            market = sm.benchmark_stream(data.events, seed=data.seed)
        else:  # the benchmark's market on an inverse (100 USD) perpetual
            market = sm.synthetic_market(
                duration_ns=math.ceil(data.events / 800) * 1_000_000_000,
                instrument=sm.synthetic_perpetual("inverse"),
                price=sm.PriceProcess(kind="geometric", initial_price=60_000.0, vol=0.5),
                book=sm.BookSpec(n_levels=50),
                max_events=data.events,
                seed=data.seed,
            )
        return market.events, market.instrument
    if data.path is None:
        raise InvalidArgumentError("data.path", None, "a Binance recorder file for source=binance")
    from invrisk.data.binance import read_binance_stream

    stream = read_binance_stream(data.path, symbol=data.symbol)
    ccxt = data.ccxt_symbol or f"{stream.symbol.removesuffix('USDT')}/USDT:USDT"
    inst = parse_ccxt(
        ccxt,
        tick_size=stream.tick_size,
        lot_size=data.lot_size,
        min_size=data.lot_size,
        venue="binance",
    )
    return stream.events, inst


def _queue(ex: ExchangeConfig) -> QueueModel:
    if ex.queue == "risk_averse":
        return RiskAverseQueue()
    return ProbQueue("log") if ex.queue == "prob_log" else ProbQueue("power", ex.queue_power)


def _guard(
    risk: RiskConfig | None, inst: Instrument, portfolio_limits: list[Limit] | None = None
) -> RiskGuard | None:
    if risk is None:
        return None
    portfolio = None
    if portfolio_limits:
        portfolio = LimitSet(portfolio_limits)
        DeltaOneLimits(portfolio, instruments=[inst])  # a metric it cannot follow: named now
    limits = InstrumentLimits(
        max_position=risk.max_position,
        max_order_qty=risk.max_order_qty,
        max_order_notional=risk.max_order_notional,
        price_band=risk.price_band,
        contract_size=inst.contract_size,
        inverse=inst.is_inverse,
    )
    guard = GuardLimits(
        max_orders_per_s=risk.max_orders_per_s,
        trailing_drawdown=risk.trailing_drawdown,
        reduce_drawdown=min(risk.reduce_drawdown, risk.trailing_drawdown),
        daily_loss=risk.daily_loss,
    )
    return RiskGuard(limits={0: limits}, guard=guard, portfolio_limits=portfolio)


def live_runtime_from_config(
    cfg: BacktestConfig,
    *,
    gateway: Any,
    instrument: Instrument,
    journal: Any = None,
    stale_after_s: float = 5.0,
    auto_resume_after_s: float | None = None,
    auto_resume: Mapping[str, float] | None = None,
    max_clock_skew_s: float | None = 1.0,
    snapshot_interval_s: float | None = 60.0,
    venue: str | None = None,
) -> Any:
    """The live :class:`~invrisk.live.Runtime` a config describes on a venue ``gateway``
    (``venue``: its name, the scope of ``[[limit]]`` tables that name a venue): the
    same strategy and RiskGuard as the backtest and the paper run. Live trading needs the
    config's ``[risk]`` limits: without them this raises
    :class:`~invrisk.errors.InvalidArgumentError` naming ``risk``. The clock-skew halt is on
    (1 s) unless ``max_clock_skew_s`` is None."""
    if cfg.risk is None:
        raise InvalidArgumentError(
            "risk",
            None,
            "a [risk] table with the limits (max_position, max_order_qty, ...) for live trading",
        )
    return _runtime(
        cfg,
        gateway=gateway,
        instrument=instrument,
        journal=journal,
        stale_after_s=stale_after_s,
        auto_resume_after_s=auto_resume_after_s,
        auto_resume=auto_resume,
        max_clock_skew_s=max_clock_skew_s,
        snapshot_interval_s=snapshot_interval_s,
        venue=venue,
    )


def _runtime(
    cfg: BacktestConfig,
    *,
    gateway: Any,
    instrument: Instrument,
    journal: Any,
    stale_after_s: float,
    auto_resume_after_s: float | None,
    auto_resume: Mapping[str, float] | None,
    max_clock_skew_s: float | None,
    snapshot_interval_s: float | None,
    venue: str | None = None,
) -> Any:
    """The :class:`~invrisk.live.Runtime` of a config on ``gateway`` (paper or live): every
    config field the runtime takes is passed here, once for both."""
    from invrisk.live import Runtime
    from invrisk.strategies.config import build_strategy

    return Runtime(
        strategy=build_strategy(cfg.strategy),
        instruments=[instrument],
        gateway=gateway,
        guard=_guard(cfg.risk, instrument, cfg.limit),
        journal=journal,
        decision_interval_ns=round(cfg.run.decision_interval_ms * NS_PER_MS),
        stale_after_s=stale_after_s,
        auto_resume_after_s=auto_resume_after_s,
        auto_resume=auto_resume,
        max_clock_skew_s=max_clock_skew_s,
        snapshot_interval_s=snapshot_interval_s,
        amend_orders=cfg.run.amend_orders,
        price_tolerance_ticks=cfg.run.price_tolerance_ticks,
        qty_tolerance=cfg.run.qty_tolerance,
        venue=venue,
    )


def run_from_config(
    cfg: BacktestConfig,
    *,
    events: EventArray | None = None,
    instrument: Instrument | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Run the backtest ``cfg`` describes (``events``/``instrument`` override ``[data]``)."""
    from invrisk.strategies.config import build_strategy

    if events is None or instrument is None:
        events, instrument = load_events(cfg.data)
    ex = cfg.exchange
    return run_backtest(
        events=events,
        instruments=[instrument],
        strategy=build_strategy(cfg.strategy),
        fees=Fees(maker=ex.maker_fee, taker=ex.taker_fee),
        latency=ConstantLatency(
            entry_ns=round(ex.entry_latency_ms * NS_PER_MS),
            response_ns=round(ex.response_latency_ms * NS_PER_MS),
        ),
        queue=_queue(ex),
        partial_fills=ex.partial_fills,
        decision_interval_ns=round(cfg.run.decision_interval_ms * NS_PER_MS),
        decision_phase_ns=(
            None
            if cfg.run.decision_phase_ms is None
            else round(cfg.run.decision_phase_ms * NS_PER_MS)
        ),
        decide_on_fill=cfg.run.decide_on_fill,
        funding_interval_ns=round(ex.funding_interval_h * NS_PER_HOUR),
        guard=_guard(cfg.risk, instrument, cfg.limit),
        price_tolerance_ticks=cfg.run.price_tolerance_ticks,
        qty_tolerance=cfg.run.qty_tolerance,
        amend_orders=cfg.run.amend_orders,
        seed=cfg.run.seed,
        max_ticks=cfg.data.max_ticks,
        progress=progress,
    )


def paper_runtime_from_config(
    cfg: BacktestConfig,
    *,
    events: EventArray,
    instrument: Instrument,
    speed: float,
    journal: Any = None,
    stale_after_s: float = 5.0,
    auto_resume_after_s: float | None = None,
    auto_resume: Mapping[str, float] | None = None,
    max_clock_skew_s: float | None = None,
    snapshot_interval_s: float | None = 60.0,
) -> Any:
    """The paper :class:`~invrisk.live.Runtime` a backtest config describes: the same
    strategy, exchange models and RiskGuard, on a :class:`~invrisk.live.PaperGateway` that
    replays ``events`` at ``speed`` (1.0 real time; 0 as fast as possible).

    The clock-skew check is off by default here: a replay's receive times are the
    recording's, not this machine's clock (the Binance sample recording's are about 1.27 s
    behind the venue's timestamps)."""
    from invrisk.live import PaperGateway

    ex = cfg.exchange
    gateway = PaperGateway(
        events=events,
        instruments=[instrument],
        fees=Fees(maker=ex.maker_fee, taker=ex.taker_fee),
        latency=ConstantLatency(
            entry_ns=round(ex.entry_latency_ms * NS_PER_MS),
            response_ns=round(ex.response_latency_ms * NS_PER_MS),
        ),
        queue=_queue(ex),
        partial_fills=ex.partial_fills,
        speed=speed,
    )
    return _runtime(
        cfg,
        gateway=gateway,
        instrument=instrument,
        journal=journal,
        stale_after_s=stale_after_s,
        auto_resume_after_s=auto_resume_after_s,
        auto_resume=auto_resume,
        max_clock_skew_s=max_clock_skew_s,
        snapshot_interval_s=snapshot_interval_s,
    )
