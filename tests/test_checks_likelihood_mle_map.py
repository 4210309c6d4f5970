"""The exercise checks of 01_likelihood_mle_map accept right answers and reject plausible wrong ones."""

import math

import numpy as np
import pytest
import scipy.optimize
import torch
from conftest import accepts as _accepts
from conftest import not_attempted as _not_attempted
from scipy import stats
from scipy.special import factorial, gammaln
from sklearn.linear_model import Lasso, Ridge

from utils.checks import likelihood_mle_map as checks


def _rejects(check, answer, capsys, named=None):
    assert check(answer) is False
    out = capsys.readouterr().out
    assert "✗" in out
    if named is not None:
        assert named in out, out
    return out


# ---------------------------------------------------------------- Exercise 1: the NB log-pmf in (μ, α)
def _nb_log_pmf(k, mu, alpha):
    size = 1.0 / alpha
    return float(
        gammaln(k + size)
        - gammaln(size)
        - gammaln(k + 1)
        - size * np.log1p(alpha * mu)
        + k * np.log(alpha * mu / (1 + alpha * mu))
    )


def _nb_log_pmf_scvi_form(k, mu, alpha):
    # θ = 1/α, the scVI form, returned as a 0-d array
    theta = 1.0 / alpha
    return np.asarray(
        gammaln(k + theta)
        - gammaln(theta)
        - gammaln(k + 1)
        + theta * (np.log(theta) - np.log(theta + mu))
        + k * (np.log(mu) - np.log(theta + mu))
    )


def _nb_log_pmf_torch(k, mu, alpha):
    theta = torch.tensor(1.0 / alpha, dtype=torch.float64)
    logits = torch.log(torch.tensor(mu, dtype=torch.float64)) - torch.log(theta)
    return torch.distributions.NegativeBinomial(total_count=theta, logits=logits).log_prob(
        torch.tensor(float(k), dtype=torch.float64)
    )


def _nb_log_pmf_math(k, mu, alpha):
    # the standard library only: lgamma and an exact integer factorial
    size = 1.0 / alpha
    return (
        math.lgamma(k + size)
        - math.lgamma(size)
        - math.log(math.factorial(k))
        + size * math.log(size / (size + mu))
        + k * math.log(mu / (size + mu))
    )


def test_ex1_accepts_the_nb_log_pmf_in_several_forms(capsys):
    _accepts(checks.ex1, _nb_log_pmf, capsys)
    _accepts(checks.ex1, _nb_log_pmf_scvi_form, capsys)
    _accepts(checks.ex1, _nb_log_pmf_torch, capsys)
    _accepts(checks.ex1, _nb_log_pmf_math, capsys)


def _theta_alpha_swapped(k, mu, alpha):
    # the scVI formula with α put where θ belongs
    return float(_nb_log_pmf_scvi_form(k, mu, 1.0 / alpha))


def _no_log_factorial(k, mu, alpha):
    return _nb_log_pmf(k, mu, alpha) + gammaln(k + 1)


def _poisson(k, mu, alpha):
    return k * np.log(mu) - mu - gammaln(k + 1)


def _last_factor_without_alpha(k, mu, alpha):
    # (μ/(1+αμ))^k instead of (αμ/(1+αμ))^k
    return _nb_log_pmf(k, mu, alpha) - k * np.log(alpha)


def _first_factor_exponent_one(k, mu, alpha):
    # (1/(1+αμ))^1 instead of (1/(1+αμ))^(1/α)
    return _nb_log_pmf(k, mu, alpha) + np.log1p(alpha * mu) / alpha - np.log1p(alpha * mu)


def _float_factorial(k, mu, alpha):
    # scipy's factorial in floating point overflows for the count in the thousands
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return _nb_log_pmf(k, mu, alpha) + gammaln(k + 1) - np.log(factorial(k))


def _pmf_not_log(k, mu, alpha):
    return np.exp(_nb_log_pmf(k, mu, alpha))


def _variance_mu_plus_alpha_mu(k, mu, alpha):
    # a dispersion applied to μ instead of μ²: α' = α/μ in the correct formula
    return _nb_log_pmf(k, mu, alpha / mu)


