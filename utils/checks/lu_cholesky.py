"""Exercise checks for ``phase1-foundations/module1.2-linear-systems/01_lu_cholesky.ipynb``.

Each check calls the learner's function on cases it builds itself (random matrices from a fixed seed, the real
pasilla design ``~ type + condition``) and compares with an answer computed by a different route: NumPy's
determinant, definiteness known by construction, an explicit inverse, weighted least squares by SVD.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from utils.checks.core import check_function
from utils.data import load_pasilla
from utils.glm import size_factors_median_of_ratios
from utils.linear_models import design_matrix


@lru_cache(maxsize=1)
def _pasilla_problem() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pasilla design ``~ type + condition``, median-of-ratios size factors and the counts matrix."""
    pasilla = load_pasilla()
    samples = pasilla.samples
    design = design_matrix(samples, ["type", "condition"]).to_numpy()
    counts = pasilla.counts.to_numpy(dtype=float)
    size_factors = size_factors_median_of_ratios(counts)
    genes = pasilla.counts.index.get_indexer(["FBgn0261552", "FBgn0000008"])
    return design, size_factors, counts[genes]


def _determinant_cases() -> list[tuple[tuple, float]]:
    rng = np.random.default_rng(11)
    matrices = [
        np.array([[0.0, 1.0], [1.0, 0.0]]),  # one swap: det = -1
        np.array([[2.0, 1, 1, 0], [4, 3, 3, 1], [8, 7, 9, 5], [6, 7, 9, 8]]),
        np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 10.0]]),
        rng.normal(size=(6, 6)),
    ]
    return [((matrix.copy(),), float(np.linalg.det(matrix))) for matrix in matrices]


def ex1(lu_determinant) -> bool:
    """Expects a function ``lu_determinant(matrix) -> float`` computing det(A) from ``scipy.linalg.lu_factor``."""
    return check_function(
        "Exercise 1",
        lu_determinant,
        _determinant_cases(),
        what="determinant compared with numpy.linalg.det",
        rtol=1e-8,
        atol=1e-10,
        hint="multiply the diagonal of the packed factor, then flip the sign once for every i with piv[i] != i",
    )


def _definiteness_cases() -> list[tuple[tuple, bool]]:
    """Symmetric matrices with the answer known by construction (not from a floating-point eigenvalue)."""
    rng = np.random.default_rng(12)
    factor = rng.normal(size=(5, 5))
    rotation, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    # two negative eigenvalues: det > 0 and a positive diagonal, yet indefinite
    two_negative = rotation @ np.diag([-1.3, -0.6, 2.2, 3.7]) @ rotation.T
    two_negative = (two_negative + two_negative.T) / 2
    # L L^T with L[2, 2] = 0: singular positive semi-definite, Cholesky meets the exact zero pivot 5 - 2^2 - 1^2;
    # floating-point eigenvalues put its zero eigenvalue at about +1.7e-16, not below zero
    zero_pivot_factor = np.array([[3.0, 0, 0, 0], [1, 2, 0, 0], [2, 1, 0, 0], [1, -1, 1, 1.5]])
    cases = [
        (factor @ factor.T + np.eye(5), True),  # SPD
        (np.array([[1.0, 2.0], [2.0, 1.0]]), False),  # positive diagonal and entries, eigenvalues 3 and -1
        (-np.eye(3), False),  # negative definite
        (np.array([[2.0, -1.0, 0.0], [-1.0, 2.0, -1.0], [0.0, -1.0, 2.0]]), True),  # SPD with negative entries
        (np.array([[4.0, 2.0], [2.0, 1.01]]), True),  # SPD, nearly singular
        (np.diag([3.0, 1.0, -0.5]), False),  # one negative eigenvalue
        (two_negative, False),  # an even number of negative eigenvalues
        (-np.eye(2), False),  # det = +1
        (zero_pivot_factor @ zero_pivot_factor.T, False),  # singular PSD, exact zero pivot
        (np.array([[4.0, 6.0], [6.0, 9.0]]), False),  # singular PSD (rank 1), eigenvalues exactly 0 and 13
    ]
    return [((matrix.copy(),), expected) for matrix, expected in cases]


