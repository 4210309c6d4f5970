"""The checks of 03_jacobian_backprop accept right answers (computed here independently) and reject wrong ones."""

import math

import numpy as np
import pytest
import torch

from utils.checks import jacobian_backprop as checks


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------- ex1: Jacobian of (x1 x2^2, e^x1 sin x3)
def _ex1_by_hand(x1, x2, x3):
    return np.array([[x2**2, 2 * x1 * x2, 0.0], [math.exp(x1) * math.sin(x3), 0.0, math.exp(x1) * math.cos(x3)]])


@pytest.mark.parametrize("point", checks.EX1_POINTS)
def test_ex1_points_are_generic(point):
    # at (1, 2, 0.5) x2² = 2·x2 and x1² = x1: a dropped exponent gave the right number
    assert not any(np.isclose(c, e) for c in point for e in (0.0, 1.0, -1.0, 2.0, -2.0))
    assert len(set(point)) == len(point)
    assert len(checks.EX1_POINTS) >= 3


def test_ex1_accepts_the_hand_jacobian_and_alternative_forms(capsys):
    assert checks.ex1(_ex1_by_hand) is True
    assert checks.ex1(lambda *x: _ex1_by_hand(*x).tolist()) is True  # a list of lists
    assert checks.ex1(lambda *x: _ex1_by_hand(*x).astype(np.float32)) is True

    def by_autograd(x1, x2, x3):
        return torch.autograd.functional.jacobian(
            lambda v: torch.stack([v[0] * v[1] ** 2, torch.exp(v[0]) * torch.sin(v[2])]),
            torch.tensor([x1, x2, x3], dtype=torch.float64),
        )

    assert checks.ex1(by_autograd) is True
    assert capsys.readouterr().out.count("✓") == 4


def _with(entry, value_of):
    def jacobian(x1, x2, x3):
        matrix = _ex1_by_hand(x1, x2, x3)
        matrix[entry] = value_of(x1, x2, x3)
        return matrix

    return jacobian


@pytest.mark.parametrize(
    "wrong",
    [
        lambda *x: _ex1_by_hand(*x).T,  # the hint's slip: (inputs, outputs), the transpose
        _with((0, 0), lambda x1, x2, x3: 2 * x2),  # ∂/∂x1 of x1 x2² written as 2 x2 (exponent in the wrong place)
        _with((0, 1), lambda x1, x2, x3: x1 * x2),  # ∂/∂x2 of x1 x2² without the factor 2
        _with((1, 2), lambda x1, x2, x3: -math.exp(x1) * math.cos(x3)),  # d/dx3 of sin taken as -cos
        _with((1, 0), lambda x1, x2, x3: math.exp(x1) * math.cos(x3)),  # sin and cos exchanged in row 2
        lambda x1, x2, x3: _ex1_by_hand(x1, x2, x3)[:, [1, 0, 2]],  # the first two partials swapped
        lambda x1, x2, x3: _ex1_by_hand(1.3, -0.7, 0.45),  # the value at one point, whatever the input
    ],
)
def test_ex1_rejects_wrong_jacobians(wrong, capsys):
    assert checks.ex1(wrong) is False
    assert "✗" in capsys.readouterr().out


def test_ex1_rejects_a_matrix_instead_of_a_function(capsys):
    assert checks.ex1(_ex1_by_hand(1.3, -0.7, 0.45)) is False
    assert "✗" in capsys.readouterr().out


def test_ex1_stub_and_none_are_not_attempted(capsys):
    assert checks.ex1(None) is False
    assert checks.ex1(lambda x1, x2, x3: None) is False
    assert capsys.readouterr().out.count("not attempted") == 2


# ---------------------------------------------------------------- ex2: backward pass of a dense sigmoid layer
def _dense_sigmoid_backward(inputs, weights, bias, grad_output):
    outputs = _sigmoid(inputs @ weights + bias)
    delta = grad_output * outputs * (1 - outputs)
    return delta @ weights.T, inputs.T @ delta, delta.sum(axis=0)


def test_ex2_accepts_a_right_backward_pass(capsys):
    assert checks.ex2(_dense_sigmoid_backward) is True
    assert "✓" in capsys.readouterr().out


