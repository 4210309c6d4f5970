"""utils.dispersion against independent references: SciPy's NB pmf, autograd, mpmath, per-gene SciPy optimisers."""

import mpmath
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq, minimize, minimize_scalar
from scipy.special import digamma, gammaln
from scipy.stats import nbinom

from utils import dispersion
from utils.data import load_pasilla
from utils.glm import fit_nb_glm, size_factors_median_of_ratios
from utils.linear_models import design_matrix

LOWER, UPPER = np.log(1e-8), np.log(10.0)


def _problem(seed, n_genes=40, n_samples=7):
    rng = np.random.default_rng(seed)
    design = np.column_stack([np.ones(n_samples), np.arange(n_samples) % 2, (np.arange(n_samples) >= 4).astype(float)])
    means = np.exp(rng.normal(3, 2, (n_genes, 1)) + rng.normal(0, 0.4, (n_genes, n_samples)))
    alpha = np.exp(rng.uniform(-6, 0, n_genes))
    counts = rng.negative_binomial(1 / alpha[:, None], 1 / (1 + alpha[:, None] * means)).astype(float)
    return counts, means, design


# ---------------------------------------------------------------------------------- the terms
def test_log_likelihood_matches_scipy_pmf():
    counts, means, _ = _problem(1)
    theta = np.linspace(-9, 1.5, counts.shape[0])
    alpha = np.exp(theta)[:, None]
    expected = nbinom.logpmf(counts, 1 / alpha, 1 / (1 + alpha * means)).sum(axis=1)
    assert np.allclose(dispersion.nb_log_likelihood(counts, means, theta).value, expected, rtol=1e-11, atol=1e-9)


def _torch_objectives(counts, means, design, theta):
    t = torch.tensor(theta, requires_grad=True)
    k, mu, x = (torch.tensor(v) for v in (counts, means, design))
    alpha = torch.exp(t)[:, None]
    size = 1 / alpha
    nb = (
        torch.lgamma(k + size) - torch.lgamma(size) - torch.lgamma(k + 1) - (k + size) * torch.log1p(alpha * mu)
    ) + k * torch.log(alpha * mu)
    weights = mu / (1 + alpha * mu)
    cr = 0.5 * torch.logdet(torch.einsum("jp,gj,jq->gpq", x, weights, x))
    return t, nb.sum(dim=1), cr


@pytest.mark.parametrize("which", ["nb", "cox_reid"])
def test_first_and_second_derivatives_match_autograd(which):
    counts, means, design = _problem(2)
    theta = np.random.default_rng(3).uniform(-7, 2, counts.shape[0])
    t, nb, cr = _torch_objectives(counts, means, design, theta)
    value = nb if which == "nb" else cr
    (first,) = torch.autograd.grad(value.sum(), t, create_graph=True)
    (second,) = torch.autograd.grad(first.sum(), t)
    ours = (
        dispersion.nb_log_likelihood(counts, means, theta)
        if which == "nb"
        else dispersion.cox_reid_term(means, design, theta)
    )
    scale = 1 + np.abs(counts).sum(axis=1) if which == "nb" else 1.0
    assert np.allclose(ours.value, value.detach().numpy(), rtol=1e-12, atol=1e-10)
    assert np.all(np.abs(ours.first - first.detach().numpy()) <= 1e-10 * scale)
    assert np.all(np.abs(ours.second - second.numpy()) <= 1e-9 * scale)


def test_derivatives_match_finite_differences_of_themselves():
    counts, means, design = _problem(4)
    theta = np.random.default_rng(5).uniform(-12, 2, counts.shape[0])
    step = 1e-5
    for function, args in (
        (dispersion.nb_log_likelihood, (counts, means)),
        (dispersion.cox_reid_term, (means, design)),
    ):
        centre, plus, minus = (function(*args, theta + h) for h in (0.0, step, -step))
        scale = 1 + np.abs(centre.second)
        assert np.all(np.abs((plus.first - minus.first) / (2 * step) - centre.second) <= 1e-5 * scale)


