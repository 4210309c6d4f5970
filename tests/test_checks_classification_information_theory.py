"""The exercise checks of 03_classification_information_theory accept right answers and reject plausible wrong ones."""

import numpy as np
import pytest
import torch
from conftest import accepts as _accepts
from conftest import rejects as _rejects
from scipy.special import logsumexp, softmax

from utils.checks import classification_information_theory as checks


def _stub(*args):
    return None


@pytest.mark.parametrize("check", [checks.ex1, checks.ex2, checks.ex4])
def test_function_stubs_are_not_attempted(check, capsys):
    assert check(_stub) is False
    assert "not attempted" in capsys.readouterr().out


# ---------------------------------------------------------------- Exercise 1: a stable log-sum-exp
def _stable(logits):
    shift = logits.max(axis=1, keepdims=True)
    return shift[:, 0] + np.log(np.exp(logits - shift).sum(axis=1))


def _stable_keepdims(logits):
    shift = logits.max(axis=1, keepdims=True)
    return shift + np.log(np.exp(logits - shift).sum(axis=1, keepdims=True))


def _stable_torch(logits):
    return torch.logsumexp(torch.as_tensor(logits), dim=1)


def _stable_float32(logits):
    return _stable(logits).astype(np.float32).astype(float)


def test_ex1_accepts_stable_forms(capsys):
    _accepts(checks.ex1, _stable, capsys)
    _accepts(checks.ex1, _stable_keepdims, capsys)  # shape (n, 1)
    _accepts(checks.ex1, _stable_torch, capsys)  # a torch tensor
    _accepts(checks.ex1, lambda logits: logsumexp(logits, axis=1), capsys)


def _naive(logits):
    return np.log(np.exp(logits).sum(axis=1))


def _shift_by_minimum(logits):
    shift = logits.min(axis=1, keepdims=True)
    return shift[:, 0] + np.log(np.exp(logits - shift).sum(axis=1))


def _shift_not_added_back(logits):
    shift = logits.max(axis=1, keepdims=True)
    return np.log(np.exp(logits - shift).sum(axis=1))


def _one_global_shift(logits):
    shift = logits.max()
    return shift + np.log(np.exp(logits - shift).sum(axis=1))


def _wrong_axis(logits):
    shift = logits.max(axis=0, keepdims=True)
    return shift[0] + np.log(np.exp(logits - shift).sum(axis=0))


def _log_of_max_only(logits):
    return logits.max(axis=1)  # the max approximation, off by up to log K


def _mean_not_sum(logits):
    shift = logits.max(axis=1, keepdims=True)
    return shift[:, 0] + np.log(np.exp(logits - shift).mean(axis=1))


def _float32_naive(logits):
    return np.log(np.exp(logits.astype(np.float32)).sum(axis=1))


def _raises(*args):
    raise RuntimeError("broken")


@pytest.mark.parametrize(
    "wrong",
    [
        _naive,  # the hint's mistake: overflow/underflow
        _shift_by_minimum,  # the hint's mistake: subtracting the minimum
        _one_global_shift,  # the hint's mistake: one shift for the whole array
        _shift_not_added_back,
        _wrong_axis,  # square case keeps the shape
        _log_of_max_only,
        _mean_not_sum,
        _float32_naive,
        _raises,
        "not a function",
    ],
)
def test_ex1_rejects_plausible_mistakes(wrong, capsys):
    _rejects(checks.ex1, wrong, capsys)


def test_ex1_cases_are_the_awkward_ones():
    # the naive form is non-finite on cases 2-4, the minimum shift overflows on case 4, the global shift fails on 2
    with np.errstate(all="ignore"):
        assert not np.all(np.isfinite(_naive(checks.EX1_CASES[1])))
        assert not np.all(np.isfinite(_shift_by_minimum(checks.EX1_CASES[3])))
        assert not np.all(np.isfinite(_one_global_shift(checks.EX1_CASES[1])))
    assert checks.EX1_CASES[2].shape[0] == checks.EX1_CASES[2].shape[1]


# ---------------------------------------------------------------- Exercise 2: the cross-entropy gradient
def _gradient(design, onehot, weights):
    probabilities = softmax(design @ weights, axis=1)
    return design.T @ (probabilities - onehot) / design.shape[0]


