"""Market data: normalised tables built from vendor and exchange files, and synthetic data.

- :func:`load_deribit_chain` reads a Deribit option-chain CSV (five known layouts) into an
  :class:`OptionChain`.
- :func:`load_tardis_options_chain` / :func:`load_tardis_options_snapshot` read a Tardis.dev
  ``options_chain`` CSV stream into the Deribit :class:`OptionChain` as of a given time.
- :func:`analyze_chain` computes implied vols and Greeks for every option of a chain.
- :func:`synthetic_chain` builds a Deribit-style chain on a known smile (demos, round trips).
- Market events (:data:`EVENT_DTYPE`): :func:`read_binance_stream` (Binance raw streams),
  :func:`read_tardis` / :func:`iter_tardis` (Tardis.dev CSV datasets), :func:`validate_events`,
  :mod:`invrisk.data.synthetic_market` (a seeded synthetic market; the package does not
  re-export its ``synthetic_market`` function, which would hide the module), and the
  Parquet :class:`Catalog`; :func:`read_ohlcv` reads bar files.
- :func:`read_uniswap_pool_hours` reads a Uniswap v3 pool's hourly history (The Graph's
  ``poolHourDatas``) into an :class:`~invrisk.amm.history.PoolHistory`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from invrisk.data.binance import BinanceStream, check_bbo, read_binance_stream
    from invrisk.data.catalog import Catalog
    from invrisk.data.chain_analytics import ChainAnalysis, analyze_chain
    from invrisk.data.chains import CHAIN_FORMATS, ChainFormat, OptionChain, load_deribit_chain
    from invrisk.data.events import EVENT_DTYPE, EventKind, Side
    from invrisk.data.ohlcv import Ohlcv, read_ohlcv
    from invrisk.data.synthetic import SmileSpec, smile_vol, synthetic_chain
    from invrisk.data.synthetic_market import SyntheticMarket, benchmark_stream
    from invrisk.data.tardis import TardisData, iter_tardis, read_tardis
    from invrisk.data.tardis_options import (
        TARDIS_OPTIONS_CHAIN_COLUMNS,
        TardisOptionsSnapshot,
        load_tardis_options_chain,
        load_tardis_options_snapshot,
    )
    from invrisk.data.uniswap import POOL_HOUR_COLUMNS, read_uniswap_pool_hours
    from invrisk.data.validate import ValidationReport, validate_events

# Names are imported from their modules on first use (PEP 562), so that importing one module
# of the package (e.g. ``invrisk.data.events`` for the backtester) does not load pyarrow and
# the readers: about 0.1 s less at the start of every process.
_SOURCES = {
    "BinanceStream": "binance",
    "check_bbo": "binance",
    "read_binance_stream": "binance",
    "Catalog": "catalog",
    "ChainAnalysis": "chain_analytics",
    "analyze_chain": "chain_analytics",
    "CHAIN_FORMATS": "chains",
    "ChainFormat": "chains",
    "OptionChain": "chains",
    "load_deribit_chain": "chains",
    "EVENT_DTYPE": "events",
    "EventKind": "events",
    "Side": "events",
    "Ohlcv": "ohlcv",
    "read_ohlcv": "ohlcv",
    "SmileSpec": "synthetic",
    "smile_vol": "synthetic",
    "synthetic_chain": "synthetic",
    "SyntheticMarket": "synthetic_market",
    "benchmark_stream": "synthetic_market",
    "TardisData": "tardis",
    "iter_tardis": "tardis",
    "read_tardis": "tardis",
    "TARDIS_OPTIONS_CHAIN_COLUMNS": "tardis_options",
    "TardisOptionsSnapshot": "tardis_options",
    "load_tardis_options_chain": "tardis_options",
    "load_tardis_options_snapshot": "tardis_options",
    "POOL_HOUR_COLUMNS": "uniswap",
    "read_uniswap_pool_hours": "uniswap",
    "ValidationReport": "validate",
    "validate_events": "validate",
}


def __getattr__(name: str) -> object:
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module 'invrisk.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"invrisk.data.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SOURCES))


__all__ = [
    "CHAIN_FORMATS",
    "EVENT_DTYPE",
    "POOL_HOUR_COLUMNS",
    "TARDIS_OPTIONS_CHAIN_COLUMNS",
    "BinanceStream",
    "Catalog",
    "ChainAnalysis",
    "ChainFormat",
    "EventKind",
    "Ohlcv",
    "OptionChain",
    "Side",
    "SmileSpec",
    "SyntheticMarket",
    "TardisData",
    "TardisOptionsSnapshot",
    "ValidationReport",
    "analyze_chain",
    "benchmark_stream",
    "check_bbo",
    "iter_tardis",
    "load_deribit_chain",
    "load_tardis_options_chain",
    "load_tardis_options_snapshot",
    "read_binance_stream",
    "read_ohlcv",
    "read_tardis",
    "read_uniswap_pool_hours",
    "smile_vol",
    "synthetic_chain",
    "validate_events",
]
