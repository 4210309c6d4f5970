"""Exercise checks for ``01_deseq2_from_scratch.ipynb`` (Module 3.3, Capstone).

Each check computes its own reference with :mod:`utils.deseq`: the prior width with
:func:`utils.deseq.dispersion_prior_variance` on simulated gene-wise and trend dispersions; the number of
discoveries without the dispersion prior from :func:`utils.deseq.deseq`, :func:`utils.deseq.wald_test` and
:func:`utils.deseq.independent_filtering` on pasilla; the top gene of the ``type`` contrast from
:func:`utils.deseq.deseq`. Pasilla fits are computed once per session (a few seconds) and cached.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from utils.checks.core import check_function, failed, not_attempted, passed, to_array
from utils.data import load_pasilla
from utils.deseq import deseq, dispersion_prior_variance, independent_filtering, wald_test

DESIGN = "~ type + condition"
CONDITION = ("condition", "treated", "untreated")
TYPE = ("type", "paired-end", "single-read")

# Exercise 1: (number of genes, (samples m, coefficients p), spread of the log residuals, their centre, number of
# genes at the lower bound 1e-8, seed); the second case spreads less than the sampling variance ψ₁(1) = 1.64, so
# the 0.25 floor decides; the third has genes at the lower bound, which must be left out
EX1_CASES = (
    (900, (7, 3), 1.13, 0.37, 0, 71),
    (700, (6, 4), 0.83, -0.29, 0, 72),
    (1100, (9, 2), 1.21, 0.43, 83, 73),
)


def _ex1_data(n_genes: int, shape: tuple[int, int], spread: float, centre: float, at_bound: int, seed: int):
    rng = np.random.default_rng(seed)
    mean = np.exp(rng.uniform(np.log(3.1), np.log(4.7e4), n_genes))
    trend = 0.0137 + 2.31 / mean
    genewise = trend * np.exp(centre + spread * rng.standard_t(5, n_genes))
    # gene-wise estimates stuck at the lower bound, as the Cox–Reid fit returns for under-dispersed genes
    genewise[rng.choice(n_genes, at_bound, replace=False)] = 1e-8
    return genewise, trend, *shape


def ex1(prior_width: Any) -> bool:
    """Expects prior_width(genewise, trend, n_samples, n_coefficients) -> σ_d², DESeq2's prior variance."""
    cases = []
    for case in EX1_CASES:
        genewise, trend, n_samples, n_coefficients = _ex1_data(*case)
        expected = dispersion_prior_variance(genewise, trend, n_samples, n_coefficients)[0]
        cases.append(((genewise.copy(), trend.copy(), n_samples, n_coefficients), expected))
    return check_function(
        "Exercise 1",
        prior_width,
        cases,
        what="prior variance max((1.4826·MAD)² − ψ₁((m−p)/2), 0.25) of simulated gene sets",
        rtol=2e-5,  # R's mad() scales by 1.4826, 1/Φ⁻¹(0.75) = 1.482602...: both are right
        atol=0,
        hint="use log residuals log α_gw − log α_tr of the genes with α_gw ≥ 100·1e-8 only; their MAD about their "
        "median, scaled by 1/Φ⁻¹(0.75) = 1.4826 and squared; subtract the trigamma ψ₁((m−p)/2) (scipy.special."
        "polygamma(1, ·)), and floor the result at 0.25",
    )


# ------------------------------------------------------------------------------------------ Exercise 2
@cache
def _pasilla_condition() -> pd.DataFrame:
    pasilla = load_pasilla()
    return deseq(pasilla.counts, pasilla.samples, DESIGN, CONDITION)


@cache
def _ex2_counts() -> dict[str, int]:
    """The right count and the counts the likeliest mistakes give."""
    result = _pasilla_condition()
    fit = result.attrs["deseq"]
    tested = ~result["all_zero"].to_numpy()
    base_mean = result["baseMean"].to_numpy()
    arguments = (fit.counts.to_numpy()[tested], fit.size_factors.to_numpy(), fit.design.to_numpy())
    wald = wald_test(*arguments, result["genewise_dispersion"].to_numpy()[tested], fit.contrast_vector.to_numpy())
    p_values = np.full(len(result), np.nan)
    p_values[tested] = wald.p_value
    filtering = independent_filtering(base_mean, p_values, fit.alpha)
    return {
        "right": int(np.sum(filtering.padj < fit.alpha)),
        "map": int(np.sum(result["padj"] < fit.alpha)),
        "plain BH": int(np.sum(stats.false_discovery_control(wald.p_value, method="bh") < fit.alpha)),
        "p-value": int(np.sum(wald.p_value < fit.alpha)),
        "tested genes only": int(
            np.sum(independent_filtering(base_mean[tested], wald.p_value, fit.alpha).padj < fit.alpha)
        ),
    }


