"""Finite-difference derivatives and gradient checking, in float64 NumPy.

These are the independent references the lessons compare hand-derived and autograd derivatives with.
Central differences have truncation error O(h^2) and round-off error O(eps/h); the default steps balance
the two (Solomon, *Numerical Algorithms*, sec. 14.3; Nocedal & Wright, *Numerical Optimization*, sec. 8.1).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

ArrayFunction = Callable[[np.ndarray], "float | np.ndarray"]


def _as_point(x: np.ndarray | list | float, name: str = "x") -> np.ndarray:
    point = np.array(x, dtype=float)
    if point.ndim == 0:
        point = point.reshape(1)
    if point.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector, got shape {point.shape}")
    if point.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(point)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return point


def _check_step(h: float) -> None:
    if not np.isfinite(h) or h <= 0:
        raise ValueError(f"h must be a positive finite step, got {h}")


def numerical_gradient(f: ArrayFunction, x: np.ndarray | list, h: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of a scalar function of a vector.

    :math:`\\partial f/\\partial x_k \\approx [f(x + h e_k) - f(x - h e_k)] / 2h`, error O(h^2).

    Parameters
    ----------
    f : callable
        Maps a 1-D float array to a scalar.
    x : array_like, shape (n,)
        Point at which to differentiate.
    h : float
        Step; the default suits smooth functions of O(1) variables in float64.

    Returns
    -------
    numpy.ndarray, shape (n,)
    """
    point = _as_point(x)
    _check_step(h)
    gradient = np.empty_like(point)
    for k in range(point.size):
        step = np.zeros_like(point)
        step[k] = h
        upper, lower = f(point + step), f(point - step)
        if np.ndim(upper) != 0:
            raise ValueError(f"f must return a scalar, got an output of shape {np.shape(upper)}")
        gradient[k] = (float(upper) - float(lower)) / (2 * h)
    return gradient


def numerical_jacobian(f: ArrayFunction, x: np.ndarray | list, h: float = 1e-6) -> np.ndarray:
    """Central-difference Jacobian :math:`J_{ik} = \\partial f_i / \\partial x_k` of a map R^n -> R^m.

    Returns an array of shape (m, n); a scalar-valued ``f`` gives shape (1, n).
    """
    point = _as_point(x)
    _check_step(h)
    columns = []
    for k in range(point.size):
        step = np.zeros_like(point)
        step[k] = h
        upper = np.atleast_1d(np.asarray(f(point + step), dtype=float))
        lower = np.atleast_1d(np.asarray(f(point - step), dtype=float))
        if upper.ndim != 1:
            raise ValueError(f"f must return a scalar or a 1-D vector, got shape {upper.shape}")
        columns.append((upper - lower) / (2 * h))
    return np.stack(columns, axis=1)


def numerical_hessian(f: ArrayFunction, x: np.ndarray | list, h: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of a scalar function, symmetrised.

    Uses :math:`H_{kl} \\approx [f(x+h e_k+h e_l) - f(x+h e_k-h e_l) - f(x-h e_k+h e_l) + f(x-h e_k-h e_l)]/4h^2`,
    error O(h^2); the larger default step reflects the O(eps/h^2) round-off of a second difference.
    The formula is symmetric in k and l, so the result is symmetric by construction: where the mixed
    partials differ (a function that is not C^2, e.g. Peano's example at the origin) it returns their
    average and cannot reveal the asymmetry.
    """
    point = _as_point(x)
    _check_step(h)
    n = point.size
    hessian = np.empty((n, n))
    unit = np.eye(n) * h
    for k in range(n):
        for m in range(k, n):
            value = (
                f(point + unit[k] + unit[m])
                - f(point + unit[k] - unit[m])
                - f(point - unit[k] + unit[m])
                + f(point - unit[k] - unit[m])
            ) / (4 * h * h)
            hessian[k, m] = hessian[m, k] = float(value)
    return hessian


def relative_error(a: np.ndarray | float, b: np.ndarray | float, floor: float = 1e-12) -> float:
    """Relative error :math:`\\|a-b\\| / \\max(\\|a\\|, \\|b\\|, \\text{floor})` in the Euclidean norm.

    Symmetric in its arguments; the floor keeps it finite when both are (near) zero, as in CS231n's
    gradient-checking recipe.
    """
    first = np.asarray(a, dtype=float)
    second = np.asarray(b, dtype=float)
    if first.shape != second.shape:
        raise ValueError(f"a and b must have the same shape, got {first.shape} and {second.shape}")
    scale = max(np.linalg.norm(first), np.linalg.norm(second), floor)
    return float(np.linalg.norm(first - second) / scale)


def gradient_check(
    f: ArrayFunction, gradient: Callable[[np.ndarray], np.ndarray], x: np.ndarray | list, h: float = 1e-6
) -> float:
    """Relative error between an analytic gradient and the central-difference one at ``x``.

    Values below ~1e-7 mean the analytic gradient is right (for smooth ``f`` in float64); values near 1
    mean it is wrong. Returns the error rather than asserting, so callers choose the tolerance.
    """
    point = _as_point(x)
    analytic = np.asarray(gradient(point), dtype=float).reshape(-1)
    if analytic.shape != point.shape:
        raise ValueError(f"gradient(x) must have shape {point.shape}, got {analytic.shape}")
    return relative_error(analytic, numerical_gradient(f, point, h))
