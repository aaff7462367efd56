"""A seeded synthetic market: fair-price dynamics, an L2 book with order flow, perpetual tickers.

:func:`synthetic_market` simulates one instrument (a linear or inverse perpetual by default, see
:func:`synthetic_perpetual`) and returns a :class:`SyntheticMarket`: the event stream as an
array of :data:`~invrisk.data.events.EVENT_DTYPE` in local-time order, the price paths on the
step grid and every true parameter, so that whatever is estimated from the stream (volatility,
order-flow intensities, funding) can be checked against the truth. The same seed gives
bit-identical arrays. :func:`benchmark_stream` is the BTC-like benchmark dataset, and
:data:`synthetic_option_chain` is :func:`invrisk.data.synthetic.synthetic_chain` (a
Deribit-style option chain on a chosen smile) under this module's naming.

The model
---------
Fair price (:class:`PriceProcess`), on a grid of ``step_ns``:
    arithmetic Brownian motion (sigma in price units per sqrt(second)) or geometric Brownian
    motion (``vol``: annualised decimal, per sqrt(year), ACT/365 from
    :func:`invrisk.units.year_fraction`), plus Merton jumps (Poisson rate per second, normal
    log-jump sizes, multiplicative in both models) and optionally a GARCH(1,1) recursion of
    the per-step variance, ``h_{i+1} = omega + alpha eps_i^2 + beta h_i`` with
    ``omega = sigma^2 dt (1 - alpha - beta)``, so sigma is the unconditional volatility.
The book (:class:`BookSpec`):
    ``n_levels`` contiguous levels per side on the tick grid, re-centred on the fair price at
    every step (best bid ``floor(x - S/2)`` ticks, best ask ``S`` ticks above it, with x the
    fair price in ticks and S ``spread_ticks``; stale levels deleted, missing levels filled with
    ``top_qty * qty_growth**j`` base units times a uniform noise in ``1 +- qty_noise``). The
    reference mid of a step, ``mid``, is the book's mid right after that re-centring.
Order flow (:class:`FlowSpec`), per side, in continuous time:
    limit orders (added ``j`` levels behind their side's best, ``j`` geometric with mean
    ``limit_level_mean``, size exponential with mean ``limit_qty``), cancels (part of a level
    chosen uniformly; a level's last lot stays) and market orders, each a Poisson process or,
    with ``hawkes_branching > 0``, a Hawkes process with exponential kernel whose baseline is
    scaled by ``1 - branching`` so that the mean rates are the stated ones.
Market orders and lambda(delta) = A exp(-k delta):
    buy (sell) candidates arrive at rate ``A exp(-k S tick / 2)`` with a target depth
    ``tau = S tick / 2 + Exponential(k)`` above (below) the step's reference mid ``m``. A
    candidate sweeps every ask from the best up to the deepest level priced at most
    ``m + tau`` (whole levels, and a uniform share in lots of the last one). The book keeps
    each side contiguous (limit orders never improve the best, cancels never empty a level,
    the far level keeps a lot) and, by default (``BookSpec.replenish``), refills the levels a
    market order emptied right after it, so every candidate trades and **the deepest level a
    market order reaches, measured from the step's reference mid, is at least delta exactly
    when its target is: market orders reaching delta arrive at rate A exp(-k delta)** for every
    level depth delta from the best (S tick / 2) to the ``n_levels - 1``-th level. A is per
    second, k per price unit. Without replenishment, a candidate whose target lies before the
    current best (levels swept earlier in the step) is not marketable and is dropped; the
    per-step statement below still holds exactly. With Poisson arrivals, the probability that
    some market order of a side reaches depth delta within a step of length dt is
    ``1 - exp(-A exp(-k delta) dt)``: this is what the per-step counting estimator of
    REFERENCES.md ("Calibrating lambda(delta)") measures (its ``count / T`` is that
    probability over dt; ``-ln(1 - count / n_steps) / dt`` recovers lambda). With Hawkes
    arrivals the rates hold on average.
Perpetual tickers (:class:`FundingSpec`):
    the premium ``(perp - index) / index`` of the fair price over the index is an AR(1)
    (Ornstein-Uhlenbeck) process on the step grid; ``index = fair / (1 + premium)``. Every
    ``ticker_interval_ns`` (on multiples of it since the epoch) an INDEX row and a MARK row
    ``index (1 + EMA of the sampled premium (book mid - index) / index)`` are sent; every
    ``funding_interval_ns`` (multiples since the epoch: 00:00, 08:00, 16:00 UTC for 8 h) a
    FUNDING row with the rate for the interval that ends there,
    ``clamp(P + clamp(interest_rate - P, -interest_clamp, interest_clamp), -cap, cap)``, P the
    mean premium sampled at the tickers of the interval: the form of Binance's published
    USD-M funding formula with its premium index simplified to that mean.
Latency (:class:`LatencySpec`):
    each message (a re-centring, an order, a ticker) is received ``constant_ns`` plus an
    exponential jitter after its exchange time; one connection delivers messages in order, so
    ``local_ns = max(previous local_ns, exch_ns + latency)`` and the array is sorted by both
    clocks.

Rows
----
The first message is a CLEAR (both sides) and SNAPSHOT rows of the initial book. Then DEPTH
rows (new absolute size of a level, 0 deletes it) for every level change; a market order's
message is its TRADE rows (one per level, ``side`` the aggressor) followed by the DEPTH rows of
the levels it consumed; with ``bbo=True`` two BBO rows (bid, ask) follow every message that
changed the top of the book. Book rows are numbered as Binance numbers depth updates:
``first_id``/``update_id`` are the first and last change id of the message and ``prev_id`` the
previous message's ``update_id``; TRADE rows carry trade ids; BBO rows the ``update_id`` of the
message they follow. Quantities are in the instrument's unit: base asset for linear and spot,
contracts for inverse (a base-unit size q at price p is ``q p / contract_size`` contracts);
every size is a whole number of lots.

Examples
--------
>>> from invrisk.data.events import is_sorted_by_local_time
>>> from invrisk.units import NS_PER_SECOND
>>> m = synthetic_market(duration_ns=5 * NS_PER_SECOND, seed=7)
>>> bool(is_sorted_by_local_time(m.events)), m.tick_size, m.lot_size
(True, 0.1, 0.001)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import ModuleType
from typing import Literal

import numpy as np

from invrisk._typing import Float64Array, Int64Array
from invrisk.data import _market_kernels as _jit
from invrisk.data import _market_kernels_python as _py
from invrisk.data.events import EVENT_DTYPE, EventArray
from invrisk.data.synthetic import synthetic_chain
from invrisk.errors import InvalidArgumentError
from invrisk.instruments import Instrument, InstrumentKind
from invrisk.units import NS_PER_HOUR, NS_PER_MS, NS_PER_SECOND, to_ns, year_fraction

__all__ = [
    "DEFAULT_FUNDING",
    "BookSpec",
    "FlowSpec",
    "FundingSpec",
    "LatencySpec",
    "PriceProcess",
    "SyntheticMarket",
    "SyntheticMarketParams",
    "benchmark_stream",
    "synthetic_market",
    "synthetic_option_chain",
    "synthetic_perpetual",
]

Backend = Literal["numba", "python"]

synthetic_option_chain = synthetic_chain
"""Synthetic option chains on a chosen smile: :func:`invrisk.data.synthetic.synthetic_chain`."""

_DEFAULT_START = "2026-01-01T00:00:00Z"
_UNIFORM_CHUNK = 1 << 20
_INITIAL_ROWS = 1 << 18
_MAX_BOOK_TICKS = 50_000_000


# -- validation helpers ----------------------------------------------------------------------


def _real(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InvalidArgumentError(name, value, "a finite real number")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidArgumentError(name, value, "a finite real number")
    return number


def _positive(name: str, value: object) -> float:
    number = _real(name, value)
    if not number > 0.0:
        raise InvalidArgumentError(name, value, "a finite number > 0")
    return number


def _non_negative(name: str, value: object) -> float:
    number = _real(name, value)
    if not number >= 0.0:
        raise InvalidArgumentError(name, value, "a finite number >= 0")
    return number


def _integer(name: str, value: object, lo: int, hi: int | None = None) -> int:
    allowed = f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidArgumentError(name, value, allowed)
    number = int(value)
    if number < lo or (hi is not None and number > hi):
        raise InvalidArgumentError(name, value, allowed)
    return number


# -- parameters ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceProcess:
    """Dynamics of the fair price, the centre of the book.

    Attributes
    ----------
    kind
        ``"geometric"`` (default) or ``"arithmetic"``.
    initial_price
        Fair price at the start, quote currency (> 0).
    vol
        Geometric only: diffusion volatility, annualised decimal (per sqrt(year), ACT/365);
        0.5 when not given.
    sigma_price_per_sqrt_s
        Arithmetic only (required): diffusion volatility in price units per sqrt(second).
    drift_per_yr
        Geometric only: drift of ``dS/S`` per year (the jumps are compensated, so
        ``E[S_t] = S_0 exp(drift_per_yr t)``).
    drift_price_per_s
        Arithmetic only: drift in price units per second (jumps are not compensated).
    jump_rate_per_s
        Poisson intensity of jumps, per second (>= 0; 0 = no jumps).
    jump_mean, jump_std
        Mean and standard deviation of the normal log-jump J; a jump multiplies the price by
        ``exp(J)``.
    garch_alpha, garch_beta
        GARCH(1,1) coefficients of the per-step variance (>= 0, ``alpha + beta < 1``); both 0
        (default) give a constant volatility.
    """

    kind: Literal["arithmetic", "geometric"] = "geometric"
    initial_price: float = 60_000.0
    vol: float | None = None
    sigma_price_per_sqrt_s: float | None = None
    drift_per_yr: float = 0.0
    drift_price_per_s: float = 0.0
    jump_rate_per_s: float = 0.0
    jump_mean: float = 0.0
    jump_std: float = 0.0
    garch_alpha: float = 0.0
    garch_beta: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("arithmetic", "geometric"):
            raise InvalidArgumentError("kind", self.kind, "'arithmetic' or 'geometric'")
        _positive("initial_price", self.initial_price)
        if self.kind == "geometric":
            if self.sigma_price_per_sqrt_s is not None:
                raise InvalidArgumentError(
                    "sigma_price_per_sqrt_s",
                    self.sigma_price_per_sqrt_s,
                    "None for kind='geometric' (use vol)",
                )
            if self.drift_price_per_s != 0.0:
                raise InvalidArgumentError(
                    "drift_price_per_s",
                    self.drift_price_per_s,
                    "0 for kind='geometric' (use drift_per_yr)",
                )
            if self.vol is None:
                object.__setattr__(self, "vol", 0.5)
            _positive("vol", self.vol)
            _real("drift_per_yr", self.drift_per_yr)
        else:
            if self.vol is not None:
                raise InvalidArgumentError(
                    "vol", self.vol, "None for kind='arithmetic' (use sigma_price_per_sqrt_s)"
                )
            if self.drift_per_yr != 0.0:
                raise InvalidArgumentError(
                    "drift_per_yr",
                    self.drift_per_yr,
                    "0 for kind='arithmetic' (use drift_price_per_s)",
                )
            if self.sigma_price_per_sqrt_s is None:
                raise InvalidArgumentError(
                    "sigma_price_per_sqrt_s", None, "a finite number > 0 for kind='arithmetic'"
                )
            _positive("sigma_price_per_sqrt_s", self.sigma_price_per_sqrt_s)
            _real("drift_price_per_s", self.drift_price_per_s)
        _non_negative("jump_rate_per_s", self.jump_rate_per_s)
        _real("jump_mean", self.jump_mean)
        _non_negative("jump_std", self.jump_std)
        a = _non_negative("garch_alpha", self.garch_alpha)
        b = _non_negative("garch_beta", self.garch_beta)
        if not a + b < 1.0:
            raise InvalidArgumentError(
                "garch_beta",
                self.garch_beta,
                f"a number < 1 - garch_alpha = {1.0 - a} (stationary)",
            )

    def step_variance(self, step_ns: int) -> float:
        """Unconditional variance of the diffusion over one step (price^2, or log units^2)."""
        if self.kind == "geometric":
            assert self.vol is not None
            return self.vol**2 * year_fraction(0, step_ns)
        assert self.sigma_price_per_sqrt_s is not None
        return self.sigma_price_per_sqrt_s**2 * (step_ns / NS_PER_SECOND)

    def step_drift(self, step_ns: int) -> float:
        """Drift added per step: price units (arithmetic) or log units before the -h/2 term."""
        dt_s = step_ns / NS_PER_SECOND
        if self.kind == "arithmetic":
            return self.drift_price_per_s * dt_s
        kappa = math.exp(self.jump_mean + 0.5 * self.jump_std**2) - 1.0
        return self.drift_per_yr * year_fraction(0, step_ns) - self.jump_rate_per_s * dt_s * kappa


@dataclass(frozen=True, slots=True, kw_only=True)
class BookSpec:
    """Shape of the resting book around the fair price.

    Attributes
    ----------
    n_levels
        Levels per side after each re-centring (2 ... 10,000).
    spread_ticks
        Spread S in ticks after each re-centring (>= 1).
    top_qty
        Mean size of the best level, base units (> 0).
    qty_growth
        Ratio of the mean size of a level to the one before it (> 0): a geometric profile.
    qty_noise
        Half-width of the uniform multiplicative noise on a new level's size, in [0, 1).
    replenish
        Resilient book (default): right after a market order, the levels it emptied between
        the step's reference best and the new best are refilled with fresh sizes (a separate
        message), so market orders do not move the reference mid, as in Avellaneda-Stoikov
        and GLFT, and every market order meets the full book. With ``False`` swept levels stay
        empty until the next re-centring.
    """

    n_levels: int = 50
    spread_ticks: int = 1
    top_qty: float = 0.5
    qty_growth: float = 1.02
    qty_noise: float = 0.5
    replenish: bool = True

    def __post_init__(self) -> None:
        _integer("n_levels", self.n_levels, 2, 10_000)
        _integer("spread_ticks", self.spread_ticks, 1, 1_000_000)
        _positive("top_qty", self.top_qty)
        _positive("qty_growth", self.qty_growth)
        noise = _non_negative("qty_noise", self.qty_noise)
        if not noise < 1.0:
            raise InvalidArgumentError("qty_noise", self.qty_noise, "a number in [0, 1)")
        if not isinstance(self.replenish, bool):
            raise InvalidArgumentError("replenish", self.replenish, "True or False")


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowSpec:
    """Order flow: rates per side and the market-order depth profile A exp(-k delta).

    The defaults are the BTC-like values of :func:`benchmark_stream`: with tick 0.1, k is 0.5
    per tick, a market order's target lies on average 1 / (k tick) = 2 ticks beyond the best
    and it trades ``1 / (1 - exp(-k tick))`` = 2.5 levels on average.

    Attributes
    ----------
    intensity_a_per_s
        A: rate (per second, per side) of market orders that reach depth 0 (> 0). Market orders
        reaching depth delta from the step's reference mid arrive at ``A exp(-k delta)``.
    intensity_k_per_price
        k, per price unit (> 0); ``k * tick_size`` per tick.
    limit_rate_per_s
        Limit orders per second per side (>= 0).
    cancel_rate_per_s
        Cancels per second per side (>= 0).
    limit_level_mean
        Mean distance of a limit order behind its side's best, in levels (>= 0; geometric).
    limit_qty
        Mean limit order size, base units (> 0; exponential).
    hawkes_branching
        Branching ratio n in [0, 1) of the Hawkes self-excitation of each stream (0: Poisson).
    hawkes_decay_per_s
        Decay rate beta of the exponential kernel, per second (> 0); each arrival raises its
        stream's intensity by ``n * beta``.
    """

    intensity_a_per_s: float = 85.0
    intensity_k_per_price: float = 5.0
    limit_rate_per_s: float = 40.0
    cancel_rate_per_s: float = 40.0
    limit_level_mean: float = 3.0
    limit_qty: float = 0.2
    hawkes_branching: float = 0.0
    hawkes_decay_per_s: float = 1.0

    def __post_init__(self) -> None:
        _positive("intensity_a_per_s", self.intensity_a_per_s)
        _positive("intensity_k_per_price", self.intensity_k_per_price)
        _non_negative("limit_rate_per_s", self.limit_rate_per_s)
        _non_negative("cancel_rate_per_s", self.cancel_rate_per_s)
        _non_negative("limit_level_mean", self.limit_level_mean)
        _positive("limit_qty", self.limit_qty)
        n = _non_negative("hawkes_branching", self.hawkes_branching)
        if not n < 1.0:
            raise InvalidArgumentError(
                "hawkes_branching",
                self.hawkes_branching,
                "a branching ratio in [0, 1) (stationary)",
            )
        _positive("hawkes_decay_per_s", self.hawkes_decay_per_s)

    def intensity(self, depth: Float64Array | float) -> Float64Array | float:
        """lambda(delta) = A exp(-k delta), per second, at depth(s) in price units."""
        out = self.intensity_a_per_s * np.exp(-self.intensity_k_per_price * np.asarray(depth))
        return float(out) if np.ndim(out) == 0 else np.asarray(out, dtype=np.float64)


@dataclass(frozen=True, slots=True, kw_only=True)
class FundingSpec:
    """Perpetual index, mark and funding.

    Attributes
    ----------
    ticker_interval_ns
        INDEX and MARK rows every this many ns (multiples since the epoch; > 0).
    funding_interval_ns
        FUNDING rows every this many ns (multiples since the epoch; > 0; default 8 h).
    interest_rate
        Interest component per funding interval, decimal (default 0.0001 = 0.01%).
    interest_clamp
        Clamp of ``interest_rate - premium``, decimal (>= 0; default 0.0005 = 0.05%).
    funding_cap
        Cap of the absolute funding rate per interval, decimal (> 0; default 0.0075,
        venues set their own).
    premium_mean, premium_std
        Mean and stationary standard deviation of the premium (perp - index) / index, decimal.
    premium_halflife_s
        Half-life of the premium's mean reversion, seconds (> 0).
    mark_ema_s
        Time constant of the exponential moving average of the premium in the mark, s (> 0).
    """

    ticker_interval_ns: int = NS_PER_SECOND
    funding_interval_ns: int = 8 * NS_PER_HOUR
    interest_rate: float = 0.0001
    interest_clamp: float = 0.0005
    funding_cap: float = 0.0075
    premium_mean: float = 0.0
    premium_std: float = 0.0003
    premium_halflife_s: float = 600.0
    mark_ema_s: float = 60.0

    def __post_init__(self) -> None:
        _integer("ticker_interval_ns", self.ticker_interval_ns, 1)
        _integer("funding_interval_ns", self.funding_interval_ns, 1)
        _real("interest_rate", self.interest_rate)
        _non_negative("interest_clamp", self.interest_clamp)
        _positive("funding_cap", self.funding_cap)
        mean = _real("premium_mean", self.premium_mean)
        if not -0.5 < mean < 0.5:
            raise InvalidArgumentError("premium_mean", self.premium_mean, "a number in (-0.5, 0.5)")
        std = _non_negative("premium_std", self.premium_std)
        if not std < 0.05:
            raise InvalidArgumentError("premium_std", self.premium_std, "a number in [0, 0.05)")
        _positive("premium_halflife_s", self.premium_halflife_s)
        _positive("mark_ema_s", self.mark_ema_s)


DEFAULT_FUNDING = FundingSpec()
"""The default perpetual tickers (1 s INDEX/MARK, 8 h funding)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LatencySpec:
    """Feed latency ``local_ns - exch_ns`` of each message before the in-order delivery.

    Attributes
    ----------
    constant_ns
        Fixed part, ns (>= 0; default 1 ms).
    jitter_mean_ns
        Mean of the exponential part, ns (>= 0; default 0.2 ms; 0 = constant latency).
    """

    constant_ns: int = NS_PER_MS
    jitter_mean_ns: float = 200_000.0

    def __post_init__(self) -> None:
        _integer("constant_ns", self.constant_ns, 0)
        _non_negative("jitter_mean_ns", self.jitter_mean_ns)


