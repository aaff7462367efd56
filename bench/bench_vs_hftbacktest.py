"""Side-by-side with hftbacktest 2.4.4: one stream, one quoting logic, whole-process wall time.

Prints one JSON line. The 5,000,000-event synthetic benchmark stream is written once, as
invrisk's ``.npy`` (memory-mapped by the invrisk process) and as hftbacktest's event array
(``.npz``; MARK/INDEX/FUNDING rows dropped, the initial CLEAR dropped: hftbacktest starts from
an empty book). Each side then runs in a fresh Python process, timed from outside from start
to result: import, load, backtest. The quoting logic is the same on both sides (every 100 ms,
GLFT's closed form with fixed coefficients, one 0.001 BTC lot per side, post-only, inventory
cap), 10 ms entry and response latency, power-2 probabilistic queue, no partial fills, maker
-1 bp / taker 5 bp. (With hftbacktest's partial-fill exchange this run stops after 1,859
decisions: ``elapse`` returns error code 14, and continuing past it panics in its Rust core;
its no-partial-fill exchange completes, so both sides run without partial fills.) Both
engines decide at the same instants (hftbacktest's clock starts at the first exchange time,
invrisk's at the first local time: the hftbacktest quoter first elapses the difference); with
that, the two produce the same fills, which the script checks by count. invrisk
runs the quoter as a plain-Python strategy; hftbacktest requires a numba one
(``_hbt_quoter.py``), compiled in every process (its strategies are not cacheable).

Two comparisons, each printed with its ratio (target: invrisk at most half of hftbacktest):

- ``quoter``: the fixed-coefficient quoter above, the same logic on both sides (the fills
  agree, which checks that the two engines simulate alike);
- ``glft``: the issue's setting, a GLFT market maker with online calibration of σ, A and k on
  a 300 s window refitted every 10 s: invrisk's built-in plain-Python ``GLFTMarketMaker``
  (writing its Parquet result) against a numba GLFT written for hftbacktest after its own GLFT
  tutorial (``_hbt_glft.py``; its calibration is a regression instead of invrisk's maximum
  likelihood, so the fills differ). hftbacktest compiles that strategy in every process.

The runs of the two sides alternate, best of three each.

hftbacktest runs in its own virtualenv: ``HBT_PYTHON`` (default ``/tmp/hbt-venv/bin/python``);
if it does not exist it is created and ``hftbacktest==2.4.4`` installed from the package
registry. The fill rules agree in kind (trade through, queue front, crossing); the one known
difference is that hftbacktest rounds its queue estimate to half a lot when a trade at the
order's price reaches the front, which does not change any fill on this stream.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine

from invrisk.data.synthetic_market import benchmark_stream

N = 5_000_000
C1, C2 = 0.3, 0.05  # USDT: half-spread and skew per lot
HBT_PYTHON = Path(os.environ.get("HBT_PYTHON", "/tmp/hbt-venv/bin/python"))

INVRISK_PROCESS = """
import math, sys, time
import numpy as np
from invrisk.backtest import Fees, ProbQueue, run_backtest, ConstantLatency
from invrisk.data.synthetic_market import synthetic_perpetual
from invrisk.strategy import Decision, QuoteTarget

C1, C2, LOT, Q_MAX = {c1}, {c2}, 0.001, 10.0

class Quoter:
    def on_start(self, ctx):
        self.tick = ctx.instruments[0].tick_size
    def on_fill(self, fill):
        pass
    def decide(self, view, account):
        iv = view.instruments[0]
        bb, ba = iv.best_bid, iv.best_ask
        if not (bb < ba):
            return Decision()
        mid, q, t = 0.5 * (bb + ba), account.position[0] / LOT, self.tick
        bid = min(math.floor((mid - (C1 + (q + 0.5) * C2)) / t), round(ba / t) - 1) * t
        ask = max(math.ceil((mid + (C1 - (q - 0.5) * C2)) / t), round(bb / t) + 1) * t
        return Decision(quotes=(QuoteTarget.two_sided(
            0, bid=bid if q < Q_MAX else None, ask=ask if q > -Q_MAX else None,
            bid_qty=LOT, ask_qty=LOT),))

