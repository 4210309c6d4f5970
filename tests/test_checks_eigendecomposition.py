"""The exercise checks of 01_eigendecomposition accept right answers and reject plausible wrong ones."""

import numpy as np
import pandas as pd
import pytest
import scipy.linalg

from utils.checks import eigendecomposition as checks
from utils.data import load_pbmc


def _top_gene_correlation(log_expression):
    top = log_expression.var(ddof=1).sort_values(ascending=False, kind="stable").index[:50]
    return pd.DataFrame(log_expression[top]).corr().to_numpy()


@pytest.fixture(scope="module")
def pbmc_correlation():
    """The 50-gene correlation matrix, computed with pandas independently of the check: counts scaled to the median
    total (each cell's total over all genes, n_counts), log1p, the 50 genes of largest variance."""
    pbmc = load_pbmc()
    size_factors = pbmc.samples["n_counts"] / pbmc.samples["n_counts"].median()
    return _top_gene_correlation(np.log1p(pbmc.counts / size_factors).T)


def _assert_result(result, expected, capsys):
    out = capsys.readouterr().out
    assert result is expected
    assert ("✓" in out) if expected else ("✗" in out)


def test_ex1_accepts_the_rayleigh_quotient(capsys):
    _assert_result(
        checks.ex1(lambda matrix, vector: np.dot(vector, matrix.dot(vector)) / np.dot(vector, vector)), True, capsys
    )


def test_ex1_rejects_a_missing_normalisation(capsys):
    _assert_result(checks.ex1(lambda matrix, vector: vector @ matrix @ vector), False, capsys)


def test_ex1_rejects_dividing_by_the_norm_instead_of_its_square(capsys):
    _assert_result(checks.ex1(lambda matrix, vector: vector @ matrix @ vector / np.linalg.norm(vector)), False, capsys)


def test_ex1_rejects_an_elementwise_ratio(capsys):
    _assert_result(checks.ex1(lambda matrix, vector: (matrix @ vector) / vector), False, capsys)


def test_ex1_none_and_stub_are_not_attempted(capsys):
    assert checks.ex1(None) is False
    assert checks.ex1(lambda matrix, vector: None) is False
    assert "not attempted" in capsys.readouterr().out


def _closest_by_scipy(matrix, shift):
    values = scipy.linalg.eigvalsh(matrix)
    return float(values[np.argmin(np.abs(values - shift))])


def test_ex2_accepts_the_closest_eigenvalue(capsys):
    _assert_result(checks.ex2(_closest_by_scipy), True, capsys)


def test_ex2_rejects_the_inverted_eigenvalue(capsys):
    # the dominant eigenvalue of (A - σI)^{-1}, 1/(λ - σ), instead of λ itself
    _assert_result(checks.ex2(lambda matrix, shift: 1.0 / (_closest_by_scipy(matrix, shift) - shift)), False, capsys)


def test_ex2_rejects_the_largest_eigenvalue(capsys):
    _assert_result(checks.ex2(lambda matrix, shift: float(scipy.linalg.eigvalsh(matrix)[-1])), False, capsys)


def test_ex2_none_is_not_attempted(capsys):
    assert checks.ex2(None) is False
    assert "not attempted" in capsys.readouterr().out


def test_ex3_accepts_the_second_eigenvector_with_either_sign(pbmc_correlation, capsys):
    second = scipy.linalg.eigh(pbmc_correlation)[1][:, -2]
    _assert_result(checks.ex3(second), True, capsys)
    _assert_result(checks.ex3(-second), True, capsys)
    _assert_result(checks.ex3(list(second)), True, capsys)


def test_ex3_accepts_float32(pbmc_correlation, capsys):
    _assert_result(checks.ex3(scipy.linalg.eigh(pbmc_correlation)[1][:, -2].astype(np.float32)), True, capsys)


