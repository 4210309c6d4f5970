"""Gene-wise linear models that share one design: the least-squares core of limma, vectorised over genes.

For every gene :math:`g` the model is :math:`y_g = X\\beta_g + \\varepsilon_g`, with
:math:`\\varepsilon_g \\sim N(0, \\sigma_g^2 I_n)` and one design :math:`X` (n samples x p coefficients) for all
genes. Because :math:`X` is shared, one QR factorisation :math:`X = QR` solves every gene at once:
:math:`\\hat B = R^{-1} Q^\\top Y`. From the residuals come :math:`s_g^2` (``n - p`` degrees of freedom),
standard errors :math:`s_g\\sqrt{[(X^\\top X)^{-1}]_{jj}}`, t-statistics and p-values, and any contrast
:math:`c^\\top\\beta_g`.

With precision weights :math:`w_{gj}` (:func:`voom_weights`) every gene has its own :math:`X^\\top W_g X`, so the
one shared QR no longer applies: :func:`fit_linear_models` then factorises :math:`W_g^{1/2}X` for all genes at once
by a batched QR. :func:`moderate` adds limma's empirical-Bayes moderation of :math:`s_g^2` (``eBayes``): a
scaled-F prior fitted to all genes' variances (:func:`fit_f_prior`, with :func:`trigamma_inverse`), posterior
variances and moderated t-statistics; :func:`contrast` accepts the moderated fit as well.

References: Smyth, "Linear models and empirical Bayes methods for assessing differential expression in
microarray experiments", *Stat. Appl. Genet. Mol. Biol.* 3(1) (2004), sec. 2; Law, Chen, Shi & Smyth, "voom:
precision weights unlock linear model analysis tools for RNA-seq read counts", *Genome Biology* 15:R29
(2014); Trefethen & Bau, *Numerical Linear Algebra*, lecture 11; Phipson, Lee, Majewski, Alexander & Smyth,
"Robust hyperparameter estimation protects against hypervariable genes", *Ann. Appl. Stat.* 10:946 (2016).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.linalg import solve_triangular
from scipy.special import digamma, polygamma
from statsmodels.nonparametric.smoothers_lowess import lowess

from utils._validation import as_array, as_counts, as_matrix, as_vector, check_same_labels, check_scalar
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
    unscaled_covariance : numpy.ndarray, shape (p, p), or (genes, p, p) for a weighted fit
        :math:`(X^\\top X)^{-1}` (:math:`(X^\\top W_g X)^{-1}` per gene with weights); the covariance of
        :math:`\\hat\\beta_g` is :math:`\\sigma_g^2` times it.
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
    df_residual: float


def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    # a zero standard error (perfect fit) gives NaN, without a division warning
    return np.divide(
        numerator, denominator, out=np.full(np.broadcast(numerator, denominator).shape, np.nan), where=denominator > 0
    )


def _two_sided_p(t_statistics: np.ndarray, df: float) -> np.ndarray:
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
    weights: np.ndarray | pd.DataFrame | None = None,
) -> LinearModelFit:
    """Fit :math:`y_g = X\\beta_g + \\varepsilon_g` by least squares for every gene at once.

    One QR of the design (:func:`utils.linalg.lstsq_qr`) gives all coefficients,
    :math:`\\hat B^\\top = R^{-1}Q^\\top Y^\\top`; then :math:`s_g^2 = \\|y_g - X\\hat\\beta_g\\|^2/(n-p)`,
    :math:`\\mathrm{SE}_{gj} = s_g\\sqrt{[(X^\\top X)^{-1}]_{jj}}` with :math:`(X^\\top X)^{-1} = R^{-1}R^{-\\top}`,
    :math:`t_{gj} = \\hat\\beta_{gj}/\\mathrm{SE}_{gj}` and two-sided p-values from :math:`t_{n-p}` (Smyth 2004,
    sec. 2, before moderation).

    With ``weights`` (e.g. voom's precision weights) each gene is a weighted least-squares problem,
    :math:`\\min_\\beta \\sum_j w_{gj}(y_{gj} - x_j^\\top\\beta)^2`, whose normal matrix :math:`X^\\top W_g X`
    differs from gene to gene: the stacked matrices :math:`W_g^{1/2}X` are factorised by one batched QR,
    :math:`W_g^{1/2}X = Q_gR_g`, :math:`\\hat\\beta_g = R_g^{-1}Q_g^\\top W_g^{1/2}y_g`,
    :math:`s_g^2 = \\sum_j w_{gj} r_{gj}^2/(n-p)` and :math:`(X^\\top W_gX)^{-1} = R_g^{-1}R_g^{-\\top}` (limma's
    ``lmFit`` with weights; statsmodels' ``WLS`` per gene).

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
    weights : array_like or DataFrame, shape (genes, n_samples), optional
        Positive, finite precision weights, one per observation (a DataFrame must carry the labels of
        ``responses`` when that is one). Default: ordinary least squares.

    Returns
    -------
    LinearModelFit
        ``unscaled_covariance`` has shape (p, p) without weights and (genes, p, p) with them.
    """
    gene_names = tuple(map(str, responses.index.tolist())) if isinstance(responses, pd.DataFrame) else None
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
    precision = None if weights is None else _weights_array(weights, responses, values.shape)
    # rank and conditioning first, so the error names the collinear columns
    check_design(matrix, names)
    df_residual = n_samples - n_coefficients
    if df_residual < 1:
        raise ValueError(f"design has {n_samples} rows and {n_coefficients} columns: no residual degrees of freedom")

    if precision is None:
        coefficients = lstsq_qr(matrix, values.T).T  # one QR for all genes
        residuals = values - coefficients @ matrix.T
        residual_variances = np.einsum("gi,gi->g", residuals, residuals) / df_residual
        r_factor = np.linalg.qr(matrix, mode="r")
        r_inverse = solve_triangular(r_factor, np.eye(n_coefficients), lower=False)
        unscaled_covariance = r_inverse @ r_inverse.T
        variance_factors = np.diag(unscaled_covariance)[None, :]
    else:
        coefficients, unscaled_covariance = _weighted_least_squares(matrix, values, precision)
        residuals = values - coefficients @ matrix.T
        residual_variances = np.einsum("gi,gi,gi->g", precision, residuals, residuals) / df_residual
        variance_factors = np.diagonal(unscaled_covariance, axis1=1, axis2=2)
    standard_errors = np.sqrt(residual_variances[:, None] * variance_factors)
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


def _weights_array(weights: np.ndarray | pd.DataFrame, responses: object, shape: tuple[int, int]) -> np.ndarray:
    if isinstance(weights, pd.DataFrame) and isinstance(responses, pd.DataFrame):
        check_same_labels(weights.index, responses.index, "weights.index", "responses.index")
        check_same_labels(weights.columns, responses.columns, "weights.columns", "responses.columns")
    precision = as_array(weights, "weights")
    if precision.shape != shape:
        raise ValueError(f"weights must have the shape of responses {shape} (genes x samples), got {precision.shape}")
    if np.any(precision <= 0):
        raise ValueError("weights must be positive (precision weights, one per observation)")
    return precision


def _weighted_least_squares(
    design: np.ndarray, responses: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (genes, p) and :math:`(X^\\top W_g X)^{-1}` (genes, p, p) from a batched QR of
    :math:`W_g^{1/2}X`."""
    root = np.sqrt(weights)
    scaled_design = root[:, :, None] * design[None, :, :]  # (genes, n, p): each gene its own matrix
    q_factors, r_factors = np.linalg.qr(scaled_design)  # one LAPACK call per gene, looped in C
    projected = np.einsum("gnp,gn->gp", q_factors, root * responses)
    coefficients = np.linalg.solve(r_factors, projected[:, :, None])[:, :, 0]
    r_inverse = np.linalg.inv(r_factors)
    return coefficients, r_inverse @ np.swapaxes(r_inverse, 1, 2)


def contrast(
    fit: LinearModelFit | ModeratedFit, vector: Sequence[float] | np.ndarray | Mapping[str, float]
) -> ContrastResult:
    """Estimate, standard error, t and p of the contrast :math:`c^\\top\\beta_g` for every gene.

    :math:`\\mathrm{SE}_g = s_g\\sqrt{c^\\top (X^\\top X)^{-1} c}` and :math:`t_g = c^\\top\\hat\\beta_g/\\mathrm{SE}_g`
    with ``fit.df_residual`` degrees of freedom (limma's ``contrasts.fit`` before ``eBayes``). Given a
    :class:`ModeratedFit` (from :func:`moderate`), :math:`s_g` is replaced by the posterior :math:`\\tilde s_g` and
    the t-statistic has ``df_total`` :math:`= d_0 + d` degrees of freedom: the moderated contrast (``contrasts.fit``
    then ``eBayes``; moderation does not depend on the contrast). With a weighted fit
    :math:`(X^\\top X)^{-1}` is each gene's :math:`(X^\\top W_g X)^{-1}`.

    Parameters
    ----------
    fit : LinearModelFit or ModeratedFit
    vector : array_like of length p, or mapping {coefficient name: weight}
        E.g. ``{"cell[T.N61311]": 1, "cell[T.N080611]": -1}``; names not given get weight 0.
    """
    if isinstance(fit, ModeratedFit):
        variances, df, linear_fit = fit.posterior_variances, fit.df_total, fit.fit
    elif isinstance(fit, LinearModelFit):
        variances, df, linear_fit = fit.residual_variances, fit.df_residual, fit
    else:
        raise TypeError(f"fit must be a LinearModelFit or a ModeratedFit, got {type(fit).__name__}")
    n_coefficients = len(linear_fit.column_names)
    if isinstance(vector, Mapping):
        weights = np.zeros(n_coefficients)
        for name, weight in vector.items():
            if name not in linear_fit.column_names:
                raise ValueError(
                    f"vector names {name!r}, not a coefficient; the coefficients are {list(linear_fit.column_names)}"
                )
            weights[linear_fit.column_names.index(name)] = weight
    else:
        weights = as_array(vector, "vector", finite=False)
    if weights.shape != (n_coefficients,):
        raise ValueError(f"vector must have shape ({n_coefficients},), one weight per coefficient, got {weights.shape}")
    if not np.all(np.isfinite(weights)):
        raise ValueError("vector contains NaN or infinite values")
    if not np.any(weights):
        raise ValueError("vector is all zeros: it is not a contrast")
    estimate = linear_fit.coefficients @ weights
    unscaled = np.einsum("...ij,i,j->...", linear_fit.unscaled_covariance, weights, weights)
    standard_error = np.sqrt(variances * unscaled)
    t_statistic = _safe_ratio(estimate, standard_error)
    return ContrastResult(
        estimate=estimate,
        standard_error=standard_error,
        t_statistic=t_statistic,
        p_value=_two_sided_p(t_statistic, df),
        df_residual=df,
    )


# ------------------------------------------------------------------------------ empirical Bayes (limma's eBayes)
def trigamma_inverse(values: float | np.ndarray, tol: float = 1e-8, max_iter: int = 50) -> float | np.ndarray:
    """Solve :math:`\\psi'(y) = x` for :math:`y > 0`, element-wise, by Newton's method on :math:`1/\\psi'`.

    :math:`1/\\psi'(y)` is convex, nearly linear and :math:`> y - \\tfrac12`, so Newton's iteration for
    :math:`1/\\psi'(y) = 1/x` from :math:`y_0 = \\tfrac12 + 1/x` decreases monotonically to the root:
    :math:`y \\leftarrow y + \\psi'(y)\\,(1 - \\psi'(y)/x)/\\psi''(y)`, until the relative step is below ``tol``
    (Smyth 2004, appendix; limma's ``trigammaInverse``). For :math:`x > 10^7`, :math:`y = 1/\\sqrt x`; for
    :math:`x < 10^{-6}`, :math:`y = 1/x` (the asymptotes, exact to double precision there).

    Parameters
    ----------
    values : float or array_like
        Positive, finite :math:`x`.
    tol : float
        Relative step at which Newton stops.
    max_iter : int
        Newton iterations allowed; ``RuntimeError`` if they do not suffice (they converge in < 10).

    Returns
    -------
    float or numpy.ndarray, the shape of ``values``
    """
    x = as_array(values, "values")
    if np.any(x <= 0):
        raise ValueError("values must be positive: the trigamma function takes only positive values")
    tol = check_scalar(tol, "tol", positive=True)
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise TypeError(f"max_iter must be a positive integer, got {max_iter!r}")
    shape, x = x.shape, x.reshape(-1)
    y = 0.5 + 1.0 / x
    active = (x >= 1e-6) & (x <= 1e7)
    for _ in range(max_iter):
        if not active.any():
            break
        tri = polygamma(1, y[active])
        step = tri * (1.0 - tri / x[active]) / polygamma(2, y[active])
        y[active] += step
        active[active] = -step / y[active] >= tol
    else:
        if active.any():
            raise RuntimeError(f"trigamma_inverse did not converge in {max_iter} iterations")
    y = np.where(x > 1e7, 1.0 / np.sqrt(x), np.where(x < 1e-6, 1.0 / x, y)).reshape(shape)
    return float(y) if y.ndim == 0 else y


@dataclass(frozen=True)
class FPrior:
    """The scaled-F prior of gene-wise variances: :math:`1/\\sigma_g^2 \\sim \\chi^2_{d_0}/(d_0 s_0^2)`."""

    df: float
    """:math:`d_0`, ``numpy.inf`` when the variances are no more spread than sampling alone explains."""
    variance: float
    """:math:`s_0^2`."""


def fit_f_prior(variances: np.ndarray, df: float) -> FPrior:
    """Fit :math:`d_0, s_0^2` of the prior :math:`1/\\sigma_g^2 \\sim \\chi^2_{d_0}/(d_0 s_0^2)` by moments on log s².

    Under the prior, :math:`s_g^2 \\sim s_0^2 F_{d, d_0}`, so :math:`z_g = \\log s_g^2` has mean
    :math:`\\log s_0^2 + \\psi(d/2) - \\log(d/2) - \\psi(d_0/2) + \\log(d_0/2)` and variance
    :math:`\\psi'(d/2) + \\psi'(d_0/2)`. With :math:`e_g = z_g - \\psi(d/2) + \\log(d/2)`, its mean :math:`\\bar e`
    and variance :math:`v_e` (denominator :math:`G - 1`), :math:`d_0 = 2\\,\\psi'^{-1}(v_e - \\psi'(d/2))` and
    :math:`s_0^2 = \\exp(\\bar e + \\psi(d_0/2) - \\log(d_0/2))` (Smyth 2004, sec. 6.2). When
    :math:`v_e \\le \\psi'(d/2)`, :math:`d_0 = \\infty` and :math:`s_0^2` is the mean of the :math:`s_g^2`.
    Exact zeros are first raised to :math:`10^{-5}` times the median, as limma's ``fitFDist`` does.

    Parameters
    ----------
    variances : array_like, shape (genes,)
        Residual variances :math:`s_g^2 \\ge 0`, at least two, fewer than half of them zero.
    df : float
        Their residual degrees of freedom :math:`d > 0`.

    Returns
    -------
    FPrior
    """
    values = as_vector(variances, "variances")
    df = check_scalar(df, "df", positive=True)
    if values.size < 2:
        raise ValueError("variances must hold at least two genes to estimate a prior")
    if np.any(values < 0):
        raise ValueError("variances must be non-negative")
    median = np.median(values)
    if median == 0:
        raise ValueError("more than half of variances are exactly zero: the prior cannot be estimated")
    values = np.maximum(values, 1e-5 * median)
    log_excess = np.log(values) - digamma(df / 2) + np.log(df / 2)
    mean_excess = log_excess.mean()
    excess_variance = log_excess.var(ddof=1) - polygamma(1, df / 2)
    if excess_variance <= 0:
        return FPrior(df=np.inf, variance=float(values.mean()))
    prior_df = 2.0 * trigamma_inverse(excess_variance)
    return FPrior(df=prior_df, variance=float(np.exp(mean_excess + digamma(prior_df / 2) - np.log(prior_df / 2))))


@dataclass(frozen=True, eq=False)
class ModeratedFit:
    """A :class:`LinearModelFit` after empirical-Bayes moderation (limma's ``eBayes``).

    Attributes
    ----------
    fit : LinearModelFit
        The ordinary fit it came from.
    prior : FPrior
        :math:`d_0` and :math:`s_0^2`.
    posterior_variances : numpy.ndarray, shape (genes,)
        :math:`\\tilde s_g^2 = (d_0 s_0^2 + d\\,s_g^2)/(d_0 + d)` (:math:`s_0^2` when :math:`d_0 = \\infty`).
    df_total : float
        :math:`d_0 + d`, capped at the pooled :math:`G d` as limma does.
    standard_errors, t_statistics, p_values : numpy.ndarray, shape (genes, p)
        :math:`\\tilde s_g\\sqrt{[(X^\\top X)^{-1}]_{jj}}`,
        :math:`\\tilde t_{gj} = \\hat\\beta_{gj}/\\widetilde{\\mathrm{SE}}_{gj}` and two-sided
        p-values from :math:`t_{d_0 + d}`.
    """

    fit: LinearModelFit
    prior: FPrior
    posterior_variances: np.ndarray
    df_total: float
    standard_errors: np.ndarray
    t_statistics: np.ndarray
    p_values: np.ndarray

    @property
    def coefficients(self) -> np.ndarray:
        """:math:`\\hat\\beta_g`, unchanged by moderation."""
        return self.fit.coefficients

    @property
    def column_names(self) -> tuple[str, ...]:
        """The coefficients' names."""
        return self.fit.column_names

    def column(self, name: str) -> int:
        """Index of coefficient ``name`` (see :meth:`LinearModelFit.column`)."""
        return self.fit.column(name)


def moderate(fit: LinearModelFit) -> ModeratedFit:
    """Empirical-Bayes moderation of every gene's variance and t-statistic (Smyth 2004; limma's ``eBayes``).

    With the prior :math:`1/\\sigma_g^2 \\sim \\chi^2_{d_0}/(d_0 s_0^2)` fitted to all genes (:func:`fit_f_prior`),
    the posterior mean of :math:`1/\\sigma_g^2` is :math:`1/\\tilde s_g^2`,

    .. math:: \\tilde s_g^2 = \\frac{d_0 s_0^2 + d\\, s_g^2}{d_0 + d}, \\qquad
              \\tilde t_{gj} = \\frac{\\hat\\beta_{gj}}{\\tilde s_g \\sqrt{[(X^\\top X)^{-1}]_{jj}}}
              \\sim t_{d_0 + d} \\text{ under } \\beta_{gj} = 0,

    (Smyth 2004, sec. 3–4): a shrinkage of each variance towards :math:`s_0^2`, and :math:`d_0` extra degrees of
    freedom borrowed from the other genes. Like limma, the total is capped at the pooled :math:`G d`.

    Parameters
    ----------
    fit : LinearModelFit
        From :func:`fit_linear_models` (weighted or not), with at least two genes.

    Returns
    -------
    ModeratedFit
    """
    if not isinstance(fit, LinearModelFit):
        raise TypeError(f"fit must be a LinearModelFit (from fit_linear_models), got {type(fit).__name__}")
    df = float(fit.df_residual)
    prior = fit_f_prior(fit.residual_variances, df)
    if np.isinf(prior.df):
        posterior = np.full_like(fit.residual_variances, prior.variance)
    else:
        posterior = (prior.df * prior.variance + df * fit.residual_variances) / (prior.df + df)
    df_total = float(min(prior.df + df, df * fit.residual_variances.size))
    if fit.unscaled_covariance.ndim == 3:
        variance_factors = np.diagonal(fit.unscaled_covariance, axis1=1, axis2=2)
    else:
        variance_factors = np.diag(fit.unscaled_covariance)[None, :]
    standard_errors = np.sqrt(posterior[:, None] * variance_factors)
    t_statistics = _safe_ratio(fit.coefficients, standard_errors)
    return ModeratedFit(
        fit=fit,
        prior=prior,
        posterior_variances=posterior,
        df_total=df_total,
        standard_errors=standard_errors,
        t_statistics=t_statistics,
        p_values=_two_sided_p(t_statistics, df_total),
    )


# ------------------------------------------------------------------------------------------------------- voom
@dataclass(frozen=True, eq=False)
class VoomResult:
    """voom's transformed responses, precision weights and the mean–variance trend they come from.

    Attributes
    ----------
    log_cpm : numpy.ndarray or DataFrame, shape (genes, samples)
        :math:`y_{gj} = \\log_2\\big((K_{gj} + 0.5)/(N_j + 1)\\cdot 10^6\\big)`.
    weights : numpy.ndarray or DataFrame, shape (genes, samples)
        :math:`w_{gj} = 1/\\hat f(\\hat\\lambda_{gj})^4`.
    mean_log_count : numpy.ndarray, shape (genes,)
        :math:`\\bar y_g + \\overline{\\log_2(N + 1)} - \\log_2 10^6`, the average log2 count.
    sqrt_sd : numpy.ndarray, shape (genes,)
        :math:`\\sqrt{s_g}` of the unweighted fit.
    trend_x, trend_y : numpy.ndarray
        The lowess curve :math:`\\hat f` (sorted abscissae and fitted values), interpolated linearly and held
        constant beyond its ends.
    library_sizes : numpy.ndarray, shape (samples,)
        :math:`N_j`, the column sums of the counts.
    """

    log_cpm: np.ndarray | pd.DataFrame
    weights: np.ndarray | pd.DataFrame
    mean_log_count: np.ndarray
    sqrt_sd: np.ndarray
    trend_x: np.ndarray
    trend_y: np.ndarray
    library_sizes: np.ndarray

    def trend(self, log_count: np.ndarray) -> np.ndarray:
        """:math:`\\hat f` at ``log_count`` (average log2 counts): the predicted :math:`\\sqrt{s}`."""
        return np.interp(np.asarray(log_count, dtype=float), self.trend_x, self.trend_y)


def voom_weights(counts: np.ndarray | pd.DataFrame, design: np.ndarray | pd.DataFrame, span: float = 0.5) -> VoomResult:
    """voom: precision weights for log-CPM from the mean–variance trend (Law, Chen, Shi & Smyth 2014).

    1. :math:`y_{gj} = \\log_2\\big((K_{gj} + 0.5)/(N_j + 1)\\cdot 10^6\\big)` with library sizes
       :math:`N_j = \\sum_g K_{gj}`;
    2. fit :math:`y_g = X\\beta_g + \\varepsilon_g` (:func:`fit_linear_models`), giving :math:`s_g`;
    3. a lowess curve :math:`\\hat f` (span ``span``, 3 robustness iterations, R's ``lowess``) of
       :math:`\\sqrt{s_g}` against the average log2 count :math:`\\bar y_g + \\overline{\\log_2(N + 1)} - \\log_2 10^6`
       (genes with no count at all left out);
    4. at each fitted value :math:`\\hat\\mu_{gj} = x_j^\\top\\hat\\beta_g`, the fitted log2 count
       :math:`\\hat\\lambda_{gj} = \\hat\\mu_{gj} + \\log_2(N_j + 1) - \\log_2 10^6` and the weight
       :math:`w_{gj} = \\hat f(\\hat\\lambda_{gj})^{-4}`, the inverse of the predicted variance.

    Parameters
    ----------
    counts : array_like or DataFrame, shape (genes, samples)
        Non-negative integer counts (filter out unexpressed genes first, as limma advises).
    design : array_like or DataFrame, shape (samples, p)
        Full-rank design; with two DataFrames, ``counts.columns`` must equal ``design.index``.
    span : float
        Fraction of genes in each local fit, in (0, 1].

    Returns
    -------
    VoomResult
        Hand ``log_cpm`` and ``weights`` to ``fit_linear_models(result.log_cpm, design, weights=result.weights)``.
    """
    values = as_counts(counts, "counts")
    span = check_scalar(span, "span", positive=True, upper=1.0)
    if isinstance(counts, pd.DataFrame) and isinstance(design, pd.DataFrame):
        check_same_labels(counts.columns, design.index, "counts.columns", "design.index")
    design_values = as_matrix(design, "design")
    if values.shape[1] != design_values.shape[0]:
        hint = " (a samples x genes table? transpose it)" if values.shape[0] == design_values.shape[0] else ""
        raise ValueError(
            f"counts has {values.shape[1]} columns (samples) but design has {design_values.shape[0]} rows; "
            f"counts must be genes x samples{hint}"
        )
    library_sizes = values.sum(axis=0)
    if np.any(library_sizes == 0):
        raise ValueError(f"counts has samples with no counts at all (positions {np.flatnonzero(library_sizes == 0)})")
    log_library = np.log2(library_sizes + 1.0)
    log_cpm = np.log2(values + 0.5) - log_library + np.log2(1e6)
    fit = fit_linear_models(log_cpm, design_values)
    mean_log_count = log_cpm.mean(axis=1) + log_library.mean() - np.log2(1e6)
    sqrt_sd = np.sqrt(np.sqrt(fit.residual_variances))
    expressed = values.sum(axis=1) > 0
    if expressed.sum() < 3:
        raise ValueError("counts must have at least three genes with a non-zero count to fit the trend")
    x = mean_log_count[expressed]
    curve = lowess(sqrt_sd[expressed], x, frac=span, it=3, delta=0.01 * (x.max() - x.min()), return_sorted=True)
    trend_x, trend_y = curve[:, 0], curve[:, 1]
    fitted_log_count = fit.coefficients @ design_values.T + log_library - np.log2(1e6)
    weights = 1.0 / np.interp(fitted_log_count, trend_x, trend_y) ** 4
    if isinstance(counts, pd.DataFrame):
        log_cpm = pd.DataFrame(log_cpm, index=counts.index, columns=counts.columns)
        weights = pd.DataFrame(weights, index=counts.index, columns=counts.columns)
    return VoomResult(log_cpm, weights, mean_log_count, sqrt_sd, trend_x, trend_y, library_sizes)
