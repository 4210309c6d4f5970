"""Exercise checks for ``03_classification_information_theory.ipynb`` (Module 3.2, Estimation and generative models).

Expected values are computed here, independently of the learner's route: log-sum-exp with
``scipy.special.logsumexp``, the cross-entropy gradient by ``torch.autograd`` on the loss itself (not from the
formula X^T(P - Y)/n), the KL divergence of diagonal Gaussians with ``torch.distributions.kl_divergence``, and the
mutual information of a contingency table with ``sklearn.metrics.mutual_info_score`` (natural logarithm).
Every case uses generic numbers (no 0, ±1 or 2, no two entries equal) and the awkward ones the hints name.
"""

from __future__ import annotations

import io
import warnings
from contextlib import redirect_stdout
from typing import Any

import numpy as np

from utils.checks.core import check_array, check_function, failed, not_attempted, passed, to_array

# Exercise 1: rows of logits, from ordinary to ones whose exponentials overflow (e^710 > 1.8e308) or underflow
# (e^-746 = 0) in float64. Case 2 mixes a huge positive and a huge negative row in one array (a single global
# shift cannot serve both); case 4 spans 1,500 within one row (shifting by the minimum overflows); case 3 is square
# (a sum over the wrong axis keeps the shape).
EX1_CASES = (
    np.array([[0.37, -1.42, 2.61, 0.88], [-0.53, 1.19, -2.27, 0.64]]),
    np.array([[1000.3, 999.1, 1001.7, 998.6], [-1000.3, -1002.2, -999.4, -1003.1]]),
    np.array([[712.4, 709.9, 715.2], [-760.2, -758.7, -761.9], [3.3, -4.1, 0.6]]),
    np.array([[-850.6, 730.4, 3.7, -12.9, 729.8]]),
)

# Exercise 3: two diagonal Gaussians in three dimensions, given by means and STANDARD DEVIATIONS
EX3_P_MEAN = np.array([0.7, -1.3, 2.4])
EX3_P_SD = np.array([0.45, 1.6, 0.8])
EX3_Q_MEAN = np.array([-0.2, 0.9, 1.1])
EX3_Q_SD = np.array([1.3, 0.55, 2.1])

# Exercise 4: contingency tables (rows: expression bins, columns: cell types); square, rectangular, with zeros
EX4_TABLES = (
    np.array([[31, 7, 12, 5], [9, 42, 6, 14], [4, 11, 27, 8], [13, 3, 10, 36]]),
    np.array([[18, 4, 9, 27, 6], [7, 23, 15, 3, 11], [12, 8, 5, 14, 29]]),
    np.array([[25, 0, 6, 0], [3, 17, 0, 9], [0, 5, 21, 4]]),
)


def _quietly(function):
    # the naive forms a learner may try print overflow warnings: the check reports the result, not the warnings
    def wrapped(*args):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return function(*args)

    return wrapped


def _run_silently(exercise: str, function: Any, cases, *, what: str, rtol: float, atol: float, hint: str, compare=None):
    """check_function with the learner's warnings silenced; returns (verdict, printed text)."""
    wrapped = _quietly(function) if callable(function) else function
    with redirect_stdout(io.StringIO()) as printed:
        verdict = check_function(exercise, wrapped, cases, what=what, rtol=rtol, atol=atol, hint=hint, compare=compare)
    return verdict, printed.getvalue()


def ex1(logsumexp_rows: Any) -> bool:
    """Expects logsumexp_rows(logits) -> log Σ_k exp(logits[i, k]) for every row i, shape (n,) (or (n, 1))."""
    from scipy.special import logsumexp

    exercise = "Exercise 1"
    hint = (
        "shift each row by its own MAXIMUM m_i (not the minimum, not one shift for the whole array): "
        "log Σ_k e^{z_ik} = m_i + log Σ_k e^{z_ik - m_i}, sum along each row (axis=1), and add m_i back"
    )
    if logsumexp_rows is None:
        return not_attempted(exercise)
    if not callable(logsumexp_rows):
        return failed(exercise, f"expected a function, got {type(logsumexp_rows).__name__}", hint)

    def compare(output, expected) -> bool:
        try:
            given = to_array(output)
        except TypeError:
            return False
        if given.size != expected.size or given.ndim > 2 or (given.ndim == 2 and given.shape[1] != 1):
            return False
        given = given.reshape(-1)
        return bool(np.all(np.isfinite(given)) and np.allclose(given, expected, rtol=1e-12, atol=1e-9))

    cases = [((logits.copy(),), logsumexp(logits, axis=1)) for logits in EX1_CASES]
    verdict, printed = _run_silently(
        exercise, logsumexp_rows, cases, what="row-wise log-sum-exp", rtol=0, atol=0, hint=hint, compare=compare
    )
    if not verdict:
        print(printed, end="")
        if "wrong output on case" in printed:
            last = printed.split("wrong output on case")[1].split()[0]
            print(f"  (case {last} is {EX1_CASES[int(last) - 1].tolist()}; compared with scipy.special.logsumexp)")
        return False
    return passed(
        exercise,
        f"row-wise log-sum-exp matches scipy.special.logsumexp on {len(cases)} arrays, including logits of ±1000 "
        "and a row spanning 1,500 (atol=1e-9, shape (n,) or (n, 1))",
    )


