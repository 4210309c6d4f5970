"""The exercise checks of 01_lu_cholesky accept right answers and reject plausible wrong ones."""

import numpy as np
import scipy.linalg

from utils.checks import lu_cholesky as checks

# ---------------------------------------------------------------- ex1: determinant from lu_factor


def _lu_determinant(matrix):
    packed, swaps = scipy.linalg.lu_factor(matrix)
    sign = (-1.0) ** np.count_nonzero(swaps != np.arange(len(swaps)))
    return float(sign * np.prod(np.diag(packed)))


def test_ex1_accepts_lu_determinant(capsys):
    assert checks.ex1(_lu_determinant) is True
    assert "✓" in capsys.readouterr().out


def test_ex1_rejects_a_missing_sign(capsys):
    assert checks.ex1(lambda matrix: float(np.prod(np.diag(scipy.linalg.lu_factor(matrix)[0])))) is False
    assert "✗" in capsys.readouterr().out


def test_ex1_rejects_the_sign_counted_from_piv_values(capsys):
    # a plausible slip: using the parity of sum(piv) instead of the number of actual swaps
    def wrong(matrix):
        packed, swaps = scipy.linalg.lu_factor(matrix)
        return float((-1.0) ** int(np.sum(swaps)) * np.prod(np.diag(packed)))

    assert checks.ex1(wrong) is False
    assert "✗" in capsys.readouterr().out


def test_ex1_none_and_stub(capsys):
    assert checks.ex1(None) is False
    assert checks.ex1(lambda matrix: None) is False
    assert capsys.readouterr().out.count("not attempted yet") == 2


# ---------------------------------------------------------------- ex2: positive definiteness


def _is_positive_definite(matrix):
    try:
        np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        return False
    return True


def test_ex2_accepts_the_cholesky_test(capsys):
    assert checks.ex2(_is_positive_definite) is True
    assert "✓" in capsys.readouterr().out


def test_ex2_accepts_scipy_cholesky_returning_a_numpy_bool(capsys):
    def via_scipy(matrix):
        try:
            scipy.linalg.cholesky(matrix, lower=True)
        except np.linalg.LinAlgError:
            return np.bool_(False)
        return np.bool_(True)

    assert checks.ex2(via_scipy) is True
    assert "✓" in capsys.readouterr().out


def test_ex2_accepts_a_hand_written_cholesky_with_a_pivot_tolerance(capsys):
    # the notebook's own loop: a pivot below n * eps * max diagonal counts as non-positive
    def by_hand(matrix):
        n = matrix.shape[0]
        tolerance = n * np.finfo(float).eps * np.abs(np.diag(matrix)).max()
        lower = np.zeros((n, n))
        for j in range(n):
            pivot = matrix[j, j] - lower[j, :j] @ lower[j, :j]
            if pivot <= tolerance:
                return False
            lower[j, j] = np.sqrt(pivot)
            lower[j + 1 :, j] = (matrix[j + 1 :, j] - lower[j + 1 :, :j] @ lower[j, :j]) / lower[j, j]
        return True

    assert checks.ex2(by_hand) is True
    assert "✓" in capsys.readouterr().out


def test_ex2_rejects_a_positive_determinant(capsys):
    # fooled by an even number of negative eigenvalues
    assert checks.ex2(lambda matrix: bool(np.linalg.det(matrix) > 0)) is False
    assert "✗" in capsys.readouterr().out


def test_ex2_rejects_non_negative_eigenvalues(capsys):
    # semi-definite is not definite: the singular cases have a zero eigenvalue
    assert checks.ex2(lambda matrix: bool(np.linalg.eigvalsh(matrix).min() >= 0)) is False
    assert "✗" in capsys.readouterr().out


def test_ex2_rejects_positive_floating_point_eigenvalues(capsys):
    # a singular L L^T whose zero eigenvalue comes out as +1.7e-16: only the exact zero pivot of Cholesky tells
    assert checks.ex2(lambda matrix: bool(np.linalg.eigvalsh(matrix).min() > 0)) is False
    assert "✗" in capsys.readouterr().out


def test_ex2_rejects_positive_diagonal(capsys):
    assert checks.ex2(lambda matrix: bool(np.all(np.diag(matrix) > 0))) is False
    assert "✗" in capsys.readouterr().out


def test_ex2_rejects_positive_entries(capsys):
    assert checks.ex2(lambda matrix: bool(np.all(matrix > 0))) is False
    assert "✗" in capsys.readouterr().out


