"""Exercise checks for ``03_pca_genomics.ipynb`` (Module 2.1, Eigendecomposition, SVD and PCA).

Every expected value is computed here: reference scores from the eigenvectors of the sample covariance
(``numpy.linalg.eigh``), the airway and pbmc matrices rebuilt from ``utils.data`` exactly as the notebook
builds them, component variances from ``utils.decompositions.pca``. Principal components are defined only up
to sign, so scores are compared column by column after matching each column's sign to the reference.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from utils.checks.core import check_array, check_function, to_array
from utils.data import load_airway, load_pbmc, log_cpm, normalize_log1p
from utils.decompositions import pca

AIRWAY_TOP_GENES = 500
EX2_RANK = 2
EX3_COMPONENTS = 5
EX4_REFERENCE_CELLS = 600
EX4_COMPONENTS = 10


def _read_only(values: np.ndarray) -> np.ndarray:
    """Cached arrays are shared between calls: make them immutable."""
    values = np.array(values, dtype=float)
    values.flags.writeable = False
    return values


@lru_cache(maxsize=1)
def airway_top_matrix() -> np.ndarray:
    """Samples x genes log2(CPM + 1) of airway's 500 most variable genes, as in the notebook (8 x 500)."""
    airway_log = log_cpm(load_airway().counts)
    top_genes = airway_log.var(axis=1).nlargest(AIRWAY_TOP_GENES).index
    return _read_only(airway_log.loc[top_genes].T.to_numpy())


@lru_cache(maxsize=1)
def pbmc_log_matrix() -> np.ndarray:
    """Cells x genes ``normalize_log1p`` of pbmc (library sizes over all genes), as in the notebook (700 x 765)."""
    pbmc = load_pbmc()
    return _read_only(np.asarray(normalize_log1p(pbmc.counts, pbmc.samples["n_counts"]), dtype=float).T)


@lru_cache(maxsize=1)
def _ex2_expected() -> float:
    return 1.0 - float(np.sum(pca(airway_top_matrix(), EX2_RANK).explained_variance_ratio))


@lru_cache(maxsize=1)
def _ex3_expected() -> np.ndarray:
    return _read_only(pca(pbmc_log_matrix(), EX3_COMPONENTS, scale=True).explained_variance)


@lru_cache(maxsize=1)
def _ex4_expected() -> np.ndarray:
    data = pbmc_log_matrix()
    fit = pca(data[:EX4_REFERENCE_CELLS], EX4_COMPONENTS)
    return _read_only((data[EX4_REFERENCE_CELLS:] - fit.mean) @ fit.loadings)


def _reference_scores(data: np.ndarray, n_components: int) -> np.ndarray:
    """Scores X_c V_k with V_k the top eigenvectors of the sample covariance (the eigen route)."""
    centred = data - data.mean(axis=0)
    _, eigenvectors = np.linalg.eigh(centred.T @ centred / (data.shape[0] - 1))
    return centred @ eigenvectors[:, ::-1][:, :n_components]


def _match_column_signs(given: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Flip each column of ``given`` whose inner product with the same column of ``expected`` is negative."""
    signs = np.where(np.sum(given * expected, axis=0) < 0, -1.0, 1.0)
    return given * signs


def _columns_match_up_to_sign(output: Any, expected: np.ndarray, rtol: float = 1e-6, atol: float = 1e-8) -> bool:
    """True when ``output`` has ``expected``'s shape and equals it after a sign flip of some columns."""
    try:
        given = to_array(output)
    except TypeError:
        return False
    if given.shape != expected.shape or not np.all(np.isfinite(given)):
        return False
    return bool(np.allclose(_match_column_signs(given, expected), expected, rtol=rtol, atol=atol))


def _ex1_cases() -> list[tuple[tuple, np.ndarray]]:
    rng = np.random.default_rng(3)
    cases = []
    # a non-zero mean in every column, so that forgetting to centre gives different scores
    for n_rows, n_columns, k in ((7, 4, 2), (12, 30, 3), (40, 6, 6)):
        data = rng.normal(size=(n_rows, n_columns)) * rng.uniform(0.5, 3.0, size=n_columns) + 5.0
        cases.append(((data, k), _reference_scores(data, k)))
    return cases


def ex1(pca_scores: Any) -> bool:
    """Expects a function pca_scores(data, n_components) -> scores of shape (n_observations, n_components)."""
    return check_function(
        "Exercise 1",
        pca_scores,
        _ex1_cases(),
        what="PCA scores (each column up to sign) of random 7x4, 12x30 and 40x6 matrices",
        compare=_columns_match_up_to_sign,
        hint="centre each column first (data - data.mean(axis=0)), then return U[:, :k] * S[:k] = X_c V_k, "
        "an (n_observations, n_components) array: not U alone, not the loadings",
    )


def ex2(answer: Any) -> bool:
    """Expects the relative squared Frobenius residual of airway's rank-2 PCA reconstruction, a float."""
    return check_array(
        "Exercise 2",
        answer,
        _ex2_expected,  # a function: computed only once there is an answer, so "not attempted" costs nothing
        what="‖X_c − X_2‖²_F / ‖X_c‖²_F for airway's 500 most variable genes",
        rtol=1e-6,
        atol=1e-10,
        hint="centre airway_top's columns, keep U[:, :2] Σ[:2] Vᵀ[:2], and divide the squared Frobenius norm of "
        "the residual by that of the centred matrix (squared norms, both centred)",
    )


def ex3(answer: Any) -> bool:
    """Expects the 5 largest eigenvalues of pbmc's gene-gene correlation matrix, decreasing, shape (5,)."""
    return check_array(
        "Exercise 3",
        answer,
        _ex3_expected,
        what="top 5 eigenvalues of the 765 x 765 correlation matrix of pbmc_log",
        rtol=1e-8,
        atol=1e-10,
        hint="np.corrcoef(pbmc_log, rowvar=False) is genes x genes; np.linalg.eigvalsh sorts *ascending*, "
        "so reverse before taking the first 5. StandardScaler followed by sklearn's PCA gives n/(n-1) = 700/699 times "
        "these eigenvalues (StandardScaler divides by the ddof=0 standard deviation, PCA's variances use n - 1)",
    )


def _ex4_compare(given: np.ndarray, expected: np.ndarray) -> bool | str:
    """``compare`` for Exercise 4: equal to ``expected`` after matching each column's sign (rtol 1e-6, atol 1e-8)."""
    matched = _match_column_signs(given, expected)
    if np.allclose(matched, expected, rtol=1e-6, atol=1e-8):
        return True
    worst = float(np.max(np.abs(matched - expected)))
    return f"projected scores are off (largest absolute difference {worst:.3g}, up to sign)"


def ex4(answer: Any) -> bool:
    """Expects the scores of pbmc cells 600-699 on the first 10 PCs of cells 0-599, shape (100, 10)."""
    return check_array(
        "Exercise 4",
        answer,
        _ex4_expected,
        what="projection of the 100 query cells onto the reference PCs (each column up to sign)",
        hint="fit pca(pbmc_log[:600], 10); then subtract the *reference* mean (fit.mean), not the query's own mean, "
        "and multiply by fit.loadings",
        compare=_ex4_compare,
    )
