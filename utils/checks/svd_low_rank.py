"""Checks for the exercises of ``phase2-decompositions/module2.1-eigen-svd-pca/02_svd_low_rank.ipynb``.

Each check computes the right answer itself — with NumPy's SVD and least squares on matrices it builds, or on the
PBMC data it reloads from ``utils.data`` — and compares with a stated tolerance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from utils.checks.core import check_array, check_function, whole_number
from utils.data import load_pbmc, normalize_log1p


def _matrices() -> list[np.ndarray]:
    rng = np.random.default_rng(21)
    wide = rng.standard_normal((4, 7))
    tall = rng.standard_normal((8, 5))
    low_rank = rng.standard_normal((9, 2)) @ rng.standard_normal((2, 6))  # rank 2
    return [wide, tall, low_rank]


def ex1(low_rank_approximation: Any) -> bool:
    """Expects a function ``low_rank_approximation(matrix, rank)`` returning the truncated SVD U_k Σ_k V_k^T."""
    cases = []
    for matrix in _matrices():
        left, values, right_t = np.linalg.svd(matrix, full_matrices=False)
        for rank in (1, 2):
            cases.append(((matrix, rank), (left[:, :rank] * values[:rank]) @ right_t[:rank]))
    return check_function(
        "Exercise 1",
        low_rank_approximation,
        cases,
        what="rank-k truncated SVD",
        rtol=1e-9,
        atol=1e-10,
        hint="keep the first k columns of U, the first k singular values and the first k *rows* of Vt",
    )


def _ninety_percent_rank() -> int:
    """Smallest k with sum_{i<=k} σ_i² >= 0.9 sum σ_i² for the PBMC cells x genes matrix (normalize_log1p)."""
    pbmc = load_pbmc()
    expression = np.asarray(normalize_log1p(pbmc.counts, pbmc.samples["n_counts"]), dtype=float).T
    energy = np.linalg.svd(expression, compute_uv=False) ** 2
    return int(np.searchsorted(np.cumsum(energy) / energy.sum(), 0.9)) + 1


def ex2(answer: Any) -> bool:
    """Expects an int: the smallest k with sum_{i<=k} σ_i² >= 0.9 sum σ_i² for the PBMC cells x genes matrix
    (``normalize_log1p``, uncentred), as the notebook builds it."""
    return check_array(
        "Exercise 2",
        answer,
        _ninety_percent_rank,
        what="rank capturing 90% of ||X||_F^2",
        hint="the Frobenius norm adds *squared* singular values: take cumsum(σ**2) / sum(σ**2) and count ranks from 1",
        compare=whole_number("singular values (a rank)"),
    )


def ex3(min_norm_solution: Any) -> bool:
    """Expects a function ``min_norm_solution(design, response)`` returning the minimum-norm least-squares solution."""
    rng = np.random.default_rng(22)
    cases = []
    for design in _matrices():
        response = rng.standard_normal(design.shape[0])
        cases.append(((design, response), np.linalg.lstsq(design, response, rcond=None)[0]))
    duplicated = rng.standard_normal((10, 3))
    duplicated = np.column_stack([duplicated, duplicated[:, 0]])  # a repeated column: rank 3 of 4
    response = rng.standard_normal(10)
    cases.append(((duplicated, response), np.linalg.lstsq(duplicated, response, rcond=None)[0]))
    return check_function(
        "Exercise 3",
        min_norm_solution,
        cases,
        what="minimum-norm least-squares solution",
        rtol=1e-8,
        atol=1e-10,
        hint="x = V_r diag(1/σ_r) U_r^T b, keeping only the singular values above max(m, n) * eps * σ_1",
    )


def _qc_condition_number() -> float:
    """κ2 of [1, z(log10 n_counts), z(log10 n_genes), z(percent_mito)] for the PBMC cells."""
    qc = load_pbmc().samples
    covariates = np.column_stack([np.log10(qc["n_counts"]), np.log10(qc["n_genes"]), qc["percent_mito"]])
    standardised = (covariates - covariates.mean(axis=0)) / covariates.std(axis=0, ddof=1)
    return float(np.linalg.cond(np.column_stack([np.ones(len(qc)), standardised])))


def ex4(answer: Any) -> bool:
    """Expects a float: κ2 of [1, z(log10 n_counts), z(log10 n_genes), z(percent_mito)] for the PBMC cells."""
    # ddof 0 or 1 scales the three centred columns alike, and they are orthogonal to the intercept, so κ moves only
    # by rounding (~1e-15). Plausible wrong designs are close: without percent_mito κ is 0.7 % lower, with
    # log10(percent_mito) 0.16 %. rtol 1e-5 rejects them and still accepts a float32 computation (~1e-7).
    return check_array(
        "Exercise 4",
        answer,
        _qc_condition_number,
        what="condition number κ2",
        rtol=1e-5,
        atol=0,
        hint="κ2 = σ_max / σ_min of the design itself (not of X^T X), with all four columns: the intercept and the "
        "three standardised covariates, percent_mito on its own scale (not logged)",
    )
