"""Checks for the exercises of ``04_genomics_linear_models.ipynb`` (gene-wise linear models on airway).

Each check computes the right answer itself: from random inputs and SciPy (``ex1``, ``ex3``), or from the
airway data with the notebook's filter (CPM >= 1 in at least 4 samples), NumPy least squares and SciPy's
Benjamini-Hochberg (``ex2``, ``ex4``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from scipy import linalg, stats

from utils.checks.core import check_array, check_function
from utils.data import cpm, load_airway, log_cpm

# the notebook's filter: a gene is kept when it has at least 1 CPM in at least MIN_SAMPLES samples
MIN_CPM = 1.0
MIN_SAMPLES = 4


@lru_cache(maxsize=1)
def _airway() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log-CPM of the expressed airway genes (genes x 8), the cell labels and the treated mask."""
    counts, samples = load_airway()
    expressed = (cpm(counts) >= MIN_CPM).sum(axis=1) >= MIN_SAMPLES
    log_expression = log_cpm(counts)[expressed].to_numpy()
    return log_expression, samples["cell"].astype(str).to_numpy(), (samples["dex"] == "trt").to_numpy()


def _ols_t(design: np.ndarray, responses: np.ndarray, vector: np.ndarray) -> tuple[np.ndarray, int]:
    """t-statistics of c'beta for every row of responses (genes x samples), via lstsq and (X'X)^-1."""
    coefficients, _, _, _ = np.linalg.lstsq(design, responses.T, rcond=None)
    residuals = responses.T - design @ coefficients
    df = design.shape[0] - design.shape[1]
    variances = (residuals**2).sum(axis=0) / df
    scale = vector @ np.linalg.inv(design.T @ design) @ vector
    return (vector @ coefficients) / np.sqrt(variances * scale), df


