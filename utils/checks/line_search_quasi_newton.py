"""Exercise checks for ``03_line_search_quasi_newton.ipynb`` (Module 3.1, Optimisation algorithms).

Expected values are computed here, independently of the learner's route: the Armijo inequality evaluated directly
on several smooth functions, the BFGS inverse update as the inverse of the direct (Hessian) BFGS update, and the
Cox–Reid dispersion of a pasilla gene with ``utils.dispersion`` on means refitted here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from utils.checks.core import check_array, check_function

EX3_GENE = "FBgn0029167"


# ------------------------------------------------------------------------------------------- Exercise 1
def _smooth_convex(x: np.ndarray) -> float:
    return float(np.log(np.exp(0.7 * x[0] - 0.4 * x[1]) + np.exp(-0.3 * x[0] + 0.9 * x[1])) + 0.6 * x @ x)


def _smooth_convex_gradient(x: np.ndarray) -> np.ndarray:
    a, b = np.exp(0.7 * x[0] - 0.4 * x[1]), np.exp(-0.3 * x[0] + 0.9 * x[1])
    return (a * np.array([0.7, -0.4]) + b * np.array([-0.3, 0.9])) / (a + b) + 1.2 * x


def _wavy(x: np.ndarray) -> float:
    return float(np.sin(1.3 * x[0]) + np.cos(0.8 * x[1] + 0.3) + 0.25 * x[0] ** 2 + 0.15 * x[1] ** 2 + 0.1 * x[2] ** 2)


def _wavy_gradient(x: np.ndarray) -> np.ndarray:
    return np.array([1.3 * np.cos(1.3 * x[0]) + 0.5 * x[0], -0.8 * np.sin(0.8 * x[1] + 0.3) + 0.3 * x[1], 0.2 * x[2]])


def _ex1_cases() -> list[tuple[tuple, bool]]:
    cases = []
    problems = [
        (_smooth_convex, _smooth_convex_gradient, np.array([0.83, -1.37])),
        (_wavy, _wavy_gradient, np.array([0.61, -1.23, 1.74])),
    ]
    for f, gradient, x in problems:
        scaling = np.linspace(0.7, 1.9, len(x))
        p = -scaling * gradient(x)  # a descent direction that is not the plain negative gradient
        slope = gradient(x) @ p
        for c1 in (0.13, 0.37):
            # steps spread over both sides of the Armijo limit, including some that only give simple decrease
            for t in np.geomspace(0.03, 3.1, 11):
                expected = bool(f(x + t * p) <= f(x) + c1 * t * slope)
                cases.append(((f, gradient, x.copy(), p.copy(), float(t), c1), expected))
    return cases


def _same_boolean(output: Any, expected: bool) -> bool:
    if isinstance(output, bool | np.bool_):
        return bool(output) == expected
    if hasattr(output, "detach") and hasattr(output, "item"):  # a 0-d torch tensor holding a boolean
        return output.dtype == __import__("torch").bool and output.numel() == 1 and bool(output.item()) == expected
    if isinstance(output, np.ndarray) and output.shape in ((), (1,)) and output.dtype == bool:
        return bool(output.reshape(-1)[0]) == expected
    return False


def ex1(armijo: Any) -> bool:
    """Expects ``armijo(f, gradient, x, p, t, c1)`` returning True/False for sufficient decrease."""
    return check_function(
        "Exercise 1",
        armijo,
        _ex1_cases(),
        what="Armijo test (a True/False answer)",
        compare=_same_boolean,
        hint="accept when f(x + t p) <= f(x) + c1 · t · ∇f(x)ᵀp: the slope ∇f(x)ᵀp is negative, the right-hand side "
        "uses a fraction c1 of it (not all of it, not none), and the answer is a bool, not a number",
    )


# ------------------------------------------------------------------------------------------- Exercise 2
def _ex2_cases() -> list[tuple[tuple, np.ndarray]]:
    rng = np.random.default_rng(20260302)
    cases = []
    for size in (3, 4, 5):
        factor = rng.standard_normal((size, size))
        inverse_hessian = factor @ factor.T + 0.37 * np.eye(size)
        s = rng.standard_normal(size)
        y = rng.standard_normal(size)
        y = y if y @ s > 0 else -y
        y = y + 0.2 * s  # keep s·y clearly positive
        # independent route: update the Hessian B = H⁻¹ by the direct BFGS formula, then invert
        hessian = np.linalg.inv(inverse_hessian)
        bs = hessian @ s
        updated = hessian - np.outer(bs, bs) / (s @ bs) + np.outer(y, y) / (y @ s)
        cases.append(((inverse_hessian.copy(), s.copy(), y.copy()), np.linalg.inv(updated)))
    return cases


def ex2(bfgs_inverse_update: Any) -> bool:
    """Expects ``bfgs_inverse_update(H, s, y)`` returning the BFGS update of the inverse Hessian, an (n, n) array."""
    return check_function(
        "Exercise 2",
        bfgs_inverse_update,
        _ex2_cases(),
        what="BFGS inverse-Hessian update",
        rtol=1e-8,
        atol=1e-10,
        hint="H₊ = (I - ρ s yᵀ) H (I - ρ y sᵀ) + ρ s sᵀ with ρ = 1/(yᵀs); the formula with B s sᵀB / sᵀBs updates the "
        "Hessian, not its inverse; check that your H₊ satisfies H₊ y = s",
    )


# ------------------------------------------------------------------------------------------- Exercise 3
@cache
def _ex3_expected() -> float:
    from utils.data import load_pasilla
    from utils.dispersion import fit_dispersions, moments_dispersions
    from utils.glm import fit_nb_glm, size_factors_median_of_ratios
    from utils.linear_models import design_matrix

    pasilla = load_pasilla()
    counts = pasilla.counts[pasilla.counts.sum(axis=1) > 0]
    design = design_matrix(pasilla.samples, ["type", "condition"])
    size_factors = size_factors_median_of_ratios(counts)
    gene = counts.loc[[EX3_GENE]]
    # IRLS treats every gene separately: fitting this gene alone gives the means of the all-gene fit
    means = fit_nb_glm(gene, design, size_factors, dispersion=moments_dispersions(gene, size_factors)).fitted_means
    return float(fit_dispersions(gene, means, design, cox_reid=True).dispersion[0])


def ex3(answer: Any) -> bool:
    """Expects the Cox–Reid adjusted dispersion (alpha, not log alpha) of FBgn0029167, a float."""
    return check_array(
        "Exercise 3",
        answer,
        _ex3_expected,
        what=f"Cox–Reid dispersion of {EX3_GENE}",
        rtol=1e-4,
        atol=0.0,
        hint="maximise ℓ(α) - ½ log det(XᵀWX), W = diag(μ/(1 + αμ)) (DESeq2 subtracts the term), over θ = log α in "
        "[log 1e-8, log 10], with the means of §6; give α = exp(θ), not θ",
    )
