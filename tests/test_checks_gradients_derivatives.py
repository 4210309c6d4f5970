"""The exercise checks of 01_gradients_derivatives accept right answers and reject plausible wrong ones."""

import numpy as np
import pytest
import torch

from utils.checks import gradients_derivatives as checks


def _ex1_gradient(x, y, z):
    return np.array([2 * x * y + z, x**2 + z**2, 2 * y * z + x])


def _ex2_gradient(x, y):
    return np.array([2 * x - y, -x + 2 * y])


def _accepts(check, answer, capsys):
    assert check(answer) is True
    assert "✓" in capsys.readouterr().out


def _rejects(check, answer, capsys):
    assert check(answer) is False
    assert "✗" in capsys.readouterr().out


def test_ex1_accepts_the_hand_gradient(capsys):
    _accepts(checks.ex1, _ex1_gradient(1.0, -2.0, 3.0), capsys)
    _accepts(checks.ex1, torch.tensor(_ex1_gradient(1.0, -2.0, 3.0)), capsys)


@pytest.mark.parametrize(
    "wrong",
    [
        _ex1_gradient(1.0, -2.0, 3.0)[::-1],  # components in the wrong order
        _ex1_gradient(1.0, -2.0, 3.0) - np.array([1.0, 0.0, 1.0]),  # the xz term forgotten
        _ex1_gradient(1.0, -2.0, 3.0)[:2],  # wrong shape
        _ex1_gradient(-2.0, 1.0, 3.0),  # evaluated at a permuted point
    ],
)
def test_ex1_rejects_wrong_gradients(wrong, capsys):
    _rejects(checks.ex1, wrong, capsys)


def test_ex1_none_is_not_attempted(capsys):
    assert checks.ex1(None) is False
    assert "not attempted" in capsys.readouterr().out


def test_ex2_accepts_the_directional_derivative(capsys):
    _accepts(checks.ex2, float(_ex2_gradient(1.0, 2.0) @ np.array([0.6, 0.8])), capsys)


@pytest.mark.parametrize(
    "wrong",
    [
        float(_ex2_gradient(1.0, 2.0) @ np.array([3.0, 4.0])),  # direction not normalised
        float(np.linalg.norm(_ex2_gradient(1.0, 2.0))),  # the maximum rate instead
        np.array([2.4, 2.4]),  # not a scalar
    ],
)
def test_ex2_rejects_wrong_values(wrong, capsys):
    _rejects(checks.ex2, wrong, capsys)


def test_ex2_none_is_not_attempted(capsys):
    assert checks.ex2(None) is False
    assert "not attempted" in capsys.readouterr().out


def test_ex3_accepts_the_unit_gradient(capsys):
    gradient = _ex2_gradient(1.0, 2.0)
    _accepts(checks.ex3, gradient / np.sqrt(gradient @ gradient), capsys)


@pytest.mark.parametrize(
    "wrong",
    [
        _ex2_gradient(1.0, 2.0),  # not normalised
        -_ex2_gradient(1.0, 2.0) / 3.0,  # steepest descent
        np.array([0.6, 0.8]),  # the direction of Exercise 2
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
