"""The runtime's reconcile after a gateway reconnect, on the paper gateway (any gateway: the
rule lives in the runtime): cancels the venue did not get are sent again, an order of ours the
venue holds that the runtime does not know is cancelled, and a disconnect halt resumes only
when configured, after the reconcile."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from invrisk.data.events import EventArray
from invrisk.live import PaperGateway, Runtime
from invrisk.order_manager import CancelOrder
from invrisk.store import Journal
from tests.live.test_runtime import MARKET, gateway, glft

STRANGER = 999_999  # an order id the venue reports that this runtime never sent


class Flaky(PaperGateway):
    """The link drops after 200 batches and comes back after 260; right after the reconnect
    the venue also reports a stranger order of ours. Every cancel is recorded."""

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.cancels: list[int] = []
        self.stranger_reported = False

    async def market_batches(self) -> AsyncIterator[EventArray]:
        k = 0
        async for b in super().market_batches():
            k += 1
            if k == 200:
                self.disconnect()
            if k == 260:
                self.reconnect()
            yield b

    def open_order_ids(self) -> list[int]:
        ids = super().open_order_ids()
        if self.reconnects and not self.stranger_reported:
            self.stranger_reported = True
            ids.append(STRANGER)
        return ids

    async def cancel(self, cancel: CancelOrder) -> None:
        if self.connected:
            self.cancels.append(cancel.order_id)
        if cancel.order_id != STRANGER:  # (the simulation holds no such order)
            await super().cancel(cancel)


@pytest.mark.parametrize("auto", [None, 0.5])
def test_reconnect_resends_cancels_cancels_strangers_and_resumes_if_configured(
    tmp_path: Path, auto: float | None
) -> None:
    j = Journal(tmp_path / "r.sqlite")
    j.start_run(started_ns=int(MARKET.events["local_ns"][0]), mode="paper", venue="sim")
    gw = gateway(Flaky)
    assert isinstance(gw, Flaky)
    rt = Runtime(
        strategy=glft(),
        instruments=[MARKET.instrument],
        gateway=gw,
        journal=j,
        auto_resume_after_s=auto,
        snapshot_interval_s=None,
    )
    s = asyncio.run(rt.run())
    assert s.halts and "gateway refused" in s.halts[0]
    (rec,) = rt.reconciliations
    # the halt's cancels could not be sent: they are sent now, once the link is back
    assert rec["cancels_resent"] and set(rec["cancels_resent"]) <= set(gw.cancels)
    assert rec["unknown_at_venue"] == (STRANGER,) and STRANGER in gw.cancels
    transitions = [
        (e["new_state"], e["cause"]) for e in j.table("risk_events") if e["kind"] == "transition"
    ]
    assert transitions[0][0] == "HALTED"
    halted_at = next(e["t_ns"] for e in j.table("risk_events") if e["new_state"] == "HALTED")
    later = [o for o in j.table("orders") if o["created_ns"] > halted_at]
    resumed = [cause for state, cause in transitions if state == "ACTIVE"]
    if auto is None:  # the operator resumes: nothing new is sent
        assert s.state == "HALTED" and not later and not resumed
    else:
        assert len(resumed) == 1 and "disconnect" in resumed[0]
        assert s.state == "ACTIVE" and later and s.fills > 0
    # no order is live twice: the venue's open orders are the runtime's live orders
    assert set(gw.open_order_ids()) == {o.order_id for o in rt.om.live_orders()}
    rec_j = j.recover()
    assert rec_j.positions.get(0, 0.0) == pytest.approx(s.positions[0], abs=1e-12)
    j.close()
