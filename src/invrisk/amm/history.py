"""Hourly (or any regular) history of a Uniswap v3 pool: prices, in-range liquidity, fee growth.

:class:`PoolHistory` is the container the LP backtest (:mod:`invrisk.hedging.lp_backtest`)
reads. It holds arrays in the library's units, already converted from the pool's raw fields:
prices in quote per risky (human units), liquidity in human units
(:func:`~invrisk.amm.pool.liquidity_from_raw`), fee growth as the raw Q128 counters (floats,
differenced with :func:`~invrisk.amm.pool.fee_growth_delta_x128`). Readers of vendor files
live in the data layer (:func:`invrisk.data.read_uniswap_pool_hours`).

Row ``i`` describes the period that starts at ``time_ns[i]``: ``high[i]``/``low[i]`` the
extreme prices in it, ``close[i]`` the last price, ``liquidity[i]`` the in-range liquidity at
its end, ``fee_growth{0,1}_x128[i]`` the global fee-growth counters at its end (the subgraph's
``poolHourData`` convention).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from invrisk._typing import Float64Array, Int64Array
from invrisk.amm.pool import PoolSpec
from invrisk.errors import InvalidArgumentError

__all__ = ["PoolHistory"]

_COLUMNS = ("close", "high", "low", "liquidity", "fee_growth0_x128", "fee_growth1_x128")


@dataclass(frozen=True, slots=True, eq=False)
class PoolHistory:
    """A pool's state per period (arrays of equal length n >= 2, ascending time).

    Attributes
    ----------
    pool
        The pool's :class:`~invrisk.amm.pool.PoolSpec` (token order, decimals, fee tier).
    time_ns
        Start of each period, int64 ns UTC, strictly increasing.
    close, high, low
        Last, highest and lowest price in the period, quote per risky (> 0, low <= close <=
        high).
    liquidity
        In-range liquidity at the end of the period, human units (>= 0).
    fee_growth0_x128, fee_growth1_x128
        feeGrowthGlobal{0,1}X128 at the end of the period (raw Q128 counters as floats,
        non-decreasing).
    source
        Where the data came from (a path; documentation only).
    """

    pool: PoolSpec
    time_ns: Int64Array
    close: Float64Array
    high: Float64Array
    low: Float64Array
    liquidity: Float64Array
    fee_growth0_x128: Float64Array
    fee_growth1_x128: Float64Array
    source: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.pool, PoolSpec):
            raise InvalidArgumentError("pool", self.pool, "a PoolSpec")
        t = np.asarray(self.time_ns)
        if t.ndim != 1 or t.dtype.kind not in "iu" or t.size < 2:
            raise InvalidArgumentError("time_ns", f"shape {t.shape}", "int64 ns, n >= 2 rows")
        step = np.diff(t)
        if np.any(step <= 0):
            i = int(np.flatnonzero(step <= 0)[0]) + 1
            raise InvalidArgumentError("time_ns", f"row {i}", "strictly increasing times")
        object.__setattr__(self, "time_ns", _ro(t.astype(np.int64)))
        for name in _COLUMNS:
            a = np.asarray(getattr(self, name), dtype=np.float64)
            if a.shape != t.shape:
                raise InvalidArgumentError(name, f"shape {a.shape}", f"shape {t.shape}")
            bad = ~np.isfinite(a) | (a < 0.0 if name != "close" else a <= 0.0)
            if name in ("high", "low"):
                bad |= a <= 0.0
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InvalidArgumentError(name, f"{a[i]!r} (row {i})", "finite values (> 0)")
            object.__setattr__(self, name, _ro(a))
        wrong = (self.low > self.close * (1 + 1e-12)) | (self.close > self.high * (1 + 1e-12))
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            raise InvalidArgumentError(
                "high/low/close",
                f"{(self.high[i], self.low[i], self.close[i])} (row {i})",
                "low <= close <= high",
            )
        for name in ("fee_growth0_x128", "fee_growth1_x128"):
            d = np.diff(getattr(self, name))
            if np.any(d < 0):
                i = int(np.flatnonzero(d < 0)[0]) + 1
                raise InvalidArgumentError(name, f"row {i}", "a non-decreasing fee-growth counter")

    def __len__(self) -> int:
        return int(self.time_ns.shape[0])

    @property
    def period_ns(self) -> Int64Array:
        """Length of each period from the previous row (ns; element 0 is the first step)."""
        d = np.diff(self.time_ns)
        return np.asarray(np.concatenate([d[:1], d]))

    def select(self, start: int, stop: int | None = None) -> PoolHistory:
        """Rows ``start:stop`` (at least two)."""
        sl = slice(start, stop)
        return PoolHistory(
            pool=self.pool,
            time_ns=self.time_ns[sl],
            close=self.close[sl],
            high=self.high[sl],
            low=self.low[sl],
            liquidity=self.liquidity[sl],
            fee_growth0_x128=self.fee_growth0_x128[sl],
            fee_growth1_x128=self.fee_growth1_x128[sl],
            source=self.source,
        )


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.array(a)
    a.setflags(write=False)
    return a
