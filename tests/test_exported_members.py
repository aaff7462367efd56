"""Every public package has a curated, sorted ``__all__`` whose names exist."""

from __future__ import annotations

import importlib

import pytest

PUBLIC_MODULES = [
    "invrisk",
    "invrisk.errors",
    "invrisk.units",
    "invrisk.instruments",
    "invrisk.option_chain",
    "invrisk.pricing",
    "invrisk.data",
    "invrisk.surface",
    "invrisk.report",
    "invrisk.market",
    "invrisk.quoting",
    "invrisk.risk",
    "invrisk.strategy",
    "invrisk.order_manager",
    "invrisk.backtest",
    "invrisk.strategies",
    "invrisk.config",
    "invrisk.hedging",
    "invrisk.store",
    "invrisk.live",
    "invrisk.amm",
]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_is_sorted_and_resolves(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert list(exported) == sorted(exported, key=lambda s: (not s.isupper(), s)) or list(
        exported
    ) == sorted(exported)
    for member in exported:
        assert hasattr(module, member), f"{name}.{member} is in __all__ but missing"
        assert not member.startswith("_") or member == "__version__"