def test_large_size_branch_matches_mpmath():
    # at tiny alpha (r = 1/alpha >= 100) the Stirling branch is used; mpmath at 40 digits is the reference
    mpmath.mp.dps = 40
    counts = np.array([[0.0, 1.0, 3.0, 17.0, 250.0, 40000.0]])
    for theta in (np.log(1 / 150.0), -9.0, -17.5):
        r = mpmath.exp(-mpmath.mpf(theta))
        terms = dispersion._gamma_differences(counts.T, np.array([float(r)]))  # samples x genes
        for j, k in enumerate(counts[0]):
            k = mpmath.mpf(k)
            exact = (
                mpmath.loggamma(k + r) - mpmath.loggamma(r) - k * mpmath.log(r),
                mpmath.digamma(k + r) - mpmath.digamma(r),
                mpmath.psi(1, k + r) - mpmath.psi(1, r),
            )
            for ours, reference in zip(terms, exact, strict=True):
                assert abs(ours[j, 0] - float(reference)) <= 1e-13 * abs(float(reference)) + 1e-15 * (1 + float(k))


def test_trigamma_matches_scipy():
    from scipy.special import polygamma

    x = np.geomspace(1e-3, 1e9, 500).reshape(20, 25).T  # a non-contiguous (Fortran-ordered) array on purpose
    assert np.allclose(dispersion._trigamma(x), polygamma(1, x), rtol=1e-14, atol=0)


def test_cox_reid_value_is_half_log_det():
    _, means, design = _problem(6)
    theta = np.linspace(-5, 1, means.shape[0])
    alpha = np.exp(theta)[:, None]
    information = np.einsum("jp,gj,jq->gpq", design, means / (1 + alpha * means), design)
    expected = 0.5 * np.linalg.slogdet(information)[1]
    assert np.allclose(dispersion.cox_reid_term(means, design, theta).value, expected, rtol=1e-12)


def test_adjusted_log_likelihood_is_the_difference():
    counts, means, design = _problem(7)
    theta = -3.3
    total = dispersion.adjusted_log_likelihood(counts, means, design, theta)
    nb = dispersion.nb_log_likelihood(counts, means, theta)
    cr = dispersion.cox_reid_term(means, design, theta)
    for name in ("value", "first", "second"):
        assert np.allclose(getattr(total, name), getattr(nb, name) - getattr(cr, name), rtol=1e-14, atol=1e-12)
    plain = dispersion.adjusted_log_likelihood(counts, means, design, theta, cox_reid=False)
    assert np.array_equal(plain.value, nb.value)


# ---------------------------------------------------------------------------------- the fit vs per-gene SciPy
def _plain_objective(theta, k, mu, x):
    """-l_CR for one gene, written the way one writes it for scipy (independent of utils.dispersion)."""
    alpha = np.exp(theta)
    size = 1 / alpha
    log_likelihood = np.sum(
        gammaln(k + size) - gammaln(size) - gammaln(k + 1) - (k + size) * np.log1p(alpha * mu) + k * np.log(alpha * mu)
    )
    weights = mu / (1 + alpha * mu)
    return -log_likelihood + 0.5 * np.linalg.slogdet((x.T * weights) @ x)[1]


def _exact_objective(theta, k, mu, x):
    """-l_CR for one gene with the log-likelihood summed in 40-digit arithmetic (mpmath)."""
    with mpmath.workdps(40):
        alpha = mpmath.exp(mpmath.mpf(float(theta)))
        size = 1 / alpha
        log_likelihood = mpmath.fsum(
            mpmath.loggamma(kj + size)
            - mpmath.loggamma(size)
            - mpmath.loggamma(kj + 1)
            - (kj + size) * mpmath.log1p(alpha * muj)
            + kj * mpmath.log(alpha * muj)
            for kj, muj in zip(map(mpmath.mpf, k.tolist()), map(mpmath.mpf, mu.tolist()), strict=True)
        )
        weights = mu / (1 + float(alpha) * mu)
        return float(-log_likelihood) + 0.5 * np.linalg.slogdet((x.T * weights) @ x)[1]