def test_ex3_rejects_the_log_cpm_preprocessing(capsys):
    # log2(CPM + 1) on single cells ranks genes by detection rate: another gene set, another second eigenvector
    counts = load_pbmc().counts
    log_cpm_correlation = _top_gene_correlation(np.log2(counts / counts.sum(axis=0) * 1e6 + 1).T)
    _assert_result(checks.ex3(scipy.linalg.eigh(log_cpm_correlation)[1][:, -2]), False, capsys)


def test_ex3_rejects_the_leading_eigenvector(pbmc_correlation, capsys):
    _assert_result(checks.ex3(scipy.linalg.eigh(pbmc_correlation)[1][:, -1]), False, capsys)


def test_ex3_rejects_an_unnormalised_vector(pbmc_correlation, capsys):
    _assert_result(checks.ex3(3.0 * scipy.linalg.eigh(pbmc_correlation)[1][:, -2]), False, capsys)


def test_ex3_rejects_a_wrong_shape(pbmc_correlation, capsys):
    _assert_result(checks.ex3(scipy.linalg.eigh(pbmc_correlation)[1][:, -2:]), False, capsys)


def test_ex3_none_is_not_attempted(capsys):
    assert checks.ex3(None) is False
    assert "not attempted" in capsys.readouterr().out


def _iterations(pbmc_correlation, power):
    values = scipy.linalg.eigvalsh(pbmc_correlation)
    ratio = values[-2] / values[-1]
    k = 0
    while ratio ** (power * k) > 1e-12:
        k += 1
    return k


def test_ex4_accepts_the_iteration_count(pbmc_correlation, capsys):
    _assert_result(checks.ex4(_iterations(pbmc_correlation, power=2)), True, capsys)


def test_ex4_rejects_the_unsquared_rate(pbmc_correlation, capsys):
    _assert_result(checks.ex4(_iterations(pbmc_correlation, power=1)), False, capsys)


def test_ex4_rejects_an_off_by_one_and_a_fraction(pbmc_correlation, capsys):
    right = _iterations(pbmc_correlation, power=2)
    _assert_result(checks.ex4(right - 1), False, capsys)
    _assert_result(checks.ex4(right - 0.5), False, capsys)


def test_ex4_none_is_not_attempted(capsys):
    assert checks.ex4(None) is False
    assert "not attempted" in capsys.readouterr().out


def test_ex3_accepts_torch_tensors_of_either_precision(pbmc_correlation, capsys):
    torch = pytest.importorskip("torch")
    second = scipy.linalg.eigh(pbmc_correlation)[1][:, -2]
    _assert_result(checks.ex3(torch.tensor(second)), True, capsys)
    _assert_result(checks.ex3(-torch.tensor(second, dtype=torch.float32)), True, capsys)


def test_ex3_rejects_a_unit_vector_slightly_off_the_eigenvector(pbmc_correlation, capsys):
    # a vector that still reached only 1e-2 of the leading direction: right norm, wrong angle
    vectors = scipy.linalg.eigh(pbmc_correlation)[1]
    tilted = vectors[:, -2] + 1e-2 * vectors[:, -1]
    _assert_result(checks.ex3(tilted / np.linalg.norm(tilted)), False, capsys)


def test_ex3_rejects_nan_and_non_numbers_without_raising(capsys):
    _assert_result(checks.ex3(np.full(50, np.nan)), False, capsys)
    _assert_result(checks.ex3("the second eigenvector"), False, capsys)
    _assert_result(checks.ex3([[0.1, 0.2], [0.3]]), False, capsys)


def test_ex4_reads_tensors_and_rejects_a_fractional_tensor(pbmc_correlation, capsys):
    torch = pytest.importorskip("torch")
    right = _iterations(pbmc_correlation, power=2)
    _assert_result(checks.ex4(torch.tensor(right)), True, capsys)
    _assert_result(checks.ex4(torch.tensor(right - 0.5)), False, capsys)
