"""Penalised regression helpers the lessons reuse: k-fold splits and a fast, certified LASSO path.

The LASSO here minimises the glmnet / scikit-learn objective

.. math:: \\frac{1}{2n}\\lVert y - X\\beta\\rVert_2^2 + \\lambda\\lVert\\beta\\rVert_1

without an intercept: centre (or standardise) the columns of ``X`` and centre ``y`` first, and the intercept
is :math:`\\bar y - \\bar x^\\top\\hat\\beta`. A point is accepted only when it satisfies the KKT conditions
(see :func:`lasso_kkt_violation`), so every coefficient vector returned is certified optimal to ``tol``.

References: Friedman, Hastie & Tibshirani, "Regularization paths for generalized linear models via coordinate
descent", *J. Stat. Softw.* 33(1) (2010), sections 2.1-2.6; Hastie, Tibshirani & Wainwright, *Statistical
Learning with Sparsity* (2015), ch. 2 and 5; Hastie, Tibshirani & Friedman, *The Elements of Statistical
Learning* (2nd ed.), sec. 7.10 (cross-validation).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from utils._validation import as_array, as_matrix, as_vector, check_integer, check_scalar


class LassoPath(NamedTuple):
    """Solutions of the LASSO along a decreasing grid of penalties.

    Attributes
    ----------
    lambdas : numpy.ndarray, shape (L,)
        The penalties, in the (decreasing) order given.
    coefficients : numpy.ndarray, shape (p, L)
        Column ``k`` minimises the objective at ``lambdas[k]``.
    sweeps : numpy.ndarray, shape (L,)
        Coordinate-descent passes over the active set spent at each penalty (warm-started from the previous).
    """

    lambdas: np.ndarray
    coefficients: np.ndarray
    sweeps: np.ndarray


def _design_and_response(design: np.ndarray, response: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    matrix = as_matrix(design, "design")
    target = as_vector(response, "response")
    if target.shape != (matrix.shape[0],):
        raise ValueError(f"response must have shape ({matrix.shape[0]},) to match design, got {target.shape}")
    return matrix, target


def kfold_indices(n_samples: int, n_folds: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled k-fold split: ``n_folds`` pairs ``(train, test)`` of sorted index arrays.

    The indices ``0 .. n_samples-1`` are permuted with ``numpy.random.default_rng(seed)`` and cut into
    ``n_folds`` contiguous blocks whose sizes differ by at most one (``numpy.array_split``); each block is the
    test set once and the rest is its training set, so every sample is held out exactly once (ESL sec. 7.10.1).

    Raises
    ------
    TypeError
        If ``n_samples``, ``n_folds`` or ``seed`` is not an integer.
    ValueError
        If ``n_folds < 2``, ``n_folds > n_samples`` or ``seed < 0``.
    """
    n_samples = check_integer(n_samples, "n_samples", minimum=2)
    n_folds = check_integer(n_folds, "n_folds", minimum=2, maximum=n_samples)
    seed = check_integer(seed, "seed", minimum=0)
    order = np.random.default_rng(seed).permutation(n_samples)
    folds = []
    for block in np.array_split(order, n_folds):
        held_out = np.zeros(n_samples, dtype=bool)
        held_out[block] = True
        folds.append((np.flatnonzero(~held_out), np.flatnonzero(held_out)))
    return folds


def lasso_lambda_max(design: np.ndarray, response: np.ndarray) -> float:
    """Smallest penalty at which the LASSO solution is zero, :math:`\\lVert X^\\top y\\rVert_\\infty/n`.

    At :math:`\\beta = 0` the KKT conditions read :math:`\\lvert x_j^\\top y\\rvert/n \\le \\lambda` for every j.
    """
    matrix, target = _design_and_response(design, response)
    return float(np.max(np.abs(matrix.T @ target)) / matrix.shape[0])


