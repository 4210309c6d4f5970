"""Checks for the exercises of ``phase2-decompositions/module2.1-eigen-svd-pca/01_eigendecomposition.ipynb``.

Each check computes the right answer itself — from NumPy/LAPACK eigendecompositions of matrices it builds, or of the
PBMC gene-gene correlation matrix it recomputes from ``utils.data`` — and compares with a stated tolerance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from utils.checks.core import check_array, check_function, failed, not_attempted, passed, to_array
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


def ex3(answer: Any) -> bool:
    """Expects the second eigenvector (unit norm, either sign) of the 50-gene PBMC correlation matrix, shape (50,)."""
    name = "Exercise 3"
    hint = "power-iterate on R - λ1 q1 q1^T (deflation), and return a unit vector"
    if answer is None:
        return not_attempted(name)
    try:
        given = to_array(answer)
    except TypeError as err:
        return failed(name, f"could not read the answer as numbers: {err}", hint)
    _, vectors = np.linalg.eigh(_pbmc_gene_correlation())
    first, second = vectors[:, -1], vectors[:, -2]
    if given.shape != second.shape:
        return failed(name, f"expected shape {second.shape}, got {given.shape}", hint)
    if not np.all(np.isfinite(given)):
        return failed(name, "the answer contains NaN or infinite values", hint)
    norm = float(np.linalg.norm(given))
    if abs(norm - 1.0) > 1e-6:
        return failed(name, f"the vector has norm {norm:.4g}, expected a unit vector", "divide by its norm")
    if abs(given @ first) > 0.5:
        return failed(name, "this is (close to) the leading eigenvector, not the second", hint)
    overlap = abs(float(given @ second))
    if overlap < 1 - 1e-6:
        return failed(name, f"|cos(angle)| with the second eigenvector from eigh is {overlap:.6f}, expected ~1", hint)
    return passed(name, f"second eigenvector matches eigh up to sign (|cos(angle)| = {overlap:.10f})")


def ex4(answer: Any) -> bool:
    """Expects an int: the smallest k with (λ2/λ1)^(2k) <= 1e-12 for the 50-gene PBMC correlation matrix."""
    name = "Exercise 4"
    hint = "the Rayleigh quotient converges at the *square* of |λ2/λ1|: solve (λ2/λ1)^(2k) <= 1e-12 for integer k"
    if answer is None:
        return not_attempted(name)
    if isinstance(answer, float | np.floating) and not float(answer).is_integer():
        return failed(name, f"expected a whole number of iterations, got {answer!r}", hint)
    values = np.linalg.eigvalsh(_pbmc_gene_correlation())
    ratio = values[-2] / values[-1]
    expected = int(np.ceil(np.log(1e-12) / (2 * np.log(ratio))))
    return check_array(name, answer, expected, what="number of iterations", rtol=0, atol=0, hint=hint)
