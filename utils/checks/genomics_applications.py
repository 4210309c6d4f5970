"""Exercise checks for ``05_genomics_applications.ipynb`` (Module 1.1).

- ``ex1``: IRLS for logistic regression, compared with ``statsmodels`` Logit on simulated and on PBMC data.
- ``ex2``: condition numbers of a design with a nearly duplicated column, and of its normal equations.
- ``ex3``: a function ``final_losses(train, seeds)``, run here with a fast stand-in for the notebook's training
  function whose loss curves the check knows (no network is trained, and nothing of the notebook is copied).
- ``ex4``: condition numbers of the saturated airway design and of two single-cell (PBMC) designs.

Every check computes its own reference; none of them raises on a wrong answer.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from utils.checks.core import check_array, check_function, failed, not_attempted, passed, to_array
from utils.data import load_pbmc, normalize_log1p, verified_path

# --- Exercise 1: logistic regression --------------------------------------------------------------------------

LOGISTIC_CELL_TYPES = ("CD14+ Monocyte", "Dendritic")
LOGISTIC_GENES = ("LYZ", "CST3")


def pbmc_log_expression() -> pd.DataFrame:
    """PBMC cells x genes, normalised as in the notebook: :func:`utils.data.normalize_log1p` with ``n_counts``."""
    pbmc = load_pbmc()
    return normalize_log1p(pbmc.counts, pbmc.samples["n_counts"]).T


@lru_cache(maxsize=1)
def _logistic_cases() -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    rng = np.random.default_rng(7)
    simulated_design = np.column_stack([np.ones(200), rng.normal(size=200), rng.uniform(-1, 1, 200)])
    simulated_labels = (rng.uniform(size=200) < 1 / (1 + np.exp(-simulated_design @ [-0.5, 1.2, -0.8]))).astype(float)
    cells = load_pbmc().samples["bulk_labels"]
    chosen = cells.isin(LOGISTIC_CELL_TYPES).to_numpy()
    expression = pbmc_log_expression().loc[chosen, list(LOGISTIC_GENES)].to_numpy()
    pbmc_design = np.column_stack([np.ones(chosen.sum()), expression])
    pbmc_labels = (cells[chosen] == LOGISTIC_CELL_TYPES[1]).to_numpy(float)
    return (simulated_design, simulated_labels), (pbmc_design, pbmc_labels)


def ex1(irls_logistic: Any) -> bool:
    """Expects a function ``irls_logistic(design, labels)`` returning the logistic coefficients, shape (p,)."""
    import statsmodels.api as sm

    cases = []
    for design, labels in _logistic_cases():
        reference = sm.Logit(labels, design).fit(disp=0, method="newton", tol=1e-12, maxiter=100)
        cases.append(((design.copy(), labels.copy()), reference.params))
    return check_function(
        "Exercise 1",
        irls_logistic,
        cases,
        what="coefficients against statsmodels Logit (simulated data; Dendritic vs CD14+ Monocyte from LYZ, CST3)",
        rtol=1e-5,
        atol=1e-6,
        hint="weights p(1 - p), working response eta + (y - p) / (p (1 - p)); iterate until the deviance settles",
    )


# --- Exercise 2: condition numbers ----------------------------------------------------------------------------

EPSILONS = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5)


def nearly_collinear_design(epsilon: float, n_samples: int = 20) -> np.ndarray:
    """The design [1, t, t + epsilon u] with t = linspace(0, 1, n) and u = cos(0, 1, ..., n - 1)."""
    t = np.linspace(0.0, 1.0, n_samples)
    return np.column_stack([np.ones(n_samples), t, t + epsilon * np.cos(np.arange(n_samples))])


def _collinear_condition_numbers() -> np.ndarray:
    designs = [nearly_collinear_design(epsilon) for epsilon in EPSILONS]
    return np.array([[np.linalg.cond(design), np.linalg.cond(design.T @ design)] for design in designs])


def ex2(answer: Any) -> bool:
    """Expects an array of shape (5, 2): kappa_2(X_eps) and kappa_2(X_eps^T X_eps) for eps = 1e-1 .. 1e-5."""
    return check_array(
        "Exercise 2",
        answer,
        _collinear_condition_numbers,
        what="condition numbers of X and of X^T X",
        rtol=1e-3,
        hint="np.linalg.cond(M) is the 2-norm ratio sigma_max / sigma_min; the second column should be about "
        "the square of the first",
    )


# --- Exercise 3: reproducibility of the autoencoder -----------------------------------------------------------

EX3_SEEDS = (3, 0, 5)  # not sorted and not 0..n-1: a function must use the seeds it is given, in their order
EX3_EPOCHS = 200


def _stub_curve(seed: int) -> np.ndarray:
    """A seed-dependent loss curve that falls, then rises slightly at the end: its last loss differs from its
    first, its smallest and its 150th, so each of those mistakes gives another number."""
    curve = 0.2 + 0.01 * seed + 0.5 / np.arange(1, EX3_EPOCHS + 1)
    curve[-5:] += 0.003 * np.arange(1, 6)
    return curve


def _stub_training(seed: int) -> tuple[str, Any]:
    """A fast stand-in for ``train_autoencoder``: ``(model, losses)``, the losses as a float32 tensor, a list or an
    array depending on the seed, as a learner's training function might return them."""
    import torch

    curve = _stub_curve(seed)
    kind = seed % 3
    losses = torch.tensor(curve, dtype=torch.float32) if kind == 0 else curve.tolist() if kind == 1 else curve
    return f"model {seed}", losses


