"""The exercise checks of 03_line_search_quasi_newton accept right answers and reject plausible wrong ones."""

import numpy as np
import pytest
import torch
from conftest import accepts as _accepts
from conftest import rejects as _rejects

from utils.checks import line_search_quasi_newton as checks
from utils.data import load_pasilla
from utils.dispersion import fit_dispersions, moments_dispersions
from utils.glm import fit_nb_glm, size_factors_median_of_ratios
from utils.linear_models import design_matrix


# ---------------------------------------------------------------- Exercise 1: the Armijo test
def _armijo(f, gradient, x, p, t, c1):
    return bool(f(x + t * p) <= f(x) + c1 * t * (gradient(x) @ p))


def _armijo_numpy_bool(f, gradient, x, p, t, c1):
    return np.less_equal(f(x + t * p), f(x) + c1 * t * np.dot(gradient(x), p))


def _armijo_torch(f, gradient, x, p, t, c1):
    return torch.tensor(f(x + t * p) <= f(x) + c1 * t * (gradient(x) @ p))


def test_ex1_accepts_the_armijo_test(capsys):
    _accepts(checks.ex1, _armijo, capsys)
    _accepts(checks.ex1, _armijo_numpy_bool, capsys)
    _accepts(checks.ex1, _armijo_torch, capsys)


def test_ex1_cases_contain_every_kind_of_step():
    # the cases must separate Armijo from simple decrease (c1 = 0) and from the tangent (c1 = 1)
    cases = checks._ex1_cases()
    kinds = set()
    for (f, gradient, x, p, t, _c1), expected in cases:
        decrease = f(x + t * p) <= f(x)
        tangent = f(x + t * p) <= f(x) + t * (gradient(x) @ p)
        kinds.add((expected, decrease, tangent))
    assert (False, True, False) in kinds  # simple decrease but not sufficient decrease
    assert (True, True, False) in kinds  # sufficient decrease, above the tangent
    assert any(not expected for expected, *_ in kinds) and any(expected for expected, *_ in kinds)


@pytest.mark.parametrize(
    "wrong",
    [
        # the hint's mistake and the likeliest ones: the inequality reversed, c1 missing (the full slope or no
        # slope at all), the slope without t, the sign of the slope flipped, a number instead of a bool
        lambda f, gradient, x, p, t, c1: f(x + t * p) >= f(x) + c1 * t * (gradient(x) @ p),
        lambda f, gradient, x, p, t, c1: f(x + t * p) <= f(x) + t * (gradient(x) @ p),
        lambda f, gradient, x, p, t, c1: f(x + t * p) <= f(x),
        lambda f, gradient, x, p, t, c1: f(x + t * p) <= f(x) + c1 * (gradient(x) @ p),
        lambda f, gradient, x, p, t, c1: f(x + t * p) <= f(x) - c1 * t * (gradient(x) @ p),
        lambda f, gradient, x, p, t, c1: f(x) + c1 * t * (gradient(x) @ p) - f(x + t * p),
        lambda f, gradient, x, p, t, c1: 1.0 if f(x + t * p) <= f(x) + c1 * t * (gradient(x) @ p) else 0.0,
    ],
)
def test_ex1_rejects_wrong_tests(wrong, capsys):
    _rejects(checks.ex1, wrong, capsys)


def test_ex1_rejects_a_function_that_raises(capsys):
    def broken(f, gradient, x, p, t, c1):
        raise ValueError("oops")

    _rejects(checks.ex1, broken, capsys)


def test_ex1_stub_is_not_attempted(capsys):
    def stub(f, gradient, x, p, t, c1):
        return None

    assert checks.ex1(stub) is False
    assert "not attempted" in capsys.readouterr().out


# ---------------------------------------------------------------- Exercise 2: the BFGS inverse update
def _bfgs(inverse_hessian, s, y):
    rho = 1.0 / (y @ s)
    left = np.eye(len(s)) - rho * np.outer(s, y)
    return left @ inverse_hessian @ left.T + rho * np.outer(s, s)


def _bfgs_expanded(inverse_hessian, s, y):
    # Nocedal & Wright's expanded form: H + (sᵀy + yᵀHy)(ssᵀ)/(sᵀy)² - (Hysᵀ + syᵀH)/(sᵀy)
    sy = s @ y
    hy = inverse_hessian @ y
    return inverse_hessian + (sy + y @ hy) * np.outer(s, s) / sy**2 - (np.outer(hy, s) + np.outer(s, hy)) / sy


def _bfgs_torch(inverse_hessian, s, y):
    h, s_t, y_t = (torch.tensor(v, dtype=torch.float32) for v in (inverse_hessian, s, y))
    rho = 1.0 / (y_t @ s_t)
    left = torch.eye(len(s)) - rho * torch.outer(s_t, y_t)
    return left @ h @ left.T + rho * torch.outer(s_t, s_t)