@pytest.mark.parametrize(
    ("wrong", "named"),
    [
        (_theta_alpha_swapped, "θ = 1/α"),  # the hint's first mistake
        (_no_log_factorial, "log k!"),  # the hint's second mistake
        (_float_factorial, None),  # the hint's third: k! not through gammaln
        (_poisson, "Poisson"),
        (_last_factor_without_alpha, "(αμ/(1+αμ))^k"),
        (_first_factor_exponent_one, "(1/(1+αμ))^(1/α)"),
        (_pmf_not_log, None),
        (_variance_mu_plus_alpha_mu, None),
    ],
)
def test_ex1_rejects_wrong_log_pmfs(wrong, named, capsys):
    _rejects(checks.ex1, wrong, capsys, named)


def test_ex1_rejects_functions_that_raise_or_return_several_values(capsys):
    def raises(k, mu, alpha):
        raise ZeroDivisionError("boom")

    def two_values(k, mu, alpha):
        return [_nb_log_pmf(k, mu, alpha), 0.0]

    _rejects(checks.ex1, raises, capsys)
    _rejects(checks.ex1, two_values, capsys)


def test_ex1_stub_and_none_are_not_attempted(capsys):
    def stub(k, mu, alpha):
        return None

    _not_attempted(checks.ex1, None, capsys)
    _not_attempted(checks.ex1, stub, capsys)


def test_ex1_cases_include_zero_large_counts_and_overdispersion():
    ks = [case[0] for case in checks.EX1_CASES]
    alphas = [case[2] for case in checks.EX1_CASES]
    assert 0 in ks and max(ks) > 1000 and max(alphas) > 1


# ---------------------------------------------------------------- Exercise 2: the information about an NB mean
def test_ex2_reference_is_the_expected_curvature_and_the_score_variance():
    for mu, alpha, n in checks.EX2_CASES:
        reference = checks._nb_information_reference(mu, alpha, n)
        theta = 1 / alpha
        p = theta / (theta + mu)
        support = np.arange(0, stats.nbinom.ppf(1 - 1e-16, theta, p) + 1)
        weights = stats.nbinom.pmf(support, theta, p)
        # central second difference of scipy's log-pmf in μ, averaged over the pmf
        step = 1e-3 * mu
        values = [stats.nbinom.logpmf(support, theta, theta / (theta + m)) for m in (mu - step, mu, mu + step)]
        curvature = -np.sum(weights * (values[0] - 2 * values[1] + values[2])) / step**2
        assert np.isclose(reference, n * curvature, rtol=1e-4)
        # the variance of the score, the other definition of the information
        score = (stats.nbinom.logpmf(support, theta, theta / (theta + mu + step)) - values[0]) / (2 * step)
        assert np.isclose(reference, n * np.sum(weights * score**2), rtol=1e-4)


def test_ex2_accepts_the_information_in_several_forms(capsys):
    _accepts(checks.ex2, lambda mu, alpha, n: n / (mu * (1 + alpha * mu)), capsys)
    _accepts(checks.ex2, lambda mu, alpha, n: n / (mu + alpha * mu**2), capsys)
    _accepts(checks.ex2, lambda mu, alpha, n: torch.tensor(n * (1 / alpha) / (mu * (1 / alpha + mu))), capsys)


@pytest.mark.parametrize(
    ("wrong", "named"),
    [
        (lambda mu, alpha, n: n / mu, "Poisson"),  # the hint's mistake
        (lambda mu, alpha, n: 1 / (mu * (1 + alpha * mu)), "single count"),
        (lambda mu, alpha, n: mu * (1 + alpha * mu) / n, "inverse"),
        (lambda mu, alpha, n: n / (mu * (1 + mu / alpha)), "swapped"),
        (lambda mu, alpha, n: n / (mu + alpha * mu), "μ + αμ²"),
        (lambda mu, alpha, n: n / (1 + alpha * mu), None),
        (lambda mu, alpha, n: n / (mu**2 * (1 + alpha * mu)), None),
    ],
)
def test_ex2_rejects_wrong_informations(wrong, named, capsys):
    _rejects(checks.ex2, wrong, capsys, named)


def test_ex2_stub_and_raising_functions(capsys):
    def stub(mu, alpha, n):
        return None

    def raises(mu, alpha, n):
        raise ValueError("boom")

    _not_attempted(checks.ex2, stub, capsys)
    _rejects(checks.ex2, raises, capsys)
    _rejects(checks.ex2, lambda mu, alpha, n: [1.0, 2.0], capsys)