events = np.load(sys.argv[1], mmap_mode="r")
t0 = time.perf_counter()
r = run_backtest(events=events, instruments=[synthetic_perpetual("linear")], strategy=Quoter(),
                 fees=Fees(maker=-0.0001, taker=0.0005), queue=ProbQueue("power", 2.0),
                 partial_fills=False,
                 latency=ConstantLatency(entry_ns=10_000_000, response_ns=10_000_000))
print("RESULT", r.t_ns.size, r.pnl[0].position, r.fills.size, time.perf_counter() - t0)
"""


def to_hftbacktest(events: np.ndarray) -> np.ndarray:
    """invrisk EVENT_DTYPE rows -> hftbacktest 2.x event rows (book and trade rows)."""
    buy, sell, exch, local = 1 << 29, 1 << 28, 1 << 31, 1 << 30
    keep = np.isin(events["kind"], [1, 2, 4])  # DEPTH, SNAPSHOT, TRADE
    e = events[keep]
    out = np.zeros(
        e.size,
        dtype=np.dtype(
            [
                ("ev", "<u8"),
                ("exch_ts", "<i8"),
                ("local_ts", "<i8"),
                ("px", "<f8"),
                ("qty", "<f8"),
                ("order_id", "<u8"),
                ("ival", "<i8"),
                ("fval", "<f8"),
            ],
            align=True,
        ),
    )
    k = e["kind"]
    # hftbacktest codes: DEPTH_EVENT 1, TRADE_EVENT 2, DEPTH_SNAPSHOT_EVENT 4
    code = np.select([k == 1, k == 2, k == 4], [1, 4, 2]).astype(np.uint64)
    side = np.where(e["side"] == 1, buy, np.where(e["side"] == -1, sell, 0)).astype(np.uint64)
    out["ev"] = code | side | np.uint64(exch) | np.uint64(local)
    out["exch_ts"], out["local_ts"] = e["exch_ns"], e["local_ns"]
    out["px"], out["qty"] = e["price"], e["qty"]
    return out


def ensure_hftbacktest() -> Path:
    if not HBT_PYTHON.exists():
        venv = HBT_PYTHON.parent.parent
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(HBT_PYTHON), "-m", "pip", "install", "-q", "hftbacktest==2.4.4"]
        subprocess.run(pip, check=True)
    return HBT_PYTHON


def timed(cmd: list[str]) -> tuple[float, list[str]]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    elapsed = time.perf_counter() - t0
    result = next(line for line in out.splitlines() if line.startswith("RESULT"))
    return elapsed, result.split()[1:]


GLFT_PROCESS = """
import sys, tempfile, time
import numpy as np
from invrisk.backtest import ConstantLatency, Fees, ProbQueue, run_backtest
from invrisk.data.synthetic_market import synthetic_perpetual
from invrisk.strategies import GLFTMarketMaker

events = np.load(sys.argv[1], mmap_mode="r")
s = GLFTMarketMaker(gamma={gamma}, q_max={q_max}, order_qty={qty}, window_ns=300 * 10**9)
t0 = time.perf_counter()
r = run_backtest(events=events, instruments=[synthetic_perpetual("linear")], strategy=s,
                 fees=Fees(maker=-0.0001, taker=0.0005), queue=ProbQueue("power", 2.0),
                 partial_fills=False,
                 latency=ConstantLatency(entry_ns=10_000_000, response_ns=10_000_000))
t_run = time.perf_counter() - t0
with tempfile.TemporaryDirectory() as out:
    r.to_parquet(out)
