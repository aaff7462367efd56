"""The printed outputs of hftbacktest's GLFT tutorial, reproduced by ``gueant_closed_form_depths``.

Source: nkaz001/hftbacktest, "GLFT Market Making Model and Grid Trading.ipynb" (ETHUSDT, tick
0.01). Only the notebook's printed numbers are used here, not its code.

The notebook prints, in ticks (σ in ticks/√s, A per s, k per tick, Δ = 1, ξ = γ = 0.05, σ set to
10.69 by hand rather than the measured value), ``half_spread = c1 + (Δ/2)·σ·c2`` and
``skew = σ·c2``, with ``δ^b(q) = half_spread + skew·q`` and ``δ^a(q) = half_spread − skew·q``
(Guéant 2017, eqs. 4.6–4.7). So, from our depths,

    half_spread = (δ^b(0) + δ^a(0)) / 2,
    skew        = δ^b(1) − δ^b(0) = δ^a(0) − δ^a(1).

The tutorial's half-tick slip in counting arrival depths affects only how A and k are fitted; A
and k are taken here as printed, so no unit conversion enters.

Tolerance: the notebook prints float64 results of its own evaluation order; ours evaluates the
same closed form in a different order, so the two may differ by a few units in the last place.
Each check allows 8 ulp of the printed value (about 3e-14 for 20, 1.4e-14 for 9.8), well
below any modelling difference (a wrong factor would move the result by whole ticks).
"""

from __future__ import annotations

import math

import pytest

from invrisk.quoting import gueant_closed_form_depths

GAMMA = 0.05  # γ = ξ, cell "a918697f"
DELTA = 1.0  # Δ, cell "a918697f"
SIGMA = 10.69  # ticks/√s, set by hand in cell "a918697f"

# (A, k) printed by cell "1e16b8cd"; (half_spread, skew) printed by cell "a918697f".
CASES = [
    pytest.param(
        2.986162360812285,  # A, /s
        0.04235741115084049,  # k, /tick
        20.47208533844371,  # "half_spread_tick=20.47208533844371"
        9.76326865029227,  # "skew=9.76326865029227"
        # examples/... @ 66b2e7537f0005b1bf691373017160566814ee4a and
        # docs/tutorials/... @ b6e591dbf0460c63265f8ddd34f4960fa31a6b06 (measured σ 10.7255...)
        id="hftbacktest-66b2e75",
    ),
    pytest.param(
        2.9932203436865956,  # A, /s
        0.04249732177397641,  # k, /tick
        20.419892817641397,  # "half_spread=20.419892817641397"
        9.7302402975805,  # "skew=9.7302402975805" (printed to 13 decimals)
        # docs/tutorials/... @ 4ab5aa0c098f98c0c191c16eb9ee9fd27a141637 (ETHUSDT 2022-10-03,
        # measured σ 10.6900...)
        id="hftbacktest-4ab5aa0",
    ),
]


def _depths(q: float, A: float, k: float) -> tuple[float, float]:
    return gueant_closed_form_depths(
        q=q, sigma=SIGMA, gamma=GAMMA, A=A, k=k, xi=GAMMA, trade_qty=DELTA
    )


def _tol(printed: float) -> float:
    """8 ulp of the printed value, or half a unit of its last printed digit if that is larger."""
    digits = len(repr(printed).split(".")[1])
    return max(8 * math.ulp(printed), 0.5 * 10.0**-digits)


@pytest.mark.parametrize(("A", "k", "half_spread", "skew"), CASES)
def test_half_spread_matches_notebook(A: float, k: float, half_spread: float, skew: float) -> None:
    bid0, ask0 = _depths(0.0, A, k)
    assert abs((bid0 + ask0) / 2.0 - half_spread) <= _tol(half_spread)


@pytest.mark.parametrize(("A", "k", "half_spread", "skew"), CASES)
def test_skew_matches_notebook(A: float, k: float, half_spread: float, skew: float) -> None:
    bid0, ask0 = _depths(0.0, A, k)
    bid1, ask1 = _depths(1.0, A, k)
    assert abs((bid1 - bid0) - skew) <= _tol(skew)
    assert abs((ask0 - ask1) - skew) <= _tol(skew)