def test_ex2_accepts_the_update(capsys):
    _accepts(checks.ex2, _bfgs, capsys)
    _accepts(checks.ex2, _bfgs_expanded, capsys)


def test_ex2_float32_is_too_coarse_for_rtol_1e8_but_never_raises(capsys):
    # float32 arithmetic carries ~1e-7 relative error: the check reports it without raising
    assert checks.ex2(_bfgs_torch) in (True, False)
    capsys.readouterr()


def test_ex2_expected_values_satisfy_the_secant_condition():
    for (inverse_hessian, s, y), expected in checks._ex2_cases():
        assert np.allclose(expected @ y, s, atol=1e-10)
        assert np.allclose(expected, _bfgs(inverse_hessian, s, y), atol=1e-10)
        assert np.linalg.eigvalsh(expected).min() > 0


def _direct_hessian_formula(inverse_hessian, s, y):
    hs = inverse_hessian @ s
    return inverse_hessian - np.outer(hs, hs) / (s @ hs) + np.outer(y, y) / (y @ s)


def _transposed(inverse_hessian, s, y):
    rho = 1.0 / (y @ s)
    left = np.eye(len(s)) - rho * np.outer(y, s)
    return left @ inverse_hessian @ left.T + rho * np.outer(s, s)


def _missing_last_term(inverse_hessian, s, y):
    rho = 1.0 / (y @ s)
    left = np.eye(len(s)) - rho * np.outer(s, y)
    return left @ inverse_hessian @ left.T


def _dfp(inverse_hessian, s, y):
    hy = inverse_hessian @ y
    return inverse_hessian - np.outer(hy, hy) / (y @ hy) + np.outer(s, s) / (y @ s)


def _rho_not_inverted(inverse_hessian, s, y):
    rho = y @ s
    left = np.eye(len(s)) - rho * np.outer(s, y)
    return left @ inverse_hessian @ left.T + rho * np.outer(s, s)


@pytest.mark.parametrize(
    "wrong", [_direct_hessian_formula, _transposed, _missing_last_term, _dfp, _rho_not_inverted, lambda h, s, y: h]
)
def test_ex2_rejects_wrong_updates(wrong, capsys):
    _rejects(checks.ex2, wrong, capsys)


def test_ex2_rejects_wrong_shape(capsys):
    _rejects(checks.ex2, lambda h, s, y: _bfgs(h, s, y).ravel(), capsys)


# ---------------------------------------------------------------- Exercise 3: Cox–Reid dispersion of one gene
@pytest.fixture(scope="module")
def gene_setup():
    pasilla = load_pasilla()
    counts = pasilla.counts[pasilla.counts.sum(axis=1) > 0]
    design = design_matrix(pasilla.samples, ["type", "condition"])
    size_factors = size_factors_median_of_ratios(counts)
    fit = fit_nb_glm(counts, design, size_factors, dispersion=moments_dispersions(counts, size_factors))
    row = counts.index.get_loc(checks.EX3_GENE)
    return counts.iloc[[row]], fit.fitted_means[[row]], design


def test_ex3_accepts_the_all_gene_fit_and_a_brent_answer(gene_setup, capsys):
    from scipy.optimize import minimize_scalar

    from utils.dispersion import adjusted_log_likelihood

    gene, means, design = gene_setup
    _accepts(checks.ex3, float(fit_dispersions(gene, means, design).dispersion[0]), capsys)
    brent = minimize_scalar(
        lambda t: -adjusted_log_likelihood(gene, means, design, t).value[0],
        bounds=(np.log(1e-8), np.log(10)),
        method="bounded",
        options={"xatol": 1e-10},
    )
    _accepts(checks.ex3, np.exp(brent.x), capsys)
    _accepts(checks.ex3, np.float32(np.exp(brent.x)), capsys)
    _accepts(checks.ex3, torch.tensor(np.exp(brent.x)), capsys)


def test_ex3_rejects_likely_mistakes(gene_setup, capsys):
    gene, means, design = gene_setup
    right = fit_dispersions(gene, means, design).dispersion[0]
    mle = fit_dispersions(gene, means, design, cox_reid=False)
    _rejects(checks.ex3, float(mle.dispersion[0]), capsys)  # no adjustment
    _rejects(checks.ex3, float(np.log(right)), capsys)  # log alpha instead of alpha
    # the adjustment with the wrong sign: maximise l + 1/2 log det
    from scipy.optimize import minimize_scalar

    from utils.dispersion import cox_reid_term, nb_log_likelihood

    wrong_sign = minimize_scalar(
        lambda t: -(nb_log_likelihood(gene, means, t).value[0] + cox_reid_term(means, design, t).value[0]),
        bounds=(np.log(1e-8), np.log(10)),
        method="bounded",
    )
    _rejects(checks.ex3, float(np.exp(wrong_sign.x)), capsys)
    _rejects(checks.ex3, float(right) * (1 + 3e-4), capsys)  # off by more than the tolerance
    _rejects(checks.ex3, [float(right), float(right)], capsys)
