"""The exercise checks of 04_variational_inference_vae accept right answers and reject plausible wrong ones."""

import numpy as np
import pytest
import torch
from conftest import accepts as _accepts
from conftest import not_attempted as _not_attempted
from conftest import rejects as _rejects
from scipy import stats
from scipy.special import gammaln

from utils.checks import variational_inference_vae as checks
from utils.models import gaussian_kl, nb_log_likelihood


# ---------------------------------------------------------------- Exercise 1: the NB log-probability
def _nb_torch(k, mu, theta):
    return (
        torch.lgamma(k + theta)
        - torch.lgamma(theta)
        - torch.lgamma(k + 1)
        + theta * torch.log(theta / (theta + mu))
        + k * torch.log(mu / (theta + mu))
    )


def _nb_scipy(k, mu, theta):
    # NumPy/SciPy only: the check retries with arrays when tensors fail
    k, mu, theta = (np.asarray(a, dtype=float) for a in (k, mu, theta))
    return stats.nbinom.logpmf(k, theta, theta / (theta + mu))


def _nb_float32(k, mu, theta):
    return _nb_torch(k.float(), mu.float(), theta.float())


def _nb_torch_distribution(k, mu, theta):
    return torch.distributions.NegativeBinomial(total_count=theta, logits=torch.log(mu / theta)).log_prob(k)


@pytest.mark.parametrize("right", [_nb_torch, _nb_scipy, _nb_float32, _nb_torch_distribution, nb_log_likelihood])
def test_ex1_accepts_the_nb_log_probability_in_several_forms(right, capsys):
    _accepts(checks.ex1, right, capsys)


def _alpha_theta_confused(k, mu, theta):
    return _nb_torch(k, mu, 1 / theta)  # θ used as the dispersion α = 1/θ


def _missing_log_factorial(k, mu, theta):
    return _nb_torch(k, mu, theta) + torch.lgamma(k + 1)


def _lgamma_k_instead_of_k_plus_one(k, mu, theta):
    return _nb_torch(k, mu, theta) + torch.lgamma(k + 1) - torch.lgamma(k)  # log Γ(k): infinite at k = 0


def _probabilities_swapped(k, mu, theta):
    return (
        torch.lgamma(k + theta)
        - torch.lgamma(theta)
        - torch.lgamma(k + 1)
        + theta * torch.log(mu / (theta + mu))
        + k * torch.log(theta / (theta + mu))
    )


def _poisson(k, mu, theta):
    return k * torch.log(mu) - mu - torch.lgamma(k + 1)


def _scipy_with_mean_as_p(k, mu, theta):
    k, mu, theta = (np.asarray(a, dtype=float) for a in (k, mu, theta))
    return stats.nbinom.logpmf(k, theta, mu / (theta + mu))  # the failure probability in place of p


def _log_probability_not_log(k, mu, theta):
    return torch.exp(_nb_torch(k, mu, theta))


def _sum_not_elementwise(k, mu, theta):
    return _nb_torch(k, mu, theta).sum()


@pytest.mark.parametrize(
    "wrong",
    [
        _alpha_theta_confused,  # the hint's first mistake
        _missing_log_factorial,  # the hint's second mistake
        _lgamma_k_instead_of_k_plus_one,
        _probabilities_swapped,
        _poisson,
        _scipy_with_mean_as_p,
        _log_probability_not_log,
        _sum_not_elementwise,
    ],
)
def test_ex1_rejects_wrong_nb_log_probabilities(wrong, capsys):
    _rejects(checks.ex1, wrong, capsys)


def test_ex1_cases_can_tell_the_mistakes_apart():
    # k >= 2 somewhere (so log k! matters), k = 0 somewhere, and no θ = 1 (where α = θ)
    assert (checks.EX1_COUNTS >= 2).any() and (checks.EX1_COUNTS == 0).any()
    assert np.all(np.abs(checks.EX1_INVERSE_DISPERSIONS - 1) > 0.1)
    reference = gammaln(checks.EX1_COUNTS + 1)
    assert np.max(reference) > 1


def test_ex1_stub_raising_and_non_callables(capsys):
    def stub(k, mu, theta):
        return None

    def raises(k, mu, theta):
        raise RuntimeError("boom")

    _not_attempted(checks.ex1, None, capsys)
    _not_attempted(checks.ex1, stub, capsys)
    _rejects(checks.ex1, raises, capsys)
    _rejects(checks.ex1, 3.0, capsys)


# ---------------------------------------------------------------- Exercise 2: KL to the standard normal
def _kl(mean, log_var):
    return 0.5 * (mean**2 + torch.exp(log_var) - 1 - log_var).sum(-1)


def _kl_numpy_list(mean, log_var):
    mean, log_var = np.asarray(mean), np.asarray(log_var)
    return list(0.5 * np.sum(mean**2 + np.exp(log_var) - 1 - log_var, axis=-1))


def _kl_float32(mean, log_var):
    return _kl(mean.float(), log_var.float())


def _kl_utils(mean, log_var):
    return gaussian_kl(mean, log_var).sum(-1)


