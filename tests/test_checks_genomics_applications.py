"""The exercise checks of 05_genomics_applications accept right answers computed here and reject wrong ones."""

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import rejects as _rejects

from utils.checks import genomics_applications as checks
from utils.data import load_airway, load_pbmc

# --- Exercise 1 -----------------------------------------------------------------------------------------------


def newton_logistic(design, labels):
    """Logistic regression by Newton's method on the log-likelihood, written independently of the notebook."""
    beta = np.zeros(design.shape[1])
    for _ in range(50):
        probability = 1 / (1 + np.exp(-design @ beta))
        gradient = design.T @ (labels - probability)
        hessian = design.T @ (design * (probability * (1 - probability))[:, None])
        step = np.linalg.solve(hessian, gradient)
        beta = beta + step
        if np.abs(step).max() < 1e-13:
            break
    return beta


def test_ex1_accepts_newton_and_rejects_wrong_fits(capsys):
    assert checks.ex1(newton_logistic) is True
    assert "✓" in capsys.readouterr().out

    def least_squares(design, labels):  # a linear probability model: no weights, no link
        return np.linalg.lstsq(design, labels, rcond=None)[0]

    def sign_error(design, labels):
        return -newton_logistic(design, labels)

    def stub(design, labels):
        return None

    assert checks.ex1(least_squares) is False
    assert "✗" in capsys.readouterr().out
    assert checks.ex1(sign_error) is False
    assert "✗" in capsys.readouterr().out
    assert checks.ex1(stub) is False
    assert "not attempted" in capsys.readouterr().out
    assert checks.ex1(None) is False
    assert "not attempted" in capsys.readouterr().out


def irls_with_fixed_iterations(design, labels, n_iterations):
    """IRLS for logistic regression run for a fixed number of iterations, whatever the deviance does."""
    beta = np.zeros(design.shape[1])
    for _ in range(n_iterations):
        eta = design @ beta
        probability = 1 / (1 + np.exp(-eta))
        weights = probability * (1 - probability)
        weighted = design * weights[:, None]
        beta = np.linalg.solve(design.T @ weighted, weighted.T @ (eta + (labels - probability) / weights))
    return beta


def test_ex1_accepts_converged_irls_and_rejects_irls_stopped_early(capsys):
    # the hint's own mistake: not iterating until the deviance settles (3 iterations leave 1e-3 on the simulation)
    assert checks.ex1(lambda design, labels: irls_with_fixed_iterations(design, labels, 30)) is True
    assert "✓" in capsys.readouterr().out
    _rejects(checks.ex1, lambda design, labels: irls_with_fixed_iterations(design, labels, 3), capsys)


# --- Exercise 2 -----------------------------------------------------------------------------------------------


def condition_numbers():
    t = np.linspace(0, 1, 20)
    rows = []
    for epsilon in (1e-1, 1e-2, 1e-3, 1e-4, 1e-5):
        design = np.column_stack([np.ones(20), t, t + epsilon * np.cos(np.arange(20))])
        singular_values = np.linalg.svd(design, compute_uv=False)
        kappa = singular_values[0] / singular_values[-1]
        rows.append([kappa, kappa**2])  # kappa(X^T X) = kappa(X)^2 exactly in exact arithmetic
    return np.array(rows)


def test_ex2_accepts_the_condition_numbers_and_rejects_wrong_ones(capsys):
    right = condition_numbers()
    assert checks.ex2(right) is True
    assert "✓" in capsys.readouterr().out
    assert checks.ex2(np.column_stack([right[:, 0], right[:, 0]])) is False  # kappa(X) twice, not squared
    assert "✗" in capsys.readouterr().out
    assert checks.ex2(right.T) is False  # wrong shape
    assert "✗" in capsys.readouterr().out
    assert checks.ex2(None) is False
    assert "not attempted" in capsys.readouterr().out


# --- Exercise 3 -----------------------------------------------------------------------------------------------


def last_losses(train, seeds):
    """The right answer, written independently: one run per seed, in order, its last loss."""
    results = []
    for seed in seeds:
        _, losses = train(seed)
        results.append(float(np.asarray(torch.as_tensor(losses, dtype=torch.float64))[-1]))
    return np.array(results)


def test_ex3_accepts_the_last_loss_per_seed_in_several_forms(capsys):
    assert checks.ex3(last_losses) is True
    assert checks.ex3(lambda train, seeds: [train(seed)[1][-1] for seed in seeds]) is True  # a list of mixed types
    assert checks.ex3(lambda train, seeds: torch.tensor(last_losses(train, seeds), dtype=torch.float32)) is True
    assert capsys.readouterr().out.count("✓") == 3


def test_ex3_never_raises_when_the_default_dtype_is_float64(capsys):
    # notebooks 01-02 set float64 as torch's default; the check must still run and judge, never raise
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        assert checks.ex3(last_losses) is True
        assert checks.ex3(lambda train, seeds: torch.stack([torch.as_tensor(train(s)[1])[-1] for s in seeds])) is True

        def mixes_dtypes(train, seeds):  # float32 tensors meeting float64 ones: a RuntimeError in the learner's code
            return [torch.as_tensor(train(s)[1], dtype=torch.float32) @ torch.ones(200) for s in seeds]

        assert checks.ex3(mixes_dtypes) is False
        assert "raised RuntimeError" in capsys.readouterr().out
    finally:
        torch.set_default_dtype(previous)