@dataclass(frozen=True, slots=True, kw_only=True)
class SyntheticMarketParams:
    """Every input of a :func:`synthetic_market` run (its true parameters)."""

    price: PriceProcess
    book: BookSpec
    flow: FlowSpec
    funding: FundingSpec | None
    latency: LatencySpec
    step_ns: int
    duration_ns: int
    start_ns: int
    bbo: bool
    max_events: int | None
    seed: int


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class SyntheticMarket:
    """The output of :func:`synthetic_market` (arrays are read-only).

    Attributes
    ----------
    events
        The event stream, :data:`~invrisk.data.events.EVENT_DTYPE`, sorted by ``local_ns``.
    mid_ns
        Start of each simulated step, int ns UTC.
    mid
        Reference mid of each step: the book's mid right after it was re-centred; market-order
        depths are measured from it.
    fair
        Fair price at each step start (the simulated process; the book is centred on it).
    index
        Index price at each step start (``fair / (1 + premium)``).
    step_variance
        Conditional variance of the diffusion increment of each step ``i -> i + 1`` (price^2
        for arithmetic, log units^2 for geometric); GARCH makes it vary.
    jump_count, jump_log
        Number of jumps and sum of their log sizes in each step ``i -> i + 1``.
    params
        The inputs.
    instrument
        The instrument simulated.
    tick_size
        Price increment, quote currency.
    lot_size
        Size of one lot in the unit of ``events["qty"]`` (base units for linear, contracts for
        inverse); every size is a whole number of lots.
    n_market_orders
        Market orders executed.
    """

    events: EventArray
    mid_ns: Int64Array
    mid: Float64Array
    fair: Float64Array
    index: Float64Array
    step_variance: Float64Array
    jump_count: Int64Array
    jump_log: Float64Array
    params: SyntheticMarketParams
    instrument: Instrument
    tick_size: float
    lot_size: float
    n_market_orders: int = field(default=0)

    @property
    def step_ns(self) -> int:
        return self.params.step_ns