EX2_HINTS = {
    "map": "that is the number with the MAP (final) dispersions, what deseq() reports: pass the gene-wise ones",
    "plain BH": "that is Benjamini–Hochberg on all tested genes: apply independent_filtering(baseMean, p, 0.1)",
    "p-value": "that counts p-values below 0.1: count adjusted p-values (padj) below 0.1",
    "tested genes only": "independent filtering needs the baseMean and p-values of every gene (all-zero genes with "
    "p = NaN), as deseq() does: its grid of θ starts at the fraction of all-zero genes",
}


def ex2(answer: Any) -> bool:
    """Expects the number of pasilla genes with padj < 0.1 when the Wald tests use the gene-wise dispersions."""
    exercise = "Exercise 2"
    hint = (
        "refit with wald_test(counts of the non-zero genes, size factors, design, their genewise_dispersion, "
        "contrast), put the p-values back among all genes (NaN for all-zero ones), run independent_filtering("
        "baseMean, p, 0.1) and count padj < 0.1"
    )
    if answer is None:
        return not_attempted(exercise)
    try:
        value = to_array(answer)
    except TypeError as err:
        return failed(exercise, f"could not read the answer as a number: {err}", hint)
    if value.shape != () or not np.isfinite(value) or value != np.round(value):
        return failed(exercise, f"expected one whole number (a count of genes), got {answer!r}", hint)
    counts = _ex2_counts()
    if int(value) == counts["right"]:
        return passed(exercise, f"{counts['right']} genes at padj < 0.1 with gene-wise dispersions")
    for mistake, count in counts.items():
        if mistake != "right" and int(value) == count:
            return failed(exercise, f"{int(value)} is not the number asked for", EX2_HINTS[mistake])
    return failed(exercise, f"{int(value)} genes is not right", hint)


# ------------------------------------------------------------------------------------------ Exercise 3
@cache
def _pasilla_type(contrast: tuple[str, str, str]) -> pd.DataFrame:
    pasilla = load_pasilla()
    return deseq(pasilla.counts, pasilla.samples, DESIGN, contrast)


def ex3(answer: Any) -> bool:
    """Expects (gene, log2 fold change): the gene with the largest Wald statistic for paired-end vs single-read."""
    exercise = "Exercise 3"
    hint = (
        "call deseq(counts, samples, '~ type + condition', contrast=('type', 'paired-end', 'single-read')) "
        "(level first, reference second), take the gene with the largest stat, and report its log2FoldChange "
        "(the maximum-likelihood estimate, not a shrunken one)"
    )
    if answer is None:
        return not_attempted(exercise)
    if not isinstance(answer, tuple | list) or len(answer) != 2 or not isinstance(answer[0], str):
        return failed(exercise, "expected a pair (gene name as a string, its log2 fold change)", hint)
    try:
        change = to_array(answer[1])
    except TypeError as err:
        return failed(exercise, f"could not read the log2 fold change as a number: {err}", hint)
    if change.size != 1 or not np.isfinite(change).all():
        return failed(exercise, "the log2 fold change must be one finite number", hint)
    gene, change = answer[0].strip(), float(change.ravel()[0])
    result = _pasilla_type(TYPE)
    top = str(result["stat"].idxmax())
    expected = float(result.loc[top, "log2FoldChange"])
    if gene == str(_pasilla_type(TYPE[:1] + TYPE[:0:-1])["stat"].idxmax()):
        return failed(exercise, f"{gene} is the most down-regulated gene of paired-end vs single-read", hint)
    if gene == str(_pasilla_condition()["stat"].idxmax()):
        return failed(exercise, f"{gene} is the top gene of the condition contrast, not of type", hint)
    if gene != top:
        return failed(exercise, f"{gene} is not the gene with the largest Wald statistic", hint)
    if not np.isclose(change, expected, rtol=1e-6, atol=0):
        sign = " (the sign is reversed)" if np.isclose(change, -expected, rtol=1e-6) else ""
        return failed(exercise, f"the gene is right, its log2 fold change {change:.6g} is not{sign}", hint)
    return passed(
        exercise, f"top up-regulated gene {top} of paired-end vs single-read, log2 fold change {expected:.4f}"
    )
