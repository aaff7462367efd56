"""The fitted volatility surface (:class:`VolSurface`) and :func:`fit_surface`.

A surface is built from an option chain of one currency: per-expiry quotes are selected
(:mod:`invrisk.surface.quotes`), each expiry is fitted with a butterfly-free raw SVI smile that
does not cross the previous expiry's (model ``"svi"``), or all expiries at once with a
power-law SSVI surface that is free of static arbitrage by construction (model ``"ssvi"``).
The result answers ``iv(strike, expiry_ns)`` for any strike and expiry, and carries the forward
curve it was fitted with, the fit quality and the rejected quotes of every expiry.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from invrisk._typing import ArrayLike, Float64Array, Int64Array
from invrisk.errors import InvalidArgumentError
from invrisk.option_chain import OptionChain
from invrisk.surface import _surface_kernels
from invrisk.surface.quotes import SmileQuotes, Target, Weighting, smile_quotes
from invrisk.surface.shocks import VolShock
from invrisk.surface.svi import (
    SVIParams,
    check_grid,
    fit_svi,
    svi_density_g,
    svi_total_variance,
)
from invrisk.units import ns_to_iso

__all__ = ["Dynamics", "Model", "SliceFit", "VolSurface", "fit_surface"]

Model = Literal["svi", "ssvi", "essvi"]
Dynamics = Literal["sticky_strike", "sticky_moneyness"]
_PARALLEL_MIN = 20_000


@dataclass(frozen=True, slots=True)
class SliceFit:
    """One expiry of a fitted surface.

    Attributes
    ----------
    expiry_ns, t_yr, forward_usd
        Expiry, years to it at the valuation time (ACT/365), forward used.
    params
        The slice as raw SVI in total variance over k = ln(K/F) (an SSVI slice is converted
        with Gatheral & Jacquier 2014, Lemma 3.3).
    rmse_vol_pts, max_abs_err_vol_pts
        Fit errors against the target vols, in vol points (0.01): the RMSE is weighted as the
        fit was, the maximum is over all quotes used.
    n_quotes
        Quotes used.
    k_min, k_max
        Range of the quotes' log-moneyness.
    rejected
        Quotes not used, by reason (see ``invrisk.surface.quotes.REJECTION_REASONS``).
    g_min, g_min_k
        Minimum of the Gatheral–Jacquier density over a grid reaching well into the wings, and
        where (>= 0: no butterfly arbitrage).
    """

    expiry_ns: int
    t_yr: float
    forward_usd: float
    params: SVIParams
    rmse_vol_pts: float
    max_abs_err_vol_pts: float
    n_quotes: int
    k_min: float
    k_max: float
    rejected: dict[str, int]
    g_min: float
    g_min_k: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "expiry": ns_to_iso(self.expiry_ns),
            "expiry_ns": self.expiry_ns,
            "t_yr": self.t_yr,
            "forward_usd": self.forward_usd,
            "params": self.params.as_dict(),
            "rmse_vol_pts": self.rmse_vol_pts,
            "max_abs_err_vol_pts": self.max_abs_err_vol_pts,
            "n_quotes": self.n_quotes,
            "k_range": [self.k_min, self.k_max],
            "rejected": dict(self.rejected),
            "g_min": self.g_min,
            "g_min_k": self.g_min_k,
        }


@dataclass(frozen=True, slots=True, eq=False)
class VolSurface:
    """An implied volatility surface over strike and expiry.

    Build one with :func:`fit_surface`. Evaluation interpolates in total variance across
    expiries (see ``_surface_kernels_python``), the forward log-linearly in time; before the
    first and after the last expiry the implied vol at fixed log-moneyness is held constant and
    the forward follows the nearest segment's carry.

    Attributes
    ----------
    valuation_ns
        The instant the surface describes (int ns UTC).
    currency
        Underlying coin.
    model
        ``"svi"`` or ``"ssvi"``.
    slices
        Per-expiry fits, in time order.
    ssvi_params
        (ρ, η, γ) of the global power-law SSVI surface (model ``"ssvi"``), else empty.
    skipped_expiries
        Expiries of the chain that could not be fitted, with the reason.
    shock
        A vol shock applied on evaluation (:meth:`shocked`), or None.
    """

    valuation_ns: int
    currency: str
    model: Model
    slices: tuple[SliceFit, ...]
    ssvi_params: dict[str, float] = field(default_factory=dict)
    skipped_expiries: dict[str, str] = field(default_factory=dict)
    shock: VolShock | None = None

    def __post_init__(self) -> None:
        if not self.slices:
            raise InvalidArgumentError("slices", "()", "at least one fitted expiry")
        t = np.array([s.t_yr for s in self.slices])
        if not (np.all(t > 0.0) and np.all(np.diff(t) > 0.0)):
            raise InvalidArgumentError("slices", "times", "expiries in the future, in time order")

    # -- the forward curve -------------------------------------------------------------------

    @property
    def expiry_ns(self) -> Int64Array:
        return np.array([s.expiry_ns for s in self.slices], dtype=np.int64)

    @property
    def t_yr(self) -> Float64Array:
        return np.array([s.t_yr for s in self.slices])

    @property
    def forward_usd(self) -> Float64Array:
        return np.array([s.forward_usd for s in self.slices])

    def forward(self, t_yr: ArrayLike) -> Float64Array:
        """Forward at time(s) t_yr: log-linear between expiries, nearest carry outside."""
        t = np.asarray(t_yr, dtype=np.float64)
        nodes = self.t_yr
        logf = np.log(self.forward_usd)
        if nodes.size == 1:
            return np.asarray(np.broadcast_to(self.forward_usd[0], t.shape).copy())
        slope_lo = (logf[1] - logf[0]) / (nodes[1] - nodes[0])
        slope_hi = (logf[-1] - logf[-2]) / (nodes[-1] - nodes[-2])
        inside = np.interp(t, nodes, logf)
        out = np.where(
            t < nodes[0],
            logf[0] + (t - nodes[0]) * slope_lo,
            np.where(t > nodes[-1], logf[-1] + (t - nodes[-1]) * slope_hi, inside),
        )
        return np.asarray(np.exp(out))

    # -- evaluation --------------------------------------------------------------------------

    def _kernel_inputs(self) -> tuple[Float64Array, Float64Array, int, Float64Array, Float64Array]:
        params = np.array(
            [
                [s.params.a, s.params.b, s.params.rho, s.params.m, s.params.sigma]
                for s in self.slices
            ]
        )
        # (θ, ψ, ρψ) of each slice: θ = w(0), and an (e)SSVI slice's raw SVI b is ψ/2.
        nodes_x = np.array(
            [
                [
                    svi_total_variance(0.0, s.params).item(),
                    2.0 * s.params.b,
                    2.0 * s.params.b * s.params.rho,
                ]
                for s in self.slices
            ]
        )
        if self.model == "ssvi":
            p = self.ssvi_params
            glob = np.array([p["rho"], p["eta"], p["gamma"]])
            return self.t_yr, params, 1, nodes_x, glob
        if self.model == "essvi":
            return self.t_yr, params, 2, nodes_x, np.zeros(3)
        return self.t_yr, params, 0, nodes_x, np.zeros(3)

    def total_variance(self, *, log_moneyness: ArrayLike, t_yr: ArrayLike) -> Float64Array:
        """Total implied variance σ²T at k = ln(K/F(T)) and T (years, > 0; NaN where T <= 0)."""
        k = np.asarray(log_moneyness, dtype=np.float64)
        t = np.asarray(t_yr, dtype=np.float64)
        try:
            shape = np.broadcast_shapes(k.shape, t.shape)
        except ValueError as exc:
            raise InvalidArgumentError(
                "log_moneyness/t_yr", f"{k.shape}, {t.shape}", "shapes that broadcast together"
            ) from exc
        if not (np.all(np.isfinite(k)) and np.all(np.isfinite(t))):
            raise InvalidArgumentError("log_moneyness/t_yr", "non-finite values", "finite numbers")
        kf = np.ascontiguousarray(np.broadcast_to(k, shape), dtype=np.float64).reshape(-1)
        tf = np.ascontiguousarray(np.broadcast_to(t, shape), dtype=np.float64).reshape(-1)
        nodes, params, model, nodes_x, glob = self._kernel_inputs()
        shock = self.shock.as_array() if self.shock is not None else np.zeros(5)
        out = np.empty(kf.shape[0])
        kernel = (
            _surface_kernels.surface_kernel
            if kf.shape[0] >= _PARALLEL_MIN
            else _surface_kernels.surface_kernel_serial
        )
        kernel(kf, tf, nodes, params, model, nodes_x, glob, shock, out)
        return out.reshape(shape)

    def iv_k(self, *, log_moneyness: ArrayLike, t_yr: ArrayLike) -> Float64Array:
        """Implied vol (decimal) at log-moneyness k and time T."""
        t = np.asarray(t_yr, dtype=np.float64)
        w = self.total_variance(log_moneyness=log_moneyness, t_yr=t)
        with np.errstate(invalid="ignore"):
            return np.asarray(np.sqrt(w / t))

    def iv(self, *, strike: ArrayLike, expiry_ns: ArrayLike) -> Float64Array:
        """Implied vol (decimal) of any strike (USD) and expiry (int ns UTC) after valuation.

        Expiries at or before the valuation time give NaN.
        """
        kk = np.asarray(strike, dtype=np.float64)
        if not np.all(np.isfinite(kk) & (kk > 0.0)):
            raise InvalidArgumentError("strike", "values <= 0 or non-finite", "strikes > 0")
        e = np.asarray(expiry_ns)
        if e.dtype.kind not in "iu":
            raise InvalidArgumentError("expiry_ns", f"dtype {e.dtype}", "int64 ns timestamps")
        try:
            shape = np.broadcast_shapes(kk.shape, e.shape)
        except ValueError as exc:
            raise InvalidArgumentError(
                "strike/expiry_ns", f"{kk.shape}, {e.shape}", "shapes that broadcast together"
            ) from exc
        n = math.prod(shape)
        # Length-1 inputs are passed as they are (the kernel broadcasts them).
        kf = np.ascontiguousarray(kk if kk.size == 1 else np.broadcast_to(kk, shape)).reshape(-1)
        ef = np.ascontiguousarray(e if e.size == 1 else np.broadcast_to(e, shape), dtype=np.int64)
        ef = ef.reshape(-1)
        nodes, params, model, nodes_x, glob = self._kernel_inputs()
        shock = self.shock.as_array() if self.shock is not None else np.zeros(5)
        out = np.empty(n)
        kernel = (
            _surface_kernels.iv_kernel if n >= _PARALLEL_MIN else _surface_kernels.iv_kernel_serial
        )
        kernel(
            kf,
            ef,
            self.valuation_ns,
            nodes,
            np.log(self.forward_usd),
            params,
            model,
            nodes_x,
            glob,
            shock,
            out,
        )
        return out.reshape(shape)

    # -- shocks and dynamics ------------------------------------------------------------------

    def shocked(self, shock: VolShock) -> VolSurface:
        """The same surface with a vol shock applied on evaluation (replaces any earlier one)."""
        return dataclasses.replace(self, shock=shock)

    def moved(self, *, spot_return: float, dynamics: Dynamics) -> VolSurface:
        """The surface after the underlying moves by ``spot_return`` (0.1 = +10%).

        Every forward scales by (1 + spot_return). Under ``"sticky_strike"`` the implied vol
        of each strike is unchanged (the smile moves in log-moneyness by -ln(1 + r): SVI's m
        shifts); under ``"sticky_moneyness"`` the vol at each k = ln(K/F) is unchanged (the
        smile moves with the forward).
        """
        if not (math.isfinite(spot_return) and spot_return > -1.0):
            raise InvalidArgumentError("spot_return", spot_return, "a return > -1 (-100%)")
        if dynamics not in ("sticky_strike", "sticky_moneyness"):
            raise InvalidArgumentError(
                "dynamics", dynamics, "'sticky_strike' or 'sticky_moneyness'"
            )
        factor = 1.0 + spot_return
        shift = math.log(factor) if dynamics == "sticky_strike" else 0.0
        slices = tuple(
            dataclasses.replace(
                s,
                forward_usd=s.forward_usd * factor,
                params=dataclasses.replace(s.params, m=s.params.m - shift),
            )
            for s in self.slices
        )
        model: Model = self.model
        if shift != 0.0 and self.model in ("ssvi", "essvi"):
            # A shifted (e)SSVI slice is no longer (e)SSVI in k; evaluate it as per-expiry SVI.
            model = "svi"
        return dataclasses.replace(self, slices=slices, model=model)

    def summary(self) -> dict[str, Any]:
        """JSON-ready description: model, per-expiry fits, skipped expiries."""
        return {
            "valuation": ns_to_iso(self.valuation_ns),
            "currency": self.currency,
            "model": self.model,
            "ssvi_params": dict(self.ssvi_params),
            "expiries": [s.as_dict() for s in self.slices],
            "skipped_expiries": dict(self.skipped_expiries),
            "shock": None if self.shock is None else self.shock.as_dict(),
        }


def fit_surface(
    chain: OptionChain,
    *,
    model: Model = "svi",
    currency: str | None = None,
    target: Target = "mark",
    weighting: Weighting | None = None,
) -> VolSurface:
    """Fit an arbitrage-free volatility surface to an option chain.

    Parameters
    ----------
    chain
        Normalised chain (:func:`invrisk.data.load_deribit_chain` or a synthetic one).
    model
        ``"svi"``: one raw SVI smile per expiry, butterfly-free and not crossing its neighbours
        (fitted longest first, each shorter one kept below the next longer). ``"ssvi"``: one
        power-law SSVI surface for all expiries. ``"essvi"``: one extended SSVI surface (a skew
        and curvature per expiry, calendar-consistent), the global model that fits crypto
        chains best.
    currency
        Which coin to fit if the chain holds several (required then).
    target, weighting
        Which price to fit and how to weight quotes (see
        :func:`invrisk.surface.quotes.smile_quotes`).

    Returns
    -------
    VolSurface

    Raises
    ------
    InvalidArgumentError
        If no expiry has enough usable quotes (the message lists each expiry's reason), or the
        chain mixes currencies and ``currency`` is not given.
    """
    if model not in ("svi", "ssvi", "essvi"):
        raise InvalidArgumentError("model", model, "'svi', 'ssvi' or 'essvi'")
    currencies = chain.currencies()
    if currency is None:
        if len(currencies) != 1:
            raise InvalidArgumentError(
                "currency", None, f"one of {list(currencies)} (the chain holds several)"
            )
        currency = currencies[0]
    chain = chain.for_currency(currency)
    if len(chain) == 0:
        raise InvalidArgumentError("currency", currency, f"one of {list(currencies)}")
    smiles, skipped = smile_quotes(chain, target=target, weighting=weighting)
    if model in ("ssvi", "essvi") and len(smiles) < 2:
        raise InvalidArgumentError(
            "chain", f"{len(smiles)} usable expiries", f"at least 2 for SSVI (skipped: {skipped})"
        )
    if not smiles:
        raise InvalidArgumentError("chain", "no usable expiry", f"fittable quotes ({skipped})")
    valuation_ns = int(np.median(chain.valuation_ns))
    if model == "svi":
        slices = _fit_svi_slices(smiles)
        return VolSurface(
            valuation_ns=valuation_ns,
            currency=currency,
            model="svi",
            slices=slices,
            skipped_expiries=skipped,
        )
    if model == "essvi":
        return _fit_essvi_surface(smiles, valuation_ns, currency, skipped)
    return _fit_ssvi_surface(smiles, valuation_ns, currency, skipped)


def _fit_svi_slices(smiles: list[SmileQuotes]) -> tuple[SliceFit, ...]:
    """Fit the longest expiry first, then each shorter one below the next longer fit.

    Longer expiries are quoted over a wider range of log-moneyness, so their wings are the
    better determined; a short expiry's smile, quoted near the money only, is kept under them
    (no calendar arbitrage) rather than the other way round.
    """
    fits: list[SliceFit] = []
    ceiling: SVIParams | None = None
    for q in reversed(smiles):
        fit = fit_svi(
            log_moneyness=q.log_moneyness,
            implied_vol=q.iv,
            t_yr=q.t_yr,
            vol_weight=q.weight,
            calendar_ceiling=ceiling,
        )
        ceiling = fit.params
        fits.append(
            SliceFit(
                expiry_ns=q.expiry_ns,
                t_yr=q.t_yr,
                forward_usd=q.forward_usd,
                params=fit.params,
                rmse_vol_pts=fit.rmse_vol_pts,
                max_abs_err_vol_pts=fit.max_abs_err_vol_pts,
                n_quotes=fit.n_quotes,
                k_min=fit.k_min,
                k_max=fit.k_max,
                rejected=q.rejected,
                g_min=fit.g_min,
                g_min_k=fit.g_min_k,
            )
        )
    return tuple(reversed(fits))


def _slice_from(q: SmileQuotes, svi: SVIParams, rmse: float, max_err: float) -> SliceFit:
    grid = check_grid(float(q.log_moneyness[0]), float(q.log_moneyness[-1]))
    g = svi_density_g(grid, svi)
    return SliceFit(
        expiry_ns=q.expiry_ns,
        t_yr=q.t_yr,
        forward_usd=q.forward_usd,
        params=svi,
        rmse_vol_pts=rmse,
        max_abs_err_vol_pts=max_err,
        n_quotes=len(q),
        k_min=float(q.log_moneyness[0]),
        k_max=float(q.log_moneyness[-1]),
        rejected=q.rejected,
        g_min=float(g.min()),
        g_min_k=float(grid[int(np.argmin(g))]),
    )


def _stack(smiles: list[SmileQuotes]) -> tuple[Float64Array, ...]:
    k = np.concatenate([q.log_moneyness for q in smiles])
    t = np.concatenate([np.full(len(q), q.t_yr) for q in smiles])
    iv = np.concatenate([q.iv for q in smiles])
    wts = np.concatenate([q.weight / q.weight.mean() for q in smiles])
    index = np.concatenate([np.full(len(q), i) for i, q in enumerate(smiles)])
    return k, t, iv, wts, index


def _fit_essvi_surface(
    smiles: list[SmileQuotes], valuation_ns: int, currency: str, skipped: dict[str, str]
) -> VolSurface:
    from invrisk.surface.essvi import fit_essvi

    k, t, iv, wts, index = _stack(smiles)
    fit = fit_essvi(log_moneyness=k, t_yr=t, implied_vol=iv, weights=wts, expiry_index=index)
    slices = []
    for i, q in enumerate(smiles):
        theta, psi, rho = float(fit.theta[i]), float(fit.psi[i]), float(fit.rho[i])
        # The eSSVI slice (θ, ψ = θφ, ρ) as raw SVI (Gatheral & Jacquier 2014, Lemma 3.3).
        svi = SVIParams(
            a=0.5 * theta * (1.0 - rho * rho),
            b=0.5 * psi,
            rho=rho,
            m=-rho * theta / psi,
            sigma=math.sqrt(1.0 - rho * rho) * theta / psi,
        )
        model_vol = np.sqrt(svi_total_variance(q.log_moneyness, svi) / q.t_yr)
        err = (model_vol - q.iv) * 100.0
        wn = q.weight / q.weight.sum()
        slices.append(
            _slice_from(q, svi, float(np.sqrt(np.sum(wn * err * err))), float(np.abs(err).max()))
        )
    return VolSurface(
        valuation_ns=valuation_ns,
        currency=currency,
        model="essvi",
        slices=tuple(slices),
        skipped_expiries=skipped,
    )


def _fit_ssvi_surface(
    smiles: list[SmileQuotes], valuation_ns: int, currency: str, skipped: dict[str, str]
) -> VolSurface:
    from invrisk.surface.ssvi import fit_ssvi

    k = np.concatenate([q.log_moneyness for q in smiles])
    t = np.concatenate([np.full(len(q), q.t_yr) for q in smiles])
    iv = np.concatenate([q.iv for q in smiles])
    wts = np.concatenate([q.weight / q.weight.mean() for q in smiles])
    index = np.concatenate([np.full(len(q), i) for i, q in enumerate(smiles)])
    fit = fit_ssvi(log_moneyness=k, t_yr=t, implied_vol=iv, weights=wts, expiry_index=index)
    p = fit.params
    slices = []
    for q, theta in zip(smiles, fit.theta, strict=True):
        theta = float(theta)
        phi = float(p.phi(theta))
        # An SSVI slice is a raw SVI slice (Gatheral & Jacquier 2014, Lemma 3.3).
        svi = SVIParams(
            a=0.5 * theta * (1.0 - p.rho**2),
            b=0.5 * theta * phi,
            rho=p.rho,
            m=-p.rho / phi,
            sigma=math.sqrt(1.0 - p.rho**2) / phi,
        )
        model_vol = np.sqrt(svi_total_variance(q.log_moneyness, svi) / q.t_yr)
        err = (model_vol - q.iv) * 100.0
        wn = q.weight / q.weight.sum()
        grid = check_grid(float(q.log_moneyness[0]), float(q.log_moneyness[-1]))
        g = svi_density_g(grid, svi)
        slices.append(
            SliceFit(
                expiry_ns=q.expiry_ns,
                t_yr=q.t_yr,
                forward_usd=q.forward_usd,
                params=svi,
                rmse_vol_pts=float(np.sqrt(np.sum(wn * err * err))),
                max_abs_err_vol_pts=float(np.max(np.abs(err))),
                n_quotes=len(q),
                k_min=float(q.log_moneyness[0]),
                k_max=float(q.log_moneyness[-1]),
                rejected=q.rejected,
                g_min=float(g.min()),
                g_min_k=float(grid[int(np.argmin(g))]),
            )
        )
    return VolSurface(
        valuation_ns=valuation_ns,
        currency=currency,
        model="ssvi",
        slices=tuple(slices),
        ssvi_params={"rho": p.rho, "eta": p.eta, "gamma": p.gamma},
        skipped_expiries=skipped,
    )
