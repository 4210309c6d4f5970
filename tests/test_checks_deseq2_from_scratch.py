"""The exercise checks of 01_deseq2_from_scratch accept right answers and reject plausible wrong ones."""

import numpy as np
import pytest
import torch
from conftest import accepts as _accepts
from conftest import rejects as _rejects
from scipy import stats
from scipy.special import polygamma

from utils.checks import deseq2_from_scratch as checks
from utils.data import load_pasilla
from utils.deseq import deseq, independent_filtering, lfc_shrink, wald_test


# ---------------------------------------------------------------- Exercise 1: the prior width
def _prior_width(
    genewise,
    trend,
    n_samples,
    n_coefficients,
    scale=True,
    trigamma=True,
    floor=True,
    keep_all=False,
    centre=True,
    half=True,
):
    genewise, trend = np.asarray(genewise), np.asarray(trend)
    keep = np.ones(genewise.shape, dtype=bool) if keep_all else genewise >= 1e-6
    residuals = np.log(genewise[keep]) - np.log(trend[keep])
    deviation = np.abs(residuals - (np.median(residuals) if centre else 0.0))
    squared = (np.median(deviation) * (1.4826 if scale else 1.0)) ** 2
    df = n_samples - n_coefficients
    sampling = polygamma(1, df / 2 if half else df) if trigamma else 0.0
    return max(squared - sampling, 0.25) if floor else squared - sampling


def _scipy_prior_width(genewise, trend, n_samples, n_coefficients):
    keep = genewise >= 100 * 1e-8
    residuals = np.log(genewise[keep] / trend[keep])
    mad = stats.median_abs_deviation(residuals, scale="normal")
    return torch.tensor(np.maximum(mad**2 - polygamma(1, (n_samples - n_coefficients) / 2), 0.25))


def test_ex1_accepts_the_rule_by_hand_and_with_scipy(capsys):
    _accepts(checks.ex1, _prior_width, capsys)
    _accepts(checks.ex1, _scipy_prior_width, capsys)
    _accepts(checks.ex1, lambda *args: np.float32(_prior_width(*args)) * np.float64(1.0), capsys)


@pytest.mark.parametrize(
    "mistake",
    [
        {"trigamma": False},  # no sampling variance subtracted
        {"scale": False},  # the MAD without 1.4826
        {"floor": False},  # no 0.25 floor
        {"keep_all": True},  # genes at the lower bound kept
        {"centre": False},  # absolute deviations about 0, not about the median
        {"half": False},  # ψ₁(m − p) instead of ψ₁((m − p)/2)
    ],
)
def test_ex1_rejects_each_missing_piece(mistake, capsys):
    _rejects(checks.ex1, lambda *args: _prior_width(*args, **mistake), capsys)


def test_ex1_rejects_a_standard_deviation_and_a_crash(capsys):
    _rejects(checks.ex1, lambda *args: np.sqrt(_prior_width(*args)), capsys)  # σ_d, not σ_d²
    _rejects(checks.ex1, lambda *args: 1 / 0, capsys)


# ---------------------------------------------------------------- Exercise 2: no prior
@pytest.fixture(scope="module")
def pasilla_fit():
    pasilla = load_pasilla()
    return deseq(pasilla.counts, pasilla.samples, checks.DESIGN, checks.CONDITION)


def _discoveries(result, column):
    fit = result.attrs["deseq"]
    tested = ~result["all_zero"].to_numpy()
    wald = wald_test(
        fit.counts.to_numpy()[tested],
        fit.size_factors.to_numpy(),
        fit.design.to_numpy(),
        result[column].to_numpy()[tested],
        fit.contrast_vector.to_numpy(),
    )
    p_values = np.full(len(result), np.nan)
    p_values[tested] = wald.p_value
    return wald, independent_filtering(result["baseMean"].to_numpy(), p_values, 0.1)


def test_ex2_accepts_the_count_as_int_float_or_tensor(pasilla_fit, capsys):
    _, filtering = _discoveries(pasilla_fit, "genewise_dispersion")
    count = int(np.sum(filtering.padj < 0.1))
    _accepts(checks.ex2, count, capsys)
    _accepts(checks.ex2, float(count), capsys)
    _accepts(checks.ex2, torch.tensor(count), capsys)


