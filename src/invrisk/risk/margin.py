"""Exchange-style portfolio margin in the manner of Deribit's (S:PM): risk matrix plus add-ons.

:func:`portfolio_margin` margins a :class:`~invrisk.risk.Portfolio` one book at a time. A
*book* is the positions on one underlying coin that settle in one currency: the coin-settled
(inverse) positions on BTC form book ``"BTC"``, margined in BTC as Deribit margins its BTC
book; the USD-like-settled (linear: USDC, USDT) positions on BTC form book ``"BTC/USD"``,
margined in USD. For each book:

1. **Standard risk matrix.** The index moves by ``price_range * j / buckets_count`` for
   ``j = -buckets_count .. buckets_count`` (default ±16% in 9 buckets of 4%, zero included)
   and, at every move, the implied vols go *up*, stay the *same* or go *down*. Every
   position is fully revalued (Black-76 on each option's forward; forwards and marks move with
   the index) and the book's P&L is summed: a (9, 3) matrix, in USD and in coin (each at the
   scenario's index).
2. **Extended table.** Larger moves (default -66%, -33%, +50%, +100%, ..., +500%) under vol
   *up* only. Options are revalued at the full move; spot, perpetuals and futures at the move
   cut to ±``price_range``. The book's P&L is multiplied by ``extended_table_factor`` and then
   pulled towards zero by the dampener ``(|move| / price_range - 1) * extended_dampener_usd``
   (converted to coin at the index for a coin book), never past zero.
3. **Worst case.** ``worst_loss`` = minus the lowest entry of the standard matrix and the
   dampened extended table, in the book's margin currency. The zero move with the same vols is
   in the matrix (P&L exactly 0), so ``worst_loss >= 0`` without any flooring.
4. **Add-ons.** *Delta shock*: with Δ the book's delta in coin (premium-adjusted for a coin
   book, Deribit's "delta total"), the excess over the liquidity threshold
   ``e = max(0, |Δ| - delta_total_liq_shock_threshold_usd / S)`` sets a price shock
   ``min(max_delta_shock, m_inc_per_coin * e)`` charged on ``|Δ|``. *Roll shock*: per expiry
   (perpetuals as one), the net delta of the book's futures and perpetuals to their own price
   (N/P for an inverse contract, n P/S for a linear one) times
   ``max(annualised_move_risk * T_yr, min_annualised_move)``, summed in absolute value.
5. **Margins.** ``initial_margin = worst_loss + delta_shock + roll_shock``;
   ``maintenance_margin = mm_factor * initial_margin``. A book holding only long options
   cannot lose more than its value, so its initial margin is capped at that value
   (``binding_term = "long_option_value"`` when the cap binds; with the default parameters it
   binds only through the delta shock of a very large book, since full revaluation already
   bounds the worst loss by the premium).

Vol shocks, per option with d days to expiry (ACT/365), implied vol σ after the move (sticky
strike by default, plus the exchange-quote-minus-surface residual), and weight
``W = (vega_reference_days / max(d, vol_shock_min_days)) ** p`` with ``p`` the short-term
power below ``vega_reference_days`` and the long-term power beyond:

    up:   σ + max(σ, min_volatility_for_shock_up) · volatility_range_up · W
    down: σ · (1 - volatility_range_down · W)

:class:`MarginParams` validates that the down shock leaves every vol positive (so nothing is
clamped). All scenarios of a book are valued in one vectorised pass through the same
machinery as :func:`~invrisk.risk.revalue` (:mod:`invrisk.risk._book`: the book resolved
once, the surface moved once per distinct spot move, every option of every scenario in one
Black-76 call). The vol shock is written here rather than as :class:`~invrisk.risk.Scenario`
objects because ``Scenario`` cannot express the per-option floor
``max(σ, min_volatility_for_shock_up)`` nor the expiry floor ``vol_shock_min_days``; the tests
check that, where those floors are inactive, the matrix equals :func:`~invrisk.risk.revalue`.

Units
-----
``CurrencyMargin.margin_currency`` names the unit of the scalar margin fields
(``initial_margin``, ``maintenance_margin``, ``worst_loss``, ``worst_pnl``, ``delta_shock``,
``roll_shock``, ``value``) and of ``extended_contribution``: the coin (e.g.
``"BTC"``) for a coin-settled book, ``"USD"`` for a linear one. The ``*_usd`` / ``*_coin``
properties convert them explicitly at the book's current index. The risk matrices are given in
both units, each computed at the scenario's own index (they are not conversions of each other).

What follows Deribit and what is assumed
----------------------------------------
Grades as in ``REFERENCES.md``: [A] read in the exchange's own documentation, [B] corroborated
by a secondary source, [C] this library's assumption.

Sources: (S1) Deribit support, "Portfolio Margin",
https://support.deribit.com/hc/en-us/articles/25944756247837-Portfolio-Margin ;
(S2) Deribit API documentation, ``private/pme/simulate``, response example with
``model_params`` at 2024-06-17T10:22:20Z (timestamp 1718619740501),
https://docs.deribit.com/api-reference/account-management/private-simulate ;
(S3) Deribit's earlier portfolio-margin page, https://www.deribit.com/pages/docs/portfoliomargin
("maximum implied volatility change of (30/days to expiration)^0.30 * 38%");
(S4) Deribit API changelog, release 13.01.2026 (``pre_aggregated_risk_vectors`` hold the
aggregated vectors "before applying the pnl_offset and extended_dampener params");
(S5) Blockfer, "Introducing changes to Deribit's portfolio margin model" (a summary of
Deribit's 2024 announcement).

- [A] (S1) Worst loss over ±``price_range`` in 9 evenly spaced buckets including zero, with
  vol up / same / down at each; segregated margin per settlement currency.
- [A] (S1) Extended table moves -66% ... +500%, vol up only, a fraction of the P&L, a
  dampener; the dampener acts on the book's aggregated vector (S4).
- [A] (S2) Every default value of :data:`DEFAULT_MARGIN_PARAMS` for BTC (``price_range``
  0.16, ``buckets_count`` 4, vol ranges 0.5 / 0.25, vega powers 0.3 / 0.13,
  ``min_volatility_for_shock_up`` 0.5, ``extended_table_factor`` 1, ``max_delta_shock`` 0.1,
  ``delta_total_liq_shock_threshold`` 20,000,000, ``m_inc`` 0.00005, ``mm_factor`` 0.8;
  currency ``btc``: ``annualised_move_risk`` 0.075, ``min_annualised_move`` 0.01,
  ``extended_dampener`` 100,000; currency ``usd``: 0.1, 0.01, 25,000).
- [A] (S2) ``risk_matrix_margin = worst_case + delta_shock + roll_shock`` and
  ``maintenance_margin = mm_factor * risk_matrix_margin``; in S2's futures book the
  perpetual's and the future's extended entries equal their ±16% entries (delta-one
  contracts enter the extended table at the move cut to ±``price_range``), and the roll shock
  equals 0.01 x the sum of the two positions' absolute sizes in BTC. The tests reproduce S2's
  risk vectors, worst case, roll shock and margins to 1e-9 BTC.
- [A] (S3) The vega weighting (30 / days)^power (S2 names the two powers).
- [B] (S5) Delta and roll shocks replaced the old futures contingency (2024); "long options
  are not over-collateralized".
- [C] The vol shock formulas above (relative up/down shocks; the reading of
  ``min_volatility_for_shock_up`` as a floor on the vol the up shock is proportional to, not
  on the shocked vol); the expiry floor ``vol_shock_min_days`` (1 day); sticky strike.
- [C] The dampener formula ``(|move| / price_range - 1) * extended_dampener`` in USD, applied
  after the factor and towards zero (consistent with S2, where a 0.06 BTC extended loss is
  dampened to 0, but not pinned by it).
- [C] The delta-shock formula (S2 gives only its parameters and a zero value for a small book)
  and the roll-shock rate ``max(annualised_move_risk * T, min_annualised_move)`` per expiry
  on futures and perpetuals (S2 pins only the floor case), options excluded.
- [C] The ETH defaults: the BTC values (no ETH parameters are published in S1-S3). A 2026
  ETH response seen in public code showed ``price_range`` 0.18, ``volatility_range_up`` 0.4,
  ``annualised_move_risk`` 0.05, ``min_annualised_move`` 0.005, ``extended_dampener`` 200,000
  and ``m_inc`` 0.000004 (unverified): load current values from TOML
  (:func:`load_margin_params`).
- [C] The long-option cap rule (a book of long options only), and the order of vol states.
- Not modelled: open-orders and MMP margin, cross-collateral aggregation (``pnl_offset``,
  ``max_offsetable_pnl``, ``haircut``, ``correlation_set``), the delta decay of expiring
  contracts during the settlement window, and the pooling of several underlyings in one USDC
  account (here each underlying's linear positions are their own book). Positions of every
  venue are margined together: pass one venue's positions to margin that venue.

TOML
----
:func:`load_margin_params` reads one table per book key (``[BTC]``, ``["BTC/USD"]``,
``[ETH]``...) whose keys are the fields of :class:`MarginParams`; fields left out take the
class defaults. ``examples/margin_params.toml`` lists every field.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from invrisk._checks import read_toml
from invrisk._typing import Float64Array
from invrisk.errors import InvalidArgumentError
from invrisk.risk._book import DYNAMICS, Book, Dynamics, book_values, build_book, surface_vols
from invrisk.risk.greeks import book_greeks
from invrisk.risk.portfolio import MarketSnapshot, Portfolio
from invrisk.units import DAYS_PER_YEAR

__all__ = [
    "DEFAULT_MARGIN_PARAMS",
    "VOL_STATES",
    "CurrencyMargin",
    "MarginParams",
    "MarginResult",
    "MarginScenario",
    "load_margin_params",
    "portfolio_margin",
]

VolState = Literal["up", "same", "down"]
VOL_STATES: tuple[VolState, ...] = ("up", "same", "down")
"""The columns of the standard risk matrix, in order."""

_EXTENDED_MOVES = (-0.66, -0.33, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0)


def _real(name: str, value: object) -> float:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number):
            return number
    raise InvalidArgumentError(name, value, "a finite number")


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginParams:
    """Parameters of the portfolio-margin model for one book (immutable; keyword-only).

    Defaults: Deribit's BTC parameters of 2024-06-17 (module docstring, source S2). Names
    follow Deribit's ``model_params``, with the unit appended where there is one.

    Attributes
    ----------
    price_range
        Largest standard index move (decimal, 0 < x < 1); 0.16.
    buckets_count
        Buckets on each side of zero (int >= 1): ``2 * buckets_count + 1`` moves; 4.
    volatility_range_up, volatility_range_down
        Relative vol shocks at ``vega_reference_days`` (>= 0; the down one < 1); 0.5, 0.25.
    short_term_vega_power, long_term_vega_power
        Exponents of the weight below / beyond ``vega_reference_days`` (>= 0); 0.3, 0.13.
    vega_reference_days
        Days at which the vol weight is 1 (> 0); 30.
    vol_shock_min_days
        Days to expiry below which the weight stops growing (> 0); 1 (assumption [C]).
        ``volatility_range_down`` times the largest weight must be < 1.
    min_volatility_for_shock_up
        The up shock is proportional to ``max(σ, this)`` (decimal vol, >= 0); 0.5.
    extended_moves
        Index moves of the extended table (each > -1 and beyond ±``price_range``, distinct;
        may be empty); -66% ... +500%.
    extended_table_factor
        Fraction of the extended P&L counted (0 <= x <= 1); 1.
    extended_dampener_usd
        USD the extended loss is reduced by per ``price_range`` beyond the first (>= 0);
        100,000.
    max_delta_shock
        Cap of the delta-shock price move (0 <= x < 1); 0.1.
    delta_total_liq_shock_threshold_usd
        Book delta (USD) below which there is no delta shock (>= 0); 20,000,000.
    m_inc_per_coin
        Delta-shock move per coin of delta beyond the threshold (>= 0); 0.00005.
    annualised_move_risk
        Roll-shock move per year to expiry (>= 0); 0.075.
    min_annualised_move
        Smallest roll-shock move (>= 0); 0.01.
    mm_factor
        Maintenance margin / initial margin (0 < x <= 1); 0.8.
    """

    price_range: float = 0.16
    buckets_count: int = 4
    volatility_range_up: float = 0.5
    volatility_range_down: float = 0.25
    short_term_vega_power: float = 0.3
    long_term_vega_power: float = 0.13
    vega_reference_days: float = 30.0
    vol_shock_min_days: float = 1.0
    min_volatility_for_shock_up: float = 0.5
    extended_moves: tuple[float, ...] = _EXTENDED_MOVES
    extended_table_factor: float = 1.0
    extended_dampener_usd: float = 100_000.0
    max_delta_shock: float = 0.1
    delta_total_liq_shock_threshold_usd: float = 20_000_000.0
    m_inc_per_coin: float = 0.00005
    annualised_move_risk: float = 0.075
    min_annualised_move: float = 0.01
    mm_factor: float = 0.8

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if f.name not in ("buckets_count", "extended_moves"):
                object.__setattr__(self, f.name, _real(f.name, getattr(self, f.name)))
        n = self.buckets_count
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise InvalidArgumentError("buckets_count", n, "an integer >= 1")
        object.__setattr__(self, "buckets_count", int(n))
        ranges = {
            "price_range": (0.0, 1.0, False, False),
            "volatility_range_up": (0.0, math.inf, True, False),
            "volatility_range_down": (0.0, 1.0, True, False),
            "short_term_vega_power": (0.0, math.inf, True, False),
            "long_term_vega_power": (0.0, math.inf, True, False),
            "vega_reference_days": (0.0, math.inf, False, False),
            "vol_shock_min_days": (0.0, math.inf, False, False),
            "min_volatility_for_shock_up": (0.0, math.inf, True, False),
            "extended_table_factor": (0.0, 1.0, True, True),
            "extended_dampener_usd": (0.0, math.inf, True, False),
            "max_delta_shock": (0.0, 1.0, True, False),
            "delta_total_liq_shock_threshold_usd": (0.0, math.inf, True, False),
            "m_inc_per_coin": (0.0, math.inf, True, False),
            "annualised_move_risk": (0.0, math.inf, True, False),
            "min_annualised_move": (0.0, math.inf, True, False),
            "mm_factor": (0.0, 1.0, False, True),
        }
        for name, (lo, hi, lo_in, hi_in) in ranges.items():
            x = getattr(self, name)
            if not ((x >= lo if lo_in else x > lo) and (x <= hi if hi_in else x < hi)):
                span = f"{'[' if lo_in else '('}{lo:g}, {hi:g}{']' if hi_in else ')'}"
                raise InvalidArgumentError(name, x, f"a number in {span}")
        w_max = float(self.vol_weight(np.array([self.vol_shock_min_days]))[0])
        if not self.volatility_range_down * w_max < 1.0:
            raise InvalidArgumentError(
                "volatility_range_down",
                self.volatility_range_down,
                f"< 1 / {w_max:.6g} (the vol weight at vol_shock_min_days="
                f"{self.vol_shock_min_days:g}), so that the down shock leaves every vol > 0",
            )
        moves = self.extended_moves
        if isinstance(moves, str | bytes) or not hasattr(moves, "__iter__"):
            raise InvalidArgumentError("extended_moves", moves, "a sequence of index moves")
        values = tuple(_real("extended_moves", m) for m in moves)
        for m in values:
            if not (m > -1.0 and abs(m) > self.price_range):
                raise InvalidArgumentError(
                    "extended_moves",
                    m,
                    f"moves > -1 beyond ±price_range={self.price_range:g}",
                )
        if len(set(values)) != len(values):
            raise InvalidArgumentError("extended_moves", values, "distinct moves")
        object.__setattr__(self, "extended_moves", values)

    def standard_moves(self) -> Float64Array:
        """The standard index moves, ``price_range * j / buckets_count`` (zero exactly)."""
        n = self.buckets_count
        return np.arange(-n, n + 1, dtype=np.float64) * (self.price_range / n)

    def vol_weight(self, days: Float64Array) -> Float64Array:
        """The vol-shock weight W at each number of days to expiry (> 0)."""
        d = np.maximum(np.asarray(days, dtype=np.float64), self.vol_shock_min_days)
        ratio = self.vega_reference_days / d
        short = d < self.vega_reference_days
        return np.asarray(
            np.where(short, ratio**self.short_term_vega_power, ratio**self.long_term_vega_power)
        )


_USD_PARAMS = MarginParams(
    annualised_move_risk=0.1, min_annualised_move=0.01, extended_dampener_usd=25_000.0
)

DEFAULT_MARGIN_PARAMS: Mapping[str, MarginParams] = MappingProxyType(
    {"BTC": MarginParams(), "BTC/USD": _USD_PARAMS, "ETH": MarginParams(), "ETH/USD": _USD_PARAMS}
)
"""Per book: Deribit's 2024 BTC parameters (S2) for ``"BTC"``; the same pair parameters with
S2's ``usd`` currency parameters for ``"BTC/USD"``; ETH takes the BTC values ([C], see the
module docstring)."""


@dataclass(frozen=True, slots=True)
class MarginScenario:
    """One scenario of the margin tables: ``table`` ("standard" or "extended"), the index move
    ``spot_return`` and the vol state ("up", "same" or "down"; always "up" when extended)."""

    table: Literal["standard", "extended"]
    spot_return: float
    vol_state: VolState


@dataclass(frozen=True, slots=True, eq=False)
class CurrencyMargin:
    """The portfolio margin of one book (see the module docstring for the method).

    Scalars and ``extended_contribution`` are in ``margin_currency``; convert with the
    ``*_usd`` / ``*_coin`` properties.

    Attributes
    ----------
    key, underlying, margin_currency
        ``"BTC"`` / ``"BTC"`` / ``"BTC"`` for a coin-settled book, ``"BTC/USD"`` / ``"BTC"`` /
        ``"USD"`` for a linear one.
    index_usd
        The coin's index in the snapshot.
    params
        The parameters used.
    labels
        The book's positions.
    moves, risk_matrix_usd, risk_matrix_coin
        Standard moves (k,) and the book's P&L (k, 3) with columns :data:`VOL_STATES`.
    extended_moves, extended_pnl_usd, extended_pnl_coin
        Extended moves (e,) and the book's raw P&L under vol up (delta-one contracts at the
        move cut to ±price_range).
    extended_contribution
        The extended P&L after ``extended_table_factor`` and the dampener (e,).
    worst_scenario, worst_pnl, worst_loss
        The scenario that sets the risk-matrix margin, its entry (<= 0) and ``-worst_pnl``.
    worst_position_pnl
        Each position's raw P&L in the worst scenario (before the extended factor and dampener).
    delta_total_coin, delta_shock, roll_shock
        The book's delta (coin) and the two add-ons.
    value, long_options_only
        The book's value, and whether it holds only long options (then the initial margin is
        capped at ``value``).
    initial_margin, maintenance_margin
        ``worst_loss + delta_shock + roll_shock`` (capped as above) and ``mm_factor`` times it.
    binding_term
        What set the margin: ``"standard"`` or ``"extended"`` (the table of the worst
        scenario) or ``"long_option_value"`` (the cap).
    """

    key: str
    underlying: str
    margin_currency: str
    index_usd: float
    params: MarginParams
    labels: tuple[str, ...]
    moves: Float64Array
    risk_matrix_usd: Float64Array
    risk_matrix_coin: Float64Array
    extended_moves: Float64Array
    extended_pnl_usd: Float64Array
    extended_pnl_coin: Float64Array
    extended_contribution: Float64Array
    worst_scenario: MarginScenario
    worst_pnl: float
    worst_position_pnl: Float64Array
    delta_total_coin: float
    delta_shock: float
    roll_shock: float
    value: float
    long_options_only: bool
    initial_margin: float
    maintenance_margin: float
    binding_term: Literal["standard", "extended", "long_option_value"]

    def __repr__(self) -> str:
        return (
            f"CurrencyMargin({self.key!r}, initial_margin={self.initial_margin:.8g} "
            f"{self.margin_currency}, maintenance_margin={self.maintenance_margin:.8g}, "
            f"binding_term={self.binding_term!r}, worst={self.worst_scenario})"
        )

    @property
    def coin_margined(self) -> bool:
        """True for a coin-settled book (margin in the coin)."""
        return self.margin_currency == self.underlying

    @property
    def worst_loss(self) -> float:
        return 0.0 - self.worst_pnl

    @property
    def risk_matrix(self) -> Float64Array:
        """The standard matrix in ``margin_currency``."""
        return self.risk_matrix_coin if self.coin_margined else self.risk_matrix_usd

    def _to_usd(self, x: float) -> float:
        return x * self.index_usd if self.coin_margined else x

    def _to_coin(self, x: float) -> float:
        return x if self.coin_margined else x / self.index_usd

    @property
    def initial_margin_usd(self) -> float:
        """Initial margin in USD (a coin margin converted at ``index_usd``)."""
        return self._to_usd(self.initial_margin)

    @property
    def initial_margin_coin(self) -> float:
        """Initial margin in coin (a USD margin converted at ``index_usd``)."""
        return self._to_coin(self.initial_margin)

    @property
    def maintenance_margin_usd(self) -> float:
        """Maintenance margin in USD (converted at ``index_usd`` for a coin book)."""
        return self._to_usd(self.maintenance_margin)

    @property
    def maintenance_margin_coin(self) -> float:
        """Maintenance margin in coin (converted at ``index_usd`` for a USD book)."""
        return self._to_coin(self.maintenance_margin)

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures (margin currency and both converted units)."""
        return {
            "key": self.key,
            "margin_currency": self.margin_currency,
            "index_usd": self.index_usd,
            "initial_margin": self.initial_margin,
            "maintenance_margin": self.maintenance_margin,
            "initial_margin_usd": self.initial_margin_usd,
            "maintenance_margin_usd": self.maintenance_margin_usd,
            "worst_loss": self.worst_loss,
            "worst_scenario": dataclasses.asdict(self.worst_scenario),
            "delta_shock": self.delta_shock,
            "roll_shock": self.roll_shock,
            "binding_term": self.binding_term,
        }


