"""The exercise checks of 05_training_deep_networks accept right answers and reject plausible wrong ones."""

import math

import numpy as np
import pytest
import torch
from conftest import accepts as _accepts
from conftest import not_attempted as _not_attempted
from conftest import rejects as _rejects

from utils.checks import training_deep_networks as checks


def _stub(*args):
    return None


@pytest.mark.parametrize("check", [checks.ex1, checks.ex2])
def test_function_stubs_and_none_are_not_attempted(check, capsys):
    _not_attempted(check, None, capsys)
    _not_attempted(check, _stub, capsys)


# ---------------------------------------------------------------- Exercise 1: He / Xavier std
def _init_std(weight_shape, scheme):
    fan_out, fan_in = weight_shape
    return math.sqrt(2 / fan_in) if scheme == "he" else math.sqrt(2 / (fan_in + fan_out))


def _init_std_from_torch(weight_shape, scheme):
    # torch's own recipe: gain from calculate_gain, fans from an actual tensor; returned as a float32 tensor
    weight = torch.empty(weight_shape)
    fan_in, fan_out = weight.shape[1], weight.shape[0]
    if scheme == "he":
        return torch.tensor(torch.nn.init.calculate_gain("relu") / math.sqrt(fan_in), dtype=torch.float32)
    return torch.tensor(math.sqrt(2.0 / (fan_in + fan_out)), dtype=torch.float64)


def test_ex1_accepts_the_formula_and_torchs_recipe(capsys):
    _accepts(checks.ex1, _init_std, capsys)
    _accepts(checks.ex1, _init_std_from_torch, capsys)  # float32 and float64 tensors


def test_ex1_formula_agrees_with_torchs_initialisers():
    # the check's reference is the empirical std of torch.nn.init on large tensors, within 1 %
    torch.manual_seed(0)
    for shape, scheme in checks.EX1_CASES:
        big = (shape[0] * 40, shape[1]) if scheme == "he" else shape
        tensor = torch.empty(big)
        if scheme == "he":
            torch.nn.init.kaiming_normal_(tensor, nonlinearity="relu")
        else:
            tensor = torch.stack([torch.nn.init.xavier_normal_(torch.empty(shape)) for _ in range(40)])
        assert abs(float(tensor.std()) / _init_std(shape, scheme) - 1) < 0.01


def _he_with_fan_out(weight_shape, scheme):
    fan_out, fan_in = weight_shape
    return math.sqrt(2 / fan_out) if scheme == "he" else math.sqrt(2 / (fan_in + fan_out))


def _shape_read_as_in_out(weight_shape, scheme):
    fan_in, fan_out = weight_shape  # reads torch's (out, in) as (in, out)
    return math.sqrt(2 / fan_in) if scheme == "he" else math.sqrt(2 / (fan_in + fan_out))


def _he_without_the_two(weight_shape, scheme):
    fan_out, fan_in = weight_shape
    return math.sqrt(1 / fan_in) if scheme == "he" else math.sqrt(2 / (fan_in + fan_out))


def _xavier_without_the_two(weight_shape, scheme):
    fan_out, fan_in = weight_shape
    return math.sqrt(2 / fan_in) if scheme == "he" else math.sqrt(1 / (fan_in + fan_out))


def _variance_not_std(weight_shape, scheme):
    return _init_std(weight_shape, scheme) ** 2


def _xavier_uniform_bound(weight_shape, scheme):
    fan_out, fan_in = weight_shape
    return math.sqrt(2 / fan_in) if scheme == "he" else math.sqrt(6 / (fan_in + fan_out))


def _he_for_both(weight_shape, scheme):
    return math.sqrt(2 / weight_shape[1])


@pytest.mark.parametrize(
    "wrong",
    [
        _he_with_fan_out,  # the hint's first mistake
        _shape_read_as_in_out,  # the same mistake, from reading the shape the wrong way round
        _he_without_the_two,  # the hint's "2" (LeCun's 1/fan_in)
        _xavier_without_the_two,
        _variance_not_std,  # the hint's last mistake
        _xavier_uniform_bound,
        _he_for_both,
    ],
)
def test_ex1_rejects_wrong_stds(wrong, capsys):
    _rejects(checks.ex1, wrong, capsys)


def test_ex1_rejects_a_function_that_raises_or_returns_nonsense(capsys):
    def raises(weight_shape, scheme):
        raise KeyError(scheme)

    def returns_a_string(weight_shape, scheme):
        return "small"

    _rejects(checks.ex1, raises, capsys)
    _rejects(checks.ex1, returns_a_string, capsys)
    _rejects(checks.ex1, 0.05, capsys)


# ---------------------------------------------------------------- Exercise 2: batch norm in training mode
def _batch_norm(x, gamma, beta, running_mean, running_var, momentum, eps):
    n = x.shape[0]
    mean = x.mean(dim=0)
    var = ((x - mean) ** 2).mean(dim=0)
    y = gamma * (x - mean) / torch.sqrt(var + eps) + beta
    return (
        y,
        (1 - momentum) * running_mean + momentum * mean,
        (1 - momentum) * running_var + momentum * var * n / (n - 1),
    )