def _plain_gradient(theta, k, mu, x):
    alpha = np.exp(theta)
    size = 1 / alpha
    nb = np.sum(size * (np.log1p(alpha * mu) - digamma(k + size) + digamma(size)) + (k - mu) / (1 + alpha * mu))
    weights = mu / (1 + alpha * mu)
    leverage = np.einsum("jp,pq,jq->j", x, np.linalg.inv((x.T * weights) @ x), x)
    return -nb - 0.5 * np.sum(alpha * weights**2 * leverage)


@pytest.fixture(scope="module")
def pasilla_fit():
    pasilla = load_pasilla()
    counts = pasilla.counts[pasilla.counts.sum(axis=1) > 0]
    design = design_matrix(pasilla.samples, ["type", "condition"])
    size_factors = size_factors_median_of_ratios(counts)
    glm = fit_nb_glm(counts, design, size_factors, dispersion=dispersion.moments_dispersions(counts, size_factors))
    subset = np.sort(np.random.default_rng(11).choice(counts.shape[0], 200, replace=False))
    values, means = counts.to_numpy(dtype=float)[subset], glm.fitted_means[subset]
    fit = dispersion.fit_dispersions(values, means, design)
    return values, means, design.to_numpy(), fit


def test_fit_matches_per_gene_brent(pasilla_fit):
    values, means, design, fit = pasilla_fit
    assert fit.converged.all()
    interior = ~fit.at_bound
    brent = np.array(
        [
            minimize_scalar(
                _plain_objective,
                bounds=(LOWER, UPPER),
                method="bounded",
                args=(k, mu, design),
                options={"xatol": 1e-10},
            ).x
            for k, mu in zip(values, means, strict=True)
        ]
    )
    difference = np.abs(brent - fit.log_dispersion)
    gap = np.array(
        [
            _plain_objective(b, k, mu, design) - _plain_objective(t, k, mu, design)
            for b, t, k, mu in zip(brent, fit.log_dispersion, values, means, strict=True)
        ]
    )
    # Brent compares values only: on an interior gene it agrees to 1e-6, or the two points' objective values are
    # equal to within the plain formula's rounding (~1e-9 for counts near 1e5), and then the exact objective
    # (mpmath, 40 digits) must not prefer Brent's point
    far = np.flatnonzero(interior & (difference > 1e-6))
    assert np.all(np.abs(gap[far]) <= 1e-8)
    for gene in far:
        k, mu = values[gene], means[gene]
        assert (
            _exact_objective(fit.log_dispersion[gene], k, mu, design)
            <= _exact_objective(brent[gene], k, mu, design) + 1e-12
        )
    assert np.mean(difference[interior] <= 1e-6) > 0.6
    assert gap[interior].min() > -1e-8  # Brent never finds a clearly better point
    # at the lower bound the likelihood is flat: Brent stops anywhere in the flat part, where the objective is the
    # same to the plain formula's rounding (~1e-7 at alpha = 1e-8)
    at_lower = fit.log_dispersion <= LOWER
    assert np.all(gap[at_lower] > -1e-6)


def test_fit_matches_a_per_gene_root_of_the_gradient_to_1e6(pasilla_fit):
    # brentq on the independent analytic gradient near Brent's answer: precise to ~1e-12 in log alpha
    values, means, design, fit = pasilla_fit
    for k, mu, theta, at_bound in zip(values, means, fit.log_dispersion, fit.at_bound, strict=True):
        if at_bound:
            continue
        root = brentq(_plain_gradient, theta - 0.05, theta + 0.05, args=(k, mu, design), xtol=1e-13)
        assert abs(root - theta) <= 1e-6


