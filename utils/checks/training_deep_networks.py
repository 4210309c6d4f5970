"""Exercise checks for ``05_training_deep_networks.ipynb`` (Module 3.2, Estimation and generative models).

Expected values are computed here, independently of the learner's route: the He and Xavier standard deviations
from ``torch.nn.init``'s documented formulas (gain from ``torch.nn.init.calculate_gain``, fans from the weight's
shape as torch stores it), one training-mode batch-normalisation step by ``torch.nn.BatchNorm1d`` in float64
(output and running statistics), the moments of an inverted-dropout output from their closed forms, and the
variance recursion of a deep ReLU network from ``fan_in · Var(w) · E[x²]`` with ``E[relu(y)²] = Var(y)/2``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from utils.checks.core import check_array, check_function, failed, not_attempted, passed, to_array

# Exercise 1: weight shapes as torch stores nn.Linear.weight, (out_features, in_features), and the scheme
EX1_CASES = (((37, 211), "he"), ((530, 93), "he"), ((37, 211), "xavier"), ((128, 765), "xavier"), ((64, 9), "he"))
# Exercise 2: (batch, features, momentum, eps, seed); small batches so that n/(n - 1) is visible, a large eps
# in one case and a low-variance feature in another so that a missing eps is visible
EX2_CASES = ((5, 3, 0.27, 0.3, 3), (9, 4, 0.13, 1e-5, 7), (13, 6, 0.61, 0.037, 11))
# Exercise 3: activations before nn.Dropout(p) in training mode
EX3_ACTIVATIONS = np.array([0.7, 2.3, 1.4, 0.45])
EX3_P = 0.35
# Exercise 4: a ReLU network with N(0, σ²) weights, input fan-in, hidden width, depth, E[x²] of the input
EX4_SIGMA = 0.07
EX4_INPUT_FAN_IN = 765
EX4_WIDTH = 300
EX4_DEPTH = 12
EX4_INPUT_MEAN_SQUARE = 1.0


def _init_std(weight_shape: tuple[int, int], scheme: str) -> float:
    fan_out, fan_in = weight_shape  # torch's nn.Linear.weight is (out_features, in_features)
    if scheme == "he":
        # kaiming_normal_(mode="fan_in", nonlinearity="relu"): std = gain / √fan_in, gain = √2
        return torch.nn.init.calculate_gain("relu") / math.sqrt(fan_in)
    # xavier_normal_(gain=1): std = gain · √(2 / (fan_in + fan_out))
    return torch.nn.init.calculate_gain("linear") * math.sqrt(2.0 / (fan_in + fan_out))


def ex1(init_std: Any) -> bool:
    """Expects init_std(weight_shape, scheme) -> the standard deviation, scheme "he" or "xavier"."""
    return check_function(
        "Exercise 1",
        init_std,
        [((shape, scheme), _init_std(shape, scheme)) for shape, scheme in EX1_CASES],
        what="He and Xavier standard deviations for (out_features, in_features) weight shapes",
        rtol=1e-6,  # float32 answers pass; the likely mistakes are off by factors of 1.4 and more
        atol=0,
        hint="torch stores a Linear weight as (out_features, in_features), so fan_in = shape[1]; "
        "He: std = √(2 / fan_in); Xavier: std = √(2 / (fan_in + fan_out)); return the standard deviation, "
        "not the variance",
    )


def _ex2_inputs(batch: int, features: int, seed: int) -> tuple[torch.Tensor, ...]:
    rng = np.random.default_rng(seed)
    scales = rng.uniform(0.4, 3.1, features)
    scales[0] = 0.0031  # a nearly constant feature: its variance is comparable to eps
    x = rng.normal(rng.uniform(-1.7, 2.6, features), scales, (batch, features))
    gamma = rng.uniform(0.6, 1.8, features)
    beta = rng.uniform(-0.9, 0.7, features)
    running_mean = rng.uniform(-0.8, 0.9, features)
    running_var = rng.uniform(0.3, 2.7, features)
    return tuple(torch.tensor(a, dtype=torch.float64) for a in (x, gamma, beta, running_mean, running_var))


def _torch_batch_norm(x, gamma, beta, running_mean, running_var, momentum, eps) -> tuple[np.ndarray, ...]:
    layer = torch.nn.BatchNorm1d(x.shape[1], eps=eps, momentum=momentum, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(gamma)
        layer.bias.copy_(beta)
        layer.running_mean.copy_(running_mean)
        layer.running_var.copy_(running_var)
        layer.train()
        output = layer(x)
    return output.numpy(), layer.running_mean.numpy().copy(), layer.running_var.numpy().copy()


def ex2(batch_norm_train: Any) -> bool:
    """Expects batch_norm_train(x, gamma, beta, running_mean, running_var, momentum, eps) -> (y, mean, var)."""
    exercise = "Exercise 2"
    hint = (
        "normalise with the batch mean and the biased variance (divide by n): γ·(x - μ)/√(σ² + eps) + β, "
        "eps inside the root; running statistic ← (1 - momentum)·running + momentum·batch statistic, "
        "and the running variance takes the unbiased variance (divide by n - 1)"
    )
    if batch_norm_train is None:
        return not_attempted(exercise)
    if not callable(batch_norm_train):
        return failed(exercise, f"expected a function, got {type(batch_norm_train).__name__}", hint)
    names = ("the output y", "the new running mean", "the new running variance")
    for number, (batch, features, momentum, eps, seed) in enumerate(EX2_CASES, start=1):
        inputs = _ex2_inputs(batch, features, seed)
        try:
            output = batch_norm_train(*(a.clone() for a in inputs), momentum, eps)
        except Exception as err:  # noqa: BLE001 - a learner's function may raise anything
            return failed(exercise, f"your function raised {type(err).__name__}: {err} (case {number})", hint)
        if output is None and number == 1:
            return not_attempted(exercise)
        try:
            given = [to_array(part) for part in output]
        except TypeError as err:
            return failed(exercise, f"could not read the output of case {number} as three arrays: {err}", hint)
        if len(given) != 3:
            return failed(exercise, f"return the tuple (y, new_running_mean, new_running_var); got {len(given)}", hint)
        expected = _torch_batch_norm(*inputs, momentum, eps)
        for name, value, target in zip(names, given, expected, strict=True):
            if value.shape != target.shape:
                return failed(exercise, f"{name}: expected shape {target.shape}, got {value.shape} (case {number})")
            if not np.all(np.isfinite(value)) or not np.allclose(value, target, rtol=1e-6, atol=1e-8):
                worst = float(np.max(np.abs(value - target))) if np.all(np.isfinite(value)) else float("nan")
                problem = (
                    f"{name} differs from torch.nn.BatchNorm1d (batch {batch}, momentum {momentum}, eps {eps}; "
                    f"largest difference {worst:.3g})"
                )
                return failed(exercise, problem, hint)
    return passed(
        exercise,
        f"output and running statistics match torch.nn.BatchNorm1d in training mode on {len(EX2_CASES)} batches",
    )


def ex3(answer: Any) -> bool:
    """Expects an array (3, 4): kept value, E[y] and Var[y] of nn.Dropout(p=0.35) applied to the 4 activations."""
    h, p = EX3_ACTIVATIONS, EX3_P
    return check_array(
        "Exercise 3",
        answer,
        lambda: np.vstack([h / (1 - p), h, h**2 * p / (1 - p)]),
        what="kept value, mean and variance of the dropped-out activations (p = 0.35)",
        rtol=1e-6,
        atol=1e-9,
        hint="p is the probability of DROPPING a unit: a kept entry is h/(1 - p), kept with probability 1 - p, so "
        "E[y] = h and E[y²] = h²/(1 - p), hence Var[y] = h²·p/(1 - p)",
    )


def _ex4_stds() -> np.ndarray:
    variances = [EX4_INPUT_FAN_IN * EX4_SIGMA**2 * EX4_INPUT_MEAN_SQUARE]
    for _ in range(EX4_DEPTH - 1):
        # the next layer sees relu(y), whose mean square is half the variance of the symmetric y
        variances.append(EX4_WIDTH * EX4_SIGMA**2 * variances[-1] / 2)
    return np.sqrt(variances)


def ex4(answer: Any) -> bool:
    """Expects an array (12,): the predicted std of the pre-activations of layers 1..12 of the ReLU network."""
    return check_array(
        "Exercise 4",
        answer,
        _ex4_stds,
        what="predicted std of the pre-activations at layers 1, …, 12",
        rtol=1e-6,
        atol=0,
        hint="Var(y_1) = fan_in·σ²·E[x²] with fan_in = 765 for the first layer; after that fan_in = 300 and "
        "E[relu(y)²] = Var(y)/2, so Var(y_{l+1}) = 300·σ²·Var(y_l)/2; answer with standard deviations",
    )
