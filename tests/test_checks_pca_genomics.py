"""The exercise checks of 03_pca_genomics accept right answers (computed independently here) and reject wrong ones."""

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from utils.checks import pca_genomics as checks
from utils.data import load_airway, load_pbmc


@pytest.fixture(scope="module")
def airway_top():
    counts = load_airway().counts
    log_expression = np.log2(counts / counts.sum(axis=0) * 1e6 + 1)
    top = log_expression.var(axis=1).sort_values(ascending=False).index[:500]
    return log_expression.loc[top].T.to_numpy()


@pytest.fixture(scope="module")
def pbmc_log():
    """log1p(K / s), s = n_counts / median(n_counts): each cell's total over all genes, not the 765 kept."""
    pbmc = load_pbmc()
    totals = pbmc.samples["n_counts"].to_numpy(dtype=float)
    return np.log1p(pbmc.counts.to_numpy(dtype=float) * (np.median(totals) / totals)).T


def _assert_result(capsys, result, expected_result):
    out = capsys.readouterr().out
    assert result is expected_result
    assert ("✓" if expected_result else "✗") in out


@pytest.fixture(scope="module")
def reference_model(pbmc_log):
    return PCA(n_components=10, svd_solver="full").fit(pbmc_log[:600])


# Exercise 1: a PCA-scores function, checked on random matrices up to the sign of each column


def _sklearn_scores(data, n_components):
    return PCA(n_components=n_components, svd_solver="full").fit_transform(data)


def test_ex1_accepts_a_correct_function_and_any_column_signs(capsys):
    _assert_result(capsys, checks.ex1(_sklearn_scores), True)
    _assert_result(capsys, checks.ex1(lambda data, k: -_sklearn_scores(data, k)), True)


def _uncentred_scores(data, n_components):
    left, singular_values, _ = np.linalg.svd(data, full_matrices=False)
    return left[:, :n_components] * singular_values[:n_components]


def _left_vectors_only(data, n_components):
    left, _, _ = np.linalg.svd(data - data.mean(axis=0), full_matrices=False)
    return left[:, :n_components]


def _loadings_instead(data, n_components):
    return PCA(n_components=n_components, svd_solver="full").fit(data).components_.T


@pytest.mark.parametrize("wrong", [_uncentred_scores, _left_vectors_only, _loadings_instead])
def test_ex1_rejects_uncentred_unscaled_or_loadings(wrong, capsys):
    _assert_result(capsys, checks.ex1(wrong), False)


def test_ex1_stub_is_not_attempted(capsys):
    def stub(data, n_components):
        return None

    assert checks.ex1(stub) is False
    assert "not attempted yet" in capsys.readouterr().out


# Exercise 2: relative rank-2 residual of airway's centred matrix


def _relative_residual(matrix, rank, centre=True):
    values = matrix - matrix.mean(axis=0) if centre else matrix
    left, singular_values, right_t = np.linalg.svd(values, full_matrices=False)
    approximation = left[:, :rank] * singular_values[:rank] @ right_t[:rank]
    return np.linalg.norm(values - approximation) ** 2 / np.linalg.norm(values) ** 2


def test_ex2_accepts_the_reconstruction_residual(airway_top, capsys):
    _assert_result(capsys, checks.ex2(_relative_residual(airway_top, 2)), True)


def test_ex2_rejects_uncentred_wrong_rank_and_unsquared(airway_top, capsys):
    singular_values = np.linalg.svd(airway_top - airway_top.mean(axis=0), compute_uv=False)
    wrong_answers = [
        _relative_residual(airway_top, 2, centre=False),
        _relative_residual(airway_top, 1),
        1 - singular_values[:2].sum() / singular_values.sum(),
    ]
    for wrong in wrong_answers:
        _assert_result(capsys, checks.ex2(wrong), False)


# Exercise 3: eigenvalues of the gene-gene correlation matrix


