"""Exercise checks for ``02_adaptive_methods.ipynb`` (Module 3.1, Optimisation algorithms).

Expected values are computed here, independently of the learner's route: one Adam update by ``torch.optim.Adam``
in float64 started from the learner's state, the bias-correction ratio from its closed form, the end points of
Adam with L2 and of AdamW from their fixed-point conditions (the ridge solution and the box-constrained minimiser),
and the warm-up + cosine learning rates from ``torch.optim.lr_scheduler.SequentialLR``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

from utils.checks.core import check_array, failed, not_attempted, passed, to_array

# Exercise 1: Adam hyper-parameters with a large eps, so that eps inside the square root is visible
EX1_HYPER = {"lr": 0.037, "beta1": 0.83, "beta2": 0.97, "eps": 0.013}
EX1_STEPS = (1, 2, 5, 17)
# Exercise 2: betas and the steps at which the uncorrected/corrected step ratio is asked
EX2_BETAS = (0.8, 0.95)
EX2_STEPS = np.arange(1, 7)
# Exercise 3: f(x) = ½ Σ h_i (x_i - c_i)², weight decay λ
EX3_CURVATURES = np.array([0.7, 3.1, 1.9])
EX3_CENTRE = np.array([3.7, -0.9, -4.3])
EX3_DECAY = 0.4
# Exercise 4: (base_lr, warmup_steps, total_steps, min_lr, start_factor) cases
EX4_CASES = ((0.37, 4, 23, 0.013, 0.1), (1.3, 7, 31, 0.0, 0.25), (0.0029, 1, 9, 0.0004, 0.5))


def _ex1_states() -> list[tuple[np.ndarray, ...]]:
    rng = np.random.default_rng(11)
    states = []
    for number, step in enumerate(EX1_STEPS):
        size = 3 + number
        x = rng.uniform(-1.7, 1.9, size)
        gradient = rng.uniform(-0.9, 0.8, size) * rng.choice([0.05, 0.4, 3.0], size)
        # a state that Adam could have reached after step - 1 updates (all zero before the first one)
        m = np.zeros(size) if step == 1 else rng.uniform(-0.3, 0.3, size)
        v = np.zeros(size) if step == 1 else rng.uniform(0.001, 0.2, size)
        states.append((x, gradient, m, v, step))
    return states


def _torch_adam_step(x, gradient, m, v, step) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    parameter = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam(
        [parameter], lr=EX1_HYPER["lr"], betas=(EX1_HYPER["beta1"], EX1_HYPER["beta2"]), eps=EX1_HYPER["eps"]
    )
    optimizer.state[parameter] = {
        "step": torch.tensor(float(step - 1), dtype=torch.float64),
        "exp_avg": torch.tensor(m, dtype=torch.float64),
        "exp_avg_sq": torch.tensor(v, dtype=torch.float64),
    }
    parameter.grad = torch.tensor(gradient, dtype=torch.float64)
    optimizer.step()
    state = optimizer.state[parameter]
    return parameter.detach().numpy().copy(), state["exp_avg"].numpy().copy(), state["exp_avg_sq"].numpy().copy()


def ex1(adam_step: Any) -> bool:
    """Expects adam_step(x, gradient, m, v, t, lr, beta1, beta2, eps) -> (x_new, m_new, v_new), t the update number."""
    exercise = "Exercise 1"
    hint = (
        "m ← β1·m + (1-β1)·g, v ← β2·v + (1-β2)·g², then x ← x - lr·m̂/(√v̂ + eps) with m̂ = m/(1-β1^t), "
        "v̂ = v/(1-β2^t): both bias corrections, the power t (not t-1), and eps added after the square root"
    )
    if adam_step is None:
        return not_attempted(exercise)
    if not callable(adam_step):
        return failed(exercise, f"expected a function, got {type(adam_step).__name__}", hint)
    names = ("x_new", "m_new", "v_new")
    for number, (x, gradient, m, v, step) in enumerate(_ex1_states(), start=1):
        arguments = (x.copy(), gradient.copy(), m.copy(), v.copy(), step, *EX1_HYPER.values())
        try:
            output = adam_step(*arguments)
        except Exception as err:  # noqa: BLE001 - a learner's function may raise anything
            return failed(exercise, f"your function raised {type(err).__name__}: {err} (state {number})", hint)
        if output is None and number == 1:
            return not_attempted(exercise)
        try:
            given = [to_array(part) for part in output]
        except TypeError as err:
            return failed(exercise, f"could not read the output of state {number} as three arrays: {err}", hint)
        if len(given) != 3:
            return failed(exercise, f"return the tuple (x_new, m_new, v_new); got {len(given)} values", hint)
        expected = _torch_adam_step(x, gradient, m, v, step)
        for name, value, target in zip(names, given, expected, strict=True):
            if value.shape != target.shape:
                return failed(exercise, f"{name}: expected shape {target.shape}, got {value.shape} (t = {step})", hint)
            if not np.allclose(value, target, rtol=1e-6, atol=1e-9):
                worst = float(np.max(np.abs(value - target)))
                problem = f"{name} differs from torch.optim.Adam at t = {step} (largest difference {worst:.3g})"
                return failed(exercise, problem, hint)
    return passed(exercise, f"one Adam update matches torch.optim.Adam from {len(EX1_STEPS)} states (t = 1, 2, 5, 17)")


def ex2(answer: Any) -> bool:
    """Expects |uncorrected step| / |corrected step| for t = 1..6, β = (0.8, 0.95), constant gradient, eps = 0."""
    beta1, beta2 = EX2_BETAS
    steps = EX2_STEPS.astype(float)
    return check_array(
        "Exercise 2",
        answer,
        lambda: (1 - beta1**steps) / np.sqrt(1 - beta2**steps),
        what="ratio of the uncorrected to the corrected Adam step for t = 1, …, 6",
        rtol=1e-6,
        atol=1e-10,
        hint="with a constant gradient m_t = (1-β1^t)·g and v_t = (1-β2^t)·g²; the uncorrected step divides m_t "
        "by √v_t, the corrected one is exactly lr·sign(g): the ratio has a square root in its denominator",
    )


def _ex3_end_points() -> np.ndarray:
    ridge = EX3_CURVATURES * EX3_CENTRE / (EX3_CURVATURES + EX3_DECAY)
    box = np.clip(EX3_CENTRE, -1 / EX3_DECAY, 1 / EX3_DECAY)
    return np.vstack([ridge, box])


def ex3(answer: Any) -> bool:
    """Expects an array (2, 3): the end point of Adam with L2 (row 0) and of AdamW (row 1) on ½ Σ h_i (x_i - c_i)²."""
    return check_array(
        "Exercise 3",
        answer,
        _ex3_end_points,
        what="end points of Adam + L2 (row 0) and AdamW (row 1)",
        rtol=0,
        atol=2e-3,
        hint="Adam + L2 stops where ∇f(x) + λx = 0 (ridge: h·c/(h + λ)); AdamW stops where λx = -m̂/(√v̂ + ε) "
        "with m̂/√v̂ ≈ sign(∇f): either ∇_i f = 0 or |x_i| = 1/λ, the minimiser of f over the box |x_i| ≤ 1/λ",
    )


def _ex4_torch_rates(base_lr, warmup_steps, total_steps, min_lr, start_factor) -> np.ndarray:
    parameter = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([parameter], lr=base_lr)
    scheduler = SequentialLR(
        optimizer,
        [
            LinearLR(optimizer, start_factor=start_factor, end_factor=1.0, total_iters=warmup_steps),
            CosineAnnealingLR(optimizer, T_max=total_steps - warmup_steps, eta_min=min_lr),
        ],
        milestones=[warmup_steps],
    )
    rates = []
    for _ in range(total_steps + 1):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.array(rates)


def ex4(warmup_cosine: Any) -> bool:
    """Expects warmup_cosine(step, base_lr, warmup_steps, total_steps, min_lr, start_factor) -> the rate, a float."""
    exercise = "Exercise 4"
    hint = (
        "warm-up: base·(f + (1-f)·t/W) for t < W; then min + (base - min)·(1 + cos(π·(t - W)/(T - W)))/2, "
        "where the cosine's clock starts at the end of the warm-up (t - W), not at 0"
    )
    if warmup_cosine is None:
        return not_attempted(exercise)
    if not callable(warmup_cosine):
        return failed(exercise, f"expected a function, got {type(warmup_cosine).__name__}", hint)
    for number, case in enumerate(EX4_CASES, start=1):
        expected = _ex4_torch_rates(*case)
        for step, target in enumerate(expected):
            try:
                output = warmup_cosine(step, *case)
            except Exception as err:  # noqa: BLE001 - a learner's function may raise anything
                return failed(exercise, f"your function raised {type(err).__name__}: {err} (step {step})", hint)
            if output is None and number == 1 and step == 0:
                return not_attempted(exercise)
            try:
                value = to_array(output)
            except TypeError as err:
                return failed(exercise, f"could not read the rate at step {step} as a number: {err}", hint)
            if value.size != 1 or not np.isfinite(value).all():
                return failed(exercise, f"the rate at step {step} must be one finite number, got {output!r}", hint)
            if not np.isclose(float(value.reshape(())), target, rtol=1e-9, atol=1e-12):
                base_lr, warmup_steps, total_steps, min_lr, start_factor = case
                problem = (
                    f"step {step} of (base_lr={base_lr}, warmup={warmup_steps}, total={total_steps}, "
                    f"min_lr={min_lr}, start_factor={start_factor}): {float(value.reshape(())):.6g}, "
                    f"torch's SequentialLR gives {target:.6g}"
                )
                return failed(exercise, problem, hint)
    return passed(
        exercise, f"warm-up + cosine rates match torch's SequentialLR at every step of {len(EX4_CASES)} cases"
    )
