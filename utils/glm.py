"""Log-link Poisson and negative-binomial GLMs fitted by IRLS for every gene at once: DESeq2's model.

For gene :math:`g` and sample :math:`j`,

.. math::

    K_{gj} \\sim \\mathrm{NB}(\\mu_{gj}, \\alpha_g), \\qquad
    \\log \\mu_{gj} = \\log s_j + x_j^\\top \\beta_g, \\qquad
    \\operatorname{Var} K_{gj} = \\mu_{gj} + \\alpha_g \\mu_{gj}^2,

with size factors :math:`s_j` as offsets and a known dispersion :math:`\\alpha_g` (:math:`\\alpha_g = 0` is
the Poisson model). Iteratively reweighted least squares (Fisher scoring) repeats

.. math::

    w_{gj} = \\frac{\\mu_{gj}}{1 + \\alpha_g \\mu_{gj}}, \\quad
    z_{gj} = \\log \\frac{\\mu_{gj}}{s_j} + \\frac{K_{gj} - \\mu_{gj}}{\\mu_{gj}}, \\quad
    \\beta_g \\leftarrow (X^\\top W_g X)^{-1} X^\\top W_g z_g .

Every gene still iterating is updated in one batched step: :math:`X^\\top W_g X` for all of them is one
matrix product of the (genes x n) weights with the n flattened outer products :math:`x_j x_j^\\top` (the n x n
weight matrix is never formed), and the p x p systems are solved together by a Cholesky factorisation whose
every operation acts on all genes at once (for the small p of an RNA-seq design this is several times faster
than a stacked ``numpy.linalg.solve``, which calls LAPACK once per gene).
A gene leaves the active set as soon as its deviance stops changing, so later iterations only touch the few
slow genes. The design's columns are scaled to unit length first (which changes neither the fit nor the
collinear columns) because the normal equations square the condition number: :math:`\\kappa(X^\\top W X)`
is about :math:`\\kappa(X)^2`.

References: McCullagh & Nelder, *Generalized Linear Models*, 2nd ed. (1989), sec. 2.5 (IRLS) and 11.3
(negative binomial); Love, Huber & Anders, "Moderated estimation of fold change and dispersion for RNA-seq data
with DESeq2", *Genome Biology* 15:550 (2014), Methods (GLM fit, Wald test); Anders & Huber, "Differential
expression analysis for sequence count data", *Genome Biology* 11:R106 (2010), eq. 5 (size factors).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import xlogy

from utils._validation import as_array, as_counts, check_integer, check_same_labels, check_scalar
from utils.linalg import check_design

DESEQ2_MIN_MEAN = 0.5
"""DESeq2's floor on fitted means during IRLS (``minmu = 0.5`` in ``fitNbinomGLMs``)."""

LARGE_COEFFICIENT = 30.0
"""|beta| (natural log) beyond which a fit is declared divergent, as DESeq2's ``large = 30``."""

SETTLED_STEP = 0.1
"""Largest change of any fitted log mean in the last IRLS step for a gene to count as converged.

A coefficient drifting towards an infinite maximum likelihood estimate (a group of zeros without the floor on
the means) moves the log means by about 1 per step while the deviance changes by ever smaller amounts, so the
deviance criterion alone would stop it anywhere; a converged gene's last step is below 1e-3 on pasilla."""


