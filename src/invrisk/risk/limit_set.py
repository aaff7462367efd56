"""A declarative set of portfolio limits, checked against a book with a breach report.

A :class:`Limit` bounds one *metric* of the part of the book in its *scope*. Metrics computed
from the book's Greeks (:func:`~invrisk.risk.greeks.portfolio_greeks`), summed over the
positions in scope:

====================================  ============================================================
metric                                meaning (units)
====================================  ============================================================
``delta_coin``                        net delta, coins (needs one ``underlying``)
``delta_premium_adjusted_coin``       net premium-adjusted delta, coins (one ``underlying``)
``delta_usd``                         net delta, USD
``gamma_coin_per_usd``                net gamma, coins per USD (one ``underlying``)
``cash_gamma_usd``                    net cash gamma, USD (P&L of a relative move r ≈ Γ$ r²/2)
``vega_usd``                          net vega, USD per 1.0 of vol (options expiring inside
                                      ``[expiry_min_days, expiry_max_days)``: a vega bucket)
``theta_usd``, ``rho_usd``,           net, USD per year / per 1.0 of rate / USD per 1.0 of vol
``volga_usd``
``vanna_coin``                        net, coins per 1.0 of vol (one ``underlying``)
``gross_notional_usd``                Σ |delta_usd| of the positions in scope (delta-equivalent
                                      exposure, e.g. per venue or per asset)
``gross_value_usd``                   Σ |value_usd| (what sits on a venue, long or short)
====================================  ============================================================

Any other metric name (``var_usd``, ``es_usd``, ``margin_utilization`` ...) is an *external*
metric: its value is given to :meth:`LimitSet.check` in ``extra`` (computed by
:mod:`invrisk.risk.var`, the margin model, ...), so the same set covers risk numbers that do not
come from Greeks. A scope is optional per limit: ``underlying`` (coin), ``venue``, and for
``vega_usd`` the expiry bucket.

Bounds are ``lo <= value <= hi``; ``max_abs = x`` is shorthand for ``-x <= value <= x``. The
*utilization* of a limit is ``value / hi`` for a positive value and ``value / lo`` for a negative
one (1.0 at the limit; ``max_abs`` gives ``|value| / x``).

Pre-trade use: :meth:`LimitSet.order_breaches` answers whether adding an order's exposure to the
current values breaches a limit *and makes it worse* (an order that reduces an existing breach
passes); :class:`~invrisk.risk.limits.RiskGuard` calls it when built with a limit set.

TOML::

    [[limit]]
    name = "btc delta"
    metric = "delta_coin"
    underlying = "BTC"
    max_abs = 5.0

    [[limit]]
    name = "front vega"
    metric = "vega_usd"
    underlying = "BTC"
    expiry_max_days = 30
    lo = -200000.0
    hi = 100000.0

    [[limit]]
    name = "deribit exposure"
    metric = "gross_notional_usd"
    venue = "deribit"
    hi = 5e6
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from invrisk._checks import read_toml
from invrisk.errors import InvalidArgumentError
from invrisk.units import NS_PER_DAY

if TYPE_CHECKING:  # annotations only: importing greeks loads the pricing kernels and scipy
    from invrisk.risk.greeks import PortfolioGreeks

__all__ = [
    "GREEK_METRICS",
    "Limit",
    "LimitRow",
    "LimitSet",
    "LimitsReport",
    "load_limits",
]

GREEK_METRICS: tuple[str, ...] = (
    "delta_coin",
    "delta_premium_adjusted_coin",
    "delta_usd",
    "gamma_coin_per_usd",
    "cash_gamma_usd",
    "vega_usd",
    "theta_usd",
    "rho_usd",
    "volga_usd",
    "vanna_coin",
    "gross_notional_usd",
    "gross_value_usd",
)
_COIN_METRICS = {"delta_coin", "delta_premium_adjusted_coin", "gamma_coin_per_usd", "vanna_coin"}


class Limit(BaseModel):
    """One bound on one metric of the positions in scope (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    metric: str = Field(min_length=1)
    lo: float = -math.inf
    hi: float = math.inf
    max_abs: float | None = Field(None, gt=0)
    underlying: str | None = None
    venue: str | None = None
    expiry_min_days: float | None = Field(None, ge=0)
    expiry_max_days: float | None = Field(None, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _max_abs(cls, data: Any) -> Any:
        """``max_abs = x`` becomes ``lo = -x, hi = x``."""
        if isinstance(data, dict) and data.get("max_abs") is not None:
            if "lo" in data or "hi" in data:
                raise ValueError("give either max_abs or lo/hi, not both")
            x = data["max_abs"]
            if isinstance(x, int | float) and not isinstance(x, bool):
                data = {**data, "lo": -float(x), "hi": float(x)}
        return data

    @model_validator(mode="after")
    def _bounds(self) -> Limit:
        if math.isnan(self.lo) or math.isnan(self.hi) or not self.lo <= self.hi:
            raise ValueError(f"lo={self.lo} must be <= hi={self.hi}")
        if not (math.isfinite(self.lo) or math.isfinite(self.hi)):
            raise ValueError("a limit needs a finite lo, hi or max_abs")
        if self.metric in _COIN_METRICS and self.underlying is None:
            raise ValueError(f"metric {self.metric!r} is in coins: give the underlying")
        bucket = self.expiry_min_days is not None or self.expiry_max_days is not None
        if bucket and self.metric != "vega_usd":
            raise ValueError("expiry_min_days/expiry_max_days apply to metric 'vega_usd' only")
        if (
            self.expiry_min_days is not None
            and self.expiry_max_days is not None
            and not self.expiry_min_days < self.expiry_max_days
        ):
            raise ValueError("expiry_min_days must be below expiry_max_days")
        return self

    @property
    def scope(self) -> str:
        """A readable scope: ``"BTC, deribit, expiry < 30 d"`` (``"book"`` when unscoped)."""
        parts = [p for p in (self.underlying, self.venue) if p]
        if self.expiry_min_days is not None or self.expiry_max_days is not None:
            lo = f"{self.expiry_min_days:g} d <= " if self.expiry_min_days is not None else ""
            hi = f" < {self.expiry_max_days:g} d" if self.expiry_max_days is not None else ""
            parts.append(f"{lo}expiry{hi}")
        return ", ".join(parts) or "book"

    def utilization(self, value: float) -> float:
        """``value`` as a fraction of the bound on its side (1.0 at the limit; 0.0 when that
        side is unbounded; inf when the bound is on the other side of zero)."""
        if value == 0.0:
            return 0.0
        bound = self.hi if value > 0.0 else self.lo
        if math.isinf(bound):
            return 0.0
        return value / bound if bound * value > 0.0 else math.inf

    def breached(self, value: float) -> bool:
        return not (self.lo <= value <= self.hi)

    def excess(self, value: float) -> float:
        """How far ``value`` is outside the bounds (0.0 inside)."""
        return max(self.lo - value, value - self.hi, 0.0)


@dataclass(frozen=True, slots=True)
class LimitRow:
    """One limit's value and status."""

    name: str
    metric: str
    scope: str
    value: float
    lo: float
    hi: float
    utilization: float
    breached: bool
    excess: float


@dataclass(frozen=True, slots=True)
class LimitsReport:
    """Every limit's value against its bounds; ``breaches`` names the limits outside them."""

    rows: tuple[LimitRow, ...]

    @property
    def breaches(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.rows if r.breached)

    @property
    def ok(self) -> bool:
        return not self.breaches

    def to_records(self) -> list[dict[str, Any]]:
        return [dataclasses.asdict(r) for r in self.rows]


class LimitSet:
    """A set of :class:`Limit` with distinct names (see the module docstring)."""

    def __init__(self, limits: Sequence[Limit]) -> None:
        items = list(limits)
        names = [lim.name for lim in items]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InvalidArgumentError("limits", dupes, "distinct limit names")
        if not all(isinstance(lim, Limit) for lim in items):
            raise InvalidArgumentError("limits", limits, "a sequence of Limit")
        self.limits: tuple[Limit, ...] = tuple(items)

    def __len__(self) -> int:
        return len(self.limits)

    def values(
        self, greeks: PortfolioGreeks, *, extra: Mapping[str, float] | None = None
    ) -> dict[str, float]:
        """The value of every limit's metric over its scope (by limit name)."""
        ex = dict(extra or {})
        out: dict[str, float] = {}
        for lim in self.limits:
            if lim.metric in GREEK_METRICS:
                out[lim.name] = _greek_metric(greeks, lim)
            elif lim.metric in ex:
                v = float(ex[lim.metric])
                if math.isnan(v):
                    raise InvalidArgumentError(f"extra[{lim.metric!r}]", v, "a number (not NaN)")
                out[lim.name] = v
            else:
                raise InvalidArgumentError(
                    f"limit {lim.name!r}: metric",
                    lim.metric,
                    f"one of {GREEK_METRICS} or a key of extra ({sorted(ex)})",
                )
        return out

    def check(
        self, greeks: PortfolioGreeks, *, extra: Mapping[str, float] | None = None
    ) -> LimitsReport:
        """Every limit's value, utilization and breach."""
        return self.report(self.values(greeks, extra=extra))

    def report(self, values: Mapping[str, float]) -> LimitsReport:
        """The report for precomputed ``values`` (by limit name; every limit needed)."""
        rows = []
        for lim in self.limits:
            if lim.name not in values:
                raise InvalidArgumentError("values", lim.name, "a value for every limit")
            v = float(values[lim.name])
            rows.append(
                LimitRow(
                    name=lim.name,
                    metric=lim.metric,
                    scope=lim.scope,
                    value=v,
                    lo=lim.lo,
                    hi=lim.hi,
                    utilization=lim.utilization(v),
                    breached=lim.breached(v),
                    excess=lim.excess(v),
                )
            )
        return LimitsReport(rows=tuple(rows))

    def order_breaches(
        self, current: Mapping[str, float], impact: Mapping[str, float]
    ) -> tuple[str, ...]:
        """Limits an order would breach, or breach further: ``current + impact`` outside the
        bounds with a larger excess than ``current``. Limits without an ``impact`` entry are
        not affected by the order; an order that only reduces an excess passes."""
        out = []
        for lim in self.limits:
            d = impact.get(lim.name)
            if d is None or d == 0.0:
                continue
            cur = current.get(lim.name)
            if cur is None or math.isnan(cur) or math.isnan(d):
                out.append(lim.name)  # unknown state: refuse rather than guess
                continue
            if lim.excess(cur + d) > lim.excess(cur):
                out.append(lim.name)
        return tuple(out)


def _greek_metric(g: PortfolioGreeks, lim: Limit) -> float:
    n = len(g)
    sel = np.ones(n, dtype=bool)
    if lim.underlying is not None:
        sel &= np.array([u == lim.underlying for u in g.underlying], dtype=bool)
    if lim.venue is not None:
        sel &= np.array([v == lim.venue for v in g.venue], dtype=bool)
    if lim.expiry_min_days is not None or lim.expiry_max_days is not None:
        days = (g.expiry_ns - g.valuation_ns) / NS_PER_DAY
        sel &= g.is_option
        if lim.expiry_min_days is not None:
            sel &= days >= lim.expiry_min_days
        if lim.expiry_max_days is not None:
            sel &= days < lim.expiry_max_days
    if lim.metric == "gross_notional_usd":
        return float(np.sum(np.abs(g.delta_usd[sel])))
    if lim.metric == "gross_value_usd":
        return float(np.sum(np.abs(g.value_usd[sel])))
    values = np.asarray(getattr(g, lim.metric), dtype=np.float64)[sel]
    return float(np.sum(np.where(np.isnan(values), 0.0, values)))


def load_limits(path: str | Path) -> LimitSet:
    """Read a :class:`LimitSet` from TOML (``[[limit]]`` tables; errors name file and field)."""
    p = Path(path)
    raw = read_toml(p, "limits file")
    unknown = sorted(set(raw) - {"limit"})
    if unknown:
        raise InvalidArgumentError(f"{p}", unknown, "only [[limit]] tables")
    items = raw.get("limit", [])
    if not isinstance(items, list) or not items:
        raise InvalidArgumentError(f"{p}: limit", items, "at least one [[limit]] table")
    limits = []
    for i, item in enumerate(items):
        try:
            limits.append(Limit.model_validate(item))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err.get("loc", ()))
            name = item.get("name", f"#{i + 1}") if isinstance(item, dict) else f"#{i + 1}"
            raise InvalidArgumentError(
                f"{p}: limit {name!r}{'.' + where if where else ''}",
                err.get("input"),
                err.get("msg", "a valid value"),
            ) from exc
    return LimitSet(limits)
