"""Small pieces shared by the typer command modules (:mod:`invrisk.cli` and its sub-apps).

Output conventions: tables go to stdout through :func:`stdout_console`; errors go to stderr as
one ``error:`` line and the command exits with code 2; ``--json`` output is the object passed
through :func:`clean` (NaN/inf → ``null``, numpy scalars → Python numbers, paths → strings).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console

__all__ = ["clean", "fail", "print_json", "stdout_console"]


def stdout_console() -> Console:
    """The console for tables: the terminal's width, or 140 columns when piped.

    Piped, rich would assume 80 columns and truncate the tables.
    """
    console = Console()
    return console if console.is_terminal else Console(width=140)


def fail(err_console: Console, message: str, **print_kwargs: Any) -> typer.Exit:
    """Print ``error: message`` on ``err_console``; return the exit (code 2) to raise."""
    err_console.print(f"[bold red]error:[/] {message}", **print_kwargs)
    return typer.Exit(code=2)


def clean(obj: Any) -> Any:
    """JSON-ready: NaN/inf become None, numpy scalars become Python numbers, paths strings."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def print_json(obj: Any) -> None:
    """``obj`` through :func:`clean`, as indented JSON on stdout."""
    typer.echo(json.dumps(clean(obj), indent=2))
