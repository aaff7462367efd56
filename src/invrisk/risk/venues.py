"""Venue, custody and protocol risk: what the book loses if a place it trades on fails.

A :class:`VenueSpec` describes an exchange, custodian, DeFi protocol or chain: its type, a
probability of failing within a year, the share of the assets held there recovered after a
failure, and how long withdrawals take. :func:`venue_exposures` puts the book's positions
(their ``venue``) and the collateral posted per venue beside them:

- ``gross_value_usd`` — Σ |value| of the positions there;
- ``net_value_usd`` — Σ value (a short option is a liability on that venue);
- ``collateral_usd`` — margin and balances posted there (given per venue, USD);
- ``at_risk_usd`` — ``max(collateral + net value, 0)``: the claim on the venue if it fails now
  (what the venue owes us; a negative claim is not lost);
- ``expected_loss_usd`` — ``failure_prob_per_year × (1 − recovery) × at_risk_usd`` over a year;
- ``delta_usd`` — the net delta held there;
- ``withdrawal_delay_days`` — how long moving assets out takes (from the spec): how long the
  claim stays exposed after deciding to leave.

Stresses:

- :func:`venue_failure` — the venue fails: its claim is paid at the recovery rate and its
  positions are gone; the positions elsewhere remain, so the book's delta becomes the delta of
  the rest (a hedge held on the failed venue is lost: ``delta_after_usd``);
- :func:`chain_halt` — a chain halts (or its bridge fails): every venue that runs on it
  (``chain = "<name>"``) is lost at the chain's recovery rate (the ``chain`` venue's own spec
  when the file has one, else the ``chain`` type's default), all at once: the loss, what is
  recovered and the delta left, as for one venue;
- :func:`stablecoin_depeg` — a stablecoin loses ``move`` of its value: every balance held in it
  loses ``move × amount``;
- :func:`depeg_from_prices` — the de-peg a price history shows (lowest USD value of the coin).

:func:`assess_venues` gathers all of it (and the limit check) into one :class:`VenueReport`,
the venue view of ``invrisk venues``, ``invrisk risk --venues`` and the HTML risk report.

Default failure probabilities and recoveries are not facts: ``DEFAULT_VENUE_TYPES`` holds
round assumptions per type ([C], to be replaced by the user's own view), stated with their
reasoning in the module constants. Concentration limits use the limit set
(:class:`~invrisk.risk.limit_set.LimitSet`): ``gross_value_usd`` or ``gross_notional_usd``
scoped to a venue.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from invrisk._checks import read_toml
from invrisk._typing import ArrayLike
from invrisk.errors import InvalidArgumentError
from invrisk.risk.greeks import PortfolioGreeks

if TYPE_CHECKING:
    from invrisk.risk.limit_set import LimitSet, LimitsReport

__all__ = [
    "DEFAULT_VENUE_TYPES",
    "VenueExposure",
    "VenueFailure",
    "VenueReport",
    "VenueSpec",
    "VenueType",
    "assess_venues",
    "chain_halt",
    "depeg_from_prices",
    "load_venues",
    "stablecoin_depeg",
    "venue_exposures",
    "venue_failure",
]

VenueType = Literal["cex", "custodian", "defi", "chain"]

DEFAULT_VENUE_TYPES: Mapping[str, tuple[float, float]] = {
    # (failure probability per year, recovery) -- assumptions [C], not estimates:
    # cex: a few large exchanges failed with customer losses in a decade (Mt. Gox 2014,
    # QuadrigaCX 2019, FTX 2022) out of a few dozen of that size: order of 2% a year;
    # recoveries have ranged from near zero to most of the claim over years: 30%.
    "cex": (0.02, 0.3),
    # custodian: regulated trust companies, segregated assets: rarer failures, higher recovery
    "custodian": (0.005, 0.8),
    # defi: protocol exploits are frequent across the sector; per protocol of size, 5% a year,
    # little recovered
    "defi": (0.05, 0.1),
    # chain: a halt or bridge failure; a halt usually ends with funds intact
    "chain": (0.01, 0.9),
}


class VenueSpec(BaseModel):
    """One venue (see the module docstring); ``holdings`` are stablecoin and other balances
    held there by coin (amounts in the coin), ``collateral_usd`` margin posted there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    type: VenueType
    failure_prob_per_year: float | None = Field(None, ge=0.0, le=1.0)
    recovery: float | None = Field(None, ge=0.0, le=1.0)
    withdrawal_delay_days: float = Field(0.0, ge=0.0)
    collateral_usd: float = Field(0.0, ge=0.0)
    holdings: dict[str, float] = Field(default_factory=dict)
    chain: str | None = Field(
        None, min_length=1, description="the chain a DeFi protocol or wallet runs on"
    )

    @property
    def pd(self) -> float:
        """Failure probability per year (the type's default when not set)."""
        v = self.failure_prob_per_year
        return DEFAULT_VENUE_TYPES[self.type][0] if v is None else v

    @property
    def recovery_rate(self) -> float:
        v = self.recovery
        return DEFAULT_VENUE_TYPES[self.type][1] if v is None else v


