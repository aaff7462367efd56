"""Fixtures shared by the risk tests."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from invrisk.data import OptionChain, synthetic_chain
from invrisk.instruments import parse_ccxt, parse_deribit
from invrisk.risk import MarketSnapshot, Portfolio, Position
from invrisk.units import NS_PER_DAY

# -- a synthetic two-coin market and a mixed book -----------------------------------------------


def _merged_snapshot(chains: list[OptionChain], marks: dict[str, float]) -> MarketSnapshot:
    parts = [MarketSnapshot.from_chain(c) for c in chains]
    return MarketSnapshot(
        valuation_ns=parts[0].valuation_ns,
        index_usd={k: v for p in parts for k, v in p.index_usd.items()},
        surfaces={k: v for p in parts for k, v in p.surfaces.items()},
        marks=marks,
        option_quotes={k: v for p in parts for k, v in p.option_quotes.items()},
    )


def _expiry_label(chain: OptionChain, days: int) -> str:
    e = chain.expiries()
    target = int(chain.valuation_ns[0]) + days * NS_PER_DAY
    pick = int(e[np.argmin(np.abs(e - target))])
    name = next(str(n) for n, x in zip(chain.instrument, chain.expiry_ns, strict=True) if x == pick)
    return name.split("-")[1]


@pytest.fixture(scope="module")
def synthetic() -> tuple[MarketSnapshot, Portfolio, OptionChain]:
    btc = synthetic_chain(currency="BTC", index_usd=90_000.0, expiry_days=(7, 28, 91, 182, 364))
    eth = synthetic_chain(currency="ETH", index_usd=3_000.0, expiry_days=(7, 28, 91, 182))
    m_label = _expiry_label(btc, 91)
    marks = {
        "BTC-PERPETUAL": 90_050.0,
        f"BTC-{m_label}": 91_300.0,
        "binance:BTC/USDT:USDT": 90_030.0,
        "BTC_USDC": 90_010.0,
        "ETH-PERPETUAL": 3_001.5,
    }
    market = _merged_snapshot([btc, eth], marks)
    # Quotes for the linear (USDC) options: the inverse twin's forward and vol.
    quotes = dict(market.option_quotes)
    rng = np.random.default_rng(11)
    positions = []
    for chain in (btc, eth):
        picks = rng.choice(len(chain), 14, replace=False)
        for i in picks:
            name = str(chain.instrument[i])
            positions.append(
                Position(instrument=parse_deribit(name), contracts=float(rng.integers(-30, 31)))
            )
    for i in rng.choice(len(btc), 4, replace=False):
        name = str(btc.instrument[i]).replace("BTC-", "BTC_USDC-", 1)
        quotes[name] = market.option_quotes[str(btc.instrument[i])]
        positions.append(
            Position(instrument=parse_deribit(name), contracts=float(rng.integers(-20, 21)))
        )
    positions += [
        Position(instrument=parse_deribit("BTC-PERPETUAL"), contracts=-40_000, entry_price=88_000),
        Position(instrument=parse_deribit(f"BTC-{m_label}"), contracts=25_000),
        Position(instrument=parse_ccxt("BTC/USDT:USDT", venue="binance"), contracts=3.0),
        Position(instrument=parse_deribit("BTC_USDC"), contracts=-1.25),
        Position(instrument=parse_deribit("ETH-PERPETUAL"), contracts=150_000, entry_price=3_100),
    ]
    market = dataclasses.replace(market, option_quotes=quotes)
    return market, Portfolio(positions), btc
