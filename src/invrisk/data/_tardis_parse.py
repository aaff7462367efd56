"""The CSV side of :mod:`invrisk.data.tardis`: schemas, header, dataset and the defect scan.

The documented columns of each dataset (:data:`TARDIS_COLUMNS`, :data:`TARDIS_DATASETS` and the
:data:`TardisDataset` alias, re-exported by the public module), the column types given to
``pyarrow.csv``, reading the header and resolving the dataset (argument, file name, header),
and the pure-Python ``csv`` scan that names the row of a file pyarrow rejected.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from pathlib import Path
from typing import Literal, TypeAlias, get_args

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

from invrisk.errors import DataError

__all__ = ["TARDIS_COLUMNS", "TARDIS_DATASETS", "TardisDataset"]

TardisDataset: TypeAlias = Literal[
    "incremental_book_L2",
    "trades",
    "book_snapshot_25",
    "book_snapshot_5",
    "quotes",
    "book_ticker",
    "derivative_ticker",
]
TARDIS_DATASETS: tuple[str, ...] = get_args(TardisDataset)
"""The Tardis CSV datasets read here."""

_BASE = ("exchange", "symbol", "timestamp", "local_timestamp")


def _snapshot_columns(depth: int) -> tuple[str, ...]:
    out: list[str] = list(_BASE)
    for i in range(depth):
        out += [f"asks[{i}].price", f"asks[{i}].amount", f"bids[{i}].price", f"bids[{i}].amount"]
    return tuple(out)


_QUOTE_COLUMNS = (*_BASE, "ask_amount", "ask_price", "bid_price", "bid_amount")
TARDIS_COLUMNS: dict[str, tuple[str, ...]] = {
    "incremental_book_L2": (*_BASE, "is_snapshot", "side", "price", "amount"),
    "trades": (*_BASE, "id", "side", "price", "amount"),
    "book_snapshot_25": _snapshot_columns(25),
    "book_snapshot_5": _snapshot_columns(5),
    "quotes": _QUOTE_COLUMNS,
    "book_ticker": _QUOTE_COLUMNS,
    "derivative_ticker": (
        *_BASE,
        "funding_timestamp",
        "funding_rate",
        "predicted_funding_rate",
        "open_interest",
        "last_price",
        "index_price",
        "mark_price",
    ),
}
"""The documented columns of each dataset, in order
(https://docs.tardis.dev/downloadable-csv-files/data-types)."""

_UNUSED: dict[str, frozenset[str]] = {
    "derivative_ticker": frozenset({"funding_timestamp", "predicted_funding_rate", "last_price"}),
}
"""Documented columns the reader does not use (they may be absent)."""

_DOC = "https://docs.tardis.dev/downloadable-csv-files/data-types"
_NAME_PATTERN = re.compile(
    r"(?:^|_)(incremental_book_L2|book_snapshot_\d+|trades|quotes|book_ticker|"
    r"derivative_ticker|options_chain|liquidations)(?=_|\.|$)"
)

_STRING = pa.dictionary(pa.int32(), pa.string())


def _used_columns(dataset: str) -> tuple[str, ...]:
    unused = _UNUSED.get(dataset, frozenset())
    return tuple(c for c in TARDIS_COLUMNS[dataset] if c not in unused)


def _column_types(dataset: str) -> dict[str, pa.DataType]:
    types: dict[str, pa.DataType] = {}
    for name in _used_columns(dataset):
        if name in ("exchange", "symbol", "side"):
            types[name] = _STRING
        elif name in ("timestamp", "local_timestamp"):
            types[name] = pa.int64()
        elif name == "is_snapshot":
            types[name] = pa.bool_()
        elif name == "id":
            types[name] = pa.string()
        else:
            types[name] = pa.float64()
    return types


# -- header and dataset ------------------------------------------------------------------------


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _read_header(path: Path) -> list[str]:
    source = str(path)
    try:
        with _open_text(path) as handle:
            line = handle.readline()
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as exc:
        raise DataError(f"cannot read the file: {exc}", path=source) from exc
    if not line.strip():
        raise DataError("file is empty (no header)", path=source)
    return [name.strip().lstrip("\ufeff") for name in line.rstrip("\r\n").split(",")]


def _dataset_from_header(header: list[str]) -> str | None:
    names = set(header)
    if "is_snapshot" in names:
        return "incremental_book_L2"
    if "asks[0].price" in names or "bids[0].price" in names:
        depth = sum(1 for name in names if name.startswith("asks[") and name.endswith("].price"))
        return f"book_snapshot_{depth}"
    if "funding_rate" in names or "mark_price" in names or "open_interest" in names:
        return "derivative_ticker"
    if "ask_price" in names or "bid_price" in names:
        return "quotes"
    if "id" in names and "side" in names:
        return "trades"
    return None


def _resolve_dataset(path: Path, header: list[str], dataset: str | None) -> str:
    source = str(path)
    if dataset is None:
        match = _NAME_PATTERN.search(path.name)
        dataset = match.group(1) if match else _dataset_from_header(header)
        if dataset is None:
            raise DataError(
                "cannot tell which Tardis dataset this is from the file name or the header "
                f"{header}; pass dataset= (one of {', '.join(TARDIS_DATASETS)})",
                path=source,
            )
    if dataset == "options_chain":
        raise DataError(
            "options_chain files are read by invrisk.data.load_tardis_options_snapshot",
            path=source,
        )
    if dataset not in TARDIS_COLUMNS:
        raise DataError(
            f"Tardis dataset {dataset!r} is not supported: expected one of "
            f"{', '.join(TARDIS_DATASETS)}",
            path=source,
        )
    missing = [c for c in _used_columns(dataset) if c not in header]
    if missing:
        raise DataError(
            f"not a Tardis {dataset} file: missing column(s) {missing} (expected the documented "
            f"columns: {', '.join(TARDIS_COLUMNS[dataset])}; {_DOC})",
            path=source,
        )
    return dataset


# -- the pure-Python scan that names a defective row ---------------------------------------------


def _locate_defect(path: Path, dataset: str) -> DataError | None:
    """Scan the file with the ``csv`` module; the DataError of the first defective row, if any.

    It checks what pyarrow's parse checks: the field count and the text of every typed column.
    """
    source = str(path)
    types = _column_types(dataset)
    row = 0
    try:
        with _open_text(path) as handle:
            reader = csv.reader(handle)
            header = [name.strip().lstrip("\ufeff") for name in next(reader, [])]
            typed = [(header.index(name), name, kind) for name, kind in types.items()]
            for values in reader:
                if not values:
                    continue  # blank line: pyarrow skips it too
                row += 1
                if len(values) != len(header):
                    return DataError(
                        f"has {len(values)} fields, the header has {len(header)}",
                        path=source,
                        row=row,
                    )
                for i, name, kind in typed:
                    problem = _field_problem(values[i], kind)
                    if problem is not None:
                        return DataError(
                            f"column {name!r} is {values[i]!r}: {problem}", path=source, row=row
                        )
    except (OSError, EOFError, zlib.error) as exc:
        return DataError(
            f"the file is truncated or corrupt after data row {row}: {exc}",
            path=source,
            row=row + 1,
        )
    except UnicodeDecodeError as exc:
        return DataError(f"is not UTF-8 text: {exc}", path=source, row=row + 1)
    return None


def _field_problem(text: str, kind: pa.DataType) -> str | None:
    if text == "" or kind in (_STRING, pa.string()):
        return None
    if kind == pa.int64():
        digits = text[1:] if text[:1] in "+-" else text
        return None if digits.isascii() and digits.isdigit() else "expected an integer"
    if kind == pa.bool_():
        return None if text in ("true", "false") else "expected true or false"
    try:
        float(text)
    except ValueError:
        return "expected a number"
    return None