# -- instruments -----------------------------------------------------------------------------


def synthetic_perpetual(
    settlement: Literal["linear", "inverse"] = "linear",
    *,
    tick_size: float = 0.1,
    lot_size: float | None = None,
    contract_size: float | None = None,
) -> Instrument:
    """A BTC perpetual: linear ``BTCUSDT`` (lot 0.001 BTC) or inverse ``BTCUSD_PERP`` (100 USD).

    The defaults are Binance's USD-M BTCUSDT (tick 0.1 USDT, 0.001 BTC step) and COIN-M
    BTCUSD_PERP (tick 0.1 USD, contracts of 100 USD, 1-contract step).
    """
    if settlement == "linear":
        lot = 0.001 if lot_size is None else lot_size
        return Instrument(
            name="BTCUSDT",
            kind=InstrumentKind.PERPETUAL,
            base="BTC",
            quote="USDT",
            settle="USDT",
            settlement="linear",  # type: ignore[arg-type]
            tick_size=tick_size,
            min_size=lot,
            lot_size=lot,
            contract_size=1.0 if contract_size is None else contract_size,
        )
    if settlement == "inverse":
        lot = 1.0 if lot_size is None else lot_size
        return Instrument(
            name="BTCUSD_PERP",
            kind=InstrumentKind.PERPETUAL,
            base="BTC",
            quote="USD",
            settle="BTC",
            settlement="inverse",  # type: ignore[arg-type]
            tick_size=tick_size,
            min_size=lot,
            lot_size=lot,
            contract_size=100.0 if contract_size is None else contract_size,
        )
    raise InvalidArgumentError("settlement", settlement, "'linear' or 'inverse'")


