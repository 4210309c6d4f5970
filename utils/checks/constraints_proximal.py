"""Exercise checks for ``04_constraints_proximal.ipynb``: the projection onto the ℓ1 ball, the proximal operator of
the elastic-net penalty, and cell-type proportions from a bulk sample of unknown depth.

Each check computes the right answer itself by a route different from the notebook's (bisection on the multiplier
of the projection, the closed form checked against the optimality condition, SciPy's active-set NNLS) and runs the
learner's function on several generic cases.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from utils.checks.core import check_function


def _project_l1_ball_by_bisection(v: np.ndarray, radius: float) -> np.ndarray:
    """Nearest point of {‖x‖₁ ≤ r}: v itself inside, else sign(v)·max(|v| - θ, 0) with θ found by bisection."""
    magnitude = np.abs(v)
    if magnitude.sum() <= radius:
        return v.copy()
    lower, upper = 0.0, float(magnitude.max())  # Σ max(|v| - θ, 0) - r is decreasing in θ, > 0 at 0, < 0 at max
    for _ in range(200):
        middle = 0.5 * (lower + upper)
        if np.maximum(magnitude - middle, 0.0).sum() > radius:
            lower = middle
        else:
            upper = middle
    return np.sign(v) * np.maximum(magnitude - 0.5 * (lower + upper), 0.0)


def l1_ball_cases() -> list[tuple[tuple[np.ndarray, float], np.ndarray]]:
    """Generic vectors and radii (none equal to 1): outside the ball with several signs, one inside, length one."""
    rng = np.random.default_rng(41)
    problems = [
        (np.array([0.93, -1.71, 0.26, -0.44, 1.18]), 1.37),
        (rng.normal(0.0, 2.0, size=8), 2.6),
        (np.array([-0.31, 0.12, -0.07, 0.22]), 0.85),  # inside: the projection is v itself
        (np.array([2.45, -2.05, 1.9, -1.65, 0.6, -0.35]), 0.43),  # a small ball: only the largest entry survives
        (np.array([-3.3]), 1.9),
        (rng.normal(0.0, 0.8, size=7), 3.15),
    ]
    return [((v, radius), _project_l1_ball_by_bisection(v, radius)) for v, radius in problems]


def ex1(project_l1_ball: Any) -> bool:
    """Expects a function ``(v, radius) -> array like v``: the Euclidean projection onto {‖x‖₁ ≤ radius}."""
    return check_function(
        "Exercise 1",
        project_l1_ball,
        [((v.copy(), radius), expected) for (v, radius), expected in l1_ball_cases()],
        what="projection onto the ℓ1 ball on vectors inside and outside, radii ≠ 1",
        rtol=1e-6,
        atol=1e-6,
        hint="inside the ball (‖v‖₁ ≤ r) return v; outside, return sign(v)·P(|v|) with P the projection onto the "
        "simplex of radius r (sum r, not 1): rescaling v by r/‖v‖₁, or clipping and renormalising, is not the "
        "nearest point",
    )


def _prox_elastic_net(v: np.ndarray, lam: float, mu: float, step: float) -> np.ndarray:
    return np.sign(v) * np.maximum(np.abs(v) - step * lam, 0.0) / (1.0 + step * mu)


def prox_cases() -> list[tuple[tuple[np.ndarray, float, float, float], np.ndarray]]:
    """Entries inside and outside the threshold, both signs, steps ≠ 1, and one case with μ = 0."""
    rng = np.random.default_rng(42)
    problems = [
        (np.array([0.83, -0.27, 0.12, -1.36, 0.41, -0.52, 2.07]), 0.7, 1.3, 0.45),
        (np.array([3.1, -2.2, 4.05, -5.3, 0.6, -1.15]), 1.3, 0.35, 1.9),
        (rng.normal(0.0, 1.5, size=9), 0.25, 2.6, 3.3),
        (np.array([-0.95, 0.31, 1.47, -0.18]), 0.55, 0.0, 0.8),  # μ = 0: soft-thresholding at tλ = 0.44
    ]
    return [((v, lam, mu, step), _prox_elastic_net(v, lam, mu, step)) for v, lam, mu, step in problems]


def ex2(prox_elastic_net: Any) -> bool:
    """Expects a function ``(v, lam, mu, step) -> array like v``: prox of t·(λ|x| + μx²/2), entrywise."""
    return check_function(
        "Exercise 2",
        prox_elastic_net,
        [((v.copy(), lam, mu, step), expected) for (v, lam, mu, step), expected in prox_cases()],
        what="prox of λ|x| + μx²/2 with step t",
        rtol=1e-6,
        atol=1e-7,
        hint="set 0 ∈ λ∂|x| + μx + (x - v)/t: x = sign(v)·max(|v| - tλ, 0) / (1 + tμ); the threshold is tλ "
        "(not λ, λ/2 or λ/t), the result keeps the sign of v, and the whole of it is divided by 1 + tμ",
    )


@lru_cache(maxsize=1)
def _pbmc_signature() -> np.ndarray:
    """The notebook's PBMC signature (genes x types): ``utils.data.cell_type_signature``, counts per 10,000."""
    from utils.data import cell_type_signature, load_pbmc

    pbmc = load_pbmc()
    return cell_type_signature(pbmc.counts, pbmc.samples["bulk_labels"], pbmc.samples["n_counts"]).to_numpy()


def deconvolution_cases() -> list[tuple[tuple[np.ndarray, np.ndarray], np.ndarray]]:
    """PBMC mixtures at several depths and noise levels (some proportions near 0), and a synthetic signature."""
    from scipy.optimize import nnls

    rng = np.random.default_rng(43)
    signature = _pbmc_signature()
    synthetic = rng.gamma(0.6, 50.0, size=(60, 5))
    problems = []
    for depth, sigma, concentration in ((37.5, 0.3, 0.4), (0.23, 0.5, 0.3), (4.6, 0.15, 1.0)):
        proportions = rng.dirichlet(np.full(signature.shape[1], concentration))
        bulk = depth * signature @ proportions * np.exp(sigma * rng.standard_normal(signature.shape[0]))
        problems.append((signature, bulk))
    proportions = rng.dirichlet(np.full(5, 0.5))
    problems.append((synthetic, 13.0 * synthetic @ proportions + 8.0 * rng.standard_normal(60)))
    cases = []
    for matrix, bulk in problems:
        coefficients = nnls(matrix, bulk)[0]
        cases.append(((matrix, bulk), coefficients / coefficients.sum()))
    return cases


def ex3(estimate_proportions: Any) -> bool:
    """Expects a function ``(signature, bulk) -> array (types,)``: NNLS proportions normalised to sum to 1."""
    if not callable(estimate_proportions):
        cases: list = []  # "not attempted" or not a function: no need to load the data
    else:
        cases = [((matrix.copy(), bulk.copy()), expected) for (matrix, bulk), expected in deconvolution_cases()]
    return check_function(
        "Exercise 3",
        estimate_proportions,
        cases,
        what="NNLS proportions on PBMC mixtures at depths 37.5, 0.23, 4.6 and a synthetic signature",
        rtol=0.0,
        atol=2e-5,
        hint="solve min ‖S p - y‖ subject to p ≥ 0 (scipy.optimize.nnls), then divide by the sum: the depth c "
        "cancels. Unconstrained least squares gives negative proportions, and the simplex-constrained fit assumes "
        "c = 1",
    )