def lasso_kkt_violation(design: np.ndarray, response: np.ndarray, coefficients: np.ndarray, lam: float) -> float:
    """Largest violation of the LASSO optimality (KKT) conditions, relative to ``lam``.

    With the gradient of the fit term :math:`g = X^\\top(y - X\\beta)/n`, :math:`\\beta` is optimal iff
    :math:`g_j = \\lambda\\,\\mathrm{sign}(\\beta_j)` where :math:`\\beta_j \\ne 0` and
    :math:`\\lvert g_j\\rvert \\le \\lambda` where :math:`\\beta_j = 0` (the subgradient of
    :math:`\\lambda\\lvert\\beta_j\\rvert` at 0 is :math:`[-\\lambda, \\lambda]`). Returns
    :math:`\\max_j` of those violations divided by :math:`\\lambda`: 0 at the exact solution.
    """
    matrix, target = _design_and_response(design, response)
    coef = as_array(coefficients, "coefficients")
    if coef.shape != (matrix.shape[1],):
        raise ValueError(f"coefficients must have shape ({matrix.shape[1]},), got {coef.shape}")
    lam = check_scalar(lam, "lam", positive=True)
    gradient = matrix.T @ (target - matrix @ coef) / matrix.shape[0]
    nonzero = coef != 0
    on_support = np.abs(gradient[nonzero] - lam * np.sign(coef[nonzero]))
    off_support = np.abs(gradient[~nonzero]) - lam
    return float(max(on_support.max(initial=0.0), off_support.max(initial=0.0), 0.0) / lam)


def _objective(gram: np.ndarray, corr: np.ndarray, coef: np.ndarray, lam: float) -> float:
    # (1/2n)||y - Xb||^2 + lam ||b||_1 up to the constant ||y||^2 / 2n
    return float(0.5 * coef @ gram @ coef - corr @ coef + lam * np.abs(coef).sum())


def _sweep_active(gram, corr, coef, active, lam, tol, max_sweeps) -> int:
    """Cyclic coordinate descent on the active coordinates until no coefficient moves by more than ``tol``."""
    sub_gram = gram[np.ix_(active, active)]
    diagonal = np.diag(sub_gram).copy()
    values = coef[active].copy()
    # gradient of the fit term restricted to the active set; updated in O(|A|) after each coordinate step
    gradient = corr[active] - sub_gram @ values
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        largest_step = 0.0
        for i in range(active.size):
            old = values[i]
            rho = gradient[i] + diagonal[i] * old
            new = (rho - lam if rho > lam else rho + lam if rho < -lam else 0.0) / diagonal[i]
            if new != old:
                gradient -= sub_gram[i] * (new - old)
                values[i] = new
                largest_step = max(largest_step, abs(new - old))
        if largest_step < tol:
            break
    coef[active] = values
    return sweeps


def _polish(gram, corr, coef, lam) -> None:
    """Jump to the exact solution for the current support and signs, if it keeps those signs and lowers the objective.

    On a fixed support S with signs s the KKT equations are linear: :math:`G_{SS}\\beta_S = c_S - \\lambda s`.
    """
    support = np.flatnonzero(coef)
    if support.size == 0:
        return
    signs = np.sign(coef[support])
    try:
        candidate = np.linalg.solve(gram[np.ix_(support, support)], corr[support] - lam * signs)
    except np.linalg.LinAlgError:
        return
    if not np.all(np.sign(candidate) == signs):
        return
    trial = coef.copy()
    trial[support] = candidate
    if _objective(gram, corr, trial, lam) <= _objective(gram, corr, coef, lam):
        coef[support] = candidate


