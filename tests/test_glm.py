"""utils.glm against statsmodels, a plain per-gene IRLS, closed forms, and every bad input it must refuse.

The deviance criterion controls the coefficients only to about sqrt(tol) times their standard error (the
likelihood is flat near its optimum), so the comparisons at 1e-6 run both fits to a tight tolerance.
"""

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import gmean

from utils.data import load_pasilla
from utils.glm import (
    DESEQ2_MIN_MEAN,
    LARGE_COEFFICIENT,
    GLMFit,
    _cholesky_batched,
    _cholesky_solve,
    _inverse_diagonal,
    deviance,
    fit_nb_glm,
    fit_poisson_glm,
    size_factors_median_of_ratios,
    validate_counts,
)
from utils.linear_models import design_matrix

TIGHT = 1e-14


def simulated(n_genes=40, n_samples=12, seed=0, family="nb"):
    """Counts from a known log-link model: intercept, a two-group factor and a continuous covariate."""
    rng = np.random.default_rng(seed)
    design = np.column_stack([np.ones(n_samples), np.repeat([0.0, 1.0], n_samples // 2), rng.normal(size=n_samples)])
    beta = np.column_stack([rng.uniform(2, 7, n_genes), rng.normal(0, 1, n_genes), rng.normal(0, 0.3, n_genes)])
    size_factors = np.exp(rng.normal(0, 0.3, n_samples))
    dispersion = rng.uniform(0.01, 0.5, n_genes)
    mu = size_factors * np.exp(beta @ design.T)
    if family == "poisson":
        counts = rng.poisson(mu)
    else:
        counts = rng.negative_binomial(1 / dispersion[:, None], 1 / (1 + dispersion[:, None] * mu))
    return counts, design, size_factors, dispersion


def statsmodels_fit(y, design, size_factors, dispersion=None):
    family = sm.families.Poisson() if dispersion is None else sm.families.NegativeBinomial(alpha=dispersion)
    offset = np.log(size_factors)
    return sm.GLM(y, design, family=family, offset=offset).fit(tol=1e-13, maxiter=300)


def reference_irls(y, design, size_factors, dispersion, min_mean, tol=TIGHT, max_iter=500):
    """One gene, written plainly (DESeq2's fitBeta without the ridge): the batched fit must reproduce it."""
    offset = np.log(size_factors)
    beta = np.linalg.lstsq(design, np.log(y + 0.1) - offset, rcond=None)[0]
    mu = np.maximum(np.exp(design @ beta + offset), min_mean)
    old = deviance(y[None], mu[None], dispersion)[0]
    for _ in range(max_iter):
        weights = mu / (1 + dispersion * mu)
        working = np.log(mu) - offset + (y - mu) / mu
        weighted = design * weights[:, None]
        beta = np.linalg.solve(design.T @ weighted, weighted.T @ working)
        mu = np.maximum(np.exp(design @ beta + offset), min_mean)
        new = deviance(y[None], mu[None], dispersion)[0]
        if abs(new - old) / (abs(new) + 0.1) < tol:
            break
        old = new
    return beta


@pytest.fixture(scope="module")
def pasilla_sample():
    """40 expressed pasilla genes (seeded sample), the design ~ type + condition, size factors, dispersions."""
    pasilla = load_pasilla()
    counts = pasilla.counts[pasilla.counts.sum(axis=1) > 0]
    samples = pasilla.samples
    design = design_matrix(samples, ["type", "condition"]).to_numpy()
    size_factors = size_factors_median_of_ratios(counts)
    rows = np.random.default_rng(1).choice(len(counts), 40, replace=False)
    values = counts.to_numpy()[rows]
    dispersion = 0.02 + 0.5 / (values / size_factors).mean(axis=1)
    return values, design, size_factors, dispersion


# --- agreement with statsmodels ------------------------------------------------------------------------------


def test_nb_matches_statsmodels_on_simulated_data():
    counts, design, size_factors, dispersion = simulated()
    fit = fit_nb_glm(counts, design, size_factors, dispersion=dispersion, tol=TIGHT)
    assert fit.converged.all() and not fit.floored.any()
    for gene in range(counts.shape[0]):
        reference = statsmodels_fit(counts[gene], design, size_factors, dispersion[gene])
        np.testing.assert_allclose(fit.coefficients[gene], reference.params, rtol=0, atol=1e-6)
        np.testing.assert_allclose(fit.standard_errors[gene], reference.bse, rtol=0, atol=1e-6)
        np.testing.assert_allclose(fit.deviance[gene], reference.deviance, rtol=1e-8)


def test_poisson_matches_statsmodels_on_simulated_data():
    counts, design, size_factors, _ = simulated(family="poisson", seed=3)
    fit = fit_poisson_glm(counts, design, size_factors, tol=TIGHT)
    assert fit.converged.all() and not fit.floored.any()
    assert fit.family == "poisson" and np.all(fit.dispersion == 0)
    for gene in range(counts.shape[0]):
        reference = statsmodels_fit(counts[gene], design, size_factors)
        np.testing.assert_allclose(fit.coefficients[gene], reference.params, rtol=0, atol=1e-6)
        np.testing.assert_allclose(fit.standard_errors[gene], reference.bse, rtol=0, atol=1e-6)
        np.testing.assert_allclose(fit.deviance[gene], reference.deviance, rtol=1e-8)


@pytest.mark.parametrize("family", ["nb", "poisson"])
def test_matches_statsmodels_on_real_pasilla_genes(pasilla_sample, family):
    values, design, size_factors, dispersion = pasilla_sample
    if family == "nb":
        fit = fit_nb_glm(values, design, size_factors, dispersion=dispersion, tol=TIGHT)
    else:
        fit = fit_poisson_glm(values, design, size_factors, tol=TIGHT)
    compared = np.flatnonzero(fit.converged & ~fit.floored)  # statsmodels has no floor on the means
    assert compared.size >= 25
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # perfect-separation warnings of statsmodels on near-zero genes
        for gene in compared:
            reference = statsmodels_fit(
                values[gene], design, size_factors, dispersion[gene] if family == "nb" else None
            )
            np.testing.assert_allclose(fit.coefficients[gene], reference.params, rtol=0, atol=1e-6)
            np.testing.assert_allclose(fit.standard_errors[gene], reference.bse, rtol=0, atol=1e-6)


def test_default_tolerance_is_close_to_the_optimum(pasilla_sample):
    values, design, size_factors, dispersion = pasilla_sample
    default = fit_nb_glm(values, design, size_factors, dispersion=dispersion)
    tight = fit_nb_glm(values, design, size_factors, dispersion=dispersion, tol=TIGHT)
    assert default.converged.all()
    np.testing.assert_allclose(default.coefficients, tight.coefficients, atol=1e-4)
    assert np.all(tight.iterations >= default.iterations)


def test_per_gene_size_factors_match_statsmodels_offsets():
    counts, design, size_factors, dispersion = simulated(n_genes=8, seed=5)
    rng = np.random.default_rng(6)
    normalisation = size_factors * np.exp(rng.normal(0, 0.2, counts.shape))  # genes x samples, as in edgeR/DESeq2
    fit = fit_nb_glm(counts, design, normalisation, dispersion=dispersion, tol=TIGHT)
    for gene in range(counts.shape[0]):
        reference = statsmodels_fit(counts[gene], design, normalisation[gene], dispersion[gene])
        np.testing.assert_allclose(fit.coefficients[gene], reference.params, rtol=0, atol=1e-6)


# --- batched = per gene -------------------------------------------------------------------------------------


def test_batched_fit_equals_per_gene_fits(pasilla_sample):
    values, design, size_factors, dispersion = pasilla_sample
    batched = fit_nb_glm(values, design, size_factors, dispersion=dispersion)
    for gene in range(values.shape[0]):
        single = fit_nb_glm(values[gene : gene + 1], design, size_factors, dispersion=dispersion[gene])
        np.testing.assert_allclose(batched.coefficients[gene], single.coefficients[0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(batched.standard_errors[gene], single.standard_errors[0], rtol=1e-10)
        assert batched.iterations[gene] == single.iterations[0]
        assert batched.converged[gene] == single.converged[0]


@pytest.mark.parametrize("min_mean", [0.5, 0.0])
def test_batched_fit_equals_a_plain_per_gene_irls(pasilla_sample, min_mean):
    values, design, size_factors, dispersion = pasilla_sample
    batched = fit_nb_glm(values, design, size_factors, dispersion=dispersion, min_mean=min_mean, tol=TIGHT)
    for gene in np.flatnonzero(batched.converged):
        expected = reference_irls(values[gene], design, size_factors, dispersion[gene], min_mean)
        np.testing.assert_allclose(batched.coefficients[gene], expected, rtol=0, atol=1e-6)


# --- the floor on fitted means ------------------------------------------------------------------------------


def zero_group_gene():
    design = np.column_stack([np.ones(6), np.repeat([0.0, 1.0], 3)])
    counts = np.array([[0, 0, 0, 25, 31, 19]])  # no count at all in the first group
    return counts, design, np.ones(6)


def test_floor_stops_a_zero_group_at_a_finite_estimate():
    counts, design, size_factors = zero_group_gene()
    fit = fit_nb_glm(counts, design, size_factors, dispersion=0.1)
    assert fit.converged[0] and fit.floored[0]
    assert fit.iterations[0] < 10
    np.testing.assert_allclose(fit.fitted_means[0, :3], DESEQ2_MIN_MEAN)
    assert np.all(np.abs(fit.coefficients) < LARGE_COEFFICIENT)
    # the fixed point: working response log(0.5) + (0 - 0.5)/0.5 in the zero group, so beta_0 = log(0.5) - 1
    np.testing.assert_allclose(fit.coefficients[0, 0], np.log(DESEQ2_MIN_MEAN) - 1, atol=1e-8)
    assert np.isfinite(fit.log2_fold_change(1)[0]) and np.isfinite(fit.standard_errors).all()


def test_without_floor_a_zero_group_drifts_and_is_never_reported_as_converged():
    counts, design, size_factors = zero_group_gene()
    for tol in (1e-6, 1e-8, 1e-10, 1e-12):
        fit = fit_nb_glm(counts, design, size_factors, dispersion=0.1, min_mean=0.0, tol=tol)
        # the deviance flattens while each step still lowers the zero group's log mean by about 1: whatever tol,
        # the fit runs on to the cap |beta| > 30 and is reported as not converged, long before max_iter
        assert not fit.converged[0], tol
        assert np.abs(fit.coefficients[0]).max() > LARGE_COEFFICIENT and fit.iterations[0] < 100
        assert not fit.floored[0]


def test_deviance_flattens_long_before_a_drifting_coefficient_stops():
    # why the deviance criterion alone is not enough: after 26 plain IRLS steps from beta = 0 towards beta_0 = -inf
    # the relative deviance change is below DESeq2's 1e-8, no coefficient has reached the cap of 30, and the step in the
    # zero group's log mean is still about -1
    counts, design, size_factors = zero_group_gene()
    y, beta = counts[0].astype(float), np.zeros(2)
    for _ in range(26):
        mu = np.exp(design @ beta)
        weights = mu / (1 + 0.1 * mu)
        working = design @ beta + (y - mu) / mu
        weighted = design * weights[:, None]
        new_beta = np.linalg.solve(design.T @ weighted, weighted.T @ working)
        old_deviance = deviance(counts, mu[None], 0.1)[0]
        new_deviance = deviance(counts, np.exp(design @ new_beta)[None], 0.1)[0]
        step, beta = new_beta - beta, new_beta
    assert abs(new_deviance - old_deviance) / (new_deviance + 0.1) < 1e-8
    assert np.abs(beta).max() < LARGE_COEFFICIENT
    np.testing.assert_allclose(step[0], -1.0, atol=0.01)


@pytest.mark.parametrize("min_mean", [DESEQ2_MIN_MEAN, 0.0])
@pytest.mark.parametrize("fitter", ["nb", "poisson"])
def test_all_zero_gene_is_flagged_not_fitted(min_mean, fitter):
    # DESeq2 reports NA for a gene without reads: no finite fold change, and never "converged"
    counts, design, size_factors, dispersion = simulated(n_genes=3, n_samples=6)
    counts = np.vstack([counts[:1], np.zeros((1, 6), dtype=int), counts[1:]])
    dispersion = np.r_[dispersion[:1], 0.1, dispersion[1:]]
    keywords = {"min_mean": min_mean, "tol": TIGHT}
    if fitter == "nb":
        fit = fit_nb_glm(counts, design, size_factors, dispersion=dispersion, **keywords)
        others = fit_nb_glm(counts[[0, 2, 3]], design, size_factors, dispersion=dispersion[[0, 2, 3]], **keywords)
    else:
        fit = fit_poisson_glm(counts, design, size_factors, **keywords)
        others = fit_poisson_glm(counts[[0, 2, 3]], design, size_factors, **keywords)
    np.testing.assert_array_equal(fit.all_zero, [False, True, False, False])
    assert np.isnan(fit.coefficients[1]).all() and np.isnan(fit.standard_errors[1]).all()
    assert np.isnan(fit.log2_fold_change(1)[1]) and np.isnan(fit.log2_standard_error(1)[1])
    assert not fit.converged[1] and fit.iterations[1] == 0 and not fit.floored[1]
    assert fit.deviance[1] == 0 and np.all(fit.fitted_means[1] == 0)
    # the other genes are fitted exactly as without the all-zero gene
    np.testing.assert_array_equal(fit.coefficients[[0, 2, 3]], others.coefficients)
    np.testing.assert_array_equal(fit.converged[[0, 2, 3]], others.converged)


def test_only_all_zero_genes_and_per_gene_size_factors():
    design = np.column_stack([np.ones(4), [0.0, 0.0, 1.0, 1.0]])
    fit = fit_poisson_glm(np.zeros((2, 4), dtype=int), design, np.ones(4))
    assert fit.all_zero.all() and np.isnan(fit.coefficients).all() and not fit.converged.any()
    counts = np.array([[0, 0, 0, 0], [3, 5, 9, 12]])
    per_gene = np.array([[1.0, 1.2, 0.8, 1.1], [0.9, 1.1, 1.3, 0.7]])
    fit = fit_poisson_glm(counts, design, per_gene, tol=TIGHT)
    alone = fit_poisson_glm(counts[1:], design, per_gene[1:], tol=TIGHT)
    np.testing.assert_array_equal(fit.coefficients[1], alone.coefficients[0])
    assert np.isnan(fit.coefficients[0]).all()


def test_max_iter_leaves_genes_unconverged():
    counts, design, size_factors, dispersion = simulated(n_genes=5)
    fit = fit_nb_glm(counts, design, size_factors, dispersion=dispersion, max_iter=1)
    assert not fit.converged.any() and np.all(fit.iterations == 1)
    assert np.isfinite(fit.coefficients).all()


# --- deviance, size factors, design scaling -----------------------------------------------------------------


def test_deviance_at_zero_counts_is_the_limit_not_nan():
    counts = np.array([[0, 3, 0, 7]])
    means = np.array([[1.5, 2.0, 0.2, 6.0]])
    alpha = 0.3
    y, mu = counts[0].astype(float), means[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        naive = np.where(y > 0, y * np.log(y / mu), 0.0)  # the limit y log(y / mu) -> 0 at y = 0
    poisson = 2 * np.sum(naive - (y - mu))
    nb = 2 * np.sum(naive - (y + 1 / alpha) * np.log((1 + alpha * y) / (1 + alpha * mu)))
    np.testing.assert_allclose(deviance(counts, means), [poisson], rtol=1e-12)
    np.testing.assert_allclose(deviance(counts, means, alpha), [nb], rtol=1e-12)
    np.testing.assert_allclose(
        deviance(counts, means, alpha), [sm.families.NegativeBinomial(alpha=alpha).deviance(y, mu)]
    )
    np.testing.assert_allclose(deviance(counts, means), [sm.families.Poisson().deviance(y, mu)])
    # a zero count contributes 2 mu (Poisson) and (2 / alpha) log(1 + alpha mu) (NB)
    np.testing.assert_allclose(deviance([[0]], [[1.5]]), [3.0])
    np.testing.assert_allclose(deviance([[0]], [[1.5]], alpha), [2 / alpha * np.log1p(alpha * 1.5)])


def test_deviance_per_gene_dispersion_and_bad_input():
    counts, means = np.array([[4, 0], [1, 9]]), np.array([[3.0, 1.0], [2.0, 8.0]])
    both = deviance(counts, means, np.array([0.0, 0.2]))
    np.testing.assert_allclose(both, [deviance(counts[:1], means[:1])[0], deviance(counts[1:], means[1:], 0.2)[0]])
    with pytest.raises(ValueError, match="means must have the shape"):
        deviance(counts, means[:, :1])
    with pytest.raises(ValueError, match="finite and positive"):
        deviance(counts, -means)
    with pytest.raises(ValueError, match="dispersion must be a scalar"):
        deviance(counts, means, [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="dispersion must be >= 0"):
        deviance(counts, means, -0.1)


def test_size_factors_against_an_independent_computation():
    pasilla = load_pasilla()
    counts = pasilla.counts
    expressed = counts[(counts > 0).all(axis=1)]
    expected = (expressed.div(gmean(expressed, axis=1), axis=0)).median(axis=0).to_numpy()
    np.testing.assert_allclose(size_factors_median_of_ratios(counts), expected, rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    column=st.integers(0, 4),
    factor=st.integers(2, 9),
)
def test_size_factors_scale_with_a_sample(seed, column, factor):
    """Multiplying sample j's counts by c multiplies s_j by c^(1 - 1/m) and every other s_k by c^(-1/m)."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(rng.uniform(5, 500, (60, 1)) * rng.uniform(0.5, 2, 5), size=(60, 5))
    scaled = counts.copy()
    scaled[:, column] *= factor
    expected = size_factors_median_of_ratios(counts) * factor ** (-1 / 5)
    expected[column] *= factor
    np.testing.assert_allclose(size_factors_median_of_ratios(scaled), expected, rtol=1e-10)


def test_size_factors_need_a_gene_without_zeros():
    with pytest.raises(ValueError, match="no gene that is non-zero in every sample"):
        size_factors_median_of_ratios(np.array([[0, 1], [2, 0]]))


def test_default_size_factors_are_median_of_ratios(pasilla_sample):
    values, design, _, dispersion = pasilla_sample
    pasilla = load_pasilla()
    counts = pasilla.counts.to_numpy()[:2000]
    default = fit_nb_glm(counts, design, dispersion=0.1)
    np.testing.assert_allclose(default.size_factors, size_factors_median_of_ratios(counts))


def test_rescaling_a_design_column_rescales_its_coefficient():
    counts, design, size_factors, dispersion = simulated(n_genes=10, seed=2)
    units = np.array([1.0, 1.0, 1e4])  # e.g. a covariate in other units: kappa(X) grows, the fit must not change
    plain = fit_nb_glm(counts, design, size_factors, dispersion=dispersion, tol=TIGHT)
    rescaled = fit_nb_glm(counts, design * units, size_factors, dispersion=dispersion, tol=TIGHT)
    np.testing.assert_allclose(rescaled.coefficients * units, plain.coefficients, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(rescaled.standard_errors * units, plain.standard_errors, rtol=1e-8)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), size=st.integers(1, 6), genes=st.integers(1, 20))
def test_batched_cholesky_solves_like_numpy(seed, size, genes):
    rng = np.random.default_rng(seed)
    factor = rng.normal(size=(genes, size + 3, size))
    matrices = factor.transpose(0, 2, 1) @ factor + 0.1 * np.eye(size)
    rhs = rng.normal(size=(genes, size))
    lower = _cholesky_batched(np.moveaxis(matrices, 0, -1))
    solution = _cholesky_solve(lower, rhs.T).T
    np.testing.assert_allclose(solution, np.linalg.solve(matrices, rhs[..., None])[..., 0], rtol=1e-8, atol=1e-10)
    inverse_diagonal = np.diagonal(np.linalg.inv(matrices), axis1=1, axis2=2)
    np.testing.assert_allclose(_inverse_diagonal(lower).T, inverse_diagonal, rtol=1e-8)


# --- the result object ----------------------------------------------------------------------------------------


def test_result_helpers_and_names():
    counts, design, size_factors, dispersion = simulated(n_genes=6)
    frame = pd.DataFrame(design, columns=["intercept", "treated", "age"])
    fit = fit_nb_glm(counts, frame, size_factors, dispersion=dispersion)
    assert isinstance(fit, GLMFit) and fit.column_names == ("intercept", "treated", "age")
    np.testing.assert_allclose(fit.log2_fold_change("treated"), fit.coefficients[:, 1] / np.log(2))
    np.testing.assert_allclose(fit.log2_fold_change(-1), fit.coefficients[:, 2] / np.log(2))
    np.testing.assert_allclose(fit.log2_standard_error("treated"), fit.standard_errors[:, 1] / np.log(2))
    assert fit.coefficients.shape == fit.standard_errors.shape == (6, 3)
    assert fit.fitted_means.shape == counts.shape and fit.deviance.shape == (6,)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fit.min_mean = 0.0
    with pytest.raises(ValueError, match="not in the design"):
        fit.log2_fold_change("batch")
    with pytest.raises(ValueError, match="out of range"):
        fit.log2_fold_change(3)
    with pytest.raises(TypeError, match="column must be"):
        fit.log2_fold_change(1.0)
    named = fit_nb_glm(counts, design, size_factors, dispersion=0.1, column_names=["a", "b", "c"])
    assert named.column_names == ("a", "b", "c")
    assert fit_nb_glm(counts, design, size_factors, dispersion=0.1).column_names == ("x0", "x1", "x2")


# --- bad inputs -----------------------------------------------------------------------------------------------


def good_inputs():
    counts, design, size_factors, _ = simulated(n_genes=4, n_samples=6)
    return counts, design, size_factors


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c + 0.5, "non-integer"),
        (lambda c: c - c.max() - 1, "negative"),
        (lambda c: np.where(c == c.max(), np.nan, c), "NaN or infinite"),
        (lambda c: np.where(c == c.max(), np.inf, c), "NaN or infinite"),
        (lambda c: c[0], "2-D matrix"),
        (lambda c: c[:, :5], "5 samples .* design has 6 rows"),
        (lambda c: c.T, "samples .* design has 6 rows"),
        (lambda c: c[:0], "must not be empty"),
    ],
)
@pytest.mark.parametrize("fitter", ["nb", "poisson"])
def test_bad_counts_raise(change, message, fitter):
    counts, design, size_factors = good_inputs()
    bad = change(counts.astype(float))
    with pytest.raises(ValueError, match=message):
        if fitter == "nb":
            fit_nb_glm(bad, design, size_factors, dispersion=0.1)
        else:
            fit_poisson_glm(bad, design, size_factors)


@pytest.mark.parametrize("change", [lambda c: c.astype(str), lambda c: c > 3, lambda c: c.astype(object)])
@pytest.mark.parametrize("fitter", ["nb", "poisson"])
def test_non_numeric_counts_raise_type_error(change, fitter):
    counts, design, size_factors = good_inputs()
    with pytest.raises(TypeError, match="counts must be numeric"):
        if fitter == "nb":
            fit_nb_glm(change(counts), design, size_factors, dispersion=0.1)
        else:
            fit_poisson_glm(change(counts), design, size_factors)
    with pytest.raises(TypeError, match="counts must be numeric"):
        size_factors_median_of_ratios(change(counts))
    with pytest.raises(TypeError, match="my_table must be numeric"):
        validate_counts(change(counts), "my_table")


def test_design_rows_in_another_order_than_the_counts_columns_raise():
    counts, design, size_factors = good_inputs()
    samples = [f"sample{j}" for j in range(design.shape[0])]
    table = pd.DataFrame(counts, columns=samples)
    frame = pd.DataFrame(design, index=samples, columns=["intercept", "group", "covariate"])
    with pytest.raises(ValueError, match=r"same samples in a different order"):
        fit_nb_glm(table, frame.iloc[::-1], size_factors, dispersion=0.1)
    aligned = fit_nb_glm(table, frame.iloc[::-1].loc[samples], size_factors, dispersion=0.1)
    plain = fit_nb_glm(counts, design, size_factors, dispersion=0.1)
    np.testing.assert_allclose(aligned.coefficients, plain.coefficients)


@pytest.mark.parametrize("fitter", ["nb", "poisson"])
def test_design_whose_labels_differ_from_the_counts_columns_raise(fitter):
    # different labels used to be paired by position: each sample silently met another sample's row
    counts, design, size_factors = good_inputs()
    samples = [f"sample{j}" for j in range(design.shape[0])]
    table = pd.DataFrame(counts, columns=samples)
    columns = ["intercept", "group", "covariate"]
    renamed = pd.DataFrame(design, index=[f"S{j}" for j in range(design.shape[0])], columns=columns)
    default_index = pd.DataFrame(design, columns=columns)  # a RangeIndex: no sample names at all
    one_swapped = pd.DataFrame(design, index=[*samples[:-1], "sample99"], columns=columns)
    for frame in (renamed, default_index, one_swapped):
        with pytest.raises(ValueError, match=r"counts.columns and design.index must name the same samples"):
            if fitter == "nb":
                fit_nb_glm(table, frame, size_factors, dispersion=0.1)
            else:
                fit_poisson_glm(table, frame, size_factors)
    # bare arrays on either side carry no labels and are paired by position, as documented
    plain = fit_nb_glm(counts, renamed, size_factors, dispersion=0.1)
    np.testing.assert_allclose(plain.coefficients, fit_nb_glm(table, design, size_factors, dispersion=0.1).coefficients)


def test_design_matrix_of_a_samples_table_pairs_with_the_counts():
    pasilla = load_pasilla()
    counts = pasilla.counts.iloc[:30]
    design = design_matrix(pasilla.samples, ["type", "condition"])
    size_factors = size_factors_median_of_ratios(pasilla.counts)
    fit = fit_nb_glm(counts, design, size_factors, dispersion=0.1)
    assert fit.column_names == tuple(design.columns)
    shuffled = design_matrix(pasilla.samples.iloc[[3, 0, 6, 1, 5, 2, 4]], ["type", "condition"])
    with pytest.raises(ValueError, match="different order"):
        fit_nb_glm(counts, shuffled, size_factors, dispersion=0.1)
    realigned = fit_nb_glm(counts, shuffled.loc[counts.columns], size_factors, dispersion=0.1)
    np.testing.assert_array_equal(realigned.coefficients, fit.coefficients)


def test_non_numeric_design_frame_raises_type_error():
    counts, design, size_factors = good_inputs()
    frame = pd.DataFrame(design, columns=["intercept", "group", "covariate"]).assign(
        group=lambda d: d["group"].map(str)
    )
    with pytest.raises(TypeError, match="design must hold numbers"):
        fit_nb_glm(counts, frame, size_factors, dispersion=0.1)


def test_validate_counts_accepts_integer_valued_floats_and_frames():
    table = pd.DataFrame({"a": [1, 2], "b": [0, 5]})
    np.testing.assert_array_equal(validate_counts(table), [[1.0, 0.0], [2.0, 5.0]])
    np.testing.assert_array_equal(validate_counts(np.array([[3.0, 4.0]])), [[3.0, 4.0]])


def test_rank_deficient_design_names_kappa_and_the_columns():
    counts, design, size_factors = good_inputs()
    condition = design[:, 1]
    confounded = np.column_stack([design[:, :2], condition])  # a batch column identical to the condition
    with pytest.raises(ValueError, match=r"condition number inf.*collinear columns: condition, batch"):
        fit_nb_glm(counts, confounded, size_factors, dispersion=0.1, column_names=["intercept", "condition", "batch"])
    with pytest.raises(ValueError, match="rank deficient or numerically singular"):
        fit_poisson_glm(counts, confounded, size_factors)


def test_numerically_singular_design_raises_with_its_condition_number():
    counts, design, size_factors = good_inputs()
    nearly = np.column_stack([design, design[:, 2] + 1e-9 * np.arange(6)])  # almost a copy of a column
    with pytest.raises(ValueError, match=r"condition number \d.*e\+\d+.*collinear columns: x2, x3"):
        fit_nb_glm(counts, nearly, size_factors, dispersion=0.1)
    # a looser limit accepts a merely ill-conditioned design
    tilted = np.column_stack([design, design[:, 2] + 1e-3 * np.arange(6)])
    fit_nb_glm(counts, tilted, size_factors, dispersion=0.1, max_condition=1e8)


@pytest.mark.parametrize(
    "design_change",
    [lambda d: d[:, :0], lambda d: d[:2], lambda d: np.where(d == 1, np.nan, d), lambda d: d.ravel()],
)
def test_malformed_designs_raise(design_change):
    counts, design, size_factors = good_inputs()
    with pytest.raises(ValueError, match="design"):
        fit_nb_glm(counts, design_change(design), size_factors, dispersion=0.1)


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"dispersion": None}, "dispersion must be given"),
        ({"dispersion": 0.0}, "dispersion must be finite and positive"),
        ({"dispersion": -0.1}, "dispersion must be finite and positive"),
        ({"dispersion": np.nan}, "dispersion contains NaN or infinite values"),
        ({"dispersion": [0.1, 0.2]}, r"dispersion must be a scalar or have shape \(4,\)"),
        ({"dispersion": 0.1, "size_factors": np.ones(5)}, r"size_factors must have shape \(6,\)"),
        ({"dispersion": 0.1, "size_factors": np.zeros(6)}, "size_factors must be finite and positive"),
        ({"dispersion": 0.1, "min_mean": -1.0}, "min_mean must be"),
        ({"dispersion": 0.1, "tol": 0.0}, "tol must be"),
        ({"dispersion": 0.1, "max_iter": 0}, "max_iter must be"),
    ],
)
def test_bad_settings_raise(keywords, message):
    counts, design, size_factors = good_inputs()
    keywords = {"size_factors": size_factors, **keywords}
    with pytest.raises(ValueError, match=message):
        fit_nb_glm(counts, design, **keywords)


@pytest.mark.parametrize(
    "keywords",
    [{"max_iter": 2.5}, {"max_iter": 10.0}, {"max_iter": True}, {"tol": "1e-8"}, {"min_mean": None}],
)
def test_settings_of_the_wrong_kind_raise_type_error(keywords):
    counts, design, size_factors = good_inputs()
    name = next(iter(keywords))
    with pytest.raises(TypeError, match=name):
        fit_nb_glm(counts, design, size_factors, dispersion=0.1, **keywords)


def test_dispersion_is_required():
    counts, design, size_factors = good_inputs()
    with pytest.raises(TypeError, match="dispersion"):
        fit_nb_glm(counts, design, size_factors)
