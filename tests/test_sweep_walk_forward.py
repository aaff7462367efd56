"""Walk-forward calibration (invrisk.walk_forward): windows, no look-ahead, fixed parameters,
recovery of the synthetic generator's σ, A, k, and the real Binance recording."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from invrisk.backtest import run_backtest
from invrisk.config import BacktestConfig, load_backtest_config, load_events, run_from_config
from invrisk.data.events import EventKind
from invrisk.errors import InvalidArgumentError
from invrisk.strategies import GLFTMarketMaker
from invrisk.strategies.config import build_strategy
from invrisk.sweep import metrics_row
from invrisk.walk_forward import (
    NO_REFIT_S,
    calibrate_glft,
    fixed_glft_table,
    walk_forward,
    walk_forward_windows,
)
from tests.conftest import REPO_ROOT, require_data

BINANCE = "binance_l2_trades_2024-08-08_hftbacktest/usdm_btcusdt_20240808.gz"
TRUE_A_PER_S, TRUE_K_PER_PRICE = 85.0, 5.0  # FlowSpec defaults of benchmark_stream
TRUE_VOL = 0.5  # annualised, geometric (benchmark_stream's PriceProcess)


def synthetic(events: int) -> BacktestConfig:
    cfg = load_backtest_config(REPO_ROOT / "examples" / "sweep_base_glft.toml")
    return cfg.model_copy(update={"data": cfg.data.model_copy(update={"events": events})})


@pytest.fixture(scope="module")
def synthetic_run() -> tuple[BacktestConfig, object]:
    cfg = synthetic(150_000)
    return cfg, walk_forward(cfg, windows=3, gamma_grid=[0.01, 0.2, 2.0], sigma_interval_s=0.1)


def test_windows_are_consecutive_and_do_not_overlap(synthetic_run: tuple) -> None:
    cfg, wf = synthetic_run
    events, _ = load_events(cfg.data)
    wins = wf.windows
    assert len(wins) == 3 and len(wf.steps) == 2
    assert wins[0].start_ns == int(events["local_ns"][0])
    for a, b in itertools.pairwise(wins):
        assert a.end_ns == b.start_ns  # no gap, no overlap (half-open windows)
        assert a.end_ns - a.start_ns == b.end_ns - b.start_ns > 0
    assert wins[-1].end_ns <= int(events["local_ns"][-1]) + 1
    for k, step in enumerate(wf.steps):
        assert (step.calib.index, step.test.index) == (k, k + 1)
    # each window is a config that run_from_config reproduces on its own
    step = wf.steps[1]
    table = fixed_glft_table(cfg.strategy, step.fit, gamma=step.gamma)
    data = cfg.data.model_copy(
        update={"start_s": step.test.start_s, "duration_s": step.test.duration_s}
    )
    alone = run_from_config(cfg.model_copy(update={"data": data, "strategy": table}))
    ev, _ = load_events(data)
    row = metrics_row(alone, wall_s=0.0, n_events=int(ev.size))
    np.testing.assert_equal(
        {k: v for k, v in row.items() if k != "wall_s"},
        {k: v for k, v in step.out_of_sample.items() if k != "wall_s"},
    )
    # the slice's own rows lie inside the window (its head is the book at the start)
    body = ev[ev["kind"] != EventKind.SNAPSHOT][1:]
    assert body["local_ns"].min() >= step.test.start_ns
    assert body["local_ns"].max() < step.test.end_ns
    with pytest.raises(InvalidArgumentError, match="windows"):
        walk_forward_windows(cfg, events, windows=1)


def test_out_of_sample_window_never_sees_its_own_data(synthetic_run: tuple) -> None:
    """Scrambling the trades of the last window changes its out-of-sample result but not the
    parameters used to trade it; scrambling the calibration window changes them."""
    cfg, wf = synthetic_run
    events, inst = load_events(cfg.data)
    last, calib = wf.windows[2], wf.windows[1]

    def scrambled(w: object) -> np.ndarray:
        ev = events.copy()
        inside = (ev["local_ns"] >= w.start_ns) & (ev["local_ns"] < w.end_ns)  # type: ignore[attr-defined]
        trades = inside & (ev["kind"] == EventKind.TRADE)
        ev["side"][trades] = -ev["side"][trades]  # every aggressor reversed
        return ev

    kwargs = {"windows": 3, "gamma_grid": [0.01, 0.2, 2.0], "sigma_interval_s": 0.1}
    after = walk_forward(cfg, events=scrambled(last), instrument=inst, **kwargs)
    for a, b in zip(wf.steps, after.steps, strict=True):
        assert a.fit == b.fit and a.gamma == b.gamma and a.gamma_scores == b.gamma_scores
        assert a.in_sample == {**b.in_sample, "wall_s": a.in_sample["wall_s"]}
    assert wf.steps[1].out_of_sample["pnl"] != after.steps[1].out_of_sample["pnl"]
    changed = walk_forward(cfg, events=scrambled(calib), instrument=inst, **kwargs)
    assert changed.steps[0].fit == wf.steps[0].fit
    assert changed.steps[1].fit != wf.steps[1].fit


def test_fit_recovers_the_generator_and_is_traded_fixed(synthetic_run: tuple) -> None:
    cfg, wf = synthetic_run
    events, inst = load_events(cfg.data)
    for step in wf.steps:
        f = step.fit
        assert f.status == "ok" and f.n_trades > 1000
        w = step.calib
        mid = events["price"][
            (events["kind"] == EventKind.TRADE)
            & (events["local_ns"] >= w.start_ns)
            & (events["local_ns"] < w.end_ns)
        ].mean()
        true_sigma = mid * TRUE_VOL / math.sqrt(365 * 86_400)  # price per sqrt(s)
        assert abs(f.sigma_price_per_sqrt_s - true_sigma) < 4 * f.sigma_se, (f, true_sigma)
        assert abs(f.a_per_s - TRUE_A_PER_S) < 4 * f.a_se, f
        assert abs(f.k_per_price - TRUE_K_PER_PRICE) < 4 * f.k_se, f
        # gamma is the grid's best by the in-sample metric
        assert step.gamma == max(step.gamma_scores, key=lambda g: step.gamma_scores[g])
        assert step.in_sample["pnl"] == step.gamma_scores[step.gamma]
        assert step.in_sample["n_fills"] > 0 and step.out_of_sample["n_fills"] > 0
    for m in ("pnl", "n_fills", "std_inventory"):
        mean_in = np.mean([s.in_sample[m] for s in wf.steps])
        mean_out = np.mean([s.out_of_sample[m] for s in wf.steps])
        assert wf.degradation[m] == pytest.approx(mean_in - mean_out, rel=1e-12, abs=1e-12)
    # the strategy the table builds quotes with the fit throughout, never refitting
    step = wf.steps[0]
    table = fixed_glft_table(cfg.strategy, step.fit, gamma=step.gamma)
    assert table["window_s"] == table["refit_interval_s"] == NO_REFIT_S
    strategy = build_strategy(table)
    assert isinstance(strategy, GLFTMarketMaker)
    ev, _ = load_events(
        cfg.data.model_copy(
            update={"start_s": step.test.start_s, "duration_s": step.test.duration_s}
        )
    )
    result = run_backtest(events=ev, instruments=[inst], strategy=strategy)
    assert result.fills.size > 0
    assert strategy.n_updates == 0 and strategy.n_fits == 0
    assert strategy.params_source == "fallback"
    assert strategy.params is not None
    assert strategy.params.sigma_price_per_sqrt_s == step.fit.sigma_price_per_sqrt_s


def test_walk_forward_on_the_real_binance_recording() -> None:
    data = require_data(BINANCE)
    cfg = load_backtest_config(REPO_ROOT / "examples" / "backtest_binance_btcusdt.toml")
    cfg = cfg.model_copy(
        update={"data": cfg.data.model_copy(update={"path": data, "duration_s": 180.0})}
    )
    wf = walk_forward(cfg, windows=3, gamma_grid=[0.01, 0.1])
    assert len(wf.steps) == 2
    for step in wf.steps:
        f = step.fit
        for value, se in (
            (f.sigma_price_per_sqrt_s, f.sigma_se),
            (f.a_per_s, f.a_se),
            (f.k_per_price, f.k_se),
        ):
            assert math.isfinite(value) and value > 0 and 0 < se < value
        assert step.gamma in (0.01, 0.1)
        assert step.in_sample["n_fills"] + step.out_of_sample["n_fills"] > 0
    doc = json.loads(json.dumps(wf.as_dict()))
    assert [s["test_window"] for s in doc["steps"]] == [1, 2]
    assert set(doc["degradation"]) >= {"pnl", "sharpe", "std_inventory", "max_drawdown"}


def test_walk_forward_errors() -> None:
    cfg = synthetic(30_000)
    with pytest.raises(InvalidArgumentError, match=r"strategy\.type"):
        walk_forward(cfg.model_copy(update={"strategy": {"type": "hold"}}), windows=2)
    with pytest.raises(InvalidArgumentError, match="select"):
        walk_forward(cfg, windows=2, select="profit")
    with pytest.raises(InvalidArgumentError, match="gamma_grid"):
        walk_forward(cfg, windows=2, gamma_grid=[0.1, -1.0])
    with pytest.raises(InvalidArgumentError, match=r"window 0 .*use fewer windows"):
        walk_forward(cfg, windows=200)
    events, inst = load_events(cfg.data)
    with pytest.raises(InvalidArgumentError):
        calibrate_glft(
            events[:10],
            tick_size=inst.tick_size,
            start_ns=int(events["local_ns"][0]),
            end_ns=int(events["local_ns"][9]) + 1,
        )