@dataclass(frozen=True, slots=True, eq=False)
class MarginResult:
    """Portfolio margin of every book of a portfolio (``books`` keyed as in
    :class:`CurrencyMargin`; ``result["BTC"]`` is a book)."""

    valuation_ns: int
    dynamics: str
    books: Mapping[str, CurrencyMargin]

    def __getitem__(self, key: str) -> CurrencyMargin:
        try:
            return self.books[key]
        except KeyError:
            raise InvalidArgumentError("key", key, f"one of {sorted(self.books)}") from None

    @property
    def total_initial_margin_usd(self) -> float:
        """Sum over books of the initial margin in USD (each converted at its index)."""
        return float(sum(b.initial_margin_usd for b in self.books.values()))

    @property
    def total_maintenance_margin_usd(self) -> float:
        """Sum over books of the maintenance margin in USD."""
        return float(sum(b.maintenance_margin_usd for b in self.books.values()))


# -- the computation ----------------------------------------------------------------------------


def portfolio_margin(
    portfolio: Portfolio,
    market: MarketSnapshot,
    *,
    params: MarginParams | Mapping[str, MarginParams] | None = None,
    dynamics: Dynamics = "sticky_strike",
) -> MarginResult:
    """Portfolio margin of each book (coin x settlement) of ``portfolio``.

    Parameters
    ----------
    portfolio, market
        The positions and the snapshot they are valued with.
    params
        One :class:`MarginParams` for every book, or a mapping keyed by book (``"BTC"``,
        ``"BTC/USD"``) or by coin (``"BTC"`` also serves ``"BTC/USD"`` when that key is
        absent); default :data:`DEFAULT_MARGIN_PARAMS`.
    dynamics
        Smile dynamics under the index moves (``"sticky_strike"``, as Deribit is read to do
        [C], or ``"sticky_moneyness"``).

    Raises
    ------
    InvalidArgumentError
        If ``dynamics`` is unknown, a book has no parameters (the key is named), or a position
        cannot be valued (named, as in :func:`~invrisk.risk.revalue`).

    Examples
    --------
    A linear perpetual of 1.5 BTC at 90,000 USD (mark = entry = index): the worst loss is the
    16% move, 21,600 USD; the roll shock adds 1% (``min_annualised_move`` of the USD book),
    1,350 USD; there is no delta shock below 20 million USD of delta.

    >>> from invrisk.instruments import parse_ccxt
    >>> from invrisk.risk import Position
    >>> book = Portfolio([Position(instrument=parse_ccxt("BTC/USDT:USDT"), contracts=1.5)])
    >>> m = MarketSnapshot(valuation_ns=0, index_usd={"BTC": 9e4}, marks={"BTC/USDT:USDT": 9e4})
    >>> b = portfolio_margin(book, m)["BTC/USD"]
    >>> round(b.worst_loss, 6), round(b.roll_shock, 6), round(b.initial_margin, 6)
    (21600.0, 1350.0, 22950.0)
    >>> round(b.maintenance_margin, 6), b.binding_term
    (18360.0, 'standard')
    """
    if dynamics not in DYNAMICS:
        raise InvalidArgumentError("dynamics", dynamics, "'sticky_strike' or 'sticky_moneyness'")
    if not isinstance(portfolio, Portfolio):
        raise InvalidArgumentError("portfolio", portfolio, "a Portfolio")
    if not isinstance(market, MarketSnapshot):
        raise InvalidArgumentError("market", market, "a MarketSnapshot")
    groups: dict[str, list[Any]] = {}
    for p in portfolio:
        key = p.underlying if p.instrument.is_inverse else f"{p.underlying}/USD"
        groups.setdefault(key, []).append(p)
    books = {
        key: _book_margin(key, Portfolio(groups[key]), market, _params_for(params, key), dynamics)
        for key in sorted(groups)
    }
    return MarginResult(
        valuation_ns=market.valuation_ns, dynamics=dynamics, books=MappingProxyType(books)
    )


