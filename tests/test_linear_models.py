"""utils.linear_models against statsmodels OLS, per-gene numpy.linalg.lstsq, patsy and closed forms."""

import numpy as np
import pandas as pd
import patsy
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from utils.linear_models import ContrastResult, LinearModelFit, contrast, design_matrix, fit_linear_models


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
