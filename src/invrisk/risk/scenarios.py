"""Scenario revaluation: spot x vol grids, term-weighted vol shocks, historical stresses, TOML.

A :class:`Scenario` moves each coin's index by a relative ``spot_return`` (every forward and
mark of the coin moves with it) and then shocks every option's implied vol:

    σ'' = σ' · (1 + vol_relative · W) + vol_shift · W + vol_skew · k,     k = ln(K / F'),

where σ' is the option's vol after the spot move under the chosen smile dynamics
(``"sticky_strike"``: each strike keeps its vol; ``"sticky_moneyness"``: each ln(K/F) keeps its
vol, see :meth:`~invrisk.surface.VolSurface.moved`) plus the option's quote-minus-surface vol
residual, and W is the :class:`TermWeighting` of the option's days to expiry d:
``(reference_days / d) ** power_short`` for ``d < reference_days`` and
``(reference_days / d) ** power_long`` beyond (short expiries move more when the powers are
positive; with both powers equal this is :class:`~invrisk.surface.VolShock`'s weighting). A
shock that leaves a vol at or below zero is an error naming the scenario and the position: it
is not floored.

:func:`revalue` fully revalues a portfolio under many scenarios at once (all options of all
scenarios in one call of the Black-76 kernel); :func:`spot_vol_grid` builds and revalues the
usual spot x parallel-vol grid. :data:`HISTORICAL_STRESSES` holds named crash scenarios and
:func:`load_scenarios` reads user scenarios from TOML.

Historical stresses
-------------------
Spot moves are measured in the shared market data (``shared/data``, files named below; the
tests recompute them). Vol moves are this library's assumptions, graded [C]: the shared data
holds no implied-vol history for these dates, and the published figures quoted beside each are
secondary reports of one-month implied vol levels, not of a one-day change. Coins without their
own move take the BTC move. Every stress uses :data:`DERIBIT_LIKE_TERMS` weighting (Deribit's
portfolio-margin form, powers 0.3 below 30 days and 0.13 beyond, REFERENCES.md [C]).

TOML format
-----------
::

    [[scenario]]
    name = "btc -20%, vols +15 pts"
    spot_return = -0.20          # relative index move of every coin
    vol_shift = 0.15             # decimal vol added at the reference maturity
    vol_relative = 0.0           # multiplicative vol change at the reference maturity
    vol_skew = 0.0               # vol per unit of ln(K/F)
    description = "..."
    [scenario.spot_returns]      # optional per-coin moves
    ETH = -0.25
    [scenario.term]              # optional; default flat (W = 1)
    reference_days = 30.0
    power_short = 0.3
    power_long = 0.13

    [[scenario]]
    historical = "ftx_2022_11"   # one of HISTORICAL_STRESSES (nothing else but an optional name)

``examples/scenarios_btc.toml`` is a worked example.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from invrisk._checks import read_toml
from invrisk._typing import ArrayLike, Float64Array
from invrisk.errors import InvalidArgumentError
from invrisk.risk._book import DYNAMICS, Book, Dynamics, book_values, build_book, surface_vols
from invrisk.risk.portfolio import MarketSnapshot, Portfolio
from invrisk.units import DAYS_PER_YEAR

__all__ = [
    "DERIBIT_LIKE_TERMS",
    "FLAT_TERMS",
    "HISTORICAL_STRESSES",
    "Scenario",
    "ScenarioGrid",
    "ScenarioResult",
    "TermWeighting",
    "historical_stress",
    "load_scenarios",
    "revalue",
    "spot_vol_grid",
]


def _finite(name: str, value: object) -> float:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number):
            return number
    raise InvalidArgumentError(name, value, "a finite number")


@dataclass(frozen=True, slots=True, kw_only=True)
class TermWeighting:
    """Weight W(d) of a vol shock at d days to expiry (see the module docstring).

    Attributes
    ----------
    reference_days
        Days at which W = 1 (> 0).
    power_short, power_long
        Exponents (>= 0) below and beyond ``reference_days``.

    Examples
    --------
    >>> w = TermWeighting(power_short=0.3, power_long=0.13)
    >>> [round(float(x), 4) for x in w.weight([7.0, 30.0, 365.0])]
    [1.5474, 1.0, 0.7226]
    """

    reference_days: float = 30.0
    power_short: float = 0.0
    power_long: float = 0.0

    def __post_init__(self) -> None:
        for name in ("reference_days", "power_short", "power_long"):
            object.__setattr__(self, name, _finite(name, getattr(self, name)))
        if not self.reference_days > 0.0:
            raise InvalidArgumentError("reference_days", self.reference_days, "days > 0")
        for name in ("power_short", "power_long"):
            if getattr(self, name) < 0.0:
                raise InvalidArgumentError(name, getattr(self, name), "an exponent >= 0")

    def weight(self, days: ArrayLike) -> Float64Array:
        """W at each number of days to expiry (> 0)."""
        d = np.asarray(days, dtype=np.float64)
        if not np.all(d > 0.0):
            raise InvalidArgumentError("days", "values <= 0 or NaN", "days to expiry > 0")
        ratio = self.reference_days / d
        return np.asarray(
            np.where(d < self.reference_days, ratio**self.power_short, ratio**self.power_long)
        )


FLAT_TERMS = TermWeighting()
"""W = 1 at every expiry."""

DERIBIT_LIKE_TERMS = TermWeighting(reference_days=30.0, power_short=0.3, power_long=0.13)
"""(30/d)^0.3 below 30 days, (30/d)^0.13 beyond: the form of Deribit's portfolio-margin vol
shock (REFERENCES.md, graded [C]: the structure is documented, the exact numbers are not)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """A market move: index returns per coin and an implied-vol shock (keyword-only).

    Attributes
    ----------
    name
        Non-empty id.
    spot_return
        Relative move of every coin's index (> -1), e.g. -0.3.
    spot_returns
        Per-coin overrides of ``spot_return`` (``{"ETH": -0.45}``).
    vol_shift, vol_relative, vol_skew
        Additive (decimal vol), multiplicative and per-unit-log-moneyness vol changes; the
        first two scaled by ``term``.
    term
        :class:`TermWeighting` of the shock across expiries.
    description, source
        Free text: what happened and where the numbers come from.
    """

    name: str
    spot_return: float = 0.0
    spot_returns: Mapping[str, float] = field(default_factory=dict)
    vol_shift: float = 0.0
    vol_relative: float = 0.0
    vol_skew: float = 0.0
    term: TermWeighting = FLAT_TERMS
    description: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidArgumentError("name", self.name, "a non-empty scenario name")
        for name in ("spot_return", "vol_shift", "vol_relative", "vol_skew"):
            object.__setattr__(self, name, _finite(f"{self.name}: {name}", getattr(self, name)))
        if not self.spot_return > -1.0:
            raise InvalidArgumentError(f"{self.name}: spot_return", self.spot_return, "> -1")
        if not isinstance(self.spot_returns, Mapping):
            raise InvalidArgumentError(
                f"{self.name}: spot_returns", self.spot_returns, "a mapping coin -> return"
            )
        moves = {}
        for coin, value in self.spot_returns.items():
            r = _finite(f"{self.name}: spot_returns[{coin!r}]", value)
            if not r > -1.0:
                raise InvalidArgumentError(f"{self.name}: spot_returns[{coin!r}]", value, "> -1")
            moves[str(coin)] = r
        object.__setattr__(self, "spot_returns", MappingProxyType(moves))
        if not isinstance(self.term, TermWeighting):
            raise InvalidArgumentError(f"{self.name}: term", self.term, "a TermWeighting")

    def __hash__(self) -> int:
        return hash((self.name, self.spot_return, tuple(sorted(self.spot_returns.items()))))

    def spot_return_for(self, coin: str) -> float:
        """The index return of ``coin``."""
        return self.spot_returns.get(coin, self.spot_return)


