"""Exercise checks for ``02_empirical_bayes.ipynb`` (Module 3.2, Estimation and generative models).

Expected values are computed here, independently of the learner's route: the posterior variance and the moderated
t-test from Smyth's (2004) closed forms with ``scipy.stats.t``; the dispersion trend from statsmodels' gamma GLM
with an identity link; the MAP dispersion by a dense grid over :math:`\\log\\alpha` refined by
``scipy.optimize.minimize_scalar`` on the Cox–Reid adjusted likelihood of ``utils.dispersion``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import statsmodels.api as sm
from scipy import stats
from scipy.optimize import minimize_scalar

from utils.checks.core import check_array, check_function, failed, not_attempted
from utils.dispersion import adjusted_log_likelihood

# Exercise 1: (s², d, d0, s0²) cases, each d0 and s0² distinct from the others, no value 0, ±1 or 2
EX1_CASES = (
    (np.array([0.0031, 0.047, 0.26, 1.38]), 3, 4.37, 0.051),
    (np.array([0.7, 2.9, 0.011]), 7, 2.2, 1.9),
    (np.array([0.083, 0.0009, 0.35, 0.19, 5.6]), 5, 11.5, 0.23),
)
# Exercise 2: one gene's estimate, residual variance, unscaled variance c'(X'X)^-1 c, d, and the prior
EX2_GENE = {"estimate": 1.73, "s2": 0.0041, "unscaled": 0.5, "df": 3, "prior_df": 4.62, "prior_variance": 0.0213}
# Exercise 3: true trends (a0, a1), numbers of genes, and the means at which the trend is predicted
EX3_TRUTHS = ((0.013, 1.7, 600), (0.21, 0.37, 450), (0.046, 4.3, 800))
EX3_NEW_MEANS = np.array([3.7, 41.0, 730.0, 15_300.0])
# Exercise 4: MAP dispersions of simulated genes under a log-normal prior of variance EX4_PRIOR_VARIANCE
EX4_PRIOR_VARIANCE = 0.31
EX4_BOUNDS = (1e-8, 10.0)


def ex1(posterior_variance: Any) -> bool:
    """Expects posterior_variance(s2, d, d0, s0_squared) -> s̃² for every entry of s2 (finite d0)."""
    cases = []
    for s2, df, prior_df, prior_variance in EX1_CASES:
        expected = (prior_df * prior_variance + df * s2) / (prior_df + df)
        cases.append(((s2.copy(), df, prior_df, prior_variance), expected))
    return check_function(
        "Exercise 1",
        posterior_variance,
        cases,
        what="posterior variances (d0·s0² + d·s²)/(d0 + d)",
        rtol=1e-9,
        atol=0,
        hint="s̃² is a weighted average of the prior s0² and the gene's s², each weighted by its degrees of "
        "freedom (d0 for the prior, d for the gene), divided by the total d0 + d",
    )


def _ex2_expected() -> np.ndarray:
    gene = EX2_GENE
    posterior = (gene["prior_df"] * gene["prior_variance"] + gene["df"] * gene["s2"]) / (gene["prior_df"] + gene["df"])
    t = gene["estimate"] / np.sqrt(posterior * gene["unscaled"])
    df_total = gene["prior_df"] + gene["df"]
    return np.array([t, df_total, 2 * stats.t.sf(abs(t), df_total)])


def ex2(answer: Any) -> bool:
    """Expects the array [moderated t, its degrees of freedom, two-sided p-value] of the gene EX2_GENE."""
    return check_array(
        "Exercise 2",
        answer,
        _ex2_expected,
        what="moderated t, degrees of freedom d0 + d and two-sided p-value",
        rtol=1e-6,
        atol=0,
        hint="use the posterior s̃² (not s²) in the standard error s̃·√(c'(X'X)⁻¹c); the moderated t has d0 + d "
        "degrees of freedom (not d, not d0); the p-value is two-sided, 2·P(T > |t|)",
    )


def _ex3_data(a0: float, a1: float, n_genes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    means = np.exp(rng.uniform(np.log(2.3), np.log(2.1e4), n_genes))
    # gene-wise estimates scatter around the trend like a gamma variable with mean 1 (shape 1.7)
    genewise = (a0 + a1 / means) * rng.gamma(1.7, 1 / 1.7, n_genes)
    return genewise, means


def _ex3_reference(genewise: np.ndarray, means: np.ndarray) -> np.ndarray:
    design = np.column_stack([np.ones_like(means), 1 / means])
    family = sm.families.Gamma(sm.families.links.Identity())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels warns that the identity link can leave the gamma's domain
        start = np.linalg.lstsq(design, genewise, rcond=None)[0]
        coefficients = sm.GLM(genewise, design, family=family).fit(start_params=np.abs(start), tol=1e-13).params
    return coefficients[0] + coefficients[1] / EX3_NEW_MEANS


def ex3(trend_prediction: Any) -> bool:
    """Expects trend_prediction(genewise, mean_normalised, new_means) -> a0 + a1/new_means from a gamma GLM fit."""
    cases = []
    for seed, (a0, a1, n_genes) in enumerate(EX3_TRUTHS, start=31):
        genewise, means = _ex3_data(a0, a1, n_genes, seed)
        cases.append(((genewise, means, EX3_NEW_MEANS.copy()), _ex3_reference(genewise, means)))
    return check_function(
        "Exercise 3",
        trend_prediction,
        cases,
        what="trend a0 + a1/mean fitted by a gamma GLM (identity link), at 4 means",
        rtol=1e-5,
        atol=0,
        hint="regress the gene-wise dispersions on the covariate 1/mean (not the mean) with a gamma family and "
        "identity link, i.e. IRLS with weights 1/fitted², not ordinary least squares; predict a0 + a1/new_mean",
    )


def _ex4_cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(57)
    cases = []
    for n_per_group, n_genes in ((3, 4), (4, 3)):
        groups = np.repeat([0.0, 1.0], n_per_group)
        design = np.column_stack([np.ones_like(groups), groups])
        base = np.exp(rng.uniform(np.log(6.0), np.log(900.0), n_genes))
        fold = np.exp(rng.uniform(-1.1, 1.3, n_genes))
        truth = rng.uniform(0.02, 0.4, n_genes)
        mu = base[:, None] * np.where(groups == 1, fold[:, None], 1.0)
        counts = rng.negative_binomial(1 / truth[:, None], 1 / (1 + truth[:, None] * mu))
        # the means held fixed: the group means (the NB MLE of a one-factor design), floored at 0.5
        group_means = np.column_stack([counts[:, groups == k].mean(axis=1) for k in (0, 1)])
        means = np.maximum(group_means[:, groups.astype(int)], 0.5)
        log_trend = np.log(0.03 + 2.1 / counts.mean(axis=1))
        cases.append((counts.astype(float), means, design, log_trend))
    return cases


def _ex4_reference(counts, means, design, log_trend) -> np.ndarray:
    grid = np.linspace(np.log(EX4_BOUNDS[0]), np.log(EX4_BOUNDS[1]), 801)
    result = []
    for gene in range(counts.shape[0]):

        def negative(theta, gene=gene):
            theta = np.atleast_1d(theta)
            rows = (
                np.repeat(counts[gene : gene + 1], theta.size, axis=0),
                np.repeat(means[gene : gene + 1], theta.size, axis=0),
            )
            value = adjusted_log_likelihood(*rows, design, theta).value
            return -(value - (theta - log_trend[gene]) ** 2 / (2 * EX4_PRIOR_VARIANCE))

        best = int(np.argmin(negative(grid)))  # the whole grid in one vectorised call
        low, high = grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)]
        refined = minimize_scalar(
            lambda theta: negative(theta)[0], bounds=(low, high), method="bounded", options={"xatol": 1e-10}
        )
        result.append(np.exp(refined.x))
    return np.array(result)


def ex4(map_dispersion: Any) -> bool:
    """Expects map_dispersion(counts, means, design, log_trend, prior_variance) -> MAP α of every gene."""
    hint = (
        "maximise over θ = log α the Cox–Reid adjusted log-likelihood (cox_reid=True) minus "
        "(θ − log trend)²/(2·prior_variance): the prior is normal in log α, and prior_variance is σ², not σ"
    )
    if map_dispersion is None:
        return not_attempted("Exercise 4")
    if not callable(map_dispersion):
        return failed("Exercise 4", f"expected a function, got {type(map_dispersion).__name__}", hint)
    cases = []
    for counts, means, design, log_trend in _ex4_cases():
        args = (counts.copy(), means.copy(), design.copy(), log_trend.copy(), EX4_PRIOR_VARIANCE)
        cases.append((args, _ex4_reference(counts, means, design, log_trend)))
    return check_function(
        "Exercise 4",
        map_dispersion,
        cases,
        what="MAP dispersions maximising ℓ_CR(log α) − (log α − log α_tr)²/(2σ²)",
        rtol=1e-4,
        atol=0,
        hint=hint,
    )