def test_ex2_accepts_float32_and_torch_versions(capsys):
    def in_float32(inputs, weights, bias, grad_output):
        as32 = [a.astype(np.float32) for a in (inputs, weights, bias, grad_output)]
        return _dense_sigmoid_backward(*as32)

    def with_torch(inputs, weights, bias, grad_output):
        tensors = [torch.tensor(a, requires_grad=True) for a in (inputs, weights, bias)]
        outputs = torch.sigmoid(tensors[0] @ tensors[1] + tensors[2])
        return torch.autograd.grad(outputs, tensors, grad_outputs=torch.tensor(grad_output))

    assert checks.ex2(in_float32) is True
    assert checks.ex2(with_torch) is True
    assert capsys.readouterr().out.count("✓") == 2


def test_ex2_rejects_transposed_products(capsys):
    def transposed_weights(inputs, weights, bias, grad_output):
        grad_inputs, grad_weights, grad_bias = _dense_sigmoid_backward(inputs, weights, bias, grad_output)
        return grad_inputs, grad_weights.T, grad_bias  # delta^T @ inputs

    def bias_forgotten(inputs, weights, bias, grad_output):
        outputs = _sigmoid(inputs @ weights)  # sigma' evaluated without the bias in its argument
        delta = grad_output * outputs * (1 - outputs)
        return delta @ weights.T, inputs.T @ delta, delta.sum(axis=0)

    assert checks.ex2(transposed_weights) is False
    assert checks.ex2(bias_forgotten) is False
    assert capsys.readouterr().out.count("✗") == 2


def test_ex2_right_answer_agrees_with_finite_differences():
    # independent of torch: the test's own backward against central differences of <grad_output, outputs>
    generator = np.random.default_rng(5)
    inputs, weights, bias = generator.normal(size=(4, 3)), generator.normal(size=(3, 2)), generator.normal(size=2)
    grad_output = generator.normal(size=(4, 2))

    def scalar(w):
        return float(np.sum(grad_output * _sigmoid(inputs @ w.reshape(3, 2) + bias)))

    h = 1e-6
    numerical = np.array(
        [(scalar(weights.ravel() + h * e) - scalar(weights.ravel() - h * e)) / (2 * h) for e in np.eye(6)]
    )
    assert np.allclose(_dense_sigmoid_backward(inputs, weights, bias, grad_output)[1].ravel(), numerical, atol=1e-8)


def test_ex2_rejects_a_missing_sigmoid_derivative(capsys):
    def forgot_derivative(inputs, weights, bias, grad_output):
        return grad_output @ weights.T, inputs.T @ grad_output, grad_output.sum(axis=0)

    assert checks.ex2(forgot_derivative) is False
    assert "✗" in capsys.readouterr().out


def test_ex2_rejects_an_unsummed_bias_gradient(capsys):
    def per_sample_bias(inputs, weights, bias, grad_output):
        grad_inputs, grad_weights, _ = _dense_sigmoid_backward(inputs, weights, bias, grad_output)
        outputs = _sigmoid(inputs @ weights + bias)
        return grad_inputs, grad_weights, grad_output * outputs * (1 - outputs)

    assert checks.ex2(per_sample_bias) is False
    out = capsys.readouterr().out
    assert "✗" in out and "grad_bias" in out


def test_ex2_rejects_a_function_that_raises(capsys):
    def crashes(inputs, weights, bias, grad_output):
        return inputs @ grad_output, None, None

    assert checks.ex2(crashes) is False
    assert "✗" in capsys.readouterr().out


def test_ex2_stub_and_none_are_not_attempted(capsys):
    def stub(inputs, weights, bias, grad_output):
        return None

    assert checks.ex2(stub) is False
    assert checks.ex2(None) is False
    assert capsys.readouterr().out.count("not attempted") == 2


# ---------------------------------------------------------------- ex3: derivative through a chain of sigmoids
def _chain_derivative(x, weights):
    hidden, derivative = float(x), 1.0
    for weight in weights:
        hidden = 1.0 / (1.0 + math.exp(-weight * hidden))
        derivative *= weight * hidden * (1.0 - hidden)
    return derivative


def test_ex3_accepts_the_product_of_local_derivatives(capsys):
    assert checks.ex3(_chain_derivative) is True
    assert "✓" in capsys.readouterr().out