@pytest.mark.parametrize("right", [_kl, _kl_numpy_list, _kl_float32, _kl_utils])
def test_ex2_accepts_the_closed_form(right, capsys):
    _accepts(checks.ex2, right, capsys)


def _kl_without_half(mean, log_var):
    return (mean**2 + torch.exp(log_var) - 1 - log_var).sum(-1)


def _kl_log_sigma_for_log_sigma_squared(mean, log_var):
    return 0.5 * (mean**2 + torch.exp(log_var) - 1 - 0.5 * log_var).sum(-1)  # log σ where log σ² belongs


def _kl_log_var_read_as_log_sigma(mean, log_var):
    return 0.5 * (mean**2 + torch.exp(2 * log_var) - 1 - 2 * log_var).sum(-1)


def _kl_without_minus_one(mean, log_var):
    return 0.5 * (mean**2 + torch.exp(log_var) - log_var).sum(-1)


def _kl_plus_log(mean, log_var):
    return 0.5 * (mean**2 + torch.exp(log_var) - 1 + log_var).sum(-1)


def _kl_mean_over_coordinates(mean, log_var):
    return 0.5 * (mean**2 + torch.exp(log_var) - 1 - log_var).mean(-1)


def _kl_per_coordinate(mean, log_var):
    return 0.5 * (mean**2 + torch.exp(log_var) - 1 - log_var)


def _kl_sum_over_everything(mean, log_var):
    return _kl(mean, log_var).sum()


def _kl_std_for_variance(mean, log_var):
    return 0.5 * (mean**2 + torch.exp(0.5 * log_var) - 1 - log_var).sum(-1)


@pytest.mark.parametrize(
    "wrong",
    [
        _kl_without_half,  # the hint's mistakes
        _kl_log_sigma_for_log_sigma_squared,
        _kl_log_var_read_as_log_sigma,
        _kl_std_for_variance,
        _kl_without_minus_one,
        _kl_plus_log,
        _kl_mean_over_coordinates,
        _kl_per_coordinate,
        _kl_sum_over_everything,
    ],
)
def test_ex2_rejects_wrong_kls(wrong, capsys):
    _rejects(checks.ex2, wrong, capsys)


def test_ex2_stub_is_not_attempted(capsys):
    def stub(mean, log_var):
        return None

    _not_attempted(checks.ex2, stub, capsys)
    _rejects(checks.ex2, "kl", capsys)


# ---------------------------------------------------------------- Exercise 3: the reparameterised sample
def _reparameterise(mean, log_var, noise):
    return mean + torch.exp(0.5 * log_var) * noise


def _reparameterise_sqrt(mean, log_var, noise):
    return mean + torch.sqrt(torch.exp(log_var)) * noise


def _reparameterise_distribution(mean, log_var, noise):
    # torch's own reparameterised sampler, fed the given noise through its affine transform
    scale = torch.exp(log_var / 2)
    return torch.distributions.AffineTransform(mean, scale)(noise)


@pytest.mark.parametrize("right", [_reparameterise, _reparameterise_sqrt, _reparameterise_distribution])
def test_ex3_accepts_the_reparameterisation(right, capsys):
    _accepts(checks.ex3, right, capsys)


def _variance_for_std(mean, log_var, noise):
    return mean + torch.exp(log_var) * noise


def _log_var_as_scale(mean, log_var, noise):
    return mean + log_var * noise


def _divided_by_sigma(mean, log_var, noise):
    return mean + torch.exp(-0.5 * log_var) * noise


def _sigma_times_mean(mean, log_var, noise):
    return mean * noise + torch.exp(0.5 * log_var)


def _detached(mean, log_var, noise):
    return _reparameterise(mean, log_var, noise).detach()


def _through_numpy(mean, log_var, noise):
    mean, log_var, noise = (t.detach().numpy() for t in (mean, log_var, noise))
    return mean + np.exp(0.5 * log_var) * noise


def _fresh_noise(mean, log_var, noise):
    return mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)


def _detached_scale(mean, log_var, noise):
    return mean + torch.exp(0.5 * log_var.detach()) * noise  # right values, no gradient to log_var


def _wrong_gradient(mean, log_var, noise):
    # right values, wrong derivative: σ treated as a constant computed through a non-differentiable round trip
    scale = torch.tensor(np.exp(0.5 * log_var.detach().numpy()))
    return mean + scale * noise + 0 * log_var


@pytest.mark.parametrize(
    "wrong",
    [
        _variance_for_std,  # the hint's mistake: σ² in place of σ
        _log_var_as_scale,
        _divided_by_sigma,
        _sigma_times_mean,
        _detached,
        _through_numpy,
        _fresh_noise,
        _detached_scale,
        _wrong_gradient,
    ],
)
def test_ex3_rejects_wrong_samples(wrong, capsys):
    _rejects(checks.ex3, wrong, capsys)


def test_ex3_stub_is_not_attempted(capsys):
    def stub(mean, log_var, noise):
        return None

    _not_attempted(checks.ex3, stub, capsys)
    _rejects(checks.ex3, [1.0, 2.0], capsys)
