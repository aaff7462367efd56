"""Optimal market-making quotes with inventory risk.

Every model implements :class:`QuotingModel` (``quotes(*, q, t_ns, state) -> Quotes``) and is
built from a module-level function that can be called on its own:

- :class:`AvellanedaStoikov` / :func:`avellaneda_stoikov_depths` — Avellaneda & Stoikov (2008);
- :class:`GueantExact` / :func:`solve_gueant` — GLFT (2013) and Guéant (2017), exact, bounded
  inventory, finite or infinite horizon, any ξ >= 0, drift;
- :class:`GueantClosedForm` / :func:`gueant_closed_form_depths` — Guéant (2017) eqs. 4.6–4.9;
- :class:`CarteaJaimungalPenalva` / :func:`cjp_depths` — Cartea, Jaimungal & Penalva (2015).

Calibration (:mod:`invrisk.quoting.calibrate`): :func:`calibrate_sigma` (realized variance,
optional EWMA) and :func:`calibrate_intensity` (A and k of λ(δ) = A e^{−kδ} as a true arrival
rate, maximum likelihood with standard errors), and a :class:`RollingCalibrator` with an
explicit warm-up/stale status.

Simulation (:mod:`invrisk.quoting.simulate`): a vectorised Monte Carlo of the
Avellaneda–Stoikov setting for any depth strategy, with the paper-style table.

Also: :mod:`~invrisk.quoting.multi_asset` (Guéant 2017 and Bergault et al. 2021 closed forms for
correlated instruments), :mod:`~invrisk.quoting.options_mm` (option market making with the
portfolio vega as inventory, Baldacci–Bergault–Guéant 2021, quadratic approximation),
:mod:`~invrisk.quoting.alpha` (ridge forecast of the mid change with walk-forward out-of-sample
R², skewed reference price) and :mod:`~invrisk.quoting.shaping` (size shaping, inventory limits,
tick and lot rounding that never crosses the touch unless asked).

Units: prices in price units, time in seconds, σ per sqrt(second) (see each module).
"""

from __future__ import annotations

from invrisk.quoting.alpha import AlphaModel, SkewedReference, fit_alpha, skewed_reference
from invrisk.quoting.as_model import AvellanedaStoikov, avellaneda_stoikov_depths
from invrisk.quoting.base import BookQuotes, BookQuotingModel, ModelState, Quotes, QuotingModel
from invrisk.quoting.calibrate import (
    CalibrationStatus,
    IntensityEstimate,
    RollingCalibrator,
    SigmaEstimate,
    calibrate_intensity,
    calibrate_sigma,
)
from invrisk.quoting.glft import (
    CarteaJaimungalPenalva,
    GueantClosedForm,
    GueantExact,
    GueantSolution,
    cjp_depths,
    gueant_closed_form_depths,
    solve_gueant,
)
from invrisk.quoting.intensity import ExponentialIntensity, Intensity, LogisticIntensity
from invrisk.quoting.multi_asset import MultiAssetClosedForm, multi_asset_depths
from invrisk.quoting.options_mm import VegaBookModel, VegaBookQuotes, vega_book_quotes
from invrisk.quoting.shaping import RoundedQuotes, ShapedSizes, round_quotes, shaped_sizes
from invrisk.quoting.simulate import (
    SimulationResult,
    gueant_closed_form_strategy,
    inventory_strategy,
    simulate,
    symmetric_strategy,
)

__all__ = [
    "AlphaModel",
    "AvellanedaStoikov",
    "BookQuotes",
    "BookQuotingModel",
    "CalibrationStatus",
    "CarteaJaimungalPenalva",
    "ExponentialIntensity",
    "GueantClosedForm",
    "GueantExact",
    "GueantSolution",
    "Intensity",
    "IntensityEstimate",
    "LogisticIntensity",
    "ModelState",
    "MultiAssetClosedForm",
    "Quotes",
    "QuotingModel",
    "RollingCalibrator",
    "RoundedQuotes",
    "ShapedSizes",
    "SigmaEstimate",
    "SimulationResult",
    "SkewedReference",
    "VegaBookModel",
    "VegaBookQuotes",
    "avellaneda_stoikov_depths",
    "calibrate_intensity",
    "calibrate_sigma",
    "cjp_depths",
    "fit_alpha",
    "gueant_closed_form_depths",
    "gueant_closed_form_strategy",
    "inventory_strategy",
    "multi_asset_depths",
    "round_quotes",
    "shaped_sizes",
    "simulate",
    "skewed_reference",
    "solve_gueant",
    "symmetric_strategy",
    "vega_book_quotes",
]
