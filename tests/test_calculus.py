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


def test_default_step_is_relative_at_large_scale():
    # d/dx log x = 1/x at x ~ 1e8: the old absolute step 1e-6 left a relative error of 0.1-0.4
    for x in (1e8, 3.7e8):
        gradient = calculus.numerical_gradient(lambda v: np.log(v[0]), [x])[0]
        assert abs(gradient * x - 1) < 1e-8
    absolute = calculus.numerical_gradient(lambda v: np.log(v[0]), [3.7e8], h=1e-6)[0]
    assert abs(absolute * 3.7e8 - 1) > 0.1  # what a fixed absolute step gives there


def test_default_step_is_not_relative_at_small_scale():
    # at x ~ 1e-8 a purely relative step (eps^(1/3)|x| ~ 1e-13) would lose ~1e-3 to round-off: max(1, |x|) keeps it
    for x in (1e-8, -2.5e-8):
        gradient = calculus.numerical_gradient(lambda v: np.exp(v[0]), [x])[0]
        assert abs(gradient - np.exp(x)) < 1e-9
    jacobian = calculus.numerical_jacobian(lambda v: np.array([np.sin(v[0]) * v[1], np.cos(v[1])]), [1.3e-8, -2.2e-8])
    expected = np.array([[np.cos(1.3e-8) * -2.2e-8, np.sin(1.3e-8)], [0.0, -np.sin(-2.2e-8)]])
    np.testing.assert_allclose(jacobian, expected, atol=1e-10)


def test_mixed_scales_use_one_step_per_coordinate():
    # f = x0^2 x1 with x0 ~ 1e8 and x1 ~ 1e-3: each coordinate gets a step fitted to its own size
    point = np.array([2.3e8, 1.7e-3])
    gradient = calculus.numerical_gradient(lambda v: v[0] ** 2 * v[1], point)
    np.testing.assert_allclose(gradient, [2 * point[0] * point[1], point[0] ** 2], rtol=1e-8)


def test_hessian_at_large_and_small_scales_matches_the_closed_form():
    a, b = 3.1e8, 7.3e7
    hessian = calculus.numerical_hessian(lambda v: np.log(v[0]) * np.log(v[1]), [a, b])
    expected = np.array([[-np.log(b) / a**2, 1 / (a * b)], [1 / (a * b), -np.log(a) / b**2]])
    np.testing.assert_allclose(hessian, expected, rtol=1e-5)
    # an absolute step of 1e-4 (the old default) is pure round-off there
    assert (
        np.abs(calculus.numerical_hessian(lambda v: np.log(v[0]) * np.log(v[1]), [a, b], h=1e-4) / expected - 1).max()
        > 0.5
    )
    x, y = 1.3e-8, -2.2e-8
    hessian = calculus.numerical_hessian(lambda v: np.exp(v[0]) * np.cos(v[1]), [x, y])
    e = np.exp(x)
    expected = np.array([[e * np.cos(y), -e * np.sin(y)], [-e * np.sin(y), -e * np.cos(y)]])
    np.testing.assert_allclose(hessian, expected, atol=1e-7)


def test_symmetric_hessian_formula_returns_zero_for_peano():
    # the four equal-step points lie on the diagonals x = ±y, where Peano's function vanishes
    def peano(v):
        x, y = v
        return 0.0 if x == y == 0 else x * y * (x * x - y * y) / (x * x + y * y)

    assert calculus.numerical_hessian(peano, [0.0, 0.0])[0, 1] == 0.0


def test_explicit_step_is_used_as_given():
    # the central difference of x^3 is exact up to h^2: (3x^2 h + h^3) / h = 3x^2 + h^2
    estimate = calculus.numerical_gradient(lambda v: v[0] ** 3, [0.5], h=0.25)[0]
    assert estimate == pytest.approx(3 * 0.25 + 0.25**2, rel=1e-14)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: calculus.numerical_gradient(np.sum, [[1.0, 2.0]]), "1-D"),
        (lambda: calculus.numerical_gradient(np.sum, [np.nan]), "NaN"),
        (lambda: calculus.numerical_gradient(np.sum, []), "empty"),
        (lambda: calculus.numerical_gradient(np.sum, [1.0], h=0), "h must be positive"),
        (lambda: calculus.numerical_gradient(np.sum, [1.0], h=-1e-3), "h must be positive"),
        (lambda: calculus.numerical_hessian(np.sum, [1.0], h=np.inf), "h must be finite"),
        (lambda: calculus.numerical_gradient(lambda x: x, [1.0, 2.0]), "scalar"),
        (lambda: calculus.numerical_jacobian(lambda x: np.outer(x, x), [1.0, 2.0]), "1-D vector"),
        (lambda: calculus.relative_error([1.0], [1.0, 2.0]), "same shape"),
        (lambda: calculus.relative_error([1.0], [1.0], floor=0.0), "floor must be positive"),
        (lambda: calculus.gradient_check(np.sum, lambda x: np.ones(3), [1.0, 2.0]), "shape"),
    ],
)
def test_bad_values_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: calculus.numerical_gradient("sum", [1.0]), "f must be a function"),
        (lambda: calculus.numerical_hessian(np.sum, ["a", "b"]), "x must be numeric"),
        (lambda: calculus.numerical_jacobian(np.sin, [True, False]), "x must be numeric"),
        (lambda: calculus.numerical_gradient(np.sum, [1.0], h="1e-6"), "h must be a real number"),
        (lambda: calculus.numerical_gradient(np.sum, [1.0], h=True), "h must be a real number"),
        (lambda: calculus.gradient_check(np.sum, [1.0, 2.0], [1.0, 2.0]), "gradient must be a function"),
        (lambda: calculus.relative_error("x", [1.0]), "a must be numeric"),
    ],
)
def test_wrong_kinds_raise_type_error(call, message):
    with pytest.raises(TypeError, match=message):
        call()
