"""The exercise checks of 03_ridge_lasso accept right answers (computed independently here) and reject wrong ones."""

import numpy as np
import pytest
from conftest import rejects as _rejects
from sklearn.linear_model import Lasso, Ridge

from utils.checks import ridge_lasso as checks
from utils.data import load_pbmc


def _assert_result(capsys, result, expected_result):
    out = capsys.readouterr().out
    assert result is expected_result
    assert ("✓" if expected_result else "✗") in out


def _assert_not_attempted(capsys, result):
    assert result is False
    assert "not attempted yet" in capsys.readouterr().out


# Exercise 1: effective degrees of freedom of ridge


def _df_from_hat_via_lstsq(design, lam):
    # ridge fitted values of each unit vector e_i through the augmented least-squares problem: column i of H_λ
    n_samples, n_features = design.shape
    augmented = np.vstack([design, np.sqrt(lam) * np.eye(n_features)])
    targets = np.vstack([np.eye(n_samples), np.zeros((n_features, n_samples))])
    coefficients = np.linalg.lstsq(augmented, targets, rcond=None)[0]
    return float(np.trace(design @ coefficients))


def test_ex1_accepts_the_trace_of_the_hat_matrix(capsys):
    _assert_result(capsys, checks.ex1(_df_from_hat_via_lstsq), True)


def test_ex1_rejects_sigma_instead_of_sigma_squared(capsys):
    def wrong(design, lam):
        singular = np.linalg.svd(design, compute_uv=False)
        return float(np.sum(singular / (singular + lam)))

    _assert_result(capsys, checks.ex1(wrong), False)


def test_ex1_rejects_the_unpenalised_count(capsys):
    _assert_result(capsys, checks.ex1(lambda design, lam: float(np.linalg.matrix_rank(design))), False)


def test_ex1_none_and_stub(capsys):
    _assert_not_attempted(capsys, checks.ex1(None))
    _assert_not_attempted(capsys, checks.ex1(lambda design, lam: None))


# Exercise 2: generalised cross-validation


def _gcv_with_sklearn(design, response, lambdas, reduce=np.mean):
    n_samples = design.shape[0]
    scores = []
    for lam in lambdas:
        fitted = Ridge(alpha=lam, fit_intercept=False).fit(design, response).predict(design)
        df = _df_from_hat_via_lstsq(design, lam)
        scores.append(reduce((response - fitted) ** 2) / (1 - df / n_samples) ** 2)
    return np.array(scores)


def test_ex2_accepts_gcv(capsys):
    _assert_result(capsys, checks.ex2(_gcv_with_sklearn), True)


def test_ex2_rejects_the_missing_square(capsys):
    def wrong(design, response, lambdas):
        n_samples = design.shape[0]
        return np.array(
            [
                np.mean((response - Ridge(alpha=lam, fit_intercept=False).fit(design, response).predict(design)) ** 2)
                / (1 - _df_from_hat_via_lstsq(design, lam) / n_samples)
                for lam in lambdas
            ]
        )

    _assert_result(capsys, checks.ex2(wrong), False)


def test_ex2_rejects_the_sum_of_squared_residuals(capsys):
    # the hint's mistake: the residual sum of squares in the numerator instead of its mean
    def with_the_sum(design, response, lambdas):
        return _gcv_with_sklearn(design, response, lambdas, reduce=np.sum)

    _rejects(checks.ex2, with_the_sum, capsys)


def test_ex2_rejects_leave_one_out_in_place_of_gcv(capsys):
    def loo(design, response, lambdas):
        scores = []
        for lam in lambdas:
            hat = design @ np.linalg.solve(design.T @ design + lam * np.eye(design.shape[1]), design.T)
            scores.append(np.mean(((response - hat @ response) / (1 - np.diag(hat))) ** 2))
        return np.array(scores)

    _assert_result(capsys, checks.ex2(loo), False)


def test_ex2_none(capsys):
    _assert_not_attempted(capsys, checks.ex2(None))


# Exercise 3: elastic net; the right answer here is the exact solution of the equivalent augmented LASSO
# (Zou & Hastie 2005, lemma 1): elastic net on (X, y) = LASSO on (X; sqrt(n λ (1-α)) I), (y; 0) with rescaled λ


def _elastic_net_via_augmented_lasso(design, response, lam, l1_ratio):
    n_samples, n_features = design.shape
    augmented = np.vstack([design, np.sqrt(n_samples * lam * (1 - l1_ratio)) * np.eye(n_features)])
    augmented_response = np.concatenate([response, np.zeros(n_features)])
    # (1/2n)‖y - Xb‖² + (λ(1-α)/2)‖b‖² = (1/2n)‖ỹ - X̃b‖²; Lasso divides by n + p rows, so rescale its α
    alpha = lam * l1_ratio * n_samples / (n_samples + n_features)
    model = Lasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=1_000_000)
    return model.fit(augmented, augmented_response).coef_


