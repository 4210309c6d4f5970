"""The exercise checks of 02_adaptive_methods accept right answers and reject plausible wrong ones."""

import math

import numpy as np
import pytest
import torch
from conftest import accepts as _accepts
from conftest import not_attempted as _not_attempted
from conftest import rejects as _rejects
from torch.optim.lr_scheduler import CosineAnnealingLR

from utils.checks import adaptive_methods as checks


# ---------------------------------------------------------------- Exercise 1: one Adam step
def _adam_step(x, gradient, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * gradient
    v = beta2 * v + (1 - beta2) * gradient**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return x - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def _adam_step_torch_style(x, gradient, m, v, t, lr, beta1, beta2, eps):
    # the same update arranged as torch does it: step size lr/(1-β1^t), denominator √v/√(1-β2^t) + eps, as tensors
    x, gradient, m, v = (torch.as_tensor(a) for a in (x, gradient, m, v))
    m = m + (1 - beta1) * (gradient - m)
    v = v * beta2 + (1 - beta2) * gradient * gradient
    denominator = v.sqrt() / math.sqrt(1 - beta2**t) + eps
    return [x - lr / (1 - beta1**t) * m / denominator, m, v]


def test_ex1_accepts_adam_in_two_forms(capsys):
    _accepts(checks.ex1, _adam_step, capsys)
    _accepts(checks.ex1, _adam_step_torch_style, capsys)


def _no_bias_correction(x, gradient, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * gradient
    v = beta2 * v + (1 - beta2) * gradient**2
    return x - lr * m / (np.sqrt(v) + eps), m, v


def _first_moment_correction_only(x, gradient, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * gradient
    v = beta2 * v + (1 - beta2) * gradient**2
    return x - lr * m / (1 - beta1**t) / (np.sqrt(v) + eps), m, v


def _eps_inside_sqrt(x, gradient, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * gradient
    v = beta2 * v + (1 - beta2) * gradient**2
    return x - lr * (m / (1 - beta1**t)) / np.sqrt(v / (1 - beta2**t) + eps), m, v


def _power_t_minus_one(x, gradient, m, v, t, lr, beta1, beta2, eps):
    # counts steps from 0: the bias correction of the previous step (and 0/0 at the first)
    m = beta1 * m + (1 - beta1) * gradient
    v = beta2 * v + (1 - beta2) * gradient**2
    with np.errstate(divide="ignore", invalid="ignore"):
        return x - lr * (m / (1 - beta1 ** (t - 1))) / (np.sqrt(v / (1 - beta2 ** (t - 1))) + eps), m, v


def _power_t_plus_one(x, gradient, m, v, t, lr, beta1, beta2, eps):
    return _adam_step(x, gradient, m, v, t + 1, lr, beta1, beta2, eps)


def _beta_times_t(x, gradient, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * gradient
    v = beta2 * v + (1 - beta2) * gradient**2
    return x - lr * (m / (1 - beta1 * t)) / (np.sqrt(np.abs(v / (1 - beta2 * t))) + eps), m, v


def _betas_swapped(x, gradient, m, v, t, lr, beta1, beta2, eps):
    return _adam_step(x, gradient, m, v, t, lr, beta2, beta1, eps)


def _old_moments_returned(x, gradient, m, v, t, lr, beta1, beta2, eps):
    x_new, _, _ = _adam_step(x, gradient, m, v, t, lr, beta1, beta2, eps)
    return x_new, m, v


def _plus_gradient(x, gradient, m, v, t, lr, beta1, beta2, eps):
    x_new, m_new, v_new = _adam_step(x, gradient, m, v, t, lr, beta1, beta2, eps)
    return 2 * x - x_new, m_new, v_new  # ascends


@pytest.mark.parametrize(
    "wrong",
    [
        _no_bias_correction,  # the hint's first mistake
        _first_moment_correction_only,
        _eps_inside_sqrt,  # the hint's second mistake
        _power_t_minus_one,  # the hint's third mistake: the wrong power of β
        _power_t_plus_one,
        _beta_times_t,
        _betas_swapped,
        _old_moments_returned,
        _plus_gradient,
    ],
)
def test_ex1_rejects_wrong_adam_steps(wrong, capsys):
    _rejects(checks.ex1, wrong, capsys)


def test_ex1_rejects_a_function_that_raises_or_returns_one_array(capsys):
    def raises(*args):
        raise ValueError("boom")

    def only_x(*args):
        return _adam_step(*args)[0]

    _rejects(checks.ex1, raises, capsys)
    _rejects(checks.ex1, only_x, capsys)


def test_ex1_stub_and_none_are_not_attempted(capsys):
    def stub(x, gradient, m, v, t, lr, beta1, beta2, eps):
        return None

    _not_attempted(checks.ex1, None, capsys)
    _not_attempted(checks.ex1, stub, capsys)


# ---------------------------------------------------------------- Exercise 2: uncorrected / corrected step
def _measured_ratio():
    # run both versions on a constant gradient: the ratio of their steps, measured
    beta1, beta2 = checks.EX2_BETAS
    gradient, m, v, ratios = -0.37, 0.0, 0.0, []
    for t in checks.EX2_STEPS:
        m = beta1 * m + (1 - beta1) * gradient
        v = beta2 * v + (1 - beta2) * gradient**2
        uncorrected = m / np.sqrt(v)
        corrected = (m / (1 - beta1**t)) / np.sqrt(v / (1 - beta2**t))
        ratios.append(uncorrected / corrected)
    return ratios


def test_ex2_accepts_the_closed_form_and_the_measured_ratio(capsys):
    beta1, beta2 = checks.EX2_BETAS
    t = np.arange(1, 7)
    _accepts(checks.ex2, (1 - beta1**t) / np.sqrt(1 - beta2**t), capsys)
    _accepts(checks.ex2, _measured_ratio(), capsys)  # a list
    _accepts(checks.ex2, torch.tensor(_measured_ratio(), dtype=torch.float32), capsys)


@pytest.mark.parametrize(
    "wrong",
    [
        lambda t, b1, b2: (1 - b1**t) / (1 - b2**t),  # the hint's mistake: no square root
        lambda t, b1, b2: 1 - b1**t,  # only the first moment's bias
        lambda t, b1, b2: np.sqrt(1 - b2**t) / (1 - b1**t),  # upside down (corrected / uncorrected)
        lambda t, b1, b2: (1 - b1 ** (t + 1)) / np.sqrt(1 - b2 ** (t + 1)),  # steps counted from 0
        lambda t, b1, b2: 1 / (1 - b1**t),  # the correction factor of m alone
        lambda t, b1, b2: (1 - b2**t) / np.sqrt(1 - b1**t),  # betas swapped
    ],
)
def test_ex2_rejects_wrong_ratios(wrong, capsys):
    beta1, beta2 = checks.EX2_BETAS
    _rejects(checks.ex2, wrong(np.arange(1, 7), beta1, beta2), capsys)


def test_ex2_rejects_wrong_shapes_and_none(capsys):
    _rejects(checks.ex2, 1.0, capsys)
    _rejects(checks.ex2, np.ones(5), capsys)
    _not_attempted(checks.ex2, None, capsys)


# ---------------------------------------------------------------- Exercise 3: AdamW vs L2 end points
def _run_torch(decoupled, n_steps=3000, lr=0.2):
    # the reference end points come from fixed-point conditions: confirm them by running torch.optim itself
    h, c, decay = checks.EX3_CURVATURES, checks.EX3_CENTRE, checks.EX3_DECAY
    parameter = torch.tensor([0.3, 0.4, -0.2], dtype=torch.float64, requires_grad=True)
    optimizer_class = torch.optim.AdamW if decoupled else torch.optim.Adam
    optimizer = optimizer_class([parameter], lr=lr, betas=(0.9, 0.99), weight_decay=decay)
    scheduler = CosineAnnealingLR(optimizer, T_max=n_steps)
    for _ in range(n_steps):
        parameter.grad = torch.tensor(h * (parameter.detach().numpy() - c))
        optimizer.step()
        scheduler.step()
    return parameter.detach().numpy().copy()


@pytest.fixture(scope="module")
def ex3_runs():
    return np.vstack([_run_torch(decoupled=False), _run_torch(decoupled=True)])


def test_ex3_accepts_closed_forms_and_torch_runs(ex3_runs, capsys):
    h, c, decay = checks.EX3_CURVATURES, checks.EX3_CENTRE, checks.EX3_DECAY
    closed = np.vstack([h * c / (h + decay), np.clip(c, -1 / decay, 1 / decay)])
    assert np.max(np.abs(ex3_runs - closed)) < 1e-3  # the fixed-point argument holds for torch.optim
    _accepts(checks.ex3, closed, capsys)
    _accepts(checks.ex3, ex3_runs, capsys)
    _accepts(checks.ex3, closed.tolist(), capsys)


def test_ex3_rejects_plausible_mistakes(capsys):
    h, c, decay = checks.EX3_CURVATURES, checks.EX3_CENTRE, checks.EX3_DECAY
    ridge, box = h * c / (h + decay), np.clip(c, -1 / decay, 1 / decay)
    _rejects(checks.ex3, np.vstack([box, ridge]), capsys)  # rows swapped
    _rejects(checks.ex3, np.vstack([ridge, ridge]), capsys)  # the hint's mistake: "AdamW is Adam + L2"
    _rejects(checks.ex3, np.vstack([c, c]), capsys)  # weight decay ignored
    _rejects(checks.ex3, np.vstack([ridge, c]), capsys)  # AdamW's decay thought to vanish everywhere
    _rejects(checks.ex3, np.vstack([ridge, c / (1 + decay)]), capsys)  # AdamW as uniform shrinkage
    _rejects(checks.ex3, np.vstack([c * h / (h + decay / 2), box]), capsys)  # penalty λ/2 in the gradient
    _rejects(checks.ex3, np.vstack([ridge, np.clip(c, -decay, decay)]), capsys)  # box of radius λ, not 1/λ
    _rejects(checks.ex3, ridge, capsys)  # one row only
    _not_attempted(checks.ex3, None, capsys)


# ---------------------------------------------------------------- Exercise 4: warm-up + cosine
def _warmup_cosine(step, base_lr, warmup_steps, total_steps, min_lr, start_factor):
    if step < warmup_steps:
        return base_lr * (start_factor + (1 - start_factor) * step / warmup_steps)
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * progress)) / 2


def _warmup_cosine_numpy(step, base_lr, warmup_steps, total_steps, min_lr, start_factor):
    # NumPy throughout, returned as an array of shape (1,)
    warm = base_lr * (start_factor + (1 - start_factor) * np.minimum(step, warmup_steps) / warmup_steps)
    progress = np.maximum(step - warmup_steps, 0) / (total_steps - warmup_steps)
    cosine = min_lr + (base_lr - min_lr) * (1 + np.cos(np.pi * progress)) / 2
    return np.array([np.where(step < warmup_steps, warm, cosine)])


def test_ex4_accepts_the_schedule_in_two_forms(capsys):
    _accepts(checks.ex4, _warmup_cosine, capsys)
    _accepts(checks.ex4, _warmup_cosine_numpy, capsys)


def _cosine_clock_from_zero(step, base_lr, warmup_steps, total_steps, min_lr, start_factor):
    if step < warmup_steps:
        return _warmup_cosine(step, base_lr, warmup_steps, total_steps, min_lr, start_factor)
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * step / total_steps)) / 2


def _warmup_over_w_minus_one(step, base_lr, warmup_steps, total_steps, min_lr, start_factor):
    if step < warmup_steps:
        return base_lr * (start_factor + (1 - start_factor) * step / max(warmup_steps - 1, 1))
    return _warmup_cosine(step, base_lr, warmup_steps, total_steps, min_lr, start_factor)


def _no_min_lr(step, base_lr, warmup_steps, total_steps, min_lr, start_factor):
    return _warmup_cosine(step, base_lr, warmup_steps, total_steps, 0.0, start_factor)


def _plain_cosine(step, base_lr, warmup_steps, total_steps, min_lr, start_factor):
    if step < warmup_steps:
        return _warmup_cosine(step, base_lr, warmup_steps, total_steps, min_lr, start_factor)
    return min_lr + (base_lr - min_lr) * math.cos(math.pi / 2 * (step - warmup_steps) / (total_steps - warmup_steps))


def _warmup_from_zero(step, base_lr, warmup_steps, total_steps, min_lr, start_factor):
    if step < warmup_steps:
        return base_lr * step / warmup_steps
    return _warmup_cosine(step, base_lr, warmup_steps, total_steps, min_lr, start_factor)


def _one_step_late(step, base_lr, warmup_steps, total_steps, min_lr, start_factor):
    return _warmup_cosine(max(step - 1, 0), base_lr, warmup_steps, total_steps, min_lr, start_factor)


@pytest.mark.parametrize(
    "wrong",
    [
        _cosine_clock_from_zero,  # the hint's mistake
        _warmup_over_w_minus_one,
        _no_min_lr,
        _plain_cosine,
        _warmup_from_zero,
        _one_step_late,
    ],
)
def test_ex4_rejects_wrong_schedules(wrong, capsys):
    _rejects(checks.ex4, wrong, capsys)


def test_ex4_rejects_nonsense_outputs_and_stub(capsys):
    _rejects(checks.ex4, lambda *args: [0.1, 0.2], capsys)
    _rejects(checks.ex4, lambda *args: "0.1", capsys)
    _rejects(checks.ex4, lambda *args: 1 / 0, capsys)
    _not_attempted(checks.ex4, None, capsys)
    _not_attempted(checks.ex4, lambda step, base_lr, warmup_steps, total_steps, min_lr, start_factor: None, capsys)