print("RESULT", r.t_ns.size, r.pnl[0].position, r.fills.size, t_run, s.n_fits)
"""
GAMMA, QTY, Q_MAX = 0.05, 0.01, 0.1  # invrisk's GLFT benchmark settings (bench_backtest.py)
ROUNDS = 3


def compiled_loop_s(theirs: list[str]) -> float:
    """hftbacktest's strategy call run a second time in one process, compiled: its loop alone
    (a reference for the engines' steady-state speed; not part of the whole-process ratio)."""
    out = subprocess.run([*theirs, "twice"], check=True, capture_output=True, text=True).stdout
    return float(next(ln for ln in out.splitlines() if ln.startswith("COMPILED")).split()[1])


def side_by_side(ours: list[str], theirs: list[str]) -> dict[str, object]:
    """Best of ``ROUNDS`` whole-process times of each side, the runs alternating (so that a
    noisy neighbour slows both sides alike); ``ours`` is run once first to warm its cache.
    Also each side's backtest call alone: invrisk's ``run_backtest`` in its best process, and
    hftbacktest's strategy call, compilation included and compiled (:func:`compiled_loop_s`)."""
    timed(ours)
    t_ours, t_theirs = [], []
    for _ in range(ROUNDS):
        t_ours.append(timed(ours))
        t_theirs.append(timed(theirs))
    (t_i, r_i), (t_h, r_h) = min(t_ours, key=lambda x: x[0]), min(t_theirs, key=lambda x: x[0])
    return {
        "invrisk_process_s": round(t_i, 2),
        "hftbacktest_process_s": round(t_h, 2),
        "ratio": round(t_i / t_h, 3),
        "invrisk_runs_s": [round(t, 2) for t, _ in t_ours],
        "hftbacktest_runs_s": [round(t, 2) for t, _ in t_theirs],
        "invrisk": {
            "decisions": int(r_i[0]),
            "position": float(r_i[1]),
            "fills": int(r_i[2]),
            "run_s": round(float(r_i[3]), 3),
        },
        "hftbacktest": {
            "decisions": int(r_h[0]),
            "position": float(r_h[1]),
            "trades": int(r_h[2]),
            "run_s_with_compile": float(r_h[3]),
            "run_s_compiled": compiled_loop_s(theirs),
        },
        "same_fill_count": int(r_i[2]) == int(r_h[2]),
    }


def main() -> None:
    hbt_python = ensure_hftbacktest()
    market = benchmark_stream(N, seed=0)
    here = Path(__file__).parent
    with tempfile.TemporaryDirectory() as tmp:
        ours = Path(tmp) / "stream.npy"
        np.save(ours, market.events)
        theirs = Path(tmp) / "stream.npz"
        hbt_events = to_hftbacktest(market.events)
        np.savez(theirs, data=hbt_events)
        # hftbacktest's clock starts at its first exchange time, invrisk's at the first local
        # time: the hftbacktest quoter first elapses the difference (see _hbt_quoter.py)
        offset = str(int(market.events["local_ns"][0]) - int(hbt_events["exch_ts"].min()))
        quoter = side_by_side(
            [sys.executable, "-c", INVRISK_PROCESS.format(c1=C1, c2=C2), str(ours)],
            [str(hbt_python), str(here / "_hbt_quoter.py"), str(theirs), str(C1), str(C2), offset],
        )
        glft_code = GLFT_PROCESS.format(gamma=GAMMA, q_max=Q_MAX, qty=QTY)
        glft = side_by_side(
            [sys.executable, "-c", glft_code, str(ours)],
            [
                str(hbt_python),
                str(here / "_hbt_glft.py"),
                str(theirs),
                str(GAMMA),
                str(QTY),
                str(Q_MAX),
                offset,
            ],
        )
    print(
        json.dumps(
            {
                "bench": "vs_hftbacktest",
                "events": N,
                "quoter": quoter,
                "glft": glft,
                "hftbacktest_version": "2.4.4",
                **machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
