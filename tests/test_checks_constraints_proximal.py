"""The exercise checks of 04_constraints_proximal accept right answers (computed independently here) and reject the
mistakes their hints describe and the ones learners most likely make."""

import numpy as np
import pytest
import torch
from scipy.optimize import lsq_linear, minimize, minimize_scalar, nnls

from utils.checks import constraints_proximal as checks


def _assert_result(capsys, result, expected_result):
    out = capsys.readouterr().out
    assert result is expected_result
    assert ("✓" if expected_result else "✗") in out


def _assert_not_attempted(capsys, result):
    assert result is False
    assert "not attempted yet" in capsys.readouterr().out


def _simplex_by_sorting(v, radius):
    ordered = np.sort(v)[::-1]
    excess = np.cumsum(ordered) - radius
    position = np.arange(1, v.size + 1)
    rho = position[ordered - excess / position > 0][-1]
    return np.maximum(v - excess[rho - 1] / rho, 0.0)


# Exercise 1: projection onto the ℓ1 ball


def _l1_ball_by_sorting(v, radius):
    v = np.asarray(v, dtype=float)
    if np.abs(v).sum() <= radius:
        return v
    return np.sign(v) * _simplex_by_sorting(np.abs(v), radius)


def _l1_ball_by_qp(v, radius):
    # the QP in split form x = x⁺ - x⁻, both ≥ 0, Σ(x⁺ + x⁻) ≤ r: an independent route through SLSQP
    d = v.size
    result = minimize(
        lambda z: 0.5 * np.sum((z[:d] - z[d:] - v) ** 2),
        np.zeros(2 * d),
        jac=lambda z: np.concatenate([z[:d] - z[d:] - v, -(z[:d] - z[d:] - v)]),
        method="SLSQP",
        bounds=[(0, None)] * (2 * d),
        constraints={"type": "ineq", "fun": lambda z: radius - z.sum(), "jac": lambda z: -np.ones(2 * d)},
        options={"ftol": 1e-14, "maxiter": 1000},
    )
    return result.x[:d] - result.x[d:]


def test_ex1_cases_are_generic_and_reach_every_branch():
    cases = checks.l1_ball_cases()
    radii = [radius for (_, radius), _ in cases]
    assert all(not np.isclose(r, 1.0) for r in radii)
    inside = [np.abs(v).sum() <= r for (v, r), _ in cases]
    assert any(inside) and not all(inside)
    assert any(v.size == 1 for (v, _), _ in cases)
    # the QP agrees with the check's own reference (bisection)
    for (v, radius), expected in cases:
        assert np.allclose(_l1_ball_by_qp(v, radius), expected, atol=1e-6)


def test_ex1_accepts_sorting_and_float32_and_torch(capsys):
    _assert_result(capsys, checks.ex1(_l1_ball_by_sorting), True)
    _assert_result(capsys, checks.ex1(lambda v, r: _l1_ball_by_sorting(v, r).astype(np.float32)), True)
    _assert_result(capsys, checks.ex1(lambda v, r: torch.tensor(_l1_ball_by_sorting(v, r))), True)
    _assert_result(capsys, checks.ex1(lambda v, r: list(_l1_ball_by_sorting(v, r))), True)


def test_ex1_rejects_rescaling_onto_the_sphere(capsys):
    # the hint's mistake: "renormalise" v to ℓ1 norm r
    def rescale(v, radius):
        norm = np.abs(v).sum()
        return v if norm <= radius else v * radius / norm

    _assert_result(capsys, checks.ex1(rescale), False)


def test_ex1_rejects_clipping_then_renormalising(capsys):
    def clip_renormalise(v, radius):
        if np.abs(v).sum() <= radius:
            return v
        clipped = np.maximum(v, 0)
        return clipped / clipped.sum() * radius

    _assert_result(capsys, checks.ex1(clip_renormalise), False)


def test_ex1_rejects_the_wrong_radius(capsys):
    _assert_result(capsys, checks.ex1(lambda v, radius: _l1_ball_by_sorting(v, 1.0)), False)


