"""The serial and parallel numba builds of each kernel are distinct and cached separately.

numba keys its on-disk cache by qualified name and signature, not by compile flags; when the
serial and parallel builds of one kernel shared a name, a process could load the serial build
for the parallel entry point (it ran at single-core speed). This pins the fix.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from invrisk.pricing import _kernels

PAIRS = [
    (_kernels.greeks_kernel, _kernels.greeks_kernel_serial),
    (_kernels.price_kernel, _kernels.price_kernel_serial),
    (_kernels.implied_vol_kernel, _kernels.implied_vol_kernel_serial),
]


@pytest.mark.parametrize(("parallel", "serial"), PAIRS)
def test_builds_have_distinct_cache_names(parallel: object, serial: object) -> None:
    assert parallel.targetoptions.get("parallel") is True  # type: ignore[attr-defined]
    assert not serial.targetoptions.get("parallel", False)  # type: ignore[attr-defined]
    assert parallel.py_func.__qualname__ != serial.py_func.__qualname__  # type: ignore[attr-defined]
    assert parallel._cache._cache_file._index_name != serial._cache._cache_file._index_name  # type: ignore[attr-defined]


def test_parallel_kernel_runs_in_parallel_in_a_fresh_process() -> None:
    # A fresh interpreter loads the kernels from numba's cache, where the collision happened.
    # Only a parallel build initialises numba's threading layer.
    code = """
import numba, numpy as np
from invrisk.pricing import _kernels
n = 1000
out = np.empty((9, n))
one = np.ones(1)
_kernels.greeks_kernel_serial(one, np.full(n, 100.0), one * 100.0, one, one * 0.2, one * 0.0,
                              one * 0.0, 0.0, out)
_kernels.greeks_kernel(one, np.full(n, 100.0), one * 100.0, one, one * 0.2, one * 0.0,
                       one * 0.0, 0.0, out)
print(numba.threading_layer())
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert result.stdout.strip() in {"omp", "tbb", "workqueue"}
