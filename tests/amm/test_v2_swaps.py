"""Uniswap v2 swap math on real swaps: the UNI/WETH pair, 2,000 swaps of 2021-06-14..22
(shared/data/uniswap_v2_uni_weth_swaps_2021-06, from the Uniswap v2 subgraph).

The file carries the pair's reserves at each of its two query times only (PROVENANCE.txt), so
the reserves before each swap are rebuilt by undoing the swaps from that snapshot backwards
(newest first). Liquidity added or removed between swaps is not in the file: it rescales the
reserves (at an unchanged price), so the rebuilt reserves drift slowly away from the true ones
and only the swaps next to a snapshot can be checked to rounding.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

from invrisk.amm import v2_amount_out, v2_amounts, v2_liquidity_from_reserves
from tests.conftest import require_data

DATA = "uniswap_v2_uni_weth_swaps_2021-06/univ2_uni_weth_0xd3d2e269_swaps_2021-06.csv"


def relative_errors(fee: float) -> tuple[np.ndarray, list[float]]:
    """``out_model / out_recorded − 1`` per swap, and for the newest swap of each snapshot."""
    with require_data(DATA).open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    errs: list[float] = []
    newest: list[float] = []
    snapshots: dict[tuple[str, str], list[dict[str, str]]] = {}
    for r in rows:  # rows are newest first within each query
        snapshots.setdefault((r["pair.reserve0"], r["pair.reserve1"]), []).append(r)
    assert len(snapshots) == 2
    for (res0, res1), swaps in snapshots.items():
        r0, r1 = float(res0), float(res1)  # UNI, WETH after the newest swap
        for k, r in enumerate(swaps):
            a0i, a0o, a1i, a1o = (
                float(r[c]) for c in ("amount0In", "amount0Out", "amount1In", "amount1Out")
            )
            p0, p1 = r0 - a0i + a0o, r1 - a1i + a1o  # the reserves before this swap
            if a0i > 0:  # UNI in, WETH out
                e = v2_amount_out(amount_in=a0i, reserve_in=p0, reserve_out=p1, fee=fee) / a1o
            else:
                e = v2_amount_out(amount_in=a1i, reserve_in=p1, reserve_out=p0, fee=fee) / a0o
            errs.append(float(e) - 1.0)
            if k == 0:
                newest.append(float(e) - 1.0)
            r0, r1 = p0, p1
    return np.array(errs), newest


def test_swaps_follow_the_constant_product_with_a_30_bp_fee() -> None:
    errs, newest = relative_errors(0.003)
    assert errs.size == 2000
    # next to each reserve snapshot the swap is reproduced to rounding
    assert max(abs(e) for e in newest) < 1e-12
    # further back the unrecorded liquidity events blur the rebuilt reserves a little
    assert float(np.median(np.abs(errs))) < 1e-4
    assert float(np.mean(np.abs(errs) < 1e-3)) > 0.95
    # a wrong fee is visible at once: the fee is what the data say it is
    for wrong in (0.0, 0.0025, 0.0035):
        w, w_newest = relative_errors(wrong)
        assert float(np.median(np.abs(w))) > 4e-4
        assert min(abs(e) for e in w_newest) > 4e-4


def test_reserves_are_a_v2_position_of_liquidity_sqrt_xy() -> None:
    """The snapshot reserves are the amounts of the whole pool's position L = sqrt(x y) at its
    price y/x (WETH per UNI), and its price sits in the market's range of the week."""
    x, y = 2415515.466994928217375367, 19759.967355814577426424  # the newest snapshot
    liq = v2_liquidity_from_reserves(risky_qty=x, quote_qty=y)
    a = v2_amounts(liquidity=liq, price=y / x)
    assert a.risky_qty == pytest.approx(x, rel=1e-13) and a.quote_qty == pytest.approx(y, rel=1e-13)
    assert 0.0078 <= y / x <= 0.0094  # PROVENANCE: implied prices 0.0078-0.0094 WETH per UNI


def test_amount_out_bad_input() -> None:
    from invrisk.errors import InvalidArgumentError

    for kw, word in (
        ({"amount_in": -1.0}, "amount_in"),
        ({"reserve_in": 0.0}, "reserve_in"),
        ({"fee": 1.0}, "fee"),
    ):
        args = {"amount_in": 1.0, "reserve_in": 100.0, "reserve_out": 200.0, **kw}
        with pytest.raises(InvalidArgumentError, match=word):
            v2_amount_out(**args)  # type: ignore[arg-type]