# -- the generator ---------------------------------------------------------------------------


def synthetic_market(
    *,
    duration_ns: int,
    step_ns: int = 100 * NS_PER_MS,
    start_ns: int | None = None,
    instrument: Instrument | None = None,
    price: PriceProcess | None = None,
    book: BookSpec | None = None,
    flow: FlowSpec | None = None,
    funding: FundingSpec | None = DEFAULT_FUNDING,
    latency: LatencySpec | None = None,
    bbo: bool = False,
    max_events: int | None = None,
    seed: int = 0,
    backend: Backend = "numba",
) -> SyntheticMarket:
    """Simulate a market; see the module docstring for the model and the rows.

    Parameters
    ----------
    duration_ns
        Simulated time, ns (a whole number of steps).
    step_ns
        Step of the price grid and of the book re-centring, ns (default 100 ms).
    start_ns
        Start time, int ns UTC (default 2026-01-01T00:00Z).
    instrument
        A perpetual, dated future or spot instrument (not an option); tick and lot are taken
        from it (default :func:`synthetic_perpetual` ``("linear")``).
    price, book, flow, latency
        Model parts (defaults: :class:`PriceProcess`, :class:`BookSpec`, :class:`FlowSpec`,
        :class:`LatencySpec` with their defaults).
    funding
        Perpetual tickers (default :data:`DEFAULT_FUNDING`); ``None`` sends no MARK, INDEX or
        FUNDING rows (required for non-perpetuals).
    bbo
        Also send BBO rows after each message that changes the top of the book.
    max_events
        Stop after this many rows (the stream is cut to exactly this length, possibly inside
        a message; the price paths end at the last step started).
    seed
        Seed of every random draw (>= 0): the same seed gives bit-identical arrays.
    backend
        ``"numba"`` (default) or ``"python"`` (the pure-Python twin; slow, for tests).
    """
    step = _integer("step_ns", step_ns, 1)
    duration = _integer("duration_ns", duration_ns, step)
    if duration % step:
        raise InvalidArgumentError("duration_ns", duration_ns, f"a multiple of step_ns={step}")
    n_steps = duration // step
    if n_steps > 100_000_000:
        raise InvalidArgumentError("duration_ns", duration_ns, "at most 1e8 steps")
    start = to_ns(_DEFAULT_START) if start_ns is None else _integer("start_ns", start_ns, 0)
    seed = _integer("seed", seed, 0)
    if max_events is not None:
        max_events = _integer("max_events", max_events, 1)
    if not isinstance(bbo, bool):
        raise InvalidArgumentError("bbo", bbo, "True or False")
    if backend not in ("numba", "python"):
        raise InvalidArgumentError("backend", backend, "'numba' or 'python'")
    inst = synthetic_perpetual("linear") if instrument is None else instrument
    if not isinstance(inst, Instrument) or inst.is_option:
        raise InvalidArgumentError("instrument", inst, "a spot, perpetual or future Instrument")
    if funding is not None and not inst.is_perpetual:
        raise InvalidArgumentError("funding", funding, "None for a non-perpetual instrument")
    price = PriceProcess(vol=0.5) if price is None else price
    book = BookSpec() if book is None else book
    flow = FlowSpec() if flow is None else flow
    latency = LatencySpec() if latency is None else latency
    for name, value, cls in (
        ("price", price, PriceProcess),
        ("book", book, BookSpec),
        ("flow", flow, FlowSpec),
        ("latency", latency, LatencySpec),
    ):
        if not isinstance(value, cls):
            raise InvalidArgumentError(name, value, f"a {cls.__name__}")
    if funding is not None and not isinstance(funding, FundingSpec):
        raise InvalidArgumentError("funding", funding, "a FundingSpec or None")
    params = SyntheticMarketParams(
        price=price,
        book=book,
        flow=flow,
        funding=funding,
        latency=latency,
        step_ns=step,
        duration_ns=duration,
        start_ns=start,
        bbo=bbo,
        max_events=max_events,
        seed=seed,
    )
    return _simulate(params, inst, n_steps, _jit if backend == "numba" else _py)