def test_fit_matches_per_gene_lbfgsb_where_it_converges(pasilla_fit):
    values, means, design, fit = pasilla_fit
    compared = 0
    for k, mu, theta, at_bound in list(zip(values, means, fit.log_dispersion, fit.at_bound, strict=True))[:60]:
        shift = _plain_objective(np.log(0.1), k, mu, design)  # L-BFGS-B's ftol is relative to |f|
        result = minimize(
            lambda t, k=k, mu=mu, shift=shift: _plain_objective(t[0], k, mu, design) - shift,
            x0=[np.log(0.1)],
            jac=lambda t, k=k, mu=mu: np.array([_plain_gradient(t[0], k, mu, design)]),
            method="L-BFGS-B",
            bounds=[(LOWER, UPPER)],
            options={"ftol": 1e-15, "gtol": 1e-10},
        )
        if not result.success or at_bound:
            continue
        compared += 1
        gap = _plain_objective(result.x[0], k, mu, design) - _plain_objective(theta, k, mu, design)
        assert abs(result.x[0] - theta) <= 1e-6 or abs(gap) <= 1e-9
    assert compared >= 20


def test_bounds_and_maximum_likelihood_option(pasilla_fit):
    values, means, design, fit = pasilla_fit
    mle = dispersion.fit_dispersions(values, means, design, cox_reid=False)
    assert np.all(fit.log_dispersion >= mle.log_dispersion - 1e-8)  # the adjustment only ever raises alpha
    assert fit.bounds == (1e-8, 10.0) and fit.cox_reid and not mle.cox_reid
    narrow = dispersion.fit_dispersions(values, means, design, bounds=(1e-3, 0.5))
    assert np.all((narrow.dispersion >= 1e-3 * (1 - 1e-12)) & (narrow.dispersion <= 0.5 * (1 + 1e-12)))
    assert np.array_equal(narrow.at_bound, np.isclose(narrow.dispersion, 1e-3) | np.isclose(narrow.dispersion, 0.5))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n_genes=st.integers(1, 12))
def test_fit_is_a_stationary_point_or_on_a_bound(seed, n_genes):
    counts, means, design = _problem(seed, n_genes=n_genes)
    fit = dispersion.fit_dispersions(counts, means, design)
    derivatives = dispersion.adjusted_log_likelihood(counts, means, design, fit.log_dispersion)
    interior = ~fit.at_bound
    assert fit.converged.all()
    assert np.all(np.abs(derivatives.first[interior]) <= 1e-6 * (1 + np.abs(derivatives.second[interior])))
    assert np.all(derivatives.second[interior] <= 1e-8)  # a maximum of l_CR
    assert np.allclose(fit.log_likelihood, derivatives.value, rtol=1e-12, atol=1e-9)


def test_dataframes_keep_names_and_labels_are_checked():
    counts, means, design = _problem(8, n_genes=5)
    samples = [f"s{j}" for j in range(counts.shape[1])]
    genes = [f"g{i}" for i in range(counts.shape[0])]
    counts_frame = pd.DataFrame(counts, index=genes, columns=samples)
    means_frame = pd.DataFrame(means, index=genes, columns=samples)
    design_frame = pd.DataFrame(design, index=samples, columns=["a", "b", "c"])
    fit = dispersion.fit_dispersions(counts_frame, means_frame, design_frame)
    assert fit.gene_names == tuple(genes)
    assert np.allclose(fit.log_dispersion, dispersion.fit_dispersions(counts, means, design).log_dispersion)
    with pytest.raises(ValueError, match="design.index"):
        dispersion.fit_dispersions(counts_frame, means_frame, design_frame.iloc[::-1])
    with pytest.raises(ValueError, match="means.columns"):
        dispersion.fit_dispersions(counts_frame, means_frame[samples[::-1]], design_frame)
    with pytest.raises(ValueError, match="means.index"):
        dispersion.fit_dispersions(counts_frame, means_frame.iloc[::-1], design_frame)


