"""Short-horizon alpha: a ridge forecast of the next mid change and a skewed reference price.

Layer 1: this module takes arrays and never reads a book. The caller computes the features
with :mod:`invrisk.market.features` (``book_imbalance``, ``trade_flow_imbalance``,
``microprice``, ``mid_price``) and stacks them with :func:`standard_features`.

The fit is a ridge regression on standardised features with an unpenalised intercept,
evaluated walk-forward (time order, never shuffled); :func:`skewed_reference` moves the
reference price the quotes are built around by the forecast, with an explicit cap.

Units: ``future_mid_change`` and the forecast are in price units (the same as the mid);
features are whatever the caller passes (imbalances are dimensionless in [-1, 1], the
microprice offset is in price units).

References
----------
.. [HTF09] T. Hastie, R. Tibshirani, J. Friedman, *The Elements of Statistical Learning*,
   2nd ed., Springer, 2009, Sec. 3.4.1 (ridge regression, eq. 3.44; intercept not penalised,
   inputs standardised).
.. [CT08] J. Y. Campbell, S. B. Thompson, "Predicting excess stock returns out of sample: can
   anything beat the historical average?", Review of Financial Studies 21(4), 1509-1531, 2008
   (out-of-sample R² against the training-mean forecast).
.. [CDJ18] Á. Cartea, R. Donnelly, S. Jaimungal, "Enhancing trading strategies with order
   book signals", Applied Mathematical Finance 25(1), 1-35, 2018 (imbalance as a predictor).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from invrisk._typing import ArrayLike, BoolArray, Float64Array
from invrisk.errors import InvalidArgumentError

__all__ = [
    "AlphaModel",
    "FeatureMatrix",
    "FoldResult",
    "SkewedReference",
    "fit_alpha",
    "ridge_solve",
    "skewed_reference",
    "standard_features",
    "walk_forward_folds",
]

Window = Literal["expanding", "rolling"]


# --- features --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeatureMatrix:
    """Features stacked column-wise, with their names.

    Attributes
    ----------
    values
        Shape ``(n, p)``; NaN where an input was NaN (an empty book side, no trades).
    names
        One name per column.
    finite
        Shape ``(n,)``: rows where every feature is finite (the rows :func:`fit_alpha` accepts).
    """

    values: Float64Array
    names: tuple[str, ...]
    finite: BoolArray


def _floats(name: str, value: ArrayLike) -> Float64Array:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(name, value, "real numbers") from exc


def standard_features(
    *,
    book_imbalance: ArrayLike,
    trade_flow_imbalance: ArrayLike,
    microprice: ArrayLike,
    mid: ArrayLike,
) -> FeatureMatrix:
    """Stack the standard alpha features: imbalance at N levels, trade flow, microprice − mid.

    Parameters
    ----------
    book_imbalance
        Shape ``(n,)`` or ``(n, L)``: ``book_imbalance(..., n_levels=N)`` for each depth N the
        caller wants (one column per depth), in [-1, 1].
    trade_flow_imbalance
        Shape ``(n,)``: ``trade_flow_imbalance(..., at_ns=sample_times)``, in [-1, 1].
    microprice, mid
        Shape ``(n,)``, price units; the feature is ``microprice - mid``.

    Returns
    -------
    FeatureMatrix
        Columns ``imbalance_1..imbalance_L``, ``trade_flow``, ``micro_minus_mid``. NaN inputs
        are kept (and flagged in ``finite``), never filled.
    """
    imb = _floats("book_imbalance", book_imbalance)
    if imb.ndim == 1:
        imb = imb[:, None]
    if imb.ndim != 2 or imb.shape[1] < 1:
        raise InvalidArgumentError("book_imbalance", f"shape {imb.shape}", "shape (n,) or (n, L)")
    n = imb.shape[0]
    cols = {
        "trade_flow_imbalance": _floats("trade_flow_imbalance", trade_flow_imbalance),
        "microprice": _floats("microprice", microprice),
        "mid": _floats("mid", mid),
    }
    for name, arr in cols.items():
        if arr.shape != (n,):
            raise InvalidArgumentError(name, f"shape {arr.shape}", f"shape ({n},)")
    values = np.column_stack(
        [imb, cols["trade_flow_imbalance"], cols["microprice"] - cols["mid"]]
    ).astype(np.float64)
    names = (
        *(f"imbalance_{i + 1}" for i in range(imb.shape[1])),
        "trade_flow",
        "micro_minus_mid",
    )
    finite: BoolArray = np.asarray(np.isfinite(values).all(axis=1), dtype=np.bool_)
    return FeatureMatrix(values=values, names=names, finite=finite)


# --- ridge kernel ----------------------------------------------------------------------------


def ridge_solve(
    x: Float64Array, y: Float64Array, ridge: float
) -> tuple[Float64Array, float, Float64Array, Float64Array]:
    """Ridge fit with standardised inputs and an unpenalised intercept (inputs assumed valid).

    Minimises ``||y - b0 - Z b||² + ridge * ||b||²`` with ``Z = (x - mean) / scale`` (column
    means and population standard deviations of ``x``) [HTF09]_. Returns the coefficients on
    the *raw* features, the intercept on raw features, and ``mean``, ``scale``.
    """
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    z = (x - mean) / scale
    y_mean = float(y.mean())
    p = x.shape[1]
    beta = np.linalg.solve(z.T @ z + ridge * np.eye(p), z.T @ (y - y_mean))
    coef: Float64Array = beta / scale
    intercept = y_mean - float(mean @ coef)
    return coef, intercept, mean, scale


def _r2(y: Float64Array, pred: Float64Array, benchmark: float) -> float:
    """``1 - SSE / SS(y - benchmark)``; ``nan`` when the denominator is 0."""
    sst = float(np.sum((y - benchmark) ** 2))
    if sst == 0.0:
        return math.nan
    return 1.0 - float(np.sum((y - pred) ** 2)) / sst


# --- walk-forward ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FoldResult:
    """One walk-forward fold: rows ``[train_start, train_stop)`` fit, ``[test_start, test_stop)``
    scored, with ``train_stop + embargo <= test_start``.

    Attributes
    ----------
    r2_in_sample
        R² on the training rows (benchmark: the training mean).
    r2_out_of_sample
        R² on the test rows against the *training* mean forecast [CT08]_; may be negative (the
        model forecasts worse than the historical mean) and is reported as is.
    """

    train_start: int
    train_stop: int
    test_start: int
    test_stop: int
    r2_in_sample: float
    r2_out_of_sample: float


def walk_forward_folds(
    n: int, *, n_folds: int, window: Window = "expanding", embargo: int = 0
) -> list[tuple[int, int, int, int]]:
    """Index ranges ``(train_start, train_stop, test_start, test_stop)`` of each fold.

    The rows are cut into ``n_folds + 1`` contiguous blocks in time order. Fold ``k``
    (``k = 1..n_folds``) tests on block ``k`` and trains on blocks ``0..k-1`` (``"expanding"``)
    or on block ``k-1`` only (``"rolling"``), minus the last ``embargo`` training rows: a label
    ``mid[t + h] - mid[t]`` overlaps the test block for the last ``h`` training rows, so pass
    ``embargo = h`` (in rows) to keep every training label strictly before the test block.
    """
    if isinstance(n_folds, bool) or not isinstance(n_folds, int | np.integer) or n_folds < 1:
        raise InvalidArgumentError("n_folds", n_folds, "an integer >= 1")
    if window not in ("expanding", "rolling"):
        raise InvalidArgumentError("window", window, "'expanding' or 'rolling'")
    if isinstance(embargo, bool) or not isinstance(embargo, int | np.integer) or embargo < 0:
        raise InvalidArgumentError("embargo", embargo, "an integer >= 0")
    edges = [round(i * n / (n_folds + 1)) for i in range(n_folds + 2)]
    folds = []
    for k in range(1, n_folds + 1):
        train_start = 0 if window == "expanding" else edges[k - 1]
        train_stop = edges[k] - int(embargo)
        folds.append((train_start, train_stop, edges[k], edges[k + 1]))
    return folds


# --- model -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlphaModel:
    """A fitted alpha: ``forecast = intercept + features @ coef`` (price units).

    Attributes
    ----------
    coef, intercept
        On the raw (unstandardised) features, fitted on all rows.
    feature_mean, feature_scale
        The standardisation used in the fit (column means and standard deviations).
    ridge
        Penalty on the standardised coefficients.
    folds
        Walk-forward evaluation, in time order.
    r2_in_sample
        R² of the final (all-rows) fit on its own rows.
    r2_out_of_sample
        Pooled walk-forward R²: ``1 - ΣSSE / ΣSST`` over every test row, each fold against its
        own training mean [CT08]_. Negative when the features do not forecast; not clipped.
    """

    coef: Float64Array
    intercept: float
    feature_mean: Float64Array
    feature_scale: Float64Array
    ridge: float
    folds: tuple[FoldResult, ...]
    r2_in_sample: float
    r2_out_of_sample: float

    def predict(self, features: ArrayLike) -> Float64Array:
        """Forecast of the mid change (price units) for each row of ``features`` ``(n, p)``."""
        x = _floats("features", features)
        if x.ndim != 2 or x.shape[1] != self.coef.shape[0]:
            raise InvalidArgumentError(
                "features", f"shape {x.shape}", f"shape (n, {self.coef.shape[0]})"
            )
        out: Float64Array = self.intercept + x @ self.coef
        return out


def _check_fit_inputs(features: ArrayLike, y: ArrayLike) -> tuple[Float64Array, Float64Array]:
    x = _floats("features", features)
    t = _floats("future_mid_change", y)
    if x.ndim != 2 or x.shape[1] < 1:
        raise InvalidArgumentError("features", f"shape {x.shape}", "a 2-D array (n, p), p >= 1")
    if t.shape != (x.shape[0],):
        raise InvalidArgumentError("future_mid_change", f"shape {t.shape}", f"({x.shape[0]},)")
    bad_x = ~np.isfinite(x).all(axis=1)
    if bad_x.any():
        i = int(np.flatnonzero(bad_x)[0])
        raise InvalidArgumentError(
            "features",
            f"non-finite at row {i}",
            "finite rows (drop them with FeatureMatrix.finite)",
        )
    bad_y = ~np.isfinite(t)
    if bad_y.any():
        i = int(np.flatnonzero(bad_y)[0])
        raise InvalidArgumentError("future_mid_change", f"non-finite at row {i}", "finite values")
    return x, t


def _check_block(x: Float64Array, start: int, stop: int) -> None:
    if stop - start < 2:
        raise InvalidArgumentError(
            "n_folds", f"a training block of {stop - start} rows", "training blocks of >= 2 rows"
        )
    const = x[start:stop].std(axis=0) == 0.0
    if const.any():
        j = int(np.flatnonzero(const)[0])
        raise InvalidArgumentError(
            "features", f"column {j} constant on rows [{start}, {stop})", "non-constant columns"
        )


def fit_alpha(
    features: ArrayLike,
    future_mid_change: ArrayLike,
    *,
    ridge: float,
    n_folds: int,
    window: Window = "expanding",
    embargo: int = 0,
) -> AlphaModel:
    """Fit a ridge forecast of the future mid change and evaluate it walk-forward.

    Parameters
    ----------
    features
        Shape ``(n, p)``, rows in time order, all finite (e.g. :func:`standard_features`
        restricted to ``finite`` rows).
    future_mid_change
        Shape ``(n,)``, price units: ``mid[t + h] - mid[t]`` for the horizon ``h`` of interest.
    ridge
        Penalty λ >= 0 on the standardised coefficients (0 is ordinary least squares).
    n_folds
        Number of walk-forward test blocks (>= 1); see :func:`walk_forward_folds`.
    window
        ``"expanding"`` (all past blocks) or ``"rolling"`` (the previous block only).
    embargo
        Training rows dropped just before each test block (rows; use the label horizon).

    Notes
    -----
    Each fold standardises and fits on its training rows only and scores on the next block;
    nothing from a test block reaches its fit. The returned coefficients are the fit on all
    rows (what one would deploy); its in-sample R² is optimistic, the pooled out-of-sample R²
    is the honest number.
    """
    x, y = _check_fit_inputs(features, future_mid_change)
    lam = float(ridge)
    if not (math.isfinite(lam) and lam >= 0.0):
        raise InvalidArgumentError("ridge", ridge, "a finite number >= 0")
    folds = walk_forward_folds(x.shape[0], n_folds=n_folds, window=window, embargo=embargo)
    results = []
    sse = sst = 0.0
    for a, b, c, d in folds:
        _check_block(x, a, b)
        if d - c < 1:
            raise InvalidArgumentError("n_folds", n_folds, f"at most {x.shape[0] - 1} folds")
        coef, icpt, _, _ = ridge_solve(x[a:b], y[a:b], lam)
        y_train_mean = float(y[a:b].mean())
        pred_test = icpt + x[c:d] @ coef
        sse += float(np.sum((y[c:d] - pred_test) ** 2))
        sst += float(np.sum((y[c:d] - y_train_mean) ** 2))
        results.append(
            FoldResult(
                train_start=a,
                train_stop=b,
                test_start=c,
                test_stop=d,
                r2_in_sample=_r2(y[a:b], icpt + x[a:b] @ coef, y_train_mean),
                r2_out_of_sample=_r2(y[c:d], pred_test, y_train_mean),
            )
        )
    _check_block(x, 0, x.shape[0])
    coef, icpt, mean, scale = ridge_solve(x, y, lam)
    for arr in (coef, mean, scale):
        arr.setflags(write=False)
    return AlphaModel(
        coef=coef,
        intercept=icpt,
        feature_mean=mean,
        feature_scale=scale,
        ridge=lam,
        folds=tuple(results),
        r2_in_sample=_r2(y, icpt + x @ coef, float(y.mean())),
        r2_out_of_sample=1.0 - sse / sst if sst > 0.0 else math.nan,
    )


# --- skewed reference ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SkewedReference:
    """Reference price moved by the forecast.

    Attributes
    ----------
    reference
        ``mid + shift`` (price units).
    shift
        The forecast, limited to ``[-max_shift, max_shift]``.
    bound
        ``True`` where the cap bound (``|forecast| > max_shift``): the shift is not the forecast.
    """

    reference: Float64Array
    shift: Float64Array
    bound: BoolArray


def skewed_reference(mid: ArrayLike, forecast: ArrayLike, *, max_shift: float) -> SkewedReference:
    """Shift the reference price by the forecast mid change, at most ``max_shift`` either way.

    Parameters
    ----------
    mid
        Mid prices (price units, finite).
    forecast
        Forecast mid change, price units (e.g. :meth:`AlphaModel.predict`), same shape, finite.
    max_shift
        Cap on ``|shift|``, price units, >= 0 (``math.inf`` for no cap). The cap is a risk
        limit: a forecast larger than it is not trusted in full, and ``bound`` says where.

    Notes
    -----
    ``reference = mid + clip(forecast, -max_shift, max_shift)``; quotes are then built as depths
    from ``reference`` instead of ``mid`` (cf. the drift-adjusted reservation price of
    [CDJ18]_).

    Examples
    --------
    >>> r = skewed_reference([100.0, 100.0], [0.02, -0.5], max_shift=0.1)
    >>> r.reference.tolist(), r.bound.tolist()
    ([100.02, 99.9], [False, True])
    """
    m = _floats("mid", mid)
    f = _floats("forecast", forecast)
    if f.shape != m.shape:
        raise InvalidArgumentError("forecast", f"shape {f.shape}", f"the shape of mid {m.shape}")
    if not np.isfinite(m).all():
        raise InvalidArgumentError("mid", "a non-finite value", "finite prices")
    if not np.isfinite(f).all():
        raise InvalidArgumentError("forecast", "a non-finite value", "finite forecasts")
    cap = float(max_shift)
    if math.isnan(cap) or cap < 0.0:
        raise InvalidArgumentError("max_shift", max_shift, "a number >= 0 (math.inf: no cap)")
    bound: BoolArray = np.abs(f) > cap
    shift: Float64Array = np.clip(f, -cap, cap)
    ref: Float64Array = m + shift
    return SkewedReference(
        reference=np.atleast_1d(ref), shift=np.atleast_1d(shift), bound=np.atleast_1d(bound)
    )
