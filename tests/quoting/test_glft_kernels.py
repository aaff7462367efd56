"""The jitted GLFT tail kernel equals its pure-Python twin, bit for bit.

``_glft_kernels.py`` compiles the functions of ``_glft_kernels_python.py`` with numba, without
``fastmath`` (no reordering, no fused multiply-add; ``math.log`` is the C library's), so the
same operations in the same order give the same bits: results are compared as 64-bit patterns.
Inputs are real eigendecompositions of the GLFT/Guéant generator, with and without drift, with
C- and Fortran-ordered arrays, for both tails; and, separately, the rebuilt tails are checked
against the eigenvectors themselves where those are far above rounding (a check that shares
no code with the kernel).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pytest
import scipy.linalg

from invrisk.quoting import _glft_kernels as jit
from invrisk.quoting import _glft_kernels_python as py


def _generator(
    *, n_side: int, sigma: float, gamma: float, A: float, k: float, mu: float
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """``(diag, eta, λ, U)`` of ``M`` (Δ = 1, ξ = γ), written out from Guéant (2017)."""
    q = np.arange(-n_side, n_side + 1, dtype=np.float64)
    diag = k * gamma * sigma**2 * q**2 / 2 - k * mu * q
    eta = A * (1 + gamma / k) ** (-k / gamma - 1)
    lam, u = scipy.linalg.eigh_tridiagonal(diag, np.full(2 * n_side, -eta))
    return diag, eta, lam, u


Kernel = Callable[..., None]

CASES: list[dict[str, Any]] = [
    {"n_side": 100, "sigma": 0.3, "gamma": 0.01, "A": 0.9, "k": 0.3, "mu": 0.0},
    {"n_side": 100, "sigma": 0.3, "gamma": 0.01, "A": 0.9, "k": 0.3, "mu": 2e-3},
    {"n_side": 100, "sigma": 0.3, "gamma": 0.01, "A": 0.9, "k": 0.3, "mu": -0.05},
    {"n_side": 1, "sigma": 0.3, "gamma": 0.01, "A": 0.9, "k": 0.3, "mu": 0.0},
    {"n_side": 7, "sigma": 2.0, "gamma": 0.5, "A": 0.2, "k": 1.5, "mu": 0.3},
    {"n_side": 250, "sigma": 1.0, "gamma": 0.1, "A": 2.0, "k": 0.5, "mu": 0.01},
]


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(np.int64)


def _run(
    kernel: Kernel,
    u: np.ndarray,
    diag: np.ndarray,
    lam: np.ndarray,
    eta: float,
    order: Literal["C", "F"],
) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore"):
        log_abs = np.asarray(np.log(np.abs(u)), order=order)
    signs = np.asarray(np.sign(u), order=order)
    i_min = int(np.argmin(diag))
    n = len(diag)
    kernel(log_abs, signs, diag, lam, eta, n - 1, i_min, -1)
    kernel(log_abs, signs, diag, lam, eta, 0, i_min, 1)
    return log_abs, signs


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("case", CASES)
def test_rebuild_tail_jit_equals_python_bit_for_bit(
    case: dict[str, Any], order: Literal["C", "F"]
) -> None:
    diag, eta, lam, u = _generator(**case)
    la_py, sg_py = _run(py.rebuild_tail_kernel, u, diag, lam, eta, order)
    la_jit, sg_jit = _run(jit.rebuild_tail_kernel, u, diag, lam, eta, order)
    np.testing.assert_array_equal(_bits(la_jit), _bits(la_py))
    np.testing.assert_array_equal(_bits(sg_jit), _bits(sg_py))
    # The kernels did rebuild something (beyond the 3-level grid, where the rebuilt tail may
    # reproduce ln|u| exactly).
    if case["n_side"] > 1:
        with np.errstate(divide="ignore"):
            assert np.any(la_py != np.log(np.abs(u)))


def test_rebuild_tail_single_column_whole_range_and_empty_tail() -> None:
    # λ far below every diagonal entry: the whole range is tail; λ far above: no tail at all.
    diag = np.array([5.0, 1.0, 0.0, 2.0, 9.0])
    lam = np.array([-100.0, 100.0])
    eta = 0.5
    log_abs = np.zeros((5, 2))
    signs = np.ones((5, 2))
    signs[2, 0] = -1.0
    for kernel in (py.rebuild_tail_kernel, jit.rebuild_tail_kernel):
        la, sg = log_abs.copy(), signs.copy()
        kernel(la, sg, diag, lam, eta, 4, 2, -1)
        kernel(la, sg, diag, lam, eta, 0, 2, 1)
        # Column 1 untouched; column 0 anchored at row 2 (ln|u| = 0, sign −1).
        np.testing.assert_array_equal(la[:, 1], 0.0)
        np.testing.assert_array_equal(sg[:, 1], 1.0)
        np.testing.assert_array_equal(sg[:, 0], -1.0)
        r3 = eta / (diag[3] + 100.0 - eta * (eta / (diag[4] + 100.0)))
        r4 = eta / (diag[4] + 100.0)
        assert la[3, 0] == math.log(r3)
        assert la[4, 0] == math.log(r3) + math.log(r4)


@pytest.mark.parametrize("case", CASES[:3])
def test_rebuilt_tails_match_eigenvectors_where_resolved(case: dict[str, Any]) -> None:
    # Where |u| is far above eps·‖u‖ the computed eigenvector is relatively accurate, so the
    # rebuilt ln|u| must agree with it (rtol 1e-6 at |u| > 1e-6; eigenvectors have norm 1).
    diag, eta, lam, u = _generator(**case)
    la, sg = _run(jit.rebuild_tail_kernel, u, diag, lam, eta, "C")
    resolved = np.abs(u) > 1e-6
    np.testing.assert_allclose(np.exp(la[resolved]), np.abs(u[resolved]), rtol=1e-6)
    np.testing.assert_array_equal(sg[resolved], np.sign(u[resolved]))
