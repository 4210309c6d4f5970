"""Checks of the notebook template (tools/notebook_template/00_template.ipynb): the pattern every check follows.

Each check computes its own reference, never raises on an answer, and rejects the mistakes its hint names.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from utils.checks.core import check_array, check_function

# generic points: no 0, ±1 or 2, no two equal, so that slips cannot agree with the right answer by accident
POINTS = np.array([-2.7, -0.35, 0.6, 1.45, 3.2])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # the logistic function without overflow


def ex1(answer: Any) -> bool:
    """Expects a function softplus_derivative(x) -> d/dx log(1 + e^x), evaluated elementwise on an array."""
    return check_function(
        "Exercise 1",
        answer,
        [((POINTS,), _sigmoid(POINTS)), ((np.array([-40.5, 38.25]),), _sigmoid(np.array([-40.5, 38.25])))],
        what="d/dx log(1 + e^x) at seven generic points, two of them far in the tails",
        rtol=1e-10,
        atol=1e-12,
        hint="the chain rule gives e^x / (1 + e^x), the logistic function σ(x), not e^x and not 1 / (1 + e^x)",
    )


def ex2(answer: Any) -> bool:
    """Expects the second derivative of softplus at x = 0.6, a float: σ(x)(1 − σ(x))."""
    return check_array(
        "Exercise 2",
        answer,
        lambda: _sigmoid(0.6) * (1 - _sigmoid(0.6)),
        what="softplus''(0.6)",
        rtol=1e-8,
        hint="differentiate σ(x): σ'(x) = σ(x)(1 − σ(x)), not σ(x)²",
    )


def ex3(answer: Any) -> bool:
    """Expects the Newton step for softplus(x) − 0.3x from x = 1.45: −f'(x)/f''(x), a float."""

    def step() -> float:
        s = _sigmoid(1.45)
        return -(s - 0.3) / (s * (1 - s))

    return check_array(
        "Exercise 3",
        answer,
        step,
        what="the Newton step from x = 1.45",
        rtol=1e-8,
        hint="the step is −f'(x)/f''(x): minus sign, gradient over curvature (not curvature over gradient)",
    )
