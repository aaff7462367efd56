"""The jitted book kernels equal their pure-Python twins exactly, on random event streams.

``_book_kernels.py`` compiles the functions of ``_book_kernels_python.py`` with numba (no
fastmath); the only floating-point operations are ``price / tick_size``, ``floor`` and
comparisons, so the two must agree bit for bit: the level arrays, every slot of the state
(best indices, level counts, counters) and the per-row or per-time outputs.

The streams mix every kind (DEPTH, SNAPSHOT, CLEAR of one or both sides, TRADE, BBO), rows
outside the window on both sides, deletions (of present and absent levels), multi-row
messages, and several instruments with the instrument filter on and off.
"""

from __future__ import annotations

import numpy as np
import pytest

from invrisk.market import _book_kernels as jit
from invrisk.market import _book_kernels_python as py
from tests.market._streams import random_stream

LO, SPAN, N = 1000, 60, 4_000


def fresh(n_ticks: int = SPAN) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    state = np.zeros(py.N_STATE, dtype=np.int64)
    state[py.S_BEST_BID] = -1
    state[py.S_BEST_ASK] = n_ticks
    return np.zeros(n_ticks), np.zeros(n_ticks), state


def columns(ev: np.ndarray) -> tuple[np.ndarray, ...]:
    return (
        ev["kind"], ev["side"], ev["price"], ev["qty"], ev["local_ns"], ev["update_id"],
        ev["instrument"],
    )  # fmt: skip


def assert_same(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> None:
    for x, y in zip(a, b, strict=True):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x.view(np.int64), y.view(np.int64))


def outputs(rows: int, levels: int) -> tuple[np.ndarray, ...]:
    return (
        np.full((rows, levels), -7, np.int64),
        np.full((rows, levels), -7.0),
        np.full((rows, levels), -7, np.int64),
        np.full((rows, levels), -7.0),
    )


NO_TIMES = np.empty(0, np.int64)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("only", [-1, 1])
def test_apply_twin(seed: int, only: int) -> None:
    ev = random_stream(seed, N, lo_tick=LO, span=SPAN, n_instruments=2 if only >= 0 else 1)
    books = []
    for kernels in (py, jit):
        bid, ask, state = fresh()
        # in three pieces, so that the state carried between calls is exercised
        for part in np.array_split(ev, 3):
            status = kernels.run_kernel(
                *columns(part), only, 0.1, LO, bid, ask, state, py.MODE_APPLY, NO_TIMES,
                *outputs(0, 1),
            )  # fmt: skip
            assert status == py.OK
        books.append((bid, ask, state))
    assert_same(books[0], books[1])
    state = books[0][2]
    # the stream reaches every branch
    assert state[py.S_OUT_OF_WINDOW] > 0 and state[py.S_WINDOW_BREACHES] > 0
    assert state[py.S_CROSSED] > 0 and state[py.S_APPLIED] > 0


@pytest.mark.parametrize("seed", range(6))
def test_replay_twin(seed: int) -> None:
    ev = random_stream(100 + seed, N, lo_tick=LO, span=SPAN)
    out = []
    for kernels in (py, jit):
        bid, ask, state = fresh()
        rec = outputs(N, 1)
        status = kernels.run_kernel(
            *columns(ev), -1, 0.1, LO, bid, ask, state, py.MODE_REPLAY, NO_TIMES, *rec
        )
        assert status == py.OK
        out.append((bid, ask, state, *rec))
    assert_same(out[0], out[1])
    assert not np.any(out[0][3] == -7)  # every row recorded
    # the replay leaves the book exactly as apply does
    bid, ask, state = fresh()
    jit.run_kernel(
        *columns(ev), -1, 0.1, LO, bid, ask, state, py.MODE_APPLY, NO_TIMES, *outputs(0, 1)
    )
    assert_same((bid, ask, state), out[1][:3])


@pytest.mark.parametrize("seed", range(4))
def test_sample_twin(seed: int) -> None:
    ev = random_stream(200 + seed, N, lo_tick=LO, span=SPAN)
    rng = np.random.default_rng(seed)
    at = np.sort(rng.integers(-1_000, int(ev["local_ns"][-1]) + 1_000, 300))
    out = []
    for kernels in (py, jit):
        bid, ask, state = fresh()
        rec = outputs(300, 7)
        status = kernels.run_kernel(
            *columns(ev), -1, 0.1, LO, bid, ask, state, py.MODE_SAMPLE, at, *rec
        )
        assert status == py.OK
        out.append((bid, ask, state, *rec))
    assert_same(out[0], out[1])
    assert not np.any(out[0][3] == -7)


def test_levels_kernel_twin() -> None:
    ev = random_stream(7, N, lo_tick=LO, span=SPAN)
    bid, ask, state = fresh()
    jit.run_kernel(
        *columns(ev), -1, 0.1, LO, bid, ask, state, py.MODE_APPLY, NO_TIMES, *outputs(0, 1)
    )
    for levels, best, count, step in (
        (bid, state[py.S_BEST_BID], state[py.S_N_BID], -1),
        (ask, state[py.S_BEST_ASK], state[py.S_N_ASK], 1),
    ):
        assert count > 3
        res = []
        for kernels in (py, jit):
            idx, qty = np.empty(count, np.int64), np.empty(count)
            kernels.levels_kernel(levels, int(best), int(count), step, idx, qty)
            res.append((idx, qty))
        assert_same(res[0], res[1])


@pytest.mark.parametrize("seed", range(3))
def test_errors_twin(seed: int) -> None:
    ev = random_stream(300 + seed, N, lo_tick=LO, span=SPAN)
    book_rows = np.flatnonzero(ev["kind"] == 1)
    row = int(book_rows[len(book_rows) // 2])
    ev["price"][row] += 0.05  # off the grid
    results = []
    for kernels in (py, jit):
        bid, ask, state = fresh()
        status = kernels.run_kernel(
            *columns(ev), -1, 0.1, LO, bid, ask, state, py.MODE_APPLY, NO_TIMES, *outputs(0, 1)
        )
        results.append((status, state[py.S_ERROR_ROW], bid.any(), ask.any()))
    assert results[0] == results[1] == (py.ERR_OFF_GRID, row, False, False)
