"""Exercise checks for ``04_variational_inference_vae.ipynb`` (Module 3.2, Estimation and generative models).

Expected values are computed here, independently of the learner's route: the negative-binomial log-probability
from ``scipy.special.gammaln`` in float64 (scVI's mean / inverse-dispersion form), the Gaussian KL to N(0, I) from
``torch.distributions.kl_divergence``, and the reparameterised sample with its derivatives, which the check
obtains by calling the learner's function on tensors that require gradients.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy.special import gammaln

from utils.checks.core import check_array, failed, not_attempted

# Exercise 1: (k, μ, θ) cases, generic values, k = 0 included, θ from strongly over-dispersed to nearly Poisson
EX1_COUNTS = np.array([0.0, 3.0, 17.0, 0.0, 6.0, 41.0, 2.0, 9.0])
EX1_MEANS = np.array([2.73, 0.61, 13.9, 0.37, 8.45, 29.3, 4.18, 11.7])
EX1_INVERSE_DISPERSIONS = np.array([0.43, 3.17, 0.29, 7.6, 1.83, 57.1, 0.71, 12.4])
# Exercise 2: means and log-variances of three cells in a 4-dimensional latent space
EX2_MEANS = np.array([[0.37, -1.21, 0.83, -0.46], [1.57, 0.23, -0.71, 0.94], [-0.18, 0.66, 1.34, -1.73]])
EX2_LOG_VARS = np.array([[-0.93, 0.41, -1.87, 0.28], [0.77, -0.35, -0.62, -2.41], [0.19, -1.36, 1.12, -0.57]])
# Exercise 3: means, log-variances and noise of two cells in a 3-dimensional latent space
EX3_MEANS = np.array([[0.47, -1.13, 0.82], [-0.36, 1.41, 0.27]])
EX3_LOG_VARS = np.array([[-1.37, 0.53, -0.44], [0.91, -0.78, -2.09]])
EX3_NOISE = np.array([[0.73, -1.58, 0.31], [-0.67, 0.94, 1.83]])


def _call(function: Any, arrays: tuple[np.ndarray, ...], dtype=torch.float64) -> Any:
    """Call with torch tensors; if the learner's code only takes NumPy, call again with arrays."""
    try:
        return function(*(torch.tensor(a, dtype=dtype) for a in arrays))
    except Exception:  # noqa: BLE001 - a learner's function may raise anything
        return function(*(a.copy() for a in arrays))


def _shape(output: Any) -> tuple[int, ...] | None:
    try:
        return tuple(np.shape(output))
    except Exception:  # noqa: BLE001 - a ragged list has no shape; check_array reports it
        return None


def _nb_reference(k: np.ndarray, mu: np.ndarray, theta: np.ndarray) -> np.ndarray:
    return (
        gammaln(k + theta)
        - gammaln(theta)
        - gammaln(k + 1)
        + theta * np.log(theta / (theta + mu))
        + k * np.log(mu / (theta + mu))
    )


def ex1(nb_log_pmf: Any) -> bool:
    """Expects nb_log_pmf(k, mu, theta) -> log P(K = k), element-wise, for the NB with mean μ, inverse dispersion θ."""
    exercise = "Exercise 1"
    hint = (
        "log Γ(k+θ) - log Γ(θ) - log Γ(k+1) + θ·log(θ/(θ+μ)) + k·log(μ/(θ+μ)); θ is the inverse dispersion "
        "(Var K = μ + μ²/θ, i.e. α = 1/θ), and log Γ(k+1) = log k! is part of the normalising constant"
    )
    if nb_log_pmf is None:
        return not_attempted(exercise)
    if not callable(nb_log_pmf):
        return failed(exercise, f"expected a function, got {type(nb_log_pmf).__name__}", hint)
    arrays = (EX1_COUNTS, EX1_MEANS, EX1_INVERSE_DISPERSIONS)
    try:
        output = _call(nb_log_pmf, arrays)
    except Exception as err:  # noqa: BLE001
        return failed(exercise, f"your function raised {type(err).__name__}: {err}", hint)
    if output is None:
        return not_attempted(exercise)

    def compare(given: np.ndarray, expected: np.ndarray) -> bool | str:
        wrong = ~np.isclose(given, expected, rtol=1e-5, atol=1e-5)
        if not wrong.any():
            return True
        i = int(np.argmax(wrong))
        k, mu, theta = (float(a[i]) for a in arrays)
        return f"at k = {k:g}, μ = {mu}, θ = {theta}: {given[i]:.6f}, expected {expected[i]:.6f}"

    return check_array(
        exercise,
        output,
        lambda: _nb_reference(*arrays),
        what=f"the NB log-probability at {EX1_COUNTS.size} (k, μ, θ), k = 0 included (scipy's gammaln form),",
        hint=hint,
        compare=compare,
    )


