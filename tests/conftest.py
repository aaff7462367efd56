"""Shared test fixtures: the location of the real market data beside the repository."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``$INVRISK_SHARED_DATA`` or ``<repo>/../shared/data``."""
    env = os.environ.get("INVRISK_SHARED_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def unavailable(msg: str) -> NoReturn:
    """A prerequisite of the test is missing: skip it, or fail it under CI (``CI=true``),
    where the project's set-up must have provided it."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(msg)
    pytest.skip(msg)


def require_data(relative: str) -> Path:
    """Path of a shared data file; skip if it is missing, fail if it is missing under CI."""
    path = shared_data_dir() / relative
    if not path.exists():
        unavailable(f"shared data file {path} is missing (set INVRISK_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return shared_data_dir()


# Hypothesis runs derandomized by default so that CI is reproducible run to run; set
# HYPOTHESIS_PROFILE=explore to search with fresh random examples while developing.
from hypothesis import settings as _hyp_settings  # noqa: E402

_hyp_settings.register_profile("deterministic", derandomize=True, database=None)
_hyp_settings.register_profile("explore", derandomize=False)
_hyp_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