def _params_for(params: MarginParams | Mapping[str, MarginParams] | None, key: str) -> MarginParams:
    if isinstance(params, MarginParams):
        return params
    table = DEFAULT_MARGIN_PARAMS if params is None else params
    if not isinstance(table, Mapping):
        raise InvalidArgumentError("params", params, "MarginParams or a mapping of them")
    coin = key.split("/", 1)[0]
    found = table.get(key, table.get(coin))
    if found is None:
        raise InvalidArgumentError(
            f"params[{key!r}]", None, f"MarginParams for book {key!r} (keys: {sorted(table)})"
        )
    if not isinstance(found, MarginParams):
        raise InvalidArgumentError(f"params[{key!r}]", found, "a MarginParams")
    return found


def _shocked_vols(
    book: Book, p: MarginParams, std: Float64Array, ext: Float64Array, dynamics: Dynamics
) -> Float64Array:
    """(3 k + e, n_options) vols: per standard move up / same / down, then extended up."""
    moves = np.concatenate([std, ext])
    sigma = np.empty((moves.shape[0], book.n_options))
    opt_coin = book.coin[book.opt]
    for i, r in enumerate(moves.tolist()):
        if r == 0.0:
            sigma[i] = book.vol  # exactly the base vols: zero move, same vols, zero P&L
            continue
        sigma[i] = surface_vols(
            book.opt,
            book.strike,
            book.expiry_ns,
            opt_coin,
            book.surfaces,
            np.array([r]),
            dynamics,
            labels=book.labels,
        )
        sigma[i] += book.vol_residual
    w = p.vol_weight(book.t_yr * DAYS_PER_YEAR)
    up = sigma + np.maximum(sigma, p.min_volatility_for_shock_up) * (p.volatility_range_up * w)
    down = sigma * (1.0 - p.volatility_range_down * w)
    k = std.shape[0]
    out = np.empty((3 * k + ext.shape[0], book.n_options))
    out[0 : 3 * k : 3] = up[:k]
    out[1 : 3 * k : 3] = sigma[:k]
    out[2 : 3 * k : 3] = down[:k]
    out[3 * k :] = up[k:]
    return out