def _kl_reference() -> np.ndarray:
    mean, log_var = torch.tensor(EX2_MEANS), torch.tensor(EX2_LOG_VARS)
    q = torch.distributions.Normal(mean, torch.exp(0.5 * log_var))
    return torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(-1).numpy()


def ex2(kl_to_standard_normal: Any) -> bool:
    """Expects kl_to_standard_normal(mean, log_var) -> KL(N(μ, diag σ²) ‖ N(0, I)) of each row, shape (n_rows,)."""
    exercise = "Exercise 2"
    hint = (
        "per coordinate ½(μ² + σ² - 1 - log σ²) with σ² = exp(log_var), so log σ² is log_var itself (not half of "
        "it); keep the factor ½ and sum over the latent coordinates of each row"
    )
    if kl_to_standard_normal is None:
        return not_attempted(exercise)
    if not callable(kl_to_standard_normal):
        return failed(exercise, f"expected a function, got {type(kl_to_standard_normal).__name__}", hint)
    try:
        output = _call(kl_to_standard_normal, (EX2_MEANS, EX2_LOG_VARS))
    except Exception as err:  # noqa: BLE001
        return failed(exercise, f"your function raised {type(err).__name__}: {err}", hint)
    if output is None:
        return not_attempted(exercise)
    if _shape(output) == EX2_MEANS.shape:  # its own message: the commonest shape mistake
        return failed(exercise, "one KL per coordinate: sum over the latent axis to get one KL per row", hint)

    def compare(given: np.ndarray, expected: np.ndarray) -> bool | str:
        if np.allclose(given, expected, rtol=1e-5, atol=1e-6):
            return True
        return f"KL per row is off (largest difference {float(np.max(np.abs(given - expected))):.3g})"

    return check_array(
        exercise,
        output,
        _kl_reference,
        what=f"KL to N(0, I) of {EX2_MEANS.shape[0]} rows (torch.distributions.kl_divergence)",
        hint=hint,
        compare=compare,
    )


def ex3(reparameterise: Any) -> bool:
    """Expects reparameterise(mean, log_var, noise) -> z = μ + σ ε, a tensor differentiable in mean and log_var."""
    exercise = "Exercise 3"
    hint = (
        "σ = exp(½·log_var) is the standard deviation: z = mean + exp(0.5 * log_var) * noise, not the variance "
        "exp(log_var); use torch operations on mean and log_var (no .detach(), no NumPy) so that gradients flow"
    )
    if reparameterise is None:
        return not_attempted(exercise)
    if not callable(reparameterise):
        return failed(exercise, f"expected a function, got {type(reparameterise).__name__}", hint)
    mean = torch.tensor(EX3_MEANS, requires_grad=True)
    log_var = torch.tensor(EX3_LOG_VARS, requires_grad=True)
    noise = torch.tensor(EX3_NOISE)
    try:
        output = reparameterise(mean, log_var, noise)
    except Exception as err:  # noqa: BLE001
        return failed(exercise, f"your function raised {type(err).__name__}: {err}", hint)
    if output is None:
        return not_attempted(exercise)
    std = np.exp(0.5 * EX3_LOG_VARS)

    def compare(given: np.ndarray, expected: np.ndarray) -> bool | str:
        # the values first, then the gradients: both must be right, and each failure has its own message
        if not np.allclose(given, expected, rtol=1e-5, atol=1e-6):
            return f"z is off (largest difference {float(np.max(np.abs(given - expected))):.3g})"
        if not isinstance(output, torch.Tensor) or not output.requires_grad:
            return (
                "z has the right values but no gradient reaches mean and log_var: "
                "return a torch tensor computed from them"
            )
        try:
            mean_grad, log_var_grad = torch.autograd.grad(output.sum(), (mean, log_var), allow_unused=True)
        except Exception as err:  # noqa: BLE001
            return f"could not differentiate z: {type(err).__name__}: {err}"
        if mean_grad is None or log_var_grad is None:
            return "z does not depend on both mean and log_var through autograd"
        if not np.allclose(mean_grad.numpy(), 1.0) or not np.allclose(log_var_grad.numpy(), 0.5 * std * EX3_NOISE):
            return "the values are right but the gradients are not ∂z/∂μ = 1, ∂z/∂log σ² = ½σε"
        return True

    return check_array(
        exercise,
        output,
        EX3_MEANS + std * EX3_NOISE,
        what="z = μ + σε, with ∂z/∂μ = 1 and ∂z/∂log σ² = ½σε from autograd,",
        hint=hint,
        compare=compare,
    )
