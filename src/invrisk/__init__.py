"""invrisk: inventory-risk optimization for crypto market making and derivatives."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
