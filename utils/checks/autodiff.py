"""Exercise checks for ``04_autodiff.ipynb`` (Module 1.1: automatic differentiation).

References are computed here with PyTorch autograd in float64, or from the data with a closed form, and compared
with the learner's answer through ``utils.checks.core``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from utils.checks.core import check_array, failed, not_attempted, passed, to_array
from utils.glm import size_factors_median_of_ratios
from utils.linear_models import design_matrix

EX1_POINT = 0.8
EX4_GENE = "FBgn0039155"


def ex1(answer: Any) -> bool:
    """Expects g'(0.8) for g(x) = sin(3x) log(1 + x^2) / x, as a float."""
    x = torch.tensor(EX1_POINT, dtype=torch.float64, requires_grad=True)
    (torch.sin(3 * x) * torch.log1p(x**2) / x).backward()
    return check_array(
        "Exercise 1",
        answer,
        x.grad.item(),
        what="g'(0.8)",
        rtol=1e-10,
        atol=1e-12,
        hint="set the input's tangent to 1, Dual(0.8, 1.0), and read .tangent of the result (not .value)",
    )


def _tanh_reference(a: float, twice: bool) -> tuple[float, float]:
    x = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    if twice:
        output = torch.tanh(x) * torch.tanh(x)
    else:
        t = torch.tanh(x)
        output = t * t + 3 * t
    output.backward()
    return math.tanh(a), x.grad.item()


def ex2(value_class: Any) -> bool:
    """Expects a Value subclass whose .tanh() returns a Value with data tanh(a) and the right backward."""
    exercise = "Exercise 2"
    hint = "d tanh(a)/da = 1 - tanh(a)**2; in _backward use self.grad += (1 - out.data**2) * out.grad"
    if value_class is None:
        return not_attempted(exercise)
    if not callable(value_class):
        return failed(exercise, f"expected the class ValueWithTanh, got {type(value_class).__name__}", hint)
    cases = [(0.3, False), (-1.2, False), (2.5, False), (0.7, True)]
    for a, twice in cases:
        try:
            leaf = value_class(a)
            if twice:  # the leaf feeds two tanh nodes: its adjoint must accumulate
                first, second = leaf.tanh(), leaf.tanh()
                if first is None:
                    return not_attempted(exercise)
                data, output = first.data, first * second
            else:
                t = leaf.tanh()
                if t is None:
                    return not_attempted(exercise)
                data, output = t.data, t * t + 3 * t
            output.backward()
            given_data, given_grad = float(data), float(leaf.grad)
        except Exception as err:  # noqa: BLE001 - a learner's class may raise anything
            return failed(
                exercise, f"building or differentiating the expression raised {type(err).__name__}: {err}", hint
            )
        expected_data, expected_grad = _tanh_reference(a, twice)
        if not math.isclose(given_data, expected_data, rel_tol=1e-12, abs_tol=1e-15):
            return failed(exercise, f"tanh({a}).data is {given_data:.6g}, expected {expected_data:.6g}", hint)
        if not math.isclose(given_grad, expected_grad, rel_tol=1e-10, abs_tol=1e-13):
            expression = "tanh(a) * tanh(a)" if twice else "t*t + 3*t"
            return failed(
                exercise,
                f"gradient of {expression} at a = {a} is {given_grad:.6g}, torch says {expected_grad:.6g}",
                hint,
            )
    return passed(exercise, f"tanh values and gradients match torch.autograd on {len(cases)} expressions")


def _ex3_cases() -> list[tuple[Any, torch.Tensor]]:
    generator = torch.Generator().manual_seed(11)
    mixing = torch.randn(3, 5, generator=generator, dtype=torch.float64)

    def wide(x):  # R^6 -> R^2
        return torch.stack([torch.sin(x[:3]).sum() * x[5], torch.exp(x[0] * x[4]) + (x**2).sum()])

    def mixed(x):  # R^5 -> R^3
        return torch.tanh(mixing @ x) * x[0]

    return [
        (wide, torch.randn(6, generator=generator, dtype=torch.float64)),
        (mixed, torch.randn(5, generator=generator, dtype=torch.float64)),
    ]


def ex3(jacobian_by_vjp: Any) -> bool:
    """Expects a function (f, x) -> the (m, n) Jacobian of f at x, computed by reverse passes (torch.func.vjp)."""
    exercise = "Exercise 3"
    hint = "output, pullback = torch.func.vjp(f, x); row i of J is pullback(e_i)[0]; stack the rows"
    if jacobian_by_vjp is None:
        return not_attempted(exercise)
    if not callable(jacobian_by_vjp):
        return failed(exercise, f"expected a function, got {type(jacobian_by_vjp).__name__}", hint)
    cases = _ex3_cases()
    for number, (mapping, point) in enumerate(cases, start=1):
        calls = [0]

        def counted(x, mapping=mapping, calls=calls):
            calls[0] += 1
            return mapping(x)

        try:
            result = jacobian_by_vjp(counted, point.clone())
        except Exception as err:  # noqa: BLE001 - a learner's function may raise anything
            return failed(exercise, f"your function raised {type(err).__name__}: {err} (case {number})", hint)
        if result is None:
            return not_attempted(exercise)
        try:
            given = to_array(result)
        except TypeError as err:
            return failed(exercise, f"could not read the Jacobian as numbers: {err}", hint)
        expected = torch.autograd.functional.jacobian(mapping, point).numpy()
        outputs = expected.shape[0]
        if given.shape != expected.shape:
            return failed(exercise, f"expected shape {expected.shape} (outputs, inputs), got {given.shape}", hint)
        if not np.allclose(given, expected, rtol=1e-10, atol=1e-12):
            worst = float(np.max(np.abs(given - expected)))
            return failed(
                exercise, f"the Jacobian is off in case {number} (largest absolute difference {worst:.3g})", hint
            )
        if calls[0] > outputs + 1:
            return failed(
                exercise,
                f"f was evaluated {calls[0]} times for {outputs} outputs: that is forward mode, one pass per input",
                hint,
            )
    return passed(exercise, f"Jacobians match torch.autograd on {len(cases)} maps, with at most m + 1 evaluations of f")


def ex4(answer: Any) -> bool:
    """Expects the (3,) Poisson log-likelihood gradient for Kal1 (pasilla) at beta = (log mean(K/s), 0, 0)."""
    from utils.data import load_pasilla  # the data are only needed here

    if answer is None:
        return not_attempted("Exercise 4")
    pasilla = load_pasilla()
    size_factors = size_factors_median_of_ratios(pasilla.counts.to_numpy(dtype=float))
    # rows taken by sample name, in the order of the counts' columns (the size factors' order)
    design = design_matrix(pasilla.samples, ["type", "condition"]).loc[pasilla.counts.columns].to_numpy()
    counts = pasilla.counts.loc[EX4_GENE].to_numpy(dtype=float)
    beta = np.array([np.log(np.mean(counts / size_factors)), 0.0, 0.0])
    means = size_factors * np.exp(design @ beta)
    return check_array(
        "Exercise 4",
        answer,
        design.T @ (counts - means),
        what="Poisson gradient for Kal1 (intercept, paired-end, treated)",
        rtol=1e-9,
        atol=1e-9,
        hint="d/d beta of K log mu - mu is (K - mu) x_j; remember the size factor inside mu = s exp(x^T beta)",
    )
