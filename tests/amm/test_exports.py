"""``invrisk.amm`` exports a sorted ``__all__`` of names that exist, and stays in layer 1: it
imports only layer 0 (units, errors, _typing, _checks, instruments) of invrisk."""

from __future__ import annotations

import subprocess
import sys

import invrisk.amm as amm


def test_all_is_sorted_and_resolves() -> None:
    exported = list(amm.__all__)
    assert exported == sorted(exported, key=lambda s: (not s.isupper(), s))
    for name in exported:
        assert hasattr(amm, name), name
        assert not name.startswith("_")


def test_amm_imports_only_layer_zero() -> None:
    code = (
        "import sys, invrisk.amm\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith('invrisk'))))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(res.stdout.strip().split(","))
    allowed_layer0 = {
        "invrisk",
        "invrisk.units",
        "invrisk.errors",
        "invrisk._typing",
        "invrisk._checks",
        "invrisk.instruments",
    }
    outside = {m for m in loaded if not m.startswith("invrisk.amm")} - allowed_layer0
    assert not outside, outside
