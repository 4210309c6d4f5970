"""Exercise checks for ``05_genomics_applications.ipynb`` (Module 1.1).

- ``ex1``: IRLS for logistic regression, compared with ``statsmodels`` Logit on simulated and on PBMC data.
- ``ex2``: condition numbers of a design with a nearly duplicated column, and of its normal equations.
- ``ex3``: final losses of the notebook's autoencoder for seeds 0..9, re-trained here for two of the seeds.
- ``ex4``: condition numbers of the saturated airway design and of two single-cell (PBMC) designs.

Every check computes its own reference; none of them raises on a wrong answer.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from utils.checks.core import check_array, check_function, failed, not_attempted, passed, to_array
from utils.data import load_pbmc, verified_path

# --- Exercise 1: logistic regression --------------------------------------------------------------------------

LOGISTIC_CELL_TYPES = ("CD14+ Monocyte", "Dendritic")
LOGISTIC_GENES = ("LYZ", "CST3")


def pbmc_log_expression() -> pd.DataFrame:
    """log1p of PBMC counts scaled to the median library size: cells x genes (the notebook's normalisation)."""
    counts = load_pbmc().counts.T.astype(float)
    library_sizes = counts.sum(axis=1)
    return np.log1p(counts.div(library_sizes, axis=0) * library_sizes.median())


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


def ex2(answer: Any) -> bool:
    """Expects an array of shape (5, 2): kappa_2(X_eps) and kappa_2(X_eps^T X_eps) for eps = 1e-1 .. 1e-5."""
    if answer is None:
        return not_attempted("Exercise 2")
    expected = []
    for epsilon in EPSILONS:
        design = nearly_collinear_design(epsilon)
        expected.append([np.linalg.cond(design), np.linalg.cond(design.T @ design)])
    return check_array(
        "Exercise 2",
        answer,
        np.array(expected),
        what="condition numbers of X and of X^T X",
        rtol=1e-3,
        hint="np.linalg.cond(M) is the 2-norm ratio sigma_max / sigma_min; the second column should be about "
        "the square of the first",
    )


# --- Exercise 3: reproducibility of the autoencoder -----------------------------------------------------------

AUTOENCODER_GENES = 100
AUTOENCODER_HIDDEN = 16
AUTOENCODER_LATENT = 2
AUTOENCODER_EPOCHS = 150
AUTOENCODER_LEARNING_RATE = 1e-2
REPRODUCIBILITY_SEEDS = tuple(range(10))
RETRAINED_SEEDS = (3, 8)


@lru_cache(maxsize=1)
def _autoencoder_input():
    """The notebook's input: log1p-normalised PBMC expression of the 100 most variable genes, float32 tensor."""
    import torch

    expression = pbmc_log_expression()
    most_variable = expression.var(axis=0).sort_values(ascending=False).index[:AUTOENCODER_GENES]
    return torch.tensor(expression[most_variable].to_numpy(), dtype=torch.float32)


def _final_loss(seed: int) -> float:
    """Train the notebook's autoencoder (same layers, same order, fused Adam, full batch) and return its last loss."""
    import torch
    from torch import nn

    data = _autoencoder_input()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the notebook: a small network trains faster, and identically, on one thread
    try:
        torch.manual_seed(seed)
        encoder = nn.Sequential(
            nn.Linear(AUTOENCODER_GENES, AUTOENCODER_HIDDEN),
            nn.ReLU(),
            nn.Linear(AUTOENCODER_HIDDEN, AUTOENCODER_LATENT),
        )
        decoder = nn.Sequential(
            nn.Linear(AUTOENCODER_LATENT, AUTOENCODER_HIDDEN),
            nn.ReLU(),
            nn.Linear(AUTOENCODER_HIDDEN, AUTOENCODER_GENES),
        )
        parameters = list(encoder.parameters()) + list(decoder.parameters())
        optimizer = torch.optim.Adam(parameters, lr=AUTOENCODER_LEARNING_RATE, fused=True)
        for _ in range(AUTOENCODER_EPOCHS):
            optimizer.zero_grad()
            loss = torch.mean((decoder(encoder(data)) - data) ** 2)
            loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    return loss.item()


def ex3(answer: Any) -> bool:
    """Expects the 10 final training losses of ``train_autoencoder`` for seeds 0..9, in seed order, shape (10,)."""
    exercise = "Exercise 3"
    if answer is None:
        return not_attempted(exercise)
    hint = "call train_autoencoder(seed) once for each seed 0, 1, ..., 9 and keep the last loss of each run"
    try:
        losses = to_array(answer)
    except TypeError as err:
        return failed(exercise, f"could not read the answer as numbers: {err}", hint)
    if losses.shape != (len(REPRODUCIBILITY_SEEDS),):
        return failed(exercise, f"expected shape ({len(REPRODUCIBILITY_SEEDS)},), got {losses.shape}", hint)
    if not np.all(np.isfinite(losses)) or np.any(losses <= 0):
        return failed(exercise, "losses must be finite and positive (mean squared errors)", hint)
    if np.ptp(losses) == 0:
        return failed(exercise, "all ten losses are identical: every run used the same seed", hint)
    for seed in RETRAINED_SEEDS:
        expected = _final_loss(seed)
        if not np.isclose(losses[seed], expected, rtol=1e-3):
            return failed(
                exercise, f"the loss for seed {seed} is {losses[seed]:.4f}, re-training gives {expected:.4f}", hint
            )
    return passed(
        exercise,
        f"10 final losses, spread {np.ptp(losses):.3f}; seeds {RETRAINED_SEEDS} re-trained here give the same losses",
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
    if answer is None:
        return not_attempted("Exercise 4")
    return check_array(
        "Exercise 4",
        answer,
        _real_design_condition_numbers(),
        what="condition numbers of the saturated airway design and of the two PBMC designs",
        rtol=1e-6,
        hint="intercept + one 0/1 column per non-reference level (reference = first category), interactions as "
        "products of indicator columns, the library size as log10(n_counts); then np.linalg.cond",
    )
