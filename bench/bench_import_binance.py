"""Import speed of Binance recorder files: invrisk.data.read_binance_stream against json.loads.

Prints one JSON line. The main file is the real USD-M BTCUSDT recording
``shared/data/binance_l2_trades_2024-08-08_hftbacktest/usdm_btcusdt_20240808.gz`` (93,954
lines, 28 MB of JSON text, 598,754 event rows). The reference, timed in the same run on the
same file, is the plain approach: ``json.loads`` on every line of ``gzip.open``, Python
conversion of every level/trade/bookTicker into a list of tuples, then an EVENT_DTYPE array
(no sequencing: it keeps every diff). read_binance_stream also sequences the diffs, checks
trade ids and times, and builds the report. Rate = event rows / wall time, best of N after a
warm-up (which also loads the cached numba kernels). Target: >= 2 M event rows/s.
The other three streams are timed with read_binance_stream only, for information.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine

from invrisk.data.binance import read_binance_stream
from invrisk.data.events import EventArray, empty_events

FOLDER = (
    Path(
        os.environ.get(
            "INVRISK_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
        )
    )
    / "binance_l2_trades_2024-08-08_hftbacktest"
)
MAIN = "usdm_btcusdt_20240808.gz"
OTHERS = {
    "usdm_ethusdt": ["usdm_ethusdt_20240808.gz"],
    "cm_btcusd_perp": ["cm_btcusd_perp_20240808.gz"],
    "spot_btcusdt_2_files": ["spot_btcusdt_20240808.gz", "spot_btcusdt_20240809.gz"],
}
MS = 1_000_000


def naive(path: Path) -> EventArray:
    """The reference: json.loads per line -> Python tuples -> an event array."""
    rows: list[tuple[int, int, int, int, float, float, int, int, int]] = []
    with gzip.open(path, "rt") as handle:
        for line in handle:
            ts, js = line.split(" ", 1)
            local = int(ts)
            msg = json.loads(js)
            if "lastUpdateId" in msg:
                uid = msg["lastUpdateId"]
                t = msg.get("T", msg.get("E"))
                exch = t * MS if t is not None else local
                rows.append((exch, local, 3, 0, 0.0, 0.0, -1, -1, -1))
                for side, key in ((1, "bids"), (-1, "asks")):
                    for p, q in msg[key]:
                        rows.append((exch, local, 2, side, float(p), float(q), uid, -1, -1))
                continue
            d = msg["data"]
            kind = msg["stream"].split("@")[1]
            t = d.get("T", d.get("E"))
            exch = t * MS if t is not None else local
            if kind == "depth":
                u, first, prev = d["u"], d["U"], d.get("pu", -1)
                for side, key in ((1, "b"), (-1, "a")):
                    for p, q in d[key]:
                        rows.append((exch, local, 1, side, float(p), float(q), u, first, prev))
            elif kind == "trade":
                side = -1 if d["m"] else 1
                rows.append((exch, local, 4, side, float(d["p"]), float(d["q"]), d["t"], -1, -1))
            else:
                rows.append((exch, local, 5, 1, float(d["b"]), float(d["B"]), d["u"], -1, -1))
                rows.append((exch, local, 5, -1, float(d["a"]), float(d["A"]), d["u"], -1, -1))
    out = empty_events(len(rows))
    names = ("exch_ns", "local_ns", "kind", "side", "price", "qty", "update_id", "first_id",
             "prev_id")  # fmt: skip
    for name, values in zip(names, zip(*rows, strict=True), strict=True):
        out[name] = values
    return out


def best(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    fn()  # warm-up
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main() -> None:
    out: dict[str, object] = {"bench": "import_binance", **machine()}
    path = FOLDER / MAIN
    t_fast, stream = best(lambda: read_binance_stream(path), repeat=7)
    t_ref, ref = best(lambda: naive(path), repeat=2)
    events = stream.events  # type: ignore[attr-defined]
    ref_ev: EventArray = ref  # type: ignore[assignment]
    # Same trades and bookTickers; the naive parse keeps the 4 stale diffs and its snapshot rows
    # sit where the line is, so only the non-depth rows are compared one to one.
    for kind in (4, 5):
        a, b = events[events["kind"] == kind], ref_ev[ref_ev["kind"] == kind]
        for field in ("exch_ns", "local_ns", "side", "price", "qty", "update_id"):
            np.testing.assert_array_equal(a[field], b[field])
    rows = len(events)
    out[MAIN] = {
        "lines": sum(stream.sequence.messages.values()),  # type: ignore[attr-defined]
        "event_rows": rows,
        "read_binance_stream_s": round(t_fast, 4),
        "read_binance_stream_rows_per_s": round(rows / t_fast),
        "naive_json_s": round(t_ref, 3),
        "naive_json_rows": len(ref_ev),
        "naive_json_rows_per_s": round(len(ref_ev) / t_ref),
        "speedup": round(t_ref / t_fast, 1),
        "target_rows_per_s": 2_000_000,
    }
    for name, files in OTHERS.items():
        paths = [FOLDER / f for f in files]
        t, s = best(lambda p=paths: read_binance_stream(p), repeat=5)  # type: ignore[misc]
        n = len(s.events)  # type: ignore[attr-defined]
        out[name] = {"event_rows": n, "seconds": round(t, 4), "rows_per_s": round(n / t)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
