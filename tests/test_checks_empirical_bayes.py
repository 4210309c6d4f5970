"""The exercise checks of 02_empirical_bayes accept right answers and reject plausible wrong ones."""

import warnings

import numpy as np
import statsmodels.api as sm
import torch
from conftest import accepts as _accepts
from conftest import rejects as _rejects
from scipy import stats
from scipy.optimize import minimize_scalar

from utils.checks import empirical_bayes as checks
from utils.dispersion import adjusted_log_likelihood


# ---------------------------------------------------------------- Exercise 1: posterior variance
def test_ex1_accepts_the_formula_in_two_forms(capsys):
    _accepts(checks.ex1, lambda s2, d, d0, s0: (d0 * s0 + d * s2) / (d0 + d), capsys)
    # as a shrinkage towards the prior, returned as a float32 torch tensor
    _accepts(
        checks.ex1,
        lambda s2, d, d0, s0: torch.tensor(s0 + d / (d0 + d) * (np.asarray(s2) - s0), dtype=torch.float64),
        capsys,
    )


def test_ex1_rejects_plain_average_swapped_weights_and_wrong_denominator(capsys):
    _rejects(checks.ex1, lambda s2, d, d0, s0: (s0 + s2) / 2, capsys)  # ignores the degrees of freedom
    _rejects(checks.ex1, lambda s2, d, d0, s0: (d * s0 + d0 * s2) / (d0 + d), capsys)  # weights swapped
    _rejects(checks.ex1, lambda s2, d, d0, s0: (d0 * s0 + d * s2) / d, capsys)  # divided by d only
    _rejects(checks.ex1, lambda s2, d, d0, s0: np.sqrt((d0 * s0**2 + d * s2**2) / (d0 + d)), capsys)  # on sds
    _rejects(checks.ex1, lambda s2, d, d0, s0: 1 / 0, capsys)  # a crashing function: ✗, no exception


# ---------------------------------------------------------------- Exercise 2: moderated t and its df
def _ex2(df_total=None, posterior=True, sides=2):
    gene = checks.EX2_GENE
    variance = (
        (gene["prior_df"] * gene["prior_variance"] + gene["df"] * gene["s2"]) / (gene["prior_df"] + gene["df"])
        if posterior
        else gene["s2"]
    )
    t = gene["estimate"] / np.sqrt(variance * gene["unscaled"])
    df = gene["prior_df"] + gene["df"] if df_total is None else df_total
    return [t, df, sides * stats.t.sf(abs(t), df)]


def test_ex2_accepts_a_list_or_float32(capsys):
    _accepts(checks.ex2, _ex2(), capsys)
    _accepts(checks.ex2, np.array(_ex2(), dtype=np.float32), capsys)


def test_ex2_rejects_ordinary_df_prior_df_one_sided_and_ordinary_variance(capsys):
    _rejects(checks.ex2, _ex2(df_total=checks.EX2_GENE["df"]), capsys)  # the ordinary d
    _rejects(checks.ex2, _ex2(df_total=checks.EX2_GENE["prior_df"]), capsys)  # d0 alone
    _rejects(checks.ex2, _ex2(sides=1), capsys)  # one-sided
    _rejects(checks.ex2, _ex2(posterior=False), capsys)  # ordinary s² in the standard error
    _rejects(checks.ex2, _ex2()[:2], capsys)  # wrong shape


# ---------------------------------------------------------------- Exercise 3: the dispersion trend
def _gamma_glm_trend(genewise, means, new_means):
    coefficients = np.array([0.05, 1.0])
    design = np.column_stack([np.ones_like(means), 1 / means])
    for _ in range(200):  # IRLS for a gamma GLM with identity link: weights 1/μ², step-halving keeps μ > 0
        fitted = design @ coefficients
        weights = 1 / fitted**2
        proposal = np.linalg.solve((design.T * weights) @ design, (design.T * weights) @ genewise)
        while np.any(design @ proposal <= 0):
            proposal = (proposal + coefficients) / 2
        if np.allclose(proposal, coefficients, rtol=1e-14, atol=0):
            break
        coefficients = proposal
    return coefficients[0] + coefficients[1] / new_means