def test_ex1_rejects_projecting_points_already_inside(capsys):
    _assert_result(capsys, checks.ex1(lambda v, r: np.sign(v) * _simplex_by_sorting(np.abs(v), r)), False)


def test_ex1_rejects_lost_signs_and_the_simplex_itself(capsys):
    _assert_result(capsys, checks.ex1(lambda v, r: np.abs(_l1_ball_by_sorting(v, r))), False)
    _assert_result(capsys, checks.ex1(lambda v, r: _simplex_by_sorting(np.asarray(v, float), r)), False)


def test_ex1_rejects_an_off_by_one_threshold(capsys):
    def off_by_one(v, radius):
        v = np.asarray(v, float)
        if np.abs(v).sum() <= radius:
            return v
        ordered = np.sort(np.abs(v))[::-1]
        excess = np.cumsum(ordered) - radius
        position = np.arange(1, v.size + 1)
        rho = position[ordered - excess / position > 0][-1]
        theta = excess[rho - 1] / (rho + 1)  # divides by ρ + 1
        return np.sign(v) * np.maximum(np.abs(v) - theta, 0)

    _assert_result(capsys, checks.ex1(off_by_one), False)


def test_ex1_none_stub_and_crash(capsys):
    _assert_not_attempted(capsys, checks.ex1(None))
    _assert_not_attempted(capsys, checks.ex1(lambda v, radius: None))
    _assert_result(capsys, checks.ex1(lambda v, radius: 1 / 0), False)


# Exercise 2: prox of λ|x| + μx²/2 with step t


def _prox_by_minimisation(v, lam, mu, step):
    out = []
    for value in np.asarray(v, float):
        objective = lambda x, value=value: lam * abs(x) + 0.5 * mu * x**2 + (x - value) ** 2 / (2 * step)  # noqa: E731
        width = abs(value) + 1.0
        out.append(minimize_scalar(objective, bounds=(-width, width), method="bounded", options={"xatol": 1e-12}).x)
    return np.array(out)


def _prox_closed(v, lam, mu, step):
    return np.sign(v) * np.maximum(np.abs(v) - step * lam, 0) / (1 + step * mu)


def test_ex2_accepts_the_minimiser_and_float32(capsys):
    _assert_result(capsys, checks.ex2(_prox_by_minimisation), True)
    _assert_result(capsys, checks.ex2(lambda *args: _prox_closed(*args).astype(np.float32)), True)


@pytest.mark.parametrize(
    "wrong",
    [
        # the hint's mistakes: the threshold λ, λ/2 or λ/t instead of tλ
        lambda v, lam, mu, step: np.sign(v) * np.maximum(np.abs(v) - lam, 0) / (1 + step * mu),
        lambda v, lam, mu, step: np.sign(v) * np.maximum(np.abs(v) - step * lam / 2, 0) / (1 + step * mu),
        lambda v, lam, mu, step: np.sign(v) * np.maximum(np.abs(v) - lam / step, 0) / (1 + step * mu),
        # sign errors: the sign dropped, flipped, or the shrinkage added instead of subtracted
        lambda v, lam, mu, step: np.maximum(np.abs(v) - step * lam, 0) / (1 + step * mu),
        lambda v, lam, mu, step: -np.sign(v) * np.maximum(np.abs(v) - step * lam, 0) / (1 + step * mu),
        lambda v, lam, mu, step: (v + step * lam * np.sign(v)) / (1 + step * mu),
        # no zeroing (v - tλ sign(v) everywhere), and hard thresholding
        lambda v, lam, mu, step: (v - step * lam * np.sign(v)) / (1 + step * mu),
        lambda v, lam, mu, step: v * (np.abs(v) > step * lam) / (1 + step * mu),
        # the ridge part: forgotten, without the step, or only applied to the threshold
        lambda v, lam, mu, step: np.sign(v) * np.maximum(np.abs(v) - step * lam, 0),
        lambda v, lam, mu, step: np.sign(v) * np.maximum(np.abs(v) - step * lam, 0) / (1 + mu),
        lambda v, lam, mu, step: np.sign(v) * np.maximum(np.abs(v) - step * lam / (1 + step * mu), 0),
    ],
)
def test_ex2_rejects_the_likely_mistakes(capsys, wrong):
    _assert_result(capsys, checks.ex2(wrong), False)


