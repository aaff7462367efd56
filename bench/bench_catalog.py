"""Catalog throughput: write ~50 million events to the Parquet catalog, stream them back.

Prints one JSON line. The events are built here in chunks with numpy (EVENT_DTYPE; a seeded
random-walk book stream: 60% depth updates, 25% BBO rows, 15% trades, exponential gaps with a
mean of 5 ms, so 50M rows span about 2.9 days: three daily partitions) and never held in
memory at once. Measured:

* ``write``: :meth:`Catalog.import_chunks` (sha256 of the rows as the source id, routing to
  daily parts, zstd Parquet with delta-encoded int64 columns). Generation time is excluded.
* ``read``: :meth:`Catalog.iter_events` over the whole range (chunks of 2**20 rows), checked
  against the row count and sums kept while generating; peak RSS of the read phase alone
  (``VmHWM`` after resetting it through ``/proc/self/clear_refs``; target < 4 GB).
* ``window``: one hour in the middle of the range, trades only (filters pushed to row groups).
* ``merge``: a second source repeating the first ``--overlap`` rows (an overlapping
  re-recording) is imported and the first day is streamed again: the k-way merge and the
  de-duplication must return each row once.

Usage: ``python bench/bench_catalog.py [--events N] [--dir DIR] [--keep]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine

from invrisk.data.catalog import Catalog
from invrisk.data.events import EVENT_DTYPE, EventArray, EventKind
from invrisk.units import NS_PER_HOUR, to_ns

START_NS = to_ns("2024-08-08T00:00:00Z")
MEAN_GAP_NS = 5_000_000
CHUNK = 1 << 20
SEED = 4


class Stream:
    """Seeded chunks of a random-walk book stream, continuous across chunks."""

    def __init__(self, n: int, seed: int = SEED) -> None:
        self.n = n
        self.rng = np.random.default_rng(seed)
        self.t_ns = START_NS
        self.mid_tick = 600_000  # 60,000.0 at tick 0.1
        self.uid = 5_000_000_000
        self.gen_s = 0.0
        self.qty_sum = 0.0
        self.last_local_ns = 0

    def chunks(self, size: int = CHUNK) -> Iterator[EventArray]:
        done = 0
        while done < self.n:
            t0 = time.perf_counter()
            ev = self._chunk(min(size, self.n - done))
            self.gen_s += time.perf_counter() - t0
            done += len(ev)
            yield ev

    def _chunk(self, n: int) -> EventArray:
        rng = self.rng
        ev = np.zeros(n, dtype=EVENT_DTYPE)
        local = self.t_ns + np.cumsum(rng.exponential(MEAN_GAP_NS, n).astype(np.int64) + 1)
        self.t_ns = int(local[-1])
        ev["local_ns"] = local
        ev["exch_ns"] = local - rng.integers(500_000, 3_000_000, n)
        u = rng.random(n)
        kind = np.where(
            u < 0.6, EventKind.DEPTH, np.where(u < 0.85, EventKind.BBO, EventKind.TRADE)
        )
        ev["kind"] = kind
        side = np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8)
        ev["side"] = side
        mid = self.mid_tick + np.cumsum(rng.integers(-1, 2, n) * (rng.random(n) < 0.05))
        self.mid_tick = int(mid[-1])
        offset = np.where(kind == EventKind.DEPTH, rng.integers(0, 50, n), 0)
        tick = np.where(side > 0, mid - offset, mid + 1 + offset)
        ev["price"] = tick * 0.1
        qty = rng.integers(0, 5000, n) * 0.001
        ev["qty"] = qty
        uid = self.uid + np.arange(1, n + 1)
        self.uid = int(uid[-1])
        depth = kind == EventKind.DEPTH
        ev["update_id"] = uid
        ev["first_id"] = np.where(depth, uid - 3, -1)
        ev["prev_id"] = np.where(depth, uid - 4, -1)
        self.qty_sum += float(qty.sum())
        return ev


def take(chunks: Iterator[EventArray], n: int) -> Iterator[EventArray]:
    """The first ``n`` rows of a chunk stream (the same rows as the stream's start)."""
    for chunk in chunks:
        if n <= 0:
            return
        yield chunk[:n]
        n -= len(chunk)


def reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def rss_mb() -> float:
    """Current resident set size (MB = 2**20 bytes)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000_000)
    parser.add_argument("--overlap", type=int, default=5_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="catalog directory (default: tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the catalog afterwards")
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="invrisk-bench-catalog-"))
    out: dict[str, object] = {"bench": "catalog", **machine(), "events": args.events}
    try:
        cat = Catalog(root)
        stream = Stream(args.events)
        reset_peak_rss()
        t0 = time.perf_counter()
        result = cat.import_chunks(
            stream.chunks(), venue="bench", symbol="SYNTH", total_rows=args.events
        )
        wall = time.perf_counter() - t0
        write_s = wall - stream.gen_s
        disk = sum(p.bytes for p in result.parts)
        out["write"] = {
            "rows_per_s": round(args.events / write_s),
            "seconds": round(write_s, 2),
            "generate_seconds": round(stream.gen_s, 2),
            "parts": len(result.parts),
            "bytes": disk,
            "bytes_per_row": round(disk / args.events, 2),
            "peak_rss_mb": round(peak_rss_mb()),
        }

        reset_peak_rss()
        rss_before_read = rss_mb()
        t0 = time.perf_counter()
        rows, qty_sum, last, monotone = 0, 0.0, START_NS, True
        for chunk in cat.iter_events("bench", "SYNTH"):
            rows += len(chunk)
            qty_sum += float(chunk["qty"].sum())
            monotone &= bool(chunk["local_ns"][0] >= last)
            last = int(chunk["local_ns"][-1])
        read_s = time.perf_counter() - t0
        assert rows == args.events and monotone and last == stream.t_ns
        assert abs(qty_sum - stream.qty_sum) <= 1e-6 * max(1.0, stream.qty_sum)
        out["read"] = {
            "rows_per_s": round(rows / read_s),
            "seconds": round(read_s, 2),
            "peak_rss_mb": round(peak_rss_mb()),
            "rss_at_start_mb": round(rss_before_read),
        }

        mid_ns = START_NS + (stream.t_ns - START_NS) // 2
        t0 = time.perf_counter()
        window = cat.events("bench", "SYNTH", mid_ns, mid_ns + NS_PER_HOUR, kinds=[EventKind.TRADE])
        out["window"] = {
            "rows": len(window),
            "ms": round((time.perf_counter() - t0) * 1e3, 1),
            "what": "1 hour, trades only",
        }

        if args.overlap:
            dup = cat.import_chunks(
                take(Stream(args.events).chunks(), min(args.overlap, args.events)),
                venue="bench",
                symbol="SYNTH",
                source_id="overlap-" + result.source_id,
            )
            day_end = START_NS + 86_400 * 10**9
            reset_peak_rss()
            t0 = time.perf_counter()
            merged_rows = 0
            for chunk in cat.iter_events("bench", "SYNTH", START_NS, day_end):
                merged_rows += len(chunk)
            merge_s = time.perf_counter() - t0
            stored = sum(p.rows for p in result.parts if p.date == "2024-08-08") + sum(
                p.rows for p in dup.parts if p.date == "2024-08-08"
            )
            first_day = sum(p.rows for p in result.parts if p.date == "2024-08-08")
            assert merged_rows == first_day, (merged_rows, first_day)
            out["merge"] = {
                "rows_stored": stored,
                "rows_returned": merged_rows,
                "rows_per_s_stored": round(stored / merge_s),
                "seconds": round(merge_s, 2),
                "peak_rss_mb": round(peak_rss_mb()),
            }
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    out["catalog"] = str(root) if args.keep else None
    out["pid_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