def _ex2_cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(3172)
    cases = []
    for n_cells, n_features, n_classes in ((7, 3, 4), (9, 4, 4), (6, 5, 3)):
        design = np.round(rng.normal(0.3, 1.1, size=(n_cells, n_features)), 2)
        labels = np.arange(n_cells) % n_classes
        rng.shuffle(labels)
        onehot = np.eye(n_classes)[labels]
        weights = np.round(rng.normal(-0.1, 0.9, size=(n_features, n_classes)), 2)
        cases.append((design, onehot, weights))
    return cases


def _ex2_reference(design: np.ndarray, onehot: np.ndarray, weights: np.ndarray) -> np.ndarray:
    import torch

    parameters = torch.tensor(weights, dtype=torch.float64, requires_grad=True)
    logits = torch.tensor(design, dtype=torch.float64) @ parameters
    loss = -(torch.tensor(onehot, dtype=torch.float64) * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
    loss.backward()
    return parameters.grad.numpy()


def ex2(cross_entropy_gradient: Any) -> bool:
    """Expects cross_entropy_gradient(design, onehot, weights) -> ∂L/∂W, shape (d, K), for
    L(W) = -(1/n) Σ_i Σ_k Y_ik log softmax(x_i^T W)_k."""
    exercise = "Exercise 2"
    hint = (
        "∂L/∂W = Xᵀ(P - Y)/n with P = softmax of each row of XW: shape (d, K) like W (not (P - Y)ᵀX), "
        "divided by the number of cells n (L is a mean), and predicted minus observed (P - Y, not Y - P)"
    )
    cases = [
        ((design, onehot, weights), _ex2_reference(design, onehot, weights)) for design, onehot, weights in _ex2_cases()
    ]
    verdict, printed = _run_silently(
        exercise, cross_entropy_gradient, cases, what="∂L/∂W against autograd", rtol=1e-5, atol=1e-7, hint=hint
    )
    print(printed, end="")
    return verdict


def _ex3_reference() -> np.ndarray:
    import torch
    from torch.distributions import Independent, Normal, kl_divergence

    p = Independent(Normal(torch.tensor(EX3_P_MEAN), torch.tensor(EX3_P_SD)), 1)
    q = Independent(Normal(torch.tensor(EX3_Q_MEAN), torch.tensor(EX3_Q_SD)), 1)
    return np.array([kl_divergence(p, q).item(), kl_divergence(q, p).item()])


def ex3(answer: Any) -> bool:
    """Expects [KL(p‖q), KL(q‖p)] in nats for the diagonal Gaussians p = N(EX3_P_MEAN, diag EX3_P_SD²) and
    q = N(EX3_Q_MEAN, diag EX3_Q_SD²)."""
    return check_array(
        "Exercise 3",
        answer,
        _ex3_reference,
        what="[KL(p‖q), KL(q‖p)] of the 3-D diagonal Gaussians (torch.distributions.kl_divergence)",
        rtol=1e-6,
        atol=1e-9,
        hint="per dimension KL(p‖q) = log(σ_q/σ_p) + (σ_p² + (μ_p - μ_q)²)/(2σ_q²) - 1/2: the log of the ratio of "
        "STANDARD DEVIATIONS, variances in the fraction (EX3_*_SD are σ, square them), summed over the three "
        "dimensions; the first entry takes the expectation under p",
    )


def ex4(mutual_information: Any) -> bool:
    """Expects mutual_information(table) -> the plug-in mutual information in nats of a contingency table."""
    from sklearn.metrics import mutual_info_score

    exercise = "Exercise 4"
    hint = (
        "I = Σ_xy p(x,y) log[p(x,y) / (p(x) p(y))] with the natural log (nats, not log2), p = table/total, p(x) "
        "the ROW sums and p(y) the COLUMN sums of p (the denominator is p(x)·p(y) for the same cell: an outer "
        "product rows × columns), and empty cells contribute 0 (0·log 0 = 0, not NaN)"
    )
    cases = [((table.copy(),), mutual_info_score(None, None, contingency=table)) for table in EX4_TABLES]
    verdict, printed = _run_silently(
        exercise,
        mutual_information,
        cases,
        what="mutual information in nats (sklearn.metrics.mutual_info_score)",
        rtol=1e-6,
        atol=1e-10,
        hint=hint,
    )
    print(printed, end="")
    return verdict
