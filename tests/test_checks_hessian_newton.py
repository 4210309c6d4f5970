"""The exercise checks of 02_hessian_newton accept right answers and reject plausible wrong ones."""

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.stats import gmean

from utils.checks import hessian_newton as checks
from utils.data import load_pasilla


def _accepts(check, answer, capsys):
    assert check(answer) is True
    assert "✓" in capsys.readouterr().out


def _rejects(check, answer, capsys):
    assert check(answer) is False
    assert "✗" in capsys.readouterr().out


# ---------------------------------------------------------------- Exercise 1: Hessian of x³y + exp(xy) at (1, 0)
def _ex1_hessian(x, y):
    mixed = 3 * x**2 + (1 + x * y) * np.exp(x * y)
    return np.array([[6 * x * y + y**2 * np.exp(x * y), mixed], [mixed, x**2 * np.exp(x * y)]])


def test_ex1_accepts_the_hand_hessian(capsys):
    _accepts(checks.ex1, _ex1_hessian(1.0, 0.0), capsys)


@pytest.mark.parametrize(
    "wrong",
    [
        _ex1_hessian(1.0, 0.0) - np.array([[0.0, 1.0], [1.0, 0.0]]),  # the exp(xy) contribution to f_xy forgotten
        np.array([[0.0, 4.0], [3.0, 1.0]]),  # not symmetric
        _ex1_hessian(0.0, 1.0),  # point swapped
        np.array([0.0, 4.0, 1.0]),  # wrong shape
    ],
)
def test_ex1_rejects_wrong_hessians(wrong, capsys):
    _rejects(checks.ex1, wrong, capsys)


def test_ex1_none_is_not_attempted(capsys):
    assert checks.ex1(None) is False
    assert "not attempted" in capsys.readouterr().out


# ---------------------------------------------------------------- Exercise 2: classify the origin
def test_ex2_accepts_saddle(capsys):
    hessian = np.array([[2.0, 3.0, 0.0], [3.0, 2.0, 0.0], [0.0, 0.0, 1.0]])
    eigenvalues = np.linalg.eigvalsh(hessian)
    assert eigenvalues.min() < 0 < eigenvalues.max()
    _accepts(checks.ex2, "saddle", capsys)
    _accepts(checks.ex2, " Saddle", capsys)  # case and spaces do not matter


@pytest.mark.parametrize("wrong", ["minimum", "maximum", "degenerate", 3])
def test_ex2_rejects_other_answers(wrong, capsys):
    _rejects(checks.ex2, wrong, capsys)


def test_ex2_none_is_not_attempted(capsys):
    assert checks.ex2(None) is False
    assert "not attempted" in capsys.readouterr().out


# ---------------------------------------------------------------- Exercise 3: Newton for a Poisson log-rate
def _newton(counts, size_factors, theta0, n_steps):
    theta = theta0
    for _ in range(n_steps):
        gradient = np.sum(counts) - np.exp(theta) * np.sum(size_factors)
        curvature = -np.exp(theta) * np.sum(size_factors)
        theta = theta - gradient / curvature
    return float(theta)


def test_ex3_accepts_newton(capsys):
    _accepts(checks.ex3, _newton, capsys)


def _closed_form_always(counts, size_factors, theta0, n_steps):
    return float(np.log(np.sum(counts) / np.sum(size_factors)))


def _wrong_sign(counts, size_factors, theta0, n_steps):
    theta = theta0
    for _ in range(n_steps):
        theta = theta + (np.sum(counts) - np.exp(theta) * np.sum(size_factors)) / (
            -np.exp(theta) * np.sum(size_factors)
        )
    return float(theta)


def _one_step_too_many(counts, size_factors, theta0, n_steps):
    return _newton(counts, size_factors, theta0, n_steps + 1)


def _ignores_size_factors(counts, size_factors, theta0, n_steps):
    return _newton(counts, np.ones_like(size_factors), theta0, n_steps)


@pytest.mark.parametrize("wrong", [_closed_form_always, _wrong_sign, _one_step_too_many, _ignores_size_factors])
def test_ex3_rejects_wrong_iterations(wrong, capsys):
    _rejects(checks.ex3, wrong, capsys)


def test_ex3_stub_and_none_are_not_attempted(capsys):
    def stub(counts, size_factors, theta0, n_steps):
        return None

    assert checks.ex3(None) is False
    assert "not attempted" in capsys.readouterr().out
    assert checks.ex3(stub) is False
    assert "not attempted" in capsys.readouterr().out


# ---------------------------------------------------------------- Exercise 4: standard error from the Hessian
@pytest.fixture(scope="module")
def ex4_fit():
    """Poisson GLM for FBgn0039155, ~ type + condition, fitted by SciPy's trust-region Newton (not IRLS)."""
    pasilla = load_pasilla()
    counts = pasilla.counts.to_numpy().astype(float)
    expressed = counts[(counts > 0).all(axis=1)]
    size_factors = np.median(expressed / gmean(expressed, axis=1)[:, None], axis=0)
    samples = pasilla.samples
    design = np.column_stack(
        [
            np.ones(len(samples)),
            (samples["type"] == "paired-end").to_numpy(dtype=float),
            (samples["condition"] == "treated").to_numpy(dtype=float),
        ]
    )
    gene = pasilla.counts.loc["FBgn0039155"].to_numpy().astype(float)
    offset = np.log(size_factors)

    def information(beta):
        mu = np.exp(offset + design @ beta)
        return design.T @ (mu[:, None] * design)

    result = minimize(
        lambda beta: np.sum(np.exp(offset + design @ beta) - gene * (offset + design @ beta)),
        x0=np.array([np.log(gene.mean()), 0.0, 0.0]),
        jac=lambda beta: design.T @ (np.exp(offset + design @ beta) - gene),
        hess=information,
        method="trust-exact",
        options={"gtol": 1e-6},
    )
    assert result.success
    return result.x, information(result.x), gene, size_factors, samples


def test_ex4_accepts_the_standard_error(ex4_fit, capsys):
    beta, information, *_ = ex4_fit
    _accepts(checks.ex4, float(np.sqrt(np.linalg.inv(information)[2, 2])), capsys)


def test_ex4_rejects_plausible_mistakes(ex4_fit, capsys):
    beta, information, gene, size_factors, samples = ex4_fit
    covariance = np.linalg.inv(information)
    _rejects(checks.ex4, float(np.sqrt(information[2, 2])), capsys)  # no inverse
    _rejects(checks.ex4, float(1 / np.sqrt(information[2, 2])), capsys)  # inverse of the diagonal entry only
    _rejects(checks.ex4, float(covariance[2, 2]), capsys)  # variance, not standard error
    _rejects(checks.ex4, float(np.sqrt(covariance[0, 0])), capsys)  # the intercept's standard error
    # the design without the type column: for two groups SE(β1) = sqrt(1/K_untreated + 1/K_treated)
    treated = (samples["condition"] == "treated").to_numpy()
    _rejects(checks.ex4, float(np.sqrt(1 / gene[~treated].sum() + 1 / gene[treated].sum())), capsys)


def test_ex4_none_is_not_attempted(capsys):
    assert checks.ex4(None) is False
    assert "not attempted" in capsys.readouterr().out