def _same_bool(output, expected: bool) -> bool:
    return isinstance(output, (bool, np.bool_)) and bool(output) == expected


def ex2(is_positive_definite) -> bool:
    """Expects a function ``is_positive_definite(matrix) -> bool`` that attempts a Cholesky factorisation."""
    cases = _definiteness_cases()
    return check_function(
        "Exercise 2",
        is_positive_definite,
        cases,
        what=f"positive definiteness (a bool) of {len(cases)} symmetric matrices, singular and indefinite included",
        compare=_same_bool,
        hint="return False when np.linalg.cholesky raises np.linalg.LinAlgError, True otherwise; a positive "
        "diagonal, positive entries or det > 0 (two negative eigenvalues) do not make a matrix positive definite, "
        "and a singular matrix (a zero eigenvalue) is not positive definite either",
    )


def _standard_error_cases() -> list[tuple[tuple, np.ndarray]]:
    rng = np.random.default_rng(13)
    pasilla_design, _, _ = _pasilla_problem()
    problems = [
        (pasilla_design, rng.uniform(50.0, 5000.0, size=pasilla_design.shape[0])),
        (rng.normal(size=(12, 4)), rng.uniform(0.1, 3.0, size=12)),
    ]
    cases = []
    for design, weights in problems:
        covariance = np.linalg.inv(design.T @ np.diag(weights) @ design)
        cases.append(((design.copy(), weights.copy()), np.sqrt(np.diag(covariance))))
    return cases


def ex3(standard_errors) -> bool:
    """Expects a function ``standard_errors(design, weights) -> array (p,)``: sqrt(diag((X^T W X)^{-1}))."""
    return check_function(
        "Exercise 3",
        standard_errors,
        _standard_error_cases(),
        what="standard errors compared with sqrt(diag(inv(X^T W X)))",
        rtol=1e-8,
        atol=1e-12,
        hint="diag of (X^T W X)^{-1} is the column-wise sum of squares of L^{-1} (not 1/diag(X^T W X)); "
        "take the square root at the end",
    )


def _irls_cases() -> list[tuple[tuple, np.ndarray]]:
    rng = np.random.default_rng(14)
    pasilla_design, pasilla_size_factors, pasilla_counts = _pasilla_problem()
    synthetic_design = np.column_stack([np.ones(12), rng.normal(size=(12, 2))])
    synthetic_size_factors = rng.uniform(0.5, 2.0, size=12)
    synthetic_counts = rng.poisson(50.0 * synthetic_size_factors).astype(float)
    problems = [(pasilla_design, gene_counts, pasilla_size_factors, 0.05) for gene_counts in pasilla_counts] + [
        (synthetic_design, synthetic_counts, synthetic_size_factors, 0.1)
    ]
    cases = []
    for design, gene_counts, size_factors, dispersion in problems:
        beta = np.linalg.lstsq(design, np.log(gene_counts / size_factors + 1.0), rcond=None)[0]
        beta = beta + 0.1  # a point away from any fixed point, so that a step really moves
        linear_predictor = design @ beta
        mean = size_factors * np.exp(linear_predictor)
        root_weights = np.sqrt(mean / (1.0 + dispersion * mean))
        working_response = linear_predictor + (gene_counts - mean) / mean
        # weighted least squares by SVD: a different route to the same normal equations
        expected = np.linalg.lstsq(root_weights[:, None] * design, root_weights * working_response, rcond=None)[0]
        cases.append(((design.copy(), gene_counts.copy(), size_factors.copy(), beta.copy(), dispersion), expected))
    return cases


def ex4(irls_step) -> bool:
    """Expects ``irls_step(design, gene_counts, size_factors, beta, dispersion) -> array (p,)``, one NB IRLS step."""
    return check_function(
        "Exercise 4",
        irls_step,
        _irls_cases(),
        what="IRLS step compared with weighted least squares by SVD",
        rtol=1e-8,
        atol=1e-10,
        hint="w = mu / (1 + dispersion * mu) with mu = s * exp(X beta); z = X beta + (K - mu) / mu (no log s); "
        "solve (X^T W X) beta_new = X^T W z",
    )