def test_ex3_accepts_a_backward_product(capsys):
    # a valid alternative: store the forward values, then multiply the local derivatives from the output back
    def backward_order(x, weights):
        inputs, hidden = [], x
        for weight in weights:
            inputs.append(hidden)
            hidden = 1.0 / (1.0 + math.exp(-weight * hidden))
        derivative = 1.0
        for weight, previous in zip(reversed(weights), reversed(inputs), strict=True):
            s = 1.0 / (1.0 + math.exp(-weight * previous))
            derivative *= weight * s * (1.0 - s)
        return np.float64(derivative)

    assert checks.ex3(backward_order) is True
    assert "✓" in capsys.readouterr().out


def test_ex3_right_answer_obeys_the_bound():
    weights = [1.5, -2.0, 3.0, 0.5]
    assert abs(_chain_derivative(0.2, weights)) <= np.prod(np.abs(weights)) / 4 ** len(weights)


def test_ex3_rejects_a_missing_weight_factor(capsys):
    def no_weight(x, weights):
        hidden, derivative = x, 1.0
        for weight in weights:
            hidden = 1.0 / (1.0 + math.exp(-weight * hidden))
            derivative *= hidden * (1.0 - hidden)
        return derivative

    assert checks.ex3(no_weight) is False
    assert "✗" in capsys.readouterr().out


def test_ex3_rejects_the_derivative_at_the_wrong_point(capsys):
    def previous_activation(x, weights):
        # sigma'(w h_{k-1}) evaluated as sigma(h_{k-1})(1 - sigma(h_{k-1})): the weight left out of the argument
        hidden, derivative = x, 1.0
        for weight in weights:
            s = 1.0 / (1.0 + math.exp(-hidden))
            derivative *= weight * s * (1.0 - s)
            hidden = 1.0 / (1.0 + math.exp(-weight * hidden))
        return derivative

    def sigma_instead_of_derivative(x, weights):
        hidden, derivative = x, 1.0
        for weight in weights:
            hidden = 1.0 / (1.0 + math.exp(-weight * hidden))
            derivative *= weight * hidden
        return derivative

    assert checks.ex3(previous_activation) is False
    assert checks.ex3(sigma_instead_of_derivative) is False
    assert capsys.readouterr().out.count("✗") == 2


@pytest.mark.parametrize(("x", "weights"), checks.EX3_CASES)
def test_ex3_cases_are_generic(x, weights):
    # weights of ±1 would let a forgotten weight factor pass; x = 0 hides an error in the first layer
    values = (x, *weights)
    assert not any(np.isclose(c, e) for c in values for e in (0.0, 1.0, -1.0, 2.0, -2.0))
    assert len(set(weights)) == len(weights)


def test_ex3_rejects_the_bound_instead_of_the_derivative(capsys):
    assert checks.ex3(lambda x, weights: float(np.prod(np.abs(weights)) / 4 ** len(weights))) is False
    assert "✗" in capsys.readouterr().out


def test_ex3_none_is_not_attempted(capsys):
    assert checks.ex3(None) is False
    assert "not attempted" in capsys.readouterr().out


# ---------------------------------------------------------------- ex4: layers until the bound drops below 1e-6
def test_ex4_accepts_the_smallest_number_of_layers(capsys):
    layers = math.ceil(math.log(1e-6) / math.log(0.5))
    assert 0.5**layers < 1e-6 <= 0.5 ** (layers - 1)
    assert checks.ex4(layers) is True
    assert checks.ex4(np.int64(layers)) is True
    assert capsys.readouterr().out.count("✓") == 2


def test_ex4_rejects_one_layer_too_few_and_the_unrounded_value(capsys):
    assert checks.ex4(19) is False
    assert checks.ex4(math.log(1e-6) / math.log(0.5)) is False
    assert checks.ex4([20, 21]) is False
    # the hint's mistake: the bound 1/4 per layer without the weight factor |w| = 2 gives n = 10
    assert checks.ex4(math.ceil(math.log(1e-6) / math.log(0.25))) is False
    assert checks.ex4("20 layers") is False
    assert capsys.readouterr().out.count("✗") == 5


def test_ex4_none_is_not_attempted(capsys):
    assert checks.ex4(None) is False
    assert "not attempted" in capsys.readouterr().out
