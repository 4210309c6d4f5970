"""The exercise checks of 01_gradients_derivatives accept right answers and reject plausible wrong ones."""

import numpy as np
import pytest
import torch
from conftest import accepts as _accepts
from conftest import rejects as _rejects

from utils.checks import gradients_derivatives as checks


def _ex1_gradient(x, y, z):
    return np.array([2 * x * y + z, x**2 + z**2, 2 * y * z + x])


def _ex2_gradient(x, y):
    return np.array([2 * x - y, -x + 2 * y])


GENERIC_EXCLUDED = (0.0, 1.0, -1.0, 2.0, -2.0)


@pytest.mark.parametrize("point", [*checks.EX1_POINTS, checks.EX2_POINT])
def test_points_are_generic(point):
    # no coordinate 0, ±1 or 2 and no two equal: common slips must change the number
    assert not any(np.isclose(c, e) for c in point for e in GENERIC_EXCLUDED)
    assert len(set(point)) == len(point)


def test_ex1_is_evaluated_at_several_points():
    assert len(checks.EX1_POINTS) >= 3


def test_ex1_accepts_the_hand_gradient_and_alternative_forms(capsys):
    _accepts(checks.ex1, _ex1_gradient, capsys)
    _accepts(checks.ex1, lambda x, y, z: [2 * x * y + z, x**2 + z**2, 2 * y * z + x], capsys)  # a list

    def by_autograd(x, y, z):
        v = torch.tensor([x, y, z], dtype=torch.float64, requires_grad=True)
        (v[0] ** 2 * v[1] + v[1] * v[2] ** 2 + v[0] * v[2]).backward()
        return v.grad  # a torch tensor

    _accepts(checks.ex1, by_autograd, capsys)
    _accepts(checks.ex1, lambda x, y, z: _ex1_gradient(x, y, z).astype(np.float32), capsys)


@pytest.mark.parametrize(
    "wrong",
    [
        lambda x, y, z: np.array([2 * x * y, x**2 + z**2, 2 * y * z]),  # the hint's slip: the xz term forgotten
        lambda x, y, z: np.array([2 * x * y + z, x + z**2, 2 * y * z + x]),  # ∂/∂y of x²y written as x
        lambda x, y, z: np.array([2 * x * y + z, x**2 + z**2, y * z + x]),  # ∂/∂z of yz² without the factor 2
        lambda x, y, z: np.array([2 * y * z + x, x**2 + z**2, 2 * x * y + z]),  # ∂f/∂x and ∂f/∂z swapped
        lambda x, y, z: np.array([x**2 + z**2, 2 * x * y + z, 2 * y * z + x]),  # ∂f/∂x and ∂f/∂y swapped
        lambda x, y, z: _ex1_gradient(1.3, -0.7, 2.4),  # the value at one point, whatever the input
        lambda x, y, z: _ex1_gradient(x, y, z)[:2],  # wrong shape
    ],
)
def test_ex1_rejects_wrong_gradients(wrong, capsys):
    _rejects(checks.ex1, wrong, capsys)


def test_ex1_rejects_an_array_instead_of_a_function(capsys):
    _rejects(checks.ex1, _ex1_gradient(1.3, -0.7, 2.4), capsys)


def test_ex1_stub_and_none_are_not_attempted(capsys):
    assert checks.ex1(None) is False
    assert "not attempted" in capsys.readouterr().out
    assert checks.ex1(lambda x, y, z: None) is False
    assert "not attempted" in capsys.readouterr().out


POINT_2 = np.array(checks.EX2_POINT)
UNIT_2 = np.array([0.6, 0.8])


def test_ex2_accepts_the_directional_derivative(capsys):
    _accepts(checks.ex2, float(_ex2_gradient(*POINT_2) @ UNIT_2), capsys)
    _accepts(checks.ex2, np.float32(_ex2_gradient(*POINT_2) @ UNIT_2), capsys)
    _accepts(checks.ex2, torch.tensor(_ex2_gradient(*POINT_2) @ UNIT_2), capsys)


@pytest.mark.parametrize(
    "wrong",
    [
        float(_ex2_gradient(*POINT_2) @ np.array([3.0, 4.0])),  # the hint's slip: direction not normalised
        float(np.linalg.norm(_ex2_gradient(*POINT_2))),  # the maximum rate instead
        float(_ex2_gradient(*POINT_2)[::-1] @ UNIT_2),  # partials swapped
        float(np.array([2 * POINT_2[0] + POINT_2[1], POINT_2[0] + 2 * POINT_2[1]]) @ UNIT_2),  # sign of -xy lost
        np.array([2.4, 2.4]),  # not a scalar
    ],
)
def test_ex2_rejects_wrong_values(wrong, capsys):
    _rejects(checks.ex2, wrong, capsys)


def test_ex2_none_is_not_attempted(capsys):
    assert checks.ex2(None) is False
    assert "not attempted" in capsys.readouterr().out


