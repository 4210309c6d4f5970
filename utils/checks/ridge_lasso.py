"""Exercise checks for ``03_ridge_lasso.ipynb``: ridge degrees of freedom, GCV, elastic-net coordinate descent,
and the first gene to enter a LASSO path on the PBMC data.

Each check computes the right answer itself (explicit hat matrices, scikit-learn's ``ElasticNet``, correlations
on the real data) and compares the learner's answer with it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from utils.checks.core import check_function, failed, not_attempted, passed


def _designs() -> list[tuple[np.ndarray, float]]:
    """Tall, wide (p > n) and rank-deficient designs, centred, with a penalty each."""
    rng = np.random.default_rng(11)
    tall = rng.standard_normal((25, 6))
    wide = rng.standard_normal((8, 15))
    deficient = rng.standard_normal((20, 4)) @ rng.standard_normal((4, 7))  # rank 4 with 7 columns
    return [(matrix - matrix.mean(axis=0), lam) for matrix, lam in ((tall, 3.0), (wide, 0.5), (deficient, 10.0))]


def _ridge_hat(design: np.ndarray, lam: float) -> np.ndarray:
    """H = X (X^T X + lam I)^{-1} X^T, formed explicitly (the check's independent route)."""
    return design @ np.linalg.solve(design.T @ design + lam * np.eye(design.shape[1]), design.T)


def ex1(ridge_degrees_of_freedom: Any) -> bool:
    """Expects a function ``(design, lam) -> float``: the ridge effective degrees of freedom tr H_lambda."""
    cases = [((design, lam), np.trace(_ridge_hat(design, lam))) for design, lam in _designs()]
    return check_function(
        "Exercise 1",
        ridge_degrees_of_freedom,
        cases,
        what="tr H_λ on a tall, a wide and a rank-deficient design",
        rtol=1e-8,
        atol=1e-10,
        hint="df(λ) = Σ σ_i² / (σ_i² + λ) over the singular values of the design (np.linalg.svd(..., "
        "compute_uv=False)); note the squares",
    )


def ex2(ridge_gcv: Any) -> bool:
    """Expects a function ``(design, response, lambdas) -> array of shape (len(lambdas),)``: the GCV score per λ."""
    rng = np.random.default_rng(12)
    cases = []
    for design, _ in _designs():
        response = design @ rng.standard_normal(design.shape[1]) + rng.standard_normal(design.shape[0])
        response -= response.mean()
        lambdas = np.array([0.1, 1.0, 10.0, 100.0])
        scores = []
        n_samples = design.shape[0]
        for lam in lambdas:
            hat = _ridge_hat(design, lam)
            residual = response - hat @ response
            scores.append((residual @ residual / n_samples) / (1 - np.trace(hat) / n_samples) ** 2)
        cases.append(((design, response, lambdas), np.array(scores)))
    return check_function(
        "Exercise 2",
        ridge_gcv,
        cases,
        what="GCV(λ) on three designs, four penalties each",
        rtol=1e-7,
        atol=1e-10,
        hint="GCV(λ) = mean((y - ŷ_λ)²) / (1 - df(λ)/n)²: the mean squared residual, not the sum, over the "
        "square of (1 - df/n)",
    )


def ex3(elastic_net_coordinate_descent: Any) -> bool:
    """Expects a function ``(design, response, lam, l1_ratio) -> coefficients of shape (p,)`` (scikit-learn scaling)."""
    from sklearn.linear_model import ElasticNet

    rng = np.random.default_rng(13)
    correlated = rng.standard_normal((40, 3)) @ rng.standard_normal((3, 8)) + 0.3 * rng.standard_normal((40, 8))
    duplicated = rng.standard_normal((30, 4))
    duplicated = np.column_stack([duplicated, duplicated[:, 0]])  # two identical columns: the grouping effect
    problems = [(correlated, 0.2, 0.5), (duplicated, 0.1, 0.3), (correlated, 0.05, 0.9)]
    cases = []
    for design, lam, l1_ratio in problems:
        design = design - design.mean(axis=0)
        response = design[:, :3] @ np.array([1.0, -2.0, 0.5]) + 0.5 * rng.standard_normal(design.shape[0])
        response -= response.mean()
        model = ElasticNet(alpha=lam, l1_ratio=l1_ratio, fit_intercept=False, tol=1e-14, max_iter=1_000_000)
        cases.append(((design, response, lam, l1_ratio), model.fit(design, response).coef_))
    return check_function(
        "Exercise 3",
        elastic_net_coordinate_descent,
        cases,
        what="elastic-net coefficients against sklearn.linear_model.ElasticNet",
        rtol=1e-5,
        atol=1e-6,
        hint="update β_j = S(x_jᵀr_(j)/n, λ·l1_ratio) / (x_jᵀx_j/n + λ·(1 - l1_ratio)), and iterate until no "
        "coefficient moves by more than about 1e-10",
    )


# the target of exercise 4: on standardised genes its calprotectin partner S100A9 enters first; without
# standardising, LYZ (the gene with the largest spread) would
TARGET = "S100A8"


@lru_cache(maxsize=4)
def _pbmc_first_entering_gene(target: str) -> tuple[str, tuple[str, ...]]:
    """The gene with the largest |x_j^T y|/n after standardising (ddof=0) the predictors and centring the target.

    Expression is the notebook's: ``utils.data.normalize_log1p`` with each cell's total count over all genes.
    """
    from utils.data import load_pbmc, normalize_log1p

    pbmc = load_pbmc()
    normalised = normalize_log1p(pbmc.counts, pbmc.samples["n_counts"])  # genes x cells
    predictors = normalised.drop(index=target)
    log_expression = predictors.to_numpy().T  # cells x genes
    response = normalised.loc[target].to_numpy()
    spread = log_expression.std(axis=0)
    spread[spread == 0] = 1.0
    standardised = (log_expression - log_expression.mean(axis=0)) / spread
    scores = np.abs(standardised.T @ (response - response.mean())) / response.size
    names = tuple(str(name) for name in predictors.index)
    return names[int(np.argmax(scores))], names


def ex4(answer: Any) -> bool:
    """Expects a gene name (str): the first gene to enter the LASSO path predicting S100A8 from the other PBMC genes."""
    exercise = "Exercise 4"
    hint = (
        "at β = 0 the KKT conditions hold while λ ≥ |x_jᵀy|/n for every j: the first gene to enter has the "
        "largest |x_jᵀy|/n, computed on standardised genes (otherwise the gene with the largest spread wins)"
    )
    if answer is None:
        return not_attempted(exercise)
    if not isinstance(answer, str):
        return failed(exercise, f"expected a gene name (str), got {type(answer).__name__}", hint)
    expected, names = _pbmc_first_entering_gene(TARGET)
    lookup = {name.upper(): name for name in names}
    gene = lookup.get(answer.strip().upper())
    if gene is None:
        return failed(exercise, f"{answer!r} is not one of the {len(names)} predictor genes", hint)
    if gene != expected:
        return failed(exercise, f"{gene} is not the first gene to enter the {TARGET} LASSO path", hint)
    return passed(exercise, f"the first gene to enter the {TARGET} LASSO path is {gene}")
