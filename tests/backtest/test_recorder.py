"""The engine's per-decision sample recorder: rows gathered in blocks give the same arrays as
writing each sample into its place (checked across block boundaries, one and several
instruments)."""

from __future__ import annotations

import numpy as np
import pytest

from invrisk.backtest import _sim_kernels_python as _k
from invrisk.backtest._records import Recorder


@pytest.mark.parametrize("n_inst", [1, 3])
@pytest.mark.parametrize("n_rows", [0, 1, Recorder.BLOCK, 2 * Recorder.BLOCK + 17])
def test_blocks_give_the_rows_in_order(n_inst: int, n_rows: int) -> None:
    rng = np.random.default_rng(n_inst * 1000 + n_rows)
    rec = Recorder(n_inst)
    want = {name: np.empty((n_rows, n_inst)) for name in Recorder.FIELDS}
    t = np.cumsum(rng.integers(1, 10**9, n_rows)) + 1_767_225_600 * 10**9
    for r in range(n_rows):
        mids = rng.normal(100.0, 1.0, n_inst).tolist()
        known = rng.normal(0.0, 1.0, n_inst).tolist()
        acc = rng.normal(0.0, 1.0, (n_inst, _k.A_N))
        acc[0, _k.A_LAST_VALUE] = np.nan  # NaN samples survive the block conversion
        tops = rng.normal(100.0, 1.0, (n_inst, _k.T_N)).tolist()
        quoted = [rng.normal(99.0, 1.0, n_inst).tolist(), rng.normal(101.0, 1.0, n_inst).tolist()]
        rec.add(int(t[r]), mids, known, acc, tops, quoted)
        want["mid"][r] = mids
        want["position_known"][r] = known
        want["position"][r] = acc[:, _k.A_POS]
        want["cash"][r] = acc[:, _k.A_CASH]
        want["value"][r] = acc[:, _k.A_LAST_VALUE]
        want["bid"][r] = [row[_k.T_OUR_BID] for row in tops]
        want["ask"][r] = [row[_k.T_OUR_ASK] for row in tops]
        want["target_bid"][r] = quoted[0]
        want["target_ask"][r] = quoted[1]
    got = rec.arrays()
    assert got["t_ns"].dtype == np.int64
    np.testing.assert_array_equal(got["t_ns"], t.astype(np.int64))  # exact: ns beyond 2**53
    for name in Recorder.FIELDS:
        assert got[name].shape == (n_rows, n_inst)
        np.testing.assert_array_equal(got[name], want[name])
