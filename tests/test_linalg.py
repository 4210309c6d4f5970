"""utils.linalg against NumPy/SciPy and on bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utils import linalg


def _design(rng, n=12, p=3):
    return np.column_stack([np.ones(n), rng.standard_normal((n, p - 1))])


def test_condition_report_matches_numpy():
    design = _design(np.random.default_rng(1))
    report = linalg.condition_report(design)
    assert report.full_rank and report.rank == 3
    assert report.condition_number == pytest.approx(np.linalg.cond(design), rel=1e-12)
    np.testing.assert_allclose(report.singular_values, np.linalg.svd(design, compute_uv=False))
    assert report.collinear == []


def test_confounded_batch_is_named():
    condition = np.repeat([0.0, 1.0], 3)
    design = np.column_stack([np.ones(6), condition, np.tile([0.0, 1.0, 0.0], 2), condition])
    report = linalg.condition_report(design, ["intercept", "condition", "lane", "batch"])
    assert report.rank == 3 and report.condition_number == np.inf
    assert report.collinear == [["condition", "batch"]]
    with pytest.raises(ValueError, match=r"condition number inf, collinear columns: condition, batch"):
        linalg.check_design(design, ["intercept", "condition", "lane", "batch"])


def test_near_collinear_design_is_refused_above_the_threshold():
    rng = np.random.default_rng(2)
    time = np.arange(10.0)
    design = np.column_stack([np.ones(10), time, time + 1e-11 * rng.standard_normal(10)])
    report = linalg.condition_report(design)
    assert 1e10 < report.condition_number < np.inf
    assert report.collinear and {"x1", "x2"} <= set(report.collinear[0])
    with pytest.raises(ValueError, match="numerically singular"):
        linalg.check_design(design)
    assert linalg.check_design(design, max_condition=1e14).shape == (10, 3)


def test_lstsq_qr_names_collinear_columns():
    design = np.column_stack([np.ones(6), np.repeat([0.0, 1.0], 3), np.repeat([0.0, 1.0], 3)])
    with pytest.raises(ValueError, match="collinear columns: condition, batch"):
        linalg.lstsq_qr(design, np.ones(6), ["intercept", "condition", "batch"])


def test_condition_report_of_a_wide_matrix_finds_its_null_directions():
    report = linalg.condition_report(np.array([[1.0, 2.0, 3.0]]))
    assert report.rank == 1 and report.singular_values.size == 3
    assert len(report.collinear) == 2


def test_wide_design_is_refused():
    with pytest.raises(ValueError, match="fewer rows"):
        linalg.check_design(np.ones((2, 3)))


@settings(max_examples=30, deadline=None)
@given(st.integers(4, 30), st.integers(1, 4), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_lstsq_qr_matches_numpy(n, p, m, seed):
    rng = np.random.default_rng(seed)
    design = _design(rng, n=max(n, p + 1), p=p)
    responses = rng.standard_normal((design.shape[0], m))
    expected = np.linalg.lstsq(design, responses, rcond=None)[0]
    np.testing.assert_allclose(linalg.lstsq_qr(design, responses), expected, atol=1e-10)
    np.testing.assert_allclose(linalg.lstsq_qr(design, responses[:, 0]), expected[:, 0], atol=1e-10)


def test_lstsq_qr_beats_normal_equations_on_an_ill_conditioned_design():
    t = np.linspace(0, 1, 40)
    design = np.vander(t, 10, increasing=True)
    truth = np.ones(10)
    responses = design @ truth
    qr_error = np.linalg.norm(linalg.lstsq_qr(design, responses) - truth)
    normal_error = np.linalg.norm(np.linalg.solve(design.T @ design, design.T @ responses) - truth)
    assert qr_error < normal_error / 100


@pytest.mark.parametrize(
    ("responses", "message"),
    [(np.ones(5), "shape"), (np.ones((6, 2, 2)), "shape"), (np.full(6, np.nan), "NaN")],
)
def test_lstsq_qr_rejects_bad_responses(responses, message):
    with pytest.raises(ValueError, match=message):
        linalg.lstsq_qr(_design(np.random.default_rng(0), n=6), responses)


@pytest.mark.parametrize(
    ("design", "message"),
    [(np.ones(4), "2-D"), (np.array([[1.0, np.inf], [1.0, 2.0]]), "NaN or infinite"), (np.ones((0, 2)), "empty")],
)
def test_condition_report_rejects_bad_designs(design, message):
    with pytest.raises(ValueError, match=message):
        linalg.condition_report(design)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: linalg.condition_report(np.array([["a", "b"], ["c", "d"]])), "design must be numeric"),
        (lambda: linalg.check_design(np.eye(3, dtype=bool)), "design must be numeric"),
        (lambda: linalg.lstsq_qr(np.eye(3), ["a", "b", "c"]), "responses must be numeric"),
        (lambda: linalg.soft_threshold([1.0], "0.5"), "threshold must be a real number"),
        (lambda: linalg.check_design(np.eye(3), max_condition="big"), "max_condition must be a real number"),
    ],
)
def test_the_wrong_kind_of_input_raises_type_error(call, match):
    with pytest.raises(TypeError, match=match):
        call()


def test_lstsq_qr_error_names_the_columns_it_is_given():
    cells = np.repeat(np.eye(3), 2, axis=0)
    design = np.column_stack([np.ones(6), cells])  # intercept = sum of the three indicators
    with pytest.raises(ValueError, match="collinear columns: intercept, cell_a, cell_b, cell_c"):
        linalg.lstsq_qr(design, np.ones(6), column_names=["intercept", "cell_a", "cell_b", "cell_c"])


def test_condition_report_checks_column_names():
    with pytest.raises(ValueError, match="column_names has 2 names"):
        linalg.condition_report(np.eye(3), ["a", "b"])


def test_soft_threshold_closed_form():
    values = np.array([-3.0, -0.5, 0.0, 0.2, 2.5])
    np.testing.assert_array_equal(linalg.soft_threshold(values, 1.0), [-2.0, 0.0, 0.0, 0.0, 1.5])
    np.testing.assert_array_equal(linalg.soft_threshold(values, 0.0), values)


@settings(max_examples=50, deadline=None)
@given(st.floats(-10, 10), st.floats(0, 5))
def test_soft_threshold_is_the_l1_proximal_operator(z, lam):
    # argmin_x 0.5 (x - z)^2 + lam |x|, found by brute force on a fine grid
    grid = np.linspace(-12, 12, 240_001)
    best = grid[np.argmin(0.5 * (grid - z) ** 2 + lam * np.abs(grid))]
    assert float(linalg.soft_threshold(z, lam)) == pytest.approx(best, abs=2e-4)


@pytest.mark.parametrize(("values", "threshold"), [([1.0], -0.1), ([1.0], np.nan), ([np.inf], 1.0)])
def test_soft_threshold_rejects_bad_input(values, threshold):
    with pytest.raises(ValueError):
        linalg.soft_threshold(values, threshold)
