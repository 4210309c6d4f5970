"""The exercise checks of 02_qr_least_squares accept right answers and reject plausible wrong ones."""

import numpy as np
import scipy.linalg
from conftest import rejects as _rejects

from utils.checks import qr_least_squares as checks
from utils.data import load_pasilla

# ---------------------------------------------------------------- ex1: least squares by QR


def _lstsq_via_qr(design, response):
    q, r = np.linalg.qr(design)
    return scipy.linalg.solve_triangular(r, q.T @ response)


def test_ex1_accepts_qr(capsys):
    assert checks.ex1(_lstsq_via_qr) is True
    assert "✓" in capsys.readouterr().out


def test_ex1_accepts_numpy_lstsq(capsys):
    assert checks.ex1(lambda design, response: np.linalg.lstsq(design, response, rcond=None)[0]) is True
    assert "✓" in capsys.readouterr().out


def test_ex1_rejects_the_normal_equations(capsys):
    # right on well-conditioned designs, but too inaccurate at kappa ~ 1e7
    assert checks.ex1(lambda design, response: np.linalg.solve(design.T @ design, design.T @ response)) is False
    assert "✗" in capsys.readouterr().out


def test_ex1_rejects_a_missing_transpose(capsys):
    # q @ response has the wrong shape: the learner's function raises, which the check reports as a wrong answer
    def wrong(design, response):
        q, r = np.linalg.qr(design)
        return scipy.linalg.solve_triangular(r, q @ response)

    assert checks.ex1(wrong) is False
    assert "✗" in capsys.readouterr().out


def test_ex1_rejects_a_lower_triangular_solve(capsys):
    def wrong(design, response):
        q, r = np.linalg.qr(design)
        return scipy.linalg.solve_triangular(r.T, q.T @ response, lower=True)

    assert checks.ex1(wrong) is False
    assert "✗" in capsys.readouterr().out


def test_ex1_none(capsys):
    assert checks.ex1(None) is False
    assert "not attempted yet" in capsys.readouterr().out


# ---------------------------------------------------------------- ex2: float32 epsilon


def test_ex2_accepts_float32_halving(capsys):
    one = np.float32(1.0)
    epsilon = np.float32(1.0)
    while one + epsilon / np.float32(2.0) != one:
        epsilon = epsilon / np.float32(2.0)
    assert checks.ex2(epsilon) is True
    assert checks.ex2(2.0**-23) is True
    assert capsys.readouterr().out.count("✓") == 2


def test_ex2_rejects_float64_epsilon(capsys):
    assert checks.ex2(np.finfo(np.float64).eps) is False
    assert "✗" in capsys.readouterr().out


def test_ex2_rejects_the_unit_roundoff(capsys):
    assert checks.ex2(2.0**-24) is False
    assert "✗" in capsys.readouterr().out


def test_ex2_none(capsys):
    assert checks.ex2(None) is False
    assert "not attempted yet" in capsys.readouterr().out


# ---------------------------------------------------------------- ex3: leverages


def test_ex3_accepts_qr_row_norms(capsys):
    assert checks.ex3(lambda design: np.sum(np.linalg.qr(design)[0] ** 2, axis=1)) is True
    assert "✓" in capsys.readouterr().out


def test_ex3_accepts_the_explicit_hat_matrix(capsys):
    def via_inverse(design):
        return np.einsum("ij,jk,ik->i", design, np.linalg.inv(design.T @ design), design)

    assert checks.ex3(via_inverse) is True
    assert "✓" in capsys.readouterr().out


def test_ex3_rejects_diag_of_x_xt(capsys):
    assert checks.ex3(lambda design: np.diag(design @ design.T)) is False
    assert "✗" in capsys.readouterr().out


def test_ex3_rejects_column_norms(capsys):
    assert checks.ex3(lambda design: np.sum(np.linalg.qr(design)[0] ** 2, axis=0)) is False
    assert "✗" in capsys.readouterr().out


def test_ex3_rejects_the_complete_q(capsys):
    # the hint's mistake: mode="complete" gives an n x n orthogonal Q, whose rows all have unit norm
    _rejects(checks.ex3, lambda design: np.sum(np.linalg.qr(design, mode="complete")[0] ** 2, axis=1), capsys)


def test_ex3_rejects_one_minus_leverage(capsys):
    assert checks.ex3(lambda design: 1.0 - np.sum(np.linalg.qr(design)[0] ** 2, axis=1)) is False
    assert "✗" in capsys.readouterr().out


def test_ex3_none(capsys):
    assert checks.ex3(None) is False
    assert "not attempted yet" in capsys.readouterr().out


# ---------------------------------------------------------------- ex4: condition numbers before/after scaling


def _pasilla_designs(ddof=0, scale=1e6):
    samples = load_pasilla().samples
    raw = np.column_stack(
        [
            np.ones(len(samples)),
            samples["exon counts"].to_numpy(dtype=float) / scale,
            (samples["condition"] == "treated").to_numpy(dtype=float),
        ]
    )
    standardised = raw.copy()
    standardised[:, 1:] = (raw[:, 1:] - raw[:, 1:].mean(axis=0)) / raw[:, 1:].std(axis=0, ddof=ddof)
    return raw, standardised


def test_ex4_accepts_condition_numbers_from_singular_values(capsys):
    # an independent route: kappa(X^T X) = (sigma_max / sigma_min)^2 of X
    raw, standardised = _pasilla_designs()
    singular = [np.linalg.svd(design, compute_uv=False) for design in (raw, standardised)]
    assert checks.ex4([(s[0] / s[-1]) ** 2 for s in singular]) is True
    assert "✓" in capsys.readouterr().out


def test_ex4_rejects_kappa_of_x(capsys):
    raw, standardised = _pasilla_designs()
    assert checks.ex4(np.array([np.linalg.cond(raw), np.linalg.cond(standardised)])) is False
    assert "✗" in capsys.readouterr().out


def test_ex4_rejects_sample_standard_deviation(capsys):
    raw, standardised = _pasilla_designs(ddof=1)
    assert checks.ex4(np.array([np.linalg.cond(raw.T @ raw), np.linalg.cond(standardised.T @ standardised)])) is False
    assert "✗" in capsys.readouterr().out


def test_ex4_rejects_library_size_in_reads(capsys):
    raw, standardised = _pasilla_designs(scale=1.0)
    assert checks.ex4(np.array([np.linalg.cond(raw.T @ raw), np.linalg.cond(standardised.T @ standardised)])) is False
    assert "✗" in capsys.readouterr().out


def test_ex4_rejects_the_wrong_order_and_shape(capsys):
    raw, standardised = _pasilla_designs()
    kappas = np.array([np.linalg.cond(raw.T @ raw), np.linalg.cond(standardised.T @ standardised)])
    assert checks.ex4(kappas[::-1]) is False
    assert checks.ex4(kappas[0]) is False
    assert capsys.readouterr().out.count("✗") == 2


def test_ex4_none(capsys):
    assert checks.ex4(None) is False
    assert "not attempted yet" in capsys.readouterr().out
