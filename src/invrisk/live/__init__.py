"""Live and paper trading (layer 4): the runtime and its gateways.

- :class:`Runtime` (:mod:`invrisk.live.runtime`) — the same strategy object as in backtests,
  driven by a gateway's feed, through the shared order manager and RiskGuard, journaled.
- :class:`PaperGateway` (:mod:`invrisk.live.paper`) — a local matching engine on a replayed
  feed with the backtester's queue, latency and fee models.
"""

from __future__ import annotations

from invrisk.live.paper import OrderEvent, PaperGateway
from invrisk.live.runtime import Runtime, RuntimeSummary

__all__ = ["OrderEvent", "PaperGateway", "Runtime", "RuntimeSummary"]
