"""Compare hedging policies on the same paths: hedging error against cost, and the frontier.

:func:`run_hedging_study` runs every policy of a grid (by default: rebalancing every 1 … 24
steps, fixed bands, Whalley–Wilmott bands over a range of risk aversions, Leland's adjusted
delta) on one set of paths and returns a :class:`HedgingStudy`: one row per policy with the
mean and standard deviation of the hedged P&L, its CVaR, the mean cost and trades. The
*efficient frontier* is the set of rows that no other row beats on both cost and risk (lower
or equal mean cost and lower or equal risk, one of them strictly).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from invrisk._typing import ArrayLike
from invrisk.errors import InvalidArgumentError
from invrisk.hedging.policies import (
    FixedBand,
    FixedInterval,
    HedgePolicy,
    LelandDelta,
    WhalleyWilmott,
)
from invrisk.hedging.simulate import simulate_hedging

__all__ = ["HedgingRow", "HedgingStudy", "default_policies", "run_hedging_study"]


@dataclass(frozen=True, slots=True)
class HedgingRow:
    """One policy's results (P&L and cost in the underlying's price unit per option sold)."""

    label: str
    family: str
    mean_pnl: float
    std_pnl: float
    cvar: float
    mean_cost: float
    mean_trades: float
    efficient: bool


@dataclass(frozen=True, slots=True)
class HedgingStudy:
    """Rows of a policy comparison and the setting they were run in."""

    rows: tuple[HedgingRow, ...]
    n_paths: int
    n_steps: int
    dt_yr: float
    vol: float
    cost_rate: float
    cvar_level: float
    source: str

    def frontier(self) -> tuple[HedgingRow, ...]:
        """The efficient rows, by increasing mean cost."""
        return tuple(sorted((r for r in self.rows if r.efficient), key=lambda r: r.mean_cost))

    def to_records(self) -> list[dict[str, object]]:
        """Rows as plain dicts (for JSON)."""
        return [dataclasses.asdict(r) for r in self.rows]


def default_policies(*, cost_rate: float, spot: float) -> list[tuple[str, HedgePolicy]]:
    """A grid covering each family over a useful range for the given setting.

    Bands are scaled to the underlying: the fixed half-widths are 0.02 … 0.3 of one option's
    delta (units of the underlying per option), and the Whalley–Wilmott risk aversions
    γ · spot span 0.1 … 100 (γ is per unit of P&L, so it scales as 1/spot).
    """
    out: list[tuple[str, HedgePolicy]] = [
        (f"every {n} steps", FixedInterval(n)) for n in (1, 2, 4, 8, 24)
    ]
    out += [(f"band ±{b}", FixedBand(b)) for b in (0.02, 0.05, 0.1, 0.2, 0.3)]
    out += [
        (f"WW γ·S={g}", WhalleyWilmott(cost_rate=cost_rate, risk_aversion=g / spot))
        for g in (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
    ]
    if cost_rate > 0.0:
        for n in (1, 4):
            out.append((f"Leland every {n}", LelandDelta(round_trip_cost=2 * cost_rate, every=n)))
    return out


def run_hedging_study(
    paths: ArrayLike,
    *,
    dt_yr: float,
    vol: float,
    cost_rate: float,
    strike: ArrayLike | None = None,
    option_type: str = "call",
    position: float = -1.0,
    policies: Sequence[tuple[str, HedgePolicy]] | None = None,
    cvar_level: float = 0.95,
    risk: str = "std",
    source: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> HedgingStudy:
    """Run each policy on ``paths`` (at-the-money per path unless ``strike`` is given) and mark
    the efficient frontier on mean cost against ``risk`` (``"std"`` or ``"cvar"``).
    ``progress(done, total)`` is called after each policy, if given."""
    p = np.asarray(paths, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise InvalidArgumentError("paths", f"shape {p.shape}", "(n_paths, n_steps + 1)")
    if risk not in ("std", "cvar"):
        raise InvalidArgumentError("risk", risk, "'std' or 'cvar'")
    k = p[:, 0] if strike is None else strike
    grid = (
        default_policies(cost_rate=cost_rate, spot=float(np.mean(p[:, 0])))
        if policies is None
        else list(policies)
    )
    if not grid:
        raise InvalidArgumentError("policies", policies, "at least one (label, policy)")
    raw = []
    for label, policy in grid:
        run = simulate_hedging(
            p,
            dt_yr=dt_yr,
            strike=k,
            vol=vol,
            option_type=option_type,
            policy=policy,
            position=position,
            cost_rate=cost_rate,
        )
        raw.append((label, policy.name, run.summary(level=cvar_level)))
        if progress is not None:
            progress(len(raw), len(grid))
    risks = [s["std_pnl"] if risk == "std" else s["cvar"] for _, _, s in raw]
    costs = [s["mean_cost"] for _, _, s in raw]
    rows = []
    for i, (label, family, s) in enumerate(raw):
        dominated = any(
            costs[j] <= costs[i]
            and risks[j] <= risks[i]
            and (costs[j] < costs[i] or risks[j] < risks[i])
            for j in range(len(raw))
            if j != i
        )
        rows.append(
            HedgingRow(
                label=label,
                family=family,
                mean_pnl=s["mean_pnl"],
                std_pnl=s["std_pnl"],
                cvar=s["cvar"],
                mean_cost=s["mean_cost"],
                mean_trades=s["mean_trades"],
                efficient=not dominated and math.isfinite(risks[i]),
            )
        )
    return HedgingStudy(
        rows=tuple(rows),
        n_paths=p.shape[0],
        n_steps=p.shape[1] - 1,
        dt_yr=dt_yr,
        vol=vol,
        cost_rate=cost_rate,
        cvar_level=cvar_level,
        source=source,
    )