# -- revaluation --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class ScenarioResult:
    """Full revaluation of a portfolio under m scenarios (arrays (m, n positions)).

    Attributes
    ----------
    scenarios, dynamics
        What was applied.
    labels, underlying
        Positions and their coins.
    base_value_usd, base_value_coin
        Values in the snapshot (n,); coin values are in each position's own coin.
    value_usd, value_coin
        Values in each scenario (m, n); coin values at the scenario's index.
    """

    scenarios: tuple[Scenario, ...]
    dynamics: str
    labels: tuple[str, ...]
    underlying: tuple[str, ...]
    base_value_usd: Float64Array
    base_value_coin: Float64Array
    value_usd: Float64Array
    value_coin: Float64Array

    @property
    def pnl_usd(self) -> Float64Array:
        """(m, n) USD PnL per scenario and position."""
        return np.asarray(self.value_usd - self.base_value_usd)

    @property
    def pnl_coin(self) -> Float64Array:
        """(m, n) PnL in each position's own coin (value in coin after minus before)."""
        return np.asarray(self.value_coin - self.base_value_coin)

    def total_pnl_usd(self) -> Float64Array:
        """(m,) portfolio USD PnL per scenario."""
        return np.asarray(self.pnl_usd.sum(axis=1))

    def total_pnl_coin(self, coin: str) -> Float64Array:
        """(m,) PnL in ``coin`` of the positions on ``coin``."""
        sel = np.array([u == coin for u in self.underlying], dtype=np.bool_)
        if not sel.any():
            raise InvalidArgumentError("coin", coin, f"one of {sorted(set(self.underlying))}")
        return np.asarray(self.pnl_coin[:, sel].sum(axis=1))

    def worst(self) -> tuple[Scenario, float]:
        """The scenario with the lowest portfolio USD PnL, and that PnL."""
        total = self.total_pnl_usd()
        k = int(np.argmin(total))
        return self.scenarios[k], float(total[k])


