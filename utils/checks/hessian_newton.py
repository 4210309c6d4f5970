"""Exercise checks for ``02_hessian_newton.ipynb`` (Module 1.1, Calculus & Optimization).

Expected values are computed here, independently of the learner's route: Hessians with
``torch.autograd.functional.hessian`` in float64, the one-step Newton update and the Poisson rate MLE from
their closed forms, and the Poisson GLM standard error with ``statsmodels``. Exercise 1 is evaluated at generic
points (no coordinate 0, ±1 or 2, distinct coordinates), where e^{xy} and (1 + xy)e^{xy} differ.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.autograd.functional import hessian

from utils.checks.core import check_array, check_choice, check_function
from utils.glm import size_factors_median_of_ratios
from utils.linear_models import design_matrix

EX1_POINTS = ((1.3, -0.7), (-0.6, 1.5), (0.8, 0.45), (-1.7, -0.35))
EX2_OPTIONS = ("minimum", "maximum", "saddle")
EX4_GENE = "FBgn0039155"


def _ex1_function(v: torch.Tensor) -> torch.Tensor:
    x, y = v
    return x**3 * y + torch.exp(x * y)


def _ex2_function(v: torch.Tensor) -> torch.Tensor:
    x, y, z = v
    return x**2 + 3 * x * y + y**2 + z**2 / 2


def ex1(hessian_f: Any) -> bool:
    """Expects a function hessian_f(x, y) returning the Hessian of f = x³y + exp(xy), an array of shape (2, 2).

    It is compared with autograd at four generic points.
    """
    cases = [((x, y), hessian(_ex1_function, torch.tensor((x, y), dtype=torch.float64)).numpy()) for x, y in EX1_POINTS]
    return check_function(
        "Exercise 1",
        hessian_f,
        cases,
        what="hessian_f(x, y) of x³y + exp(xy) against autograd",
        rtol=1e-6,
        atol=1e-8,
        hint="∂²/∂x∂y of exp(xy) is (1 + xy)·exp(xy), not just exp(xy); the matrix must be symmetric",
    )


def ex2(answer: Any) -> bool:
    """Expects 'minimum', 'maximum' or 'saddle' for the critical point 0 of x² + 3xy + y² + z²/2."""
    eigenvalues = np.linalg.eigvalsh(hessian(_ex2_function, torch.zeros(3, dtype=torch.float64)).numpy())
    if np.all(eigenvalues > 0):
        expected = "minimum"
    elif np.all(eigenvalues < 0):
        expected = "maximum"
    else:
        expected = "saddle"
    return check_choice(
        "Exercise 2",
        answer,
        expected,
        EX2_OPTIONS,
        what="type of the critical point at the origin",
        hint="positive diagonal entries do not make a matrix positive definite: look at the eigenvalues",
    )


def _ex3_cases() -> list[tuple[tuple[np.ndarray, np.ndarray, float, int], float]]:
    rng = np.random.default_rng(3)
    cases = []
    for n_samples, mean in ((4, 50.0), (7, 1200.0), (3, 4.0)):
        size_factors = rng.uniform(0.5, 2.0, n_samples)
        counts = rng.poisson(mean * size_factors).astype(float)
        total_count, total_size = counts.sum(), size_factors.sum()
        mle = np.log(total_count / total_size)
        # one Newton step θ ← θ - ℓ'(θ)/ℓ''(θ) = θ - 1 + K e^{-θ} / S, from a start away from the optimum
        start = mle + 0.7
        cases.append(((counts, size_factors, start, 1), start - 1 + total_count * np.exp(-start) / total_size))
        # many steps: the closed-form maximum-likelihood estimate log(K / S)
        cases.append(((counts, size_factors, mle - 0.5, 30), mle))
    return cases


def ex3(newton_poisson_rate: Any) -> bool:
    """Expects newton_poisson_rate(counts, size_factors, theta0, n_steps) returning θ after n_steps, a float."""
    return check_function(
        "Exercise 3",
        newton_poisson_rate,
        _ex3_cases(),
        what="Newton iterates for the Poisson log-rate",
        rtol=1e-8,
        atol=1e-10,
        hint="ℓ'(θ) = Σk - e^θ Σs and ℓ''(θ) = -e^θ Σs; one step is θ - ℓ'(θ)/ℓ''(θ), repeated n_steps times",
    )


def _ex4_reference() -> float:
    from statsmodels.genmod.families import Poisson
    from statsmodels.genmod.generalized_linear_model import GLM

    from utils.data import load_pasilla

    pasilla = load_pasilla()
    size_factors = size_factors_median_of_ratios(pasilla.counts.to_numpy().astype(float))
    design = design_matrix(pasilla.samples, ["type", "condition"])
    counts = pasilla.counts.loc[EX4_GENE].to_numpy(dtype=float)
    fit = GLM(counts, design.to_numpy(), family=Poisson(), offset=np.log(size_factors)).fit()
    return float(fit.bse[design.columns.get_loc("condition[T.treated]")])


def ex4(answer: Any) -> bool:
    """Expects the standard error of the treated coefficient (design ~ type + condition) for FBgn0039155, a float."""
    return check_array(
        "Exercise 4",
        answer,
        _ex4_reference,
        what=f"Poisson GLM standard error of the treated coefficient of {EX4_GENE} (statsmodels)",
        rtol=1e-5,
        atol=1e-10,
        hint="SE = sqrt of a diagonal entry of the INVERSE of XᵀWX at the optimum (W = diag(μ)); keep all 3 columns",
    )
