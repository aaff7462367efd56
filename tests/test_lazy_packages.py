"""invrisk.data and invrisk.risk load their public names on first use (PEP 562)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

PACKAGES = ["invrisk.data", "invrisk.risk"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_resolves_from_its_module(package: str) -> None:
    pkg = importlib.import_module(package)
    assert sorted(pkg._SOURCES) == sorted(pkg.__all__)
    for name in pkg.__all__:
        value = getattr(pkg, name)
        module = sys.modules[f"{package}.{pkg._SOURCES[name]}"]
        assert value is getattr(module, name)
    assert set(pkg.__all__) <= set(dir(pkg))


@pytest.mark.parametrize(
    ("module", "heavy"),
    [
        ("invrisk.data.events", ("pyarrow", "invrisk.data.catalog", "invrisk.data.binance")),
        # the backtester's RiskGuard without the portfolio, surface and VaR machinery
        ("invrisk.risk.limits", ("invrisk.risk.portfolio", "invrisk.surface", "scipy.stats")),
    ],
)
def test_one_module_does_not_load_the_rest(module: str, heavy: tuple[str, ...]) -> None:
    code = f"import sys, {module}\nprint(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("package", PACKAGES)
def test_unknown_name_is_an_attribute_error(package: str) -> None:
    pkg = importlib.import_module(package)
    with pytest.raises(AttributeError, match="no_such_name"):
        pkg.no_such_name  # noqa: B018