# ---------------------------------------------------------------- Exercise 3: the penalties a prior implies
def _map_penalties(noise_sd, prior_sd, laplace_scale, n_samples):
    return noise_sd**2 / prior_sd**2, noise_sd**2 / (n_samples * laplace_scale)


def test_ex3_reference_penalties_give_the_map_estimates():
    # on a random design, scikit-learn at the reference penalties equals the MAP found by a generic optimiser
    rng = np.random.default_rng(5)
    n, p = 60, 7
    design = rng.standard_normal((n, p))
    response = design @ rng.uniform(-0.8, 0.8, p) + 0.6 * rng.standard_normal(n)
    noise_sd, prior_sd, laplace_scale = 0.6, 0.17, 0.09
    ridge_alpha, lasso_alpha = checks._penalties_reference(noise_sd, prior_sd, laplace_scale, n)

    def gaussian(beta):
        return -(
            stats.norm.logpdf(response, design @ beta, noise_sd).sum() + stats.norm.logpdf(beta, 0, prior_sd).sum()
        )

    gaussian_map = scipy.optimize.minimize(gaussian, np.zeros(p), method="BFGS", options={"gtol": 1e-10}).x
    ridge = Ridge(alpha=ridge_alpha, fit_intercept=False).fit(design, response).coef_
    assert np.allclose(gaussian_map, ridge, atol=1e-5)

    def laplace(parts):
        beta = parts[:p] - parts[p:]
        return -(
            stats.norm.logpdf(response, design @ beta, noise_sd).sum()
            + stats.laplace.logpdf(beta, 0, laplace_scale).sum()
        )

    laplace_map = scipy.optimize.minimize(
        laplace,
        np.zeros(2 * p),
        method="L-BFGS-B",
        bounds=[(0, None)] * (2 * p),
        options={"ftol": 1e-15, "gtol": 1e-10},
    ).x
    lasso = Lasso(alpha=lasso_alpha, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(design, response).coef_
    assert np.allclose(laplace_map[:p] - laplace_map[p:], lasso, atol=1e-4)
    assert 0 < np.count_nonzero(lasso) < p  # the case is one where the penalty matters


def test_ex3_accepts_the_penalties_in_several_forms(capsys):
    _accepts(checks.ex3, _map_penalties, capsys)
    _accepts(checks.ex3, lambda s, t, b, n: list(_map_penalties(s, t, b, n)), capsys)
    _accepts(checks.ex3, lambda s, t, b, n: torch.tensor(_map_penalties(s, t, b, n)), capsys)
    _accepts(checks.ex3, lambda s, t, b, n: np.array([(s / t) ** 2, s * s / n / b]), capsys)


@pytest.mark.parametrize(
    ("wrong", "named"),
    [
        (lambda s, t, b, n: (s / t, s**2 / (n * b)), "not σ/τ"),  # the hint's first mistake
        (lambda s, t, b, n: (s**2 / t**2, s**2 / b), "factor 1/n"),  # the hint's second mistake
        (lambda s, t, b, n: (t**2 / s**2, s**2 / (n * b)), "not τ²/σ²"),
        (lambda s, t, b, n: (s**2 / t**2, s / (n * b)), "not σ"),
        (lambda s, t, b, n: (2 * s**2 / t**2, s**2 / (n * b)), "factor 1/2"),
        (lambda s, t, b, n: (s**2 / (n * t**2), s**2 / (n * b)), "no factor 1/n"),
        (lambda s, t, b, n: (s**2 / (n * b), s**2 / t**2), "wrong order"),
        (lambda s, t, b, n: (s / t, s / (n * b)), None),
        (lambda s, t, b, n: (s**2 / t**2, s**2 / (2 * n * b)), None),
    ],
)
def test_ex3_rejects_wrong_penalties(wrong, named, capsys):
    _rejects(checks.ex3, wrong, capsys, named)


def test_ex3_rejects_malformed_outputs_and_stubs(capsys):
    def stub(noise_sd, prior_sd, laplace_scale, n_samples):
        return None

    def raises(noise_sd, prior_sd, laplace_scale, n_samples):
        raise TypeError("boom")

    _not_attempted(checks.ex3, stub, capsys)
    _rejects(checks.ex3, raises, capsys)
    _rejects(checks.ex3, lambda s, t, b, n: s**2 / t**2, capsys)
    _rejects(checks.ex3, lambda s, t, b, n: ("a", "b"), capsys)