def test_ex3_accepts_the_augmented_lasso_solution(capsys):
    _assert_result(capsys, checks.ex3(_elastic_net_via_augmented_lasso), True)


def _coordinate_descent(design, response, lam, l1_ratio, n_sweeps=100_000, ridge_in_denominator=True, mean=True):
    """Cyclic coordinate descent for the elastic net, with switches for the slips the hint warns about."""
    n_samples, n_features = design.shape
    scale = n_samples if mean else 1.0  # mean=False: sums instead of means, i.e. the loss ½‖y - Xβ‖² (no 1/n)
    squared_norms = (design**2).sum(axis=0) / scale
    ridge = lam * (1 - l1_ratio) if ridge_in_denominator else 0.0
    beta, residual = np.zeros(n_features), response.astype(float)
    for _ in range(n_sweeps):
        largest_move = 0.0
        for j in range(n_features):
            rho = design[:, j] @ residual / scale + squared_norms[j] * beta[j]  # x_jᵀr_(j)/n
            new = np.sign(rho) * max(abs(rho) - lam * l1_ratio, 0.0) / (squared_norms[j] + ridge)
            residual -= design[:, j] * (new - beta[j])
            largest_move, beta[j] = max(largest_move, abs(new - beta[j])), new
        if largest_move < 1e-12:
            break
    return beta


def test_ex3_accepts_hand_written_coordinate_descent(capsys):
    _assert_result(capsys, checks.ex3(_coordinate_descent), True)


@pytest.mark.parametrize(
    "slip",
    [
        {"n_sweeps": 30},  # the hint's mistake: stopped after a fixed number of sweeps, before convergence
        {"ridge_in_denominator": False},  # the hint's mistake: λ(1 - l1_ratio) left out of the denominator
        {"mean": False},  # x_jᵀr_(j) and x_jᵀx_j without the 1/n: the penalty of another scaling
    ],
    ids=["30 sweeps", "no ridge term", "no 1/n"],
)
def test_ex3_rejects_the_coordinate_descent_slips(slip, capsys):
    _rejects(checks.ex3, lambda *args: _coordinate_descent(*args, **slip), capsys)


def test_ex3_rejects_plain_lasso(capsys):
    def lasso_only(design, response, lam, l1_ratio):
        model = Lasso(alpha=lam * l1_ratio, fit_intercept=False, tol=1e-14, max_iter=1_000_000)
        return model.fit(design, response).coef_

    _assert_result(capsys, checks.ex3(lasso_only), False)


def test_ex3_rejects_a_wrong_shape_and_a_crash(capsys):
    _assert_result(capsys, checks.ex3(lambda design, response, lam, l1_ratio: np.zeros(3)), False)
    _assert_result(capsys, checks.ex3(lambda design, response, lam, l1_ratio: 1 / 0), False)


def test_ex3_none(capsys):
    _assert_not_attempted(capsys, checks.ex3(None))


# Exercise 4: the first gene to enter the NKG7 LASSO path = the largest |Pearson correlation| with NKG7


def _scanpy_style_log_expression():
    """log1p(K / s) with s = n_counts / median(n_counts), written out here (scanpy's normalize_total + log1p)."""
    pbmc = load_pbmc()
    size_factors = pbmc.samples["n_counts"] / pbmc.samples["n_counts"].median()
    return np.log1p(pbmc.counts / size_factors)  # genes x cells


def _first_gene_by_correlation():
    log_expression = _scanpy_style_log_expression()
    predictors = log_expression.drop(index=checks.TARGET).T  # cells x genes
    target = log_expression.loc[checks.TARGET]
    # |x_j^T y| on standardised genes ranks genes like |correlation|
    ranked = predictors.corrwith(target).abs().sort_values(ascending=False)
    return ranked.index[0], ranked.index[1], predictors, target


def test_ex4_accepts_the_most_correlated_gene_in_any_case(capsys):
    first, _, _, _ = _first_gene_by_correlation()
    assert first == "S100A9"  # the calprotectin partner of S100A8
    _assert_result(capsys, checks.ex4(first), True)
    _assert_result(capsys, checks.ex4(f" {first.lower()} "), True)


def test_ex4_rejects_the_runner_up_the_unstandardised_choice_and_unknown_names(capsys):
    first, second, predictors, target = _first_gene_by_correlation()
    _assert_result(capsys, checks.ex4(second), False)
    # the hint's mistake: without standardising, the gene with the largest spread wins
    covariance = (predictors - predictors.mean()).T @ (target - target.mean())
    unstandardised = covariance.abs().idxmax()
    assert unstandardised != first
    _assert_result(capsys, checks.ex4(unstandardised), False)
    _assert_result(capsys, checks.ex4(checks.TARGET), False)
    _assert_result(capsys, checks.ex4("NKG7"), False)
    _assert_result(capsys, checks.ex4(42), False)


def test_ex4_none(capsys):
    _assert_not_attempted(capsys, checks.ex4(None))
