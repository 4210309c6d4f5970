"""The exercise checks of 01_gradient_descent accept right answers and reject plausible wrong ones."""

import numpy as np
import pytest
import torch
from conftest import accepts as _accepts
from conftest import rejects as _rejects

from utils.checks import gradient_descent as checks
from utils.data import load_pbmc, normalize_log1p


# ---------------------------------------------------------------- Exercise 1: optimal step and rate
def _ex1_parts():
    eigenvalues = np.linalg.eigvalsh(checks.EX1_HESSIAN)
    mu, lipschitz = eigenvalues[0], eigenvalues[-1]
    return mu, lipschitz, lipschitz / mu


def test_ex1_accepts_step_and_rate(capsys):
    mu, lipschitz, kappa = _ex1_parts()
    _accepts(checks.ex1, np.array([2 / (mu + lipschitz), (kappa - 1) / (kappa + 1)]), capsys)
    # a list, float32 and the equivalent form (L - μ)/(L + μ) are fine
    _accepts(checks.ex1, [2 / (mu + lipschitz), (lipschitz - mu) / (lipschitz + mu)], capsys)
    _accepts(checks.ex1, np.array([2 / (mu + lipschitz), (kappa - 1) / (kappa + 1)], dtype=np.float32), capsys)
    _accepts(checks.ex1, torch.tensor([2 / (mu + lipschitz), (kappa - 1) / (kappa + 1)]), capsys)


def _ex1_wrong():
    mu, lipschitz, kappa = _ex1_parts()
    root = np.sqrt(kappa)
    diagonal = np.diag(checks.EX1_HESSIAN)
    kappa_diag = diagonal.max() / diagonal.min()
    return [
        [1 / lipschitz, 1 - 1 / kappa],  # the step 1/L and its rate
        [2 / lipschitz, (kappa - 1) / (kappa + 1)],  # the stability bound 2/L taken as the step
        [2 / (mu + lipschitz), (root - 1) / (root + 1)],  # the momentum rate with √κ
        [2 / (diagonal.min() + diagonal.max()), (kappa_diag - 1) / (kappa_diag + 1)],  # diagonal, not eigenvalues
        [(kappa - 1) / (kappa + 1), 2 / (mu + lipschitz)],  # swapped
        [2 / (mu + lipschitz), 1 - 2 / kappa],  # the large-κ approximation, not the rate
        2 / (mu + lipschitz),  # the step only
    ]


@pytest.mark.parametrize("wrong", _ex1_wrong())
def test_ex1_rejects_plausible_mistakes(wrong, capsys):
    _rejects(checks.ex1, wrong, capsys)


# ---------------------------------------------------------------- Exercise 2: iterations to 1e-8
def _ex2_run(step_rule="optimal", relative=True, count_iterates=False, tolerance=1e-8):
    hessian, b, x = checks.EX2_HESSIAN, checks.EX2_B, checks.EX2_START.astype(float)
    eigenvalues = np.linalg.eigvalsh(hessian)
    step = 2 / (eigenvalues[0] + eigenvalues[-1]) if step_rule == "optimal" else 1 / eigenvalues[-1]
    minimiser = np.linalg.solve(hessian, b)
    target = tolerance * (np.linalg.norm(x - minimiser) if relative else 1.0)
    count = 0
    while np.linalg.norm(x - minimiser) > target:
        x = x - step * (hessian @ x - b)
        count += 1
    return count + 1 if count_iterates else count


def test_ex2_accepts_the_count(capsys):
    count = _ex2_run()
    _accepts(checks.ex2, count, capsys)
    _accepts(checks.ex2, float(count), capsys)
    _accepts(checks.ex2, np.int64(count), capsys)
    _accepts(checks.ex2, torch.tensor(count), capsys)


def test_ex2_the_mistakes_give_other_counts():
    eigenvalues = np.linalg.eigvalsh(checks.EX2_HESSIAN)
    rho = (eigenvalues[-1] - eigenvalues[0]) / (eigenvalues[-1] + eigenvalues[0])
    bound = int(np.ceil(np.log(1e8) / np.log(1 / rho)))
    assert len({_ex2_run(), bound, _ex2_run("1/L"), _ex2_run(relative=False), _ex2_run(count_iterates=True)}) == 5


def test_ex2_rejects_plausible_mistakes(capsys):
    count = _ex2_run()
    eigenvalues = np.linalg.eigvalsh(checks.EX2_HESSIAN)
    rho = (eigenvalues[-1] - eigenvalues[0]) / (eigenvalues[-1] + eigenvalues[0])
    _rejects(checks.ex2, int(np.ceil(np.log(1e8) / np.log(1 / rho))), capsys)  # the guarantee, not the run
    _rejects(checks.ex2, _ex2_run("1/L"), capsys)  # step 1/L
    _rejects(checks.ex2, _ex2_run(count_iterates=True), capsys)  # counting x_0 as well
    _rejects(checks.ex2, count - 1, capsys)
    _rejects(checks.ex2, _ex2_run(relative=False), capsys)  # absolute tolerance
    _rejects(checks.ex2, count + 0.5, capsys)  # not a whole number
    _rejects(checks.ex2, [count, count], capsys)
    _rejects(checks.ex2, "many", capsys)


def test_ex2_says_what_is_off(capsys):
    count = _ex2_run()
    checks.ex2(count + 0.5)
    assert "not a whole number" in capsys.readouterr().out
    checks.ex2(count - 1)
    assert f"{count - 1} iterations is not the expected count" in capsys.readouterr().out


