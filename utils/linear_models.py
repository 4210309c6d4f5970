"""Gene-wise linear models that share one design: the least-squares core of limma, vectorised over genes.

For every gene :math:`g` the model is :math:`y_g = X\\beta_g + \\varepsilon_g`, with
:math:`\\varepsilon_g \\sim N(0, \\sigma_g^2 I_n)` and one design :math:`X` (n samples x p coefficients) for all
genes. Because :math:`X` is shared, one QR factorisation :math:`X = QR` solves every gene at once:
:math:`\\hat B = R^{-1} Q^\\top Y`. From the residuals come :math:`s_g^2` (``n - p`` degrees of freedom),
standard errors :math:`s_g\\sqrt{[(X^\\top X)^{-1}]_{jj}}`, t-statistics and p-values, and any contrast
:math:`c^\\top\\beta_g`.

limma adds two things this module does not: empirical-Bayes moderation of :math:`s_g^2` (Smyth 2004) and,
for counts, voom precision weights (Law et al. 2014).

References: Smyth, "Linear models and empirical Bayes methods for assessing differential expression in
microarray experiments", *Stat. Appl. Genet. Mol. Biol.* 3(1) (2004), sec. 2; Law, Chen, Shi & Smyth, "voom:
precision weights unlock linear model analysis tools for RNA-seq read counts", *Genome Biology* 15:R29
(2014); Trefethen & Bau, *Numerical Linear Algebra*, lecture 11.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.linalg import solve_triangular

from utils._validation import as_array, check_same_labels
from utils.linalg import check_design, lstsq_qr


@dataclass(frozen=True, eq=False)
class LinearModelFit:
    """Least-squares fits of many responses (genes) on one design.

    Attributes
    ----------
    coefficients : numpy.ndarray, shape (genes, p)
        :math:`\\hat\\beta_g`, one row per gene.
    standard_errors : numpy.ndarray, shape (genes, p)
        :math:`s_g \\sqrt{[(X^\\top X)^{-1}]_{jj}}`.
    t_statistics : numpy.ndarray, shape (genes, p)
        :math:`\\hat\\beta_{gj} / \\mathrm{SE}_{gj}`; NaN where the standard error is 0 (a perfect fit).
    p_values : numpy.ndarray, shape (genes, p)
        Two-sided, from Student's t with ``df_residual`` degrees of freedom.
    residual_variances : numpy.ndarray, shape (genes,)
        :math:`s_g^2 = \\|y_g - X\\hat\\beta_g\\|^2 / (n - p)`.
    df_residual : int
        :math:`n - p`.
    unscaled_covariance : numpy.ndarray, shape (p, p)
        :math:`(X^\\top X)^{-1}`; the covariance of :math:`\\hat\\beta_g` is :math:`\\sigma_g^2` times it.
    column_names : tuple of str
        Names of the p coefficients.
    gene_names : tuple of str or None
        Row names of the responses when they were a DataFrame.
    """

    coefficients: np.ndarray
    standard_errors: np.ndarray
    t_statistics: np.ndarray
    p_values: np.ndarray
    residual_variances: np.ndarray
    df_residual: int
    unscaled_covariance: np.ndarray
    column_names: tuple[str, ...]
    gene_names: tuple[str, ...] | None = None

    def column(self, name: str) -> int:
        """Index of coefficient ``name``; raises ``KeyError`` listing the names when it is unknown."""
        if name not in self.column_names:
            raise KeyError(f"no coefficient named {name!r}; the coefficients are {list(self.column_names)}")
        return self.column_names.index(name)


@dataclass(frozen=True, eq=False)
class ContrastResult:
    """A contrast :math:`c^\\top\\beta_g` for every gene (each attribute has shape (genes,))."""

    estimate: np.ndarray
    standard_error: np.ndarray
    t_statistic: np.ndarray
    p_value: np.ndarray
    df_residual: int


def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    # a zero standard error (perfect fit) gives NaN, without a division warning
    return np.divide(
        numerator, denominator, out=np.full(np.broadcast(numerator, denominator).shape, np.nan), where=denominator > 0
    )


def _two_sided_p(t_statistics: np.ndarray, df: int) -> np.ndarray:
    return 2.0 * stats.t.sf(np.abs(t_statistics), df)


def design_matrix(samples: pd.DataFrame, factors: Sequence[str]) -> pd.DataFrame:
    """Treatment-coded design matrix ``~ factor1 + factor2 + ...`` with an intercept.

    Each factor with levels :math:`\\ell_0, \\ell_1, \\dots` contributes one 0/1 column per non-reference level
    :math:`\\ell_k` (k >= 1); the reference :math:`\\ell_0` is the first category of a pandas categorical (unused
    categories dropped) or the smallest value otherwise. Column names follow patsy/statsmodels,
    ``Intercept``, ``cell[T.N061011]``, ``dex[T.trt]``, so the result equals
    ``patsy.dmatrix("~ cell + dex", samples)`` whenever every category occurs (patsy keeps an unused
    category as an all-zero column, which makes the design rank deficient).

    Parameters
    ----------
    samples : pandas.DataFrame
        One row per sample.
    factors : sequence of str
        Column names of ``samples`` to include, in order.

    Returns
    -------
    pandas.DataFrame, shape (n_samples, p)
        Indexed by ``samples.index`` (the sample names), one column per coefficient. Keeping the labels lets
        :func:`fit_linear_models` and :func:`utils.glm.fit_nb_glm` check that each sample's row is paired with its
        own column of the counts; ``design.to_numpy()`` gives the bare matrix.
    """
    if not isinstance(samples, pd.DataFrame):
        raise TypeError(f"samples must be a pandas DataFrame, got {type(samples).__name__}")
    if isinstance(factors, str):
        raise TypeError("factors must be a sequence of column names, not a single string; use [name]")
    if len(samples) == 0:
        raise ValueError("samples has no rows")
    columns = [np.ones(len(samples))]
    names = ["Intercept"]
    for factor in factors:
        if factor not in samples.columns:
            raise ValueError(f"factors names {factor!r}, which is not a column of samples ({list(samples.columns)})")
        values = samples[factor]
        if values.isna().any():
            raise ValueError(f"samples[{factor!r}] has missing values")
        if isinstance(values.dtype, pd.CategoricalDtype):
            levels = [level for level in values.cat.categories if (values == level).any()]
        else:
            levels = sorted(values.unique())
        if len(levels) < 2:
            raise ValueError(f"samples[{factor!r}] has a single level ({levels[0]!r}): it cannot be a factor here")
        for level in levels[1:]:
            columns.append((values == level).to_numpy(dtype=float))
            names.append(f"{factor}[T.{level}]")
    return pd.DataFrame(np.column_stack(columns), index=samples.index, columns=names)


def fit_linear_models(
    responses: np.ndarray | pd.DataFrame,
    design: np.ndarray | pd.DataFrame,
    column_names: Sequence[str] | None = None,
) -> LinearModelFit:
    """Fit :math:`y_g = X\\beta_g + \\varepsilon_g` by least squares for every gene at once.

    One QR of the design (:func:`utils.linalg.lstsq_qr`) gives all coefficients,
    :math:`\\hat B^\\top = R^{-1}Q^\\top Y^\\top`; then :math:`s_g^2 = \\|y_g - X\\hat\\beta_g\\|^2/(n-p)`,
    :math:`\\mathrm{SE}_{gj} = s_g\\sqrt{[(X^\\top X)^{-1}]_{jj}}` with :math:`(X^\\top X)^{-1} = R^{-1}R^{-\\top}`,
    :math:`t_{gj} = \\hat\\beta_{gj}/\\mathrm{SE}_{gj}` and two-sided p-values from :math:`t_{n-p}` (Smyth 2004,
    sec. 2, before moderation).

    Parameters
    ----------
    responses : array_like or DataFrame, shape (genes, n_samples)
        E.g. log-CPM, genes as rows (the count-table orientation). Must be finite. When both ``responses``
        and ``design`` are DataFrames (e.g. the output of :func:`design_matrix`), ``responses.columns`` must equal
        ``design.index`` label for label: different samples, or the same samples in another order, raise
        ``ValueError`` (reorder with ``design.loc[responses.columns]``).
    design : array_like or DataFrame, shape (n_samples, p)
        Full column rank with n_samples > p; a rank-deficient design raises ``ValueError`` naming the
        collinear columns.
    column_names : sequence of str, optional
        Coefficient names; default the DataFrame's columns, else ``x0 .. x{p-1}``.

    Returns
    -------
    LinearModelFit
    """
    gene_names = tuple(str(g) for g in responses.index) if isinstance(responses, pd.DataFrame) else None
    if column_names is None and isinstance(design, pd.DataFrame):
        column_names = [str(c) for c in design.columns]
    if isinstance(responses, pd.DataFrame) and isinstance(design, pd.DataFrame):
        # two labelled tables: pairing by position would silently give each sample another sample's design row
        check_same_labels(responses.columns, design.index, "responses.columns", "design.index")
    matrix = as_array(design, "design")
    if matrix.ndim != 2:
        raise ValueError(f"design must be a 2-D samples x coefficients matrix, got {matrix.ndim} dimension(s)")
    n_samples, n_coefficients = matrix.shape
    names = [f"x{k}" for k in range(n_coefficients)] if column_names is None else [str(c) for c in column_names]
    if len(names) != n_coefficients:
        raise ValueError(f"column_names has {len(names)} names but design has {n_coefficients} columns")
    values = as_array(responses, "responses", finite=False)
    if values.ndim != 2:
        raise ValueError(
            f"responses must be a 2-D genes x samples matrix, got {values.ndim} dimension(s) "
            "(for one gene use responses[None, :])"
        )
    if values.shape[1] != n_samples:
        raise ValueError(
            f"responses has {values.shape[1]} columns (samples) but design has {n_samples} rows; "
            "responses must be genes x samples"
        )
    if not np.all(np.isfinite(values)):
        bad = np.flatnonzero(~np.all(np.isfinite(values), axis=1))
        raise ValueError(f"responses contains NaN or infinite values (in {bad.size} gene(s), first at row {bad[0]})")
    # rank and conditioning first, so the error names the collinear columns
    check_design(matrix, names)
    df_residual = n_samples - n_coefficients
    if df_residual < 1:
        raise ValueError(f"design has {n_samples} rows and {n_coefficients} columns: no residual degrees of freedom")

    coefficients = lstsq_qr(matrix, values.T).T  # one QR for all genes
    residuals = values - coefficients @ matrix.T
    residual_variances = np.einsum("gi,gi->g", residuals, residuals) / df_residual
    r_factor = np.linalg.qr(matrix, mode="r")
    r_inverse = solve_triangular(r_factor, np.eye(n_coefficients), lower=False)
    unscaled_covariance = r_inverse @ r_inverse.T
    standard_errors = np.sqrt(residual_variances[:, None] * np.diag(unscaled_covariance)[None, :])
    t_statistics = _safe_ratio(coefficients, standard_errors)
    return LinearModelFit(
        coefficients=coefficients,
        standard_errors=standard_errors,
        t_statistics=t_statistics,
        p_values=_two_sided_p(t_statistics, df_residual),
        residual_variances=residual_variances,
        df_residual=df_residual,
        unscaled_covariance=unscaled_covariance,
        column_names=tuple(names),
        gene_names=gene_names,
    )


def contrast(fit: LinearModelFit, vector: Sequence[float] | np.ndarray | Mapping[str, float]) -> ContrastResult:
    """Estimate, standard error, t and p of the contrast :math:`c^\\top\\beta_g` for every gene.

    :math:`\\mathrm{SE}_g = s_g\\sqrt{c^\\top (X^\\top X)^{-1} c}` and :math:`t_g = c^\\top\\hat\\beta_g/\\mathrm{SE}_g`
    with ``fit.df_residual`` degrees of freedom (limma's ``contrasts.fit`` before ``eBayes``).

    Parameters
    ----------
    fit : LinearModelFit
    vector : array_like of length p, or mapping {coefficient name: weight}
        E.g. ``{"cell[T.N61311]": 1, "cell[T.N080611]": -1}``; names not given get weight 0.
    """
    if not isinstance(fit, LinearModelFit):
        raise TypeError(f"fit must be a LinearModelFit, got {type(fit).__name__}")
    n_coefficients = len(fit.column_names)
    if isinstance(vector, Mapping):
        weights = np.zeros(n_coefficients)
        for name, weight in vector.items():
            if name not in fit.column_names:
                raise ValueError(
                    f"vector names {name!r}, not a coefficient; the coefficients are {list(fit.column_names)}"
                )
            weights[fit.column_names.index(name)] = weight
    else:
        weights = np.asarray(vector, dtype=float)
    if weights.shape != (n_coefficients,):
        raise ValueError(f"vector must have shape ({n_coefficients},), one weight per coefficient, got {weights.shape}")
    if not np.all(np.isfinite(weights)):
        raise ValueError("vector contains NaN or infinite values")
    if not np.any(weights):
        raise ValueError("vector is all zeros: it is not a contrast")
    estimate = fit.coefficients @ weights
    standard_error = np.sqrt(fit.residual_variances * (weights @ fit.unscaled_covariance @ weights))
    t_statistic = _safe_ratio(estimate, standard_error)
    return ContrastResult(
        estimate=estimate,
        standard_error=standard_error,
        t_statistic=t_statistic,
        p_value=_two_sided_p(t_statistic, fit.df_residual),
        df_residual=fit.df_residual,
    )