@dataclass(frozen=True)
class GLMFit:
    """The fit of one log-link GLM per gene, all genes sharing one design.

    Attributes
    ----------
    coefficients : numpy.ndarray, shape (genes, p)
        :math:`\\hat\\beta_g` on the natural-log scale (:meth:`log2_fold_change` converts).
    standard_errors : numpy.ndarray, shape (genes, p)
        Wald standard errors :math:`\\sqrt{\\operatorname{diag}\\,(X^\\top W_g X)^{-1}}` at the final means, as
        DESeq2 and statsmodels report them (expected Fisher information).
    deviance : numpy.ndarray, shape (genes,)
        :math:`D_g = 2\\,[\\ell_g(\\text{saturated}) - \\ell_g(\\hat\\beta_g)]` at the final fitted means.
    converged : numpy.ndarray of bool, shape (genes,)
        True when, within ``max_iter`` iterations, the relative deviance change fell below ``tol`` with a last
        step that changed no fitted log mean by more than :data:`SETTLED_STEP`, and no coefficient exceeded
        :data:`LARGE_COEFFICIENT` in absolute value. False for all-zero genes (no fit).
    iterations : numpy.ndarray of int, shape (genes,)
        IRLS iterations each gene took.
    fitted_means : numpy.ndarray, shape (genes, samples)
        :math:`\\hat\\mu_{gj}`, after the floor.
    floored : numpy.ndarray of bool, shape (genes,)
        True when at least one fitted mean of the gene sits on the floor ``min_mean``: its coefficients are
        DESeq2's finite stand-in for an estimate whose maximum likelihood value is at infinity, and differ
        from an unfloored fit (statsmodels').
    dispersion : numpy.ndarray, shape (genes,)
        The known dispersions used (zeros for the Poisson model).
    size_factors : numpy.ndarray, shape (samples,) or (genes, samples)
    min_mean : float
        The floor on fitted means used during IRLS (0 means none).
    column_names : tuple of str
        The design's column names, in coefficient order.
    family : str
        ``"poisson"`` or ``"negative binomial"``.
    all_zero : numpy.ndarray of bool, shape (genes,)
        Genes with no read in any sample. Their maximum likelihood means are 0 (:math:`\\beta = -\\infty`), so
        they are not fitted: coefficients and standard errors are NaN (DESeq2 reports NA), fitted means and
        deviance 0 (their limits), ``converged`` False and ``iterations`` 0.
    """

    coefficients: np.ndarray
    standard_errors: np.ndarray
    deviance: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    fitted_means: np.ndarray
    floored: np.ndarray
    dispersion: np.ndarray
    size_factors: np.ndarray
    min_mean: float
    column_names: tuple[str, ...]
    family: str
    all_zero: np.ndarray

    def _column(self, column: str | int) -> int:
        if isinstance(column, str):
            if column not in self.column_names:
                raise ValueError(f"column {column!r} is not in the design; its columns are {list(self.column_names)}")
            return self.column_names.index(column)
        if isinstance(column, bool) or not isinstance(column, int | np.integer):
            raise TypeError(f"column must be a column name or an integer index, got {type(column).__name__}")
        if not -len(self.column_names) <= column < len(self.column_names):
            raise ValueError(f"column index {column} is out of range for {len(self.column_names)} columns")
        return int(column)

    def log2_fold_change(self, column: str | int) -> np.ndarray:
        """Coefficient ``column`` on the log2 scale, :math:`\\hat\\beta_{gk} / \\ln 2`: one value per gene."""
        return self.coefficients[:, self._column(column)] / np.log(2.0)

    def log2_standard_error(self, column: str | int) -> np.ndarray:
        """Wald standard error of coefficient ``column`` on the log2 scale, :math:`\\mathrm{SE}_{gk} / \\ln 2`."""
        return self.standard_errors[:, self._column(column)] / np.log(2.0)


def validate_counts(counts: pd.DataFrame | np.ndarray, name: str = "counts") -> np.ndarray:
    """Return ``counts`` as a float64 genes x samples array, or raise saying what is wrong.

    Counts must form a non-empty 2-D table of finite, non-negative integers (integer-valued floats pass):
    ``TypeError`` for a non-numeric or boolean table, ``ValueError`` for the wrong shape, an empty table, NaN,
    negative or non-integer values (:func:`utils._validation.as_counts`).
    """
    return as_counts(counts, name)


