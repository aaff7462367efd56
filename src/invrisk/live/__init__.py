"""Live and paper trading (layer 4): the runtime and its gateways.

- :class:`Runtime` (:mod:`invrisk.live.runtime`) — the same strategy object as in backtests,
  driven by a gateway's feed, through the shared order manager and RiskGuard, journaled.
- :class:`Gateway` (:mod:`invrisk.live.gateway`) — the protocol both gateways implement.
- :class:`PaperGateway` (:mod:`invrisk.live.paper`) — a local matching engine on a replayed
  feed with the backtester's queue, latency and fee models.
- :class:`CcxtGateway` (:mod:`invrisk.live.ccxt_gateway`) — a real venue through ccxt's async
  API (ccxt is imported when the gateway starts), with :func:`load_credentials`
  (:mod:`invrisk.live.credentials`) for its API key.
"""

from __future__ import annotations

from invrisk.live.ccxt_gateway import CcxtGateway
from invrisk.live.credentials import Credentials, load_credentials
from invrisk.live.gateway import Gateway
from invrisk.live.paper import OrderEvent, PaperGateway
from invrisk.live.runtime import Runtime, RuntimeSummary

__all__ = [
    "CcxtGateway",
    "Credentials",
    "Gateway",
    "OrderEvent",
    "PaperGateway",
    "Runtime",
    "RuntimeSummary",
    "load_credentials",
]