@pytest.mark.parametrize(
    ("wrong", "shown"),
    [
        (lambda train, seeds: [min(np.asarray(train(s)[1], float)) for s in seeds], "last losses are"),  # smallest
        (lambda train, seeds: [float(train(s)[1][0]) for s in seeds], "last losses are"),  # first loss
        (lambda train, seeds: [float(train(s)[1][149]) for s in seeds], "last losses are"),  # loss at epoch 150
        (lambda train, seeds: last_losses(train, sorted(seeds)), "last losses are"),  # seeds reordered
        (lambda train, seeds: last_losses(train, range(len(seeds))), "train was called for seeds"),  # 0..n-1
        (lambda train, seeds: last_losses(train, [seeds[0]] * len(seeds)), "train was called for seeds"),  # one seed
        (lambda train, seeds: last_losses(train, list(seeds) * 2)[: len(seeds)], "train was called for seeds"),
        (lambda train, seeds: np.asarray(train(seeds[0])[1], float), "shape"),  # a whole curve
    ],
)
def test_ex3_rejects_the_likely_mistakes(wrong, shown, capsys):
    assert checks.ex3(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and shown in out


def test_ex3_stub_none_and_non_functions(capsys):
    assert checks.ex3(None) is False
    assert checks.ex3(lambda train, seeds: None) is False
    assert capsys.readouterr().out.count("not attempted") == 2
    assert checks.ex3(np.array([0.22, 0.23, 0.24])) is False  # losses instead of a function
    assert "expected a function" in capsys.readouterr().out
    assert checks.ex3(lambda train: train(0)) is False  # wrong signature: raises TypeError, reported
    assert "raised TypeError" in capsys.readouterr().out
    assert checks.ex3(lambda train, seeds: ["a", "b", "c"]) is False
    assert "✗" in capsys.readouterr().out


# --- Exercise 4 -----------------------------------------------------------------------------------------------


def _indicators(frame, reference="first"):
    """0/1 columns for every level of each factor but the reference level (its first or its last category)."""
    if reference == "first":
        return pd.get_dummies(frame, drop_first=True, dtype=float)
    return pd.concat([pd.get_dummies(frame[name], prefix=name, dtype=float).iloc[:, :-1] for name in frame], axis=1)


def real_condition_numbers(standardise_with_ddof=0, log=np.log10, reference="first"):
    airway = load_airway().samples
    saturated = _indicators(airway[["cell", "dex"]], reference)
    dex = next(c for c in saturated.columns if c.startswith("dex_"))
    for column in [c for c in saturated.columns if c.startswith("cell_")]:
        saturated[f"{column}:dex"] = saturated[column] * saturated[dex]
    saturated.insert(0, "intercept", 1.0)
    cells = load_pbmc().samples
    types = _indicators(cells[["bulk_labels"]], reference)
    log_library = log(cells["n_counts"])
    raw = np.column_stack([np.ones(len(cells)), types, log_library])
    standardised = np.column_stack(
        [np.ones(len(cells)), types, (log_library - log_library.mean()) / log_library.std(ddof=standardise_with_ddof)]
    )

    def kappa(matrix):
        singular_values = np.linalg.svd(np.asarray(matrix, float), compute_uv=False)
        return singular_values[0] / singular_values[-1]

    return np.array([kappa(saturated), kappa(raw), kappa(standardised)])


def test_ex4_accepts_the_real_condition_numbers_and_rejects_wrong_ones(capsys):
    right = real_condition_numbers()
    assert checks.ex4(right) is True
    assert "✓" in capsys.readouterr().out
    assert checks.ex4(right[::-1]) is False
    assert "✗" in capsys.readouterr().out
    # the airway design without its interaction columns (the ~ cell + dex design of section 4)
    additive = load_airway().samples
    additive = pd.get_dummies(additive[["cell", "dex"]], drop_first=True, dtype=float).assign(intercept=1.0)
    wrong = right.copy()
    wrong[0] = np.linalg.cond(additive.to_numpy())
    assert checks.ex4(wrong) is False
    assert "✗" in capsys.readouterr().out
    assert checks.ex4(None) is False
    assert "not attempted" in capsys.readouterr().out


@pytest.mark.parametrize(
    "mistake",
    [
        {"log": np.log},  # the hint's mistake: the natural log of n_counts instead of log10
        {"reference": "last"},  # the hint's mistake: the last level dropped as the reference instead of the first
        {"standardise_with_ddof": 1},  # the sample standard deviation where the prompt says ddof=0
    ],
    ids=["natural log", "last level as reference", "ddof=1"],
)
def test_ex4_rejects_the_hints_mistakes(mistake, capsys):
    _rejects(checks.ex4, real_condition_numbers(**mistake), capsys)
