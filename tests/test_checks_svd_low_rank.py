"""The exercise checks of 02_svd_low_rank accept right answers and reject plausible wrong ones."""

import numpy as np
import pytest
import scipy.linalg

from utils.checks import svd_low_rank as checks
from utils.data import load_pbmc


def _assert_result(result, expected, capsys):
    out = capsys.readouterr().out
    assert result is expected
    assert ("✓" in out) if expected else ("✗" in out)


def _truncated_by_scipy(matrix, rank):
    left, values, right_t = scipy.linalg.svd(matrix, full_matrices=False)
    return left[:, :rank] @ np.diag(values[:rank]) @ right_t[:rank]


def test_ex1_accepts_the_truncated_svd(capsys):
    _assert_result(checks.ex1(_truncated_by_scipy), True, capsys)


def test_ex1_rejects_an_off_by_one_rank(capsys):
    _assert_result(checks.ex1(lambda matrix, rank: _truncated_by_scipy(matrix, rank + 1)), False, capsys)


def test_ex1_rejects_columns_of_vt_instead_of_rows(capsys):
    # the hint's mistake: the first k columns of V^T (rows of V) in place of its first k rows
    def columns_of_vt(matrix, rank):
        left, values, right_t = np.linalg.svd(matrix, full_matrices=False)
        return (left[:, :rank] * values[:rank]) @ right_t.T[:rank]

    _assert_result(checks.ex1(columns_of_vt), False, capsys)


def test_ex1_rejects_the_dropped_part(capsys):
    # A - A_k (what is thrown away) instead of A_k
    _assert_result(checks.ex1(lambda matrix, rank: matrix - _truncated_by_scipy(matrix, rank)), False, capsys)


def test_ex1_none_and_stub_are_not_attempted(capsys):
    assert checks.ex1(None) is False
    assert checks.ex1(lambda matrix, rank: None) is False
    assert "not attempted" in capsys.readouterr().out


@pytest.fixture(scope="module")
def pbmc_singular_values():
    """Singular values of the cells x genes matrix log1p(counts / s), s = n_counts / median: pandas and SciPy."""
    pbmc = load_pbmc()
    size_factors = pbmc.samples["n_counts"] / pbmc.samples["n_counts"].median()
    return scipy.linalg.svdvals(np.log1p(pbmc.counts / size_factors).T.to_numpy())


def _rank_for(values, fraction=0.9):
    total, running = np.sum(values), 0.0
    for rank, value in enumerate(values, start=1):
        running += value
        if running >= fraction * total:
            return rank
    raise AssertionError("unreachable")


def test_ex2_accepts_the_rank_from_squared_singular_values(pbmc_singular_values, capsys):
    _assert_result(checks.ex2(_rank_for(pbmc_singular_values**2)), True, capsys)


def test_ex2_rejects_unsquared_singular_values(pbmc_singular_values, capsys):
    _assert_result(checks.ex2(_rank_for(pbmc_singular_values)), False, capsys)


def test_ex2_rejects_zero_based_counting_and_fractions(pbmc_singular_values, capsys):
    right = _rank_for(pbmc_singular_values**2)
    _assert_result(checks.ex2(right - 1), False, capsys)
    _assert_result(checks.ex2(right + 0.5), False, capsys)


def test_ex2_none_is_not_attempted(capsys):
    assert checks.ex2(None) is False
    assert "not attempted" in capsys.readouterr().out


def test_ex3_accepts_the_pseudoinverse_solution(capsys):
    _assert_result(checks.ex3(lambda design, response: scipy.linalg.pinv(design) @ response), True, capsys)


def test_ex3_rejects_inverting_every_singular_value(capsys):
    def no_cutoff(design, response):
        left, values, right_t = np.linalg.svd(design, full_matrices=False)
        return right_t.T @ ((left.T @ response) / values)  # 1/σ for σ ~ 1e-16 blows up on rank-deficient designs

    _assert_result(checks.ex3(no_cutoff), False, capsys)


