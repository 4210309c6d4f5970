"""Exercise checks for ``01_gradient_descent.ipynb`` (Module 3.1, Optimisation algorithms).

Expected values are computed here, independently of the learner's route: the optimal step and rate from the
eigenvalues (``numpy.linalg.eigvalsh``), iteration counts by running gradient descent on the error recursion
:math:`e_{k+1} = (I - \\alpha A)e_k`, Nesterov steps from the formula and a 60-step run against
``torch.optim.SGD(nesterov=True)`` in float64, condition numbers with ``numpy.linalg.cond``.
"""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from typing import Any

import numpy as np

from utils.checks.core import check_array, check_function, failed, passed, to_array, whole_number

# Exercise 1: a generic symmetric positive definite Hessian (no zero, ±1 or 2 entries, no two eigenvalues equal)
EX1_HESSIAN = np.array([[4.3, 1.1, 0.6], [1.1, 2.7, -0.4], [0.6, -0.4, 1.9]])

# Exercise 2: f(x) = ½ xᵀAx - bᵀx with A = Q diag(EX2_EIGENVALUES) Qᵀ for a fixed rotation Q
EX2_EIGENVALUES = np.array([0.7, 3.1, 11.3, 42.9])
EX2_TOLERANCE = 1e-8


def _ex2_problem() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2024)
    rotation, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    hessian = (rotation * EX2_EIGENVALUES) @ rotation.T
    b = np.array([1.3, -0.6, 2.4, 0.9])
    # a start with little weight on the two extreme eigenvectors, so that the run beats the worst-case bound
    start = np.linalg.solve(hessian, b) + rotation @ np.array([0.03, 1.4, -0.8, 0.02])
    return hessian, b, np.round(start, 2)


EX2_HESSIAN, EX2_B, EX2_START = _ex2_problem()

# Exercise 4: the ten genes most correlated with the B-cell marker CD79A in the PBMC table
EX4_GENES = ["MS4A1", "TNFRSF13B", "CD79B", "BLK", "IGJ", "PNOC", "BANK1", "FCRLA", "AL928768.3", "SMARCB1"]


def ex1(answer: Any) -> bool:
    """Expects ``[step, rate]``: the optimal fixed step 2/(μ+L) and its rate (κ-1)/(κ+1) for EX1_HESSIAN."""
    eigenvalues = np.linalg.eigvalsh(EX1_HESSIAN)
    mu, lipschitz = eigenvalues[0], eigenvalues[-1]
    kappa = lipschitz / mu
    return check_array(
        "Exercise 1",
        answer,
        np.array([2 / (mu + lipschitz), (kappa - 1) / (kappa + 1)]),
        what="optimal fixed step 2/(μ+L) and rate (κ-1)/(κ+1) from the eigenvalues of the Hessian",
        rtol=1e-6,
        atol=1e-12,
        hint="μ and L are the smallest and largest EIGENVALUES of the Hessian (not its diagonal); the step is "
        "2/(μ+L), not 1/L or the bound 2/L, and the rate is (κ-1)/(κ+1) with κ = L/μ itself, not √κ",
    )


def _ex2_count() -> int:
    eigenvalues = np.linalg.eigvalsh(EX2_HESSIAN)
    step = 2 / (eigenvalues[0] + eigenvalues[-1])
    minimiser = np.linalg.solve(EX2_HESSIAN, EX2_B)
    error = EX2_START - minimiser
    start_norm = np.linalg.norm(error)
    count = 0
    while np.linalg.norm(error) > EX2_TOLERANCE * start_norm:
        error = error - step * (EX2_HESSIAN @ error)  # e_{k+1} = (I - αA) e_k
        count += 1
    return count


def ex2(answer: Any) -> bool:
    """Expects the number of gradient steps (an integer) until ‖x_k - x*‖ ≤ 1e-8 ‖x_0 - x*‖ for the first time."""
    return check_array(
        "Exercise 2",
        answer,
        lambda: float(_ex2_count()),
        what="the iteration count with the optimal fixed step (run here on the error recursion)",
        compare=whole_number("iterations"),
        hint="count updates (x_0 is iteration 0), use the step 2/(μ+L) from the extreme eigenvalues of A, stop on "
        "‖x_k - x*‖ relative to ‖x_0 - x*‖ with x* = A⁻¹b, and report what the run needed, not the bound",
    )


def _ex3_reference(gradient, x, x_previous, step, momentum) -> np.ndarray:
    look_ahead = x + momentum * (x - x_previous)
    return look_ahead - step * gradient(look_ahead)


def _ex3_gradients():
    hessian = np.array([[3.7, 0.9, -0.3], [0.9, 1.6, 0.5], [-0.3, 0.5, 2.3]])
    shift = np.array([0.4, -1.3, 0.7])

    def quadratic_gradient(x):
        return hessian @ x - shift

    def softplus_gradient(x):
        # ∇ Σ log(1 + exp(a_i·x)) + 0.35‖x‖²: not linear, so the point where it is evaluated matters
        rows = np.array([[1.2, -0.7, 0.3], [-0.4, 0.9, 1.1]])
        return rows.T @ (1 / (1 + np.exp(-(rows @ x)))) + 0.7 * x

    return quadratic_gradient, softplus_gradient, hessian, shift