def revalue(
    portfolio: Portfolio,
    market: MarketSnapshot,
    scenarios: Sequence[Scenario],
    *,
    dynamics: Dynamics = "sticky_strike",
) -> ScenarioResult:
    """Fully revalue ``portfolio`` under each scenario.

    Raises
    ------
    InvalidArgumentError
        If ``dynamics`` is unknown, ``scenarios`` is empty, a position cannot be valued (named),
        or a scenario's shock makes an implied vol <= 0 (scenario and position named).

    Examples
    --------
    A linear perpetual (1 BTC, mark = index = 50,000) under -10%: -5,000 USD.

    >>> from invrisk.instruments import parse_ccxt
    >>> from invrisk.risk import Position
    >>> book = Portfolio([Position(instrument=parse_ccxt("BTC/USDT:USDT"), contracts=1)])
    >>> m = MarketSnapshot(valuation_ns=0, index_usd={"BTC": 5e4}, marks={"BTC/USDT:USDT": 5e4})
    >>> revalue(book, m, [Scenario(name="down", spot_return=-0.1)]).total_pnl_usd().round(6)
    array([-5000.])
    """
    if dynamics not in DYNAMICS:
        raise InvalidArgumentError("dynamics", dynamics, "'sticky_strike' or 'sticky_moneyness'")
    scen = tuple(scenarios)
    if not scen or not all(isinstance(s, Scenario) for s in scen):
        raise InvalidArgumentError("scenarios", scenarios, "a non-empty sequence of Scenario")
    book = build_book(portfolio, market)
    ones = np.ones((1, len(book.coins)))
    base_usd, base_coin = book_values(book, spot_factor=ones, vol=book.vol[None, :])
    value_usd, value_coin = _revalue_book(book, scen, dynamics)
    return ScenarioResult(
        scenarios=scen,
        dynamics=dynamics,
        labels=book.labels,
        underlying=tuple(book.coins[c] for c in book.coin),
        base_value_usd=base_usd[0],
        base_value_coin=base_coin[0],
        value_usd=value_usd,
        value_coin=value_coin,
    )


