"""Fill intensities λ(δ) and their risk-neutral Hamiltonians, per instrument (arrays).

A market maker quoting at depth δ (price units from the reference price) is filled at rate
λ(δ) per second. The quadratic approximations of the value function (Guéant 2017, Sec. 4;
Bergault & Guéant 2021; Baldacci, Bergault & Guéant 2021) need, for each side, the
risk-neutral ("model B", ξ = 0) Hamiltonian

    H(p) = sup_δ λ(δ) (δ − p),

its maximiser δ̃(p) (the optimal depth given the value-function increment p), and its
curvature α₂ = H''(0) at p = 0. By the envelope theorem ``H'(p) = −λ(δ̃(p))``, so
``H''(p) = −λ'(δ̃(p)) δ̃'(p)``.

Two shapes are implemented, both vectorised over N instruments:

- :class:`ExponentialIntensity` ``λ(δ) = A e^{−kδ}`` (Avellaneda & Stoikov 2008; GLFT 2013):
  ``δ̃(p) = p + 1/k``, ``H(p) = (A/(k e)) e^{−kp}``, ``α₂ = kA/e``.
- :class:`LogisticIntensity` ``λ(δ) = λ₀ / (1 + e^{a + kδ})`` (Baldacci, Bergault & Guéant
  2021, Sec. 4, with ``a`` their α and ``k = β/V^i``). The first-order condition
  ``λ'(δ)(δ − p) + λ(δ) = 0`` reads ``δ − p = (1 + e^{−(a + kδ)})/k``; with ``y = a + kδ``
  and ``c = 1 + a + kp`` this is ``y − e^{−y} = c``, solved in closed form by the Lambert W
  function, ``y = c + W₀(e^{−c})``. Then ``H(p) = (λ₀/k) e^{−y}``, ``H'(p) = −λ₀ s(−y)`` and
  ``α₂ = k λ₀ s(−y₀) s(y₀)²`` with ``s`` the logistic sigmoid and ``y₀ = y(p = 0)``.

Units: δ and p in price units, ``A`` and ``lam`` per second, ``k`` per price unit, ``a``
dimensionless; H and α₂ per second (× price, × price⁻¹).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from invrisk._typing import ArrayLike, Float64Array
from invrisk.errors import InvalidArgumentError

# scipy.special is imported in the methods that use it (the logistic model's): loading it takes
# about 0.1 s, which every import of invrisk.quoting would otherwise pay.

__all__ = ["ExponentialIntensity", "Intensity", "LogisticIntensity"]


@runtime_checkable
class Intensity(Protocol):
    """Per-instrument fill intensity with its ξ = 0 Hamiltonian (see the module docstring)."""

    @property
    def n(self) -> int:
        """Number of instruments (length of every parameter array)."""
        ...

    def broadcast(self, n: int) -> Intensity:
        """The same intensity for ``n`` instruments (parameters of length 1 are repeated)."""
        ...

    def rate(self, delta: ArrayLike) -> Float64Array:
        """λ(δ) per second."""
        ...

    def optimal_depth(self, p: ArrayLike) -> Float64Array:
        """δ̃(p) = argmax_δ λ(δ)(δ − p), price units."""
        ...

    def hamiltonian(self, p: ArrayLike) -> Float64Array:
        """H(p) = sup_δ λ(δ)(δ − p)."""
        ...

    def curvature(self) -> Float64Array:
        """α₂ = H''(0) per instrument."""
        ...


def _param(name: str, value: ArrayLike, *, positive: bool) -> Float64Array:
    arr = np.atleast_1d(np.asarray(value, dtype=np.float64)).copy()
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidArgumentError(name, f"array of shape {arr.shape}", "a scalar or 1-D array")
    if not bool(np.all(np.isfinite(arr))):
        raise InvalidArgumentError(name, "array with nan/inf", "finite values")
    if positive and not bool(np.all(arr > 0.0)):
        raise InvalidArgumentError(name, f"min {arr.min()!r}", "values > 0")
    arr.flags.writeable = False
    return arr


def _common_length(**arrays: Float64Array) -> int:
    sizes = {a.size for a in arrays.values()} - {1}
    if len(sizes) > 1:
        shapes = ", ".join(f"{k}: {v.size}" for k, v in arrays.items())
        raise InvalidArgumentError("intensity", shapes, "parameters of equal length (or 1)")
    return sizes.pop() if sizes else 1


def _repeat(arr: Float64Array, n: int, name: str) -> Float64Array:
    if arr.size == n:
        return arr
    if arr.size != 1:
        raise InvalidArgumentError(name, f"array of length {arr.size}", f"length 1 or {n}")
    return np.full(n, arr[0])


@dataclass(frozen=True, slots=True, eq=False)
class ExponentialIntensity:
    """``λ(δ) = A e^{−kδ}``: ``A`` per second (> 0), ``k`` per price unit (> 0).

    Scalars or arrays of length N (one per instrument; length 1 broadcasts).

    Examples
    --------
    The risk-neutral optimal depth at p = 0 is 1/k:

    >>> ExponentialIntensity(A=1.0, k=0.5).optimal_depth(0.0)
    array([2.])
    """

    A: Float64Array
    k: Float64Array

    def __init__(self, *, A: ArrayLike, k: ArrayLike) -> None:
        a = _param("A", A, positive=True)
        kk = _param("k", k, positive=True)
        _common_length(A=a, k=kk)
        object.__setattr__(self, "A", a)
        object.__setattr__(self, "k", kk)

    @property
    def n(self) -> int:
        return max(self.A.size, self.k.size)

    def broadcast(self, n: int) -> ExponentialIntensity:
        return ExponentialIntensity(A=_repeat(self.A, n, "A"), k=_repeat(self.k, n, "k"))

    def rate(self, delta: ArrayLike) -> Float64Array:
        out: Float64Array = self.A * np.exp(-self.k * np.asarray(delta, dtype=np.float64))
        return out

    def optimal_depth(self, p: ArrayLike) -> Float64Array:
        out: Float64Array = np.asarray(p, dtype=np.float64) + 1.0 / self.k
        return out

    def hamiltonian(self, p: ArrayLike) -> Float64Array:
        pp = np.asarray(p, dtype=np.float64)
        out: Float64Array = self.A / (self.k * math.e) * np.exp(-self.k * pp)
        return out

    def curvature(self) -> Float64Array:
        out: Float64Array = self.k * self.A / math.e
        return out


@dataclass(frozen=True, slots=True, eq=False)
class LogisticIntensity:
    """``λ(δ) = lam / (1 + e^{a + kδ})``: ``lam`` per second (> 0), ``a`` (finite), ``k`` > 0.

    Baldacci, Bergault & Guéant (2021) write ``λ^i / (1 + e^{α + βδ/V^i})`` for option i of
    vega ``V^i``: use :meth:`from_vega` (``k = β / V^i``). Scalars or arrays of length N.

    Examples
    --------
    With a = 0 the rate at the mid is half the maximal rate:

    >>> LogisticIntensity(lam=2.0, a=0.0, k=1.0).rate(0.0)
    array([1.])
    """

    lam: Float64Array
    a: Float64Array
    k: Float64Array

    def __init__(self, *, lam: ArrayLike, a: ArrayLike, k: ArrayLike) -> None:
        ll = _param("lam", lam, positive=True)
        aa = _param("a", a, positive=False)
        kk = _param("k", k, positive=True)
        _common_length(lam=ll, a=aa, k=kk)
        object.__setattr__(self, "lam", ll)
        object.__setattr__(self, "a", aa)
        object.__setattr__(self, "k", kk)

    @classmethod
    def from_vega(
        cls, *, lam: ArrayLike, alpha: float, beta: float, vegas: ArrayLike
    ) -> LogisticIntensity:
        """The paper's parametrisation ``λ^i / (1 + e^{α + βδ/V^i})`` (vegas > 0, price units).

        ``β`` is in vega units per price unit of depth: ``k^i = β / V^i``.
        """
        v = _param("vegas", vegas, positive=True)
        if not (math.isfinite(beta) and beta > 0.0):
            raise InvalidArgumentError("beta", beta, "a finite number > 0")
        if not math.isfinite(alpha):
            raise InvalidArgumentError("alpha", alpha, "a finite number")
        return cls(lam=lam, a=alpha, k=beta / v)

    @property
    def n(self) -> int:
        return max(self.lam.size, self.a.size, self.k.size)

    def broadcast(self, n: int) -> LogisticIntensity:
        return LogisticIntensity(
            lam=_repeat(self.lam, n, "lam"), a=_repeat(self.a, n, "a"), k=_repeat(self.k, n, "k")
        )

    def rate(self, delta: ArrayLike) -> Float64Array:
        import scipy.special

        x = self.a + self.k * np.asarray(delta, dtype=np.float64)
        out: Float64Array = self.lam * scipy.special.expit(-x)
        return out

    def _y(self, p: ArrayLike) -> Float64Array:
        """``y = a + k δ̃(p)``, the root of ``y − e^{−y} = 1 + a + kp`` (Lambert W₀)."""
        import scipy.special

        c = 1.0 + self.a + self.k * np.asarray(p, dtype=np.float64)
        # W₀(e^{−c}) for every real c. e^{−c} overflows for c < −709: there the asymptotic
        # series W₀(x) = L₁ − L₂ + L₂/L₁ + O((L₂/L₁)²), L₁ = ln x = −c, L₂ = ln L₁, is used
        # (absolute error below 1e-4 in y; such p lie far outside any quoting range).
        big = c < -700.0
        l1 = np.where(big, -c, 1.0)
        l2 = np.log(l1)
        w = np.where(
            big,
            l1 - l2 + l2 / l1,
            scipy.special.lambertw(np.exp(-np.where(big, 0.0, c))).real,
        )
        out: Float64Array = c + w
        return out

    def optimal_depth(self, p: ArrayLike) -> Float64Array:
        out: Float64Array = (self._y(p) - self.a) / self.k
        return out

    def hamiltonian(self, p: ArrayLike) -> Float64Array:
        out: Float64Array = self.lam / self.k * np.exp(-self._y(p))
        return out

    def curvature(self) -> Float64Array:
        import scipy.special

        y0 = self._y(0.0)
        s = scipy.special.expit(y0)
        out: Float64Array = self.k * self.lam * (1.0 - s) * s * s
        return out
