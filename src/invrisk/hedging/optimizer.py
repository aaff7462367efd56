"""The cheapest hedge: trades in candidate instruments that bring a book inside its limits.

The book and each candidate are described by their exposures, so the optimizer does not care
how they were valued: a vector of named sensitivities per contract (``delta_coin``,
``vega_30d`` ... — any names, the same for the book and the candidates), and optionally a P&L
per scenario (the portfolio revalued on a scenario grid).

Problem
-------
Trade ``x_i`` contracts of candidate ``i`` (``x = x⁺ − x⁻``, both >= 0). The residual exposure
is ``r = b + Σ_i x_i e_i``; the scenario P&L ``p_s = p⁰_s + Σ_i x_i P_{s,i}``. Trading costs are
linear: a buy pays ``ask − mid`` per contract and a sell ``mid − bid`` (crossing the spread),
plus ``fee_rate`` of the notional ``mid · |x|`` (``contract_value`` scales a contract to the
P&L unit). Objectives (``objective=``):

- ``"cost"`` — minimise the cost subject to the limits (the cheapest hedge that fits);
- ``"greeks"`` — minimise ``Σ_g w_g r_g² + cost`` (weights give each squared exposure a value
  in P&L units);
- ``"worst_loss"`` — minimise the largest scenario loss plus the cost;
- ``"es"`` — minimise the expected shortfall of the scenario losses at ``es_level``
  (Rockafellar & Uryasev 2000, "Optimization of conditional value-at-risk", J. Risk 2(3):
  ``ζ + Σ_s max(L_s − ζ, 0) / ((1 − α) S)`` as a linear program) plus the cost.

Constraints: ``lo_g <= r_g <= hi_g`` for each limited exposure, ``|x_i| <= max_qty_i``, and the
total cost at most ``budget``. The convex problem is solved with cvxpy and the Clarabel solver.
Trades must be whole lots. For ``"cost"`` the problem is solved again over whole lots as a
mixed-integer LP (HiGHS), which gives the exact optimum over lots. For the other objectives
the continuous solution is rounded to the nearest lots; if that breaks a limit, the problem
is solved again with every limit pulled in by the most that rounding can move it (``Σ_i
lot_i / 2 · |exposure_i|``), whose nearest-lot rounding then fits; failing that (a band
narrower than a lot's effect), the scenario objectives fall back to the mixed-integer LP (2 s
limit, best solution found) and ``"greeks"`` to a search of nearby lot combinations
(exhaustive for up to 12 candidates that need rounding, greedy beyond). Every plan is
checked against every constraint after rounding. When no trade can meet the limits,
:class:`HedgeInfeasibleError` names the limits that cannot be met and by how much (the
smallest total violation over all trades), instead of a solver message.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from invrisk._typing import ArrayLike, Float64Array
from invrisk.errors import ConvergenceError, InvalidArgumentError, InvriskError

__all__ = [
    "HedgeCandidate",
    "HedgeInfeasibleError",
    "HedgePlan",
    "Objective",
    "optimize_hedge",
]

Objective = Literal["cost", "greeks", "worst_loss", "es"]
_OBJECTIVES: tuple[Objective, ...] = ("cost", "greeks", "worst_loss", "es")
_TOL = 1e-7  # relative tolerance of the checks after rounding (solver accuracy)
_MILP_TIME_LIMIT_S = 2.0


@dataclass(frozen=True, slots=True)
class HedgeCandidate:
    """An instrument the hedge may trade.

    ``bid``/``ask`` per contract in the P&L unit after ``contract_value`` (e.g. USD per
    perpetual contract of 1 BTC, or a coin option's price times the index), ``exposure`` its
    sensitivities per contract (same names as the book's), ``scenario_pnl`` its P&L per
    contract in each scenario (needed by the scenario objectives), ``lot`` the trading
    increment, ``max_qty`` the largest absolute trade (contracts).
    """

    name: str
    bid: float
    ask: float
    exposure: Mapping[str, float]
    lot: float = 1.0
    max_qty: float = math.inf
    fee_rate: float = 0.0
    scenario_pnl: Float64Array | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.bid) and math.isfinite(self.ask) and 0 < self.bid <= self.ask):
            raise InvalidArgumentError(
                f"candidate {self.name!r}: bid/ask", (self.bid, self.ask), "0 < bid <= ask, finite"
            )
        if not (math.isfinite(self.lot) and self.lot > 0):
            raise InvalidArgumentError(f"candidate {self.name!r}: lot", self.lot, "a lot > 0")
        if not (self.max_qty > 0):
            raise InvalidArgumentError(f"candidate {self.name!r}: max_qty", self.max_qty, "> 0")
        if not (math.isfinite(self.fee_rate) and self.fee_rate >= 0):
            raise InvalidArgumentError(f"candidate {self.name!r}: fee_rate", self.fee_rate, ">= 0")
        for k, v in self.exposure.items():
            if not math.isfinite(v):
                raise InvalidArgumentError(f"candidate {self.name!r}: exposure {k}", v, "finite")

    @property
    def mid(self) -> float:
        return 0.5 * (self.bid + self.ask)


@dataclass(frozen=True, slots=True)
class HedgePlan:
    """The hedge found: trades (rounded to lots), their cost, risk before and after.

    ``risk_before``/``risk_after`` are the objective's risk term (0.0 for ``"cost"``),
    ``exposure_before``/``exposure_after`` the limited and weighted exposures, ``binding`` the
    constraints at their bound after rounding (``"limit:<name>:lo|hi"``, ``"max_qty:<name>"``,
    ``"budget"``).
    """

    objective: Objective
    trades: tuple[tuple[str, float], ...]
    cost: float
    risk_before: float
    risk_after: float
    exposure_before: Mapping[str, float]
    exposure_after: Mapping[str, float]
    binding: tuple[str, ...]
    continuous_cost: float
    rounding: str


class HedgeInfeasibleError(InvriskError):
    """No trade within the caps and budget meets the limits; ``violations`` says by how much
    each limit must give (``{limit: smallest violation}``, in the exposure's unit; empty when
    the limits are met by fractional trades but by no lot-rounded trade nearby)."""

    def __init__(self, violations: Mapping[str, float], reason: str = "") -> None:
        self.violations = dict(violations)
        if reason:
            message = reason
        elif self.violations:
            parts = ", ".join(f"{k} by {v:.6g}" for k, v in self.violations.items())
            message = f"the limits cannot all be met: the closest hedge still misses {parts}"
        else:
            message = "the limits cannot all be met within max_qty and the budget"
        super().__init__(message)


def optimize_hedge(
    *,
    exposure: Mapping[str, float],
    candidates: Sequence[HedgeCandidate],
    limits: Mapping[str, tuple[float, float]] | None = None,
    objective: Objective = "cost",
    weights: Mapping[str, float] | None = None,
    scenario_pnl: ArrayLike | None = None,
    es_level: float = 0.95,
    budget: float = math.inf,
) -> HedgePlan:
    """Find the hedge (see the module docstring).

    Parameters
    ----------
    exposure
        The book's sensitivities by name (every name used by ``limits`` or ``weights``).
    candidates
        Instruments the hedge may trade (at least one).
    limits
        ``{name: (lo, hi)}`` bounds on the residual exposure (use ``-inf``/``inf`` for one side).
    objective
        ``"cost"``, ``"greeks"``, ``"worst_loss"`` or ``"es"``.
    weights
        ``{name: w >= 0}`` for ``"greeks"``: P&L units per squared exposure unit.
    scenario_pnl
        The book's P&L per scenario (for ``"worst_loss"``/``"es"``; each candidate then needs
        its ``scenario_pnl`` of the same length).
    es_level
        Level of the expected shortfall objective, in (0, 1).
    budget
        Largest total trading cost allowed (P&L unit).

    Raises
    ------
    HedgeInfeasibleError
        The limits cannot be met within the caps and budget (the report names them).
    InvalidArgumentError
        Malformed input (the argument and candidate are named).
    """
    import cvxpy as cp  # type: ignore[import-untyped, unused-ignore]

    if objective not in _OBJECTIVES:
        raise InvalidArgumentError("objective", objective, f"one of {_OBJECTIVES}")
    if not candidates:
        raise InvalidArgumentError("candidates", candidates, "at least one hedge candidate")
    names = [c.name for c in candidates]
    if len(set(names)) != len(names):
        raise InvalidArgumentError("candidates", names, "distinct names")
    lim = dict(limits or {})
    w = dict(weights or {})
    if objective == "greeks" and not w:
        raise InvalidArgumentError("weights", weights, "{exposure: weight} for objective='greeks'")
    keys = sorted(set(lim) | set(w))
    for k in keys:
        if k not in exposure or not math.isfinite(exposure[k]):
            raise InvalidArgumentError("exposure", k, "a finite value for every limited name")
    for k, (lo, hi) in lim.items():
        if not (lo <= hi) or math.isnan(lo) or math.isnan(hi):
            raise InvalidArgumentError(f"limits[{k!r}]", (lo, hi), "lo <= hi")
    for k, v in w.items():
        if not (math.isfinite(v) and v >= 0):
            raise InvalidArgumentError(f"weights[{k!r}]", v, "a finite weight >= 0")
    n = len(candidates)
    e = np.array([[c.exposure.get(k, 0.0) for c in candidates] for k in keys]).reshape(len(keys), n)
    b = np.array([exposure[k] for k in keys])
    buy_cost = np.array([c.ask - c.mid + c.fee_rate * c.mid for c in candidates])
    sell_cost = np.array([c.mid - c.bid + c.fee_rate * c.mid for c in candidates])
    caps = np.array([c.max_qty for c in candidates])
    scen, book_scen = _scenarios(objective, scenario_pnl, candidates)
    if not (0.0 < es_level < 1.0):
        raise InvalidArgumentError("es_level", es_level, "a level in (0, 1)")
    if not (budget > 0):
        raise InvalidArgumentError("budget", budget, "a cost > 0 (inf: no budget)")

    spec = _Spec(
        keys=keys,
        lim=lim,
        w=w,
        b=b,
        e=e,
        caps=caps,
        buy_cost=buy_cost,
        sell_cost=sell_cost,
        budget=budget,
        objective=objective,
        scen=scen,
        book_scen=book_scen,
        es_level=es_level,
    )
    prob, x = spec.problem(cp)
    prob.solve(solver=cp.CLARABEL)
    if prob.status in ("infeasible", "infeasible_inaccurate"):
        raise HedgeInfeasibleError(spec.violations(cp))
    if prob.status in ("unbounded", "unbounded_inaccurate"):
        raise InvalidArgumentError(
            "candidates: max_qty",
            [c.max_qty for c in candidates],
            "caps that bound the trades: some combination of candidates lowers the objective "
            "without limit (e.g. gains in every scenario beyond its cost: instantaneous "
            "scenarios carry no theta); give every candidate a finite max_qty or add limits",
        )
    if prob.status not in ("optimal", "optimal_inaccurate") or x.value is None:
        raise ConvergenceError(f"hedge optimisation did not converge (solver status {prob.status})")
    x_cont = np.asarray(x.value, dtype=np.float64)
    cont_cost = float(buy_cost @ np.maximum(x_cont, 0) + sell_cost @ np.maximum(-x_cont, 0))

    def evaluate(q: Float64Array) -> tuple[bool, float, float]:
        """(feasible, cost, risk) of a trade vector."""
        c = float(buy_cost @ np.maximum(q, 0) + sell_cost @ np.maximum(-q, 0))
        ok = bool(np.all(np.abs(q) <= caps * (1 + _TOL) + 1e-12)) and c <= budget * (1 + _TOL)
        r = b + e @ q
        for j, k in enumerate(keys):
            if k in lim:
                lo, hi = lim[k]
                tol = _TOL * max(
                    1.0,
                    abs(lo) if math.isfinite(lo) else 0.0,
                    abs(hi) if math.isfinite(hi) else 0.0,
                )
                ok = ok and (r[j] >= lo - tol) and (r[j] <= hi + tol)
        return ok, c, _risk_value(objective, keys, w, r, scen, book_scen, q, es_level)

    lots = np.array([c.lot for c in candidates])
    q, how = np.round(x_cont / lots) * lots, "nearest lots"
    ok, c_final, r_after = evaluate(q)
    if not ok and objective != "cost":
        # re-solve with every limit and the budget pulled in by the most that rounding each
        # trade to its nearest lot can move them: the rounded solution then fits
        q_t = spec.tightened_solution(cp, lots, active=np.abs(x_cont) >= 0.5 * lots)
        if q_t is not None:
            ok_t, c_t, r_t = evaluate(q_t)
            if ok_t:
                q, how, ok, c_final, r_after = (
                    q_t,
                    "nearest lots inside tightened limits",
                    True,
                    c_t,
                    r_t,
                )
    if not ok and objective == "greeks":
        q_r, how_r = _round_to_lots(x_cont, lots, evaluate)
        ok_r, c_r, r_r = evaluate(q_r)
        if ok_r:
            q, how, ok, c_final, r_after = q_r, how_r, ok_r, c_r, r_r
    if objective == "cost" or (objective != "greeks" and not ok):
        # the optimum over whole lots (a mixed-integer LP, HiGHS): always for the cost (fast
        # and exact), for the scenario objectives only when the nearest lots break a limit
        # (their LPs carry one row per scenario and the integer search can take seconds)
        with np.errstate(invalid="ignore"), _quiet_stdout(), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # cvxpy: "may be inaccurate" at the limit
            prob_i, x_i = spec.problem(cp, lots=lots)
            prob_i.solve(solver=cp.HIGHS, verbose=False, time_limit=_MILP_TIME_LIMIT_S)
        if prob_i.status in ("infeasible", "infeasible_inaccurate"):
            raise HedgeInfeasibleError(
                {},
                "the limits are met by fractional trades but by no whole number of lots: "
                "a lot moves an exposure by more than its limit band allows",
            )
        if x_i.value is not None:
            q_i = np.round(np.asarray(x_i.value, dtype=np.float64) / lots) * lots
            ok_i, c_i, r_i = evaluate(q_i)
            if ok_i and (not ok or c_i + r_i <= c_final + r_after):
                q, ok, c_final, r_after = q_i, ok_i, c_i, r_i
                how = "integer optimum (lots)" if prob_i.status == "optimal" else "integer search"
    if not ok:
        raise HedgeInfeasibleError(
            {},
            "the limits are met by fractional trades but no lot-rounded trade near them was "
            "found that meets them (objective 'greeks' has no exact integer search: try 'cost')",
        )
    r_before = _risk_value(objective, keys, w, b, scen, book_scen, np.zeros(n), es_level)
    after = b + e @ q
    binding = []
    for j, k in enumerate(keys):
        if k in lim:
            lo, hi = lim[k]
            scale = max(1.0, abs(after[j]))
            if math.isfinite(lo) and abs(after[j] - lo) <= 1e-6 * scale:
                binding.append(f"limit:{k}:lo")
            if math.isfinite(hi) and abs(after[j] - hi) <= 1e-6 * scale:
                binding.append(f"limit:{k}:hi")
    for i, c in enumerate(candidates):
        if math.isfinite(c.max_qty) and abs(abs(q[i]) - c.max_qty) <= 1e-9 * c.max_qty:
            binding.append(f"max_qty:{c.name}")
    if math.isfinite(budget) and abs(c_final - budget) <= 1e-6 * budget:
        binding.append("budget")
    return HedgePlan(
        objective=objective,
        # whole lots, printed without the binary noise of lot multiples (4.800000000000001)
        trades=tuple(
            (c.name, float(np.round(q[i], 12))) for i, c in enumerate(candidates) if q[i] != 0.0
        ),
        cost=c_final,
        risk_before=r_before,
        risk_after=r_after,
        exposure_before={k: float(b[j]) for j, k in enumerate(keys)},
        exposure_after={k: float(after[j]) for j, k in enumerate(keys)},
        binding=tuple(binding),
        continuous_cost=cont_cost,
        rounding=how,
    )


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Send file descriptor 1 to /dev/null for the duration (HiGHS writes its banner there,
    below Python: it would corrupt ``--json`` output)."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no fd 1 (embedded interpreter): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _scenarios(
    objective: str, scenario_pnl: ArrayLike | None, candidates: Sequence[HedgeCandidate]
) -> tuple[Float64Array | None, Float64Array | None]:
    if objective not in ("worst_loss", "es"):
        return None, None
    if scenario_pnl is None:
        raise InvalidArgumentError(
            "scenario_pnl", None, f"the book's P&L per scenario for {objective!r}"
        )
    book = np.asarray(scenario_pnl, dtype=np.float64)
    if book.ndim != 1 or book.size == 0 or not np.all(np.isfinite(book)):
        raise InvalidArgumentError("scenario_pnl", f"shape {book.shape}", "finite P&Ls, 1-D")
    cols = []
    for c in candidates:
        if c.scenario_pnl is None or np.shape(c.scenario_pnl) != book.shape:
            raise InvalidArgumentError(
                f"candidate {c.name!r}: scenario_pnl", None, f"{book.size} scenario P&Ls"
            )
        cols.append(np.asarray(c.scenario_pnl, dtype=np.float64))
    return np.column_stack(cols), book


def _risk_expression(
    cp: Any,
    objective: str,
    keys: list[str],
    w: Mapping[str, float],
    resid: Any,
    scen: Float64Array | None,
    book: Float64Array | None,
    x: Any,
    es_level: float,
) -> Any:
    if objective == "cost":
        return 0.0
    if objective == "greeks":
        terms = [w[k] * cp.square(resid[j]) for j, k in enumerate(keys) if w.get(k, 0.0) > 0]
        return cp.sum(cp.hstack(terms)) if terms else 0.0
    loss = -(book + scen @ x)
    if objective == "worst_loss":
        return cp.max(loss)
    zeta = cp.Variable()
    return zeta + cp.sum(cp.pos(loss - zeta)) / ((1.0 - es_level) * loss.shape[0])


def _risk_value(
    objective: str,
    keys: list[str],
    w: Mapping[str, float],
    resid: Float64Array,
    scen: Float64Array | None,
    book: Float64Array | None,
    q: Float64Array,
    es_level: float,
) -> float:
    if objective == "cost":
        return 0.0
    if objective == "greeks":
        return float(sum(w.get(k, 0.0) * resid[j] ** 2 for j, k in enumerate(keys)))
    assert scen is not None and book is not None
    loss = -(book + scen @ q)
    if objective == "worst_loss":
        return float(loss.max())
    from invrisk.risk.var import var_es

    return var_es(-loss, level=es_level).es


def _round_to_lots(
    x: Float64Array,
    lot: Float64Array,
    ev: Callable[[Float64Array], tuple[bool, float, float]],
) -> tuple[Float64Array, str]:
    """Round ``x`` to lots for the quadratic objective: floor/ceil combinations, then greedy.

    ``ev(q)`` returns (feasible, cost, risk) of a trade vector.
    """
    units = x / lot
    nearest = np.round(units) * lot
    lo, hi = np.floor(units), np.ceil(units)
    free = [i for i in range(x.size) if lo[i] != hi[i]]
    best: tuple[float, Float64Array] | None = None
    if len(free) <= 12:
        for choice in itertools.product((0, 1), repeat=len(free)):
            q = nearest.copy()
            for i, up in zip(free, choice, strict=True):
                q[i] = (hi[i] if up else lo[i]) * lot[i]
            ok, c, r = ev(q)
            if ok and (best is None or c + r < best[0]):
                best = (c + r, q)
        if best is not None:
            return best[1], "floor/ceil search"
    # greedy: move one lot at a time on the candidate that most reduces the violation
    q = nearest.copy()
    for _ in range(10 * x.size + 100):
        ok, _, _ = ev(q)
        if ok:
            return q, "greedy repair"
        best_gain: tuple[float, Float64Array] | None = None
        for i in range(x.size):
            for step in (-1.0, 1.0):
                trial = q.copy()
                trial[i] += step * lot[i]
                d = float(np.linalg.norm(trial - x))
                ok2, c2, r2 = ev(trial)
                score = (0.0 if ok2 else 1.0) * 1e12 + c2 + r2 + d
                if best_gain is None or score < best_gain[0]:
                    best_gain = (score, trial)
        assert best_gain is not None
        q = best_gain[1]
    return q, "greedy repair"


@dataclass(frozen=True, slots=True)
class _Spec:
    """The arrays of one hedge problem, and the cvxpy problems built from them."""

    keys: list[str]
    lim: Mapping[str, tuple[float, float]]
    w: Mapping[str, float]
    b: Float64Array
    e: Float64Array
    caps: Float64Array
    buy_cost: Float64Array
    sell_cost: Float64Array
    budget: float
    objective: str
    scen: Float64Array | None
    book_scen: Float64Array | None
    es_level: float

    def _trades(
        self, cp: Any, lots: Float64Array | None, zero: npt.NDArray[np.bool_] | None = None
    ) -> tuple[Any, Any, list[Any]]:
        """Buy and sell amounts (whole lots when ``lots`` is given; none of the ``zero``
        candidates), caps and budget."""
        n = self.e.shape[1]
        if lots is None:
            xp, xm = cp.Variable(n, nonneg=True), cp.Variable(n, nonneg=True)
            buy, sell = xp, xm
        else:
            xp = cp.Variable(n, integer=True)
            xm = cp.Variable(n, integer=True)
            buy, sell = cp.multiply(lots, xp), cp.multiply(lots, xm)
        cons = [xp >= 0, xm >= 0] if lots is not None else []
        fin = np.isfinite(self.caps)
        if fin.any():
            cons += [buy[fin] <= self.caps[fin], sell[fin] <= self.caps[fin]]
        if math.isfinite(self.budget):
            cons.append(self.buy_cost @ buy + self.sell_cost @ sell <= self.budget)
        if zero is not None and zero.any():
            cons += [buy[zero] == 0, sell[zero] == 0]
        return buy, sell, cons

    def tightened_solution(
        self, cp: Any, lots: Float64Array, active: npt.NDArray[np.bool_]
    ) -> Float64Array | None:
        """The nearest-lot rounding of the continuous optimum over the ``active`` candidates
        (the others held at zero) under limits pulled in by the largest move rounding them can
        cause (``Σ_i lot_i / 2 · |e_ig|`` per limit; the budget by half a lot's cost per
        candidate); None when a band is narrower than that."""
        act_lots = np.where(active, lots, 0.0)
        margin = 0.5 * np.abs(self.e) @ act_lots
        inner: dict[str, tuple[float, float]] = {}
        for j, k in enumerate(self.keys):
            if k in self.lim:
                lo, hi = self.lim[k]
                lo2, hi2 = lo + margin[j], hi - margin[j]
                if lo2 > hi2:
                    return None
                inner[k] = (lo2, hi2)
        budget = self.budget - 0.5 * float(np.maximum(self.buy_cost, self.sell_cost) @ act_lots)
        if budget <= 0:
            return None
        tight = dataclasses.replace(self, lim=inner, budget=budget)
        prob, x = tight.problem(cp, zero=~active)
        prob.solve(solver=cp.CLARABEL)
        if prob.status not in ("optimal", "optimal_inaccurate") or x.value is None:
            return None
        return np.asarray(np.round(np.asarray(x.value, dtype=np.float64) / lots) * lots)

    def problem(
        self,
        cp: Any,
        lots: Float64Array | None = None,
        zero: npt.NDArray[np.bool_] | None = None,
    ) -> tuple[Any, Any]:
        """Minimise cost + risk under the limits; (problem, trade expression)."""
        buy, sell, cons = self._trades(cp, lots, zero)
        x = buy - sell
        resid = self.b + self.e @ x if self.keys else None
        for j, k in enumerate(self.keys):
            if k in self.lim and resid is not None:
                lo, hi = self.lim[k]
                if math.isfinite(lo):
                    cons.append(resid[j] >= lo)
                if math.isfinite(hi):
                    cons.append(resid[j] <= hi)
        risk = _risk_expression(
            cp,
            self.objective,
            self.keys,
            self.w,
            resid,
            self.scen,
            self.book_scen,
            x,
            self.es_level,
        )
        cost = self.buy_cost @ buy + self.sell_cost @ sell
        return cp.Problem(cp.Minimize(cost + risk), cons), x

    def violations(self, cp: Any) -> dict[str, float]:
        """The smallest violation of each limit over all trades within the caps and budget
        (slack per limit, minimised in units of the limit's size)."""
        buy, sell, cons = self._trades(cp, None)
        resid = self.b + self.e @ (buy - sell)
        slack: dict[str, Any] = {}
        for j, k in enumerate(self.keys):
            if k not in self.lim:
                continue
            lo, hi = self.lim[k]
            s = cp.Variable(nonneg=True)
            slack[k] = s
            if math.isfinite(lo):
                cons.append(resid[j] >= lo - s)
            if math.isfinite(hi):
                cons.append(resid[j] <= hi + s)
        if not slack:
            return {}
        scale = {k: max(1.0, *(abs(v) for v in self.lim[k] if math.isfinite(v))) for k in slack}
        objective = cp.Minimize(cp.sum(cp.hstack([s / scale[k] for k, s in slack.items()])))
        cp.Problem(objective, cons).solve(solver=cp.CLARABEL)
        out = {}
        for k, s in slack.items():
            v = float(s.value) if s.value is not None else float("nan")
            if not math.isfinite(v) or v > 1e-7 * scale[k]:
                out[k] = v
        return out
