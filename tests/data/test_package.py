"""invrisk.data loads its public names on first use (PEP 562)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import invrisk.data as data


def test_every_public_name_resolves_from_its_module() -> None:
    assert sorted(data._SOURCES) == sorted(data.__all__)
    for name in data.__all__:
        value = getattr(data, name)
        module = sys.modules[f"invrisk.data.{data._SOURCES[name]}"]
        assert value is getattr(module, name)
    assert set(data.__all__) <= set(dir(data))


def test_events_alone_does_not_load_the_readers() -> None:
    code = (
        "import sys, invrisk.data.events\n"
        "loaded = [m for m in ('pyarrow', 'invrisk.data.catalog', 'invrisk.data.binance') "
        "if m in sys.modules]\n"
        "print(','.join(loaded))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        data.no_such_name  # noqa: B018
