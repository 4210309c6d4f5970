"""utils.calculus against closed forms and PyTorch autograd."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from utils import calculus

points = arrays(np.float64, st.integers(1, 6), elements=st.floats(-2, 2))


def smooth(x):
    return np.sum(np.sin(x) * x**2) + np.prod(np.cos(x))


def smooth_torch(x):
    return torch.sum(torch.sin(x) * x**2) + torch.prod(torch.cos(x))


@settings(max_examples=30, deadline=None)
@given(points)
def test_gradient_matches_autograd(x):
    tensor = torch.tensor(x, requires_grad=True)
    smooth_torch(tensor).backward()
    np.testing.assert_allclose(calculus.numerical_gradient(smooth, x), tensor.grad.numpy(), atol=1e-7)


@settings(max_examples=20, deadline=None)
@given(points)
def test_hessian_matches_autograd_and_is_symmetric(x):
    expected = torch.autograd.functional.hessian(smooth_torch, torch.tensor(x)).numpy()
    hessian = calculus.numerical_hessian(smooth, x)
    np.testing.assert_allclose(hessian, expected, atol=1e-5)
    np.testing.assert_array_equal(hessian, hessian.T)


def test_jacobian_of_linear_map_is_the_matrix():
    matrix = np.arange(6.0).reshape(3, 2)
    np.testing.assert_allclose(calculus.numerical_jacobian(lambda x: matrix @ x, [0.3, -1.2]), matrix, atol=1e-9)


def test_jacobian_matches_autograd_for_polar_coordinates():
    def polar(v):
        return np.array([v[0] * np.cos(v[1]), v[0] * np.sin(v[1])])

    point = np.array([1.5, 0.7])
    expected = torch.autograd.functional.jacobian(
        lambda v: torch.stack([v[0] * torch.cos(v[1]), v[0] * torch.sin(v[1])]), torch.tensor(point)
    ).numpy()
    np.testing.assert_allclose(calculus.numerical_jacobian(polar, point), expected, atol=1e-8)


def test_scalar_function_jacobian_is_a_row():
    assert calculus.numerical_jacobian(lambda x: float(x @ x), [1.0, 2.0]).shape == (1, 2)


def test_central_difference_error_is_second_order():
    # error of the central difference of exp at 0 is h^2/6 to leading order
    errors = [abs(calculus.numerical_gradient(lambda x: np.exp(x[0]), [0.0], h=h)[0] - 1) for h in (1e-2, 5e-3)]
    assert errors[0] / errors[1] == pytest.approx(4, rel=0.01)


def test_gradient_check_tells_right_from_wrong():
    def f(x):
        return x[0] ** 2 * x[1]

    x = [1.3, -0.4]
    assert calculus.gradient_check(f, lambda x: np.array([2 * x[0] * x[1], x[0] ** 2]), x) < 1e-8
    assert calculus.gradient_check(f, lambda x: np.array([x[0] * x[1], x[0] ** 2]), x) > 0.1


def test_relative_error_is_symmetric_and_finite_at_zero():
    assert calculus.relative_error([1.0, 2.0], [1.0, 2.2]) == calculus.relative_error([1.0, 2.2], [1.0, 2.0])
    assert calculus.relative_error([0.0], [0.0]) == 0.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: calculus.numerical_gradient(np.sum, [[1.0, 2.0]]), "1-D"),
        (lambda: calculus.numerical_gradient(np.sum, [np.nan]), "NaN"),
        (lambda: calculus.numerical_gradient(np.sum, []), "empty"),
        (lambda: calculus.numerical_gradient(np.sum, [1.0], h=0), "h must be"),
        (lambda: calculus.numerical_gradient(lambda x: x, [1.0, 2.0]), "scalar"),
        (lambda: calculus.numerical_jacobian(lambda x: np.outer(x, x), [1.0, 2.0]), "1-D vector"),
        (lambda: calculus.relative_error([1.0], [1.0, 2.0]), "same shape"),
        (lambda: calculus.gradient_check(np.sum, lambda x: np.ones(3), [1.0, 2.0]), "shape"),
    ],
)
def test_bad_input_raises_with_a_clear_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()
