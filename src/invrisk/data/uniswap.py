"""Uniswap v3 pool history from The Graph's ``poolHourDatas`` (CSV export).

:func:`read_uniswap_pool_hours` reads the subgraph's hourly pool table as exported to CSV
(columns ``periodStartUnix``, ``liquidity``, ``high``, ``low``, ``close``,
``feeGrowthGlobal0X128``, ``feeGrowthGlobal1X128``; optional ``pool.token0.decimals`` and
``pool.token1.decimals``, checked against the pool spec) into a
:class:`~invrisk.amm.history.PoolHistory`. Rows may come in any order (the subgraph query of
the shared file is newest first); they are sorted by time. A missing column, a non-numeric
cell, a duplicate or missing hour, or decimals that contradict the pool spec raise a
:class:`~invrisk.errors.DataError` naming the file, the row and the column.

The subgraph's ``close``/``high``/``low`` of the USDC/WETH pools are already in USDC per ETH
(its ``token0Price``), i.e. the library's quote-per-risky orientation; ``liquidity`` is raw and
is converted to human units.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from invrisk.amm.history import PoolHistory
from invrisk.amm.pool import USDC_WETH_005, PoolSpec, liquidity_from_raw
from invrisk.errors import DataError, InvalidArgumentError
from invrisk.units import NS_PER_SECOND

__all__ = ["POOL_HOUR_COLUMNS", "read_uniswap_pool_hours"]

POOL_HOUR_COLUMNS = (
    "periodStartUnix",
    "liquidity",
    "high",
    "low",
    "close",
    "feeGrowthGlobal0X128",
    "feeGrowthGlobal1X128",
)
"""The columns :func:`read_uniswap_pool_hours` needs."""

_HOUR_S = 3600


def _csv_in(path: Path) -> Path:
    if path.is_dir():
        found = sorted(path.glob("*.csv"))
        if len(found) != 1:
            raise DataError(
                f"expected one .csv file in the directory, found {len(found)}", path=str(path)
            )
        return found[0]
    return path


def read_uniswap_pool_hours(
    path: str | Path, *, pool: PoolSpec = USDC_WETH_005, check_hourly: bool = True
) -> PoolHistory:
    """Read a ``poolHourDatas`` CSV (or a directory holding exactly one CSV).

    Parameters
    ----------
    path
        The CSV file, or its directory.
    pool
        The pool's spec (default: the USDC/WETH 0.05% pool of the shared data).
    check_hourly
        Require consecutive rows to be exactly one hour apart (a gap is an error naming the
        row); ``False`` accepts any increasing times.
    """
    if not isinstance(pool, PoolSpec):
        raise InvalidArgumentError("pool", pool, "a PoolSpec")
    p = _csv_in(Path(path))
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            rows = list(reader)
    except OSError as exc:
        raise DataError(f"cannot read pool history: {exc}", path=str(p)) from exc
    missing = [c for c in POOL_HOUR_COLUMNS if c not in header]
    if missing:
        raise DataError(
            f"missing column(s) {missing}; a poolHourDatas CSV has {list(POOL_HOUR_COLUMNS)}",
            path=str(p),
        )
    if len(rows) < 2:
        raise DataError(f"{len(rows)} data row(s): need at least 2", path=str(p))
    values = np.empty((len(rows), len(POOL_HOUR_COLUMNS)))
    for i, row in enumerate(rows, start=1):
        for j, col in enumerate(POOL_HOUR_COLUMNS):
            text = row.get(col)
            try:
                v = float(text) if text is not None else math.nan
            except ValueError:
                v = math.nan
            if not math.isfinite(v):
                raise DataError(f"{col}={text!r} is not a finite number", path=str(p), row=i)
            values[i - 1, j] = v
        for side, decimals in (("0", pool.decimals0), ("1", pool.decimals1)):
            text = row.get(f"pool.token{side}.decimals")
            if text not in (None, "") and float(text) != decimals:
                raise DataError(
                    f"pool.token{side}.decimals={text!r} contradicts the pool spec "
                    f"({pool.token0 if side == '0' else pool.token1}: {decimals})",
                    path=str(p),
                    row=i,
                )
    order = np.argsort(values[:, 0], kind="stable")
    values = values[order]
    start_s = values[:, 0]
    step = np.diff(start_s)
    if np.any(step == 0):
        k = int(np.flatnonzero(step == 0)[0])
        raise DataError(f"duplicate period {start_s[k]:.0f}", path=str(p), row=int(order[k]) + 1)
    if check_hourly and np.any(step != _HOUR_S):
        k = int(np.flatnonzero(step != _HOUR_S)[0])
        raise DataError(
            f"gap of {step[k]:.0f} s after period {start_s[k]:.0f} (hourly rows expected; "
            "check_hourly=False accepts gaps)",
            path=str(p),
            row=int(order[k + 1]) + 1,
        )
    try:
        return PoolHistory(
            pool=pool,
            time_ns=(start_s.astype(np.int64) * NS_PER_SECOND).astype(np.int64),
            close=values[:, 4],
            high=values[:, 2],
            low=values[:, 3],
            liquidity=np.asarray(liquidity_from_raw(liquidity_raw=values[:, 1], pool=pool)),
            fee_growth0_x128=values[:, 5],
            fee_growth1_x128=values[:, 6],
            source=str(p),
        )
    except InvalidArgumentError as exc:
        raise DataError(str(exc), path=str(p)) from exc
