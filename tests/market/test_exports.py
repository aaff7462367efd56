"""invrisk.market has a curated, sorted __all__ whose names exist."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize(
    "name", ["invrisk.market", "invrisk.market.book", "invrisk.market.features"]
)
def test_all_is_sorted_and_resolves(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=lambda s: (not s.isupper(), s))
    for member in exported:
        assert hasattr(module, member) and not member.startswith("_")
