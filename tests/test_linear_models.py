"""utils.linear_models against statsmodels OLS/WLS, per-gene numpy.linalg.lstsq, patsy, closed forms, simulation
with known truth (limma's moderation and voom weights) and inmoose.limma, a Python port of limma (fitFDist, lmFit,
eBayes)."""

import numpy as np
import pandas as pd
import patsy
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from inmoose.limma import eBayes, fitFDist, lmFit
from scipy import stats
from scipy.optimize import brentq
from scipy.special import polygamma

from utils.data import cpm, load_airway, log_cpm
from utils.linear_models import (
    ContrastResult,
    FPrior,
    LinearModelFit,
    ModeratedFit,
    contrast,
    design_matrix,
    fit_f_prior,
    fit_linear_models,
    moderate,
    trigamma_inverse,
    voom_weights,
)


def _array_and_names(table):
    return table.to_numpy(), list(table.columns)


def _names(table):
    return list(table.columns)


@pytest.fixture
def paired_samples():
    """Four cell lines, each untreated and treated: the airway layout."""
    return pd.DataFrame(
        {
            "cell": pd.Categorical(["B", "B", "A", "A", "D", "D", "C", "C"], categories=["A", "B", "C", "D"]),
            "dex": pd.Categorical(["untrt", "trt"] * 4, categories=["untrt", "trt"]),
        }
    )


@pytest.fixture
def genes_by_samples():
    rng = np.random.default_rng(1)
    return rng.normal(5.0, 2.0, size=(12, 8))


def test_design_matrix_equals_patsy(paired_samples):
    design, names = _array_and_names(design_matrix(paired_samples, ["cell", "dex"]))
    reference = patsy.dmatrix("~ cell + dex", paired_samples)
    np.testing.assert_array_equal(design, np.asarray(reference))
    assert names == reference.design_info.column_names


def test_design_matrix_plain_columns_use_sorted_levels():
    samples = pd.DataFrame({"batch": ["b2", "b1", "b2", "b3"]})
    design, names = _array_and_names(design_matrix(samples, ["batch"]))
    assert names == ["Intercept", "batch[T.b2]", "batch[T.b3]"]
    np.testing.assert_array_equal(design[:, 1], [1, 0, 1, 0])


def test_design_matrix_drops_unused_categories(paired_samples):
    subset = paired_samples[paired_samples["cell"] != "A"]
    names = _names(design_matrix(subset, ["cell", "dex"]))
    assert names == ["Intercept", "cell[T.C]", "cell[T.D]", "dex[T.trt]"]


