"""Plain-HTML pieces shared by the reports: escaping, tables, the page shell, atomic writes.

No plotly here: charts are rendered by the report modules and passed in as HTML fragments.
"""

from __future__ import annotations

import contextlib
import html
import math
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from invrisk.errors import InvalidArgumentError

__all__ = [
    "esc",
    "key_value_table",
    "num",
    "page",
    "records_table",
    "table",
    "verdict",
    "write_atomic",
]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222}
h1{font-size:1.5em;margin-bottom:4px} h2{font-size:1.2em;margin-top:32px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right} th{background:#f3f3f3}
td.l,th.l{text-align:left} table.meta td{border:none;text-align:left;padding:1px 12px 1px 0}
.yes{color:#1b7f3b;font-weight:bold} .no{color:#b00020;font-weight:bold} .note{color:#666}
"""

Column = tuple[str, str, str]
"""(key in the record, column header, format spec; "" formats with ``str``)."""


def esc(value: object) -> str:
    """HTML-escape ``str(value)`` (quotes included)."""
    return html.escape(str(value), quote=True)


def num(x: float, spec: str) -> str:
    """``format(x, spec)``, or an en dash for NaN and infinities."""
    return format(x, spec) if math.isfinite(x) else "–"


def table(header: Sequence[str], rows: Iterable[Sequence[str]], *, left: int = 1) -> str:
    """An HTML table of text cells (escaped here); the first ``left`` columns align left."""

    def cells(tag: str, values: Sequence[str]) -> str:
        return "".join(
            f"<{tag}{' class=l' if j < left else ''}>{esc(v)}</{tag}>" for j, v in enumerate(values)
        )

    body = "".join(f"<tr>{cells('td', r)}</tr>" for r in rows)
    return f"<table><thead><tr>{cells('th', header)}</tr></thead><tbody>{body}</tbody></table>"


def records_table(
    records: Iterable[dict[str, Any]], columns: Sequence[Column], *, left: int = 1
) -> str:
    """A table with one row per dict and one column per :data:`Column`."""
    rows = [
        [num(r[key], spec) if spec else str(r[key]) for key, _, spec in columns] for r in records
    ]
    return table([header for _, header, _ in columns], rows, left=left)


def key_value_table(items: Iterable[tuple[str, str]]) -> str:
    """A borderless two-column table of labels and bold values (a page header)."""
    rows = "".join(f"<tr><td>{esc(a)}</td><td><b>{esc(b)}</b></td></tr>" for a, b in items)
    return f'<table class="meta">{rows}</table>'


def verdict(label: str, ok: bool) -> str:
    """A line ``label: yes`` (green) or ``label: no`` (red)."""
    word = "yes" if ok else "no"
    return f'<p>{esc(label)}: <span class="{word}">{word}</span></p>'


def page(title: str, body: Iterable[str]) -> str:
    """A complete HTML5 document: ``title`` as <title> and <h1>, then the body fragments."""
    head = f'<head><meta charset="utf-8"><title>{esc(title)}</title><style>{_CSS}</style></head>'
    parts = ["<!DOCTYPE html>", '<html lang="en">', head, "<body>", f"<h1>{esc(title)}</h1>"]
    return "\n".join([*parts, *body, "</body>", "</html>", ""])


def write_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same directory.

    ``os.replace`` swaps it in, so a reader never sees a half-written file, and a failure
    leaves no temporary file behind. The directory must exist.
    """
    if not isinstance(path, str | os.PathLike):
        raise InvalidArgumentError("path", type(path).__name__, "a file path (str or PathLike)")
    target = Path(path)
    if target.is_dir() or not target.parent.is_dir():
        raise InvalidArgumentError("path", str(target), "a file path in an existing directory")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is meant to be read by others
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target