def lasso_path(
    design: np.ndarray,
    response: np.ndarray,
    lambdas: np.ndarray,
    *,
    tol: float = 1e-9,
    max_sweeps: int = 100_000,
) -> LassoPath:
    """LASSO solutions along a decreasing grid of penalties, by warm-started active-set coordinate descent.

    Minimises :math:`\\frac{1}{2n}\\lVert y - X\\beta\\rVert_2^2 + \\lambda\\lVert\\beta\\rVert_1` (no intercept)
    for each :math:`\\lambda` in ``lambdas``, the scaling of glmnet and of ``sklearn.linear_model.Lasso(alpha=λ)``.
    Each fit starts from the previous solution (warm start); cyclic coordinate descent with covariance updates
    (Friedman et al. 2010, sec. 2.2) runs on the active set only; the coordinates outside it are checked with the
    KKT conditions and added when they violate them. Once the support and signs settle, the exact solution of
    :math:`G_{SS}\\beta_S = c_S - \\lambda s_S` (:math:`G = X^\\top X/n`, :math:`c = X^\\top y/n`) is tried
    and kept if it keeps the signs and lowers the objective. A penalty is finished only when
    :func:`lasso_kkt_violation` is at most ``tol``.

    Parameters
    ----------
    design : array_like, shape (n, p)
        Centred (usually standardised) predictors. All-zero columns get coefficient 0.
    response : array_like, shape (n,)
        Centred response.
    lambdas : array_like, shape (L,)
        Positive, non-increasing penalties (e.g. ``lasso_lambda_max(X, y) * np.logspace(0, -2, 30)``).
    tol : float
        KKT tolerance, relative to each penalty.
    max_sweeps : int
        Cap on coordinate-descent passes per penalty.

    Returns
    -------
    LassoPath
        ``lambdas``, ``coefficients`` of shape (p, L) and ``sweeps`` of shape (L,).

    Raises
    ------
    TypeError
        On non-numeric data, a non-real ``tol`` or a non-integer ``max_sweeps``.
    ValueError
        On bad shapes, non-finite values, non-positive or increasing ``lambdas``, a non-positive ``tol`` or
        ``max_sweeps < 1``.
    RuntimeError
        If a penalty is not solved to ``tol`` within ``max_sweeps`` passes.
    """
    matrix, target = _design_and_response(design, response)
    grid = as_array(lambdas, "lambdas", finite=False, empty=True)
    if grid.ndim != 1 or grid.size == 0:
        raise ValueError(f"lambdas must be a non-empty 1-D array, got shape {grid.shape}")
    if not np.all(np.isfinite(grid)) or np.any(grid <= 0):
        raise ValueError("lambdas must be positive and finite")
    if np.any(np.diff(grid) > 0):
        raise ValueError("lambdas must be non-increasing (largest first), so that each fit warm-starts the next")
    tol = check_scalar(tol, "tol", positive=True)
    max_sweeps = check_integer(max_sweeps, "max_sweeps", minimum=1)

    n_samples, n_features = matrix.shape
    gram = matrix.T @ matrix / n_samples
    corr = matrix.T @ target / n_samples
    usable = np.diag(gram) > 0  # an all-zero column has zero gradient and can never enter
    coef = np.zeros(n_features)
    coefficients = np.zeros((n_features, grid.size))
    sweeps = np.zeros(grid.size, dtype=int)
    for k, lam in enumerate(grid):
        active = coef != 0
        step_tol = 1e-4  # first passes are loose; tightened whenever the KKT check fails
        while True:
            gradient = corr - gram @ coef
            zero = coef == 0
            off_support = np.abs(gradient[zero]) - lam
            on_support = np.abs(gradient[~zero] - lam * np.sign(coef[~zero]))
            violation = max(off_support.max(initial=0.0), on_support.max(initial=0.0), 0.0) / lam
            if violation <= tol:
                break
            if sweeps[k] >= max_sweeps:
                raise RuntimeError(
                    f"lasso_path did not reach KKT tolerance {tol:g} at lambda={lam:.6g} within {max_sweeps} "
                    f"sweeps (violation {violation:.3g}); raise max_sweeps or tol"
                )
            active |= zero & (np.abs(gradient) > lam) & usable
            sweeps[k] += _sweep_active(gram, corr, coef, np.flatnonzero(active), lam, step_tol, max_sweeps - sweeps[k])
            _polish(gram, corr, coef, lam)
            step_tol = max(step_tol / 10, 1e-15)
        coefficients[:, k] = coef
    return LassoPath(grid, coefficients, sweeps)