def _revalue_book(
    book: Book, scenarios: tuple[Scenario, ...], dynamics: Dynamics
) -> tuple[Float64Array, Float64Array]:
    returns = np.array([[s.spot_return_for(c) for c in book.coins] for s in scenarios])
    returns = returns.reshape(len(scenarios), len(book.coins))
    factor = 1.0 + returns
    if not book.n_options:
        return book_values(book, spot_factor=factor, vol=np.empty((len(scenarios), 0)))
    # One surface evaluation per distinct spot move (a 21 x 9 grid has 21).
    distinct, which = np.unique(returns, axis=0, return_inverse=True)
    opt_coin = book.coin[book.opt]
    moved = np.stack(
        [
            surface_vols(
                book.opt,
                book.strike,
                book.expiry_ns,
                opt_coin,
                book.surfaces,
                row,
                dynamics,
                labels=book.labels,
            )
            for row in distinct
        ]
    )
    vol = moved[np.asarray(which).reshape(-1)]
    if np.any(book.vol_residual != 0.0):
        vol += book.vol_residual
    days = book.t_yr * DAYS_PER_YEAR
    terms = {s.term for s in scenarios}
    if len(terms) == 1:
        w = terms.pop().weight(days)[None, :]  # one weighting: broadcast, no copies
    else:
        weights = {t: t.weight(days) for t in terms}
        w = np.stack([weights[s.term] for s in scenarios])
    rel = np.array([s.vol_relative for s in scenarios])[:, None]
    shift = np.array([s.vol_shift for s in scenarios])[:, None]
    skew = np.array([s.vol_skew for s in scenarios])[:, None]
    shocked = vol if not np.any(rel != 0.0) else vol * (1.0 + rel * w)
    shocked = shocked + shift * w
    if np.any(skew != 0.0):
        spot = book.index_usd[opt_coin] * factor[:, opt_coin]
        shocked += skew * np.log(book.strike / (spot * book.fwd_ratio))
    bad = ~(shocked > 0.0)
    if bad.any():
        s, k = (int(x) for x in np.argwhere(bad)[0])
        raise InvalidArgumentError(
            f"scenario {scenarios[s].name!r}",
            f"implied vol {shocked[s, k]:.6g} for position {book.labels[int(book.opt[k])]!r}",
            "a vol shock that leaves every implied vol > 0",
        )
    return book_values(book, spot_factor=factor, vol=shocked)


@dataclass(frozen=True, slots=True, eq=False)
class ScenarioGrid:
    """A spot x parallel-vol grid (see :func:`spot_vol_grid`).

    Attributes
    ----------
    spot_returns, vol_shifts
        The axes (a,) and (b,).
    result
        The revaluation of the a·b scenarios, spot-major (scenario ``i * b + j`` is spot
        ``i``, vol ``j``).
    """

    spot_returns: Float64Array
    vol_shifts: Float64Array
    result: ScenarioResult

    @property
    def pnl_usd(self) -> Float64Array:
        """(a, b) portfolio USD PnL."""
        return np.asarray(self.result.total_pnl_usd().reshape(self.shape))

    @property
    def position_pnl_usd(self) -> Float64Array:
        """(a, b, n) USD PnL per position."""
        return np.asarray(self.result.pnl_usd.reshape(*self.shape, -1))

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.spot_returns.shape[0]), int(self.vol_shifts.shape[0]))


def spot_vol_grid(
    portfolio: Portfolio,
    market: MarketSnapshot,
    *,
    spot_returns: ArrayLike,
    vol_shifts: ArrayLike,
    dynamics: Dynamics = "sticky_strike",
    term: TermWeighting = FLAT_TERMS,
) -> ScenarioGrid:
    """Revalue on every (spot return, parallel vol shift) pair; every coin moves together.

    Examples
    --------
    >>> from invrisk.instruments import parse_ccxt
    >>> from invrisk.risk import Position
    >>> book = Portfolio([Position(instrument=parse_ccxt("BTC/USDT:USDT"), contracts=1)])
    >>> m = MarketSnapshot(valuation_ns=0, index_usd={"BTC": 5e4}, marks={"BTC/USDT:USDT": 5e4})
    >>> spot_vol_grid(book, m, spot_returns=[-0.1, 0.1], vol_shifts=[0.0]).pnl_usd.round(6)
    array([[-5000.],
           [ 5000.]])
    """
    s = np.asarray(spot_returns, dtype=np.float64)
    v = np.asarray(vol_shifts, dtype=np.float64)
    for name, axis in (("spot_returns", s), ("vol_shifts", v)):
        if axis.ndim != 1 or axis.shape[0] == 0 or not np.all(np.isfinite(axis)):
            raise InvalidArgumentError(name, axis, "a non-empty 1-D array of finite numbers")
    if not np.all(s > -1.0):
        raise InvalidArgumentError("spot_returns", s, "returns > -1")
    scenarios = [
        Scenario(name=f"spot {r:+.4g}, vol {dv:+.4g}", spot_return=r, vol_shift=dv, term=term)
        for r in s.tolist()
        for dv in v.tolist()
    ]
    result = revalue(portfolio, market, scenarios, dynamics=dynamics)
    s.setflags(write=False)
    v.setflags(write=False)
    return ScenarioGrid(spot_returns=s, vol_shifts=v, result=result)


# -- historical stresses ------------------------------------------------------------------------