def size_factors_median_of_ratios(counts: pd.DataFrame | np.ndarray) -> np.ndarray:
    """DESeq2's size factors: per sample, the median over genes of the ratio to the gene's geometric mean.

    .. math::

        s_j = \\operatorname*{median}_{g} \\frac{K_{gj}}{\\big(\\prod_{v=1}^{m} K_{gv}\\big)^{1/m}}

    over the genes with no zero count (a zero makes the geometric mean 0), as in DESeq2
    (Anders & Huber 2010, eq. 5).

    Parameters
    ----------
    counts : array_like or pandas.DataFrame, shape (genes, samples)

    Returns
    -------
    numpy.ndarray, shape (samples,)

    Raises
    ------
    TypeError
        For non-numeric counts (see :func:`validate_counts`).
    ValueError
        For invalid counts (see :func:`validate_counts`), or when no gene is non-zero in every sample.
    """
    values = validate_counts(counts)
    everywhere_positive = np.all(values > 0, axis=1)
    if not np.any(everywhere_positive):
        raise ValueError("counts has no gene that is non-zero in every sample; median-of-ratios is undefined")
    log_counts = np.log(values[everywhere_positive])
    return np.exp(np.median(log_counts - log_counts.mean(axis=1, keepdims=True), axis=0))


def deviance(counts: pd.DataFrame | np.ndarray, means: np.ndarray, dispersion: float | np.ndarray = 0.0) -> np.ndarray:
    """Per-gene deviance of a Poisson (``dispersion = 0``) or negative-binomial fit.

    .. math::

        D_g = 2\\sum_j \\Big[K_{gj} \\log\\frac{K_{gj}}{\\mu_{gj}}
              - \\Big(K_{gj} + \\frac{1}{\\alpha_g}\\Big)\\log\\frac{1 + \\alpha_g K_{gj}}{1 + \\alpha_g\\mu_{gj}}\\Big]
        \\;\\xrightarrow{\\alpha_g \\to 0}\\;
        2\\sum_j \\Big[K_{gj} \\log\\frac{K_{gj}}{\\mu_{gj}} - (K_{gj} - \\mu_{gj})\\Big],

    with :math:`K \\log(K/\\mu) = 0` at :math:`K = 0`, its limit (``scipy.special.xlogy``): a zero count
    contributes :math:`2\\mu` (Poisson) or :math:`(2/\\alpha)\\log(1 + \\alpha\\mu)` (NB), not NaN.
    McCullagh & Nelder (1989), table 2.1.

    Parameters
    ----------
    counts : array_like, shape (genes, samples)
    means : array_like, shape (genes, samples), positive
    dispersion : float or array_like of shape (genes,), >= 0
    """
    values = validate_counts(counts)
    mu = as_array(means, "means", finite=False)
    if mu.shape != values.shape:
        raise ValueError(f"means must have the shape of counts {values.shape}, got {mu.shape}")
    if not np.all(np.isfinite(mu)) or np.any(mu <= 0):
        raise ValueError("means must be finite and positive")
    if isinstance(counts, pd.DataFrame) and isinstance(means, pd.DataFrame):
        check_same_labels(counts.index, means.index, "counts.index", "means.index")
        check_same_labels(counts.columns, means.columns, "counts.columns", "means.columns")
    alpha = _per_gene(dispersion, "dispersion", counts, values.shape[0])
    if np.any(alpha < 0):
        raise ValueError("dispersion must be >= 0")
    return _deviance(values, mu, alpha)


def _per_gene(value: float | np.ndarray, name: str, counts: pd.DataFrame | np.ndarray, n_genes: int) -> np.ndarray:
    """A scalar or one finite value per gene, as an array of shape (n_genes,); a Series must name counts' genes."""
    if isinstance(value, pd.Series) and isinstance(counts, pd.DataFrame):
        check_same_labels(counts.index, value.index, "counts.index", f"{name}.index")
    values = as_array(value, name)
    values = np.full(n_genes, float(values)) if values.ndim == 0 else values
    if values.shape != (n_genes,):
        raise ValueError(f"{name} must be a scalar or have shape ({n_genes},) (one per gene), got {values.shape}")
    return values