def test_moments_dispersions():
    counts, _, _ = _problem(9)
    factors = np.linspace(0.6, 1.7, counts.shape[1])
    normalised = counts / factors
    mean, variance = normalised.mean(axis=1), normalised.var(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.clip((variance - mean * np.mean(1 / factors)) / mean**2, 1e-8, 10)
    expected = np.where(mean > 0, expected, 1e-8)
    assert np.allclose(dispersion.moments_dispersions(counts, factors), expected, rtol=1e-12)


# ---------------------------------------------------------------------------------- bad inputs
@pytest.fixture
def small():
    return _problem(10, n_genes=4)


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda c, m, x: (c.astype(str), m, x), TypeError, "counts"),
        (lambda c, m, x: (-c - 1, m, x), ValueError, "negative"),
        (lambda c, m, x: (c + 0.5, m, x), ValueError, "non-integer"),
        (lambda c, m, x: (c, m[:, :-1], x), ValueError, "means"),
        (lambda c, m, x: (c, -m, x), ValueError, "means must be positive"),
        (lambda c, m, x: (c, np.where(m > 0, np.nan, m), x), ValueError, "means"),
        (lambda c, m, x: (c, m, x[:-1]), ValueError, "design"),
        (lambda c, m, x: (c, m, np.column_stack([x, x[:, 1]])), ValueError, "rank"),
        (lambda c, m, x: (c, m, np.column_stack([x] * 3)), ValueError, "design"),
        (lambda c, m, x: (c, m, x.astype(bool)), TypeError, "design"),
    ],
)
def test_fit_rejects_bad_arrays(small, change, error, match):
    with pytest.raises(error, match=match):
        dispersion.fit_dispersions(*change(*small))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"cox_reid": "yes"}, TypeError, "cox_reid"),
        ({"bounds": 3.0}, TypeError, "bounds"),
        ({"bounds": (1e-8,)}, TypeError, "bounds"),
        ({"bounds": (0.0, 10.0)}, ValueError, "bounds"),
        ({"bounds": (1.0, 0.5)}, ValueError, "bounds"),
        ({"bounds": ("a", 1.0)}, TypeError, "bounds"),
        ({"tol": -1.0}, ValueError, "tol"),
        ({"max_iter": 2.5}, TypeError, "max_iter"),
        ({"max_iter": 0}, ValueError, "max_iter"),
        ({"grid_size": 2}, ValueError, "grid_size"),
    ],
)
def test_fit_rejects_bad_settings(small, kwargs, error, match):
    with pytest.raises(error, match=match):
        dispersion.fit_dispersions(*small, **kwargs)


def test_terms_reject_bad_log_dispersion(small):
    counts, means, design = small
    with pytest.raises(ValueError, match="log_dispersion"):
        dispersion.nb_log_likelihood(counts, means, np.zeros(counts.shape[0] + 1))
    with pytest.raises(ValueError, match="log_dispersion"):
        dispersion.cox_reid_term(means, design, np.full(counts.shape[0], np.inf))
    with pytest.raises(TypeError, match="log_dispersion"):
        dispersion.adjusted_log_likelihood(counts, means, design, "small")
    with pytest.raises(ValueError, match="size_factors"):
        dispersion.moments_dispersions(counts, np.ones(counts.shape[1] + 1))


def test_gene_objective_evaluates_any_subset_in_blocks(monkeypatch):
    counts, means, design = _problem(3, n_genes=23)
    theta = np.random.default_rng(4).uniform(-6, 1, 23)
    whole = dispersion.adjusted_log_likelihood(counts, means, design, theta)
    objective = dispersion.gene_objective(counts, means, design)
    rows = np.array([17, 2, 2, 9, 22, 0])  # any order, repeats allowed
    monkeypatch.setattr(dispersion, "BLOCK_GENES", 4)  # blocks of 4 genes: 6 rows span two blocks
    for ours, reference in zip(objective(theta[rows], rows), whole, strict=True):
        np.testing.assert_allclose(ours, reference[rows], rtol=1e-13, atol=1e-13)
    empty = objective(np.array([]), np.array([], dtype=int))
    assert all(part.shape == (0,) for part in empty)
    with pytest.raises(ValueError, match="rows must index"):
        objective(np.zeros(1), np.array([23]))
    with pytest.raises(ValueError, match="same shape"):
        objective(np.zeros(2), np.array([1]))
    with pytest.raises(TypeError, match="cox_reid"):
        dispersion.gene_objective(counts, means, design, cox_reid=1)