def test_ex3_accepts_the_unit_gradient(capsys):
    gradient = _ex2_gradient(*POINT_2)
    _accepts(checks.ex3, gradient / np.sqrt(gradient @ gradient), capsys)
    _accepts(checks.ex3, list(gradient / np.linalg.norm(gradient)), capsys)


@pytest.mark.parametrize(
    "wrong",
    [
        _ex2_gradient(*POINT_2),  # the hint's slip: not normalised
        -_ex2_gradient(*POINT_2) / np.linalg.norm(_ex2_gradient(*POINT_2)),  # steepest descent
        _ex2_gradient(*POINT_2)[::-1] / np.linalg.norm(_ex2_gradient(*POINT_2)),  # partials swapped
        (lambda g: g / np.linalg.norm(g))(np.array([2 * 1.5 - -0.5, -1.5 + -0.5])),  # ∂/∂y of y² written as y
        UNIT_2,  # the direction of Exercise 2
    ],
)
def test_ex3_rejects_wrong_directions(wrong, capsys):
    _rejects(checks.ex3, wrong, capsys)


def test_ex3_none_is_not_attempted(capsys):
    assert checks.ex3(None) is False
    assert "not attempted" in capsys.readouterr().out


def _ex4_vector():
    return np.random.default_rng(1).standard_normal(100)


def test_ex4_accepts_the_three_norms(capsys):
    x = _ex4_vector()
    _accepts(checks.ex4, np.array([np.abs(x).sum(), np.sqrt((x**2).sum()), np.abs(x).max()]), capsys)
    _accepts(checks.ex4, [np.linalg.norm(x, 1), np.linalg.norm(x), np.linalg.norm(x, np.inf)], capsys)


def test_ex4_accepts_norms_computed_in_float32(capsys):
    x = _ex4_vector().astype(np.float32)
    _accepts(checks.ex4, np.array([np.abs(x).sum(), np.sqrt((x**2).sum()), np.abs(x).max()]), capsys)
    t = torch.from_numpy(x)
    _accepts(checks.ex4, torch.stack([t.abs().sum(), t.norm(), t.abs().max()]), capsys)


@pytest.mark.parametrize(
    "make_wrong",
    [
        lambda x: np.array([np.abs(x).sum(), (x**2).sum(), np.abs(x).max()]),  # L2 squared
        lambda x: np.array([np.abs(x).max(), np.sqrt((x**2).sum()), np.abs(x).sum()]),  # order reversed
        lambda x: np.array([x.sum(), np.sqrt((x**2).sum()), x.max()]),  # absolute values forgotten
        lambda x: np.array([np.abs(x).sum(), np.sqrt((x**2).sum())]),  # L∞ missing
    ],
)
def test_ex4_rejects_wrong_norms(make_wrong, capsys):
    _rejects(checks.ex4, make_wrong(_ex4_vector()), capsys)


def test_ex4_rejects_another_seed(capsys):
    x = np.random.default_rng(0).standard_normal(100)
    _rejects(checks.ex4, np.array([np.abs(x).sum(), np.sqrt((x**2).sum()), np.abs(x).max()]), capsys)


def test_ex4_none_is_not_attempted(capsys):
    assert checks.ex4(None) is False
    assert "not attempted" in capsys.readouterr().out


def test_ex5_accepts_the_formula(capsys):
    def mse_gradient(X, w, y):
        return 2.0 / len(y) * X.T @ (X @ w - y)

    _accepts(checks.ex5, mse_gradient, capsys)
    # a valid alternative: the mean over samples of 2 r_i x_i, written without a matrix product
    _accepts(checks.ex5, lambda X, w, y: 2 * np.mean((X @ w - y)[:, None] * X, axis=0), capsys)


@pytest.mark.parametrize(
    "wrong",
    [
        lambda X, w, y: 1.0 / len(y) * X.T @ (X @ w - y),  # factor 2 missing
        lambda X, w, y: 2.0 * X.T @ (X @ w - y),  # gradient of the sum, not the mean
        lambda X, w, y: 2.0 / len(y) * X.T @ (y - X @ w),  # sign error
        lambda X, w, y: 2.0 / len(y) * (X @ w - y),  # Xᵀ forgotten: wrong shape
    ],
)
def test_ex5_rejects_wrong_gradients(wrong, capsys):
    _rejects(checks.ex5, wrong, capsys)


def test_ex5_reports_a_crashing_function(capsys):
    def crashing(X, w, y):
        return X @ y  # shapes do not match

    _rejects(checks.ex5, crashing, capsys)


def test_ex5_stub_and_none_are_not_attempted(capsys):
    def stub(X, w, y):
        return None

    assert checks.ex5(stub) is False
    assert "not attempted" in capsys.readouterr().out
    assert checks.ex5(None) is False
    assert "not attempted" in capsys.readouterr().out