def _batch_norm_numpy(x, gamma, beta, running_mean, running_var, momentum, eps):
    # NumPy, float32 outputs, a list instead of a tuple: a valid alternative form
    x, gamma, beta, running_mean, running_var = (np.asarray(a) for a in (x, gamma, beta, running_mean, running_var))
    mean, var, unbiased = x.mean(axis=0), x.var(axis=0), x.var(axis=0, ddof=1)
    y = gamma * (x - mean) / np.sqrt(var + eps) + beta
    return [
        y.astype(np.float32),
        (1 - momentum) * running_mean + momentum * mean,
        (1 - momentum) * running_var + momentum * unbiased,
    ]


def test_ex2_accepts_torch_and_numpy_versions(capsys):
    _accepts(checks.ex2, _batch_norm, capsys)
    _accepts(checks.ex2, _batch_norm_numpy, capsys)


def _unbiased_in_the_output(x, gamma, beta, running_mean, running_var, momentum, eps):
    y, mean, var = _batch_norm(x, gamma, beta, running_mean, running_var, momentum, eps)
    y = gamma * (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=True) + eps) + beta
    return y, mean, var


def _no_eps(x, gamma, beta, running_mean, running_var, momentum, eps):
    return _batch_norm(x, gamma, beta, running_mean, running_var, momentum, 0.0)


def _eps_outside_the_root(x, gamma, beta, running_mean, running_var, momentum, eps):
    _, mean, var = _batch_norm(x, gamma, beta, running_mean, running_var, momentum, eps)
    y = gamma * (x - x.mean(0)) / (x.var(0, unbiased=False).sqrt() + eps) + beta
    return y, mean, var


def _momentum_the_other_way(x, gamma, beta, running_mean, running_var, momentum, eps):
    return _batch_norm(x, gamma, beta, running_mean, running_var, 1 - momentum, eps)[0:1] + tuple(
        _batch_norm(x, gamma, beta, running_mean, running_var, 1 - momentum, eps)[1:]
    )


def _biased_running_var(x, gamma, beta, running_mean, running_var, momentum, eps):
    y, mean, _ = _batch_norm(x, gamma, beta, running_mean, running_var, momentum, eps)
    return y, mean, (1 - momentum) * running_var + momentum * x.var(0, unbiased=False)


def _old_running_statistics(x, gamma, beta, running_mean, running_var, momentum, eps):
    y, _, _ = _batch_norm(x, gamma, beta, running_mean, running_var, momentum, eps)
    return y, running_mean, running_var


def _running_statistics_in_the_output(x, gamma, beta, running_mean, running_var, momentum, eps):
    # normalises with the updated running statistics (evaluation-style) instead of the batch's
    _, mean, var = _batch_norm(x, gamma, beta, running_mean, running_var, momentum, eps)
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta, mean, var


def _layer_norm_axis(x, gamma, beta, running_mean, running_var, momentum, eps):
    _, mean, var = _batch_norm(x, gamma, beta, running_mean, running_var, momentum, eps)
    centred = x - x.mean(dim=1, keepdim=True)
    y = gamma * centred / torch.sqrt((centred**2).mean(dim=1, keepdim=True) + eps) + beta
    return y, mean, var


def _no_affine(x, gamma, beta, running_mean, running_var, momentum, eps):
    _, mean, var = _batch_norm(x, gamma, beta, running_mean, running_var, momentum, eps)
    return (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + eps), mean, var


@pytest.mark.parametrize(
    "wrong",
    [
        _unbiased_in_the_output,  # the hint's first mistake
        _no_eps,  # the hint's second mistake
        _eps_outside_the_root,
        _momentum_the_other_way,  # the hint's momentum convention
        _biased_running_var,  # the hint's last mistake
        _old_running_statistics,
        _running_statistics_in_the_output,
        _layer_norm_axis,
        _no_affine,
    ],
)
def test_ex2_rejects_wrong_batch_norms(wrong, capsys):
    _rejects(checks.ex2, wrong, capsys)


def test_ex2_rejects_wrong_outputs_without_raising(capsys):
    def only_y(*args):
        return _batch_norm(*args)[0]

    def raises(*args):
        raise RuntimeError("shape mismatch")

    def two_values(*args):
        return _batch_norm(*args)[:2]

    def nan_output(*args):
        y, mean, var = _batch_norm(*args)
        return y * float("nan"), mean, var

    for wrong in (only_y, raises, two_values, nan_output):
        _rejects(checks.ex2, wrong, capsys)


def test_ex2_does_not_depend_on_the_learner_leaving_inputs_alone(capsys):
    def in_place(x, gamma, beta, running_mean, running_var, momentum, eps):
        result = _batch_norm(x.clone(), gamma, beta, running_mean.clone(), running_var.clone(), momentum, eps)
        running_mean.mul_(0)  # a learner updating the buffers in place
        x.add_(3.0)
        return result

    _accepts(checks.ex2, in_place, capsys)


# ---------------------------------------------------------------- Exercise 3: dropout moments
H, P = checks.EX3_ACTIVATIONS, checks.EX3_P


