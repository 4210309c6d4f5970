"""Linear-algebra helpers the lessons reuse: design diagnostics, least squares for many responses, soft-thresholding.

References: Trefethen & Bau, *Numerical Linear Algebra*, lectures 7-8 (QR), 11 (least squares) and 12
(conditioning); Golub & Van Loan, *Matrix Computations*, sec. 5.5 (rank deficiency).

Inputs are validated with :mod:`utils._validation`: a non-numeric matrix or threshold raises ``TypeError``; a wrong
shape, NaN, infinity or a negative threshold raises ``ValueError``, naming the argument.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import solve_triangular

from utils._validation import as_array, as_matrix, check_scalar


@dataclass(frozen=True)
class ConditionReport:
    """Numerical health of a design matrix X (samples x coefficients).

    Attributes
    ----------
    condition_number : float
        :math:`\\kappa_2(X) = \\sigma_{max}/\\sigma_{min}`; ``inf`` when X is rank deficient.
    rank : int
        Numerical rank: singular values above ``tolerance``.
    singular_values : numpy.ndarray
        In decreasing order.
    tolerance : float
        :math:`\\max(n, p)\\,\\varepsilon\\,\\sigma_{max}`, the LAPACK/NumPy default rank cut-off.
    collinear : list of list of str
        For each (near-)null direction of X, the columns that take part in it: a combination of these
        columns is (almost) zero, so their coefficients are not separately estimable.
    """

    condition_number: float
    rank: int
    singular_values: np.ndarray
    tolerance: float
    collinear: list[list[str]] = field(default_factory=list)

    @property
    def full_rank(self) -> bool:
        return self.rank == self.singular_values.size

    def __str__(self) -> str:
        groups = "; ".join(", ".join(group) for group in self.collinear) or "none"
        return (
            f"rank {self.rank} of {self.singular_values.size}, condition number {self.condition_number:.3g}, "
            f"collinear columns: {groups}"
        )


def condition_report(
    design: np.ndarray,
    column_names: Sequence[str] | None = None,
    near_singular: float = 1e10,
) -> ConditionReport:
    """Singular values, numerical rank, condition number and collinear column groups of a design matrix.

    Directions whose singular value is below the rank tolerance, or which make :math:`\\kappa` exceed
    ``near_singular``, are reported as collinear: the columns with a non-negligible weight in the
    corresponding right singular vector are listed.

    Parameters
    ----------
    design : array_like, shape (n, p)
    column_names : sequence of str, optional
        Names for the p columns (e.g. ``["intercept", "type", "condition"]``); default ``x0 .. x{p-1}``.
    near_singular : float
        Condition number above which a direction counts as numerically collinear.
    """
    matrix = as_matrix(design, "design")
    check_scalar(near_singular, "near_singular", positive=True)
    n_rows, n_cols = matrix.shape
    names = [f"x{k}" for k in range(n_cols)] if column_names is None else [str(c) for c in column_names]
    if len(names) != n_cols:
        raise ValueError(f"column_names has {len(names)} names but design has {n_cols} columns")
    # all p right singular vectors are needed, null directions included; the thin SVD has them when n >= p
    # and avoids forming an n x n U for tall designs
    singular_values, right_vectors = np.linalg.svd(matrix, full_matrices=n_rows < n_cols)[1:]
    padded = np.zeros(n_cols)
    padded[: singular_values.size] = singular_values
    tolerance = max(n_rows, n_cols) * np.finfo(float).eps * padded[0]
    rank = int(np.sum(padded > tolerance))
    condition = float(padded[0] / padded[-1]) if padded[-1] > tolerance else float("inf")
    weak = [k for k in range(n_cols) if padded[k] <= tolerance or padded[0] > near_singular * padded[k]]
    collinear = []
    for k in weak:
        weights = np.abs(right_vectors[k])
        collinear.append([names[j] for j in np.flatnonzero(weights > 1e-6 * weights.max())])
    return ConditionReport(condition, rank, padded, tolerance, collinear)


def check_design(
    design: np.ndarray,
    column_names: Sequence[str] | None = None,
    max_condition: float = 1e10,
    name: str = "design",
) -> np.ndarray:
    """Return ``design`` as a float array, or raise ``ValueError`` if it is rank deficient or near-singular.

    The message gives the condition number and the collinear columns, e.g. a batch column identical to the
    condition column, so the user knows which coefficients cannot be separated.
    """
    matrix = as_matrix(design, name)
    check_scalar(max_condition, "max_condition", positive=True)
    if matrix.shape[0] < matrix.shape[1]:
        raise ValueError(
            f"{name} has fewer rows ({matrix.shape[0]}) than columns ({matrix.shape[1]}): "
            "the coefficients are not estimable"
        )
    report = condition_report(matrix, column_names, near_singular=max_condition)
    if not report.full_rank or report.condition_number > max_condition:
        raise ValueError(f"{name} is rank deficient or numerically singular: {report}")
    return matrix


def lstsq_qr(design: np.ndarray, responses: np.ndarray, column_names: Sequence[str] | None = None) -> np.ndarray:
    """Least-squares coefficients for many responses that share one design, from a single QR.

    Solves :math:`\\min_B \\|X B - Y\\|_F` as :math:`B = R^{-1} Q^\\top Y` with the reduced QR
    :math:`X = QR`: one O(np^2) factorisation, then O(npm) for all m responses (one per gene). Forward error
    grows like :math:`\\kappa(X)`, not the :math:`\\kappa(X)^2` of the normal equations.

    Parameters
    ----------
    design : array_like, shape (n, p)
        Full column rank (checked; a rank-deficient design raises ``ValueError`` naming the columns).
    responses : array_like, shape (n,) or (n, m)
    column_names : sequence of str, optional
        Names of the design's columns, used in the error message for a rank-deficient design.

    Returns
    -------
    numpy.ndarray, shape (p,) or (p, m)
    """
    matrix = check_design(design, column_names)
    targets = as_array(responses, "responses")
    if targets.ndim not in (1, 2) or targets.shape[0] != matrix.shape[0]:
        raise ValueError(
            f"responses must have shape ({matrix.shape[0]},) or ({matrix.shape[0]}, m) to match design, "
            f"got {targets.shape}"
        )
    q_factor, r_factor = np.linalg.qr(matrix, mode="reduced")
    # R is upper triangular: a triangular solve is O(p^2) per response and avoids forming R^{-1}.
    return solve_triangular(r_factor, q_factor.T @ targets, lower=False)


def soft_threshold(values: np.ndarray | float, threshold: float) -> np.ndarray:
    """Soft-thresholding operator :math:`S_\\lambda(z) = \\operatorname{sign}(z)\\max(|z| - \\lambda, 0)`.

    The proximal operator of :math:`\\lambda\\|\\cdot\\|_1`, the step that makes LASSO coordinate descent
    set coefficients exactly to zero (Friedman, Hastie & Tibshirani 2010).
    """
    threshold = check_scalar(threshold, "threshold", nonnegative=True)
    array = as_array(values, "values", empty=True)
    return np.sign(array) * np.maximum(np.abs(array) - threshold, 0.0)
