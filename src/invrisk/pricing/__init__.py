"""Option pricing: Black-76 / Black–Scholes–Merton Greeks, coin-settled options, implied vol.

Every function is vectorised (numpy broadcasting), takes keyword arguments, validates its
input at the boundary and runs a numba kernel with a pure-Python twin (``backend="python"``).
"""

from __future__ import annotations

from invrisk.pricing.black import Greeks, black76, black76_price, bsm, bsm_price
from invrisk.pricing.coin import (
    CoinGreeks,
    DeribitGreeks,
    coin_greeks,
    coin_price,
    deribit_greeks,
    deribit_theta_per_day,
)
from invrisk.pricing.implied import (
    ImpliedVol,
    IVStatus,
    implied_vol,
    implied_vol_bsm,
    implied_vol_coin,
)

__all__ = [
    "CoinGreeks",
    "DeribitGreeks",
    "Greeks",
    "IVStatus",
    "ImpliedVol",
    "black76",
    "black76_price",
    "bsm",
    "bsm_price",
    "coin_greeks",
    "coin_price",
    "deribit_greeks",
    "deribit_theta_per_day",
    "implied_vol",
    "implied_vol_bsm",
    "implied_vol_coin",
]
