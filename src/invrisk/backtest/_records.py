"""What the backtest engine records as it runs: the order log and the per-decision samples.

Both keep Python scalars (one list per field for the orders, a tuple of floats per sample) and
build their numpy arrays in bulk: a numpy write per value is slower, and a list per order would
be scanned by every full collection of the cyclic garbage collector (a tuple of floats is not:
the collector stops tracking it).
"""

from __future__ import annotations

import numpy as np

from invrisk._typing import Float64Array, Int64Array
from invrisk.backtest import _sim_kernels_python as _k
from invrisk.backtest.results import ORDER_DTYPE
from invrisk.order_manager import NewOrder, OrderManager

__all__ = ["OrderLog", "Recorder"]


class OrderLog:
    """Every order the run issued, one row each, kept as one Python list per field.

    A list per order (tens of thousands of them) would be scanned by every full collection of
    the cyclic garbage collector during the run; lists of ints, floats and strings are not.
    ``row`` maps an order id to its row. Acks are not logged as they come (they would cost a
    lookup per order): the status of an order still live at the end is read from the order
    manager (:meth:`to_array`).
    """

    def __init__(self) -> None:
        self.row: dict[int, int] = {}
        self.order_id: list[int] = []
        self.instrument: list[int] = []
        self.side: list[int] = []
        self.price: list[float] = []
        self.qty: list[float] = []
        self.tif: list[int] = []
        self.sent_ns: list[int] = []
        self.status: list[int] = []
        self.filled: list[float] = []
        self.done_ns: list[int] = []  # -1 while live
        self.reason: list[str] = []

    def add(self, order: NewOrder, sent_ns: int, status: int, done_ns: int, reason: str) -> None:
        self.row[order.order_id] = len(self.order_id)
        self.order_id.append(order.order_id)
        self.instrument.append(order.instrument)
        self.side.append(order.side)
        self.price.append(order.price)
        self.qty.append(order.qty)
        self.tif.append(int(order.tif))
        self.sent_ns.append(sent_ns)
        self.status.append(status)
        self.filled.append(0.0)
        self.done_ns.append(done_ns)
        self.reason.append(reason)

    def to_array(self, om: OrderManager) -> np.ndarray:
        """The log as an ``ORDER_DTYPE`` array, live orders at their order-manager status."""
        status = list(self.status)
        for r, done in enumerate(self.done_ns):
            if done == -1:
                status[r] = int(om.order(self.order_id[r]).status)
        out = np.empty(len(status), dtype=ORDER_DTYPE)
        for name in ORDER_DTYPE.names or ():
            out[name] = status if name == "status" else getattr(self, name)
        return out


class Recorder:
    """Per-decision samples: rows gathered as tuples of Python floats and moved into numpy
    blocks of ``BLOCK`` rows (one conversion per block instead of one array write per row)."""

    FIELDS = (
        "mid",
        "position_known",
        "position",
        "cash",
        "value",
        "bid",
        "ask",
        "target_bid",
        "target_ask",
    )
    BLOCK = 2048

    def __init__(self, n_inst: int) -> None:
        self.n_inst = n_inst
        self.t: list[int] = []
        self.rows: list[tuple[float, ...]] = []
        self.t_blocks: list[Int64Array] = []
        self.x_blocks: list[Float64Array] = []

    def add(
        self,
        t: int,
        mids: list[float],
        known: list[float],
        acc: Float64Array,
        tops: list[list[float]],
        quoted: list[list[float]],
    ) -> None:
        # one flat row in FIELDS order, instruments inner
        if self.n_inst == 1:
            a, top = acc[0].tolist(), tops[0]
            row: tuple[float, ...] = (
                mids[0],
                known[0],
                a[_k.A_POS],
                a[_k.A_CASH],
                a[_k.A_LAST_VALUE],
                top[_k.T_OUR_BID],
                top[_k.T_OUR_ASK],
                quoted[0][0],
                quoted[1][0],
            )
        else:
            rows = acc.tolist()
            row = (
                *mids,
                *known,
                *[r[_k.A_POS] for r in rows],
                *[r[_k.A_CASH] for r in rows],
                *[r[_k.A_LAST_VALUE] for r in rows],
                *[r[_k.T_OUR_BID] for r in tops],
                *[r[_k.T_OUR_ASK] for r in tops],
                *quoted[0],
                *quoted[1],
            )
        self.t.append(t)
        self.rows.append(row)
        if len(self.rows) == self.BLOCK:
            self._flush()

    def _flush(self) -> None:
        if self.rows:
            self.t_blocks.append(np.array(self.t, dtype=np.int64))
            x = np.array(self.rows, dtype=np.float64)
            self.x_blocks.append(x.reshape(len(self.rows), len(self.FIELDS), self.n_inst))
            self.t, self.rows = [], []

    def arrays(self) -> dict[str, np.ndarray]:
        self._flush()
        n_f = len(self.FIELDS)
        t = np.concatenate(self.t_blocks) if self.t_blocks else np.empty(0, dtype=np.int64)
        x = (
            np.concatenate(self.x_blocks)
            if self.x_blocks
            else np.empty((0, n_f, self.n_inst), dtype=np.float64)
        )
        out: dict[str, np.ndarray] = {"t_ns": t}
        for j, name in enumerate(self.FIELDS):
            out[name] = np.ascontiguousarray(x[:, j, :])
        return out