def _book_margin(
    key: str, sub: Portfolio, market: MarketSnapshot, p: MarginParams, dynamics: Dynamics
) -> CurrencyMargin:
    book = build_book(sub, market)
    coin = book.coins[0]
    spot = float(book.index_usd[0])
    coin_margined = "/" not in key
    std = p.standard_moves()
    ext = np.asarray(p.extended_moves, dtype=np.float64)
    k, e = std.shape[0], ext.shape[0]
    moves = np.concatenate([np.repeat(std, 3), ext])
    vol = _shocked_vols(book, p, std, ext, dynamics)
    value_usd, value_coin = book_values(book, spot_factor=(1.0 + moves)[:, None], vol=vol)
    base_usd, base_coin = book_values(book, spot_factor=np.ones((1, 1)), vol=book.vol[None, :])
    if book.d1.size and e:
        # Delta-one contracts enter the extended table at the move cut to ±price_range: the
        # standard rows of the extreme moves (their value does not depend on the vol state).
        edge = np.where(ext < 0.0, 0, 3 * (k - 1))
        cols = book.d1
        value_usd[3 * k :, cols] = value_usd[edge][:, cols]
        value_coin[3 * k :, cols] = value_coin[edge][:, cols]
    pnl_usd = value_usd - base_usd
    pnl_coin = value_coin - base_coin
    total_usd = pnl_usd.sum(axis=1)
    total_coin = pnl_coin.sum(axis=1)
    total = total_coin if coin_margined else total_usd
    to_unit = 1.0 / spot if coin_margined else 1.0

    raw_ext = p.extended_table_factor * total[3 * k :]
    allowance = (np.abs(ext) / p.price_range - 1.0) * p.extended_dampener_usd * to_unit
    contribution = np.sign(raw_ext) * np.maximum(np.abs(raw_ext) - allowance, 0.0) + 0.0

    matrix = total[: 3 * k].reshape(k, 3)
    i_std, j_std = (int(x) for x in np.unravel_index(int(np.argmin(matrix)), matrix.shape))
    if matrix[i_std, 1] == matrix[i_std, j_std]:
        j_std = 1  # on a tie (no vega in the book) report the "same" vol state
    row = 3 * i_std + j_std
    worst_pnl = float(matrix[i_std, j_std])
    scenario = MarginScenario("standard", float(std[i_std]), VOL_STATES[j_std])
    if e:
        i_ext = int(np.argmin(contribution))
        if contribution[i_ext] < worst_pnl:
            worst_pnl = float(contribution[i_ext])
            row = 3 * k + i_ext
            scenario = MarginScenario("extended", float(ext[i_ext]), "up")
    worst_positions = (pnl_coin if coin_margined else pnl_usd)[row]

    greeks = book_greeks(book)
    delta_coin = float(np.sum(greeks.delta_premium_adjusted_coin))
    excess_coin = max(0.0, abs(delta_coin) - p.delta_total_liq_shock_threshold_usd / spot)
    delta_rate = min(p.max_delta_shock, p.m_inc_per_coin * excess_coin)
    delta_shock = delta_rate * abs(delta_coin) * (1.0 if coin_margined else spot)

    roll_coin = 0.0
    if book.d1.size:
        futures = book.d1[~book.is_spot]
        tau = book.tau_yr[~book.is_spot]
        basis_coin = greeks.basis_delta_usd[futures] / spot
        expiries, which = np.unique(greeks.expiry_ns[futures], return_inverse=True)
        net = np.zeros(expiries.shape[0])
        np.add.at(net, which, basis_coin)
        t_first = np.zeros(expiries.shape[0])
        t_first[which] = tau
        rate = np.maximum(p.annualised_move_risk * t_first, p.min_annualised_move)
        roll_coin = float(np.sum(np.abs(net) * rate))
    roll_shock = roll_coin * (1.0 if coin_margined else spot)

    value = float(np.sum(base_coin if coin_margined else base_usd))
    long_only = bool(book.is_option.all() and np.all(book.size > 0.0))
    worst_loss = 0.0 - worst_pnl
    initial = worst_loss + delta_shock + roll_shock
    binding: Literal["standard", "extended", "long_option_value"] = scenario.table
    if long_only and initial > value:
        initial = value
        binding = "long_option_value"

    def ro(a: Float64Array) -> Float64Array:
        out = np.array(a, dtype=np.float64)
        out.setflags(write=False)
        return out

    return CurrencyMargin(
        key=key,
        underlying=coin,
        margin_currency=coin if coin_margined else "USD",
        index_usd=spot,
        params=p,
        labels=book.labels,
        moves=ro(std),
        risk_matrix_usd=ro(total_usd[: 3 * k].reshape(k, 3)),
        risk_matrix_coin=ro(total_coin[: 3 * k].reshape(k, 3)),
        extended_moves=ro(ext),
        extended_pnl_usd=ro(total_usd[3 * k :]),
        extended_pnl_coin=ro(total_coin[3 * k :]),
        extended_contribution=ro(contribution),
        worst_scenario=scenario,
        worst_pnl=worst_pnl,
        worst_position_pnl=ro(worst_positions),
        delta_total_coin=delta_coin,
        delta_shock=delta_shock,
        roll_shock=roll_shock,
        value=value,
        long_options_only=long_only,
        initial_margin=initial,
        maintenance_margin=p.mm_factor * initial,
        binding_term=binding,
    )


