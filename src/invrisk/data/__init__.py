"""Market data: normalised tables built from vendor and exchange files, and synthetic data.

- :func:`load_deribit_chain` reads a Deribit option-chain CSV (five known layouts) into an
  :class:`OptionChain`.
- :func:`analyze_chain` computes implied vols and Greeks for every option of a chain.
- :func:`synthetic_chain` builds a Deribit-style chain on a known smile (demos, round trips).
"""

from __future__ import annotations

from invrisk.data.chain_analytics import ChainAnalysis, analyze_chain
from invrisk.data.chains import CHAIN_FORMATS, ChainFormat, OptionChain, load_deribit_chain
from invrisk.data.synthetic import SmileSpec, smile_vol, synthetic_chain

__all__ = [
    "CHAIN_FORMATS",
    "ChainAnalysis",
    "ChainFormat",
    "OptionChain",
    "SmileSpec",
    "analyze_chain",
    "load_deribit_chain",
    "smile_vol",
    "synthetic_chain",
]