def _simulate(
    params: SyntheticMarketParams, inst: Instrument, n_steps: int, kernels: ModuleType
) -> SyntheticMarket:
    seeds = np.random.SeedSequence(params.seed).spawn(5)
    rng_diff, rng_jump, rng_prem, rng_flow, rng_lat = (
        np.random.Generator(np.random.PCG64(s)) for s in seeds
    )
    paths = _price_paths(params, n_steps, kernels, rng_diff, rng_jump, rng_prem)
    tick = inst.tick_size
    inv_round = round(1.0 / tick)
    exact = inv_round >= 1 and abs(1.0 / tick - inv_round) <= 1e-9 / tick
    inv = float(inv_round) if exact else 0.0
    fp, ip, sf, si = _kernel_inputs(params, inst, n_steps, inv, paths.fair)
    width = int(ip[_py.IP_BOOK_WIDTH])
    bid_q = np.zeros(width, dtype=np.int64)
    ask_q = np.zeros(width, dtype=np.int64)
    mid2 = np.zeros(n_steps, dtype=np.int64)
    max_events = params.max_events
    max_rows = int(ip[_py.IP_MAX_ROWS])
    capacity = (max_events + max_rows) if max_events is not None else _INITIAL_ROWS
    events = np.zeros(capacity, dtype=EVENT_DTYPE)
    u = rng_flow.random(_UNIFORM_CHUNK)
    while True:
        cols = tuple(events[name] for name in _COLUMNS)
        status = kernels.simulate_market(
            paths.fair, paths.index, mid2, bid_q, ask_q, u, fp, ip, sf, si, cols
        )
        if status == _py.ST_NEED_UNIFORMS:
            # The unused tail is carried over: the kernel consumes one uninterrupted stream,
            # whatever the chunk size.
            u = np.concatenate((u[si[_py.SI_U] :], rng_flow.random(_UNIFORM_CHUNK)))
            si[_py.SI_U] = 0
        elif status == _py.ST_NEED_ROWS:
            grown = np.zeros(2 * len(events), dtype=EVENT_DTYPE)
            grown[: si[_py.SI_ROW]] = events[: si[_py.SI_ROW]]
            events = grown
        elif status == _py.ST_CROSSED:  # pragma: no cover - an internal invariant
            raise RuntimeError(f"synthetic book crossed at row {si[_py.SI_ERROR_ROW]} (bug)")
        else:
            break
    n_rows = int(si[_py.SI_ROW])
    if max_events is not None:
        n_rows = min(n_rows, max_events)
    # A view when the buffer is (nearly) full: copying 5M rows costs more than generating them.
    slack = len(events) - n_rows
    events = events[:n_rows] if slack <= max(4096, n_rows // 8) else events[:n_rows].copy()
    # Latency per message (the kernel left message ids in local_ns), delivered in order.
    n_msg = int(events["local_ns"][-1] - events["local_ns"][0]) + 1
    jitter = rng_lat.exponential(1.0, n_msg) * params.latency.jitter_mean_ns
    latency_ns = params.latency.constant_ns + np.rint(jitter).astype(np.int64)
    kernels.fifo_latency(events["exch_ns"], events["local_ns"], params.start_ns, latency_ns)

    n_done = int(si[_py.SI_STEP]) + 1
    n_inc = max(n_done - 1, 0)
    mid2 = mid2[:n_done]
    mid = mid2 / (2.0 * inv) if inv > 0.0 else mid2 * (tick / 2.0)
    out = SyntheticMarket(
        events=events,
        mid_ns=params.start_ns + np.arange(n_done, dtype=np.int64) * params.step_ns,
        mid=np.asarray(mid, dtype=np.float64),
        fair=paths.fair[:n_done].copy(),
        index=paths.index[:n_done].copy(),
        step_variance=paths.step_variance[:n_inc].copy(),
        jump_count=paths.jump_count[:n_inc].copy(),
        jump_log=paths.jump_log[:n_inc].copy(),
        params=params,
        instrument=inst,
        tick_size=tick,
        lot_size=float(fp[_py.FP_LOT]),
        n_market_orders=int(si[_py.SI_N_MARKET]),
    )
    for arr in (out.events, out.mid_ns, out.mid, out.fair, out.index, out.step_variance):
        arr.setflags(write=False)
    out.jump_count.setflags(write=False)
    out.jump_log.setflags(write=False)
    return out


@dataclass(frozen=True, slots=True)
class _Paths:
    fair: Float64Array
    index: Float64Array
    step_variance: Float64Array
    jump_count: Int64Array
    jump_log: Float64Array


def _price_paths(
    params: SyntheticMarketParams,
    n_steps: int,
    kernels: ModuleType,
    rng_diff: np.random.Generator,
    rng_jump: np.random.Generator,
    rng_prem: np.random.Generator,
) -> _Paths:
    """Fair price (diffusion, jumps, GARCH), premium and index on the step grid."""
    price, step = params.price, params.step_ns
    n_inc = n_steps - 1
    dt_s = step / NS_PER_SECOND
    z = rng_diff.standard_normal(n_inc)
    jump_count = rng_jump.poisson(price.jump_rate_per_s * dt_s, n_inc).astype(np.int64)
    sizes = rng_jump.normal(price.jump_mean, price.jump_std, int(jump_count.sum()))
    owner = np.repeat(np.arange(n_inc), jump_count)
    jump_log = np.bincount(owner, weights=sizes, minlength=n_inc).astype(np.float64)
    fair = np.empty(n_steps)
    step_var = np.empty(n_inc)
    status = kernels.price_path(
        z,
        jump_log,
        float(price.initial_price),
        int(price.kind == "geometric"),
        price.step_drift(step),
        price.step_variance(step),
        float(price.garch_alpha),
        float(price.garch_beta),
        fair,
        step_var,
    )
    if status:
        raise InvalidArgumentError(
            "price",
            price,
            f"an arithmetic process that stays above 0 (it reached {fair[status - 1]:.6g} "
            f"then crossed 0 at step {status}); use kind='geometric' or a smaller sigma",
        )
    fs = params.funding if params.funding is not None else DEFAULT_FUNDING
    phi = 0.5 ** (dt_s / fs.premium_halflife_s)
    premium = kernels.ar1_path(
        rng_prem.standard_normal(n_inc),
        float(fs.premium_mean),
        float(fs.premium_mean),
        phi,
        fs.premium_std * math.sqrt(1.0 - phi * phi),
    )
    return _Paths(fair, fair / (1.0 + premium), step_var, jump_count, jump_log)


def _kernel_inputs(
    params: SyntheticMarketParams, inst: Instrument, n_steps: int, inv: float, fair: Float64Array
) -> tuple[Float64Array, Int64Array, Float64Array, Int64Array]:
    """Parameter arrays ``fp``/``ip`` and initial state ``sf``/``si`` of the flow kernel."""
    book, flow, step = params.book, params.flow, params.step_ns
    fs = params.funding if params.funding is not None else DEFAULT_FUNDING
    tick = inst.tick_size
    n_levels = book.n_levels
    # The book window: every tick the blocks can reach (a side extends at most 2N beyond the
    # reference best: N levels, then N more behind a best moved by sweeps).
    margin = book.spread_ticks + 3 * n_levels + 8
    lo_tick = math.floor(float(fair.min()) / tick) - margin
    width = math.ceil(float(fair.max()) / tick) + margin - lo_tick + 1
    if lo_tick < 0:
        raise InvalidArgumentError(
            "price", params.price, f"a fair price that stays above {margin} ticks"
        )
    if width > _MAX_BOOK_TICKS:
        raise InvalidArgumentError(
            "duration_ns", params.duration_ns, f"a price range of at most {_MAX_BOOK_TICKS} ticks"
        )
    n = flow.hawkes_branching
    market_rate = flow.intensity_a_per_s * math.exp(
        -flow.intensity_k_per_price * book.spread_ticks * tick / 2.0
    )
    rates = np.array([flow.limit_rate_per_s] * 2 + [flow.cancel_rate_per_s] * 2 + [market_rate] * 2)
    beta_ns = flow.hawkes_decay_per_s / NS_PER_SECOND
    fp = np.zeros(_py.N_FP)
    for slot, value in (
        (_py.FP_STEP_NS, step),
        (_py.FP_TICK, tick),
        (_py.FP_INV_TICK, inv),
        (_py.FP_LOT, inst.lot_size * (1.0 if inst.is_inverse else inst.contract_size)),
        (_py.FP_CONTRACT, inst.contract_size),
        (_py.FP_HAWKES_ALPHA, n * beta_ns),
        (_py.FP_HAWKES_BETA, beta_ns),
        (_py.FP_K_TICK, flow.intensity_k_per_price * tick),
        (_py.FP_LIMIT_P, 1.0 / (1.0 + flow.limit_level_mean)),
        (_py.FP_LIMIT_QTY, flow.limit_qty),
        (_py.FP_TOP_QTY, book.top_qty),
        (_py.FP_GROWTH, book.qty_growth),
        (_py.FP_NOISE, book.qty_noise),
        (_py.FP_INTEREST, fs.interest_rate),
        (_py.FP_CLAMP, fs.interest_clamp),
        (_py.FP_CAP, fs.funding_cap),
        (_py.FP_MARK_TAU_NS, fs.mark_ema_s * NS_PER_SECOND),
        (_py.FP_TICKER_NS, fs.ticker_interval_ns),
        (_py.FP_FUNDING_NS, fs.funding_interval_ns),
    ):
        fp[slot] = value
    # Baselines scaled by 1 - n so that the stationary mean rates are the stated ones.
    fp[_py.FP_RATE : _py.FP_RATE + _py.N_STREAMS] = rates * (1.0 - n) / NS_PER_SECOND
    ip = np.zeros(_py.N_IP, dtype=np.int64)
    for slot, number in (
        (_py.IP_N_LEVELS, n_levels),
        (_py.IP_SPREAD, book.spread_ticks),
        (_py.IP_N_STEPS, n_steps),
        (_py.IP_BASE_TICK, lo_tick),
        (_py.IP_BOOK_WIDTH, width),
        (_py.IP_BBO, int(params.bbo)),
        (_py.IP_MAX_EVENTS, _py.NEVER if params.max_events is None else params.max_events),
        (_py.IP_INVERSE, int(inst.is_inverse)),
        (_py.IP_MAX_ROWS, 4 * n_levels + 8),
        (_py.IP_MAX_U, 2 * n_levels + 8),
        (_py.IP_HAWKES, int(n > 0.0)),
        (_py.IP_REPLENISH, int(book.replenish)),
    ):
        ip[slot] = number
    sf = np.zeros(_py.N_SF)
    # The Hawkes excitations start at their stationary mean (rate * n per stream).
    sf[_py.SF_EXC : _py.SF_EXC + _py.N_STREAMS] = rates * n / NS_PER_SECOND
    sf[_py.SF_LAST_TICKER] = -1.0
    si = np.zeros(_py.N_SI, dtype=np.int64)
    si[_py.SI_STEP] = -1
    start = params.start_ns
    if params.funding is None:
        si[_py.SI_NEXT_TICKER] = _py.NEVER
        si[_py.SI_NEXT_FUNDING] = _py.NEVER
    else:
        ti, fi = fs.ticker_interval_ns, fs.funding_interval_ns
        si[_py.SI_NEXT_TICKER] = -(-start // ti) * ti - start  # first multiple >= start
        si[_py.SI_NEXT_FUNDING] = (start // fi + 1) * fi - start  # first multiple > start
    return fp, ip, sf, si


_COLUMNS = (
    "exch_ns",
    "local_ns",
    "kind",
    "side",
    "price",
    "qty",
    "update_id",
    "first_id",
    "prev_id",
)
"""Fields written by the kernel, in its column order (``local_ns`` first holds message ids)."""


def benchmark_stream(
    n_events: int = 5_000_000, *, seed: int = 0, backend: Backend = "numba"
) -> SyntheticMarket:
    """The benchmark dataset: a BTC-like linear perpetual stream of exactly ``n_events`` rows.

    Tick 0.1, lot 0.001 BTC, price around 60,000 (geometric, 50% vol), 50 levels per side,
    100 ms steps, default :class:`FlowSpec`; about 20% of the rows are trades.
    """
    n = _integer("n_events", n_events, 1)
    duration_s = max(60, math.ceil(n / _BENCH_ROWS_PER_S * 1.25))
    while True:
        m = synthetic_market(
            duration_ns=duration_s * NS_PER_SECOND,
            price=PriceProcess(kind="geometric", initial_price=60_000.0, vol=0.5),
            book=BookSpec(n_levels=50),
            flow=FlowSpec(),
            max_events=n,
            seed=seed,
            backend=backend,
        )
        if len(m.events) == n:
            return m
        duration_s *= 2


_BENCH_ROWS_PER_S = 1_000.0
"""Rough rows per simulated second of :func:`benchmark_stream` (sets its first duration)."""