def _deviance(values: np.ndarray, mu: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """:func:`deviance` without input validation, for arrays already checked."""
    saturated = xlogy(values, values / mu)
    if not np.any(alpha):
        return 2.0 * (saturated - (values - mu)).sum(axis=1)
    nb = alpha[:, None] > 0
    a = np.where(nb, alpha[:, None], 1.0)  # any positive value where alpha = 0: that branch is discarded below
    nb_term = (values + 1.0 / a) * (np.log1p(a * values) - np.log1p(a * mu))
    return 2.0 * (saturated - np.where(nb, nb_term, values - mu)).sum(axis=1)


def _size_factor_array(
    size_factors: np.ndarray | None, values: np.ndarray, counts: pd.DataFrame | np.ndarray
) -> np.ndarray:
    if size_factors is None:
        return size_factors_median_of_ratios(values)
    if isinstance(counts, pd.DataFrame) and isinstance(size_factors, pd.Series):
        # pairing by position would give a sample another sample's size factor
        check_same_labels(counts.columns, size_factors.index, "counts.columns", "size_factors.index")
    if isinstance(counts, pd.DataFrame) and isinstance(size_factors, pd.DataFrame):
        check_same_labels(counts.index, size_factors.index, "counts.index", "size_factors.index")
        check_same_labels(counts.columns, size_factors.columns, "counts.columns", "size_factors.columns")
    factors = as_array(size_factors, "size_factors", finite=False)
    if factors.shape not in ((values.shape[1],), values.shape):
        raise ValueError(
            f"size_factors must have shape ({values.shape[1]},) (one per sample) or {values.shape} "
            f"(one per gene and sample), got {factors.shape}"
        )
    if not np.all(np.isfinite(factors)) or np.any(factors <= 0):
        raise ValueError("size_factors must be finite and positive")
    return factors


def _dispersion_array(dispersion: float | np.ndarray, counts: pd.DataFrame | np.ndarray, n_genes: int) -> np.ndarray:
    if dispersion is None:
        raise ValueError(
            "dispersion must be given (one positive value, or one per gene); for alpha = 0 use fit_poisson_glm"
        )
    values = _per_gene(dispersion, "dispersion", counts, n_genes)
    if np.any(values <= 0):
        raise ValueError("dispersion must be finite and positive (alpha = 0 is the Poisson model: use fit_poisson_glm)")
    return values


def _cholesky_batched(information: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors of a stack of symmetric positive definite matrices stored as ``(p, p, genes)``.

    NumPy's stacked ``linalg.solve`` calls LAPACK once per p x p matrix, and for the p <= ~10 of an RNA-seq
    design that per-call overhead dominates; written column by column, each operation below acts on all genes
    at once (a vector of length genes), which is several times faster. Golub & Van Loan, algorithm 4.2.1.
    """
    size = information.shape[0]
    lower = np.zeros_like(information)
    for j in range(size):
        lower[j, j] = np.sqrt(information[j, j] - np.sum(lower[j, :j] ** 2, axis=0))
        for i in range(j + 1, size):
            lower[i, j] = (information[i, j] - np.sum(lower[i, :j] * lower[j, :j], axis=0)) / lower[j, j]
    return lower


def _cholesky_solve(lower: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve :math:`L L^\\top x = b` for every gene: ``lower`` is ``(p, p, genes)``, ``rhs`` is ``(p, genes)``."""
    size = rhs.shape[0]
    forward = np.empty_like(rhs)
    for i in range(size):
        forward[i] = (rhs[i] - np.sum(lower[i, :i] * forward[:i], axis=0)) / lower[i, i]
    solution = np.empty_like(rhs)
    for i in reversed(range(size)):
        solution[i] = (forward[i] - np.sum(lower[i + 1 :, i] * solution[i + 1 :], axis=0)) / lower[i, i]
    return solution


def _inverse_diagonal(lower: np.ndarray) -> np.ndarray:
    """Diagonal of :math:`(L L^\\top)^{-1}` for every gene, ``(p, genes)``: :math:`\\|L^{-1} e_k\\|^2`."""
    size = lower.shape[0]
    diagonal = np.empty(lower.shape[1:])
    for k in range(size):
        column = np.zeros_like(lower[0])  # L^{-1} e_k by forward substitution; its first k entries are 0
        column[k] = 1.0 / lower[k, k]
        for i in range(k + 1, size):
            column[i] = -np.sum(lower[i, k:i] * column[k:i], axis=0) / lower[i, i]
        diagonal[k] = np.sum(column**2, axis=0)
    return diagonal


def _information(weights: np.ndarray, outer_products: np.ndarray, size: int) -> np.ndarray:
    """:math:`X^\\top W_g X` for every gene as ``(p, p, genes)``: one product (p^2 x n) @ (n x genes)."""
    return (outer_products.T @ weights.T).reshape(size, size, -1)


def _irls(
    values: np.ndarray,
    matrix: np.ndarray,
    factors: np.ndarray,
    alpha: np.ndarray,
    min_mean: float,
    tol: float,
    max_iter: int,
    column_scale: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Batched Fisher scoring; returns coefficients (for ``matrix``), final means, converged flags, iterations."""
    n_genes, n_coefficients = values.shape[0], matrix.shape[1]
    poisson = not np.any(alpha)
    per_gene_factors = factors.ndim == 2
    log_factors = np.log(factors) if per_gene_factors else np.log(factors)[None, :]
    log_floor = np.log(min_mean) if min_mean > 0 else -np.inf
    # the flattened outer products x_j x_j^T (n x p^2): X^T W X = sum_j w_j x_j x_j^T is then a matrix product
    outer_products = np.einsum("np,nq->npq", matrix, matrix).reshape(matrix.shape[0], -1)
    sample_sum = np.ones(matrix.shape[0])  # sums over samples as a matrix-vector product (faster than .sum)
    largest = LARGE_COEFFICIENT * column_scale  # the divergence threshold for coefficients of the scaled design

    # start from least squares on log normalised counts, one QR for all genes, as DESeq2 does (it takes log(K/s + 0.1))
    q_factor, r_factor = np.linalg.qr(matrix)
    beta = np.linalg.solve(r_factor, q_factor.T @ (np.log(values + 0.1) - log_factors).T).T
    coefficients = beta.copy()
    iterations = np.full(n_genes, max_iter)
    converged = np.zeros(n_genes, dtype=bool)

    # working arrays hold the genes still iterating only, and shrink as genes converge
    genes, y, a, offsets = np.arange(n_genes), values, alpha[:, None], log_factors
    eta = beta @ matrix.T + offsets  # the linear predictor log s + X beta, before the floor
    log_mu = np.maximum(eta, log_floor)  # the floor mu >= min_mean, applied on the log scale
    mu = np.exp(log_mu)
    current = _deviance(y, mu, alpha)
    for iteration in range(1, max_iter + 1):
        one_plus = 1.0 if poisson else 1.0 + a * mu
        weights = mu / one_plus
        # z - X beta: the working response minus the current linear predictor (non-zero first term where floored)
        residual = (log_mu - eta) + (y - mu) / mu
        with np.errstate(invalid="ignore", divide="ignore"):  # a singular system gives NaN: caught as divergent
            lower = _cholesky_batched(_information(weights, outer_products, n_coefficients))
            step = _cholesky_solve(lower, matrix.T @ (weights * residual).T).T
        beta = beta + step
        new_eta = beta @ matrix.T + offsets
        new_log_mu = np.maximum(new_eta, log_floor)
        # the change of log mu, from X step where the floor is not involved: it keeps full relative precision,
        # so the deviance change below is accurate even when the deviance itself is large
        log_mu_change = step @ matrix.T
        if min_mean > 0:
            unfloored = (eta > log_floor) & (new_eta > log_floor)
            log_mu_change = np.where(unfloored, log_mu_change, new_log_mu - log_mu)
        with np.errstate(over="ignore", invalid="ignore"):  # a divergent gene is caught below
            mu_change = mu * np.expm1(log_mu_change)
            new_mu = np.exp(new_log_mu)
            if poisson:
                deviance_change = 2.0 * ((mu_change - y * log_mu_change) @ sample_sum)
            else:
                log_ratio = np.log1p(a * mu_change / one_plus)  # log((1 + a mu_new) / (1 + a mu))
                deviance_change = 2.0 * (((y + 1.0 / a) * log_ratio - y * log_mu_change) @ sample_sum)
            current = current + deviance_change
            relative_change = np.abs(deviance_change) / (np.abs(current) + 0.1)  # DESeq2's: D for its -2 log L
        diverged = ~np.isfinite(relative_change)
        if np.any(np.abs(beta) > largest):
            diverged |= np.any(np.abs(beta) > largest, axis=1)
        # a flat deviance is not enough: a coefficient drifting to -inf changes it by ever less while moving ~1
        settled = relative_change < tol
        if np.any(settled):
            settled[settled] = np.max(np.abs(log_mu_change[settled]), axis=1) <= SETTLED_STEP
        finished = settled | diverged
        done = genes[finished]
        coefficients[done], iterations[done], converged[done] = beta[finished], iteration, ~diverged[finished]
        keep = ~finished
        if not np.any(keep):
            break
        genes, y, a, beta, current = genes[keep], y[keep], a[keep], beta[keep], current[keep]
        eta, log_mu, mu = new_eta[keep], new_log_mu[keep], new_mu[keep]
        offsets = offsets[keep] if per_gene_factors else offsets
    else:
        coefficients[genes] = beta  # the genes that reached max_iter keep their last iterate
    with np.errstate(over="ignore"):
        means = np.exp(np.maximum(coefficients @ matrix.T + log_factors, log_floor))
    return coefficients, means, converged, iterations


def _fit(
    counts: pd.DataFrame | np.ndarray,
    design: pd.DataFrame | np.ndarray,
    size_factors: np.ndarray | None,
    dispersion: float | np.ndarray | None,
    column_names: Sequence[str] | None,
    min_mean: float,
    tol: float,
    max_iter: int,
    max_condition: float,
    family: str,
) -> GLMFit:
    values = validate_counts(counts)
    if isinstance(design, pd.DataFrame) and not all(pd.api.types.is_numeric_dtype(d) for d in design.dtypes):
        raise TypeError(f"design must hold numbers, got column dtypes {sorted({str(d) for d in design.dtypes})}")
    if column_names is None and isinstance(design, pd.DataFrame):
        column_names = [str(column) for column in design.columns]
    matrix = np.asarray(design, dtype=float)
    names = tuple(str(c) for c in column_names) if column_names is not None else None
    if matrix.ndim == 2 and np.all(np.isfinite(matrix)):
        # scaling columns to unit length changes neither the fit nor which columns are collinear, but removes
        # the part of kappa(X) due to units; the normal equations of IRLS square what remains
        column_scale = np.linalg.norm(matrix, axis=0)
        column_scale[column_scale == 0] = 1.0  # an all-zero column is reported as collinear below
        check_design(matrix / column_scale, names, max_condition, name="design (columns scaled to unit length)")
    else:
        check_design(matrix, names, max_condition)  # raises with the reason
    names = names if names is not None else tuple(f"x{k}" for k in range(matrix.shape[1]))
    if values.shape[1] != matrix.shape[0]:
        raise ValueError(
            f"counts has {values.shape[1]} samples (columns) but design has {matrix.shape[0]} rows; "
            "counts must be genes x samples with one design row per sample"
        )
    if isinstance(counts, pd.DataFrame) and isinstance(design, pd.DataFrame):
        # pairing by position would silently give a sample another sample's design row
        check_same_labels(counts.columns, design.index, "counts.columns", "design.index")
    factors = _size_factor_array(size_factors, values, counts)
    alpha = np.zeros(values.shape[0]) if family == "poisson" else _dispersion_array(dispersion, counts, values.shape[0])
    min_mean = check_scalar(min_mean, "min_mean", nonnegative=True)
    tol = check_scalar(tol, "tol", positive=True)
    max_iter = check_integer(max_iter, "max_iter", minimum=1)

    scaled = matrix / column_scale
    # an all-zero gene has its maximum likelihood means at 0 (beta = -inf): no fit, reported as NaN (DESeq2: NA)
    all_zero = ~np.any(values > 0, axis=1)
    fitted = np.flatnonzero(~all_zero)
    n_genes, n_coefficients = values.shape[0], scaled.shape[1]
    scaled_coefficients = np.full((n_genes, n_coefficients), np.nan)
    scaled_errors = np.full((n_genes, n_coefficients), np.nan)
    means, deviances = np.zeros(values.shape), np.zeros(n_genes)
    converged, iterations = np.zeros(n_genes, dtype=bool), np.zeros(n_genes, dtype=int)
    if fitted.size:
        fitted_factors = factors[fitted] if factors.ndim == 2 else factors
        (
            scaled_coefficients[fitted],
            means[fitted],
            converged[fitted],
            iterations[fitted],
        ) = _irls(
            values[fitted],
            scaled,
            fitted_factors,
            alpha[fitted],
            float(min_mean),
            float(tol),
            int(max_iter),
            column_scale,
        )
        weights = means[fitted] / (1.0 + alpha[fitted, None] * means[fitted])
        outer_products = np.einsum("np,nq->npq", scaled, scaled).reshape(scaled.shape[0], -1)
        with np.errstate(invalid="ignore", divide="ignore"):
            lower = _cholesky_batched(_information(weights, outer_products, n_coefficients))
            scaled_errors[fitted] = np.sqrt(_inverse_diagonal(lower)).T
        deviances[fitted] = _deviance(values[fitted], means[fitted], alpha[fitted])
    floored = np.any(means <= min_mean, axis=1) & ~all_zero if min_mean > 0 else np.zeros(n_genes, dtype=bool)
    return GLMFit(
        coefficients=scaled_coefficients / column_scale,
        standard_errors=scaled_errors / column_scale,
        deviance=deviances,
        converged=converged,
        iterations=iterations,
        fitted_means=means,
        floored=floored,
        dispersion=alpha,
        size_factors=factors,
        min_mean=float(min_mean),
        column_names=names,
        family=family,
        all_zero=all_zero,
    )


def fit_nb_glm(
    counts: pd.DataFrame | np.ndarray,
    design: pd.DataFrame | np.ndarray,
    size_factors: np.ndarray | None = None,
    *,
    dispersion: float | np.ndarray,
    column_names: Sequence[str] | None = None,
    min_mean: float = DESEQ2_MIN_MEAN,
    tol: float = 1e-10,
    max_iter: int = 100,
    max_condition: float = 1e6,
) -> GLMFit:
    """Negative-binomial GLM with known dispersion, every gene at once, by batched IRLS.

    Model :math:`K_{gj} \\sim \\mathrm{NB}(\\mu_{gj}, \\alpha_g)`, :math:`\\log\\mu_{gj} = \\log s_j +
    x_j^\\top\\beta_g`; IRLS weights :math:`\\mu/(1+\\alpha\\mu)`, working response
    :math:`\\log(\\mu/s) + (K-\\mu)/\\mu` (module docstring). A gene stops when
    :math:`|D^{(t)} - D^{(t-1)}| / (|D^{(t)}| + 0.1) <` ``tol`` (DESeq2's criterion, except that DESeq2 puts
    :math:`-2\\ell`, which exceeds :math:`D`, in the denominator; DESeq2 uses 1e-8, the default 1e-10 costs
    about 20% more iterations and brings the coefficients of slowly converging low-count genes from ~1e-4 to
    ~1e-5 of the optimum) and its last step changed no log mean by more than :data:`SETTLED_STEP`; after
    ``max_iter`` iterations, or when a coefficient exceeds :data:`LARGE_COEFFICIENT` (30) in absolute value,
    ``converged`` is False.

    Fitted means are floored at ``min_mean`` inside the iteration, as in DESeq2 (0.5). Without a floor, a gene
    with zero counts in every sample of one group has its maximum likelihood estimate at
    :math:`\\beta = -\\infty`: IRLS walks towards it, a step of about -1 per iteration, while the deviance
    changes by ever smaller amounts; the step criterion keeps it iterating until the cap on :math:`|\\beta|`
    reports it as not converged. With the floor it settles at a finite value within a few iterations;
    ``floored`` marks such genes. ``min_mean=0`` disables the floor. A gene with no read in any sample is not
    fitted (``all_zero``; NaN coefficients and standard errors).

    Parameters
    ----------
    counts : array_like or pandas.DataFrame, shape (genes, samples)
        Non-negative integer counts.
    design : array_like or pandas.DataFrame, shape (samples, p)
        Full-rank design matrix, checked with :func:`utils.linalg.check_design` after scaling its columns to
        unit length: its condition number must not exceed ``max_condition`` (the normal equations solved at
        each step have a condition number of about its square).
    size_factors : array_like, shape (samples,) or (genes, samples), optional
        The offsets are :math:`\\log s_j`; default :func:`size_factors_median_of_ratios` of ``counts``.
    dispersion : float or array_like of shape (genes,)
        Known :math:`\\alpha_g > 0`, one value for all genes or one per gene. DESeq2's dispersion is
        statsmodels' ``alpha``: :math:`\\operatorname{Var} K = \\mu + \\alpha\\mu^2`.
    column_names : sequence of str, optional
        Coefficient names; default the DataFrame's columns or ``x0 .. x{p-1}``.
    min_mean, tol, max_iter, max_condition
        As described above.

    Returns
    -------
    GLMFit

    Raises
    ------
    TypeError
        Non-numeric counts or design; a non-integer ``max_iter``; a non-numeric ``tol`` or ``min_mean``.
    ValueError
        Non-integer, negative, NaN or infinite counts; a number of samples that differs from the design's rows;
        counts and design both DataFrames whose labels differ (``design.index`` must equal ``counts.columns``,
        same samples in the same order); a rank-deficient or numerically singular design (the message gives its
        condition number and the collinear columns); invalid size factors, dispersions or settings.
    """
    return _fit(
        counts,
        design,
        size_factors,
        dispersion,
        column_names,
        min_mean,
        tol,
        max_iter,
        max_condition,
        "negative binomial",
    )


def fit_poisson_glm(
    counts: pd.DataFrame | np.ndarray,
    design: pd.DataFrame | np.ndarray,
    size_factors: np.ndarray | None = None,
    *,
    column_names: Sequence[str] | None = None,
    min_mean: float = DESEQ2_MIN_MEAN,
    tol: float = 1e-10,
    max_iter: int = 100,
    max_condition: float = 1e6,
) -> GLMFit:
    """Poisson GLM with the log link, every gene at once, by batched IRLS.

    Model :math:`K_{gj} \\sim \\mathrm{Poisson}(\\mu_{gj})`, :math:`\\log\\mu_{gj} = \\log s_j + x_j^\\top\\beta_g`.

    It is the :math:`\\alpha = 0` case of :func:`fit_nb_glm` (weights :math:`\\mu`). The log link is the Poisson's
    canonical link, so IRLS is exactly Newton's method here and converges quadratically. Parameters, result
    and errors as in :func:`fit_nb_glm`.
    """
    return _fit(counts, design, size_factors, None, column_names, min_mean, tol, max_iter, max_condition, "poisson")
