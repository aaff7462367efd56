"""Pydantic configs of the built-in strategies and the factory the CLI uses.

A strategy is described by a TOML table whose ``type`` field picks the config model:

.. code-block:: toml

    [strategy]
    type = "glft"
    gamma = 0.05        # per (price unit x contract)
    q_max = 10          # contracts
    order_qty = 0.01    # contracts
    window_s = 600
    refit_interval_s = 10

=========  =====================================================================
``type``   config model -> strategy
=========  =====================================================================
``glft``   :class:`GLFTConfig` -> :class:`~invrisk.strategies.GLFTMarketMaker`
``as``     :class:`ASConfig` -> :class:`~invrisk.strategies.AvellanedaStoikovMM`
``grid``   :class:`GridConfig` -> :class:`~invrisk.strategies.GridMM`
``hold``   :class:`HoldConfig` -> :class:`~invrisk.strategies.Hold`
=========  =====================================================================

Configs are frozen, reject unknown fields (``extra="forbid"``) and non-finite numbers, and
take TOML's types strictly (``q_max = "10"`` is an error, ``q_max = 10`` is 10.0). Durations
are given in seconds (``*_s``) or milliseconds (``*_ms``) and converted to int ns when the
strategy is built. :func:`build_strategy` translates pydantic's ``ValidationError`` into
:class:`~invrisk.errors.InvalidArgumentError` naming the first offending field.

Examples
--------
>>> import tomllib
>>> table = tomllib.loads('type = "grid"\\nn_levels = 3\\nstep_ticks = 2\\n'
...                       'order_qty = 0.01\\nq_max = 1')
>>> build_strategy(table).n_levels
3
>>> build_strategy({"type": "grid", "n_levels": 0, "step_ticks": 2, "order_qty": 0.01,
...                 "q_max": 1})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
invrisk.errors.InvalidArgumentError: n_levels=0 is invalid: expected greater than or equal to 1
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from invrisk.errors import InvalidArgumentError
from invrisk.strategies.glft import GLFTMarketMaker, GLFTParams
from invrisk.strategies.simple import AvellanedaStoikovMM, GridMM, Hold
from invrisk.strategy import Strategy
from invrisk.units import NS_PER_MS, NS_PER_SECOND

__all__ = [
    "ASConfig",
    "GLFTConfig",
    "GridConfig",
    "HoldConfig",
    "StrategyConfig",
    "build_strategy",
    "strategy_config",
    "strategy_from_dict",
]


def _ns(seconds: float, per: int = NS_PER_SECOND) -> int:
    return round(seconds * per)


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class _QuotingFields(_Base):
    instrument: int = Field(0, ge=0, description="Index of the instrument in the run's list.")
    order_qty: float = Field(gt=0, description="Order size at zero inventory, contracts.")
    q_max: float = Field(gt=0, description="Inventory limit |q| <= q_max, contracts.")
    eta: float = Field(
        0.0, ge=0, description="Size shape factor: exp(-eta |q|) on the adding side, 1/contract."
    )
    min_spread_ticks: int = Field(1, ge=1, description="Minimum quoted spread, ticks.")
    requote_ticks: int = Field(
        0, ge=0, description="Keep a side's price while the new one is within this, ticks."
    )
    reference: Literal["mid", "microprice"] = Field(
        "mid", description="Reference price of the model's depths."
    )
    post_only: bool = Field(True, description="Send post-only quotes.")

    def _quoting_kwargs(self) -> dict[str, object]:
        return {
            "instrument": self.instrument,
            "order_qty": self.order_qty,
            "q_max": self.q_max,
            "eta": self.eta,
            "min_spread_ticks": self.min_spread_ticks,
            "requote_ticks": self.requote_ticks,
            "reference": self.reference,
            "post_only": self.post_only,
        }


class GLFTConfig(_QuotingFields):
    """Config of :class:`~invrisk.strategies.GLFTMarketMaker` (``type = "glft"``)."""

    type: Literal["glft"] = "glft"
    gamma: float = Field(gt=0, description="Risk aversion, per (price unit x contract).")
    xi: float | None = Field(
        None, ge=0, description="Guéant's xi, per (price unit x contract); None = gamma."
    )
    exact: bool = Field(False, description="Exact bounded-inventory solution (GueantExact).")
    window_s: float = Field(600.0, gt=0, description="Calibration window, seconds.")
    refit_interval_s: float = Field(
        10.0, gt=0, description="Minimum time between calibrator updates, seconds."
    )
    intensity_interval_ms: float = Field(
        100.0, gt=0, description="Counting interval of the intensity fit, milliseconds."
    )
    sigma_interval_s: float = Field(
        1.0, gt=0, description="Grid step of the volatility estimate, seconds."
    )
    max_depth_ticks: int = Field(50, ge=2, description="Depth levels of the intensity fit.")
    min_trades_per_side: int = Field(
        50, ge=1, description="Trades needed on each side of the window to fit."
    )
    max_age_s: float | None = Field(
        None, gt=0, description="A fit older than this is 'stale', seconds; None = window_s."
    )
    warmup: Literal["flat", "fallback"] = Field(
        "flat", description="Before the first fit: no quotes, or the fallback parameters."
    )
    fallback_sigma: float | None = Field(
        None, gt=0, description="Fallback volatility, price units per sqrt(second)."
    )
    fallback_a: float | None = Field(None, gt=0, description="Fallback A, per second.")
    fallback_k: float | None = Field(None, gt=0, description="Fallback k, per price unit.")

    @model_validator(mode="after")
    def _fallback_complete(self) -> GLFTConfig:
        given = [self.fallback_sigma, self.fallback_a, self.fallback_k]
        if self.warmup == "fallback" or any(v is not None for v in given):
            names = ("fallback_sigma", "fallback_a", "fallback_k")
            for name, value in zip(names, given, strict=True):
                if value is None:
                    raise InvalidArgumentError(
                        name, None, "a number > 0 (all three fallback_* are needed together)"
                    )
        return self

    def fallback(self) -> GLFTParams | None:
        """The fallback parameters, if given."""
        if self.fallback_sigma is None or self.fallback_a is None or self.fallback_k is None:
            return None
        return GLFTParams(self.fallback_sigma, self.fallback_a, self.fallback_k)

    def build(self) -> GLFTMarketMaker:
        """The strategy this config describes."""
        return GLFTMarketMaker(
            gamma=self.gamma,
            xi=self.xi,
            exact=self.exact,
            window_ns=_ns(self.window_s),
            refit_interval_ns=_ns(self.refit_interval_s),
            intensity_interval_ns=_ns(self.intensity_interval_ms, NS_PER_MS),
            sigma_interval_ns=_ns(self.sigma_interval_s),
            max_depth_ticks=self.max_depth_ticks,
            min_trades_per_side=self.min_trades_per_side,
            max_age_ns=None if self.max_age_s is None else _ns(self.max_age_s),
            warmup=self.warmup,
            fallback=self.fallback(),
            **self._quoting_kwargs(),  # type: ignore[arg-type]
        )


class ASConfig(_QuotingFields):
    """Config of :class:`~invrisk.strategies.AvellanedaStoikovMM` (``type = "as"``)."""

    type: Literal["as"] = "as"
    sigma: float = Field(ge=0, description="Mid volatility, price units per sqrt(second).")
    gamma: float = Field(gt=0, description="Risk aversion, per (price unit x contract).")
    k: float = Field(gt=0, description="Intensity decay k, per price unit.")
    session_s: float = Field(
        86_400.0, gt=0, description="Session (horizon) length, seconds; ends at multiples of it."
    )

    def build(self) -> AvellanedaStoikovMM:
        """The strategy this config describes."""
        return AvellanedaStoikovMM(
            sigma=self.sigma,
            gamma=self.gamma,
            k=self.k,
            session_ns=_ns(self.session_s),
            **self._quoting_kwargs(),  # type: ignore[arg-type]
        )


class GridConfig(_Base):
    """Config of :class:`~invrisk.strategies.GridMM` (``type = "grid"``)."""

    type: Literal["grid"] = "grid"
    instrument: int = Field(0, ge=0, description="Index of the instrument in the run's list.")
    n_levels: int = Field(ge=1, description="Levels per side.")
    step_ticks: int = Field(ge=1, description="Distance between levels of a side, ticks.")
    order_qty: float = Field(gt=0, description="Size of every level, contracts.")
    q_max: float = Field(gt=0, description="Inventory limit |q| <= q_max, contracts.")
    skew_ticks_per_unit: float = Field(
        0.0, ge=0, description="Shift of the grid against the inventory, ticks per contract."
    )
    reference: Literal["mid", "microprice"] = Field("mid", description="Centre of the grid.")
    post_only: bool = Field(True, description="Send post-only quotes.")

    def build(self) -> GridMM:
        """The strategy this config describes."""
        return GridMM(
            n_levels=self.n_levels,
            step_ticks=self.step_ticks,
            order_qty=self.order_qty,
            q_max=self.q_max,
            skew_ticks_per_unit=self.skew_ticks_per_unit,
            instrument=self.instrument,
            reference=self.reference,
            post_only=self.post_only,
        )


class HoldConfig(_Base):
    """Config of :class:`~invrisk.strategies.Hold` (``type = "hold"``)."""

    type: Literal["hold"] = "hold"
    instrument: int = Field(0, ge=0, description="Index of the instrument in the run's list.")
    target_position: float | None = Field(
        None, description="Initial hedge to this position, contracts (signed); None: no hedge."
    )
    max_slippage_bps: float | None = Field(
        None, gt=0, lt=10_000, description="Worst hedge price from the mid, bps; None: the touch."
    )

    def build(self) -> Hold:
        """The strategy this config describes."""
        return Hold(
            instrument=self.instrument,
            target_position=self.target_position,
            max_slippage_bps=self.max_slippage_bps,
        )


StrategyConfig: TypeAlias = GLFTConfig | ASConfig | GridConfig | HoldConfig
"""Any built-in strategy config."""

_CONFIGS: dict[str, type[GLFTConfig | ASConfig | GridConfig | HoldConfig]] = {
    "as": ASConfig,
    "glft": GLFTConfig,
    "grid": GridConfig,
    "hold": HoldConfig,
}
_TYPES = ", ".join(repr(k) for k in _CONFIGS)


def _translate(exc: ValidationError) -> InvalidArgumentError:
    """The first error of ``exc`` as an InvalidArgumentError naming its field."""
    err = exc.errors()[0]
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, InvalidArgumentError):
        return InvalidArgumentError(cause.argument, cause.value, cause.allowed)
    field = ".".join(str(p) for p in err["loc"]) or "strategy"
    if err["type"] == "extra_forbidden":
        return InvalidArgumentError(field, err.get("input"), "no such field in this strategy")
    if err["type"] == "missing":
        return InvalidArgumentError(field, None, "a value (the field is required)")
    allowed = err["msg"].removeprefix("Input should be ")
    return InvalidArgumentError(field, err.get("input"), allowed)


def strategy_config(table: Mapping[str, object]) -> StrategyConfig:
    """Validate a strategy table (e.g. ``[strategy]`` of a TOML file) into its config model.

    Raises
    ------
    InvalidArgumentError
        Naming ``type`` if it is missing or unknown, else the first field that is unknown,
        missing or out of range.
    """
    if not isinstance(table, Mapping):
        raise InvalidArgumentError("strategy", table, "a table with a 'type' field")
    kind = table.get("type")
    cls = _CONFIGS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise InvalidArgumentError("type", kind, f"one of {_TYPES}")
    try:
        return cls.model_validate(dict(table))
    except ValidationError as exc:
        raise _translate(exc) from exc


def build_strategy(table: Mapping[str, object]) -> Strategy:
    """The built-in strategy described by ``table`` (see the module docstring).

    Raises
    ------
    InvalidArgumentError
        As :func:`strategy_config`, or naming the field a strategy rejects (e.g. ``q_max``
        not a multiple of ``order_qty`` with ``exact = true``).
    """
    return strategy_config(table).build()


strategy_from_dict = build_strategy
"""Alias of :func:`build_strategy`."""