def ex3(final_losses: Any) -> bool:
    """Expects a function ``final_losses(train, seeds)``: the last loss of ``train(seed)`` for each seed, in order.

    ``train(seed)`` returns ``(model, losses)`` like the notebook's ``train_autoencoder``. The check runs the
    learner's function with a fast stand-in for ``train`` whose loss curves it knows, so no network is trained here.
    """
    exercise = "Exercise 3"
    hint = "for each seed in seeds (in that order) call train(seed) once and keep losses[-1] of the returned curve"
    if final_losses is None:
        return not_attempted(exercise)
    if not callable(final_losses):
        return failed(
            exercise, f"expected a function final_losses(train, seeds), got {type(final_losses).__name__}", hint
        )
    calls: list[int] = []

    def train(seed: int) -> tuple[str, Any]:
        calls.append(int(seed))
        return _stub_training(int(seed))

    try:
        result = final_losses(train, list(EX3_SEEDS))
    except Exception as err:  # noqa: BLE001 - a learner's function may raise anything
        return failed(exercise, f"final_losses(train, {list(EX3_SEEDS)}) raised {type(err).__name__}: {err}", hint)
    if result is None:
        return not_attempted(exercise)
    try:
        given = to_array(result)
    except TypeError as err:
        return failed(exercise, f"could not read the result as numbers: {err}", hint)
    expected = np.array([_stub_curve(seed)[-1] for seed in EX3_SEEDS])
    if given.shape != expected.shape:
        return failed(exercise, f"for seeds {list(EX3_SEEDS)} expected shape {expected.shape}, got {given.shape}", hint)
    if sorted(calls) != sorted(EX3_SEEDS):
        return failed(exercise, f"train was called for seeds {calls}; expected each of {list(EX3_SEEDS)} once", hint)
    if not np.allclose(given, expected, rtol=1e-6, atol=0):
        return failed(
            exercise,
            f"for seeds {list(EX3_SEEDS)} (test curves whose last loss is not their smallest) the result is "
            f"{np.round(given, 4).tolist()}, the last losses are {np.round(expected, 4).tolist()}",
            hint,
        )
    return passed(
        exercise,
        f"the last loss of each run, in the order of the seeds given, one run for each of the {len(calls)} seeds",
    )


# --- Exercise 4: condition numbers of real designs ------------------------------------------------------------


def treatment_columns(factor: pd.Series) -> np.ndarray:
    """0/1 indicator columns for every level of a categorical but the first (the reference level)."""
    return np.column_stack([(factor == level).to_numpy(float) for level in factor.cat.categories[1:]])


def _real_design_condition_numbers() -> np.ndarray:
    airway = pd.read_csv(verified_path("airway_samples.tsv"), sep="\t", index_col=0)
    cell = treatment_columns(pd.Series(pd.Categorical(airway["cell"], categories=sorted(airway["cell"].unique()))))
    dex = treatment_columns(pd.Series(pd.Categorical(airway["dex"], categories=["untrt", "trt"])))
    saturated = np.column_stack([np.ones(len(airway)), cell, dex, cell * dex])
    cells = load_pbmc().samples
    log_library = np.log10(cells["n_counts"].to_numpy(float))
    cell_types = treatment_columns(cells["bulk_labels"])
    raw = np.column_stack([np.ones(len(cells)), cell_types, log_library])
    standardised = np.column_stack(
        [np.ones(len(cells)), cell_types, (log_library - log_library.mean()) / log_library.std()]
    )
    return np.array([np.linalg.cond(design) for design in (saturated, raw, standardised)])


def ex4(answer: Any) -> bool:
    """Expects [kappa(airway ~ cell * dex), kappa(pbmc ~ bulk_labels + log10 n_counts), same standardised]."""
    return check_array(
        "Exercise 4",
        answer,
        _real_design_condition_numbers,
        what="condition numbers of the saturated airway design and of the two PBMC designs",
        rtol=1e-6,
        hint="intercept + one 0/1 column per non-reference level (reference = first category), interactions as "
        "products of indicator columns, the library size as log10(n_counts); then np.linalg.cond",
    )
