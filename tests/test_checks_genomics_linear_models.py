"""The exercise checks of 04_genomics_linear_models accept right answers and reject plausible wrong ones."""

import numpy as np
import pytest
from conftest import rejects as _rejects
from scipy import linalg, stats

from utils.checks import genomics_linear_models as checks
from utils.data import cpm, load_airway, log_cpm
from utils.linear_models import contrast, design_matrix, fit_linear_models


@pytest.fixture(scope="module")
def airway():
    counts, samples = load_airway()
    expressed = (cpm(counts) >= 1).sum(axis=1) >= 4
    return log_cpm(counts)[expressed], samples


def _passes(result, capsys):
    out = capsys.readouterr().out
    return result is True and "✓" in out


def _fails(result, capsys):
    out = capsys.readouterr().out
    return result is False and "✗" in out


def test_none_is_not_attempted(capsys):
    for check in (checks.ex1, checks.ex2, checks.ex3, checks.ex4):
        assert check(None) is False
        assert "not attempted yet" in capsys.readouterr().out


def test_ex1_accepts_a_paired_t(capsys):
    def paired_t_statistic(treated, untreated):
        return stats.ttest_rel(treated, untreated, axis=1).statistic

    assert _passes(checks.ex1(paired_t_statistic), capsys)


def test_ex1_rejects_wrong_formulas(capsys):
    def population_sd(treated, untreated):
        differences = treated - untreated
        return differences.mean(axis=1) / (differences.std(axis=1) / np.sqrt(differences.shape[1]))

    def reversed_sign(treated, untreated):
        return stats.ttest_rel(untreated, treated, axis=1).statistic

    def stub(treated, untreated):
        return None

    def over_genes(treated, untreated):  # the hint's "one value per gene (row)": statistics along the wrong axis
        return stats.ttest_rel(treated, untreated, axis=0).statistic

    assert _fails(checks.ex1(population_sd), capsys)
    assert _fails(checks.ex1(reversed_sign), capsys)
    assert _fails(checks.ex1(over_genes), capsys)
    assert checks.ex1(stub) is False
    assert "not attempted yet" in capsys.readouterr().out


def test_ex2_accepts_the_average_contrast(airway, capsys):
    log_expression, samples = airway
    fit = fit_linear_models(log_expression, design_matrix(samples, ["cell", "dex"]))
    weights = {"cell[T.N61311]": 1.0, "cell[T.N061011]": -1 / 3, "cell[T.N080611]": -1 / 3}
    assert _passes(checks.ex2(contrast(fit, weights).t_statistic), capsys)


def test_ex2_rejects_forgetting_the_reference_line(airway, capsys):
    log_expression, samples = airway
    fit = fit_linear_models(log_expression, design_matrix(samples, ["cell", "dex"]))
    weights = {"cell[T.N61311]": 1.0, "cell[T.N061011]": -1 / 2, "cell[T.N080611]": -1 / 2}
    right = contrast(fit, {"cell[T.N61311]": 1.0, "cell[T.N061011]": -1 / 3, "cell[T.N080611]": -1 / 3})
    assert _fails(checks.ex2(contrast(fit, weights).t_statistic), capsys)
    assert _fails(checks.ex2(right.estimate), capsys)  # the estimate, not its t
    assert _fails(checks.ex2(right.t_statistic[:100]), capsys)  # wrong shape


def test_ex3_accepts_a_null_space_test(capsys):
    # c is tested against every null direction, so the cases r + n1 - n2 (built to fool a summed direction) fail it
    def is_estimable(design, vector):
        null_basis = linalg.null_space(np.asarray(design, dtype=float))
        return bool(np.allclose(null_basis.T @ np.asarray(vector, dtype=float), 0, atol=1e-8))

    assert _passes(checks.ex3(is_estimable), capsys)