# ---------------------------------------------------------------- Exercise 3: a Nesterov step
def _nesterov_step(gradient, x, x_previous, step, momentum):
    look_ahead = x + momentum * (x - x_previous)
    return look_ahead - step * gradient(look_ahead)


def _nesterov_step_torch(gradient, x, x_previous, step, momentum):
    # a valid alternative: the same step computed in torch, returned as a tensor
    y = torch.as_tensor(x) + momentum * (torch.as_tensor(x) - torch.as_tensor(x_previous))
    return y - step * torch.as_tensor(gradient(y.numpy()))


def _nesterov_step_float32(gradient, x, x_previous, step, momentum):
    look_ahead = (x + momentum * (x - x_previous)).astype(np.float32)
    return look_ahead - np.float32(step) * gradient(look_ahead.astype(float)).astype(np.float32)


def test_ex3_accepts_nesterov(capsys):
    _accepts(checks.ex3, _nesterov_step, capsys)
    _accepts(checks.ex3, _nesterov_step_torch, capsys)
    _accepts(checks.ex3, _nesterov_step_float32, capsys)


def _heavy_ball_step(gradient, x, x_previous, step, momentum):
    return x - step * gradient(x) + momentum * (x - x_previous)  # gradient at x, not at the look-ahead


def _returns_look_ahead(gradient, x, x_previous, step, momentum):
    return x + momentum * (x - x_previous)


def _momentum_sign_reversed(gradient, x, x_previous, step, momentum):
    look_ahead = x + momentum * (x_previous - x)
    return look_ahead - step * gradient(look_ahead)


def _gradient_step_from_x(gradient, x, x_previous, step, momentum):
    # look-ahead used for the gradient but the step taken from x
    look_ahead = x + momentum * (x - x_previous)
    return x - step * gradient(look_ahead)


def _no_momentum(gradient, x, x_previous, step, momentum):
    return x - step * gradient(x)


def _torch_formula_misread(gradient, x, x_previous, step, momentum):
    # torch's p - lr·(g + m·buf) with buf mistaken for the last displacement
    g = gradient(x)
    return x - step * (g + momentum * (x - x_previous))


def _returns_pair(gradient, x, x_previous, step, momentum):
    return _nesterov_step(gradient, x, x_previous, step, momentum), x


def _raises(gradient, x, x_previous, step, momentum):
    raise RuntimeError("broken")


@pytest.mark.parametrize(
    "wrong",
    [
        _heavy_ball_step,
        _returns_look_ahead,
        _momentum_sign_reversed,
        _gradient_step_from_x,
        _no_momentum,
        _torch_formula_misread,
        _returns_pair,
        _raises,
    ],
)
def test_ex3_rejects_wrong_steps(wrong, capsys):
    _rejects(checks.ex3, wrong, capsys)


def test_ex3_stub_is_not_attempted(capsys):
    def stub(gradient, x, x_previous, step, momentum):
        return None

    assert checks.ex3(stub) is False
    assert "not attempted" in capsys.readouterr().out


# ---------------------------------------------------------------- Exercise 4: κ of three scalings
@pytest.fixture(scope="module")
def ex4_features():
    pbmc = load_pbmc()
    expression = normalize_log1p(pbmc.counts, pbmc.samples["n_counts"]).T
    return expression[checks.EX4_GENES].to_numpy()


def _kappa(design):
    eigenvalues = np.linalg.eigvalsh(design.T @ design)  # a different route from the check's SVD
    return eigenvalues[-1] / eigenvalues[0]


def _scalings(features, ddof=0):
    return [
        features,
        (features - features.min(axis=0)) / (features.max(axis=0) - features.min(axis=0)),
        (features - features.mean(axis=0)) / features.std(axis=0, ddof=ddof),
    ]


def _with_intercept(block):
    return np.hstack([np.ones((block.shape[0], 1)), block])


def test_ex4_accepts_the_condition_numbers(ex4_features, capsys):
    _accepts(checks.ex4, [_kappa(_with_intercept(block)) for block in _scalings(ex4_features)], capsys)
    # the sample standard deviation (ddof=1) gives the same κ here, and cond(X)² is κ(XᵀX)
    _accepts(checks.ex4, [_kappa(_with_intercept(block)) for block in _scalings(ex4_features, ddof=1)], capsys)
    _accepts(checks.ex4, [np.linalg.cond(_with_intercept(block)) ** 2 for block in _scalings(ex4_features)], capsys)


def test_ex4_rejects_plausible_mistakes(ex4_features, capsys):
    blocks = _scalings(ex4_features)
    right = np.array([_kappa(_with_intercept(block)) for block in blocks])
    _rejects(checks.ex4, [np.linalg.cond(_with_intercept(block)) for block in blocks], capsys)  # cond(X)
    _rejects(checks.ex4, [_kappa(block) for block in blocks], capsys)  # no intercept column
    scale_only = ex4_features / ex4_features.std(axis=0)
    _rejects(checks.ex4, [right[0], right[1], _kappa(_with_intercept(scale_only))], capsys)  # not centred
    centred_minmax = (ex4_features - ex4_features.mean(axis=0)) / np.ptp(ex4_features, axis=0)
    _rejects(checks.ex4, [right[0], _kappa(_with_intercept(centred_minmax)), right[2]], capsys)  # centred range
    _rejects(checks.ex4, right[::-1], capsys)  # order
    _rejects(checks.ex4, right[:2], capsys)  # shape
    # standardising the column of ones too divides by its zero standard deviation: NaN
    _rejects(checks.ex4, [right[0], right[1], np.nan], capsys)
