"""The exercise checks of 02_hessian_newton accept right answers and reject plausible wrong ones."""

import numpy as np
import pytest
import torch
from conftest import accepts as _accepts
from conftest import rejects as _rejects
from scipy.optimize import minimize
from scipy.stats import gmean
from torch.autograd.functional import hessian

from utils.checks import hessian_newton as checks
from utils.data import load_pasilla


# ---------------------------------------------------------------- Exercise 1: Hessian of x³y + exp(xy) at (1, 0)
def _ex1_hessian(x, y):
    mixed = 3 * x**2 + (1 + x * y) * np.exp(x * y)
    return np.array([[6 * x * y + y**2 * np.exp(x * y), mixed], [mixed, x**2 * np.exp(x * y)]])


@pytest.mark.parametrize("point", checks.EX1_POINTS)
def test_ex1_points_are_generic(point):
    # no coordinate 0, ±1 or 2 and no two equal: at (1, 0) e^{xy} and (1 + xy)e^{xy} coincide
    assert not any(np.isclose(c, e) for c in point for e in (0.0, 1.0, -1.0, 2.0, -2.0))
    assert len(set(point)) == len(point)
    assert len(checks.EX1_POINTS) >= 3


def _by_autograd(x, y):
    return hessian(lambda v: v[0] ** 3 * v[1] + torch.exp(v[0] * v[1]), torch.tensor([x, y], dtype=torch.float64))


def test_ex1_accepts_the_hand_hessian_and_alternative_forms(capsys):
    _accepts(checks.ex1, _ex1_hessian, capsys)
    _accepts(checks.ex1, lambda x, y: _ex1_hessian(x, y).tolist(), capsys)  # a list of lists
    _accepts(checks.ex1, _by_autograd, capsys)  # a torch tensor
    _accepts(checks.ex1, lambda x, y: _ex1_hessian(x, y).astype(np.float32), capsys)


def _mixed_without_product_rule(x, y):
    # the hint's slip: ∂²/∂x∂y of exp(xy) taken as exp(xy)
    mixed = 3 * x**2 + np.exp(x * y)
    return np.array([[6 * x * y + y**2 * np.exp(x * y), mixed], [mixed, x**2 * np.exp(x * y)]])


def _power_without_exponent(x, y):
    # ∂/∂x of x³y taken as 3xy (the power x² written as x) in the mixed entry
    mixed = 3 * x + (1 + x * y) * np.exp(x * y)
    return np.array([[6 * x * y + y**2 * np.exp(x * y), mixed], [mixed, x**2 * np.exp(x * y)]])


def _diagonal_swapped(x, y):
    # f_xx and f_yy exchanged
    mixed = 3 * x**2 + (1 + x * y) * np.exp(x * y)
    return np.array([[x**2 * np.exp(x * y), mixed], [mixed, 6 * x * y + y**2 * np.exp(x * y)]])


def _chain_rule_factor_forgotten(x, y):
    # f_xx without the y² from differentiating exp(xy) twice
    mixed = 3 * x**2 + (1 + x * y) * np.exp(x * y)
    return np.array([[6 * x * y + np.exp(x * y), mixed], [mixed, x**2 * np.exp(x * y)]])


def _not_symmetric(x, y):
    hessian_matrix = _ex1_hessian(x, y)
    hessian_matrix[1, 0] = 3 * x**2 + np.exp(x * y)
    return hessian_matrix


@pytest.mark.parametrize(
    "wrong",
    [
        _mixed_without_product_rule,
        _power_without_exponent,
        _diagonal_swapped,
        _chain_rule_factor_forgotten,
        _not_symmetric,
        lambda x, y: _ex1_hessian(1.3, -0.7),  # the value at one point, whatever the input
        lambda x, y: _ex1_hessian(y, x),  # arguments swapped
        lambda x, y: np.diag(_ex1_hessian(x, y)),  # wrong shape
    ],
)
def test_ex1_rejects_wrong_hessians(wrong, capsys):
    _rejects(checks.ex1, wrong, capsys)


def test_ex1_rejects_a_matrix_instead_of_a_function(capsys):
    _rejects(checks.ex1, _ex1_hessian(1.3, -0.7), capsys)


def test_ex1_stub_and_none_are_not_attempted(capsys):
    assert checks.ex1(None) is False
    assert "not attempted" in capsys.readouterr().out
    assert checks.ex1(lambda x, y: None) is False
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


def test_ex3_accepts_the_simplified_step(capsys):
    # θ - ℓ'/ℓ'' simplified to θ - 1 + K e^{-θ} / S (no overflow from far starts)
    def simplified(counts, size_factors, theta0, n_steps):
        theta = float(theta0)
        for _ in range(n_steps):
            theta = theta - 1 + np.sum(counts) * np.exp(-theta) / np.sum(size_factors)
        return theta

    _accepts(checks.ex3, simplified, capsys)


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
    # the same number through a Cholesky solve, as a NumPy scalar and as a float32 torch tensor
    unit = np.array([0.0, 0.0, 1.0])
    _accepts(checks.ex4, np.sqrt(unit @ np.linalg.solve(information, unit)), capsys)
    _accepts(checks.ex4, torch.tensor(np.sqrt(np.linalg.inv(information)[2, 2]), dtype=torch.float32), capsys)


def test_ex4_rejects_plausible_mistakes(ex4_fit, capsys):
    beta, information, gene, size_factors, samples = ex4_fit
    covariance = np.linalg.inv(information)
    _rejects(checks.ex4, float(np.sqrt(information[2, 2])), capsys)  # no inverse
    _rejects(checks.ex4, float(1 / np.sqrt(information[2, 2])), capsys)  # inverse of the diagonal entry only
    _rejects(checks.ex4, float(covariance[2, 2]), capsys)  # variance, not standard error
    _rejects(checks.ex4, float(np.sqrt(covariance[0, 0])), capsys)  # the intercept's standard error
    _rejects(checks.ex4, float(np.sqrt(covariance[1, 1])), capsys)  # the type coefficient's standard error
    _rejects(checks.ex4, float(np.sqrt(covariance[2, 2]) / np.log(2)), capsys)  # converted to the log2 scale
    # the design without the type column: for two groups SE(β1) = sqrt(1/K_untreated + 1/K_treated)
    treated = (samples["condition"] == "treated").to_numpy()
    _rejects(checks.ex4, float(np.sqrt(1 / gene[~treated].sum() + 1 / gene[treated].sum())), capsys)


def test_ex4_none_is_not_attempted(capsys):
    assert checks.ex4(None) is False
    assert "not attempted" in capsys.readouterr().out
