"""Exchange-simulation models of the backtester: latency, queue position, fees, fill mode.

Each model is a small frozen object that the engine turns into kernel parameters; swapping a
model is passing another object (see :func:`invrisk.backtest.run_backtest`).

Latency
    :class:`ConstantLatency` or :class:`SeriesLatency` (a measured series, interpolated
    linearly at the time of use, flat beyond its ends). The *entry* latency is the time from
    our decision (local clock) to the order or cancel reaching the exchange; the *response*
    latency the time from the exchange acting (ack, fill, cancel) to us learning it. Both
    clocks are treated as one (the data's exchange and local stamps are on the same scale).
Queue position
    :class:`RiskAverseQueue`: we advance only when trades print at our price, or when the level
    shrinks below the quantity ahead of us (cancels are assumed to be behind us).
    :class:`ProbQueue`: a decrease of the level not explained by trades is split between ahead
    and behind us, the share behind being ``f(back) / (f(back) + f(front))`` with
    ``f(x) = x**power`` or ``f(x) = log(1 + x)`` (Rigtorp's estimator, quant.stackexchange.com
    question 3782; hftbacktest's ``PowerProbQueueModel`` / ``LogProbQueueModel``).
Fees
    :class:`Fees`: maker and taker rates as fractions of traded notional (0.0002 = 2 bps);
    negative is a rebate. Notional is ``qty * contract_size * price`` (linear, quote currency)
    or ``qty * contract_size / price`` (inverse, coin).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from invrisk._typing import ArrayLike, Int64Array
from invrisk.backtest import _sim_kernels_python as _k
from invrisk.errors import InvalidArgumentError

__all__ = [
    "ConstantLatency",
    "Fees",
    "LatencyModel",
    "ProbQueue",
    "QueueModel",
    "RiskAverseQueue",
    "SeriesLatency",
]


def _ns(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidArgumentError(name, value, "an integer number of ns >= 0")
    v = int(value)
    if v < 0:
        raise InvalidArgumentError(name, value, "an integer number of ns >= 0")
    return v


@dataclass(frozen=True, slots=True)
class ConstantLatency:
    """Fixed entry and response latencies (int ns >= 0)."""

    entry_ns: int
    response_ns: int

    def __post_init__(self) -> None:
        _ns("entry_ns", self.entry_ns)
        _ns("response_ns", self.response_ns)

    def arrays(self) -> tuple[Int64Array, Int64Array, Int64Array]:
        """``(t_ns, entry_ns, response_ns)`` series of length 1."""
        t = np.zeros(1, dtype=np.int64)
        return t, np.array([self.entry_ns], np.int64), np.array([self.response_ns], np.int64)


@dataclass(frozen=True, slots=True, eq=False)
class SeriesLatency:
    """Latencies measured at times ``t_ns`` (strictly increasing), interpolated linearly."""

    t_ns: Int64Array
    entry_ns: Int64Array
    response_ns: Int64Array

    def __init__(self, *, t_ns: ArrayLike, entry_ns: ArrayLike, response_ns: ArrayLike) -> None:
        t = np.asarray(t_ns, dtype=np.int64)
        if t.ndim != 1 or t.size == 0 or bool(np.any(np.diff(t) <= 0)):
            raise InvalidArgumentError("t_ns", f"shape {t.shape}", "a strictly increasing series")
        for name, arr in (("entry_ns", entry_ns), ("response_ns", response_ns)):
            a = np.asarray(arr)
            if a.shape != t.shape or not np.issubdtype(a.dtype, np.integer) or bool(np.any(a < 0)):
                raise InvalidArgumentError(
                    name, f"shape {a.shape}, dtype {a.dtype}", f"int ns >= 0, shape {t.shape}"
                )
            object.__setattr__(self, name, a.astype(np.int64))
        object.__setattr__(self, "t_ns", t)

    def arrays(self) -> tuple[Int64Array, Int64Array, Int64Array]:
        return self.t_ns, self.entry_ns, self.response_ns


LatencyModel = ConstantLatency | SeriesLatency


@dataclass(frozen=True, slots=True)
class RiskAverseQueue:
    """Queue position advances only on trades at our price or when the level shrinks past it."""

    def code(self) -> tuple[int, float]:
        return _k.QM_RISK_AVERSE, 1.0


@dataclass(frozen=True, slots=True)
class ProbQueue:
    """Probabilistic queue position: ``f(x) = x**power`` or ``log(1 + x)`` (see module)."""

    function: Literal["power", "log"] = "power"
    power: float = 2.0

    def __post_init__(self) -> None:
        if self.function not in ("power", "log"):
            raise InvalidArgumentError("function", self.function, "'power' or 'log'")
        if not (math.isfinite(self.power) and self.power > 0.0):
            raise InvalidArgumentError("power", self.power, "a finite number > 0")

    def code(self) -> tuple[int, float]:
        if self.function == "log":
            return _k.QM_PROB_LOG, 1.0
        return _k.QM_PROB_POWER, self.power


QueueModel = RiskAverseQueue | ProbQueue


@dataclass(frozen=True, slots=True)
class Fees:
    """Maker and taker fee rates, fractions of notional (negative = rebate)."""

    maker: float = 0.0
    taker: float = 0.0

    def __post_init__(self) -> None:
        for name in ("maker", "taker"):
            v = getattr(self, name)
            if not (math.isfinite(v) and -0.01 <= v <= 0.01):
                raise InvalidArgumentError(name, v, "a fee rate in [-0.01, 0.01] (fraction)")
