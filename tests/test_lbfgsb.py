"""utils.lbfgsb.lbfgsb_scalar_batched against scipy.optimize.minimize(method="L-BFGS-B"), problem by problem.

SciPy is run once per problem, as PyDESeq2 runs it per gene. Where SciPy's own path is decided by rounding, no
reimplementation can be expected to stop where it stops: such a problem is recognised by running SciPy again
with the start moved by one ulp, or the gradient scaled by 1 +- 2**-52 or 1 +- 2**-51, and finding a final x
more than 1e-10 away. Every other problem must end within 1e-10 of SciPy, with the same success flag,
iteration count and number of evaluations.
"""

from dataclasses import FrozenInstanceError

import numpy as np
import pytest
from scipy.optimize import minimize

from utils.lbfgsb import LBFGSB_STATUS, LBFGSBResult, lbfgsb_scalar_batched

TOLERANCE = 1e-10
PERTURBATIONS = (("up", 1.0), ("down", 1.0)) + tuple(
    ("gradient", 1.0 + e) for e in (2.0**-52, -(2.0**-52), 2.0**-51, -(2.0**-51))
)


def scipy_lbfgsb(fun_and_grad, lower, upper, x0, *, gradient_scale=1.0, max_iter=15000):
    """SciPy's L-BFGS-B on one problem; fun_and_grad(t) returns the scalars (f, g)."""

    def wrapped(t):
        value, slope = fun_and_grad(float(t[0]))
        return float(value), np.array([float(slope) * gradient_scale])

    return minimize(wrapped, [x0], jac=True, method="L-BFGS-B", bounds=[(lower, upper)], options={"maxiter": max_iter})


def decided_by_rounding(fun_and_grad, lower, upper, x0, reference_x, **options):
    """Does SciPy end more than TOLERANCE away after a one-ulp change of the start or of the gradient?"""
    for kind, scale in PERTURBATIONS:
        start = x0
        if kind != "gradient":  # one ulp up or down, staying inside the box
            start = np.clip(np.nextafter(x0, np.inf if kind == "up" else -np.inf), lower, upper)
        moved = scipy_lbfgsb(fun_and_grad, lower, upper, start, gradient_scale=scale, **options).x[0]
        if abs(moved - reference_x) > TOLERANCE:
            return True
    return False


def compare_with_scipy(batched, scalar, lower, upper, x0, max_iter=15000):
    """Run both; return the result, SciPy's results and a list of (problem, description) disagreements."""
    result = lbfgsb_scalar_batched(batched, lower, upper, x0, indexed=True, max_iter=max_iter)
    references, disagreements, rounding = [], [], []
    for i in range(len(x0)):

        def one(t, i=i):
            return scalar(t, i)

        reference = scipy_lbfgsb(one, lower[i], upper[i], x0[i], max_iter=max_iter)
        references.append(reference)
        ours = (result.x[i], bool(result.success[i]), int(result.n_iter[i]), int(result.n_eval[i]))
        theirs = (reference.x[0], bool(reference.success), int(reference.nit), int(reference.nfev))
        if abs(ours[0] - theirs[0]) <= TOLERANCE and ours[1:] == theirs[1:]:
            continue
        if decided_by_rounding(one, lower[i], upper[i], x0[i], reference.x[0], max_iter=max_iter):
            rounding.append(i)
            continue
        disagreements.append(f"problem {i} from x0={x0[i]!r}: ours {ours} (status {result.status[i]}), SciPy {theirs}")
    return result, references, disagreements, rounding