_HOURLY = (
    "binance_btc_eth_hourly_2017-2021_cdd/"
    "derived_clean_btcusdt_ethusdt_1h_2017-08-17_2021-06-10.csv.gz"
)
_DAILY = "btcusd_daily_2011-2025_bitstamp_coinbase/BTCUSD_1d_candles_full.csv"

HISTORICAL_STRESSES: Mapping[str, Scenario] = MappingProxyType(
    {
        s.name: s
        for s in (
            Scenario(
                name="covid_2020_03_12",
                spot_return=-0.506,
                spot_returns={"ETH": -0.533},
                vol_shift=0.80,
                term=DERIBIT_LIKE_TERMS,
                description=(
                    "COVID crash. BTC -50.6%: open of the 2020-03-12 04:00 UTC hour (7,662.73) "
                    "to the low of the 2020-03-13 02:00 hour (3,782.13), 23 hours later; ETH "
                    "-53.3% from the 2020-03-12 03:00 open (184.10) to the same hour's low "
                    "(86.00)."
                ),
                source=(
                    f"spot: Binance BTCUSDT/ETHUSDT hourly, shared/data/{_HOURLY}. vol: "
                    "assumption [C], +80 points at 30 days; one-month BTC implied vol near 180% "
                    "at the 16 March 2020 peak is reported by CrossTower (K. Boggiano, "
                    "Cointelegraph, 2020)."
                ),
            ),
            Scenario(
                name="leverage_flush_2021_05_19",
                spot_return=-0.313,
                spot_returns={"ETH": -0.450},
                vol_shift=0.50,
                term=DERIBIT_LIKE_TERMS,
                description=(
                    "Leverage flush. BTC -31.3%: open of the 2021-05-18 14:00 UTC hour "
                    "(43,691.39) to the low of the 2021-05-19 13:00 hour (30,000.00), 23 hours "
                    "later; ETH -45.0% from the 2021-05-18 21:00 open (3,430.89) to the same "
                    "hour's low (1,888.00)."
                ),
                source=(
                    f"spot: Binance BTCUSDT/ETHUSDT hourly, shared/data/{_HOURLY}. vol: "
                    "assumption [C], +50 points; BTC implied vol peaked near 156% in May 2021 "
                    "(J. Park, Bitwise, as reported by Odaily, 2025)."
                ),
            ),
            Scenario(
                name="luna_2022_05",
                spot_return=-0.361,
                vol_shift=0.60,
                term=DERIBIT_LIKE_TERMS,
                description=(
                    "LUNA/UST collapse. BTC -36.1% over eight days: 2022-05-05 open "
                    "(39,669.56) to the 2022-05-12 low (25,338.53)."
                ),
                source=(
                    f"spot: Coinbase BTC-USD daily, shared/data/{_DAILY}. vol: assumption [C], "
                    "+60 points; one-month ATM vol reached about 130 on 2022-05-12 and "
                    "reverted to about 70 (Deribit Insights, 'Crypto options market update: "
                    "time to BTFD or sell vols?', Nov 2022)."
                ),
            ),
            Scenario(
                name="ftx_2022_11",
                spot_return=-0.247,
                vol_shift=0.40,
                term=DERIBIT_LIKE_TERMS,
                description=(
                    "FTX collapse. BTC -24.7%: 2022-11-08 open (20,593.34) to the 2022-11-09 "
                    "low (15,512.00); daily closes -9.9% and -14.3% on 8 and 9 November."
                ),
                source=(
                    f"spot: Coinbase BTC-USD daily, shared/data/{_DAILY}. vol: assumption [C], "
                    "+40 points, short expiries most (7-day vol above 30-day was reported in "
                    "the Redot weekly review of 11 Nov 2022)."
                ),
            ),
            Scenario(
                name="yen_carry_2024_08_05",
                spot_return=-0.156,
                vol_shift=0.30,
                term=DERIBIT_LIKE_TERMS,
                description=(
                    "Yen carry-trade unwind. BTC -15.6% within the UTC day: 2024-08-05 open "
                    "(58,131.31) to low (49,050.01); -24.9% from the 2024-08-02 open."
                ),
                source=(
                    f"spot: Coinbase BTC-USD daily, shared/data/{_DAILY}. vol: assumption [C], "
                    "+30 points."
                ),
            ),
            Scenario(
                name="tariff_2025_10_10",
                spot_return=-0.13,
                vol_shift=0.20,
                term=DERIBIT_LIKE_TERMS,
                description="Tariff shock. BTC about -12% to -14% within about an hour.",
                source=(
                    "spot: secondary reports (REFERENCES.md, 'Historical stress episodes'); not "
                    f"checked: shared/data/{_DAILY} ends on 2025-09-24. vol: assumption [C], "
                    "+20 points."
                ),
            ),
        )
    }
)
"""Named historical stresses (see the module docstring and each scenario's ``source``)."""