def _ex3_run(nesterov_step, gradient, x0, step, momentum, n_steps):
    x, x_previous = np.array(x0, dtype=float), np.array(x0, dtype=float)
    look_aheads = [x.copy()]
    for _ in range(n_steps):
        x_next = to_array(nesterov_step(gradient, x.copy(), x_previous.copy(), step, momentum)).reshape(x.shape)
        x, x_previous = x_next, x
        look_aheads.append(x + momentum * (x - x_previous))
    return np.array(look_aheads)


def _torch_nesterov(hessian, shift, x0, step, momentum, n_steps) -> np.ndarray:
    import torch

    parameter = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([parameter], lr=step, momentum=momentum, nesterov=True)
    hessian_t, shift_t = torch.tensor(hessian), torch.tensor(shift)
    points = [parameter.detach().numpy().copy()]
    for _ in range(n_steps):
        parameter.grad = hessian_t @ parameter.detach() - shift_t
        optimizer.step()
        points.append(parameter.detach().numpy().copy())
    return np.array(points)


def ex3(nesterov_step: Any) -> bool:
    """Expects nesterov_step(gradient, x, x_previous, step, momentum) returning x_next = y - step·∇f(y),
    y = x + momentum·(x - x_previous)."""
    quadratic_gradient, softplus_gradient, hessian, shift = _ex3_gradients()
    hint = (
        "look ahead first, y = x + momentum·(x - x_previous), then take the gradient AT y: x_next = y - step·∇f(y) "
        "(the gradient at x is heavy ball); return x_next, not y"
    )
    cases = []
    for gradient, x, x_previous, step, momentum in (
        (quadratic_gradient, np.array([0.3, -1.7, 2.6]), np.array([0.8, -1.1, 2.9]), 0.23, 0.63),
        (softplus_gradient, np.array([-1.4, 0.6, 2.2]), np.array([-0.9, 0.35, 1.3]), 0.37, 0.81),
        (softplus_gradient, np.array([2.7, -0.45, 0.15]), np.array([3.3, -0.2, -0.6]), 0.11, 0.47),
    ):
        cases.append(
            ((gradient, x, x_previous, step, momentum), _ex3_reference(gradient, x, x_previous, step, momentum))
        )
    with redirect_stdout(io.StringIO()) as printed:
        verdict = check_function(
            "Exercise 3", nesterov_step, cases, what="one Nesterov step", rtol=1e-5, atol=1e-8, hint=hint
        )
    if not verdict:
        print(printed.getvalue(), end="")
        return False
    # 60 steps on a quadratic: the look-ahead points y_k are the iterates of torch.optim.SGD(nesterov=True)
    x0, step, momentum, n_steps = np.array([1.9, -0.8, 2.3]), 0.21, 0.74, 60
    try:
        look_aheads = _ex3_run(nesterov_step, quadratic_gradient, x0, step, momentum, n_steps)
    except Exception as err:  # noqa: BLE001 - a learner's function may raise anything
        return failed("Exercise 3", f"your function raised {type(err).__name__} over 60 steps: {err}", hint)
    reference = _torch_nesterov(hessian, shift, x0, step, momentum, n_steps)
    if look_aheads.shape != reference.shape or not np.allclose(look_aheads, reference, rtol=1e-5, atol=1e-5):
        return failed("Exercise 3", "60 steps of your function do not follow torch.optim.SGD(nesterov=True)", hint)
    return passed(
        "Exercise 3",
        f"one Nesterov step matches on {len(cases)} cases (rtol=1e-05) and 60 steps follow "
        "torch.optim.SGD(momentum, nesterov=True) (float64 reference, rtol=1e-05, atol=1e-05)",
    )


def _ex4_condition_numbers() -> np.ndarray:
    from utils.data import load_pbmc, normalize_log1p

    pbmc = load_pbmc()
    expression = normalize_log1p(pbmc.counts, pbmc.samples["n_counts"]).T
    features = expression[EX4_GENES].to_numpy()
    intercept = np.ones((features.shape[0], 1))
    scaled = (
        features,
        (features - features.min(axis=0)) / (features.max(axis=0) - features.min(axis=0)),
        (features - features.mean(axis=0)) / features.std(axis=0),
    )
    return np.array([np.linalg.cond(np.hstack([intercept, block]), 2) ** 2 for block in scaled])


def ex4(answer: Any) -> bool:
    """Expects κ(XᵀX) for X = [1, features] with raw, min-max scaled and standardised features, shape (3,)."""
    return check_array(
        "Exercise 4",
        answer,
        _ex4_condition_numbers,
        what="κ(XᵀX) of the raw, min-max and standardised designs (each with an intercept column)",
        rtol=1e-6,
        atol=0,
        hint="keep the column of ones in every design and scale only the gene columns; κ of XᵀX is cond(X)², "
        "not cond(X); standardising subtracts the mean AND divides by the standard deviation",
    )
