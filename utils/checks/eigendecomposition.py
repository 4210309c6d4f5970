"""Checks for the exercises of ``phase2-decompositions/module2.1-eigen-svd-pca/01_eigendecomposition.ipynb``.

Each check computes the right answer itself — from NumPy/LAPACK eigendecompositions of matrices it builds, or of the
PBMC gene-gene correlation matrix it recomputes from ``utils.data`` — and compares with a stated tolerance.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from utils.checks.core import check_array, check_function, whole_number
from utils.data import load_pbmc, normalize_log1p

N_GENES = 50


def _symmetric_with_spectrum(spectrum: list[float], seed: int) -> np.ndarray:
    basis, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((len(spectrum), len(spectrum))))
    matrix = (basis * np.asarray(spectrum, dtype=float)) @ basis.T
    return (matrix + matrix.T) / 2


def _pbmc_gene_correlation(n_genes: int = N_GENES) -> np.ndarray:
    """Correlation matrix of the ``n_genes`` most variable genes (``normalize_log1p`` across PBMCs, decreasing
    variance), as the notebook builds it."""
    pbmc = load_pbmc()
    expression = np.asarray(normalize_log1p(pbmc.counts, pbmc.samples["n_counts"]), dtype=float).T
    top_genes = np.argsort(expression.var(axis=0, ddof=1))[::-1][:n_genes]
    return np.corrcoef(expression[:, top_genes], rowvar=False)


def ex1(rayleigh_quotient: Any) -> bool:
    """Expects a function ``rayleigh_quotient(matrix, vector)`` returning x^T A x / x^T x as a float."""
    rng = np.random.default_rng(11)
    general = rng.standard_normal((5, 5))
    symmetric = general + general.T
    eigen_matrix = _symmetric_with_spectrum([4.0, 1.5, -2.0], seed=3)
    _, eigen_vectors = np.linalg.eigh(eigen_matrix)
    cases = []
    for matrix, vector in [
        (symmetric, 3.0 * rng.standard_normal(5)),
        (eigen_matrix, 5.0 * eigen_vectors[:, 0]),  # a scaled eigenvector: r(x) is its eigenvalue
        (np.diag([2.5, -1.3]), np.array([0.7, 1.9])),  # an indefinite matrix: r(x) can be negative
    ]:
        cases.append(((matrix, vector), vector @ matrix @ vector / (vector @ vector)))
    return check_function(
        "Exercise 1",
        rayleigh_quotient,
        cases,
        what="Rayleigh quotient",
        rtol=1e-10,
        atol=1e-12,
        hint="divide x^T A x by x^T x: the vector is not normalised",
    )


def ex2(eigenvalue_near: Any) -> bool:
    """Expects a function ``eigenvalue_near(matrix, shift)`` returning the eigenvalue closest to ``shift``."""
    cases = []
    for spectrum, shift, seed in [
        ([5.0, 2.0, 1.0, -1.0, -3.0], 0.8, 1),
        ([5.0, 2.0, 1.0, -1.0, -3.0], -2.2, 1),
        ([9.0, 7.5, 6.0, 4.0, 3.2, 0.7], 6.4, 2),
        ([9.0, 7.5, 6.0, 4.0, 3.2, 0.7], 12.0, 2),  # a shift above the spectrum finds the largest eigenvalue
    ]:
        values = np.asarray(spectrum)
        cases.append(((_symmetric_with_spectrum(spectrum, seed), shift), values[np.argmin(np.abs(values - shift))]))
    return check_function(
        "Exercise 2",
        eigenvalue_near,
        cases,
        what="eigenvalue closest to the shift",
        rtol=1e-8,
        atol=1e-8,
        hint="iterate x <- (A - σI)^{-1} x / ||...|| with lu_solve, then return the Rayleigh quotient x^T A x of the "
        "unit vector, not 1/(λ - σ)",
    )


@lru_cache(maxsize=1)
def _leading_eigenvectors() -> tuple[np.ndarray, np.ndarray]:
    """The first and second eigenvectors (by eigenvalue, decreasing) of the 50-gene PBMC correlation matrix."""
    _, vectors = np.linalg.eigh(_pbmc_gene_correlation())
    return vectors[:, -1], vectors[:, -2]


def _second_eigenvector_up_to_sign(given: np.ndarray, second: np.ndarray) -> bool | str:
    """True for a unit vector along ``second`` (either sign); otherwise what is off."""
    norm = float(np.linalg.norm(given))
    if abs(norm - 1.0) > 1e-6:
        return f"the vector has norm {norm:.6g}, expected a unit vector: divide by its norm"
    if abs(given @ _leading_eigenvectors()[0]) > 0.5:
        return "this is (close to) the leading eigenvector, not the second"
    overlap = abs(float(given @ second))
    if overlap < 1 - 1e-6:
        return f"|cos(angle)| with the second eigenvector from eigh is {overlap:.6f}, expected ~1"
    return True


def ex3(answer: Any) -> bool:
    """Expects the second eigenvector (unit norm, either sign) of the 50-gene PBMC correlation matrix, shape (50,)."""
    return check_array(
        "Exercise 3",
        answer,
        lambda: _leading_eigenvectors()[1],
        what="second eigenvector (unit norm, either sign; |cos(angle)| with eigh's ≥ 1 − 1e-6)",
        hint="power-iterate on R - λ1 q1 q1^T (deflation), and return a unit vector",
        compare=_second_eigenvector_up_to_sign,
    )


def _iteration_count() -> int:
    """Smallest k with (λ2/λ1)^(2k) <= 1e-12 for the 50-gene PBMC correlation matrix."""
    values = np.linalg.eigvalsh(_pbmc_gene_correlation())
    return int(np.ceil(np.log(1e-12) / (2 * np.log(values[-2] / values[-1]))))


def ex4(answer: Any) -> bool:
    """Expects an int: the smallest k with (λ2/λ1)^(2k) <= 1e-12 for the 50-gene PBMC correlation matrix."""
    return check_array(
        "Exercise 4",
        answer,
        _iteration_count,
        what="number of iterations",
        hint="the Rayleigh quotient converges at the *square* of |λ2/λ1|: solve (λ2/λ1)^(2k) <= 1e-12 for integer k",
        compare=whole_number("iterations"),
    )