def test_ex2_rejects_an_integer_instead_of_a_bool(capsys):
    assert checks.ex2(lambda matrix: int(_is_positive_definite(matrix))) is False
    assert "✗" in capsys.readouterr().out


def test_ex2_none(capsys):
    assert checks.ex2(None) is False
    assert "not attempted yet" in capsys.readouterr().out


# ---------------------------------------------------------------- ex3: standard errors


def _standard_errors(design, weights):
    lower = scipy.linalg.cholesky(design.T @ (weights[:, None] * design), lower=True)
    lower_inverse = scipy.linalg.solve_triangular(lower, np.eye(design.shape[1]), lower=True)
    return np.sqrt(np.sum(lower_inverse**2, axis=0))


def test_ex3_accepts_standard_errors(capsys):
    assert checks.ex3(_standard_errors) is True
    assert "✓" in capsys.readouterr().out


def test_ex3_accepts_a_pseudo_inverse_route(capsys):
    # independent of the Cholesky route: sqrt(W) X pseudo-inverse, Cov = pinv pinv^T
    def via_pinv(design, weights):
        pseudo_inverse = np.linalg.pinv(np.sqrt(weights)[:, None] * design)
        return np.sqrt(np.sum(pseudo_inverse**2, axis=1))

    assert checks.ex3(via_pinv) is True
    assert "✓" in capsys.readouterr().out


def test_ex3_rejects_inverse_of_the_diagonal(capsys):
    assert checks.ex3(lambda design, weights: 1.0 / np.sqrt(np.diag(design.T @ (weights[:, None] * design)))) is False
    assert "✗" in capsys.readouterr().out


def test_ex3_rejects_missing_square_root(capsys):
    assert checks.ex3(lambda design, weights: _standard_errors(design, weights) ** 2) is False
    assert "✗" in capsys.readouterr().out


def test_ex3_rejects_ignored_weights(capsys):
    assert checks.ex3(lambda design, weights: _standard_errors(design, np.ones_like(weights))) is False
    assert "✗" in capsys.readouterr().out


def test_ex3_rejects_rows_instead_of_columns(capsys):
    def by_rows(design, weights):
        lower = np.linalg.cholesky(design.T @ (weights[:, None] * design))
        lower_inverse = scipy.linalg.solve_triangular(lower, np.eye(design.shape[1]), lower=True)
        return np.sqrt(np.sum(lower_inverse**2, axis=1))

    assert checks.ex3(by_rows) is False
    assert "✗" in capsys.readouterr().out


def test_ex3_none(capsys):
    assert checks.ex3(None) is False
    assert "not attempted yet" in capsys.readouterr().out


# ---------------------------------------------------------------- ex4: one IRLS step


def _irls_step(design, gene_counts, size_factors, beta, dispersion, weight_rule=None, with_offset=False):
    linear_predictor = design @ beta
    mean = size_factors * np.exp(linear_predictor)
    weights = mean / (1.0 + dispersion * mean) if weight_rule is None else weight_rule(mean)
    base = np.log(mean) if with_offset else linear_predictor
    working_response = base + (gene_counts - mean) / mean
    factor = scipy.linalg.cho_factor(design.T @ (weights[:, None] * design))
    return scipy.linalg.cho_solve(factor, design.T @ (weights * working_response))


def test_ex4_accepts_the_irls_step(capsys):
    assert checks.ex4(_irls_step) is True
    assert "✓" in capsys.readouterr().out


def test_ex4_rejects_poisson_weights(capsys):
    assert checks.ex4(lambda *args: _irls_step(*args, weight_rule=lambda mean: mean)) is False
    assert "✗" in capsys.readouterr().out


def test_ex4_rejects_unit_weights(capsys):
    assert checks.ex4(lambda *args: _irls_step(*args, weight_rule=np.ones_like)) is False
    assert "✗" in capsys.readouterr().out


def test_ex4_rejects_the_offset_in_the_working_response(capsys):
    assert checks.ex4(lambda *args: _irls_step(*args, with_offset=True)) is False
    assert "✗" in capsys.readouterr().out


def test_ex4_rejects_returning_the_input_beta(capsys):
    assert checks.ex4(lambda design, gene_counts, size_factors, beta, dispersion: beta) is False
    assert "✗" in capsys.readouterr().out


def test_ex4_none(capsys):
    assert checks.ex4(None) is False
    assert "not attempted yet" in capsys.readouterr().out
