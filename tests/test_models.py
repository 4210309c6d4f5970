"""utils.models against independent references: torch.distributions, scipy.stats, Monte Carlo and bad inputs."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from utils.models import CountVAE, ELBOTerms, TrainingHistory, gaussian_kl, nb_log_likelihood, train_vae


def _torch_nb(k, mu, theta):
    k, mu, theta = (torch.as_tensor(v, dtype=torch.float64) for v in (k, mu, theta))
    distribution = torch.distributions.NegativeBinomial(total_count=theta, logits=torch.log(mu) - torch.log(theta))
    return distribution.log_prob(k)


# ---------------------------------------------------------------- nb_log_likelihood
def test_nb_matches_torch_and_scipy_on_a_grid_including_zero_counts():
    rng = np.random.default_rng(3)
    k = rng.poisson(4.0, size=(40, 7)).astype(float)
    k[:, 0] = 0.0
    mu = rng.uniform(0.03, 30.0, size=(40, 7))
    theta = rng.uniform(0.07, 50.0, size=7)
    ours = nb_log_likelihood(k, mu, theta).numpy()
    assert ours.shape == (40, 7) and ours.dtype == np.float64
    np.testing.assert_allclose(ours, _torch_nb(k, mu, theta).numpy(), rtol=1e-10, atol=1e-10)
    # scipy's nbinom(n, p): n successes, success probability p = θ/(θ + μ)
    np.testing.assert_allclose(ours, stats.nbinom.logpmf(k, theta, theta / (theta + mu)), rtol=1e-9, atol=1e-10)


def test_nb_at_k_zero_is_theta_log_theta_over_theta_plus_mu():
    mu, theta = np.array([0.37, 4.1, 93.0]), np.array([0.21, 3.3, 17.0])
    ours = nb_log_likelihood(np.zeros(3), mu, theta).numpy()
    np.testing.assert_allclose(ours, theta * np.log(theta / (theta + mu)), rtol=1e-12)


def test_nb_huge_theta_is_the_poisson_limit():
    k = np.array([0.0, 1.0, 3.0, 17.0, 120.0])
    mu = np.array([0.4, 2.3, 3.7, 15.2, 111.0])
    ours = nb_log_likelihood(k, mu, np.full(5, 1e12)).numpy()
    np.testing.assert_allclose(ours, stats.poisson.logpmf(k, mu), rtol=1e-6, atol=1e-6)
    # and still torch's value where torch's own arithmetic is accurate (θ = 1e6)
    np.testing.assert_allclose(
        nb_log_likelihood(k, mu, np.full(5, 1e6)).numpy(), _torch_nb(k, mu, np.full(5, 1e6)).numpy(), rtol=1e-9
    )


def test_nb_tiny_mean_is_finite_and_exact():
    theta = np.array([0.5, 2.0, 30.0])
    mu = np.array([1e-12, 1e-30, 1e-8])
    zero = nb_log_likelihood(np.zeros(3), mu, theta).numpy()
    # θ log(θ/(θ+μ)) = -θ log1p(μ/θ) ≈ -μ: a naive log(θ) - log(θ+μ) rounds to 0 or loses all digits
    np.testing.assert_allclose(zero, -theta * np.log1p(mu / theta), rtol=1e-12)
    assert np.all(zero < 0)
    one = nb_log_likelihood(np.ones(3), mu, theta).numpy()
    # k = 1: log p = log μ - (θ + 1) log1p(μ/θ); scipy's nbinom, through p = θ/(θ+μ), rounds p to 1 at μ = 1e-30
    np.testing.assert_allclose(one, np.log(mu) - (theta + 1) * np.log1p(mu / theta), rtol=1e-10)


def test_nb_zero_mean_is_a_point_mass_at_zero():
    result = nb_log_likelihood(np.array([0.0, 2.0]), np.array([0.0, 0.0]), np.array([1.3, 1.3])).numpy()
    assert result[0] == 0.0 and result[1] == -np.inf


def test_nb_sums_to_one_and_has_the_nb2_moments():
    k = np.arange(0, 3000, dtype=float)
    mu, theta = 7.3, 1.7
    probabilities = np.exp(nb_log_likelihood(k, np.full_like(k, mu), np.full_like(k, theta)).numpy())
    assert abs(probabilities.sum() - 1) < 1e-10
    mean = np.sum(k * probabilities)
    assert abs(mean - mu) < 1e-8
    assert abs(np.sum((k - mean) ** 2 * probabilities) - (mu + mu**2 / theta)) < 1e-6


def test_nb_gradients_match_torch_distributions_and_keep_float32():
    mu = torch.tensor([0.7, 5.2, 41.0], requires_grad=True)
    theta = torch.tensor([0.3, 2.9, 8.1], requires_grad=True)
    k = torch.tensor([2.0, 0.0, 37.0])
    ours = nb_log_likelihood(k, mu, theta)
    assert ours.dtype == torch.float32
    ours.sum().backward()
    mu64 = mu.detach().double().requires_grad_()
    theta64 = theta.detach().double().requires_grad_()
    _torch_nb(k.double(), mu64, theta64).sum().backward()
    np.testing.assert_allclose(mu.grad.numpy(), mu64.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(theta.grad.numpy(), theta64.grad.numpy(), rtol=1e-4)


@pytest.mark.parametrize(
    ("arguments", "error", "name"),
    [
        (("a", [1.0], [1.0]), TypeError, "counts"),
        (([True, False], [1.0, 1.0], [1.0, 1.0]), TypeError, "counts"),
        (([1.0], [1.0], torch.tensor([True])), TypeError, "inverse_dispersion"),
        (([-1.0], [1.0], [1.0]), ValueError, "counts"),
        (([1.5], [1.0], [1.0]), ValueError, "counts"),
        (([1.0], [-0.2], [1.0]), ValueError, "mean"),
        (([1.0], [np.nan], [1.0]), ValueError, "mean"),
        (([1.0], [1.0], [0.0]), ValueError, "inverse_dispersion"),
        (([1.0], [1.0], [np.inf]), ValueError, "inverse_dispersion"),
        (([1.0, 2.0, 3.0], [1.0, 2.0], [1.0]), ValueError, "broadcast"),
        (([], [], []), ValueError, "counts"),
    ],
)
def test_nb_bad_inputs_raise_naming_the_argument(arguments, error, name):
    with pytest.raises(error, match=name):
        nb_log_likelihood(*arguments)


# ---------------------------------------------------------------- gaussian_kl
def test_gaussian_kl_matches_torch_kl_divergence():
    rng = np.random.default_rng(5)
    mean = torch.tensor(rng.normal(0, 1.3, (6, 4)))
    log_var = torch.tensor(rng.normal(0, 1.1, (6, 4)))
    ours = gaussian_kl(mean, log_var)
    reference = torch.distributions.kl_divergence(
        torch.distributions.Normal(mean, torch.exp(0.5 * log_var)), torch.distributions.Normal(0.0, 1.0)
    )
    np.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=1e-12, atol=1e-14)
    assert gaussian_kl(0.0, 0.0).item() == 0.0
    assert torch.all(ours >= 0)


def test_gaussian_kl_matches_monte_carlo():
    generator = torch.Generator().manual_seed(0)
    mean, log_var = torch.tensor([0.63, -1.27]), torch.tensor([-0.81, 0.44])
    std = torch.exp(0.5 * log_var)
    z = mean + std * torch.randn((200_000, 2), generator=generator, dtype=torch.float64)
    samples = torch.distributions.Normal(mean, std).log_prob(z) - torch.distributions.Normal(0.0, 1.0).log_prob(z)
    estimate, error = samples.mean(0), samples.std(0) / math.sqrt(samples.shape[0])
    assert torch.all((estimate - gaussian_kl(mean, log_var)).abs() < 4 * error)


def test_gaussian_kl_is_accurate_near_the_prior():
    # expm1(x) - x keeps the O(x²) value that exp(x) - 1 - x would round away
    assert gaussian_kl(0.0, 1e-9).item() == pytest.approx(0.25e-18, rel=1e-6)


@pytest.mark.parametrize(
    ("arguments", "error", "name"),
    [
        (("x", 0.0), TypeError, "mean"),
        ((0.0, [np.nan]), ValueError, "log_var"),
        (([0.0, 1.0, 2.0], [0.0, 1.0]), ValueError, "broadcast"),
    ],
)
def test_gaussian_kl_bad_inputs(arguments, error, name):
    with pytest.raises(error, match=name):
        gaussian_kl(*arguments)


# ---------------------------------------------------------------- CountVAE
def _toy_counts(n_cells=30, n_genes=12, seed=1):
    rng = np.random.default_rng(seed)
    profiles = rng.dirichlet(np.ones(n_genes), size=2)
    libraries = rng.integers(50, 200, size=n_cells)
    groups = rng.integers(0, 2, size=n_cells)
    return rng.poisson(libraries[:, None] * profiles[groups]).astype(float)


def test_vae_shapes_and_elbo_terms():
    counts = _toy_counts()
    model = CountVAE(12, n_latent=3, n_hidden=8, seed=0)
    mean, log_var = model.encode(torch.tensor(counts, dtype=torch.float32))
    assert mean.shape == log_var.shape == (30, 3)
    terms = model.elbo(counts, kl_weight=0.3, n_samples=4)
    assert isinstance(terms, ELBOTerms)
    assert terms.reconstruction.shape == terms.kl.shape == terms.elbo.shape == (30,)
    torch.testing.assert_close(terms.objective, terms.reconstruction - 0.3 * terms.kl)
    assert torch.all(terms.kl >= 0)
    assert model.inverse_dispersion.shape == (12,)


def test_vae_decoder_mean_sums_to_the_library_size():
    counts = torch.tensor(_toy_counts(), dtype=torch.float32)
    model = CountVAE(12, n_latent=3, n_hidden=8, seed=0)
    z = torch.randn(30, 3)
    means = model.decode_log_mean(z, counts.sum(1)).exp()
    torch.testing.assert_close(means.sum(1), counts.sum(1))


def test_vae_elbo_written_out_matches_the_method():
    counts = torch.tensor(_toy_counts(), dtype=torch.float64)
    model = CountVAE(12, n_latent=3, n_hidden=8, seed=2).double()
    terms = model.elbo(counts, n_samples=1, generator=torch.Generator().manual_seed(7))
    epsilon = torch.randn((1, 30, 3), generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    mean, log_var = model.encode(counts)
    z = mean + torch.exp(0.5 * log_var) * epsilon
    proportions = torch.softmax(model.decoder(z), dim=-1)
    theta = model.inverse_dispersion
    log_likelihood = _torch_nb(counts, counts.sum(1, keepdim=True) * proportions, theta).sum(-1).mean(0)
    torch.testing.assert_close(terms.reconstruction, log_likelihood)
    torch.testing.assert_close(terms.kl, gaussian_kl(mean, log_var).sum(-1))


def test_vae_seed_fixes_the_initial_weights_and_leaves_the_global_state_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    first = CountVAE(12, n_latent=3, n_hidden=8, seed=4)
    after = torch.rand(1)
    assert torch.equal(before, after)
    second = CountVAE(12, n_latent=3, n_hidden=8, seed=4)
    third = CountVAE(12, n_latent=3, n_hidden=8, seed=5)
    state = second.state_dict()
    assert all(torch.equal(value, state[key]) for key, value in first.state_dict().items())
    assert not torch.equal(first.encoder[0].weight, third.encoder[0].weight)


def test_elbo_is_below_the_log_evidence_estimated_by_importance_sampling():
    counts = torch.tensor(_toy_counts(n_cells=4, n_genes=5, seed=8), dtype=torch.float64)
    model = CountVAE(5, n_latent=2, n_hidden=6, seed=3).double()
    generator = torch.Generator().manual_seed(0)
    n_draws = 20_000
    with torch.no_grad():
        elbo = model.elbo(counts, n_samples=n_draws, generator=generator).elbo
        mean, log_var = model.encode(counts)
        q = torch.distributions.Normal(mean, torch.exp(0.5 * log_var))
        z = q.sample((n_draws,))
        prior = torch.distributions.Normal(0.0, 1.0)
        log_mean = model.decode_log_mean(z, counts.sum(1))
        log_joint = _torch_nb(counts, log_mean.exp(), model.inverse_dispersion).sum(-1) + prior.log_prob(z).sum(-1)
        log_weights = log_joint - q.log_prob(z).sum(-1)
        log_evidence = torch.logsumexp(log_weights, 0) - math.log(n_draws)
        # an independent estimate: the same evidence averaged over the prior instead of q
        z_prior = torch.randn((400_000, 4, 2), generator=generator, dtype=torch.float64)
        log_likelihood = _torch_nb(
            counts, model.decode_log_mean(z_prior, counts.sum(1)).exp(), model.inverse_dispersion
        )
        prior_estimate = torch.logsumexp(log_likelihood.sum(-1), 0) - math.log(400_000)
    assert torch.all(elbo < log_evidence), (elbo, log_evidence)
    torch.testing.assert_close(log_evidence, prior_estimate, rtol=0, atol=0.05)
    # Jensen's gap here is the expected KL(q || posterior): positive, and not negligible for an untrained encoder
    assert torch.all(log_evidence - elbo > 0.05)


def test_gradients_reach_every_parameter():
    model = CountVAE(12, n_latent=3, n_hidden=8, seed=0)
    (-model.elbo(_toy_counts()).elbo.mean()).backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and torch.any(parameter.grad != 0), name


# ---------------------------------------------------------------- train_vae
def test_training_is_deterministic_under_a_seed_and_increases_the_elbo():
    counts = _toy_counts(n_cells=60)
    options = {"n_epochs": 25, "batch_size": 16, "lr": 1e-2, "kl_warmup_epochs": 5, "seed": 11}
    histories = []
    for _ in range(2):
        model = CountVAE(12, n_latent=3, n_hidden=16, seed=0)
        histories.append(train_vae(model, counts[:50], validation=counts[50:], progress=False, **options))
    first, second = histories
    assert isinstance(first, TrainingHistory)
    assert first.train_elbo.shape == first.validation_elbo.shape == first.kl_weight.shape == (25,)
    np.testing.assert_array_equal(first.train_elbo, second.train_elbo)
    np.testing.assert_array_equal(first.validation_elbo, second.validation_elbo)
    np.testing.assert_allclose(first.kl_weight[:7], [0, 0.2, 0.4, 0.6, 0.8, 1, 1])
    assert first.train_elbo[-1] > first.train_elbo[0] + 4  # nats per cell
    assert first.validation_elbo[-1] > first.validation_elbo[0] + 3
    # another seed shuffles and samples differently
    other = train_vae(
        CountVAE(12, n_latent=3, n_hidden=16, seed=0), counts[:50], **{**options, "seed": 12}, progress=False
    )
    assert not np.array_equal(other.train_elbo, first.train_elbo)


def test_training_without_validation_and_without_warmup():
    history = train_vae(CountVAE(12, n_latent=2, n_hidden=8, seed=1), _toy_counts(), 3, 7, 1e-3, 0, 0, progress=False)
    assert history.validation_elbo is None
    np.testing.assert_array_equal(history.kl_weight, np.ones(3))


@pytest.mark.parametrize(
    ("change", "error", "name"),
    [
        ({"model": torch.nn.Linear(3, 3)}, TypeError, "model"),
        ({"counts": np.ones((5, 11))}, ValueError, "12 columns"),
        ({"counts": -np.ones((5, 12))}, ValueError, "negative"),
        ({"counts": np.full((5, 12), 0.5)}, ValueError, "non-integer"),
        ({"counts": "counts"}, TypeError, "counts"),
        ({"n_epochs": 2.0}, TypeError, "n_epochs"),
        ({"n_epochs": 0}, ValueError, "n_epochs"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"lr": -1e-3}, ValueError, "lr"),
        ({"lr": "fast"}, TypeError, "lr"),
        ({"kl_warmup_epochs": -1}, ValueError, "kl_warmup_epochs"),
        ({"seed": 1.5}, TypeError, "seed"),
        ({"validation": np.ones((3, 5))}, ValueError, "validation"),
        ({"progress": "yes"}, TypeError, "progress"),
    ],
)
def test_train_vae_bad_inputs(change, error, name):
    arguments = {
        "model": CountVAE(12, n_latent=2, n_hidden=4, seed=0),
        "counts": _toy_counts(n_cells=5),
        "n_epochs": 1,
        "batch_size": 4,
        "lr": 1e-3,
        "kl_warmup_epochs": 0,
        "seed": 0,
        "progress": False,
    }
    with pytest.raises(error, match=name):
        train_vae(**{**arguments, **change})


def test_genes_by_cells_table_is_refused_with_a_hint():
    model = CountVAE(12, n_latent=2, n_hidden=4, seed=0)
    with pytest.raises(ValueError, match="transpose"):
        model.elbo(_toy_counts(n_cells=5).T)


@pytest.mark.parametrize(
    ("arguments", "error", "name"),
    [
        ({"n_genes": 0}, ValueError, "n_genes"),
        ({"n_genes": 5.0}, TypeError, "n_genes"),
        ({"n_genes": 5, "n_latent": 0}, ValueError, "n_latent"),
        ({"n_genes": 5, "seed": -1}, ValueError, "seed"),
    ],
)
def test_count_vae_bad_arguments(arguments, error, name):
    with pytest.raises(error, match=name):
        CountVAE(**arguments)


def test_elbo_bad_arguments():
    model = CountVAE(12, n_latent=2, n_hidden=4, seed=0)
    counts = _toy_counts(n_cells=5)
    with pytest.raises(ValueError, match="kl_weight"):
        model.elbo(counts, kl_weight=1.5)
    with pytest.raises(ValueError, match="n_samples"):
        model.elbo(counts, n_samples=0)
    with pytest.raises(TypeError, match="generator"):
        model.elbo(counts, generator=3)


def test_encode_accepts_arrays_and_other_dtypes_as_the_tensor_it_would_be():
    counts = _toy_counts(n_cells=6)
    model = CountVAE(12, n_latent=3, n_hidden=8, seed=0)
    reference = model.encode(torch.tensor(counts, dtype=torch.float32))
    for given in (counts, counts.astype(np.int64), torch.tensor(counts, dtype=torch.float64), counts.tolist()):
        for got, expected in zip(model.encode(given), reference, strict=True):
            assert got.dtype == torch.float32
            torch.testing.assert_close(got, expected)


@pytest.mark.parametrize(
    ("counts", "error", "match"),
    [
        (np.full((5, 12), "3"), TypeError, "counts must be numeric"),
        (np.ones((5, 12), dtype=bool), TypeError, "counts"),
        (np.ones((5, 11)), ValueError, r"counts must be cells x genes with 12 columns, got shape \(5, 11\)"),
        (np.ones((12, 5)), ValueError, "transpose"),
        (np.ones(12), ValueError, "counts"),
        (np.full((5, 12), -1.0), ValueError, "counts contains negative"),
        (np.full((5, 12), 0.5), ValueError, "counts contains non-integer"),
        (np.full((5, 12), np.nan), ValueError, "counts contains NaN"),
    ],
)
def test_encode_bad_inputs_name_the_argument(counts, error, match):
    model = CountVAE(12, n_latent=3, n_hidden=8, seed=0)
    with pytest.raises(error, match=match):
        model.encode(counts)
    with pytest.raises(error, match=match):  # the same message for a tensor
        model.encode(torch.tensor(counts) if counts.dtype.kind in "fb" else counts)


def test_decode_log_mean_accepts_arrays_and_keeps_the_graph():
    model = CountVAE(12, n_latent=3, n_hidden=8, seed=0)
    z = torch.randn(2, 4, 3, requires_grad=True)  # two Monte Carlo samples of 4 cells
    library = np.array([120.0, 75.0, 300.0, 41.0])
    log_mean = model.decode_log_mean(z, library)
    assert log_mean.shape == (2, 4, 12)
    torch.testing.assert_close(log_mean.exp().sum(-1), torch.tensor(library, dtype=torch.float32).expand(2, 4))
    log_mean.sum().backward()
    assert z.grad is not None and torch.all(torch.isfinite(z.grad))
    torch.testing.assert_close(model.decode_log_mean(z.detach().numpy(), library), log_mean.detach())
    one = model.decode_log_mean(z[0, 0].detach(), 50.0)  # one cell, a scalar library size
    assert one.shape == (12,) and float(one.detach().exp().sum()) == pytest.approx(50.0, rel=1e-5)


@pytest.mark.parametrize(
    ("z", "library_size", "error", "match"),
    [
        (torch.zeros(4, 3), torch.tensor([10.0, 0.0, 5.0, 7.0]), ValueError, "library_size must be positive"),
        (torch.zeros(4, 3), torch.tensor([10.0, -2.0, 5.0, 7.0]), ValueError, "library_size must be positive"),
        (torch.zeros(4, 3), torch.tensor([10.0, np.nan, 5.0, 7.0]), ValueError, "library_size contains NaN"),
        (torch.zeros(4, 3), torch.ones(5), ValueError, r"library_size must hold one value per cell, shape \(4,\)"),
        (torch.zeros(4, 3), torch.ones(4, 1), ValueError, "library_size must hold one value per cell"),
        (torch.zeros(4, 3), "100", TypeError, "library_size must be numeric"),
        (torch.zeros(4, 5), torch.ones(4), ValueError, r"z must have shape \(\.\.\., n_cells, 3\)"),
        (torch.zeros(3, 4), torch.ones(4), ValueError, "z must have shape"),
        (torch.tensor(0.5), torch.ones(1), ValueError, "z must have shape"),
        (np.full((4, 3), "a"), torch.ones(4), TypeError, "z must be numeric"),
        (torch.zeros(4, 3, dtype=torch.bool), torch.ones(4), TypeError, "z must be a real numeric tensor"),
    ],
)
def test_decode_log_mean_bad_inputs_name_the_argument(z, library_size, error, match):
    model = CountVAE(12, n_latent=3, n_hidden=8, seed=0)
    with pytest.raises(error, match=match):
        model.decode_log_mean(z, library_size)