def _cell_dex_design(cells: np.ndarray, treated: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """~ cell + dex in treatment coding, reference = alphabetically first cell line."""
    levels = sorted(set(cells))
    columns = [np.ones(cells.size)] + [(cells == level).astype(float) for level in levels[1:]]
    return np.column_stack([*columns, treated.astype(float)]), levels


def ex1(answer: Any) -> bool:
    """Expects a function paired_t_statistic(treated, untreated) of two (genes, pairs) arrays -> (genes,) t."""
    rng = np.random.default_rng(4)
    cases = []
    for n_genes, n_pairs in [(6, 4), (3, 7), (1, 3)]:
        untreated = rng.normal(5.0, 2.0, size=(n_genes, n_pairs))
        treated = untreated + rng.normal(0.5, 1.0, size=(n_genes, n_pairs))
        cases.append(((treated, untreated), stats.ttest_rel(treated, untreated, axis=1).statistic))
    return check_function(
        "Exercise 1",
        answer,
        cases,
        what="paired t-statistics (compared with scipy.stats.ttest_rel)",
        rtol=1e-8,
        hint="t = mean(d) / (sd(d) / sqrt(m)) with d = treated - untreated, sd with ddof=1, one value per gene (row)",
    )


def ex2(answer: Any) -> bool:
    """Expects a (genes,) array: t of 'N61311 minus the mean of the other three cell lines' under ~ cell + dex."""
    log_expression, cells, treated = _airway()
    design, levels = _cell_dex_design(cells, treated)
    # cell means relative to the reference: 0 for the reference, beta_k for the others
    vector = np.zeros(design.shape[1])
    others = [level for level in levels if level != "N61311"]
    for level in others:
        if level != levels[0]:
            vector[levels.index(level)] -= 1.0 / len(others)
    vector[levels.index("N61311")] += 1.0
    expected, _ = _ols_t(design, log_expression, vector)
    return check_array(
        "Exercise 2",
        answer,
        expected,
        what="contrast t-statistics for N61311 vs the mean of the other cell lines",
        rtol=1e-6,
        atol=1e-8,
        hint="the reference cell line N052611 has no coefficient (its effect is 0) but still counts in the mean: "
        "c = (0, -1/3, -1/3, 1, 0)",
    )


def _two_null_directions_design() -> np.ndarray:
    """The confounded 8-culture design with every cell line's indicator and an intercept: a 2-D null space.

    Columns: Intercept, N052611, N061011, N080611, N61311, dex. The four indicators add up to the intercept,
    v1 = (1, -1, -1, -1, -1, 0), and dex is the sum of the last two lines' indicators, v2 = (0, 0, 0, 1, 1, -1).
    """
    indicators = np.repeat(np.eye(4), 2, axis=0)
    return np.column_stack([np.ones(8), indicators, indicators[:, 2] + indicators[:, 3]])


def _orthogonal_to_one_null_vector(design: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Non-estimable contrasts that a test against one null direction calls estimable.

    Two kinds, for a design with a 2-D null space: ``r + 2 n`` (r in the row space, n one basis vector) is orthogonal
    to the other basis vector, so a test against a single null vector (``null_space(X)[:, 0]``, ``[:, -1]``, the
    last row of ``svd(X)[2]``) passes it; ``r + n1 - n2`` is orthogonal to ``n1 + n2``, so a test against the
    summed direction (``null_space(X).sum(axis=1) @ c``, or ``(null_space(X).T @ c).sum()``) passes it. They are
    built from the null bases that those library calls return on this machine, so the learner's call returns the
    same vectors.
    """
    rank = np.linalg.matrix_rank(design)
    bases = [
        linalg.null_space(design).T,
        np.linalg.svd(design)[2][rank:],
        np.linalg.svd(design, full_matrices=False)[2][rank:],
    ]
    row_space_vector = design.T @ rng.uniform(0.3, 1.7, size=design.shape[0])
    vectors = []
    for basis in bases:
        for other in basis[[0, -1]][::-1]:  # orthogonal to basis[-1] and to basis[0], respectively
            vectors.append(row_space_vector + 2.0 * other)
        # the projections onto basis[0] and basis[1] cancel in their sum: +1 and -1
        vectors.append(row_space_vector + basis[0] - basis[1])
    return vectors


def ex3(answer: Any) -> bool:
    """Expects a function is_estimable(design, vector) -> bool: is c'beta estimable (c in the row space of X)?"""
    confounded = np.column_stack(
        [np.ones(8), np.repeat([0, 1, 0, 0], 2), np.repeat([0, 0, 1, 0], 2), np.repeat([0, 0, 0, 1], 2)]
    )
    confounded = np.column_stack([confounded, np.repeat([0, 0, 1, 1], 2)])
    rng = np.random.default_rng(3)
    full_rank = rng.normal(size=(6, 3))
    twice_deficient = np.column_stack([full_rank, full_rank[:, 0] + full_rank[:, 1], 2 * full_rank[:, 2]])
    two_null = _two_null_directions_design()
    candidates = [
        (confounded, np.array([0.0, 0, 0, 0, 1])),
        (confounded, np.array([0.0, 0, -1, 1, 0])),
        (confounded, np.array([0.0, 0, 1, 0, 1])),
        (confounded, np.array([1.0, 0, 0, 0, 0])),
        (confounded, np.array([0.0, 0, 1, 0, 0])),
        (full_rank, rng.normal(size=3)),
        (twice_deficient, np.array([1.0, 1, 0, -1, 0])),
        (twice_deficient, np.array([1.0, 0, 0, 1, 0])),
        (twice_deficient, np.array([0.0, 0, 1, 0, 0])),
        (twice_deficient, np.array([0.0, 0, 1, 0, 2])),
        # two null directions: dex is orthogonal to v1 only, the intercept to v2 only; neither is estimable
        (two_null, np.array([0.0, 0, 0, 0, 0, 1])),
        (two_null, np.array([1.0, 0, 0, 0, 0, 0])),
        (two_null, np.array([0.0, 0, 0, -1, 1, 0])),  # N61311 - N080611: orthogonal to both, estimable
        (two_null, np.array([1.0, 1, 0, 0, 0, 0])),  # the mean of N052611: estimable
        (two_null, np.array([0.0, 1, 0, 0, 0, 1])),
    ]
    for design in (two_null, twice_deficient):
        candidates += [(design, vector) for vector in _orthogonal_to_one_null_vector(design, rng)]
    cases = []
    for design, vector in candidates:
        rank = np.linalg.matrix_rank(design)
        cases.append(((design.copy(), vector.copy()), bool(np.linalg.matrix_rank(np.vstack([design, vector])) == rank)))
    return check_function(
        "Exercise 3",
        answer,
        cases,
        what="estimability (c in the row space of X), designs with one and with two null directions",
        compare=lambda output, expected: isinstance(output, bool | np.bool_) and bool(output) == expected,
        hint="c'beta is estimable when appending c as a row does not raise the rank of X, equivalently when c is "
        "orthogonal to EVERY null vector of X (a null space can have several directions: test them all, e.g. "
        "null_space(X).T @ c = 0); return a bool",
    )


def ex4(answer: Any) -> bool:
    """Expects an int: genes with Benjamini-Hochberg adjusted p < 0.05 for dex under ~ dex (cell line ignored)."""
    log_expression, _, treated = _airway()
    design = np.column_stack([np.ones(treated.size), treated.astype(float)])
    t_statistics, df = _ols_t(design, log_expression, np.array([0.0, 1.0]))
    adjusted = stats.false_discovery_control(2 * stats.t.sf(np.abs(t_statistics), df), method="bh")
    expected = int(np.sum(adjusted < 0.05))
    return check_array(
        "Exercise 4",
        answer,
        expected,
        what="number of genes at 5% FDR under ~ dex",
        rtol=0,
        atol=0,
        hint="fit ~ dex alone (design: intercept and dex[T.trt]), take the dex p-values, adjust them with "
        "scipy.stats.false_discovery_control and count those below 0.05",
    )