def _gradient_torch(design, onehot, weights):
    design, onehot = torch.as_tensor(design), torch.as_tensor(onehot)
    probabilities = torch.softmax(design @ torch.as_tensor(weights), dim=1)
    return design.T @ (probabilities - onehot) / design.shape[0]


def _gradient_float32(design, onehot, weights):
    return _gradient(design.astype(np.float32), onehot.astype(np.float32), weights.astype(np.float32))


def _gradient_by_loop(design, onehot, weights):
    total = np.zeros_like(weights)
    for x, y in zip(design, onehot, strict=True):
        logits = x @ weights
        p = np.exp(logits - logits.max())
        total += np.outer(x, p / p.sum() - y)
    return total / len(design)


def test_ex2_accepts_the_gradient(capsys):
    for right in (_gradient, _gradient_torch, _gradient_float32, _gradient_by_loop):
        _accepts(checks.ex2, right, capsys)


def _transposed(design, onehot, weights):
    return _gradient(design, onehot, weights).T


def _no_mean(design, onehot, weights):
    return design.T @ (softmax(design @ weights, axis=1) - onehot)


def _wrong_sign(design, onehot, weights):
    return -_gradient(design, onehot, weights)


def _softmax_over_cells(design, onehot, weights):
    return design.T @ (softmax(design @ weights, axis=0) - onehot) / design.shape[0]


def _logits_not_probabilities(design, onehot, weights):
    return design.T @ (design @ weights - onehot) / design.shape[0]


def _divided_by_classes(design, onehot, weights):
    return design.T @ (softmax(design @ weights, axis=1) - onehot) / weights.shape[1]


@pytest.mark.parametrize(
    "wrong",
    [
        _transposed,  # the hint's mistakes: (P - Y)ᵀX,
        _no_mean,  # no 1/n,
        _wrong_sign,  # Y - P
        _softmax_over_cells,
        _logits_not_probabilities,  # the least-squares gradient
        _divided_by_classes,
        _raises,
    ],
)
def test_ex2_rejects_plausible_mistakes(wrong, capsys):
    _rejects(checks.ex2, wrong, capsys)


# ---------------------------------------------------------------- Exercise 3: KL of diagonal Gaussians
def _kl(mean_p, sd_p, mean_q, sd_q):
    return float(np.sum(np.log(sd_q / sd_p) + (sd_p**2 + (mean_p - mean_q) ** 2) / (2 * sd_q**2) - 0.5))


def _both(kl=_kl):
    p, q = (checks.EX3_P_MEAN, checks.EX3_P_SD), (checks.EX3_Q_MEAN, checks.EX3_Q_SD)
    return np.array([kl(*p, *q), kl(*q, *p)])


def test_ex3_accepts_both_directions(capsys):
    right = _both()
    _accepts(checks.ex3, right, capsys)
    _accepts(checks.ex3, right.tolist(), capsys)
    _accepts(checks.ex3, torch.tensor(right), capsys)
    # the same divergence written with variances: ½[log(v_q/v_p) + (v_p + Δ²)/v_q - 1]
    variance_form = lambda mp, sp, mq, sq: float(  # noqa: E731
        np.sum(0.5 * (np.log(sq**2 / sp**2) + (sp**2 + (mp - mq) ** 2) / sq**2 - 1))
    )
    _accepts(checks.ex3, _both(variance_form), capsys)


def _wrong_forms():
    sd_as_variance = lambda mp, sp, mq, sq: float(  # σ used where σ² belongs
        np.sum(np.log(sq / sp) + (sp + (mp - mq) ** 2) / (2 * sq) - 0.5)
    )
    log_of_variances = lambda mp, sp, mq, sq: float(  # log(σ_q²/σ_p²) without the ½
        np.sum(np.log(sq**2 / sp**2) + (sp**2 + (mp - mq) ** 2) / (2 * sq**2) - 0.5)
    )
    sds_given_as_variances = lambda mp, sp, mq, sq: _kl(mp, np.sqrt(sp), mq, np.sqrt(sq))  # EX3_*_SD read as σ²
    no_half = lambda mp, sp, mq, sq: float(np.sum(np.log(sq / sp) + (sp**2 + (mp - mq) ** 2) / (2 * sq**2)))
    first_dimension = lambda mp, sp, mq, sq: _kl(mp[:1], sp[:1], mq[:1], sq[:1])
    log2 = lambda mp, sp, mq, sq: _kl(mp, sp, mq, sq) / np.log(2)
    right = _both()
    return [
        right[::-1],  # the hint's mistake: swapped arguments
        _both(sd_as_variance),  # the hint's mistakes: σ vs σ²
        _both(log_of_variances),
        _both(sds_given_as_variances),
        _both(no_half),
        _both(first_dimension),  # not summed over dimensions
        _both(log2),  # bits
        right[:1],  # shape
        [right.sum() / 2, right.sum() / 2],  # symmetrised
    ]


