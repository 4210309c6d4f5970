"""Exercise checks for ``01_gradients_derivatives.ipynb`` (Module 1.1, Calculus & Optimization).

Every expected value is computed here, independently of the learner's route: gradients with PyTorch autograd
in float64, norms with ``numpy.linalg.norm``. Points are generic (no coordinate 0, ±1 or 2, no two coordinates
equal), so that a slip such as x instead of x² or two swapped partials changes the number.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from utils.checks.core import check_array, check_function

EX1_POINTS = ((1.3, -0.7, 2.4), (-1.6, 0.45, -2.9), (0.35, 2.7, -1.15), (-2.3, -1.8, 0.6))
EX2_POINT = (1.5, -0.5)
EX2_DIRECTION = (3.0, 4.0)
EX4_SEED = 1
EX4_LENGTH = 100
EX5_SHAPES = ((50, 3), (7, 1), (20, 5), (4, 4))


def _autograd_gradient(function, point) -> np.ndarray:
    variable = torch.tensor(point, dtype=torch.float64, requires_grad=True)
    function(variable).backward()
    return variable.grad.numpy()


def _ex1_function(v: torch.Tensor) -> torch.Tensor:
    x, y, z = v
    return x**2 * y + y * z**2 + x * z


def _ex2_function(v: torch.Tensor) -> torch.Tensor:
    x, y = v
    return x**2 - x * y + y**2


def ex1(gradient_f: Any) -> bool:
    """Expects a function gradient_f(x, y, z) returning ∇f for f = x²y + yz² + xz, an array of shape (3,).

    It is compared with autograd at four generic points.
    """
    cases = [(point, _autograd_gradient(_ex1_function, point)) for point in EX1_POINTS]
    return check_function(
        "Exercise 1",
        gradient_f,
        cases,
        what="gradient_f(x, y, z) against autograd",
        rtol=1e-6,
        atol=1e-8,
        hint="differentiate one variable at a time, holding the other two fixed; xz contributes to ∂f/∂x and ∂f/∂z",
    )


def ex2(answer: Any) -> bool:
    """Expects the directional derivative of f(x, y) = x² - xy + y² at (1.5, -0.5) along (3, 4)/5, a float."""
    gradient = _autograd_gradient(_ex2_function, EX2_POINT)
    direction = np.array(EX2_DIRECTION) / np.linalg.norm(EX2_DIRECTION)
    return check_array(
        "Exercise 2",
        answer,
        float(gradient @ direction),
        what="D_u f(1.5, -0.5) with u = (3, 4)/5",
        rtol=1e-6,
        atol=1e-8,
        hint="D_u f = ∇f · u with u a unit vector: divide (3, 4) by its length 5 first",
    )


def ex3(answer: Any) -> bool:
    """Expects the unit vector of steepest increase of f(x, y) = x² - xy + y² at (1.5, -0.5), shape (2,)."""
    gradient = _autograd_gradient(_ex2_function, EX2_POINT)
    return check_array(
        "Exercise 3",
        answer,
        gradient / np.linalg.norm(gradient),
        what="unit direction of steepest ascent at (1.5, -0.5)",
        rtol=1e-6,
        atol=1e-8,
        hint="the steepest ascent direction is ∇f/‖∇f‖: a unit vector along the gradient",
    )


def ex4(answer: Any) -> bool:
    """Expects [‖x‖₁, ‖x‖₂, ‖x‖∞] of x = default_rng(1).standard_normal(100), an array of shape (3,).

    rtol = 1e-5: norms computed in float32 (relative error ~1e-7) pass; another seed, a squared L2 or a missing
    absolute value is off by percents.
    """
    vector = np.random.default_rng(EX4_SEED).standard_normal(EX4_LENGTH)
    expected = [np.linalg.norm(vector, order) for order in (1, 2, np.inf)]
    return check_array(
        "Exercise 4",
        answer,
        expected,
        what="[L1, L2, L∞] norms of the seeded vector",
        rtol=1e-5,
        atol=0.0,
        hint="order [L1, L2, L∞]; L1 sums |x_i|, L2 is the square root of the sum of squares, L∞ is max |x_i|",
    )


def _mean_squared_error(design: np.ndarray, response: np.ndarray):
    design_t, response_t = torch.from_numpy(design), torch.from_numpy(response)
    return lambda w: torch.mean((design_t @ w - response_t) ** 2)


def _ex5_cases() -> list[tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]]:
    rng = np.random.default_rng(5)
    cases = []
    for n_samples, n_features in EX5_SHAPES:
        design = rng.standard_normal((n_samples, n_features))
        weights = rng.standard_normal(n_features)
        response = rng.standard_normal(n_samples)
        expected = _autograd_gradient(_mean_squared_error(design, response), weights)
        cases.append(((design, weights, response), expected))
    return cases


def ex5(mse_gradient: Any) -> bool:
    """Expects a function mse_gradient(X, w, y) returning ∇_w (1/n)‖Xw - y‖², an array of shape (p,)."""
    return check_function(
        "Exercise 5",
        mse_gradient,
        _ex5_cases(),
        what="mse_gradient(X, w, y) against autograd",
        rtol=1e-6,
        atol=1e-8,
        hint="(2/n) Xᵀ(Xw - y): check the factor 2, the 1/n of the mean, and the sign of the residual",
    )