def test_ex3_accepts_correlation_eigenvalues(pbmc_log, capsys):
    eigenvalues = np.linalg.eigvalsh(np.corrcoef(pbmc_log, rowvar=False))[::-1]
    _assert_result(capsys, checks.ex3(eigenvalues[:5]), True)


def test_ex3_accepts_scikit_learn_with_the_n_over_n_minus_1_factor_removed(pbmc_log, capsys):
    n = pbmc_log.shape[0]
    variances = PCA(n_components=5, svd_solver="full").fit(StandardScaler().fit_transform(pbmc_log)).explained_variance_
    _assert_result(capsys, checks.ex3(variances * (n - 1) / n), True)


def test_ex3_rejects_standard_scaler_plus_pca(pbmc_log, capsys):
    # the hint's mistake: StandardScaler (ddof = 0) then PCA (ddof = 1) inflates every eigenvalue by n/(n-1)
    variances = PCA(n_components=5, svd_solver="full").fit(StandardScaler().fit_transform(pbmc_log)).explained_variance_
    _assert_result(capsys, checks.ex3(variances), False)


def test_ex3_rejects_the_cell_by_cell_correlation(pbmc_log, capsys):
    # np.corrcoef without rowvar=False correlates the 700 cells
    _assert_result(capsys, checks.ex3(np.linalg.eigvalsh(np.corrcoef(pbmc_log))[::-1][:5]), False)


def test_ex3_rejects_ascending_order_and_covariance(pbmc_log, capsys):
    correlation_eigenvalues = np.linalg.eigvalsh(np.corrcoef(pbmc_log, rowvar=False))
    covariance_eigenvalues = np.linalg.eigvalsh(np.cov(pbmc_log, rowvar=False))[::-1]
    for wrong in (correlation_eigenvalues[:5], correlation_eigenvalues[-5:], covariance_eigenvalues[:5]):
        _assert_result(capsys, checks.ex3(wrong), False)


# Exercise 4: projection of held-out cells onto a reference PCA


def test_ex4_accepts_the_projection_with_any_column_signs(pbmc_log, reference_model, capsys):
    projected = reference_model.transform(pbmc_log[600:])
    _assert_result(capsys, checks.ex4(projected), True)
    flipped = projected * np.where(np.arange(10) % 2 == 0, -1.0, 1.0)
    _assert_result(capsys, checks.ex4(flipped), True)


def test_ex4_rejects_own_centring_refitting_and_wrong_shape(pbmc_log, reference_model, capsys):
    query = pbmc_log[600:]
    own_centring = (query - query.mean(axis=0)) @ reference_model.components_.T
    fit_on_all = PCA(n_components=10, svd_solver="full").fit(pbmc_log).transform(query)
    for wrong in (own_centring, fit_on_all, reference_model.transform(query)[:, :5]):
        _assert_result(capsys, checks.ex4(wrong), False)


@pytest.mark.parametrize("check", [checks.ex2, checks.ex3, checks.ex4])
def test_none_is_not_attempted(check, capsys):
    assert check(None) is False
    assert "not attempted yet" in capsys.readouterr().out


def test_ex4_accepts_a_tensor_float32_and_a_list(pbmc_log, reference_model, capsys):
    torch = pytest.importorskip("torch")
    projected = reference_model.transform(pbmc_log[600:])
    _assert_result(capsys, checks.ex4(torch.tensor(-projected)), True)
    _assert_result(capsys, checks.ex4(projected.astype(np.float32)), True)
    _assert_result(capsys, checks.ex4(projected.tolist()), True)


def test_ex4_rejects_nan_transposed_and_non_numbers_without_raising(pbmc_log, reference_model, capsys):
    projected = reference_model.transform(pbmc_log[600:])
    with_nan = projected.copy()
    with_nan[3, 4] = np.nan
    for wrong in (with_nan, projected.T, "scores"):
        _assert_result(capsys, checks.ex4(wrong), False)