def test_ex2_rejects_map_dispersions_plain_bh_raw_p_and_tested_genes_only(pasilla_fit, capsys):
    _rejects(checks.ex2, int(np.sum(pasilla_fit["padj"] < 0.1)), capsys)  # the MAP dispersions (hint's mistake)
    wald, filtering = _discoveries(pasilla_fit, "genewise_dispersion")
    _rejects(checks.ex2, int(np.sum(stats.false_discovery_control(wald.p_value) < 0.1)), capsys)  # no filtering
    _rejects(checks.ex2, int(np.sum(wald.p_value < 0.1)), capsys)  # p-values, not padj
    tested = ~pasilla_fit["all_zero"].to_numpy()
    short = independent_filtering(pasilla_fit["baseMean"].to_numpy()[tested], wald.p_value, 0.1)
    assert np.sum(short.padj < 0.1) != np.sum(filtering.padj < 0.1)
    _rejects(checks.ex2, int(np.sum(short.padj < 0.1)), capsys)  # all-zero genes left out of the filter
    _, trend_only = _discoveries(pasilla_fit, "trend_dispersion")
    _rejects(checks.ex2, int(np.sum(trend_only.padj < 0.1)), capsys)  # the trend instead of the gene-wise values
    _rejects(checks.ex2, np.sum(filtering.padj < 0.1) + 0.5, capsys)  # not a whole number
    _rejects(checks.ex2, [1, 2], capsys)


# ---------------------------------------------------------------- Exercise 3: the other factor
@pytest.fixture(scope="module")
def type_fit():
    pasilla = load_pasilla()
    return deseq(pasilla.counts, pasilla.samples, checks.DESIGN, checks.TYPE)


def _top(result):
    gene = result["stat"].idxmax()
    return gene, result.loc[gene, "log2FoldChange"]


def test_ex3_accepts_the_top_gene_as_tuple_list_or_from_the_other_design_order(type_fit, capsys):
    _accepts(checks.ex3, _top(type_fit), capsys)
    gene, change = _top(type_fit)
    _accepts(checks.ex3, [gene, np.float32(change)], capsys)
    pasilla = load_pasilla()
    _accepts(checks.ex3, _top(deseq(pasilla.counts, pasilla.samples, "~ condition + type", checks.TYPE)), capsys)
    # the smallest p-value picks the same gene here
    _accepts(
        checks.ex3, (type_fit["pvalue"].idxmin(), type_fit.loc[type_fit["pvalue"].idxmin(), "log2FoldChange"]), capsys
    )


def test_ex3_rejects_the_reversed_contrast_the_condition_contrast_and_ranking_by_fold_change(type_fit, capsys):
    pasilla = load_pasilla()
    reversed_fit = deseq(pasilla.counts, pasilla.samples, checks.DESIGN, ("type", "single-read", "paired-end"))
    _rejects(checks.ex3, _top(reversed_fit), capsys)  # the hint's mistake: level and reference swapped
    gene, change = _top(type_fit)
    _rejects(checks.ex3, (gene, -change), capsys)  # right gene, sign of the reversed contrast
    condition_fit = deseq(pasilla.counts, pasilla.samples, checks.DESIGN, checks.CONDITION)
    _rejects(checks.ex3, _top(condition_fit), capsys)  # the default contrast
    largest = type_fit["log2FoldChange"].idxmax()
    assert largest != gene
    _rejects(checks.ex3, (largest, type_fit.loc[largest, "log2FoldChange"]), capsys)  # ranked by fold change
    shrunken = lfc_shrink(type_fit)
    assert abs(shrunken.loc[gene, "log2FoldChange"] - change) > 1e-4
    _rejects(checks.ex3, (gene, shrunken.loc[gene, "log2FoldChange"]), capsys)  # the shrunken fold change
    _rejects(checks.ex3, gene, capsys)  # the gene alone
    _rejects(checks.ex3, (gene, "large"), capsys)
