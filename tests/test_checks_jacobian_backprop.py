"""The checks of 03_jacobian_backprop accept right answers (computed here independently) and reject wrong ones."""

import math

import numpy as np

from utils.checks import jacobian_backprop as checks


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------- ex1: Jacobian of (x1 x2^2, e^x1 sin x3)
def _ex1_by_hand(x1=1.0, x2=2.0, x3=0.5):
    return np.array([[x2**2, 2 * x1 * x2, 0.0], [math.exp(x1) * math.sin(x3), 0.0, math.exp(x1) * math.cos(x3)]])


def test_ex1_accepts_the_hand_jacobian(capsys):
    assert checks.ex1(_ex1_by_hand()) is True
    assert "✓" in capsys.readouterr().out


def test_ex1_accepts_a_list_of_lists(capsys):
    assert checks.ex1(_ex1_by_hand().tolist()) is True
    capsys.readouterr()


def test_ex1_rejects_the_transpose(capsys):
    assert checks.ex1(_ex1_by_hand().T) is False
    out = capsys.readouterr().out
    assert "✗" in out and "shape" in out


def test_ex1_rejects_a_sign_error(capsys):
    wrong = _ex1_by_hand()
    wrong[1, 2] = -wrong[1, 2]  # d/dx3 of sin taken as -cos
    assert checks.ex1(wrong) is False
    assert "✗" in capsys.readouterr().out


def test_ex1_none_is_not_attempted(capsys):
    assert checks.ex1(None) is False
    assert "not attempted" in capsys.readouterr().out


# ---------------------------------------------------------------- ex2: backward pass of a dense sigmoid layer
def _dense_sigmoid_backward(inputs, weights, bias, grad_output):
    outputs = _sigmoid(inputs @ weights + bias)
    delta = grad_output * outputs * (1 - outputs)
    return delta @ weights.T, inputs.T @ delta, delta.sum(axis=0)


def test_ex2_accepts_a_right_backward_pass(capsys):
    assert checks.ex2(_dense_sigmoid_backward) is True
    assert "✓" in capsys.readouterr().out


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
    assert capsys.readouterr().out.count("✗") == 3


def test_ex4_none_is_not_attempted(capsys):
    assert checks.ex4(None) is False
    assert "not attempted" in capsys.readouterr().out