def random_problems(seed=7, size=60):
    """Quadratics, quartics (one or two local minima) and functions with a flat stretch near the lower bound."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.05, 40.0, size)
    centre = rng.uniform(-3.5, 3.5, size)  # some minima outside the box: the solution is then on a bound
    quartic = np.column_stack([rng.uniform(0.2, 4.0, size), rng.uniform(-3.0, 3.0, size), rng.uniform(-2, 2, size)])
    # c e^t - log(1 + e^(t - m)): flat as t -> -inf, a minimum or a plateau depending on c and m
    weight, shift = 10.0 ** rng.uniform(-3, 1, size), rng.uniform(-6.0, 1.0, size)

    def batched(x, rows):
        kind, k = rows // size, rows % size
        a, b, c = quartic[k].T
        logistic = 1.0 / (1.0 + np.exp(shift[k] - x))
        value = np.select(
            [kind == 0, kind == 1],
            [scale[k] * (x - centre[k]) ** 2 + 0.37, a * x**4 + b * x**2 + c * x],
            weight[k] * np.exp(x) - np.log1p(np.exp(x - shift[k])),
        )
        slope = np.select(
            [kind == 0, kind == 1],
            [2.0 * scale[k] * (x - centre[k]), 4.0 * a * x**3 + 2.0 * b * x + c],
            weight[k] * np.exp(x) - logistic,
        )
        return value, slope

    def scalar(t, i):
        value, slope = batched(np.array([t]), np.array([i]))
        return value[0], slope[0]

    lower = np.concatenate([rng.uniform(-4.0, -0.5, 2 * size), np.full(size, np.log(1e-8))])
    upper = np.concatenate([rng.uniform(0.5, 4.0, 2 * size), np.full(size, np.log(10.0))])
    x0 = rng.uniform(lower, upper)
    # starts on a bound, the slope pointing into the box or out of it
    x0[::9] = lower[::9]
    x0[4::9] = upper[4::9]
    return batched, scalar, lower, upper, x0


def test_random_problems_match_scipy_step_for_step():
    batched, scalar, lower, upper, x0 = random_problems()
    result, references, disagreements, rounding = compare_with_scipy(batched, scalar, lower, upper, x0)
    assert not disagreements, "\n".join(disagreements)
    # the comparison is not vacuous: almost no problem is excused, and the battery covers the cases
    assert len(rounding) <= 3, f"decided by rounding in SciPy: {rounding}"
    on_bound = (result.x == lower) | (result.x == upper)
    assert on_bound.sum() >= 10 and (~on_bound).sum() >= 100
    assert np.sum(result.n_iter == 0) >= 5  # starts on a bound with the slope pointing out
    assert set(np.unique(result.status)) == {0, 1}
    assert result.n_iter.max() >= 10
    np.testing.assert_allclose(result.fun, [r.fun for r in references], rtol=1e-9, atol=1e-12)


def test_memory_reset_after_the_variable_returns_from_the_bound():
    # iteration 2's Cauchy point is the upper bound; when the variable is free again in iteration 3,
    # L-BFGS-B's incrementally updated K matrix is stale, its factorisation fails and the memory is reset:
    # the first trial point is x - g (B = 1), not x - g s/y as one BFGS update would give.
    a, b, c = 3.35, -0.89, -1.64

    def scalar(t):
        return a * t**4 + b * t**2 + c * t, 4 * a * t**3 + 2 * b * t + c

    seen_by_scipy, seen_by_us = [], []

    def logged(t):
        seen_by_scipy.append(t)
        return scalar(t)

    def batched(x):
        seen_by_us.append(float(x[0]))
        return scalar(x)

    reference = scipy_lbfgsb(logged, -3.2, 1.83, -0.47)
    result = lbfgsb_scalar_batched(batched, -3.2, 1.83, -0.47)
    assert seen_by_us == seen_by_scipy[: len(seen_by_us)] and len(seen_by_us) == reference.nfev == 10
    x, g = seen_by_us[4], scalar(seen_by_us[4])[1]
    assert seen_by_us[5] == x - g
    assert result.x[0] == reference.x[0] and result.n_iter[0] == reference.nit == 6


@pytest.mark.parametrize(
    ("name", "scalar", "bounds", "x0", "message"),
    [
        # the reported slope has the wrong sign: every line search fails, at once abnormal
        ("wrong sign", lambda t: ((t - 1.0) ** 2, -2.0 * (t - 1.0)), (-5.0, 5.0), 3.0, "ABNORMAL"),
        # a rough function: the line search fails later, the memory is reset, then it fails again
        ("rough", lambda t: ((t - 1) ** 2 + 1e-3 * np.sin(1e4 * t), 2 * (t - 1)), (-5.0, 5.0), 3.0, "ABNORMAL"),
        ("kink", lambda t: (abs(t - 0.3), np.sign(t - 0.3)), (-5.0, 5.0), 3.0, "RELATIVE REDUCTION"),
        ("linear", lambda t: (2.5 * t, 2.5), (-5.0, 5.0), 1.3, "PROJECTED GRADIENT"),
        ("concave", lambda t: (-((t - 0.2) ** 2), -2 * (t - 0.2)), (-5.0, 5.0), 0.1, "PROJECTED GRADIENT"),
        ("flat at the floor", lambda t: (np.exp(t), np.exp(t)), (np.log(1e-8), np.log(10.0)), -2.0, "PROJECTED"),
        ("constant", lambda t: (1.0, 0.0), (-5.0, 5.0), 1.3, "PROJECTED GRADIENT"),
        ("lower bound, slope in", lambda t: ((t - 1) ** 2, 2 * (t - 1)), (-5.0, 5.0), -5.0, "PROJECTED"),
        ("lower bound, slope out", lambda t: ((t + 7) ** 2, 2 * (t + 7)), (-5.0, 5.0), -5.0, "PROJECTED"),
        ("upper bound, slope in", lambda t: ((t - 1) ** 2, 2 * (t - 1)), (-5.0, 5.0), 5.0, "PROJECTED"),
        ("upper bound, slope out", lambda t: ((t - 7) ** 2, 2 * (t - 7)), (-5.0, 5.0), 5.0, "PROJECTED"),
    ],
)
def test_special_cases_match_scipy(name, scalar, bounds, x0, message):
    reference = scipy_lbfgsb(scalar, *bounds, x0)
    assert message in reference.message  # the case exercises the path it is named for

    def batched(x):
        value, slope = scalar(x[0])
        return np.array([value]), np.array([slope])

    result = lbfgsb_scalar_batched(batched, *bounds, [x0])
    assert result.x[0] == pytest.approx(reference.x[0], abs=TOLERANCE)
    assert (result.success[0], result.n_iter[0], result.n_eval[0]) == (reference.success, reference.nit, reference.nfev)
    # SciPy returns f and g at x, also after an abnormal stop (where x is the last line search's start)
    assert result.fun[0] == pytest.approx(reference.fun, abs=1e-12)
    assert result.grad[0] == pytest.approx(reference.jac[0], abs=1e-12)
    expected = {"ABNORMAL": 2, "RELATIVE REDUCTION": 1}.get(message, 0)
    assert result.status[0] == expected
    assert LBFGSB_STATUS[expected].startswith("abnormal" if expected == 2 else "converged")


def test_iteration_limit_matches_scipy():
    def scalar(t):
        return t**4 - t, 4 * t**3 - 1

    reference = scipy_lbfgsb(scalar, -5.0, 5.0, 3.0, max_iter=3)
    result = lbfgsb_scalar_batched(lambda x: scalar(x), -5.0, 5.0, [3.0], max_iter=3)
    assert "ITERATIONS REACHED LIMIT" in reference.message
    assert result.status[0] == 3 and not result.success[0]
    assert (result.n_iter[0], result.n_eval[0]) == (reference.nit, reference.nfev)
    assert result.x[0] == pytest.approx(reference.x[0], abs=TOLERANCE)


def test_indexed_and_plain_calls_agree_and_only_running_problems_are_evaluated():
    batched, _, lower, upper, x0 = random_problems(seed=3, size=20)
    sizes = []

    def indexed(x, rows):
        sizes.append(len(rows))
        return batched(x, rows)

    def plain(x):
        return batched(x, np.arange(len(x)))

    first = lbfgsb_scalar_batched(indexed, lower, upper, x0, indexed=True)
    second = lbfgsb_scalar_batched(plain, lower, upper, x0)
    for field in ("x", "fun", "grad", "n_iter", "n_eval", "success", "status"):
        np.testing.assert_array_equal(getattr(first, field), getattr(second, field))
    assert sizes[0] == len(x0) and min(sizes) < len(x0) // 4
    assert sum(sizes) == first.n_eval.sum()  # each evaluation asked for once: none repeated at the same point


# ---------------------------------------------------------------------------------------------- pasilla
@pytest.fixture(scope="module")
def pasilla_problem():
    from utils import deseq as ds
    from utils.data import load_pasilla
    from utils.dispersion import gene_objective
    from utils.glm import size_factors_median_of_ratios

    pasilla = load_pasilla()
    design = ds.build_design(pasilla.samples, "~ type + condition").to_numpy()
    counts = pasilla.counts.to_numpy(dtype=float)
    counts = counts[counts.sum(axis=1) > 0]
    size_factors = size_factors_median_of_ratios(counts)
    start = ds.initial_dispersions(counts / size_factors, size_factors, design, (1e-8, 10.0))
    means = ds.fitted_means_for_dispersion(counts, size_factors, design, start)
    return gene_objective(counts, means, design), np.log(start)


def test_pasilla_dispersions_match_scipy_gene_by_gene(pasilla_problem):
    objective, theta0 = pasilla_problem
    lower, upper = np.log(1e-8), np.log(10.0)
    rng = np.random.default_rng(11)
    at_floor = np.flatnonzero(theta0 <= lower)
    elsewhere = np.flatnonzero(theta0 > lower)

    # add genes with long runs (a slow descent along the flat stretch towards alpha = 0), found by a first pass
    def everything(x, rows):
        terms = objective(x, rows)
        return -terms.value, -terms.first

    long_runs = np.flatnonzero(lbfgsb_scalar_batched(everything, lower, upper, theta0, indexed=True).n_iter >= 10)
    picked = [
        rng.choice(at_floor, 100, replace=False),
        rng.choice(elsewhere, 140, False),
        rng.choice(long_runs, 60, False),
    ]
    genes = np.unique(np.concatenate(picked))

    def batched(x, rows):
        terms = objective(x, genes[rows])
        return -terms.value, -terms.first

    def scalar(t, i):
        # a gene evaluated alone rounds differently (a matrix-vector instead of a matrix product): evaluate it
        # twice in one call, which gives bit for bit what the batched call gives
        terms = objective(np.full(2, t), np.full(2, genes[i]))
        return -terms.value[0], -terms.first[0]

    size = len(genes)
    result, references, disagreements, rounding = compare_with_scipy(
        batched, scalar, np.full(size, lower), np.full(size, upper), theta0[genes]
    )
    assert not disagreements, "\n".join(disagreements)
    # the genes excused are long descents along the flat stretch towards alpha = 0, where each step is a secant
    # step on a slope of 1e-3..1e-5 whose last bits are rounding noise; they still end close to SciPy
    assert np.all(result.n_iter[rounding] >= 8), f"short runs decided by rounding: {genes[rounding]}"
    assert len(rounding) <= 0.25 * len(genes)
    scipy_x = np.array([r.x[0] for r in references])
    assert np.max(np.abs(result.x - scipy_x)) < 1e-6
    assert np.all(result.success == [r.success for r in references])
    # starts at the floor that stay (slope test at the start) and that climb; both ways to converge; long runs
    floor = theta0[genes] <= lower
    assert np.any(result.n_iter[floor] == 0) and np.any(result.n_iter[floor] > 0)
    assert set(np.unique(result.status)) == {0, 1} and np.sum(result.n_iter >= 10) >= 40


# ---------------------------------------------------------------------------------------------- validation
def quadratic(x):
    return (x - 0.3) ** 2, 2 * (x - 0.3)


def test_result_is_frozen_and_named_like_scipy():
    result = lbfgsb_scalar_batched(quadratic, -1.0, 1.0, [0.7, -0.2])
    assert isinstance(result, LBFGSBResult)
    np.testing.assert_allclose(result.x, 0.3, atol=1e-8)
    with pytest.raises(FrozenInstanceError):
        result.x = np.zeros(2)


@pytest.mark.parametrize(
    ("arguments", "options", "error", "name"),
    [
        (("not callable", -1.0, 1.0, 0.0), {}, TypeError, "fun_and_grad"),
        ((quadratic, 1.0, -1.0, 0.0), {}, ValueError, "lower"),
        ((quadratic, -1.0, 1.0, 1.5), {}, ValueError, "x0"),
        ((quadratic, -1.0, 1.0, [0.0, -1.2]), {}, ValueError, "x0"),
        ((quadratic, [-1.0, -1.0], 1.0, [0.0, 0.1, 0.2]), {}, ValueError, "lower, upper and x0"),
        ((quadratic, -1.0, 1.0, [[0.0]]), {}, ValueError, "x0"),
        ((quadratic, np.nan, 1.0, 0.0), {}, ValueError, "lower"),
        ((quadratic, -1.0, np.inf, 0.0), {}, ValueError, "upper"),
        ((quadratic, -1.0, 1.0, "a"), {}, TypeError, "x0"),
        ((quadratic, -1.0, 1.0, 0.0), {"ftol": 0.0}, ValueError, "ftol"),
        ((quadratic, -1.0, 1.0, 0.0), {"ftol": -1e-9}, ValueError, "ftol"),
        ((quadratic, -1.0, 1.0, 0.0), {"pgtol": 0.0}, ValueError, "pgtol"),
        ((quadratic, -1.0, 1.0, 0.0), {"maxls": 0}, ValueError, "maxls"),
        ((quadratic, -1.0, 1.0, 0.0), {"max_iter": 2.5}, TypeError, "max_iter"),
        ((quadratic, -1.0, 1.0, 0.0), {"indexed": "yes"}, TypeError, "indexed"),
        ((lambda x: x, -1.0, 1.0, 0.0), {}, TypeError, "fun_and_grad"),
        ((lambda x: (x, np.ones(3)), -1.0, 1.0, [0.0, 0.5]), {}, ValueError, "fun_and_grad"),
    ],
)
def test_bad_inputs_raise_naming_the_argument(arguments, options, error, name):
    with pytest.raises(error, match=name):
        lbfgsb_scalar_batched(*arguments, **options)


def test_equal_bounds_fix_the_variable_like_scipy():
    result = lbfgsb_scalar_batched(quadratic, [2.0, -1.0], [2.0, 1.0], [2.0, 0.9])
    assert result.x[0] == 2.0 and result.n_iter[0] == 0 and result.n_eval[0] == 1 and result.success[0]
    assert result.x[1] == pytest.approx(0.3, abs=1e-8)
