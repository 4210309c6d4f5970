"""Finite-difference derivatives and gradient checking, in float64 NumPy.

These are the independent references the lessons compare hand-derived and autograd derivatives with.
A central first difference has truncation error O(h^2) and round-off error O(eps |f| / h); a central second
difference O(h^2) and O(eps |f| / h^2). The default steps balance the two *relative to the size of each
coordinate*, :math:`h_i = \\varepsilon^{1/3}\\max(1, |x_i|)` for first differences and
:math:`h_i = \\varepsilon^{1/4}\\max(1, |x_i|)` for second differences (Nocedal & Wright, *Numerical
Optimization*, sec. 8.1; Solomon, *Numerical Algorithms*, sec. 14.3). An absolute step such as 1e-6 fails at
large scales: at x = 1e8 it is below the spacing of the floating-point numbers that f takes there, and the
difference quotient is mostly round-off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from utils._validation import as_array, check_callable, check_scalar

ArrayFunction = Callable[[np.ndarray], "float | np.ndarray"]

#: ε^{1/3} and ε^{1/4} for float64: the relative steps of central first and second differences.
FIRST_DIFFERENCE_SCALE = float(np.finfo(float).eps ** (1 / 3))
SECOND_DIFFERENCE_SCALE = float(np.finfo(float).eps ** (1 / 4))


def _as_point(x: Any, name: str = "x") -> np.ndarray:
    # a scalar is a point in R^1; TypeError for non-numbers, ValueError for the wrong shape, empty or NaN
    point = as_array(x, name)
    if point.ndim == 0:
        point = point.reshape(1)
    if point.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector, got shape {point.shape}")
    return point


def _steps(point: np.ndarray, h: float | None, scale: float) -> np.ndarray:
    """One step per coordinate: ``scale * max(1, |x_i|)`` by default, or the validated absolute step ``h``.

    Each step is then rounded so that ``x_i + h_i`` is exactly representable: the difference quotient divides
    by the step actually taken, not by the one intended.
    """
    if h is None:
        steps = scale * np.maximum(1.0, np.abs(point))
    else:
        steps = np.full(point.shape, check_scalar(h, "h", positive=True))
    return (point + steps) - point


def numerical_gradient(f: ArrayFunction, x: Any, h: float | None = None) -> np.ndarray:
    """Central-difference gradient of a scalar function of a vector.

    :math:`\\partial f/\\partial x_k \\approx [f(x + h_k e_k) - f(x - h_k e_k)] / 2h_k`, error O(h_k^2).

    Parameters
    ----------
    f : callable
        Maps a 1-D float array to a scalar.
    x : array_like, shape (n,)
        Point at which to differentiate.
    h : float, optional
        An absolute step for every coordinate. Default: :math:`h_k = \\varepsilon^{1/3}\\max(1, |x_k|)`, which
        balances truncation against round-off at any scale of ``x``.

    Returns
    -------
    numpy.ndarray, shape (n,)
    """
    check_callable(f, "f")
    point = _as_point(x)
    steps = _steps(point, h, FIRST_DIFFERENCE_SCALE)
    gradient = np.empty_like(point)
    for k in range(point.size):
        step = np.zeros_like(point)
        step[k] = steps[k]
        upper, lower = f(point + step), f(point - step)
        if np.ndim(upper) != 0:
            raise ValueError(f"f must return a scalar, got an output of shape {np.shape(upper)}")
        gradient[k] = (float(upper) - float(lower)) / (2 * steps[k])
    return gradient


def numerical_jacobian(f: ArrayFunction, x: Any, h: float | None = None) -> np.ndarray:
    """Central-difference Jacobian :math:`J_{ik} = \\partial f_i / \\partial x_k` of a map R^n -> R^m.

    Steps as in :func:`numerical_gradient`. Returns an array of shape (m, n); a scalar-valued ``f`` gives
    shape (1, n).
    """
    check_callable(f, "f")
    point = _as_point(x)
    steps = _steps(point, h, FIRST_DIFFERENCE_SCALE)
    columns = []
    for k in range(point.size):
        step = np.zeros_like(point)
        step[k] = steps[k]
        upper = np.atleast_1d(np.asarray(f(point + step), dtype=float))
        lower = np.atleast_1d(np.asarray(f(point - step), dtype=float))
        if upper.ndim != 1:
            raise ValueError(f"f must return a scalar or a 1-D vector, got shape {upper.shape}")
        columns.append((upper - lower) / (2 * steps[k]))
    return np.stack(columns, axis=1)


def numerical_hessian(f: ArrayFunction, x: Any, h: float | None = None) -> np.ndarray:
    """Central-difference Hessian of a scalar function, symmetric by construction.

    Uses :math:`H_{kl} \\approx [f(x+h_k e_k+h_l e_l) - f(x+h_k e_k-h_l e_l) - f(x-h_k e_k+h_l e_l)
    + f(x-h_k e_k-h_l e_l)]/4h_k h_l`, error O(h^2). The default step
    :math:`h_k = \\varepsilon^{1/4}\\max(1, |x_k|)` is larger than the gradient's because a second difference
    loses O(eps |f| / h^2) to round-off; ``h`` sets one absolute step instead.

    The formula is symmetric in k and l, so it cannot reveal mixed partials that differ (a function that is
    not C^2). For Peano's example :math:`xy(x^2-y^2)/(x^2+y^2)` at the origin, with equal steps, the four points
    lie on the diagonals x = ±y where the function vanishes, so the estimate is exactly 0, neither -1 nor +1.
    """
    check_callable(f, "f")
    point = _as_point(x)
    steps = _steps(point, h, SECOND_DIFFERENCE_SCALE)
    n = point.size
    hessian = np.empty((n, n))
    unit = np.diag(steps)
    for k in range(n):
        for m in range(k, n):
            value = (
                f(point + unit[k] + unit[m])
                - f(point + unit[k] - unit[m])
                - f(point - unit[k] + unit[m])
                + f(point - unit[k] - unit[m])
            ) / (4 * steps[k] * steps[m])
            hessian[k, m] = hessian[m, k] = float(value)
    return hessian


def relative_error(a: Any, b: Any, floor: float = 1e-12) -> float:
    """Relative error :math:`\\|a-b\\| / \\max(\\|a\\|, \\|b\\|, \\text{floor})` in the Euclidean norm.

    Symmetric in its arguments; the floor keeps it finite when both are (near) zero, as in CS231n's
    gradient-checking recipe.
    """
    first = as_array(a, "a", finite=False, empty=True)
    second = as_array(b, "b", finite=False, empty=True)
    floor = check_scalar(floor, "floor", positive=True)
    if first.shape != second.shape:
        raise ValueError(f"a and b must have the same shape, got {first.shape} and {second.shape}")
    scale = max(np.linalg.norm(first), np.linalg.norm(second), floor)
    return float(np.linalg.norm(first - second) / scale)


def gradient_check(f: ArrayFunction, gradient: Callable[[np.ndarray], Any], x: Any, h: float | None = None) -> float:
    """Relative error between an analytic gradient and the central-difference one at ``x``.

    Values below ~1e-7 mean the analytic gradient is right (for smooth ``f`` in float64); values near 1
    mean it is wrong. Returns the error rather than asserting, so callers choose the tolerance.
    """
    check_callable(gradient, "gradient")
    point = _as_point(x)
    analytic = as_array(gradient(point), "gradient(x)", finite=False).reshape(-1)
    if analytic.shape != point.shape:
        raise ValueError(f"gradient(x) must have shape {point.shape}, got {analytic.shape}")
    return relative_error(analytic, numerical_gradient(f, point, h))