def test_ex2_cases_are_generic():
    for (v, lam, mu, step), expected in checks.prox_cases():
        assert not np.isclose(step, 1.0) and not np.isclose(lam, 1.0)
        assert np.any(expected == 0) and np.any(expected > 0) and np.any(expected < 0)
        assert not np.any(np.isclose(np.abs(v), step * lam))  # no entry exactly at the kink
        assert np.allclose(_prox_by_minimisation(v, lam, mu, step), expected, atol=1e-7)


def test_ex2_none_and_stub(capsys):
    _assert_not_attempted(capsys, checks.ex2(None))
    _assert_not_attempted(capsys, checks.ex2(lambda v, lam, mu, step: None))


# Exercise 3: proportions from a bulk sample of unknown depth


def _proportions_by_lsq_linear(signature, bulk):
    coefficients = lsq_linear(signature, bulk, bounds=(0, np.inf), tol=1e-14, method="bvls").x
    return coefficients / coefficients.sum()


def _project_simplex_least_squares(signature, bulk, n_steps=20_000):
    gram, corr = signature.T @ signature, signature.T @ bulk
    step = 1 / np.linalg.eigvalsh(gram)[-1]
    estimate = np.full(signature.shape[1], 1 / signature.shape[1])
    for _ in range(n_steps):
        estimate = _simplex_by_sorting(estimate - step * (gram @ estimate - corr), 1.0)
    return estimate


def test_ex3_accepts_nnls_by_another_solver_and_float32(capsys):
    _assert_result(capsys, checks.ex3(_proportions_by_lsq_linear), True)
    _assert_result(capsys, checks.ex3(lambda s, y: _proportions_by_lsq_linear(s, y).astype(np.float32)), True)


def test_ex3_rejects_unnormalised_nnls(capsys):
    _assert_result(capsys, checks.ex3(lambda signature, bulk: nnls(signature, bulk)[0]), False)


def test_ex3_rejects_the_simplex_constrained_fit(capsys):
    # the hint's mistake: assuming depth 1
    _assert_result(capsys, checks.ex3(_project_simplex_least_squares), False)


def test_ex3_rejects_unconstrained_least_squares(capsys):
    def lstsq_normalised(signature, bulk):
        coefficients = np.linalg.lstsq(signature, bulk, rcond=None)[0]
        return coefficients / coefficients.sum()

    def lstsq_clipped(signature, bulk):
        coefficients = np.maximum(np.linalg.lstsq(signature, bulk, rcond=None)[0], 0)
        return coefficients / coefficients.sum()

    _assert_result(capsys, checks.ex3(lstsq_normalised), False)
    _assert_result(capsys, checks.ex3(lstsq_clipped), False)


def test_ex3_rejects_the_log_scale_and_a_wrong_normalisation(capsys):
    def log_scale(signature, bulk):
        coefficients = nnls(np.log1p(signature), np.log1p(np.maximum(bulk, 0)))[0]
        return coefficients / coefficients.sum()

    def by_max(signature, bulk):
        coefficients = nnls(signature, bulk)[0]
        return coefficients / coefficients.max()

    _assert_result(capsys, checks.ex3(log_scale), False)
    _assert_result(capsys, checks.ex3(by_max), False)


def test_ex3_cases_have_active_constraints():
    # unconstrained least squares is negative somewhere, so clipping it is not NNLS
    negative = 0
    for (signature, bulk), expected in checks.deconvolution_cases():
        assert np.isclose(expected.sum(), 1.0) and expected.min() >= 0
        negative += np.linalg.lstsq(signature, bulk, rcond=None)[0].min() < 0
    assert negative >= 2


def test_ex3_none_stub_and_crash(capsys):
    _assert_not_attempted(capsys, checks.ex3(None))
    _assert_not_attempted(capsys, checks.ex3(lambda signature, bulk: None))
    _assert_result(capsys, checks.ex3(lambda signature, bulk: np.zeros(3)), False)