def test_ex3_rejects_a_non_minimal_solution(capsys):
    def plus_null_vector(design, response):
        solution = scipy.linalg.pinv(design) @ response
        null_space = scipy.linalg.null_space(design)
        return solution + null_space[:, 0] if null_space.size else solution

    _assert_result(checks.ex3(plus_null_vector), False, capsys)


def test_ex3_none_is_not_attempted(capsys):
    assert checks.ex3(None) is False
    assert "not attempted" in capsys.readouterr().out


def _standardised_design(columns, ddof=0):
    covariates = np.column_stack(columns)
    standardised = (covariates - covariates.mean(axis=0)) / covariates.std(axis=0, ddof=ddof)
    return np.column_stack([np.ones(covariates.shape[0]), standardised])


@pytest.fixture(scope="module")
def qc_design():
    qc = load_pbmc().samples
    return _standardised_design([np.log10(qc["n_counts"]), np.log10(qc["n_genes"]), qc["percent_mito"]])


def _kappa(design):
    values = scipy.linalg.svdvals(design)
    return values[0] / values[-1]


def test_ex4_accepts_the_condition_number(qc_design, capsys):
    _assert_result(checks.ex4(_kappa(qc_design)), True, capsys)


def test_ex4_accepts_either_ddof_natural_logs_and_float32(capsys):
    qc = load_pbmc().samples
    columns = [np.log10(qc["n_counts"]), np.log10(qc["n_genes"]), qc["percent_mito"]]
    _assert_result(checks.ex4(_kappa(_standardised_design(columns, ddof=1))), True, capsys)
    _assert_result(
        checks.ex4(_kappa(_standardised_design([np.log(qc["n_counts"]), np.log(qc["n_genes"]), qc["percent_mito"]]))),
        True,
        capsys,
    )
    design32 = _standardised_design([np.log10(qc["n_counts"]), np.log10(qc["n_genes"]), qc["percent_mito"]])
    values32 = np.linalg.svd(design32.astype(np.float32), compute_uv=False)
    _assert_result(checks.ex4(values32[0] / values32[-1]), True, capsys)


def test_ex4_rejects_the_design_without_percent_mito(capsys):
    # κ is 0.7 % lower without the third covariate: the old rtol of 1e-2 accepted it
    qc = load_pbmc().samples
    _assert_result(
        checks.ex4(_kappa(_standardised_design([np.log10(qc["n_counts"]), np.log10(qc["n_genes"])]))), False, capsys
    )


def test_ex4_rejects_a_logged_percent_mito(capsys):
    qc = load_pbmc().samples
    columns = [np.log10(qc["n_counts"]), np.log10(qc["n_genes"]), np.log10(qc["percent_mito"])]
    _assert_result(checks.ex4(_kappa(_standardised_design(columns))), False, capsys)


def test_ex4_rejects_the_squared_condition_number(qc_design, capsys):
    values = scipy.linalg.svdvals(qc_design)
    _assert_result(checks.ex4((values[0] / values[-1]) ** 2), False, capsys)


def test_ex4_rejects_the_unstandardised_design(qc_design, capsys):
    qc = load_pbmc().samples
    raw = np.column_stack([np.ones(len(qc)), np.log10(qc["n_counts"]), np.log10(qc["n_genes"]), qc["percent_mito"]])
    _assert_result(checks.ex4(np.linalg.cond(raw)), False, capsys)


def test_ex4_none_is_not_attempted(capsys):
    assert checks.ex4(None) is False
    assert "not attempted" in capsys.readouterr().out


def test_ex2_reads_tensors_and_rejects_a_fractional_tensor(pbmc_singular_values, capsys):
    torch = pytest.importorskip("torch")
    right = _rank_for(pbmc_singular_values**2)
    _assert_result(checks.ex2(torch.tensor(right)), True, capsys)
    _assert_result(checks.ex2(float(right)), True, capsys)
    _assert_result(checks.ex2(torch.tensor(right + 0.5)), False, capsys)
    _assert_result(checks.ex2([right, right]), False, capsys)


def test_ex4_accepts_a_float32_tensor(qc_design, capsys):
    torch = pytest.importorskip("torch")
    _assert_result(checks.ex4(torch.tensor(_kappa(qc_design), dtype=torch.float32)), True, capsys)