def historical_stress(name: str) -> Scenario:
    """One of :data:`HISTORICAL_STRESSES` by name."""
    try:
        return HISTORICAL_STRESSES[name]
    except KeyError:
        raise InvalidArgumentError("name", name, f"one of {sorted(HISTORICAL_STRESSES)}") from None


# -- TOML ---------------------------------------------------------------------------------------


class _TermModel(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    reference_days: float = Field(30.0, gt=0.0, description="days at which the weight is 1")
    power_short: float = Field(0.0, ge=0.0, description="exponent below reference_days")
    power_long: float = Field(0.0, ge=0.0, description="exponent beyond reference_days")


class _ScenarioModel(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str | None = Field(None, min_length=1)
    historical: str | None = Field(None, description="a name of HISTORICAL_STRESSES")
    spot_return: float = Field(0.0, gt=-1.0, description="relative index move of every coin")
    spot_returns: dict[str, float] = Field(default_factory=dict, description="per-coin moves")
    vol_shift: float = Field(0.0, description="decimal vol added at the reference maturity")
    vol_relative: float = Field(0.0, description="relative vol change at the reference maturity")
    vol_skew: float = Field(0.0, description="decimal vol per unit of ln(K/F)")
    term: _TermModel | None = None
    description: str = ""
    source: str = ""

    @model_validator(mode="after")
    def _either_historical_or_custom(self) -> _ScenarioModel:
        if self.historical is not None:
            if self.historical not in HISTORICAL_STRESSES:
                raise ValueError(f"historical must be one of {sorted(HISTORICAL_STRESSES)}")
            extra = self.model_fields_set - {"historical", "name"}
            if extra:
                raise ValueError(f"a historical scenario takes only 'name', not {sorted(extra)}")
        elif self.name is None:
            raise ValueError("a scenario needs a 'name' (or 'historical')")
        for coin, r in self.spot_returns.items():
            if not r > -1.0:
                raise ValueError(f"spot_returns.{coin} must be > -1")
        return self

    def build(self) -> Scenario:
        if self.historical is not None:
            base = HISTORICAL_STRESSES[self.historical]
            if self.name is None:
                return base
            return Scenario(
                name=self.name,
                spot_return=base.spot_return,
                spot_returns=base.spot_returns,
                vol_shift=base.vol_shift,
                vol_relative=base.vol_relative,
                vol_skew=base.vol_skew,
                term=base.term,
                description=base.description,
                source=base.source,
            )
        assert self.name is not None
        term = FLAT_TERMS if self.term is None else TermWeighting(**self.term.model_dump())
        return Scenario(
            name=self.name,
            spot_return=self.spot_return,
            spot_returns=self.spot_returns,
            vol_shift=self.vol_shift,
            vol_relative=self.vol_relative,
            vol_skew=self.vol_skew,
            term=term,
            description=self.description,
            source=self.source,
        )


class _ScenarioFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario: list[_ScenarioModel] = Field(min_length=1)


def load_scenarios(path: str | Path) -> tuple[Scenario, ...]:
    """Read user scenarios from a TOML file (format in the module docstring).

    Raises
    ------
    InvalidArgumentError
        If the file is missing or not TOML, or a field is invalid; the message names the file
        and the field (``scenario.1.vol_shift``), or a duplicated scenario name.
    """
    p = Path(path)
    raw: dict[str, Any] = read_toml(p, "path")
    try:
        parsed = _ScenarioFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ()))
        raise InvalidArgumentError(
            f"{p}: {where}" if where else str(p), first.get("input"), first.get("msg", "")
        ) from exc
    scenarios = tuple(m.build() for m in parsed.scenario)
    names = [s.name for s in scenarios]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InvalidArgumentError(f"{p}: scenario.name", duplicated[0], "distinct scenario names")
    return scenarios
