"""Allocate capital across venues: expected revenue minus expected default loss, under caps.

:func:`allocate_capital` splits ``total_usd`` of inventory and collateral over venues. Venue
``v`` earns ``revenue_rate_v`` per USD per year on what it holds (the user's estimate of the
trading revenue it supports) and loses ``pd_v (1 − R_v)`` per USD per year in expectation
(failure probability and recovery of its :class:`~invrisk.risk.venues.VenueSpec`). The linear
program

    maximise   Σ_v (revenue_rate_v − pd_v (1 − R_v)) a_v
    subject to Σ_v a_v = total_usd,   a_v >= margin_need_v,   a_v <= max_share_v · total_usd,
               Σ_{v of type t} a_v <= max_type_share_t · total_usd,
               (1 − R_v) a_v <= max_single_loss_usd   (no single failure costs more)

is solved with scipy's HiGHS. When the constraints cannot all hold, the report names them:
the smallest violation of each constraint group over all allocations (a second LP with a slack
per constraint), e.g. "margin needs exceed the total by 1.2e6" or "max_single_loss_usd at
venue binance must rise by 3.4e5".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from invrisk.errors import InvalidArgumentError, InvriskError
from invrisk.risk.venues import VenueSpec

__all__ = ["Allocation", "AllocationInfeasibleError", "allocate_capital"]


@dataclass(frozen=True, slots=True)
class Allocation:
    """The allocation (USD per venue), its expected net revenue per year, and the binding
    constraints (``"margin:<venue>"``, ``"share:<venue>"``, ``"type:<type>"``,
    ``"single_loss:<venue>"``)."""

    amounts_usd: Mapping[str, float]
    expected_revenue_usd: float
    expected_loss_usd: float
    worst_single_loss_usd: float
    binding: tuple[str, ...]

    @property
    def net_usd(self) -> float:
        return self.expected_revenue_usd - self.expected_loss_usd


class AllocationInfeasibleError(InvriskError):
    """The constraints cannot all hold; ``violations`` names each and by how much (USD)."""

    def __init__(self, violations: Mapping[str, float]) -> None:
        self.violations = dict(violations)
        parts = ", ".join(f"{k} by {v:,.6g} USD" for k, v in self.violations.items())
        super().__init__(f"no allocation meets every constraint: the closest misses {parts}")


def allocate_capital(
    *,
    total_usd: float,
    venues: Mapping[str, VenueSpec],
    revenue_rate: Mapping[str, float],
    margin_need_usd: Mapping[str, float] | None = None,
    max_share: Mapping[str, float] | None = None,
    max_type_share: Mapping[str, float] | None = None,
    max_single_loss_usd: float = math.inf,
) -> Allocation:
    """The best allocation (see the module docstring); :class:`AllocationInfeasibleError`
    names the constraints that cannot be met."""
    if not (math.isfinite(total_usd) and total_usd > 0):
        raise InvalidArgumentError("total_usd", total_usd, "a finite amount > 0")
    if not venues:
        raise InvalidArgumentError("venues", venues, "at least one venue")
    names = list(venues)
    for label, mapping in (
        ("revenue_rate", revenue_rate),
        ("margin_need_usd", margin_need_usd or {}),
        ("max_share", max_share or {}),
    ):
        unknown = sorted(set(mapping) - set(names))
        if unknown:
            raise InvalidArgumentError(label, unknown, f"venues among {names}")
    types = sorted({venues[v].type for v in names})
    unknown_types = sorted(set(max_type_share or {}) - set(types))
    if unknown_types:
        raise InvalidArgumentError("max_type_share", unknown_types, f"types among {types}")
    n = len(names)
    rate = np.array([float(revenue_rate.get(v, 0.0)) for v in names])
    loss_rate = np.array([venues[v].pd * (1.0 - venues[v].recovery_rate) for v in names])
    lgd = np.array([1.0 - venues[v].recovery_rate for v in names])
    need = np.array([float((margin_need_usd or {}).get(v, 0.0)) for v in names])
    share = np.array([float((max_share or {}).get(v, 1.0)) for v in names])
    if not np.all(np.isfinite(rate)):
        raise InvalidArgumentError("revenue_rate", dict(revenue_rate), "finite rates per year")
    if np.any(need < 0) or not np.all(np.isfinite(need)):
        raise InvalidArgumentError("margin_need_usd", dict(margin_need_usd or {}), "amounts >= 0")
    if np.any((share < 0) | (share > 1)):
        raise InvalidArgumentError("max_share", dict(max_share or {}), "shares in [0, 1]")
    if not max_single_loss_usd > 0:
        raise InvalidArgumentError("max_single_loss_usd", max_single_loss_usd, "an amount > 0")
    upper = share * total_usd
    if math.isfinite(max_single_loss_usd):
        with np.errstate(divide="ignore"):
            upper = np.minimum(upper, np.where(lgd > 0, max_single_loss_usd / lgd, np.inf))
    a_ub, b_ub = [], []
    for t, cap in (max_type_share or {}).items():
        row = np.array([1.0 if venues[v].type == t else 0.0 for v in names])
        a_ub.append(row)
        b_ub.append(float(cap) * total_usd)
    res = linprog(
        -(rate - loss_rate),
        A_ub=np.array(a_ub) if a_ub else None,
        b_ub=np.array(b_ub) if b_ub else None,
        A_eq=np.ones((1, n)),
        b_eq=[total_usd],
        bounds=list(zip(need, upper, strict=True)),
        method="highs",
    )
    if res.status == 2:  # infeasible
        raise AllocationInfeasibleError(
            _violations(
                names,
                venues,
                total_usd,
                need,
                share,
                lgd,
                max_type_share or {},
                max_single_loss_usd,
            )
        )
    if res.status != 0:
        raise InvriskError(f"allocation LP failed: {res.message}")
    a = np.asarray(res.x)
    tol = 1e-7 * total_usd
    binding = [
        f"margin:{v}" for v, x, m in zip(names, a, need, strict=True) if m > 0 and x <= m + tol
    ]
    binding += [
        f"share:{v}"
        for v, x, s in zip(names, a, share, strict=True)
        if s < 1 and x >= s * total_usd - tol
    ]
    binding += [
        f"single_loss:{v}"
        for v, x, g in zip(names, a, lgd, strict=True)
        if math.isfinite(max_single_loss_usd) and g * x >= max_single_loss_usd - tol
    ]
    for t, cap in (max_type_share or {}).items():
        if (
            sum(x for v, x in zip(names, a, strict=True) if venues[v].type == t)
            >= cap * total_usd - tol
        ):
            binding.append(f"type:{t}")
    return Allocation(
        amounts_usd={v: float(x) for v, x in zip(names, a, strict=True)},
        expected_revenue_usd=float(rate @ a),
        expected_loss_usd=float(loss_rate @ a),
        worst_single_loss_usd=float(np.max(lgd * a)),
        binding=tuple(binding),
    )


def _violations(
    names: list[str],
    venues: Mapping[str, VenueSpec],
    total: float,
    need: np.ndarray,
    share: np.ndarray,
    lgd: np.ndarray,
    type_share: Mapping[str, float],
    single: float,
) -> dict[str, float]:
    """Minimise the total slack (USD) that makes every constraint hold; report the nonzero."""
    n = len(names)
    labels: list[str] = []
    rows: list[np.ndarray] = []
    rhs: list[float] = []
    # variables: a (n), then one slack per constraint below
    cons: list[tuple[str, np.ndarray, float]] = []
    for i, v in enumerate(names):
        e = np.zeros(n)
        e[i] = -1.0
        cons.append((f"margin need at {v}", e, -need[i]))  # -a_v <= -need + s
        e2 = np.zeros(n)
        e2[i] = 1.0
        cons.append((f"max share at {v}", e2, share[i] * total))
        if math.isfinite(single) and lgd[i] > 0:
            cons.append((f"max_single_loss_usd at {v}", lgd[i] * e2, single))
    for t, cap in type_share.items():
        row = np.array([1.0 if venues[v].type == t else 0.0 for v in names])
        cons.append((f"max type share of {t}", row, cap * total))
    m = len(cons)
    for j, (label, row, b) in enumerate(cons):
        slack = np.zeros(m)
        slack[j] = -1.0
        rows.append(np.concatenate([row, slack]))
        rhs.append(b)
        labels.append(label)
    res = linprog(
        np.concatenate([np.zeros(n), np.ones(m)]),
        A_ub=np.array(rows),
        b_ub=np.array(rhs),
        A_eq=np.concatenate([np.ones(n), np.zeros(m)])[None, :],
        b_eq=[total],
        bounds=[(0, None)] * (n + m),
        method="highs",
    )
    if res.status != 0:
        return {"total": math.nan}
    s = res.x[n:]
    return {label: float(v) for label, v in zip(labels, s, strict=True) if v > 1e-6 * total}