def test_fit_matches_statsmodels_ols(paired_samples, genes_by_samples):
    design, names = _array_and_names(design_matrix(paired_samples, ["cell", "dex"]))
    fit = fit_linear_models(genes_by_samples, design, names)
    assert fit.column_names == tuple(names)
    assert fit.df_residual == 3
    for gene in range(genes_by_samples.shape[0]):
        ols = sm.OLS(genes_by_samples[gene], design).fit()
        np.testing.assert_allclose(fit.coefficients[gene], ols.params, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(fit.standard_errors[gene], ols.bse, rtol=1e-10)
        np.testing.assert_allclose(fit.t_statistics[gene], ols.tvalues, rtol=1e-10)
        np.testing.assert_allclose(fit.p_values[gene], ols.pvalues, rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(fit.residual_variances[gene], ols.scale, rtol=1e-10)
    np.testing.assert_allclose(fit.unscaled_covariance, np.linalg.inv(design.T @ design), rtol=1e-10, atol=1e-14)


def test_fit_matches_per_gene_lstsq(paired_samples, genes_by_samples):
    design = design_matrix(paired_samples, ["cell", "dex"]).to_numpy()
    fit = fit_linear_models(genes_by_samples, design)
    for gene, response in enumerate(genes_by_samples):
        coefficients, residual_ss, rank, _ = np.linalg.lstsq(design, response, rcond=None)
        assert rank == design.shape[1]
        np.testing.assert_allclose(fit.coefficients[gene], coefficients, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(fit.residual_variances[gene], residual_ss[0] / 3, rtol=1e-10)


def test_paired_design_gives_the_paired_t_test(paired_samples, genes_by_samples):
    # in ~ cell + dex with one untreated and one treated sample per cell line, the dex t is the paired t
    design, names = _array_and_names(design_matrix(paired_samples, ["cell", "dex"]))
    fit = fit_linear_models(genes_by_samples, design, names)
    paired = stats.ttest_rel(genes_by_samples[:, 1::2], genes_by_samples[:, 0::2], axis=1)
    dex = fit.column("dex[T.trt]")
    np.testing.assert_allclose(fit.t_statistics[:, dex], paired.statistic, rtol=1e-10)
    np.testing.assert_allclose(fit.p_values[:, dex], paired.pvalue, rtol=1e-9)


def test_dataframe_inputs_keep_names(paired_samples, genes_by_samples):
    design, names = _array_and_names(design_matrix(paired_samples, ["cell", "dex"]))
    responses = pd.DataFrame(genes_by_samples, index=[f"gene{g}" for g in range(12)])
    fit = fit_linear_models(responses, pd.DataFrame(design, columns=names))
    assert fit.gene_names == tuple(responses.index)
    assert fit.column_names == tuple(names)
    with pytest.raises(KeyError, match="dex"):
        fit.column("treatment")


def test_dataframes_with_a_different_sample_order_raise(paired_samples, genes_by_samples):
    design, names = _array_and_names(design_matrix(paired_samples, ["cell", "dex"]))
    samples = [f"s{i}" for i in range(8)]
    responses = pd.DataFrame(genes_by_samples, columns=samples)
    labelled = pd.DataFrame(design, index=samples, columns=names)
    fit = fit_linear_models(responses, labelled)
    np.testing.assert_allclose(fit.coefficients, fit_linear_models(genes_by_samples, design).coefficients)
    with pytest.raises(ValueError, match="same samples in a different order"):
        fit_linear_models(responses[samples[::-1]], labelled)
    with pytest.raises(ValueError, match=r"1 only in responses.columns \(e.g. \['s7'\]\), 1 only in design.index"):
        fit_linear_models(responses, labelled.rename(index={"s7": "s8"}))
    # reordering the design to match gives the same fit as the aligned tables
    reordered = fit_linear_models(responses[samples[::-1]], labelled.loc[samples[::-1]])
    np.testing.assert_allclose(reordered.coefficients, fit.coefficients)


def test_design_matrix_is_indexed_by_the_samples(paired_samples):
    samples = paired_samples.set_axis([f"s{i}" for i in range(8)])
    design = design_matrix(samples, ["cell", "dex"])
    assert isinstance(design, pd.DataFrame)
    assert design.index.equals(samples.index)
    assert list(design.columns) == ["Intercept", "cell[T.B]", "cell[T.C]", "cell[T.D]", "dex[T.trt]"]
    np.testing.assert_array_equal(design.loc["s1", "dex[T.trt]"], 1.0)


def test_a_samples_table_in_another_order_is_refused_not_mis_paired(paired_samples):
    # The bug this guards against: with a bare array, `fit_linear_models(expr, *design_matrix(samples, ...))` paired
    # row k of the design with column k of the counts, whatever samples they were.
    rng = np.random.default_rng(7)
    names = [f"s{i}" for i in range(8)]
    samples = paired_samples.set_axis(names)
    design = design_matrix(samples, ["cell", "dex"])
    truth = np.array([5.0, 0.5, -1.0, 2.0, 7.0])  # a 7 log2-unit dex effect
    expression = pd.DataFrame(truth @ design.to_numpy().T + 0.01 * rng.normal(size=(3, 8)), columns=names)
    shuffled = samples.iloc[[3, 0, 6, 1, 7, 2, 5, 4]]  # the same samples, listed in another order

    silently_wrong = fit_linear_models(expression, design_matrix(shuffled, ["cell", "dex"]).to_numpy())
    assert np.abs(silently_wrong.coefficients[:, -1] - truth[-1]).max() > 3  # bare arrays cannot notice
    with pytest.raises(ValueError, match="same samples in a different order"):
        fit_linear_models(expression, design_matrix(shuffled, ["cell", "dex"]))
    aligned = fit_linear_models(expression, design_matrix(shuffled, ["cell", "dex"]).loc[expression.columns])
    np.testing.assert_allclose(aligned.coefficients, np.tile(truth, (3, 1)), atol=0.05)
    assert aligned.column_names == tuple(design.columns)


def test_non_numeric_inputs_raise_type_error(paired_samples, genes_by_samples):
    design = design_matrix(paired_samples, ["cell", "dex"]).to_numpy()
    with pytest.raises(TypeError, match="responses must be numeric"):
        fit_linear_models(genes_by_samples.astype(str), design)
    with pytest.raises(TypeError, match="design must be numeric"):
        fit_linear_models(genes_by_samples, design.astype(bool))


def test_contrast_matches_statsmodels_t_test(paired_samples, genes_by_samples):
    design, names = _array_and_names(design_matrix(paired_samples, ["cell", "dex"]))
    fit = fit_linear_models(genes_by_samples, design, names)
    vector = np.array([0.0, 0.0, -1.0, 1.0, 0.5])
    result = contrast(fit, vector)
    assert isinstance(result, ContrastResult)
    for gene in range(genes_by_samples.shape[0]):
        test = sm.OLS(genes_by_samples[gene], design).fit().t_test(vector[None, :])
        np.testing.assert_allclose(result.estimate[gene], test.effect[0], rtol=1e-10)
        np.testing.assert_allclose(result.standard_error[gene], test.sd[0, 0], rtol=1e-10)
        np.testing.assert_allclose(result.t_statistic[gene], test.tvalue[0, 0], rtol=1e-10)
        np.testing.assert_allclose(result.p_value[gene], test.pvalue, rtol=1e-9)


def test_contrast_by_name_equals_relevelled_fit(paired_samples, genes_by_samples):
    # cell D minus cell C is the cell D coefficient when C is the reference level
    design, names = _array_and_names(design_matrix(paired_samples, ["cell", "dex"]))
    fit = fit_linear_models(genes_by_samples, design, names)
    result = contrast(fit, {"cell[T.D]": 1, "cell[T.C]": -1})
    relevelled = paired_samples.assign(cell=paired_samples["cell"].cat.reorder_categories(["C", "A", "B", "D"]))
    design_c, names_c = _array_and_names(design_matrix(relevelled, ["cell", "dex"]))
    fit_c = fit_linear_models(genes_by_samples, design_c, names_c)
    column = fit_c.column("cell[T.D]")
    np.testing.assert_allclose(result.estimate, fit_c.coefficients[:, column], rtol=1e-10)
    np.testing.assert_allclose(result.t_statistic, fit_c.t_statistics[:, column], rtol=1e-9)


def test_single_coefficient_contrast_equals_the_coefficient(paired_samples, genes_by_samples):
    design, names = _array_and_names(design_matrix(paired_samples, ["cell", "dex"]))
    fit = fit_linear_models(genes_by_samples, design, names)
    result = contrast(fit, {"dex[T.trt]": 1.0})
    np.testing.assert_allclose(result.t_statistic, fit.t_statistics[:, -1], rtol=1e-12)
    np.testing.assert_allclose(result.p_value, fit.p_values[:, -1], rtol=1e-12)


def test_perfect_fit_gives_nan_t_without_warnings():
    design = np.column_stack([np.ones(4), [0.0, 1.0, 0.0, 1.0]])
    responses = np.array([[2.0, 2.0, 2.0, 2.0], [1.0, 2.0, 1.5, 2.5]])
    with np.errstate(all="raise"):
        fit = fit_linear_models(responses, design)
    assert np.all(np.isnan(fit.t_statistics[0]))
    assert np.all(np.isfinite(fit.t_statistics[1]))


@settings(max_examples=60, deadline=None)
@given(
    n_coefficients=st.integers(1, 5),
    extra_rows=st.integers(1, 10),
    n_genes=st.integers(1, 8),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_full_rank_designs(n_coefficients, extra_rows, n_genes, seed):
    rng = np.random.default_rng(seed)
    n_samples = n_coefficients + extra_rows
    design = rng.normal(size=(n_samples, n_coefficients))
    responses = rng.normal(size=(n_genes, n_samples)) * rng.uniform(0.1, 10.0)
    fit = fit_linear_models(responses, design)
    reference, _, rank, _ = np.linalg.lstsq(design, responses.T, rcond=None)
    assert rank == n_coefficients
    np.testing.assert_allclose(fit.coefficients, reference.T, rtol=1e-8, atol=1e-9 * np.abs(responses).max())
    residuals = responses.T - design @ reference
    np.testing.assert_allclose(
        fit.residual_variances,
        (residuals**2).sum(axis=0) / extra_rows,
        rtol=1e-7,
        atol=1e-12 * np.abs(responses).max() ** 2,
    )
    # the residuals are orthogonal to every column of the design (normal equations)
    fit_residuals = responses - fit.coefficients @ design.T
    assert np.abs(fit_residuals @ design).max() <= 1e-8 * np.abs(responses).max() * np.abs(design).max() * n_samples
    # p-values are t tail probabilities in [0, 1]
    assert np.all((fit.p_values >= 0) & (fit.p_values <= 1))


# ---- bad inputs -------------------------------------------------------------------------------------


def test_nan_in_responses_raises(paired_samples, genes_by_samples):
    design = design_matrix(paired_samples, ["cell", "dex"]).to_numpy()
    responses = genes_by_samples.copy()
    responses[3, 2] = np.nan
    with pytest.raises(ValueError, match="responses contains NaN"):
        fit_linear_models(responses, design)


def test_nan_in_design_raises(genes_by_samples):
    design = np.ones((8, 2))
    design[:, 1] = np.arange(8)
    design[0, 1] = np.nan
    with pytest.raises(ValueError, match="design contains NaN"):
        fit_linear_models(genes_by_samples, design)


def test_shape_mismatch_raises(paired_samples, genes_by_samples):
    design = design_matrix(paired_samples, ["cell", "dex"]).to_numpy()
    with pytest.raises(ValueError, match="genes x samples"):
        fit_linear_models(genes_by_samples.T, design)
    with pytest.raises(ValueError, match="2-D genes x samples"):
        fit_linear_models(genes_by_samples[0], design)
    with pytest.raises(ValueError, match="design must be a 2-D"):
        fit_linear_models(genes_by_samples, design[:, 0])
    with pytest.raises(ValueError, match="column_names has 2 names"):
        fit_linear_models(genes_by_samples, design, ["a", "b"])


def test_rank_deficient_design_names_the_collinear_columns(genes_by_samples):
    # each cell line seen in one condition only: dex = cell[T.C] + cell[T.D]
    samples = pd.DataFrame({"cell": ["A", "A", "B", "B", "C", "C", "D", "D"], "dex": ["untrt"] * 4 + ["trt"] * 4})
    samples["dex"] = pd.Categorical(samples["dex"], categories=["untrt", "trt"])
    design, names = _array_and_names(design_matrix(samples, ["cell", "dex"]))
    with pytest.raises(ValueError, match="rank deficient") as error:
        fit_linear_models(genes_by_samples, design, names)
    message = str(error.value)
    for name in ("cell[T.C]", "cell[T.D]", "dex[T.trt]"):
        assert name in message
    assert "cell[T.B]" not in message


def test_no_residual_degrees_of_freedom_raises():
    design = np.column_stack([np.ones(3), [0.0, 1.0, 2.0], [0.0, 1.0, 4.0]])
    with pytest.raises(ValueError, match="no residual degrees of freedom"):
        fit_linear_models(np.ones((2, 3)), design)


def test_bad_contrasts_raise(paired_samples, genes_by_samples):
    design, names = _array_and_names(design_matrix(paired_samples, ["cell", "dex"]))
    fit = fit_linear_models(genes_by_samples, design, names)
    with pytest.raises(ValueError, match="shape \\(5,\\)"):
        contrast(fit, [1.0, -1.0])
    with pytest.raises(ValueError, match="not a coefficient"):
        contrast(fit, {"treatment": 1.0})
    with pytest.raises(ValueError, match="all zeros"):
        contrast(fit, np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        contrast(fit, [np.nan, 0, 0, 0, 1])
    with pytest.raises(TypeError, match="LinearModelFit"):
        contrast(genes_by_samples, np.ones(5))


def test_bad_design_matrix_inputs_raise(paired_samples):
    with pytest.raises(TypeError, match="samples must be a pandas DataFrame"):
        design_matrix(paired_samples.to_numpy(), ["cell"])
    with pytest.raises(TypeError, match="factors"):
        design_matrix(paired_samples, "cell")
    with pytest.raises(ValueError, match="'batch'"):
        design_matrix(paired_samples, ["cell", "batch"])
    with pytest.raises(ValueError, match="missing values"):
        design_matrix(paired_samples.assign(dex=[None, "trt"] * 4), ["dex"])
    with pytest.raises(ValueError, match="single level"):
        design_matrix(paired_samples[paired_samples["dex"] == "trt"], ["dex"])
    with pytest.raises(ValueError, match="no rows"):
        design_matrix(paired_samples.iloc[:0], ["dex"])


def test_result_is_frozen(paired_samples, genes_by_samples):
    design = design_matrix(paired_samples, ["cell", "dex"]).to_numpy()
    fit = fit_linear_models(genes_by_samples, design)
    assert isinstance(fit, LinearModelFit)
    with pytest.raises(AttributeError):
        fit.df_residual = 4


# ------------------------------------------------------------------------------ empirical Bayes (Smyth 2004)
def _scaled_chi2_variances(rng, n_genes, df, prior_df, prior_variance):
    """s_g² with σ_g² from the scaled inverse χ² prior: 1/σ² ~ χ²_{d0}/(d0 s0²), then s² | σ² ~ σ² χ²_d / d."""
    true_variances = prior_variance * prior_df / rng.chisquare(prior_df, n_genes)
    return true_variances * rng.chisquare(df, n_genes) / df, true_variances


@pytest.mark.parametrize("x", [1e-7, 3.7e-4, 0.013, 0.41, 2.7, 55.0, 8.1e4, 3e6, 2e7])
def test_trigamma_inverse_matches_brentq(x):
    reference = brentq(lambda y: float(polygamma(1, y)) - x, 1e-9, 1e9, xtol=1e-14, rtol=1e-15, maxiter=500)
    assert trigamma_inverse(x) == pytest.approx(reference, rel=1e-7)


def test_trigamma_inverse_is_vectorised_and_inverts_trigamma():
    y = np.array([[0.03, 0.7, 2.4], [11.0, 260.0, 4.5e3]])
    np.testing.assert_allclose(trigamma_inverse(polygamma(1, y)), y, rtol=1e-8)
    assert trigamma_inverse(polygamma(1, y)).shape == (2, 3)
    assert isinstance(trigamma_inverse(1.3), float)


def test_fit_f_prior_recovers_known_prior_within_the_simulated_spread():
    # 10,000 genes, d = 4, d0 = 5, s0² = 0.3; the tolerance is the estimator's own spread over 40 simulations
    df, prior_df, prior_variance = 4, 5.0, 0.3
    estimates = np.array(
        [
            (fit.df, fit.variance)
            for fit in (
                fit_f_prior(
                    _scaled_chi2_variances(np.random.default_rng(seed), 10_000, df, prior_df, prior_variance)[0], df
                )
                for seed in range(40)
            )
        ]
    )
    spread = estimates.std(axis=0, ddof=1)
    assert spread[0] < 0.3 and spread[1] < 0.01  # 10,000 genes pin both down
    # unbiased within the Monte-Carlo error of the mean, and every single run within 4 standard deviations
    np.testing.assert_array_less(np.abs(estimates.mean(axis=0) - [prior_df, prior_variance]), 4 * spread / np.sqrt(40))
    assert np.all(np.abs(estimates - [prior_df, prior_variance]) < 4 * spread)


def test_fit_f_prior_closed_form_and_infinite_prior_df():
    rng = np.random.default_rng(3)
    variances = rng.lognormal(-1.0, 1.2, 500)  # Var(log s²) = 1.44 > ψ'(1.5) = 0.93
    fit = fit_f_prior(variances, 3)
    # the moment equations hold at the estimate
    e = np.log(variances) - float(polygamma(0, 1.5)) + np.log(1.5)
    assert float(polygamma(1, fit.df / 2)) == pytest.approx(e.var(ddof=1) - float(polygamma(1, 1.5)), rel=1e-9)
    expected_mean = np.log(fit.variance) - float(polygamma(0, fit.df / 2)) + np.log(fit.df / 2)
    assert e.mean() == pytest.approx(expected_mean, rel=1e-12)
    # pure sampling noise around one σ²: the log-variance is not more spread than ψ'(d/2), so d0 = ∞ and s0² = mean
    equal = 0.7 * rng.chisquare(6, 5_000) / 6
    assert fit_f_prior(equal, 6) == FPrior(np.inf, pytest.approx(equal.mean()))
    identical = np.full(20, 0.37)
    assert fit_f_prior(identical, 2) == FPrior(np.inf, pytest.approx(0.37))


def test_moderated_t_against_a_direct_computation(paired_samples):
    rng = np.random.default_rng(5)
    design = design_matrix(paired_samples, ["cell", "dex"])
    variances, _ = _scaled_chi2_variances(rng, 2_000, 3, 6.0, 0.2)
    responses = rng.normal(size=(2_000, 8)) * np.sqrt(variances)[:, None] + 3.0
    fit = fit_linear_models(responses, design)
    moderated = moderate(fit)
    assert isinstance(moderated, ModeratedFit)
    prior = fit_f_prior(fit.residual_variances, 3)
    dex = fit.column("dex[T.trt]")
    unscaled = np.linalg.inv(design.to_numpy().T @ design.to_numpy())[dex, dex]
    for gene in (0, 17, 1_234):
        posterior = (prior.df * prior.variance + 3 * fit.residual_variances[gene]) / (prior.df + 3)
        t = fit.coefficients[gene, dex] / np.sqrt(posterior * unscaled)
        assert moderated.posterior_variances[gene] == pytest.approx(posterior, rel=1e-12)
        assert moderated.t_statistics[gene, dex] == pytest.approx(t, rel=1e-12)
        assert moderated.p_values[gene, dex] == pytest.approx(2 * stats.t.sf(abs(t), prior.df + 3), rel=1e-9)
    assert moderated.df_total == pytest.approx(prior.df + 3)
    # posterior variances lie between s² and s0²: shrinkage, never overshoot
    low, high = np.minimum(fit.residual_variances, prior.variance), np.maximum(fit.residual_variances, prior.variance)
    assert np.all((moderated.posterior_variances >= low - 1e-15) & (moderated.posterior_variances <= high + 1e-15))
    # the moderated contrast of one coefficient is that coefficient's moderated t
    one = contrast(moderated, {"dex[T.trt]": 1.0})
    np.testing.assert_allclose(one.t_statistic, moderated.t_statistics[:, dex], rtol=1e-12)
    assert one.df_residual == moderated.df_total


def test_moderated_null_p_values_are_uniform(paired_samples):
    rng = np.random.default_rng(8)
    design = design_matrix(paired_samples, ["cell", "dex"])
    variances, _ = _scaled_chi2_variances(rng, 20_000, 3, 4.0, 0.5)
    fit = fit_linear_models(rng.normal(size=(20_000, 8)) * np.sqrt(variances)[:, None], design)
    p_values = moderate(fit).p_values[:, fit.column("dex[T.trt]")]
    assert stats.kstest(p_values, "uniform").pvalue > 1e-3
    assert abs(np.mean(p_values < 0.05) - 0.05) < 0.006


def test_moderation_with_infinite_prior_df_uses_the_prior_variance_and_caps_the_df(paired_samples):
    rng = np.random.default_rng(2)
    design = design_matrix(paired_samples, ["cell", "dex"]).to_numpy()
    # every gene gets the same residual vector (orthogonal to the design) on top of its own fitted values:
    # identical s², no spread at all, so d0 = ∞
    residual = rng.normal(size=8)
    residual -= design @ np.linalg.lstsq(design, residual, rcond=None)[0]
    responses = rng.normal(size=(300, 5)) @ design.T + residual
    fit = fit_linear_models(responses, design)
    moderated = moderate(fit)
    assert np.isinf(moderated.prior.df)
    np.testing.assert_allclose(moderated.posterior_variances, residual @ residual / 3, rtol=1e-10)
    assert moderated.df_total == 300 * 3  # limma caps d0 + d at the pooled df
    assert np.all(np.isfinite(moderated.p_values))


def test_moderation_rescues_a_perfect_fit(paired_samples):
    design = design_matrix(paired_samples, ["cell", "dex"]).to_numpy()
    rng = np.random.default_rng(4)
    responses = rng.normal(size=(50, 8))
    responses[0] = design @ np.array([1.0, 0.2, -0.3, 0.4, 2.0])  # s² = 0 exactly
    moderated = moderate(fit_linear_models(responses, design))
    assert np.isfinite(moderated.t_statistics[0, -1]) and moderated.posterior_variances[0] > 0


def _assert_moderation_matches_inmoose(responses, design):
    """Our fit + moderate against inmoose.limma's lmFit + eBayes (and fitFDist) on the same matrix."""
    ours = moderate(fit_linear_models(responses, design))
    reference = eBayes(lmFit(responses, design))
    assert ours.prior.df == pytest.approx(reference.df_prior, rel=1e-12)
    assert ours.prior.variance == pytest.approx(reference.s2_prior, rel=1e-12)
    assert ours.df_total == pytest.approx(float(np.unique(reference.df_total)[0]), rel=1e-12)
    np.testing.assert_allclose(ours.fit.residual_variances, np.asarray(reference.sigma) ** 2, rtol=1e-11)
    np.testing.assert_allclose(ours.coefficients, np.asarray(reference.coefficients), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(ours.posterior_variances, np.asarray(reference.s2_post), rtol=1e-12)
    np.testing.assert_allclose(ours.t_statistics, np.asarray(reference.t), rtol=1e-11)
    np.testing.assert_allclose(ours.p_values, np.asarray(reference.p_value), rtol=1e-10, atol=1e-300)
    prior = fitFDist(ours.fit.residual_variances, ours.fit.df_residual)
    assert fit_f_prior(ours.fit.residual_variances, ours.fit.df_residual) == FPrior(
        pytest.approx(prior["df2"], rel=1e-12), pytest.approx(prior["scale"], rel=1e-12)
    )
    return ours


def test_moderation_matches_inmoose_limma_on_airway():
    counts, samples = load_airway()
    expressed = (cpm(counts) >= 1).sum(axis=1) >= 4
    ours = _assert_moderation_matches_inmoose(log_cpm(counts)[expressed], design_matrix(samples, ["cell", "dex"]))
    assert ours.prior.df == pytest.approx(4.164, abs=1e-3)  # the value 3.2/02 prints


def test_moderation_matches_inmoose_limma_on_simulated_data():
    # a design other than airway's (3 groups x 2 batches, 12 samples, d = 8), variances from a scaled-F prior
    rng = np.random.default_rng(3)
    samples = pd.DataFrame(
        {"group": pd.Categorical(np.repeat(["a", "b", "c"], 4)), "batch": pd.Categorical(["x", "y"] * 6)}
    )
    design = design_matrix(samples, ["group", "batch"]).to_numpy()
    _, variances = _scaled_chi2_variances(rng, 3_000, 8, 6.0, 0.05)  # true σ²
    responses = rng.normal(size=(3_000, 12)) * np.sqrt(variances)[:, None] + rng.normal(5.0, 1.0, size=(3_000, 1))
    responses[:200] += np.outer(rng.normal(0.0, 2.0, 200), design[:, 1])  # some genes differ between groups
    ours = _assert_moderation_matches_inmoose(responses, design)
    assert 3.0 < ours.prior.df < 12.0


def test_fit_f_prior_matches_inmoose_fit_f_dist_on_awkward_inputs():
    # a zero variance (offset to 1e-5 x median), no excess spread (d0 = ∞, s0² = the mean), near-chi² spread
    rng = np.random.default_rng(11)
    for variances, df in (
        (np.array([0.0, 0.2, 0.5, 0.01, 0.3]), 4.0),
        (np.array([0.3, 0.3, 0.3]), 2.0),
        (0.7 * rng.chisquare(6, 5_000) / 6, 6.0),
        (rng.lognormal(-3.0, 1.4, 800), 2.5),
    ):
        reference = fitFDist(variances, df)
        ours = fit_f_prior(variances, df)
        assert ours.df == pytest.approx(reference["df2"], rel=1e-11)
        assert ours.variance == pytest.approx(reference["scale"], rel=1e-12)


def _wls_inputs(rng, n_genes=6):
    samples = pd.DataFrame(
        {"cell": pd.Categorical(np.repeat(["a", "b", "c"], 4)), "dex": pd.Categorical(["u", "t"] * 6, ["u", "t"])}
    )
    design = design_matrix(samples, ["cell", "dex"]).to_numpy()
    responses = rng.normal(4.0, 1.5, size=(n_genes, 12))
    weights = rng.uniform(0.05, 9.0, size=(n_genes, 12))
    return design, responses, weights


def test_weighted_fit_matches_statsmodels_wls_per_gene():
    design, responses, weights = _wls_inputs(np.random.default_rng(6))
    fit = fit_linear_models(responses, design, weights=weights)
    assert fit.unscaled_covariance.shape == (6, 4, 4)
    for gene in range(6):
        wls = sm.WLS(responses[gene], design, weights=weights[gene]).fit()
        np.testing.assert_allclose(fit.coefficients[gene], wls.params, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(fit.standard_errors[gene], wls.bse, rtol=1e-10)
        np.testing.assert_allclose(fit.t_statistics[gene], wls.tvalues, rtol=1e-10)
        np.testing.assert_allclose(fit.p_values[gene], wls.pvalues, rtol=1e-8, atol=1e-15)
        np.testing.assert_allclose(fit.residual_variances[gene], wls.scale, rtol=1e-10)
        np.testing.assert_allclose(fit.unscaled_covariance[gene], wls.normalized_cov_params, rtol=1e-9, atol=1e-13)
    c = np.array([0.0, 0.6, -1.3, 0.8])
    result = contrast(fit, c)
    for gene in range(6):
        reference = sm.WLS(responses[gene], design, weights=weights[gene]).fit().t_test(c)
        assert result.t_statistic[gene] == pytest.approx(reference.tvalue.item(), rel=1e-9)
        assert result.standard_error[gene] == pytest.approx(reference.sd.item(), rel=1e-9)


def test_unit_weights_give_the_ordinary_fit():
    design, responses, _ = _wls_inputs(np.random.default_rng(9))
    ordinary = fit_linear_models(responses, design)
    weighted = fit_linear_models(responses, design, weights=np.ones_like(responses))
    np.testing.assert_allclose(weighted.coefficients, ordinary.coefficients, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(weighted.standard_errors, ordinary.standard_errors, rtol=1e-12)
    np.testing.assert_allclose(moderate(weighted).t_statistics, moderate(ordinary).t_statistics, rtol=1e-10)


def test_voom_weights_follow_the_negative_binomial_variance():
    # NB counts with known α: Var(log2 K) ≈ (1/μ + α)/ln(2)² (delta method), so √s ≈ that to the power 1/4;
    # the lowess trend must follow it where counts are large enough for the delta method
    rng = np.random.default_rng(12)
    n_genes, dispersion = 4_000, 0.05
    samples = pd.DataFrame({"group": pd.Categorical(np.repeat(["a", "b"], 6))})
    design = design_matrix(samples, ["group"])
    means = np.exp(rng.uniform(np.log(20), np.log(5e3), n_genes))
    library = rng.uniform(0.8, 1.25, 12)
    mu = means[:, None] * library[None, :]
    counts = rng.negative_binomial(1 / dispersion, 1 / (1 + dispersion * mu))
    voom = voom_weights(counts, design.to_numpy())
    grid = np.quantile(voom.mean_log_count, [0.2, 0.5, 0.8])
    count_scale = 2.0**grid  # the average log2 count is on the counts scale (+ log2 of a 1e-6 library)
    expected = ((1 / count_scale + dispersion) / np.log(2) ** 2) ** 0.25
    np.testing.assert_allclose(voom.trend(grid), expected, rtol=0.06)
    # weights are 1 / trend(fitted log count)^4 and grow with the expression level
    assert voom.weights.shape == counts.shape and np.all(voom.weights > 0)
    low, high = np.argmin(means), np.argmax(means)
    assert voom.weights[high].mean() > 1.5 * voom.weights[low].mean()  # variance ratio (1/20 + α)/(1/5000 + α) ≈ 2
    reference_log_cpm = np.log2((counts + 0.5) / (counts.sum(axis=0) + 1) * 1e6)
    np.testing.assert_allclose(voom.log_cpm, reference_log_cpm, rtol=1e-12)


def test_voom_keeps_labels_and_checks_them():
    rng = np.random.default_rng(1)
    samples = pd.DataFrame({"group": pd.Categorical(np.repeat(["a", "b"], 3))}, index=[f"s{i}" for i in range(6)])
    design = design_matrix(samples, ["group"])
    counts = pd.DataFrame(rng.poisson(50, size=(40, 6)), columns=samples.index, index=[f"g{i}" for i in range(40)])
    voom = voom_weights(counts, design)
    assert isinstance(voom.weights, pd.DataFrame) and voom.weights.index.equals(counts.index)
    fit = fit_linear_models(voom.log_cpm, design, weights=voom.weights)
    assert fit.gene_names == tuple(counts.index)
    with pytest.raises(ValueError, match="different order"):
        voom_weights(counts, design.iloc[::-1])
    with pytest.raises(ValueError, match="weights.columns"):
        fit_linear_models(voom.log_cpm, design, weights=voom.weights.iloc[:, ::-1])


def test_empirical_bayes_bad_inputs_raise(paired_samples, genes_by_samples):
    with pytest.raises(ValueError, match="values must be positive"):
        trigamma_inverse([0.3, -1.0])
    with pytest.raises(ValueError, match="values contains NaN"):
        trigamma_inverse(np.nan)
    with pytest.raises(TypeError, match="values must be numeric"):
        trigamma_inverse("1.0")
    with pytest.raises(TypeError, match="max_iter"):
        trigamma_inverse(1.0, max_iter=2.5)
    with pytest.raises(ValueError, match="variances must be non-negative"):
        fit_f_prior([0.2, -0.1, 0.4], 3)
    with pytest.raises(ValueError, match="variances must be a 1-D"):
        fit_f_prior(np.ones((3, 2)), 3)
    with pytest.raises(ValueError, match="at least two"):
        fit_f_prior([0.2], 3)
    with pytest.raises(ValueError, match="df must be positive"):
        fit_f_prior([0.2, 0.3], 0)
    with pytest.raises(TypeError, match="df must be a real number"):
        fit_f_prior([0.2, 0.3], "3")
    with pytest.raises(ValueError, match="half of variances are exactly zero"):
        fit_f_prior([0.0, 0.0, 0.0, 0.4], 3)
    with pytest.raises(TypeError, match="fit must be a LinearModelFit"):
        moderate(genes_by_samples)


def test_weights_and_voom_bad_inputs_raise(paired_samples, genes_by_samples):
    design = design_matrix(paired_samples, ["cell", "dex"]).to_numpy()
    with pytest.raises(ValueError, match="weights must have the shape"):
        fit_linear_models(genes_by_samples, design, weights=np.ones((12, 7)))
    with pytest.raises(ValueError, match="weights must be positive"):
        fit_linear_models(genes_by_samples, design, weights=np.zeros((12, 8)))
    with pytest.raises(ValueError, match="weights contains NaN"):
        fit_linear_models(genes_by_samples, design, weights=np.full((12, 8), np.nan))
    with pytest.raises(TypeError, match="weights must be numeric"):
        fit_linear_models(genes_by_samples, design, weights=np.full((12, 8), "1"))
    counts = np.random.default_rng(0).poisson(30, size=(20, 8))
    with pytest.raises(ValueError, match="counts contains negative"):
        voom_weights(counts - 40, design)
    with pytest.raises(ValueError, match="counts contains non-integer"):
        voom_weights(counts + 0.5, design)
    with pytest.raises(ValueError, match="span must be at most 1"):
        voom_weights(counts, design, span=1.5)
    with pytest.raises(ValueError, match="design has 8 rows"):
        voom_weights(counts[:, :6], design)
    # the message names the learner's arguments (counts, design), not fit_linear_models' internal "responses"
    with pytest.raises(ValueError, match=r"^counts has 8 columns \(samples\) but design has 5 rows"):
        voom_weights(counts, design[:5])
    with pytest.raises(ValueError, match=r"counts has 20 columns .* design has 8 rows.*transpose it"):
        voom_weights(counts.T, design)
    with pytest.raises(ValueError, match="design must be a 2-D"):
        voom_weights(counts, design[:, 0])
    with pytest.raises(TypeError, match="design must be numeric"):
        voom_weights(counts, np.full((8, 2), "x"))
    with pytest.raises(ValueError, match="no counts at all"):
        voom_weights(np.column_stack([counts[:, :7], np.zeros(20, int)]), design)