# -- TOML ---------------------------------------------------------------------------------------

_FIELDS = tuple(f.name for f in dataclasses.fields(MarginParams))


def load_margin_params(path: str | Path) -> dict[str, MarginParams]:
    """Read per-book parameters from a TOML file (one table per book key, see the module).

    Raises
    ------
    InvalidArgumentError
        If the file is missing or not TOML, a table key is not a coin or ``"COIN/USD"``, a
        field is unknown, or a value is invalid; the message names the file, table and field.
    """
    p = Path(path)
    raw: dict[str, Any] = read_toml(p, "path")
    if not raw:
        raise InvalidArgumentError("path", str(p), "at least one [COIN] table")
    out: dict[str, MarginParams] = {}
    for key, table in raw.items():
        coin, _, settle = key.partition("/")
        if not (coin.isalnum() and coin.isupper() and settle in ("", "USD")):
            raise InvalidArgumentError(f"{p}: [{key}]", key, "a coin ('BTC') or 'COIN/USD' table")
        if not isinstance(table, dict):
            raise InvalidArgumentError(f"{p}: {key}", table, "a table of MarginParams fields")
        unknown = sorted(set(table) - set(_FIELDS))
        if unknown:
            raise InvalidArgumentError(f"{p}: {key}.{unknown[0]}", None, f"one of {_FIELDS}")
        values = dict(table)
        if isinstance(values.get("extended_moves"), list):
            values["extended_moves"] = tuple(values["extended_moves"])
        try:
            out[key] = MarginParams(**values)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(
                f"{p}: {key}.{exc.argument}", exc.value, exc.allowed
            ) from exc
    return out
