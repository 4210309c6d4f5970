"""utils.optim against torch.optim, SciPy and scikit-learn, on random problems and bad inputs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq, minimize, minimize_scalar, nnls
from sklearn.linear_model import Lasso

from utils.optim import (
    METHODS,
    minimize_scalar_batched,
    optimizer_trajectory,
    project_simplex,
    projected_gradient,
    proximal_gradient,
    torch_trajectory,
)

HESSIAN = np.array([[3.0, 0.4, 0.1], [0.4, 1.3, -0.2], [0.1, -0.2, 0.7]])
TARGET = np.array([0.3, -1.1, 0.6])
START = np.array([1.3, -0.7, 2.4])


def smooth_gradient(x):
    """Gradient of a strongly convex quadratic plus a small non-quadratic term."""
    return HESSIAN @ x - TARGET + 0.1 * np.sin(x)


SETTINGS = [
    ("sgd", {}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("sgd", {"momentum": 0.8, "dampening": 0.3, "weight_decay": 0.1}),
    ("adagrad", {"lr_decay": 0.01, "weight_decay": 0.05, "initial_accumulator_value": 0.1}),
    ("rmsprop", {}),
    ("rmsprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("adam", {}),
    ("adam", {"amsgrad": True, "weight_decay": 0.1}),
    ("adamw", {}),
    ("adamw", {"weight_decay": 0.3, "amsgrad": True, "betas": (0.8, 0.99)}),
]


@pytest.mark.parametrize(("method", "options"), SETTINGS, ids=[f"{m}-{sorted(o)}" for m, o in SETTINGS])
def test_trajectories_match_torch_optim_to_rounding(method, options):
    ours = optimizer_trajectory(method, smooth_gradient, START, 80, 0.05, **options)
    reference = torch_trajectory(method, smooth_gradient, START, 80, 0.05, **options)
    assert ours.shape == (81, 3)
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-12)
    # the run moved: a rule that ignores the gradient would also "match" a broken reference
    assert np.linalg.norm(ours[-1] - START) > 0.1


def test_a_schedule_is_applied_per_step_like_torch():
    def cosine(step):
        return 0.1 * 0.5 * (1 + np.cos(np.pi * step / 60))

    ours = optimizer_trajectory("adamw", smooth_gradient, START, 60, cosine)
    np.testing.assert_allclose(ours, torch_trajectory("adamw", smooth_gradient, START, 60, cosine), atol=1e-12)
    constant = optimizer_trajectory("adamw", smooth_gradient, START, 60, 0.1)
    assert np.max(np.abs(ours - constant)) > 1e-3


def test_adam_without_bias_correction_would_differ():
    # the first Adam step has length lr per coordinate (m1 / sqrt(v1) = sign(g)), whatever the gradient's scale
    first = optimizer_trajectory("adam", lambda x: np.array([1e-3, 1e3]) * x, np.array([2.5, -1.5]), 1, 0.01)
    np.testing.assert_allclose(first[1] - first[0], [-0.01, 0.01], rtol=1e-5)  # eps 1e-8 vs |g| 2.5e-3


def test_gradient_descent_converges_to_the_solution_on_a_quadratic():
    trajectory = optimizer_trajectory("sgd", lambda x: HESSIAN @ x - TARGET, START, 400, 0.5)
    np.testing.assert_allclose(trajectory[-1], np.linalg.solve(HESSIAN, TARGET), atol=1e-10)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        (("newton", smooth_gradient, START, 5, 0.1), ValueError, "method"),
        (("adam", "not callable", START, 5, 0.1), TypeError, "gradient"),
        (("adam", smooth_gradient, [1.0, np.nan], 5, 0.1), ValueError, "x0"),
        (("adam", smooth_gradient, [[1.0, 2.0]], 5, 0.1), ValueError, "x0"),
        (("adam", smooth_gradient, START, 5, 0.0), ValueError, "lr"),
        (("adam", smooth_gradient, START, 5, -0.1), ValueError, "lr"),
        (("adam", smooth_gradient, START, 2.5, 0.1), TypeError, "n_steps"),
        (("adam", smooth_gradient, START, -1, 0.1), ValueError, "n_steps"),
        (("adam", lambda x: x[:2], START, 5, 0.1), ValueError, "shape"),
    ],
)
def test_bad_inputs_name_the_argument(arguments, error, message):
    with pytest.raises(error, match=message):
        optimizer_trajectory(*arguments)


def test_bad_hyper_parameters_are_refused():
    with pytest.raises(TypeError, match="momentum"):
        optimizer_trajectory("adam", smooth_gradient, START, 3, 0.1, momentum=0.9)
    with pytest.raises(ValueError, match="betas"):
        optimizer_trajectory("adam", smooth_gradient, START, 3, 0.1, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="nesterov"):
        optimizer_trajectory("sgd", smooth_gradient, START, 3, 0.1, nesterov=True)
    with pytest.raises(ValueError, match="weight_decay"):
        optimizer_trajectory("sgd", smooth_gradient, START, 3, 0.1, weight_decay=-1.0)
    assert set(METHODS) == {"sgd", "adagrad", "rmsprop", "adam", "adamw"}


# --- the batched one-dimensional minimiser


def _wiggly(centres):
    def derivatives(x):
        return (
            (x - centres) ** 2 + 0.1 * np.cos(3 * x),
            2 * (x - centres) - 0.3 * np.sin(3 * x),
            2 - 0.9 * np.cos(3 * x),
        )

    return derivatives


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-3.0, 6.0, allow_nan=False), min_size=1, max_size=30))
def test_batched_minimiser_matches_scipy_bounded(centres):
    centres = np.array(centres)
    result = minimize_scalar_batched(_wiggly(centres), -1.0, 3.0, size=centres.size, tol=1e-12)
    assert result.converged.all()
    for centre, x, value in zip(centres, result.x, result.fun, strict=True):
        reference = minimize_scalar(
            lambda t, c=centre: (t - c) ** 2 + 0.1 * np.cos(3 * t),
            bounds=(-1.0, 3.0),
            method="bounded",
            options={"xatol": 1e-12},
        )
        # equal minimisers, or (on a boundary) equal values to SciPy's bounded tolerance
        assert abs(x - reference.x) < 1e-6 or value <= reference.fun + 1e-12


def test_batched_minimiser_finds_the_better_of_two_basins_and_reports_bounds():
    # f(x) = (x^2 - 1)^2 + 0.3 x has its global minimum near x = -1.04; Newton from x = 0.9 would stop near +0.96
    def derivatives(x):
        return (x**2 - 1) ** 2 + 0.3 * x, 4 * x * (x**2 - 1) + 0.3, 12 * x**2 - 4

    result = minimize_scalar_batched(derivatives, np.array([-2.0, 0.0, -0.5]), np.array([2.0, 2.0, 0.5]))
    reference = brentq(lambda t: derivatives(t)[1], -1.5, -0.5, xtol=1e-14)
    assert result.converged.all()
    np.testing.assert_allclose(result.x[0], reference, atol=1e-8)
    assert 0.9 < result.x[1] < 1.0  # the only minimum in [0, 2]
    # on [-0.5, 0.5] f has a local maximum inside and local minima at both ends; the lower end is lower
    assert result.x[2] == -0.5
    assert result.n_iter[2] == 0


def test_batched_minimiser_bad_inputs():
    def derivatives(x):
        return x**2, 2 * x, 2 + 0 * x

    with pytest.raises(TypeError, match="derivatives"):
        minimize_scalar_batched("f", 0.0, 1.0, size=3)
    with pytest.raises(ValueError, match="size"):
        minimize_scalar_batched(derivatives, 0.0, 1.0)
    with pytest.raises(ValueError, match="lower must be below upper"):
        minimize_scalar_batched(derivatives, np.array([0.0, 2.0]), 1.0)
    with pytest.raises(ValueError, match="upper"):
        minimize_scalar_batched(derivatives, 0.0, np.nan, size=2)
    with pytest.raises(TypeError, match="grid_size"):
        minimize_scalar_batched(derivatives, 0.0, 1.0, size=2, grid_size=5.0)
    with pytest.raises(TypeError, match=r"\(f, g, h\)"):
        minimize_scalar_batched(lambda x: x**2, -1.0, 1.0, size=2)


# --- projections and proximal methods


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-5, 5, allow_nan=False), min_size=2, max_size=8),
    st.floats(0.1, 4.0),
)
def test_simplex_projection_matches_a_quadratic_programme(values, radius):
    point = np.array(values)
    projected = project_simplex(point, radius)
    assert np.all(projected >= 0) and abs(projected.sum() - radius) < 1e-10
    reference = minimize(
        lambda x: 0.5 * np.sum((x - point) ** 2),
        x0=np.full(point.size, radius / point.size),
        jac=lambda x: x - point,
        bounds=[(0, None)] * point.size,
        constraints=[{"type": "eq", "fun": lambda x: x.sum() - radius, "jac": lambda x: np.ones_like(x)}],
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )
    np.testing.assert_allclose(projected, reference.x, atol=1e-6)


def test_simplex_projection_row_wise_and_fixed_points():
    rows = np.array([[0.3, 1.7, -0.4, 0.9], [5.0, 5.0, 5.0, 5.0], [0.1, 0.2, 0.3, 0.4]])
    projected = project_simplex(rows)
    np.testing.assert_allclose(projected, [[0, 0.9, 0, 0.1], [0.25] * 4, [0.1, 0.2, 0.3, 0.4]], atol=1e-15)
    with pytest.raises(ValueError, match="radius"):
        project_simplex(rows, radius=0.0)
    with pytest.raises(ValueError, match="values"):
        project_simplex(np.ones((2, 2, 2)))
    with pytest.raises(TypeError, match="values"):
        project_simplex(["a", "b"])


def test_projected_gradient_reaches_the_constrained_minimum():
    point = np.array([0.9, -0.3, 0.6])
    trajectory = projected_gradient(lambda x: x - point, np.zeros(3), project_simplex, 0.5, 200)
    np.testing.assert_allclose(trajectory[-1], project_simplex(point), atol=1e-12)
    assert trajectory.shape == (201, 3)
    with pytest.raises(ValueError, match="step"):
        projected_gradient(lambda x: x, np.zeros(3), project_simplex, 0.0, 10)
    with pytest.raises(TypeError, match="projection"):
        projected_gradient(lambda x: x, np.zeros(3), None, 0.1, 10)


@pytest.fixture(scope="module")
def lasso_problem():
    rng = np.random.default_rng(7)
    design = rng.normal(size=(60, 12))
    truth = np.zeros(12)
    truth[[0, 3, 5]] = [1.5, -2.0, 0.5]
    return design, design @ truth + 0.3 * rng.normal(size=60)


@pytest.mark.parametrize("accelerated", [False, True])
def test_ista_and_fista_match_sklearn_lasso(lasso_problem, accelerated):
    design, response = lasso_problem
    result = proximal_gradient(design, response, 0.1, accelerated=accelerated, tol=1e-13)
    reference = Lasso(alpha=0.1, fit_intercept=False, tol=1e-14, max_iter=100_000).fit(design, response)
    assert result.converged
    np.testing.assert_allclose(result.coefficients, reference.coef_, atol=1e-9)
    assert np.count_nonzero(result.coefficients) < 12  # the l1 penalty produced exact zeros


def test_fista_is_faster_than_ista_in_objective():
    # badly scaled columns (kappa ~ 30 per column scale) make the difference between O(1/k) and O(1/k^2) visible
    rng = np.random.default_rng(7)
    design = rng.normal(size=(60, 12)) @ np.diag(np.logspace(0, -1.5, 12))
    response = design @ rng.normal(size=12) + 0.1 * rng.normal(size=60)
    best = proximal_gradient(design, response, 1e-3, accelerated=True, tol=1e-15, max_iter=200_000).objective[-1]
    ista = proximal_gradient(design, response, 1e-3, max_iter=100, tol=1e-300)
    fista = proximal_gradient(design, response, 1e-3, accelerated=True, max_iter=100, tol=1e-300)
    assert fista.objective[-1] - best < 0.01 * (ista.objective[-1] - best)
    assert np.all(np.diff(ista.objective) <= 1e-15)  # ISTA is a descent method


def test_nonnegative_least_squares_matches_scipy_nnls(lasso_problem):
    design, response = lasso_problem
    result = proximal_gradient(design, response, 0.0, nonnegative=True, accelerated=True, tol=1e-13)
    np.testing.assert_allclose(result.coefficients, nnls(design, response)[0], atol=1e-8)
    assert np.all(result.coefficients >= 0)


def test_proximal_gradient_bad_inputs(lasso_problem):
    design, response = lasso_problem
    with pytest.raises(ValueError, match="rows"):
        proximal_gradient(design, response[:-1], 0.1)
    with pytest.raises(ValueError, match="lam"):
        proximal_gradient(design, response, -0.1)
    with pytest.raises(ValueError, match="design"):
        proximal_gradient(np.where(design > 0, np.nan, design), response, 0.1)
    with pytest.raises(ValueError, match="Lipschitz"):
        proximal_gradient(np.zeros_like(design), response, 0.1)
    with pytest.raises(TypeError, match="max_iter"):
        proximal_gradient(design, response, 0.1, max_iter=10.5)


def test_indexed_mode_evaluates_only_the_problems_still_iterating():
    centres = np.linspace(-0.8, 2.7, 50)
    sizes = []

    def derivatives(x, rows):
        sizes.append(len(rows))
        c = centres[rows]
        return (x - c) ** 2 + 0.1 * np.cos(3 * x), 2 * (x - c) - 0.3 * np.sin(3 * x), 2 - 0.9 * np.cos(3 * x)

    indexed = minimize_scalar_batched(derivatives, -1.0, 3.0, size=50, indexed=True)
    plain = minimize_scalar_batched(_wiggly(centres), -1.0, 3.0, size=50)
    np.testing.assert_array_equal(indexed.x, plain.x)
    np.testing.assert_array_equal(indexed.n_iter, plain.n_iter)
    assert sizes[:21] == [50] * 21  # the grid and the first Newton evaluation see every problem
    assert min(sizes) < 50  # later iterations only the unconverged ones


def test_a_start_point_finds_the_local_minimum_downhill_and_gtol_stops_at_the_start():
    # f(x) = (x^2 - 1)^2 + 0.3 x: a local minimum near +0.96, the global one near -1.04
    def derivatives(x):
        return (x**2 - 1) ** 2 + 0.3 * x, 4 * x * (x**2 - 1) + 0.3, 12 * x**2 - 4

    local = minimize_scalar_batched(derivatives, -2.0, 2.0, x0=np.array([0.6, 1.8, -0.2]))
    right_root = brentq(lambda t: derivatives(t)[1], 0.5, 1.5, xtol=1e-14)
    left_root = brentq(lambda t: derivatives(t)[1], -1.5, -0.5, xtol=1e-14)
    np.testing.assert_allclose(local.x, [right_root, right_root, left_root], atol=1e-9)
    assert local.converged.all()
    # downhill to a bound: the bound; a flat start (|f'| <= gtol) stays where it is
    edge = minimize_scalar_batched(lambda x: (x, np.ones_like(x), np.zeros_like(x)), -3.0, 5.0, x0=np.array([1.5]))
    assert edge.x[0] == -3.0 and edge.converged[0]
    flat = minimize_scalar_batched(
        lambda x: (1e-7 * x, np.full_like(x, 1e-7), np.zeros_like(x)), -3.0, 5.0, x0=np.array([1.5]), gtol=1e-5
    )
    assert flat.x[0] == 1.5 and flat.n_iter[0] == 0
    with pytest.raises(ValueError, match="x0"):
        minimize_scalar_batched(derivatives, -2.0, 2.0, x0=np.array([2.5]))


def _counting(derivatives, points):
    def wrapped(x):
        points.append(x.copy())
        return derivatives(x)

    return wrapped


def test_a_start_brackets_with_newton_and_reaches_a_far_bound_in_logarithmic_steps():
    # a quadratic: the first (Newton) step from the start lands on the minimum; nothing else is evaluated
    centres = np.array([-2.3, 0.7, 4.1])
    points = []
    quadratic = _counting(lambda x: ((x - centres) ** 2, 2 * (x - centres), np.full_like(x, 2.0)), points)
    result = minimize_scalar_batched(quadratic, -10.0, 10.0, x0=np.array([1.0, -3.0, 9.5]))
    np.testing.assert_allclose(result.x, centres, atol=1e-14)
    assert result.converged.all() and len(points) == 2  # the start, then one Newton step for every problem
    # a slope that never vanishes: the steps double from 0.5, so a bound 1000 away takes 12 evaluations, not 2000
    points.clear()
    linear = _counting(lambda x: (x, np.ones_like(x), np.zeros_like(x)), points)
    edge = minimize_scalar_batched(linear, -1000.0, 5.0, x0=np.array([0.0]))
    assert edge.x[0] == -1000.0 and edge.converged[0]
    assert len(points) <= 1 + int(np.ceil(np.log2(1000 / 0.5))) + 1


def test_newton_stops_when_its_own_step_is_below_tol_even_if_it_rounds_to_zero():
    # f = (x - c)^2 + (x - c)^4 with c not representable: Newton's last step rounds to 0 (x itself); that must end
    # the search there, not trigger bisection across the bracket (which once cost 20 extra evaluations)
    c = 1.0 / 3.0
    points = []
    quartic = _counting(
        lambda x: ((x - c) ** 2 + (x - c) ** 4, 2 * (x - c) + 4 * (x - c) ** 3, 2 + 12 * (x - c) ** 2), points
    )
    result = minimize_scalar_batched(quartic, -5.0, 5.0, x0=np.array([2.9]), tol=1e-15)
    assert abs(result.x[0] - c) <= 1e-15 and result.converged[0]
    assert len(points) <= 9
    errors = [abs(x[0] - c) for x in points]
    assert all(later <= before for before, later in zip(errors, errors[1:], strict=False))  # never thrown back
