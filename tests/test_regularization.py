"""utils.regularization against scikit-learn, the KKT conditions and closed forms, and on bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Lasso
from sklearn.linear_model import lasso_path as sklearn_lasso_path
from sklearn.model_selection import KFold

from utils import regularization


def _problem(seed, n=40, p=12, correlated=True):
    rng = np.random.default_rng(seed)
    if correlated:
        design = rng.standard_normal((n, 3)) @ rng.standard_normal((3, p)) + 0.4 * rng.standard_normal((n, p))
    else:
        design = rng.standard_normal((n, p))
    coef = np.zeros(p)
    coef[:3] = [2.0, -1.0, 0.5]
    response = design @ coef + rng.standard_normal(n)
    return design - design.mean(axis=0), response - response.mean()


# k-fold splits


@pytest.mark.parametrize(("n_samples", "n_folds"), [(10, 2), (23, 5), (7, 7), (100, 10)])
def test_kfold_partitions_the_samples(n_samples, n_folds):
    folds = regularization.kfold_indices(n_samples, n_folds, seed=3)
    assert len(folds) == n_folds
    tests = np.concatenate([test for _, test in folds])
    assert np.array_equal(np.sort(tests), np.arange(n_samples))
    sizes = [test.size for _, test in folds]
    assert max(sizes) - min(sizes) <= 1
    for train, test in folds:
        assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(n_samples))
        assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)


def test_kfold_fold_sizes_match_sklearn_and_the_seed_is_reproducible():
    ours = regularization.kfold_indices(23, 5, seed=1)
    theirs = list(KFold(5).split(np.zeros(23)))
    assert [test.size for _, test in ours] == [test.size for _, test in theirs]
    again = regularization.kfold_indices(23, 5, seed=1)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(ours, again, strict=True))
    other = regularization.kfold_indices(23, 5, seed=2)
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(ours, other, strict=True))


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((10, 1), ValueError),
        ((10, 11), ValueError),
        ((1, 1), ValueError),
        ((10, 2, -1), ValueError),
        ((10.0, 2), TypeError),
        ((10, 2.0), TypeError),  # a whole-number float is still the wrong kind
        ((10, True), TypeError),
        ((10, "5"), TypeError),
    ],
)
def test_kfold_rejects_bad_arguments(args, error):
    with pytest.raises(error):
        regularization.kfold_indices(*args)


def test_kfold_rejects_a_non_integer_seed():
    with pytest.raises(TypeError, match="seed"):
        regularization.kfold_indices(10, 2, seed=0.5)


# λ_max and the KKT certificate


def test_lambda_max_is_where_the_solution_becomes_zero():
    design, response = _problem(0)
    lam_max = regularization.lasso_lambda_max(design, response)
    assert lam_max == pytest.approx(np.max(np.abs(design.T @ response)) / design.shape[0])
    at_max = Lasso(alpha=lam_max, fit_intercept=False, tol=1e-12).fit(design, response).coef_
    below = Lasso(alpha=0.98 * lam_max, fit_intercept=False, tol=1e-12).fit(design, response).coef_
    assert not at_max.any() and below.any()
    assert regularization.lasso_kkt_violation(design, response, np.zeros(design.shape[1]), lam_max) == 0.0


def test_kkt_violation_is_zero_at_sklearns_solution_and_large_elsewhere():
    design, response = _problem(1)
    lam = 0.2 * regularization.lasso_lambda_max(design, response)
    solution = Lasso(alpha=lam, fit_intercept=False, tol=1e-14, max_iter=1_000_000).fit(design, response).coef_
    assert regularization.lasso_kkt_violation(design, response, solution, lam) < 1e-6
    assert regularization.lasso_kkt_violation(design, response, np.zeros_like(solution), lam) > 1
    perturbed = solution.copy()
    perturbed[np.flatnonzero(solution)[0]] *= 1.1
    assert regularization.lasso_kkt_violation(design, response, perturbed, lam) > 1e-3


def test_kkt_and_lambda_max_reject_bad_input():
    design, response = _problem(2)
    with pytest.raises(ValueError, match="coefficients"):
        regularization.lasso_kkt_violation(design, response, np.zeros(3), 0.1)
    with pytest.raises(ValueError, match="lam"):
        regularization.lasso_kkt_violation(design, response, np.zeros(design.shape[1]), 0.0)
    with pytest.raises(ValueError, match="response"):
        regularization.lasso_lambda_max(design, response[:-1])
    with pytest.raises(ValueError, match="design"):
        regularization.lasso_lambda_max(design[:, 0], response)


# the LASSO path


@pytest.mark.parametrize("correlated", [True, False])
def test_lasso_path_matches_sklearn_and_is_certified(correlated):
    design, response = _problem(4, correlated=correlated)
    lambdas = regularization.lasso_lambda_max(design, response) * np.logspace(0, -3, 25)
    result = regularization.lasso_path(design, response, lambdas)
    _, expected, _ = sklearn_lasso_path(design, response, alphas=lambdas, tol=1e-14, max_iter=1_000_000)
    np.testing.assert_allclose(result.coefficients, expected, atol=1e-8)
    assert result.coefficients.shape == (design.shape[1], lambdas.size)
    assert np.array_equal(result.lambdas, lambdas)
    assert result.sweeps[0] == 0 and np.all(result.sweeps[1:] >= 1)  # β = 0 is already optimal at λ_max
    for k, lam in enumerate(lambdas):
        assert regularization.lasso_kkt_violation(design, response, result.coefficients[:, k], lam) <= 1e-9


def test_lasso_path_with_more_genes_than_samples_and_an_all_zero_column():
    design, response = _problem(5, n=20, p=50)
    design[:, 7] = 0.0
    lambdas = regularization.lasso_lambda_max(design, response) * np.logspace(0, -1.5, 15)
    result = regularization.lasso_path(design, response, lambdas)
    assert not result.coefficients[7].any()
    _, expected, _ = sklearn_lasso_path(design, response, alphas=lambdas, tol=1e-14, max_iter=1_000_000)
    np.testing.assert_allclose(result.coefficients, expected, atol=1e-7)


def test_orthogonal_design_gives_soft_thresholding():
    rng = np.random.default_rng(6)
    n = 30
    design = np.sqrt(n) * np.linalg.qr(rng.standard_normal((n, 4)))[0]  # XᵀX = nI
    response = rng.standard_normal(n)
    lambdas = np.array([0.5, 0.2, 0.05])
    result = regularization.lasso_path(design, response, lambdas)
    scores = design.T @ response / n
    for k, lam in enumerate(lambdas):
        expected = np.sign(scores) * np.maximum(np.abs(scores) - lam, 0.0)
        np.testing.assert_allclose(result.coefficients[:, k], expected, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.integers(5, 40), st.integers(1, 15), st.floats(0.01, 0.9), st.integers(0, 2**32 - 1))
def test_lasso_path_agrees_with_sklearn_on_random_problems(n, p, fraction, seed):
    rng = np.random.default_rng(seed)
    design = rng.standard_normal((n, p))
    design -= design.mean(axis=0)
    response = rng.standard_normal(n)
    response -= response.mean()
    lam_max = np.max(np.abs(design.T @ response)) / n
    if lam_max < 1e-8:
        return
    lam = fraction * lam_max
    result = regularization.lasso_path(design, response, [lam])
    assert regularization.lasso_kkt_violation(design, response, result.coefficients[:, 0], lam) <= 1e-9
    # compare objectives, which are unique even when the minimiser is not (p > n)
    reference = Lasso(alpha=lam, fit_intercept=False, tol=1e-14, max_iter=1_000_000).fit(design, response).coef_

    def objective(coef):
        return np.sum((response - design @ coef) ** 2) / (2 * n) + lam * np.abs(coef).sum()

    assert objective(result.coefficients[:, 0]) <= objective(reference) + 1e-10


@pytest.mark.parametrize(
    ("lambdas", "kwargs", "match"),
    [
        ([0.1, 0.2], {}, "non-increasing"),
        ([0.1, -0.1], {}, "positive"),
        ([np.nan], {}, "positive"),
        ([], {}, "non-empty"),
        ([[0.1]], {}, "1-D"),
        ([0.1], {"tol": 0.0}, "tol"),
        ([0.1], {"max_sweeps": 0}, "max_sweeps"),
    ],
)
def test_lasso_path_rejects_bad_arguments(lambdas, kwargs, match):
    design, response = _problem(7)
    with pytest.raises(ValueError, match=match):
        regularization.lasso_path(design, response, lambdas, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"max_sweeps": 2.5}, "max_sweeps must be an integer"), ({"tol": "1e-9"}, "tol must be a real number")],
)
def test_lasso_path_rejects_the_wrong_kind_of_argument(kwargs, match):
    design, response = _problem(7)
    with pytest.raises(TypeError, match=match):
        regularization.lasso_path(design, response, [0.1], **kwargs)


def test_non_numeric_data_raise_type_error():
    design, response = _problem(9)
    with pytest.raises(TypeError, match="design must be numeric"):
        regularization.lasso_lambda_max(design.astype(str), response)
    with pytest.raises(TypeError, match="response must be numeric"):
        regularization.lasso_path(design, response > 0, [0.1])
    with pytest.raises(TypeError, match="lam must be a real number"):
        regularization.lasso_kkt_violation(design, response, np.zeros(design.shape[1]), "0.1")


def test_lasso_path_rejects_bad_data_and_reports_non_convergence():
    design, response = _problem(8)
    bad = design.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="design"):
        regularization.lasso_path(bad, response, [0.1])
    with pytest.raises(ValueError, match="response"):
        regularization.lasso_path(design, np.append(response, 1.0), [0.1])
    with pytest.raises(RuntimeError, match="did not reach"):
        regularization.lasso_path(design, response, [1e-3], tol=1e-15, max_sweeps=1)
