"""Tests of invrisk.quoting.alpha: ridge fit, walk-forward evaluation, skewed reference.

The closed-form reference below is written independently of the implementation (an augmented
least-squares system solved with ``numpy.linalg.lstsq``, not the normal equations).
Statistical checks are seeded; tolerances are stated beside them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from invrisk.errors import InvalidArgumentError
from invrisk.quoting.alpha import (
    fit_alpha,
    ridge_solve,
    skewed_reference,
    standard_features,
    walk_forward_folds,
)


def planted(n: int, r2: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Features ~ N(0, 1) (p = 3) and y = X b + ε with population R² = ``r2``."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    b = np.array([1.0, -0.5, 0.25])
    b *= math.sqrt(r2 / (1.0 - r2) / float(b @ b))  # var(Xb) / (var(Xb) + 1) = r2
    return x, x @ b + rng.standard_normal(n)


# --- ridge against an independent closed form -----------------------------------------------


@pytest.mark.parametrize("lam", [0.0, 0.5, 10.0, 1e4])
def test_ridge_equals_augmented_least_squares(lam: float) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal([1.0, -2.0, 50.0], [0.1, 3.0, 10.0], size=(200, 3))
    y = 0.3 + x @ np.array([2.0, 0.1, -0.05]) + rng.standard_normal(200)
    # Reference: standardise, then solve [1 Z; 0 √λ I] [b0; b] ≈ [y; 0] by least squares.
    mu, sd = x.mean(axis=0), x.std(axis=0)
    z = (x - mu) / sd
    a = np.vstack(
        [
            np.column_stack([np.ones(200), z]),
            np.column_stack([np.zeros(3), math.sqrt(lam) * np.eye(3)]),
        ]
    )
    sol = np.linalg.lstsq(a, np.concatenate([y, np.zeros(3)]), rcond=None)[0]
    coef_ref = sol[1:] / sd
    icpt_ref = sol[0] - float(mu @ coef_ref)
    coef, icpt, mean, scale = ridge_solve(x, y, lam)
    np.testing.assert_allclose(coef, coef_ref, rtol=1e-9, atol=1e-12)  # two exact solvers
    assert icpt == pytest.approx(icpt_ref, rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(mean, mu, rtol=1e-14)
    np.testing.assert_allclose(scale, sd, rtol=1e-14)


def test_ridge_shrinks_to_the_mean() -> None:
    x, y = planted(500, 0.3, seed=2)
    coef, icpt, _, _ = ridge_solve(x, y, 1e12)
    np.testing.assert_allclose(coef, 0.0, atol=1e-8)
    assert icpt == pytest.approx(float(y.mean()), abs=1e-8)


def test_final_model_predicts_with_its_coefficients() -> None:
    x, y = planted(1000, 0.2, seed=3)
    m = fit_alpha(x, y, ridge=1.0, n_folds=4)
    np.testing.assert_allclose(m.predict(x[:5]), m.intercept + x[:5] @ m.coef, rtol=1e-14)
    assert not m.coef.flags.writeable


# --- walk-forward never looks ahead -----------------------------------------------------------


@pytest.mark.parametrize("window", ["expanding", "rolling"])
@pytest.mark.parametrize("embargo", [0, 7])
def test_fold_indices_are_in_time_order(window: str, embargo: int) -> None:
    n, k = 1003, 5
    folds = walk_forward_folds(n, n_folds=k, window=window, embargo=embargo)  # type: ignore[arg-type]
    assert len(folds) == k
    assert folds[-1][3] == n
    for i, (a, b, c, d) in enumerate(folds):
        assert 0 <= a < b and b + embargo == c < d  # train strictly before test, gap = embargo
        if i:
            assert c == folds[i - 1][3]  # test blocks tile the tail, in order
        if window == "expanding":
            assert a == 0
        else:
            assert a == (0 if i == 0 else folds[i - 1][2])


def test_fold_results_do_not_depend_on_the_future() -> None:
    x, y = planted(2000, 0.2, seed=4)
    m = fit_alpha(x, y, ridge=1.0, n_folds=4)
    cut = m.folds[1].test_stop
    y2, x2 = y.copy(), x.copy()
    rng = np.random.default_rng(99)
    y2[cut:] = rng.standard_normal(len(y) - cut) * 100.0
    x2[cut:] = rng.standard_normal((len(y) - cut, 3))
    m2 = fit_alpha(x2, y2, ridge=1.0, n_folds=4)
    for f, g in zip(m.folds[:2], m2.folds[:2], strict=True):
        assert f == g  # bit-for-bit: nothing after the test block reached the fold
    assert m.folds[2] != m2.folds[2]


# --- honest R² --------------------------------------------------------------------------------


@pytest.mark.parametrize("window", ["expanding", "rolling"])
def test_planted_signal_is_recovered_out_of_sample(window: str) -> None:
    x, y = planted(20_000, 0.2, seed=5)
    m = fit_alpha(x, y, ridge=1.0, n_folds=5, window=window)  # type: ignore[arg-type]
    # Sampling sd of R² on 16,000 test rows is about 0.006; 0.03 is 5 sd.
    assert m.r2_out_of_sample == pytest.approx(0.2, abs=0.03)
    assert all(0.12 < f.r2_out_of_sample < 0.28 for f in m.folds)  # 3,333 rows each: ~4 sd
    assert m.r2_in_sample == pytest.approx(0.2, abs=0.03)


def test_pure_noise_has_no_out_of_sample_skill() -> None:
    rng = np.random.default_rng(6)
    x = rng.standard_normal((20_000, 3))
    y = rng.standard_normal(20_000)
    m = fit_alpha(x, y, ridge=0.0, n_folds=5)
    # Expected OOS R² is about -p/n_train < 0; allow +0.002 (> 3 sd of noise on 16,000 rows).
    assert m.r2_out_of_sample < 0.002
    assert m.r2_in_sample >= 0.0  # in sample, OLS with an intercept never loses to the mean
    assert m.r2_in_sample < 0.002


def test_negative_oos_r2_is_reported_not_clipped() -> None:
    # Regime flip: the sign of the relation reverses halfway, so the fitted model is wrong.
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4000, 1))
    sign = np.where(np.arange(4000) < 2000, 1.0, -1.0)
    y = sign * x[:, 0] + 0.1 * rng.standard_normal(4000)
    m = fit_alpha(x, y, ridge=0.0, n_folds=1)
    assert m.folds[0].r2_out_of_sample < -1.0  # predicts the opposite sign: R² ≈ -3
    assert m.r2_out_of_sample == m.folds[0].r2_out_of_sample


def test_fit_on_features_from_the_synthetic_market() -> None:
    """End to end with invrisk.market.features on a seeded synthetic market (no planted alpha:
    the check is that the pipeline runs and reports a finite, not inflated, OOS R²)."""
    from invrisk.data.synthetic_market import synthetic_market
    from invrisk.market import features as ft
    from invrisk.units import NS_PER_MINUTE

    mk = synthetic_market(duration_ns=5 * NS_PER_MINUTE, seed=11)
    mid = np.asarray(mk.mid)
    rng = np.random.default_rng(0)
    n = len(mid) - 10
    # Stand-in book sizes (the synthetic book's own would need market/ replay).
    bq, aq = rng.uniform(1, 5, (n, 3)), rng.uniform(1, 5, (n, 3))
    imb = np.column_stack([ft.book_imbalance(bq, aq, n_levels=k) for k in (1, 3)])
    half = 0.05
    micro = ft.microprice(mid[:n] - half, bq[:, 0], mid[:n] + half, aq[:, 0])
    tf = rng.uniform(-1, 1, n)
    fm = standard_features(
        book_imbalance=imb, trade_flow_imbalance=tf, microprice=micro, mid=mid[:n]
    )
    assert fm.names == ("imbalance_1", "imbalance_2", "trade_flow", "micro_minus_mid")
    y = mid[10:] - mid[:n]
    m = fit_alpha(fm.values[fm.finite], y[fm.finite], ridge=10.0, n_folds=3, embargo=10)
    assert math.isfinite(m.r2_out_of_sample) and m.r2_out_of_sample < 0.05


# --- features -------------------------------------------------------------------------------


def test_standard_features_keep_nan_and_flag_it() -> None:
    fm = standard_features(
        book_imbalance=[0.5, math.nan],
        trade_flow_imbalance=[0.1, 0.2],
        microprice=[100.2, 100.0],
        mid=[100.0, 100.0],
    )
    assert fm.values.shape == (2, 3)
    np.testing.assert_allclose(fm.values[0], [0.5, 0.1, 0.2], rtol=1e-12)
    assert fm.finite.tolist() == [True, False]


# --- skewed reference -----------------------------------------------------------------------


def test_skewed_reference_caps_and_reports() -> None:
    r = skewed_reference([100.0, 100.0, 100.0], [0.05, -0.3, 0.1], max_shift=0.1)
    np.testing.assert_allclose(r.reference, [100.05, 99.9, 100.1], rtol=0, atol=1e-12)
    assert r.bound.tolist() == [False, True, False]  # exactly at the cap does not bind
    u = skewed_reference([100.0], [5.0], max_shift=math.inf)
    assert u.reference.tolist() == [105.0] and not u.bound.any()


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"ridge": -1.0, "n_folds": 2}, "ridge"),
        ({"ridge": math.nan, "n_folds": 2}, "ridge"),
        ({"ridge": 1.0, "n_folds": 0}, "n_folds"),
        ({"ridge": 1.0, "n_folds": 2, "window": "random"}, "window"),
        ({"ridge": 1.0, "n_folds": 2, "embargo": -1}, "embargo"),
        ({"ridge": 1.0, "n_folds": 150}, "n_folds"),
    ],
)
def test_fit_alpha_bad_arguments(kwargs: dict[str, object], argument: str) -> None:
    x, y = planted(100, 0.2, seed=8)
    with pytest.raises(InvalidArgumentError) as exc:
        fit_alpha(x, y, **kwargs)  # type: ignore[arg-type]
    assert exc.value.argument == argument


def test_fit_alpha_bad_arrays() -> None:
    x, y = planted(100, 0.2, seed=9)
    x[17, 1] = math.nan
    with pytest.raises(InvalidArgumentError, match="row 17") as exc:
        fit_alpha(x, y, ridge=1.0, n_folds=2)
    assert exc.value.argument == "features"
    with pytest.raises(InvalidArgumentError) as exc:
        fit_alpha(np.ones((100, 2)), y, ridge=1.0, n_folds=2)  # constant column
    assert exc.value.argument == "features"
    with pytest.raises(InvalidArgumentError) as exc:
        fit_alpha(x[:, 0], y, ridge=1.0, n_folds=2)
    assert exc.value.argument == "features"
    with pytest.raises(InvalidArgumentError) as exc:
        fit_alpha(np.nan_to_num(x), y[:50], ridge=1.0, n_folds=2)
    assert exc.value.argument == "future_mid_change"
    m = fit_alpha(np.nan_to_num(x), y, ridge=1.0, n_folds=2)
    with pytest.raises(InvalidArgumentError) as exc:
        m.predict(np.ones((3, 2)))
    assert exc.value.argument == "features"


@pytest.mark.parametrize(
    ("mid", "fc", "cap", "argument"),
    [
        ([100.0], [0.1], -0.1, "max_shift"),
        ([100.0], [0.1], math.nan, "max_shift"),
        ([100.0], [math.nan], 0.1, "forecast"),
        ([math.inf], [0.1], 0.1, "mid"),
        ([100.0, 1.0], [0.1], 0.1, "forecast"),
    ],
)
def test_skewed_reference_bad_input(
    mid: list[float], fc: list[float], cap: float, argument: str
) -> None:
    with pytest.raises(InvalidArgumentError) as exc:
        skewed_reference(mid, fc, max_shift=cap)
    assert exc.value.argument == argument
