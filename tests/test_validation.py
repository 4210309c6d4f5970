"""utils._validation: one exception type per mistake, and messages that name the argument."""

import numpy as np
import pandas as pd
import pytest
import torch

from utils import _validation as v
from utils import data, glm


def test_as_array_accepts_lists_tensors_and_frames():
    np.testing.assert_array_equal(v.as_array([1, 2], "x"), [1.0, 2.0])
    np.testing.assert_array_equal(v.as_array(torch.tensor([1.5, 2.5]), "x"), [1.5, 2.5])
    assert v.as_matrix(pd.DataFrame([[1, 2]]), "m").shape == (1, 2)
    assert v.as_array([1, 2], "x").dtype == np.float64


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: v.as_array(["a", "b"], "values"), TypeError, "values must be numeric"),
        (lambda: v.as_array(np.array([True, False]), "mask"), TypeError, "mask must be numeric"),
        (lambda: v.as_vector([[1.0]], "x0"), ValueError, "x0 must be a 1-D vector"),
        (lambda: v.as_matrix([1.0, 2.0], "design"), ValueError, "design must be a 2-D matrix"),
        (lambda: v.as_vector([], "x0"), ValueError, "x0 must not be empty"),
        (lambda: v.as_vector([1.0, np.nan], "x0"), ValueError, "x0 contains NaN"),
        (lambda: v.as_counts([[1, -2]], "counts"), ValueError, "negative"),
        (lambda: v.as_counts([[1, 2.5]], "counts"), ValueError, "non-integer"),
        (lambda: v.as_counts([[1, np.inf]], "counts"), ValueError, "NaN or infinite"),
        (lambda: v.as_counts([[True]], "counts"), TypeError, "counts must be numeric"),
        (lambda: v.check_scalar("0.1", "lr"), TypeError, "lr must be a real number"),
        (lambda: v.check_scalar(True, "lr"), TypeError, "lr must be a real number"),
        (lambda: v.check_scalar(0.0, "lr", positive=True), ValueError, "lr must be positive"),
        (lambda: v.check_scalar(-1e-3, "lam", nonnegative=True), ValueError, "lam must be non-negative"),
        (lambda: v.check_scalar(np.inf, "tol"), ValueError, "tol must be finite"),
        (lambda: v.check_scalar(1.5, "alpha", upper=1.0), ValueError, "alpha must be at most 1.0"),
        (lambda: v.check_integer(2.0, "n_folds"), TypeError, "n_folds must be an integer"),
        (lambda: v.check_integer(True, "n_folds"), TypeError, "n_folds must be an integer"),
        (lambda: v.check_integer(1, "n_folds", minimum=2), ValueError, "n_folds must be at least 2"),
        (lambda: v.check_integer(9, "rank", maximum=8), ValueError, "rank must be at most 8"),
        (lambda: v.check_callable(3, "gradient"), TypeError, "gradient must be a function"),
    ],
)
def test_each_mistake_has_its_exception_and_names_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_numpy_integers_and_floats_are_accepted():
    assert v.check_integer(np.int64(3), "k") == 3
    assert v.check_scalar(np.float32(0.5), "lr", positive=True) == 0.5


def test_same_labels_refuses_other_samples_and_other_orders():
    v.check_same_labels(["a", "b"], pd.Index(["a", "b"]), "counts.columns", "design.index")
    with pytest.raises(ValueError, match="different order"):
        v.check_same_labels(["a", "b"], ["b", "a"], "counts.columns", "design.index")
    with pytest.raises(ValueError, match=r"1 only in counts.columns .*\['c'\]"):
        v.check_same_labels(["a", "c"], ["a", "b"], "counts.columns", "design.index")


_COUNTS = pd.DataFrame([[4, 0, 7], [1, 9, 3]], index=["g1", "g2"], columns=["s1", "s2", "s3"])
_DESIGN = pd.DataFrame({"intercept": 1.0, "x": [0.0, 1.0, 1.0]}, index=["s1", "s2", "s3"])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: glm.fit_nb_glm(_COUNTS, _DESIGN, size_factors="abc", dispersion=0.1), TypeError, "size_factors"),
        (
            lambda: glm.fit_nb_glm(_COUNTS, _DESIGN, size_factors=np.ones(3, bool), dispersion=0.1),
            TypeError,
            "size_factors must be numeric",
        ),
        (lambda: glm.fit_nb_glm(_COUNTS, _DESIGN, dispersion="x"), TypeError, "dispersion must be numeric"),
        (lambda: glm.fit_nb_glm(_COUNTS, _DESIGN, dispersion=[0.1, np.nan]), ValueError, "dispersion contains NaN"),
        (lambda: glm.deviance(_COUNTS, "abc"), TypeError, "means must be numeric"),
        (lambda: glm.deviance(_COUNTS, np.ones((2, 3)), "x"), TypeError, "dispersion must be numeric"),
        (lambda: data.log_cpm(_COUNTS, prior_count="a"), TypeError, "prior_count must be a real number"),
        (lambda: data.log_cpm(_COUNTS, prior_count=True), TypeError, "prior_count must be a real number"),
        (lambda: data.log_cpm(_COUNTS, prior_count=0.0), ValueError, "prior_count must be positive"),
        (lambda: data.cpm(-_COUNTS), ValueError, "counts contains negative values"),
        (lambda: data.normalize_log1p(_COUNTS.astype(bool)), TypeError, "counts must be numeric"),
    ],
)
def test_utils_functions_raise_the_shared_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_labelled_size_factors_and_dispersions_are_paired_by_label_not_position():
    factors = pd.Series([0.8, 1.0, 1.25], index=["s1", "s2", "s3"])
    glm.fit_nb_glm(_COUNTS, _DESIGN, size_factors=factors, dispersion=0.1)  # same labels, same order: accepted
    with pytest.raises(ValueError, match="different order"):
        glm.fit_nb_glm(_COUNTS, _DESIGN, size_factors=factors[::-1], dispersion=0.1)
    with pytest.raises(ValueError, match="only in counts.columns"):
        glm.fit_nb_glm(_COUNTS, _DESIGN, size_factors=factors.set_axis(["a", "b", "c"]), dispersion=0.1)
    dispersion = pd.Series([0.1, 0.2], index=["g1", "g2"])
    with pytest.raises(ValueError, match="different order"):
        glm.fit_nb_glm(_COUNTS, _DESIGN, dispersion=dispersion[::-1])
    with pytest.raises(ValueError, match="different order"):
        glm.deviance(_COUNTS, np.ones((2, 3)), dispersion[::-1])