@pytest.mark.parametrize("wrong", _wrong_forms())
def test_ex3_rejects_plausible_mistakes(wrong, capsys):
    _rejects(checks.ex3, wrong, capsys)


# ---------------------------------------------------------------- Exercise 4: mutual information of a table
def _mi(table):
    joint = table / table.sum()
    product = np.outer(joint.sum(axis=1), joint.sum(axis=0))
    cells = joint > 0
    return float(np.sum(joint[cells] * np.log(joint[cells] / product[cells])))


def _mi_entropies(table):
    def entropy(p):
        p = p[p > 0]
        return -np.sum(p * np.log(p))

    joint = table / table.sum()
    return entropy(joint.sum(axis=1)) + entropy(joint.sum(axis=0)) - entropy(joint.ravel())


def test_ex4_accepts_the_mutual_information(capsys):
    _accepts(checks.ex4, _mi, capsys)
    _accepts(checks.ex4, _mi_entropies, capsys)  # H(X) + H(Y) - H(X, Y)
    _accepts(checks.ex4, lambda table: np.float32(_mi(table)), capsys)  # float32 (rtol 1e-6)
    _accepts(checks.ex4, lambda table: torch.tensor(_mi(table)), capsys)


def _mi_log2(table):
    return _mi(table) / np.log(2)


def _mi_marginals_swapped(table):
    # column sums where the row sums belong: silently wrong on a square table, a broadcasting error otherwise
    joint = table / table.sum()
    product = np.outer(joint.sum(axis=0), joint.sum(axis=1))
    cells = joint > 0
    return float(np.sum(joint[cells] * np.log(joint[cells] / product[cells])))


def _mi_counts_in_marginals(table):
    joint = table / table.sum()
    product = np.outer(table.sum(axis=1), table.sum(axis=0))  # counts, not probabilities
    cells = joint > 0
    return float(np.sum(joint[cells] * np.log(joint[cells] / product[cells])))


def _mi_nan_on_zeros(table):
    joint = table / table.sum()
    product = np.outer(joint.sum(axis=1), joint.sum(axis=0))
    with np.errstate(all="ignore"):
        return float(np.sum(joint * np.log(joint / product)))


def _mi_conditional_weights(table):
    # weights p(y|x) instead of p(x, y)
    joint = table / table.sum()
    conditional = table / table.sum(axis=1, keepdims=True)
    product = np.outer(joint.sum(axis=1), joint.sum(axis=0))
    cells = joint > 0
    return float(np.sum(conditional[cells] * np.log(joint[cells] / product[cells])))


def _mi_row_entropy(table):
    p = table.sum(axis=1) / table.sum()
    return float(-np.sum(p * np.log(p)))


@pytest.mark.parametrize(
    "wrong",
    [
        _mi_log2,  # the hint's mistakes: bits,
        _mi_marginals_swapped,  # the marginal mix-up,
        _mi_nan_on_zeros,  # 0·log 0 = NaN
        _mi_counts_in_marginals,
        _mi_conditional_weights,
        _mi_row_entropy,
        _raises,
    ],
)
def test_ex4_rejects_plausible_mistakes(wrong, capsys):
    _rejects(checks.ex4, wrong, capsys)


def test_ex4_marginal_mix_up_differs_on_the_square_table():
    table = checks.EX4_TABLES[0]
    assert table.shape[0] == table.shape[1]
    assert abs(_mi_marginals_swapped(table) - _mi(table)) > 1e-3
