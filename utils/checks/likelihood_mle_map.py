"""Exercise checks for ``01_likelihood_mle_map.ipynb`` (Module 3.2, Estimation and generative models).

Expected values are computed here, independently of the learner's route: the NB log-pmf by ``scipy.stats.nbinom``
(``n = 1/α``, ``p = 1/(1 + αμ)``); the Fisher information of the NB mean as the expected negative second derivative
of the log-pmf in μ, summed over the support with ``scipy.stats.nbinom``'s probabilities; the penalties of
scikit-learn's ``Ridge`` and ``Lasso`` that a Gaussian or Laplace prior implies, from the negative log-posterior
rescaled to each estimator's objective. A wrong answer that matches a known mistake is named in the ✗ line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from utils.checks.core import check_array, failed, not_attempted, to_array

# Exercise 1: (k, μ, α): k = 0, a count in the thousands, a dispersion above 1, generic values otherwise
EX1_CASES = ((0, 3.7, 0.23), (13, 6.1, 0.57), (4, 0.37, 1.9), (2718, 2437.5, 0.031), (85, 310.0, 0.0063))
# Exercise 2: (μ, α, n)
EX2_CASES = ((3.7, 0.23, 11), (250.0, 0.017, 7), (0.61, 2.9, 40), (41.0, 0.083, 3))
# Exercise 3: (noise_sd σ, prior_sd τ, laplace_scale b, n_samples)
EX3_CASES = ((0.53, 0.05, 0.01, 700), (1.7, 0.37, 0.23, 53), (0.081, 1.3, 2.9, 11), (2.3, 0.61, 0.047, 240))


def _call(function: Callable, args: tuple) -> tuple[Any, str | None]:
    try:
        return function(*args), None
    except Exception as err:  # noqa: BLE001 - a learner's function may raise anything
        return None, f"your function raised {type(err).__name__}: {err}"


def _one_number(output: Any) -> float | None:
    try:
        value = to_array(output)
    except TypeError:
        return None
    if value.size != 1 or not np.all(np.isfinite(value)):
        return None
    return float(value.reshape(()))


def _diagnose(value: float, mistakes: dict[str, float], rtol: float) -> str | None:
    for name, wrong in mistakes.items():
        if np.isfinite(wrong) and np.isclose(value, wrong, rtol=rtol, atol=0):
            return name
    return None


# ------------------------------------------------------------------------------------------ Exercise 1
def _nb_log_pmf_reference(k: float, mu: float, alpha: float) -> float:
    return float(stats.nbinom.logpmf(k, 1.0 / alpha, 1.0 / (1.0 + alpha * mu)))


def _ex1_mistakes(k: float, mu: float, alpha: float) -> dict[str, float]:
    theta = 1.0 / alpha
    return {
        "α was used where θ = 1/α belongs (the scVI form with θ = α)": float(
            stats.nbinom.logpmf(k, alpha, alpha / (alpha + mu))
        ),
        "the -log k! term is missing": _nb_log_pmf_reference(k, mu, alpha) + float(np.sum(np.log(np.arange(1, k + 1)))),
        "this is the Poisson log-pmf: the dispersion is ignored": float(stats.poisson.logpmf(k, mu)),
        "the last factor should be (αμ/(1+αμ))^k, not (μ/(1+αμ))^k": _nb_log_pmf_reference(k, mu, alpha)
        - k * np.log(alpha),
        "the first factor should be (1/(1+αμ))^(1/α) = (θ/(θ+μ))^θ": _nb_log_pmf_reference(k, mu, alpha)
        + theta * np.log1p(alpha * mu)
        - np.log1p(alpha * mu),
    }


def ex1(nb_log_pmf: Any) -> bool:
    """Expects nb_log_pmf(k, mu, alpha) -> log p(k | μ, α), Var = μ + αμ², a float."""
    exercise = "Exercise 1"
    hint = (
        "with θ = 1/α: log Γ(k+θ) - log Γ(θ) - log k! + θ·log(θ/(θ+μ)) + k·log(μ/(θ+μ)); use gammaln for every "
        "Γ and for k! = Γ(k+1) (large k), and do not swap α and θ"
    )
    if nb_log_pmf is None:
        return not_attempted(exercise)
    if not callable(nb_log_pmf):
        return failed(exercise, f"expected a function, got {type(nb_log_pmf).__name__}", hint)
    values = []
    for number, (k, mu, alpha) in enumerate(EX1_CASES, start=1):  # the learner's function, one case at a time
        output, error = _call(nb_log_pmf, (k, mu, alpha))
        if error:
            return failed(exercise, f"{error} (k = {k}, μ = {mu}, α = {alpha})", hint)
        if output is None and number == 1:
            return not_attempted(exercise)
        value = _one_number(output)
        if value is None:
            return failed(exercise, f"return one finite number; got {output!r} (k = {k}, μ = {mu}, α = {alpha})", hint)
        values.append(value)

    def compare(given: np.ndarray, expected: np.ndarray) -> bool | str:
        for (k, mu, alpha), value, target in zip(EX1_CASES, given, expected, strict=True):
            if not np.isclose(value, target, rtol=1e-8, atol=1e-8):
                mistake = _diagnose(value, _ex1_mistakes(k, mu, alpha), rtol=1e-6)
                problem = f"log p({k} | μ = {mu}, α = {alpha}) = {value:.6g}, scipy.stats.nbinom gives {target:.6g}"
                return f"{problem}: {mistake}" if mistake else problem
        return True

    return check_array(
        exercise,
        values,
        lambda: [_nb_log_pmf_reference(*case) for case in EX1_CASES],
        what=f"the NB log-pmf at {len(EX1_CASES)} (k, μ, α), k = 0 to 2718, against scipy.stats.nbinom,",
        hint=hint,
        compare=compare,
    )


# ------------------------------------------------------------------------------------------ Exercise 2
def _nb_information_reference(mu: float, alpha: float, n: int) -> float:
    # -E[∂²/∂μ² log p(K)] with ∂²/∂μ² log p(k) = -k/μ² + (k + θ)/(θ + μ)², summed over scipy's pmf
    theta = 1.0 / alpha
    p = theta / (theta + mu)
    support = np.arange(0, stats.nbinom.ppf(1 - 1e-16, theta, p) + 1)
    second = -support / mu**2 + (support + theta) / (theta + mu) ** 2
    return float(-n * np.sum(stats.nbinom.pmf(support, theta, p) * second))


def _ex2_mistakes(mu: float, alpha: float, n: int) -> dict[str, float]:
    return {
        "that is the Poisson information n/μ: the NB variance is μ(1 + αμ)": n / mu,
        "that is the information of a single count: multiply by n": 1 / (mu * (1 + alpha * mu)),
        "that is the variance of μ̂ (the Cramér-Rao bound), the inverse of the information": mu * (1 + alpha * mu) / n,
        "α and θ = 1/α are swapped": n / (mu * (1 + mu / alpha)),
        "Var K = μ + αμ², not μ + αμ": n / (mu + alpha * mu),
    }


def ex2(nb_mean_information: Any) -> bool:
    """Expects nb_mean_information(mu, alpha, n) -> Fisher information about μ in n NB(μ, α) counts, a float."""
    exercise = "Exercise 2"
    hint = (
        "the score of one count is (k - μ)/(μ(1 + αμ)); its variance is Var K/(μ(1+αμ))² with Var K = μ + αμ², "
        "and information adds over the n counts (not the Poisson n/μ)"
    )
    if nb_mean_information is None:
        return not_attempted(exercise)
    if not callable(nb_mean_information):
        return failed(exercise, f"expected a function, got {type(nb_mean_information).__name__}", hint)
    values = []
    for number, (mu, alpha, n) in enumerate(EX2_CASES, start=1):  # the learner's function, one case at a time
        output, error = _call(nb_mean_information, (mu, alpha, n))
        if error:
            return failed(exercise, f"{error} (μ = {mu}, α = {alpha}, n = {n})", hint)
        if output is None and number == 1:
            return not_attempted(exercise)
        value = _one_number(output)
        if value is None:
            return failed(exercise, f"return one finite number; got {output!r} (μ = {mu}, α = {alpha}, n = {n})", hint)
        values.append(value)

    def compare(given: np.ndarray, expected: np.ndarray) -> bool | str:
        for (mu, alpha, n), value, target in zip(EX2_CASES, given, expected, strict=True):
            if not np.isclose(value, target, rtol=1e-6, atol=0):
                mistake = _diagnose(value, _ex2_mistakes(mu, alpha, n), rtol=1e-6)
                problem = (
                    f"I(μ) at μ = {mu}, α = {alpha}, n = {n}: {value:.6g}, the expected information is {target:.6g}"
                )
                return f"{problem}: {mistake}" if mistake else problem
        return True

    return check_array(
        exercise,
        values,
        lambda: [_nb_information_reference(*case) for case in EX2_CASES],
        what=f"the NB mean's information at {len(EX2_CASES)} (μ, α, n), against -E[∂²ℓ/∂μ²] over scipy's pmf,",
        hint=hint,
        compare=compare,
    )


# ------------------------------------------------------------------------------------------ Exercise 3
def _penalties_reference(noise_sd: float, prior_sd: float, laplace_scale: float, n_samples: int) -> np.ndarray:
    # -log posterior = ‖y - Xβ‖²/(2σ²) + ‖β‖²/(2τ²): times 2σ² gives Ridge's ‖y - Xβ‖² + (σ²/τ²)‖β‖²;
    # -log posterior = ‖y - Xβ‖²/(2σ²) + ‖β‖₁/b: times σ²/n gives Lasso's ‖y - Xβ‖²/(2n) + σ²/(nb)‖β‖₁
    return np.array([noise_sd**2 / prior_sd**2, noise_sd**2 / (n_samples * laplace_scale)])


def _ex3_mistakes(noise_sd: float, prior_sd: float, laplace_scale: float, n_samples: int) -> dict[str, np.ndarray]:
    ridge, lasso = _penalties_reference(noise_sd, prior_sd, laplace_scale, n_samples)
    return {
        "ridge: λ = σ²/τ², the ratio of variances, not σ/τ": np.array([noise_sd / prior_sd, lasso]),
        "Lasso's objective divides the squared error by 2n: its alpha has a factor 1/n": np.array(
            [ridge, noise_sd**2 / laplace_scale]
        ),
        "ridge: λ = σ²/τ² (noise over prior), not τ²/σ²": np.array([prior_sd**2 / noise_sd**2, lasso]),
        "Lasso: alpha = σ²/(n b), with the noise variance σ², not σ": np.array(
            [ridge, noise_sd / (n_samples * laplace_scale)]
        ),
        "ridge: Ridge's objective has no factor 1/2 on either term, λ = σ²/τ² exactly": np.array([2 * ridge, lasso]),
        "ridge: Ridge's objective has no factor 1/n, λ = σ²/τ²": np.array([ridge / n_samples, lasso]),
        "the two penalties are in the wrong order: return (ridge_alpha, lasso_alpha)": np.array([lasso, ridge]),
    }


def ex3(map_penalties: Any) -> bool:
    """Expects map_penalties(noise_sd, prior_sd, laplace_scale, n_samples) -> (Ridge alpha, Lasso alpha)."""
    exercise = "Exercise 3"
    hint = (
        "write -log posterior = ‖y - Xβ‖²/(2σ²) + penalty and rescale it to each objective: Ridge minimises "
        "‖y - Xβ‖² + alpha‖β‖² (so alpha = σ²/τ², variances not standard deviations), Lasso minimises "
        "‖y - Xβ‖²/(2n) + alpha‖β‖₁ (so alpha = σ²/(n b): do not forget the n)"
    )
    if map_penalties is None:
        return not_attempted(exercise)
    if not callable(map_penalties):
        return failed(exercise, f"expected a function, got {type(map_penalties).__name__}", hint)
    pairs = []
    for number, case in enumerate(EX3_CASES, start=1):  # the learner's function, one case at a time
        output, error = _call(map_penalties, case)
        if error:
            return failed(exercise, f"{error} (case {number})", hint)
        if output is None and number == 1:
            return not_attempted(exercise)
        try:
            given = to_array(output)
        except TypeError as err:
            return failed(exercise, f"could not read the output of case {number} as two numbers: {err}", hint)
        if given.shape != (2,):  # its own message: stacking needs every case to be a pair
            return failed(exercise, f"return the pair (ridge_alpha, lasso_alpha); got {output!r}", hint)
        pairs.append(given)

    def compare(given: np.ndarray, expected: np.ndarray) -> bool | str:
        for case, pair, target in zip(EX3_CASES, given, expected, strict=True):
            if not np.allclose(pair, target, rtol=1e-6, atol=0):  # float32 is precise enough here
                noise_sd, prior_sd, laplace_scale, n_samples = case
                mistake = next(
                    (
                        name
                        for name, wrong in _ex3_mistakes(*case).items()
                        if np.allclose(pair, wrong, rtol=1e-6, atol=0)
                    ),
                    None,
                )
                problem = (
                    f"σ = {noise_sd}, τ = {prior_sd}, b = {laplace_scale}, n = {n_samples}: got "
                    f"({pair[0]:.6g}, {pair[1]:.6g}), expected ({target[0]:.6g}, {target[1]:.6g})"
                )
                return f"{problem}: {mistake}" if mistake else problem
        return True

    return check_array(
        exercise,
        np.stack(pairs),
        lambda: np.stack([_penalties_reference(*case) for case in EX3_CASES]),
        what=f"the (Ridge, Lasso) penalty pair of the Gaussian and Laplace priors at {len(EX3_CASES)} settings",
        hint=hint,
        compare=compare,
    )