def _dropout_moments():
    return np.vstack([H / (1 - P), H, H**2 * P / (1 - P)])


def test_ex3_accepts_the_closed_form_as_array_list_and_float32(capsys):
    _accepts(checks.ex3, _dropout_moments(), capsys)
    _accepts(checks.ex3, _dropout_moments().tolist(), capsys)
    _accepts(checks.ex3, torch.tensor(_dropout_moments(), dtype=torch.float32), capsys)


def test_ex3_closed_form_matches_torch_dropout_by_sampling():
    torch.manual_seed(0)
    samples = torch.nn.Dropout(P).train()(torch.tensor(H).repeat(200_000, 1))
    expected = _dropout_moments()
    kept = [float(np.unique(samples[:, j][samples[:, j] != 0].numpy().round(9))[0]) for j in range(H.size)]
    assert np.allclose(kept, expected[0], rtol=1e-7)
    assert np.allclose(samples.mean(0).numpy(), expected[1], rtol=0.01)
    assert np.allclose(samples.var(0).numpy(), expected[2], rtol=0.02)


@pytest.mark.parametrize(
    "wrong",
    [
        # the hint's mistake: p read as the keep probability (scale 1/p)
        np.vstack([H / P, H * (1 - P) / P, H**2 * (1 - P) / P]),
        # no rescaling at all (the dropout of the original paper, before inverted dropout)
        np.vstack([H, H * (1 - P), H**2 * P * (1 - P)]),
        # right scale, but the variance of the mask alone times h (no square)
        np.vstack([H / (1 - P), H, H * P / (1 - P)]),
        # right scale and mean, variance with (1 - p)/p
        np.vstack([H / (1 - P), H, H**2 * (1 - P) / P]),
        # the expectation written as the kept value times the drop probability
        np.vstack([H / (1 - P), H * P / (1 - P), H**2 * P / (1 - P)]),
        # E[y²] instead of Var[y]
        np.vstack([H / (1 - P), H, H**2 / (1 - P)]),
    ],
)
def test_ex3_rejects_wrong_moments(wrong, capsys):
    _rejects(checks.ex3, wrong, capsys)


def test_ex3_rejects_wrong_shapes(capsys):
    _rejects(checks.ex3, _dropout_moments().T, capsys)
    _rejects(checks.ex3, _dropout_moments()[:2], capsys)


# ---------------------------------------------------------------- Exercise 4: the scale of a deep ReLU network
def _predicted_stds(first_fan_in=checks.EX4_INPUT_FAN_IN, halve=True, stds=True):
    sigma, width = checks.EX4_SIGMA, checks.EX4_WIDTH
    variances = [first_fan_in * sigma**2 * checks.EX4_INPUT_MEAN_SQUARE]
    for _ in range(checks.EX4_DEPTH - 1):
        variances.append(width * sigma**2 * variances[-1] / (2 if halve else 1))
    return np.sqrt(variances) if stds else np.array(variances)


def test_ex4_accepts_the_recursion_and_the_closed_form(capsys):
    _accepts(checks.ex4, _predicted_stds(), capsys)
    layers = np.arange(checks.EX4_DEPTH)
    closed = math.sqrt(765 * 0.07**2) * (300 * 0.07**2 / 2) ** (layers / 2)
    _accepts(checks.ex4, list(closed), capsys)


def test_ex4_prediction_matches_simulated_networks():
    # 5000 independent networks, one standardised cell each. For a fixed input h, W h with N(0, σ²) entries is
    # exactly N(0, σ²‖h‖² I): each layer is simulated without drawing its matrix
    rng = np.random.default_rng(0)
    cell = rng.standard_normal(checks.EX4_INPUT_FAN_IN)
    cell *= math.sqrt(checks.EX4_INPUT_MEAN_SQUARE * cell.size) / np.linalg.norm(cell)  # E[x²] = 1 exactly
    norms = np.full((5000, 1), np.linalg.norm(cell))
    mean_squares = []
    for _ in range(checks.EX4_DEPTH):
        pre = checks.EX4_SIGMA * norms * rng.standard_normal((5000, checks.EX4_WIDTH))
        mean_squares.append(np.mean(pre**2))
        norms = np.linalg.norm(np.maximum(pre, 0), axis=1, keepdims=True)
    assert np.allclose(np.sqrt(mean_squares), _predicted_stds(), rtol=0.03)


@pytest.mark.parametrize(
    "wrong",
    [
        _predicted_stds(halve=False),  # the hint's mistake: the ReLU's 1/2 forgotten
        _predicted_stds(first_fan_in=checks.EX4_WIDTH),  # the hint's first-layer fan-in
        _predicted_stds(stds=False),  # variances, not standard deviations
        _predicted_stds()[::-1],
        np.full(checks.EX4_DEPTH, math.sqrt(765 * 0.07**2)),  # no change with depth
    ],
)
def test_ex4_rejects_wrong_predictions(wrong, capsys):
    _rejects(checks.ex4, wrong, capsys)


def test_ex4_rejects_wrong_shape(capsys):
    _rejects(checks.ex4, _predicted_stds()[1:], capsys)
