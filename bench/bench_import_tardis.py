"""Import speed of Tardis CSV files: invrisk.data.read_tardis against csv.DictReader.

Prints one JSON line. The files are the two real Tardis-format files of
``shared/data/binance_l2_trades_2024-08-08_hftbacktest/derived_tardis_format`` (445,262
``incremental_book_L2`` rows, 21,313 ``trades`` rows, gzip). The reference, timed in the same
run on the same files, is the plain approach: ``csv.DictReader`` over ``gzip.open``, converting
each row in Python and filling an EVENT_DTYPE array at the end; its events are compared with
read_tardis's (they must be equal). Target: >= 2 M rows/s for each file.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine

from invrisk.data.events import EventArray, empty_events
from invrisk.data.tardis import read_tardis
from invrisk.errors import DataWarning

FOLDER = Path(
    os.environ.get("INVRISK_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
) / ("binance_l2_trades_2024-08-08_hftbacktest/derived_tardis_format")
FILES = {
    "incremental_book_L2": (
        "binance-futures_incremental_book_L2_2024-08-08_BTCUSDT_2354-2359UTC.csv.gz"
    ),
    "trades": "binance-futures_trades_2024-08-08_BTCUSDT_2354-2359UTC.csv.gz",
}
SIDES = {"bid": 1, "ask": -1, "buy": 1, "sell": -1, "unknown": 0}


def dictreader(path: Path, dataset: str) -> tuple[EventArray, int]:
    """The naive reference: DictReader rows -> Python lists -> an event array."""
    rows: list[tuple[int, int, int, int, float, float, int]] = []
    previous = False
    n = 0
    with gzip.open(path, "rt", newline="") as handle:
        for rec in csv.DictReader(handle):
            n += 1
            t = int(rec["timestamp"]) * 1000
            lt = int(rec["local_timestamp"]) * 1000
            side = SIDES[rec["side"]]
            price, qty = float(rec["price"]), float(rec["amount"])
            if dataset == "trades":
                rows.append((t, lt, 4, side, price, qty, int(rec["id"])))
                continue
            snap = rec["is_snapshot"] == "true"
            if snap and not previous:
                rows.append((t, lt, 3, 0, 0.0, 0.0, -1))
            previous = snap
            rows.append((t, lt, 2 if snap else 1, side, price, qty, -1))
    out = empty_events(len(rows))
    columns = list(zip(*rows, strict=True))
    for name, values in zip(
        ("exch_ns", "local_ns", "kind", "side", "price", "qty", "update_id"), columns, strict=True
    ):
        out[name] = values
    return out, n


def best(fn, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    fn()  # warm-up
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main() -> None:
    warnings.simplefilter("ignore", DataWarning)  # the L2 file's one known local-time step back
    out: dict[str, object] = {"bench": "import_tardis", **machine()}
    for dataset, name in FILES.items():
        path = FOLDER / name
        t_fast, data = best(lambda p=path: read_tardis(p), repeat=7)
        t_ref, (ref, rows) = best(lambda p=path, d=dataset: dictreader(p, d), repeat=2)
        events = data.events  # type: ignore[attr-defined]
        for field in ("exch_ns", "local_ns", "kind", "side", "price", "qty", "update_id"):
            np.testing.assert_array_equal(events[field], ref[field])
        out[dataset] = {
            "rows": rows,
            "events": len(events),
            "read_tardis_s": round(t_fast, 4),
            "read_tardis_rows_per_s": round(rows / t_fast),
            "dictreader_s": round(t_ref, 3),
            "dictreader_rows_per_s": round(rows / t_ref),
            "speedup": round(t_ref / t_fast, 1),
            "target_rows_per_s": 2_000_000,
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