def _statsmodels_trend(genewise, means, new_means):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design = sm.add_constant(1 / means)
        fit = sm.GLM(genewise, design, family=sm.families.Gamma(sm.families.links.Identity())).fit(
            start_params=[0.05, 1.0], tol=1e-14
        )
    return torch.tensor(fit.params[0] + fit.params[1] / new_means)


def _least_squares_trend(genewise, means, new_means):
    design = np.column_stack([np.ones_like(means), 1 / means])
    a0, a1 = np.linalg.lstsq(design, genewise, rcond=None)[0]
    return a0 + a1 / new_means


def _trend_in_the_mean(genewise, means, new_means):
    return _gamma_glm_trend(genewise, 1 / means, 1 / new_means)  # a0 + a1·mean


def _log_scale_trend(genewise, means, new_means):
    design = np.column_stack([np.ones_like(means), 1 / means])
    a0, a1 = np.linalg.lstsq(design, np.log(genewise), rcond=None)[0]
    return np.exp(a0 + a1 / new_means)


def test_ex3_accepts_hand_irls_and_statsmodels(capsys):
    _accepts(checks.ex3, _gamma_glm_trend, capsys)
    _accepts(checks.ex3, _statsmodels_trend, capsys)


def test_ex3_rejects_least_squares_the_mean_as_covariate_and_a_log_fit(capsys):
    _rejects(checks.ex3, _least_squares_trend, capsys)
    _rejects(checks.ex3, _trend_in_the_mean, capsys)
    _rejects(checks.ex3, _log_scale_trend, capsys)
    _rejects(checks.ex3, lambda genewise, means, new_means: np.median(genewise) * np.ones(3), capsys)


# ---------------------------------------------------------------- Exercise 4: MAP dispersion
def _map(counts, means, design, log_trend, prior_variance, cox_reid=True, prior_scale=None, log_prior=True):
    estimates = []
    for gene in range(counts.shape[0]):

        def negative(theta, gene=gene):
            value = adjusted_log_likelihood(
                counts[gene : gene + 1], means[gene : gene + 1], design, np.array([theta]), cox_reid=cox_reid
            ).value[0]
            gap = theta - log_trend[gene] if log_prior else np.exp(theta) - np.exp(log_trend[gene])
            return -(value - gap**2 / (2 * (prior_variance if prior_scale is None else prior_scale)))

        grid = np.linspace(np.log(1e-8), np.log(10.0), 150)
        best = grid[np.argmin([negative(theta) for theta in grid])]
        estimates.append(np.exp(minimize_scalar(negative, bounds=(best - 0.15, best + 0.15), method="bounded").x))
    return np.array(estimates)


def test_ex4_accepts_a_grid_plus_refinement(capsys):
    _accepts(checks.ex4, _map, capsys)
    _accepts(checks.ex4, lambda *args: list(_map(*args)), capsys)


def test_ex4_rejects_no_cox_reid_sd_for_variance_no_prior_and_a_prior_on_alpha(capsys):
    _rejects(checks.ex4, lambda *args: _map(*args, cox_reid=False), capsys)
    _rejects(checks.ex4, lambda *args: _map(*args, prior_scale=np.sqrt(args[4])), capsys)  # σ instead of σ²
    _rejects(checks.ex4, lambda *args: _map(*args, prior_scale=1e12), capsys)  # no prior: the gene-wise CR estimate
    _rejects(checks.ex4, lambda *args: _map(*args, log_prior=False), capsys)  # normal prior on α, not log α
    _rejects(checks.ex4, lambda *args: np.exp(args[3]), capsys)  # the trend itself