@dataclass(frozen=True, slots=True)
class VenueExposure:
    """The book's exposure to one venue (USD; see the module docstring)."""

    venue: str
    type: str
    positions: int
    gross_value_usd: float
    net_value_usd: float
    collateral_usd: float
    at_risk_usd: float
    expected_loss_usd: float
    delta_usd: float
    withdrawal_delay_days: float = 0.0


@dataclass(frozen=True, slots=True)
class VenueFailure:
    """The loss if ``venue`` fails now (or, for a chain halt, every venue on the chain
    ``venue``), and the book's delta before and after."""

    venue: str
    loss_usd: float
    recovered_usd: float
    delta_before_usd: float
    delta_after_usd: float


def load_venues(path: str | Path) -> dict[str, VenueSpec]:
    """Venues from TOML: ``[[venue]]`` tables (errors name the file, venue and field)."""
    p = Path(path)
    raw = read_toml(p, "venues file")
    items = raw.get("venue")
    if not isinstance(items, list) or not items or set(raw) != {"venue"}:
        raise InvalidArgumentError(f"{p}", sorted(raw), "[[venue]] tables only, at least one")
    out: dict[str, VenueSpec] = {}
    for i, item in enumerate(items):
        try:
            spec = VenueSpec.model_validate(item)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err.get("loc", ()))
            name = item.get("name", f"#{i + 1}") if isinstance(item, dict) else f"#{i + 1}"
            raise InvalidArgumentError(
                f"{p}: venue {name!r}.{where}", err.get("input"), err.get("msg", "a valid value")
            ) from exc
        if spec.name in out:
            raise InvalidArgumentError(f"{p}: venue", spec.name, "distinct venue names")
        out[spec.name] = spec
    return out


def venue_exposures(
    greeks: PortfolioGreeks, venues: Mapping[str, VenueSpec]
) -> list[VenueExposure]:
    """One row per venue of ``venues`` (positions on a venue not listed are an error)."""
    unknown = sorted({v for v in greeks.venue if v not in venues})
    if unknown:
        raise InvalidArgumentError(
            "venues", unknown, f"a spec for every venue held ({sorted(venues)})"
        )
    rows = []
    names = np.array(greeks.venue, dtype=object)
    for name, spec in venues.items():
        sel = names == name
        net = float(np.sum(greeks.value_usd[sel]))
        at_risk = max(spec.collateral_usd + net, 0.0)
        rows.append(
            VenueExposure(
                venue=name,
                type=spec.type,
                positions=int(sel.sum()),
                gross_value_usd=float(np.sum(np.abs(greeks.value_usd[sel]))),
                net_value_usd=net,
                collateral_usd=spec.collateral_usd,
                at_risk_usd=at_risk,
                expected_loss_usd=spec.pd * (1.0 - spec.recovery_rate) * at_risk,
                delta_usd=float(np.sum(greeks.delta_usd[sel])),
                withdrawal_delay_days=spec.withdrawal_delay_days,
            )
        )
    return rows


def venue_failure(
    greeks: PortfolioGreeks, venues: Mapping[str, VenueSpec], failed: str
) -> VenueFailure:
    """The venue ``failed`` fails now (see the module docstring)."""
    if failed not in venues:
        raise InvalidArgumentError("failed", failed, f"one of {sorted(venues)}")
    row = next(r for r in venue_exposures(greeks, venues) if r.venue == failed)
    rec = venues[failed].recovery_rate
    total_delta = float(np.sum(greeks.delta_usd))
    return VenueFailure(
        venue=failed,
        loss_usd=(1.0 - rec) * row.at_risk_usd,
        recovered_usd=rec * row.at_risk_usd,
        delta_before_usd=total_delta,
        delta_after_usd=total_delta - row.delta_usd,
    )


