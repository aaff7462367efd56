"""Market data: normalised tables built from vendor and exchange files, and synthetic data.

- :func:`load_deribit_chain` reads a Deribit option-chain CSV (five known layouts) into an
  :class:`OptionChain`.
- :func:`load_tardis_options_chain` / :func:`load_tardis_options_snapshot` read a Tardis.dev
  ``options_chain`` CSV stream into the Deribit :class:`OptionChain` as of a given time.
- :func:`analyze_chain` computes implied vols and Greeks for every option of a chain.
- :func:`synthetic_chain` builds a Deribit-style chain on a known smile (demos, round trips).
"""

from __future__ import annotations

from invrisk.data.chain_analytics import ChainAnalysis, analyze_chain
from invrisk.data.chains import CHAIN_FORMATS, ChainFormat, OptionChain, load_deribit_chain
from invrisk.data.synthetic import SmileSpec, smile_vol, synthetic_chain
from invrisk.data.tardis_options import (
    TARDIS_OPTIONS_CHAIN_COLUMNS,
    TardisOptionsSnapshot,
    load_tardis_options_chain,
    load_tardis_options_snapshot,
)

__all__ = [
    "CHAIN_FORMATS",
    "TARDIS_OPTIONS_CHAIN_COLUMNS",
    "ChainAnalysis",
    "ChainFormat",
    "OptionChain",
    "SmileSpec",
    "TardisOptionsSnapshot",
    "analyze_chain",
    "load_deribit_chain",
    "load_tardis_options_chain",
    "load_tardis_options_snapshot",
    "smile_vol",
    "synthetic_chain",
]
