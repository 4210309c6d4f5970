"""Exercise checks for ``03_jacobian_backprop.ipynb`` (Module 1.1: Jacobians and backpropagation).

Each check computes its reference with PyTorch autograd in float64 (or a closed form) and compares it with
the learner's answer through ``utils.checks.core``. Exercises 1 and 3 are evaluated at generic inputs (no
coordinate or weight 0, ±1 or 2, no two equal), where common slips change the number.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from utils.checks.core import check_array, check_function, failed, not_attempted, passed, to_array, whole_number

EX1_POINTS = ((1.3, -0.7, 0.45), (-0.6, 1.5, 2.3), (0.8, 2.6, -1.2), (-1.4, -0.3, 0.9))
EX3_CASES = (
    (0.3, (1.5,)),
    (-0.7, (2.3, -1.2, 3.1)),
    (1.2, (1.1, 0.9, -1.3, 1.4, 0.8, -0.7, 1.6, 1.2, -0.6, 1.5)),
    (0.45, (4.1, 3.7, -4.3, 3.9)),
)
EX4_MAX_WEIGHT = 2.0
EX4_TOLERANCE = 1e-6


def _ex1_map(point: torch.Tensor) -> torch.Tensor:
    first, second, third = point[0], point[1], point[2]
    return torch.stack([first * second**2, torch.exp(first) * torch.sin(third)])


def ex1(jacobian_f: Any) -> bool:
    """Expects a function jacobian_f(x1, x2, x3) returning the (2, 3) Jacobian of f(x) = (x1 x2², e^{x1} sin x3).

    It is compared with autograd at four generic points.
    """
    cases = [
        (point, torch.autograd.functional.jacobian(_ex1_map, torch.tensor(point, dtype=torch.float64)).numpy())
        for point in EX1_POINTS
    ]
    return check_function(
        "Exercise 1",
        jacobian_f,
        cases,
        what="jacobian_f(x1, x2, x3) against autograd",
        rtol=1e-6,
        atol=1e-9,
        hint="row i is the gradient of output i, so J has shape (outputs, inputs) = (2, 3)",
    )


def _ex2_cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    generator = np.random.default_rng(2024)
    cases = []
    for batch, fan_in, fan_out in [(5, 3, 4), (1, 6, 2), (7, 2, 1)]:
        cases.append(
            (
                generator.normal(size=(batch, fan_in)),
                generator.normal(size=(fan_in, fan_out)),
                generator.normal(size=fan_out),
                generator.normal(size=(batch, fan_out)),
            )
        )
    return cases


def _ex2_reference(inputs, weights, bias, grad_output) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (inputs, weights, bias)]
    outputs = torch.sigmoid(tensors[0] @ tensors[1] + tensors[2])
    grads = torch.autograd.grad(outputs, tensors, grad_outputs=torch.tensor(grad_output, dtype=torch.float64))
    return tuple(g.numpy() for g in grads)


def ex2(dense_sigmoid_backward: Any) -> bool:
    """Expects a function (inputs, weights, bias, grad_output) -> (grad_inputs, grad_weights, grad_bias)."""
    exercise = "Exercise 2"
    hint = "with s = sigmoid(inputs @ weights + bias), let delta = grad_output * s * (1 - s); then use delta"
    if dense_sigmoid_backward is None:
        return not_attempted(exercise)
    if not callable(dense_sigmoid_backward):
        return failed(exercise, f"expected a function, got {type(dense_sigmoid_backward).__name__}", hint)
    names = ("grad_inputs", "grad_weights", "grad_bias")
    cases = _ex2_cases()
    for number, case in enumerate(cases, start=1):
        try:
            output = dense_sigmoid_backward(*(a.copy() for a in case))
        except Exception as err:  # noqa: BLE001 - a learner's function may raise anything
            return failed(exercise, f"your function raised {type(err).__name__}: {err} (case {number})", hint)
        if output is None:
            return not_attempted(exercise)
        if not isinstance(output, (tuple, list)) or len(output) != 3:
            return failed(exercise, "return a tuple (grad_inputs, grad_weights, grad_bias)", hint)
        for name, given, expected in zip(names, output, _ex2_reference(*case), strict=True):
            try:
                value = to_array(given)
            except TypeError as err:
                return failed(exercise, f"could not read {name} as numbers: {err}", hint)
            if value.shape != expected.shape:
                return failed(
                    exercise, f"{name} should have shape {expected.shape}, got {value.shape} (case {number})", hint
                )
            # rtol 1e-5 lets a float32 computation pass; every plausible slip is off by far more
            if not np.allclose(value, expected, rtol=1e-5, atol=1e-7):
                worst = float(np.max(np.abs(value - expected)))
                return failed(
                    exercise, f"{name} is off in case {number} (largest absolute difference {worst:.3g})", hint
                )
    return passed(exercise, f"all three gradients match torch.autograd on {len(cases)} random layers (rtol=1e-05)")


def _ex3_reference(x: float, weights: list[float]) -> float:
    start = torch.tensor(float(x), dtype=torch.float64, requires_grad=True)
    hidden = start
    for weight in weights:
        hidden = torch.sigmoid(weight * hidden)
    (derivative,) = torch.autograd.grad(hidden, start, allow_unused=True)
    return 1.0 if derivative is None else float(derivative)


def ex3(sigmoid_chain_derivative: Any) -> bool:
    """Expects a function (x, weights) -> d h_n / d x for h_0 = x, h_k = sigmoid(w_k h_{k-1}), as a float."""
    return check_function(
        "Exercise 3",
        sigmoid_chain_derivative,
        [((x, list(weights)), _ex3_reference(x, list(weights))) for x, weights in EX3_CASES],
        what="d h_n / d x compared with torch.autograd",
        rtol=1e-9,
        atol=1e-15,
        hint="go forward through the layers, multiplying by the local derivative w_k * s_k * (1 - s_k)",
    )


def ex4(answer: Any) -> bool:
    """Expects the smallest integer n with (|w|_max / 4)^n < 1e-6 for |w|_max = 2."""
    expected = 1
    while (EX4_MAX_WEIGHT / 4) ** expected >= EX4_TOLERANCE:
        expected += 1

    return check_array(
        "Exercise 4",
        answer,
        expected,
        what="the number of layers, the smallest n with (1/2)^n < 1e-6,",
        compare=whole_number("layers"),
        hint="each layer multiplies the bound by |w| * 1/4 = 1/2; find the first n where (1/2)^n < 1e-6",
    )