def chain_halt(
    greeks: PortfolioGreeks, venues: Mapping[str, VenueSpec], chain: str
) -> VenueFailure:
    """Every venue on ``chain`` (and the chain's own venue, if listed) lost at once at the
    chain's recovery rate (see the module docstring)."""
    on_chain = [n for n, v in venues.items() if v.chain == chain or n == chain]
    if not on_chain:
        chains = sorted(
            {v.chain for v in venues.values() if v.chain}
            | {n for n, v in venues.items() if v.type == "chain"}
        )
        raise InvalidArgumentError("chain", chain, f"one of the chains named: {chains}")
    spec = venues.get(chain)
    rec = spec.recovery_rate if spec is not None else DEFAULT_VENUE_TYPES["chain"][1]
    rows = {r.venue: r for r in venue_exposures(greeks, venues)}
    at_risk = sum(rows[n].at_risk_usd for n in on_chain)
    total_delta = float(np.sum(greeks.delta_usd))
    return VenueFailure(
        venue=chain,
        loss_usd=(1.0 - rec) * at_risk,
        recovered_usd=rec * at_risk,
        delta_before_usd=total_delta,
        delta_after_usd=total_delta - sum(rows[n].delta_usd for n in on_chain),
    )


def stablecoin_depeg(venues: Mapping[str, VenueSpec], *, coin: str, move: float) -> float:
    """USD loss (positive) of every balance of ``coin`` held on the venues if it moves by
    ``move`` (e.g. -0.12 for a drop to 0.88 USD)."""
    if not (math.isfinite(move) and move > -1.0):
        raise InvalidArgumentError("move", move, "a relative move > -1")
    held = sum(spec.holdings.get(coin, 0.0) for spec in venues.values())
    return -move * held


def depeg_from_prices(ratio_to_usd: ArrayLike) -> float:
    """The worst relative move of a coin's USD value in a price history (e.g. the ratio of
    BTC/USD to BTC/USDC prices minute by minute gives USDC's value in USD): ``min(x) / x[0] −
    1`` with ``x[0]`` the first value, taken as the peg."""
    x = np.asarray(ratio_to_usd, dtype=np.float64)
    if x.ndim != 1 or x.size < 2 or not np.all(np.isfinite(x) & (x > 0)):
        raise InvalidArgumentError("ratio_to_usd", f"shape {x.shape}", "finite values > 0")
    return float(x.min() / x[0] - 1.0)


@dataclass(frozen=True, slots=True)
class VenueReport:
    """The venue view of a book: exposures, each venue's failure, stablecoin de-pegs, limits."""

    exposures: tuple[VenueExposure, ...]
    failures: tuple[VenueFailure, ...]
    depeg_move: float
    depeg_loss_usd: Mapping[str, float]
    limits: LimitsReport | None = None
    chain_halts: tuple[VenueFailure, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (USD)."""
        from dataclasses import asdict

        return {
            "venues": [asdict(r) for r in self.exposures],
            "failures": [asdict(f) for f in self.failures],
            "chain_halts": [asdict(f) for f in self.chain_halts],
            "depeg_move": self.depeg_move,
            "depeg_loss_usd": dict(self.depeg_loss_usd),
            "limits": None if self.limits is None else self.limits.to_records(),
        }


def assess_venues(
    greeks: PortfolioGreeks,
    venues: Mapping[str, VenueSpec],
    *,
    depeg_move: float = -0.125,
    stablecoins: tuple[str, ...] = ("USDC", "USDT"),
    limits: LimitSet | None = None,
) -> VenueReport:
    """Exposure per venue, the failure of each venue in turn, a de-peg of each stablecoin by
    ``depeg_move`` (default -12.5%: USDC's low against USD on 2023-03-11, see
    :func:`depeg_from_prices`), a halt of each chain named (:func:`chain_halt`) and, with
    ``limits``, the limit check of the book."""
    chains = sorted({v.chain for v in venues.values() if v.chain})
    return VenueReport(
        exposures=tuple(venue_exposures(greeks, venues)),
        failures=tuple(venue_failure(greeks, venues, name) for name in venues),
        depeg_move=depeg_move,
        depeg_loss_usd={c: stablecoin_depeg(venues, coin=c, move=depeg_move) for c in stablecoins},
        limits=None if limits is None else limits.check(greeks),
        chain_halts=tuple(chain_halt(greeks, venues, c) for c in chains),
    )