def test_ex3_accepts_the_rank_and_pseudo_inverse_routes(capsys):
    def by_rank(design, vector):
        return np.linalg.matrix_rank(np.vstack([design, vector])) == np.linalg.matrix_rank(design)

    def by_pseudo_inverse(design, vector):
        # c is in the row space iff projecting it onto the row space (c X^+ X) leaves it unchanged
        design = np.asarray(design, dtype=float)
        return bool(np.allclose(vector @ np.linalg.pinv(design) @ design, vector, atol=1e-8))

    assert _passes(checks.ex3(by_rank), capsys)
    assert _passes(checks.ex3(by_pseudo_inverse), capsys)


def _against_one_null_vector(pick):
    def is_estimable(design, vector):
        design = np.asarray(design, dtype=float)
        rank = np.linalg.matrix_rank(design)
        if rank == design.shape[1]:
            return True
        return bool(abs(np.asarray(vector, dtype=float) @ pick(design, rank)) < 1e-8)

    return is_estimable


@pytest.mark.parametrize(
    "pick",
    [
        lambda design, rank: linalg.null_space(design)[:, 0],
        lambda design, rank: linalg.null_space(design)[:, -1],
        lambda design, rank: np.linalg.svd(design)[2][-1],
        lambda design, rank: np.linalg.svd(design)[2][rank],
    ],
    ids=["null_space first", "null_space last", "svd last row", "svd first null row"],
)
def test_ex3_rejects_a_test_against_one_null_vector(pick, capsys):
    # the hint's own mistake: a design with two null directions needs c orthogonal to both
    assert _fails(checks.ex3(_against_one_null_vector(pick)), capsys)


def _against_the_summed_null_direction(combine):
    def is_estimable(design, vector):
        null_basis = linalg.null_space(np.asarray(design, dtype=float))
        return bool(abs(combine(null_basis, np.asarray(vector, dtype=float))) < 1e-8)

    return is_estimable


@pytest.mark.parametrize(
    "combine",
    [
        lambda null_basis, vector: null_basis.sum(axis=1) @ vector,
        lambda null_basis, vector: (null_basis.T @ vector).sum(),
    ],
    ids=["summed null vectors", "summed projections"],
)
def test_ex3_rejects_a_test_against_one_combined_null_direction(combine, capsys):
    # one combined direction is not the null space: r + n1 - n2 has projections +1 and -1 that cancel in the sum
    _rejects(checks.ex3, _against_the_summed_null_direction(combine), capsys)


def test_ex3_rejects_the_notebook_null_vector_only(capsys):
    # v = (0, 0, 1, 1, -1) of the confounded ~ cell + dex, hard-coded where it has the right length
    def one_known_direction(design, vector):
        known = np.array([0.0, 0, 1, 1, -1])
        return bool(len(vector) != 5 or abs(np.asarray(vector, dtype=float) @ known) < 1e-8)

    assert _fails(checks.ex3(one_known_direction), capsys)


def test_ex3_rejects_wrong_criteria(capsys):
    def always(design, vector):
        return True

    def full_rank_only(design, vector):
        return np.linalg.matrix_rank(design) == design.shape[1]

    def returns_an_array(design, vector):
        return np.ones(len(vector), dtype=bool)

    assert _fails(checks.ex3(always), capsys)
    assert _fails(checks.ex3(full_rank_only), capsys)
    assert _fails(checks.ex3(returns_an_array), capsys)


def test_ex4_accepts_the_pooled_t_test_count(airway, capsys):
    log_expression, samples = airway
    treated = (samples["dex"] == "trt").to_numpy()
    values = log_expression.to_numpy()
    pooled = stats.ttest_ind(values[:, treated], values[:, ~treated], axis=1, equal_var=True)
    count = int((stats.false_discovery_control(pooled.pvalue) < 0.05).sum())
    assert _passes(checks.ex4(count), capsys)


def test_ex4_rejects_the_paired_and_unadjusted_counts(airway, capsys):
    log_expression, samples = airway
    paired_p = fit_linear_models(log_expression, design_matrix(samples, ["cell", "dex"])).p_values[:, -1]
    assert _fails(checks.ex4(int((stats.false_discovery_control(paired_p) < 0.05).sum())), capsys)
    unpaired_p = fit_linear_models(log_expression, design_matrix(samples, ["dex"])).p_values[:, -1]
    assert _fails(checks.ex4(int((unpaired_p < 0.05).sum())), capsys)
