"""DESeq2, stage by stage, vectorised over genes: the capstone's engine.

Every stage is a function a learner can call on its own, and :func:`deseq` chains them the way DESeq2's
``DESeq()`` + ``results()`` do. For gene :math:`g` and sample :math:`j`,

.. math::

    K_{gj} \\sim \\mathrm{NB}(\\mu_{gj}, \\alpha_g), \\qquad \\mu_{gj} = s_j q_{gj}, \\qquad
    \\log q_{gj} = x_j^\\top \\beta_g .

1. size factors :math:`s_j` (median of ratios) — :func:`utils.glm.size_factors_median_of_ratios`;
2. rough starting dispersions — :func:`initial_dispersions`;
3. gene-wise dispersions maximising Cox–Reid's adjusted profile likelihood — :func:`genewise_dispersions`;
4. the trend :math:`\\alpha_{tr}(\\bar q) = a_0 + a_1/\\bar q` (gamma GLM, outliers removed) — :func:`dispersion_trend`;
5. the width of the log-normal prior around it — :func:`dispersion_prior_variance`;
6. MAP dispersions, keeping the gene-wise value for dispersion outliers — :func:`map_dispersions`;
7. the NB GLM with those dispersions and Wald tests — :func:`wald_test`;
8. Cook's distances and outlier flags — :func:`cooks_distances`, :func:`cooks_outliers`;
9. Benjamini–Hochberg with independent filtering on the mean of normalised counts — :func:`independent_filtering`;
10. apeglm-style shrinkage of a log fold change — :func:`lfc_shrink`;
11. the variance-stabilising transformation — :func:`vst`.

Where R's DESeq2 and PyDESeq2 differ, this module follows PyDESeq2 (the reference its tests compare with):
the trend is fitted to all non-zero genes with iterative removal of those whose ratio to the curve leaves
:math:`[10^{-4}, 15)` (R first drops genes below :math:`100\\cdot` the minimal dispersion); the prior width uses
the trigamma sampling variance for any residual degrees of freedom (R simulates it when :math:`m - p \\le 3`); and
the Wald covariance carries PyDESeq2's ridge of :math:`10^{-6}`. The one-dimensional dispersion problems (gene-wise
and MAP) are solved as PyDESeq2 solves them, SciPy's L-BFGS-B from the starting value and a grid search where it
fails, with :func:`utils.lbfgsb.lbfgsb_scalar_batched` (the same algorithm, vectorised over genes): where the
Cox–Reid likelihood is flat towards :math:`\\alpha = 0`, where the optimiser stops *is* the estimate, so a
different optimiser gives different estimates on ~1 % of genes and moves the trend. R's DESeq2 climbs with its own
line search (``fitDisp``) and also falls back to a grid (``fitDispGrid``). One deliberate difference: PyDESeq2's
fallback grid for MAP dispersions drops the prior (``grid_fit_alpha`` is called without ``prior_reg``); here it is
kept. :func:`utils.dispersion.fit_dispersions` (grid-started, Newton) finds each gene's best optimum instead.

References: Love, Huber & Anders, "Moderated estimation of fold change and dispersion for RNA-seq data with
DESeq2", *Genome Biology* 15:550 (2014), Methods; Zhu, Ibrahim & Love, "Heavy-tailed prior distributions for
sequence count data", *Bioinformatics* 35:2084 (2019) (apeglm); Muzellec et al., "PyDESeq2", *Bioinformatics*
39:btad547 (2023); Bourgon, Gentleman & Huber, *PNAS* 107:9546 (2010) (independent filtering).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import brentq
from scipy.special import polygamma

from utils._validation import as_counts, check_same_labels, check_scalar
from utils.dispersion import gene_objective
from utils.glm import DESEQ2_MIN_MEAN, fit_nb_glm, size_factors_median_of_ratios
from utils.lbfgsb import lbfgsb_scalar_batched
from utils.linalg import check_design
from utils.linear_models import design_matrix

MIN_DISPERSION = 1e-8
"""DESeq2's ``minDisp``: the lower bound of every dispersion estimate."""

RIDGE = 1e-6
"""PyDESeq2's ridge on the GLM information :math:`X^\\top W X` (in the IRLS and the Wald covariance)."""

COOKS_QUANTILE = 0.99
"""Cook's distances above the 0.99 quantile of :math:`F(p, m - p)` flag an outlier (DESeq2's ``cooksCutoff``)."""

PRIOR_SCALE_NO_SHRINK = 15.0
"""Normal prior scale on the coefficients that :func:`lfc_shrink` does not shrink (apeglm's default)."""


# ------------------------------------------------------------------------------------------ design and input
def _factors_of(design: str) -> list[str]:
    if not isinstance(design, str):
        raise TypeError(f"design must be a formula string such as '~ type + condition', got {type(design).__name__}")
    match = re.fullmatch(r"\s*~\s*(.+?)\s*", design)
    if not match:
        raise ValueError(f"design must look like '~ factor1 + factor2', got {design!r}")
    factors = [term.strip() for term in match.group(1).split("+")]
    for term in factors:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", term):
            raise ValueError(
                f"design term {term!r} is not a column name: this implementation takes additive categorical "
                "factors (no interactions, transformations or '- 1')"
            )
    if len(set(factors)) != len(factors):
        raise ValueError(f"design names a factor twice: {design!r}")
    return factors


def build_design(samples: pd.DataFrame, design: str) -> pd.DataFrame:
    """Treatment-coded design matrix of an additive formula of categorical factors, indexed by sample.

    ``"~ type + condition"`` gives the columns ``Intercept``, ``type[T.paired-end]``, ``condition[T.treated]``
    (the reference level of a factor is its first category, or its smallest value if it is not categorical).
    Raises ``ValueError`` for an unknown factor, a factor with a single level, or a rank-deficient design (naming
    the collinear columns).
    """
    factors = _factors_of(design)
    for factor in factors:
        if factor not in samples.columns:
            raise ValueError(f"design names {factor!r}, which is not a column of samples ({list(samples.columns)})")
    matrix = design_matrix(samples, factors)
    check_design(matrix.to_numpy(), list(matrix.columns))
    if matrix.shape[1] >= matrix.shape[0]:
        raise ValueError(
            f"design {design!r} has {matrix.shape[1]} coefficients for {matrix.shape[0]} samples: no residual "
            "degrees of freedom to estimate dispersions"
        )
    return matrix


def contrast_vector(samples: pd.DataFrame, design: pd.DataFrame, contrast: Sequence[str]) -> pd.Series:
    """The vector :math:`c` with :math:`c^\\top\\beta` = log fold change of ``level`` over ``reference``.

    ``contrast = (factor, level, reference)`` as in DESeq2's ``results(contrast=...)``; either level may be the
    factor's reference level of the design.
    """
    if not isinstance(contrast, Sequence) or isinstance(contrast, str) or len(contrast) != 3:
        raise ValueError(f"contrast must be (factor, level, reference), got {contrast!r}")
    factor, level, reference = (str(part) for part in contrast)
    if factor not in samples.columns:
        raise ValueError(f"contrast names factor {factor!r}, which is not a column of samples")
    prefix = f"{factor}[T."
    in_design = [c for c in design.columns if c.startswith(prefix)]
    if not in_design:
        raise ValueError(f"contrast factor {factor!r} is not in the design (columns {list(design.columns)})")
    levels = [str(v) for v in pd.unique(samples[factor].astype(str))]
    for name in (level, reference):
        if name not in levels:
            raise ValueError(f"contrast level {name!r} does not occur in samples[{factor!r}] (levels {levels})")
    if level == reference:
        raise ValueError(f"contrast compares level {level!r} with itself")
    vector = pd.Series(0.0, index=design.columns)
    for name, sign in ((level, 1.0), (reference, -1.0)):
        column = f"{factor}[T.{name}]"
        if column in vector.index:
            vector[column] += sign
    return vector


def _validated_counts(counts: Any, samples: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(counts, pd.DataFrame):
        raise TypeError("counts must be a pandas DataFrame, genes x samples, whose columns name the samples")
    if not isinstance(samples, pd.DataFrame):
        raise TypeError("samples must be a pandas DataFrame with one row per sample")
    values = as_counts(counts, "counts")
    check_same_labels(counts.columns, samples.index, "counts.columns", "samples.index")
    if counts.index.has_duplicates:
        raise ValueError("counts has duplicated gene names in its index")
    return pd.DataFrame(values, index=counts.index, columns=counts.columns)


# ------------------------------------------------------------------------------------------ stage 2
def _lstsq_fit(design: np.ndarray, responses: np.ndarray) -> np.ndarray:
    """Least-squares fitted values of every gene (rows of ``responses``) on one design."""
    coefficients, *_ = np.linalg.lstsq(design, responses.T, rcond=None)
    return (design @ coefficients).T


def initial_dispersions(
    normed_counts: np.ndarray, size_factors: np.ndarray, design: np.ndarray, bounds: tuple[float, float]
) -> np.ndarray:
    """DESeq2's starting dispersions: the smaller of a rough and a moments estimate, clipped to ``bounds``.

    Rough: :math:`\\hat\\alpha^{rde}_g = \\sum_j [(q_{gj} - \\hat q_{gj})^2 - \\hat q_{gj}] / [(m-p)\\hat q_{gj}^2]`
    from a linear fit :math:`\\hat q` of the normalised counts (floored at 1); moments:
    :math:`\\hat\\alpha^{mom}_g = (v_g - \\bar q_g\\,\\overline{1/s}) / \\bar q_g^2` with :math:`v_g` the sample
    variance. Genes must not be all zero.
    """
    n_samples, n_coefficients = design.shape
    fitted = np.maximum(_lstsq_fit(design, normed_counts), 1.0)
    rough = np.maximum(
        (((normed_counts - fitted) ** 2 - fitted) / ((n_samples - n_coefficients) * fitted**2)).sum(axis=1), 0.0
    )
    mean = normed_counts.mean(axis=1)
    variance = normed_counts.var(axis=1, ddof=1)
    moments = np.nan_to_num((variance - np.mean(1.0 / size_factors) * mean) / mean**2)
    return np.clip(np.minimum(rough, moments), *bounds)


# ------------------------------------------------------------------------------------------ stage 3
def _n_groups(design: np.ndarray) -> int:
    return len(np.unique(design, axis=0))


def fitted_means_for_dispersion(
    counts: np.ndarray, size_factors: np.ndarray, design: np.ndarray, dispersions: np.ndarray
) -> np.ndarray:
    """The means :math:`\\hat\\mu_{gj}` that the dispersion likelihood holds fixed.

    When every coefficient has its own group of identical design rows (as many distinct rows as columns), a
    linear fit of the normalised counts (floored at 0.5); otherwise the NB GLM with the starting dispersions
    (means not floored), as DESeq2 does.
    """
    if _n_groups(design) == design.shape[1]:
        return np.maximum(size_factors * _lstsq_fit(design, counts / size_factors), DESEQ2_MIN_MEAN)
    # slow genes (zeros in a group, large dispersion) can need hundreds of IRLS steps; only they keep iterating
    fit = fit_nb_glm(counts, design, size_factors, dispersion=dispersions, tol=1e-10, max_iter=1000)
    return size_factors * np.exp(fit.coefficients @ design.T)


GRID_POINTS = 100
"""Points of PyDESeq2's fallback grid over :math:`\\log\\alpha` (``grid_fit_alpha``), and of its finer second grid."""


def _dispersion_search(
    counts: np.ndarray,
    means: np.ndarray,
    design: np.ndarray,
    bounds: tuple[float, float],
    start: np.ndarray,
    log_prior_mean: np.ndarray | None = None,
    prior_variance: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Minimise :math:`-\\ell^{CR}_g(\\theta)` (plus the log-normal prior when given) from ``log(start)`` for every
    gene at once, as PyDESeq2 does gene by gene: SciPy's L-BFGS-B (:func:`utils.lbfgsb.lbfgsb_scalar_batched`, its
    algorithm vectorised over genes), and where it reports a failure a grid search over the whole interval.
    Returns the dispersions and L-BFGS-B's success flags."""
    objective = gene_objective(counts, means, design, cox_reid=True)

    def negative(theta: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        terms = objective(theta, rows)
        value, first = -terms.value, -terms.first
        if log_prior_mean is not None:
            gap = theta - log_prior_mean[rows]
            value, first = value + gap**2 / (2 * prior_variance), first + gap / prior_variance
        return value, first

    low, high = np.log(bounds[0]), np.log(bounds[1])
    result = lbfgsb_scalar_batched(negative, low, high, np.clip(np.log(start), low, high), indexed=True)
    theta = result.x.copy()
    failed = np.flatnonzero(~result.success)
    if failed.size:
        theta[failed] = _grid_search(negative, failed, low, high)
    return np.clip(np.exp(theta), *bounds), result.success


def _grid_search(negative: Any, genes: np.ndarray, low: float, high: float) -> np.ndarray:
    """PyDESeq2's fallback (``grid_fit_alpha``): the best of :data:`GRID_POINTS` points on :math:`[\\log a, \\log b]`,
    then the best of as many on the two grid intervals around it, every gene at once."""
    grid = np.linspace(low, high, GRID_POINTS)

    def best(points: np.ndarray) -> np.ndarray:  # points: (genes, GRID_POINTS)
        values = negative(points.ravel(), np.repeat(genes, GRID_POINTS))[0].reshape(points.shape)
        return points[np.arange(len(genes)), np.argmin(values, axis=1)]

    coarse = best(np.broadcast_to(grid, (len(genes), GRID_POINTS)))
    step = grid[1] - grid[0]
    return best(coarse[:, None] + np.linspace(-step, step, GRID_POINTS)[None, :])


def genewise_dispersions(
    counts: np.ndarray, means: np.ndarray, design: np.ndarray, bounds: tuple[float, float], start: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Maximise Cox–Reid's adjusted profile likelihood :math:`\\ell(\\alpha) - \\frac12\\log\\det X^\\top W X` over
    :math:`\\log\\alpha \\in [\\log a, \\log b]` for every gene, from the starting dispersions.

    The search is PyDESeq2's, vectorised: L-BFGS-B from the start (SciPy's defaults: a projected slope in
    :math:`\\log\\alpha` below :math:`10^{-5}`, or a relative decrease below :math:`2.2\\cdot10^{-9}`, stops it),
    and a grid over the interval where L-BFGS-B fails. Near :math:`\\alpha = 0` the slope,
    :math:`\\alpha\\,\\partial\\ell/\\partial\\alpha`, vanishes with :math:`\\alpha`, and for a start on the floor
    :math:`10^{-8}` (moments estimate :math:`\\le 0`) L-BFGS-B stops after one tiny step: the estimate stays on the
    floor even where a maximum lies higher up. On pasilla this reproduces PyDESeq2's gene-wise estimates to a median
    of :math:`3\\cdot10^{-9}` in :math:`\\log\\alpha`; the 25 genes (0.2 %) beyond :math:`10^{-2}` all start on the
    floor, where PyDESeq2's objective, computed without this module's large-:math:`1/\\alpha` expansions, rounds at
    :math:`\\sim10^{-7}` and decides whether its line search fails (then its grid finds the higher maximum).
    Returns the dispersions and L-BFGS-B's success flags.
    """
    return _dispersion_search(counts, means, design, bounds, start)


# ------------------------------------------------------------------------------------------ stage 4
@dataclass(frozen=True)
class DispersionTrend:
    """The fitted mean–dispersion relation.

    ``kind`` is ``"parametric"`` (:math:`a_0 + a_1/\\bar q`) or ``"mean"`` (the fallback: a constant, the 0.1 %
    trimmed mean of the gene-wise dispersions above :math:`10\\cdot` the minimum). ``used`` marks the genes left in
    the final parametric fit.
    """

    kind: str
    a0: float
    a1: float
    used: np.ndarray = field(repr=False)
    iterations: int = 0

    def __call__(self, mean_normalised: np.ndarray) -> np.ndarray:
        mean_normalised = np.asarray(mean_normalised, dtype=float)
        if self.kind == "mean":
            return np.full_like(mean_normalised, self.a0)
        return self.a0 + self.a1 / mean_normalised


def _gamma_identity_glm(covariate: np.ndarray, target: np.ndarray, max_iter: int = 100) -> tuple[np.ndarray, bool]:
    """Gamma GLM with identity link, :math:`E[t] = a_0 + a_1 x`, by IRLS (weights :math:`1/\\mu^2`).

    It minimises :math:`\\frac1G\\sum_g [t_g/\\mu_g + \\log\\mu_g]` (the gamma negative log-likelihood up to
    constants, the objective PyDESeq2 hands to L-BFGS-B), halving a step that would make a fitted mean
    non-positive or increase the objective. Returns the coefficients and whether they converged.
    """
    design = np.column_stack([np.ones_like(covariate), covariate])

    def objective(coefficients: np.ndarray) -> float:
        mean = design @ coefficients
        return float(np.mean(target / mean + np.log(mean))) if np.all(mean > 0) else np.inf

    coefficients = np.array([1.0, 1.0])
    current = objective(coefficients)
    for _ in range(max_iter):
        mean = design @ coefficients
        weights = 1.0 / mean**2
        proposal = np.linalg.solve((design.T * weights) @ design, (design.T * weights) @ target)
        step = proposal - coefficients
        for _ in range(60):
            value = objective(coefficients + step)
            if value <= current:
                break
            step = step / 2
        else:
            return coefficients, True  # no decrease along the IRLS direction: at the optimum to rounding
        coefficients, current = coefficients + step, value
        if np.max(np.abs(step) / np.maximum(np.abs(coefficients), 1e-12)) < 1e-12:
            return coefficients, True
    return coefficients, False


def dispersion_trend(genewise: np.ndarray, mean_normalised: np.ndarray) -> DispersionTrend:
    """Fit :math:`\\alpha_{tr}(\\bar q) = a_0 + a_1/\\bar q` to the gene-wise dispersions by a gamma-family GLM.

    The fit is repeated, each time without the genes whose dispersion is below :math:`10^{-4}` or at least 15
    times the current curve, until :math:`\\sum_k \\log(a_k/a_k^{old})^2 < 10^{-6}`; when a coefficient is not
    positive the constant "mean" trend is used instead, as DESeq2 and PyDESeq2 do.
    """
    genewise = np.asarray(genewise, dtype=float)
    mean_normalised = np.asarray(mean_normalised, dtype=float)
    covariate = 1.0 / mean_normalised
    used = np.isfinite(covariate) & np.isfinite(genewise)
    coefficients, old = np.array([1.0, 1.0]), np.array([0.1, 0.1])
    iterations = 0
    while np.all(coefficients > 1e-10) and np.sum(np.log(np.abs(coefficients / old)) ** 2) >= 1e-6:
        old = coefficients
        coefficients, converged = _gamma_identity_glm(covariate[used], genewise[used])
        iterations += 1
        if not converged or np.any(coefficients <= 1e-10):
            return _mean_trend(genewise, iterations)
        ratio = genewise / (coefficients[0] + coefficients[1] * covariate)
        used &= (ratio >= 1e-4) & (ratio < 15)
    return DispersionTrend("parametric", float(coefficients[0]), float(coefficients[1]), used, iterations)


def _mean_trend(genewise: np.ndarray, iterations: int = 0) -> DispersionTrend:
    keep = genewise > 10 * MIN_DISPERSION
    value = float(stats.trim_mean(genewise[keep], proportiontocut=0.001))
    return DispersionTrend("mean", value, 0.0, keep, iterations)


# ------------------------------------------------------------------------------------------ stage 5
def dispersion_prior_variance(
    genewise: np.ndarray, trend: np.ndarray, n_samples: int, n_coefficients: int
) -> tuple[float, float]:
    """Variance :math:`\\sigma_d^2` of the log-normal prior of dispersions around the trend.

    With :math:`r_g = \\log\\hat\\alpha^{gw}_g - \\log\\alpha_{tr}(\\bar q_g)` over genes with
    :math:`\\hat\\alpha^{gw} \\ge 100\\cdot` the minimum, :math:`s_{lr}^2 = \\mathrm{MAD}(r)^2` (robust, scaled to a
    normal's SD), and :math:`\\sigma_d^2 = \\max(s_{lr}^2 - \\psi_1((m-p)/2),\\ 0.25)`: the observed spread minus the
    sampling variance of a log dispersion estimate with :math:`m - p` degrees of freedom, floored at 0.25.

    Returns ``(prior_variance, squared_log_residual)``.
    """
    residuals = np.log(genewise) - np.log(trend)
    keep = genewise >= 100 * MIN_DISPERSION
    centred = residuals[keep] - np.median(residuals[keep])
    squared = float((np.median(np.abs(centred)) / stats.norm.ppf(0.75)) ** 2)
    sampling = float(polygamma(1, (n_samples - n_coefficients) / 2))
    return max(squared - sampling, 0.25), squared


# ------------------------------------------------------------------------------------------ stage 6
def map_dispersions(
    counts: np.ndarray,
    means: np.ndarray,
    design: np.ndarray,
    trend: np.ndarray,
    prior_variance: float,
    bounds: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Maximise :math:`\\ell^{CR}_g(\\alpha) - (\\log\\alpha - \\log\\alpha_{tr,g})^2 / (2\\sigma_d^2)` per gene,
    starting from the trend.

    The log-normal prior pulls each estimate towards the trend, the more so the less information the gene's
    counts carry. Returns the MAP dispersions and the solver's convergence flags.
    """
    return _dispersion_search(counts, means, design, bounds, trend, np.log(trend), prior_variance)


# ------------------------------------------------------------------------------------------ stage 7
@dataclass(frozen=True)
class WaldResult:
    """Coefficients (natural log), the contrast's estimate, standard error, statistic and p-value per gene."""

    coefficients: np.ndarray
    estimate: np.ndarray
    standard_error: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    means: np.ndarray
    hat_diagonals: np.ndarray
    converged: np.ndarray
    floored: np.ndarray


def wald_test(
    counts: np.ndarray, size_factors: np.ndarray, design: np.ndarray, dispersions: np.ndarray, contrast: np.ndarray
) -> WaldResult:
    """Fit the NB GLM with the final dispersions (means floored at 0.5 in IRLS) and test :math:`c^\\top\\beta = 0`.

    With :math:`M_g = X^\\top W_g X`, :math:`W_g = \\mathrm{diag}(\\mu_{gj}/(1+\\alpha_g\\mu_{gj}))` at the unfloored
    fitted means and :math:`H_g = (M_g + \\lambda I)^{-1}` (:math:`\\lambda = 10^{-6}`), the standard error is
    :math:`\\sqrt{c^\\top H_g M_g H_g c}`, the statistic :math:`z = c^\\top\\hat\\beta_g / \\mathrm{SE}` and the
    p-value :math:`2\\Phi(-|z|)`. Also returns the hat diagonals
    :math:`h_{gj} = w_{gj} x_j^\\top (M_g+\\lambda I)^{-1} x_j` (floored means) for Cook's distances.
    """
    # slow genes (zeros in a group, large dispersion) can need hundreds of IRLS steps; only they keep iterating
    fit = fit_nb_glm(counts, design, size_factors, dispersion=dispersions, tol=1e-10, max_iter=1000)
    coefficients = fit.coefficients
    means = size_factors * np.exp(coefficients @ design.T)
    ridge = RIDGE * np.eye(design.shape[1])

    def information(mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        weights = mu / (1.0 + dispersions[:, None] * mu)
        return weights, np.einsum("gj,jk,jl->gkl", weights, design, design)

    _, unfloored = information(means)
    covariance = np.linalg.inv(unfloored + ridge)
    projected = covariance @ contrast
    standard_error = np.sqrt(np.einsum("gk,gkl,gl->g", projected, unfloored, projected))
    estimate = coefficients @ contrast
    statistic = estimate / standard_error
    weights, floored = information(np.maximum(means, DESEQ2_MIN_MEAN))
    hat = weights * np.einsum("jk,gkl,jl->gj", design, np.linalg.inv(floored + ridge), design)
    return WaldResult(
        coefficients=coefficients,
        estimate=estimate,
        standard_error=standard_error,
        statistic=statistic,
        p_value=2 * stats.norm.sf(np.abs(statistic)),
        means=means,
        hat_diagonals=hat,
        converged=fit.converged,
        floored=fit.floored,
    )


# ------------------------------------------------------------------------------------------ stage 8
def _trimmed_mean(values: np.ndarray, trim: float) -> np.ndarray:
    """Mean over the last axis after dropping ``floor(n * trim)`` values at each end."""
    ordered = np.sort(values, axis=-1)
    n = ordered.shape[-1]
    cut = int(np.floor(n * trim))
    return ordered[..., cut : n - cut].mean(axis=-1)


def _replicated(design: np.ndarray, minimum: int) -> np.ndarray:
    """For each sample, whether at least ``minimum`` samples share its design row (its 'cell')."""
    _, inverse, sizes = np.unique(design, axis=0, return_inverse=True, return_counts=True)
    return sizes[inverse.ravel()] >= minimum


def robust_dispersions(normed_counts: np.ndarray, design: np.ndarray) -> np.ndarray:
    """DESeq2's trimmed method-of-moments dispersion for Cook's distances, floored at 0.04.

    The variance is a trimmed variance within each cell of at least 3 replicates (the largest over cells), or
    across all samples when no cell has 3; :math:`\\alpha = \\max((v - \\bar q)/\\bar q^2, 0.04)`.
    """
    replicated = _replicated(design, 3)
    if replicated.any():
        cells = np.unique(design[replicated], axis=0, return_inverse=True)[1].ravel()
        variances = []
        for cell in np.unique(cells):
            group = normed_counts[:, replicated][:, cells == cell]
            size = group.shape[1]
            index = 2 if size >= 23.5 else 1 if size >= 3.5 else 0
            trim = (1 / 3, 1 / 4, 1 / 8)[index]
            centre = _trimmed_mean(group, trim)
            variances.append((2.04, 1.86, 1.51)[index] * _trimmed_mean((group - centre[:, None]) ** 2, trim))
        variance = np.max(variances, axis=0)
    else:
        centre = _trimmed_mean(normed_counts, 0.125)
        variance = 1.51 * _trimmed_mean((normed_counts - centre[:, None]) ** 2, 0.125)
    mean = normed_counts.mean(axis=1)
    return np.maximum((variance - mean) / mean**2, 0.04)


def cooks_distances(
    counts: np.ndarray, means: np.ndarray, hat_diagonals: np.ndarray, robust_dispersion: np.ndarray, n_coefficients: int
) -> np.ndarray:
    """Cook's distance of every count: :math:`D_{gj} = \\frac{(K_{gj}-\\mu_{gj})^2}{p\\,(\\mu_{gj} +
    \\alpha^{rob}_g\\mu_{gj}^2)} \\cdot \\frac{h_{gj}}{(1-h_{gj})^2}` (DESeq2's, with the robust dispersion)."""
    variance = means + robust_dispersion[:, None] * means**2
    return (counts - means) ** 2 / (n_coefficients * variance) * hat_diagonals / (1 - hat_diagonals) ** 2


def cooks_outliers(counts: np.ndarray, cooks: np.ndarray, design: np.ndarray) -> np.ndarray:
    """Genes whose p-value DESeq2 sets to NA for an outlier.

    A gene is flagged when a sample in a cell of at least 3 replicates has a Cook's distance above the 0.99
    quantile of :math:`F(p, m-p)`, unless 3 or more samples have a larger count than the sample with the largest
    distance. (With no cell of 3 replicates, as in pasilla, nothing is flagged.) DESeq2 also replaces an
    outlying count in a cell of 7 or more replicates by the cell's trimmed mean and refits the gene
    (``minReplicatesForReplace``); that step is not implemented here: such genes keep their flag and NA p-value.
    """
    n_samples, n_coefficients = design.shape
    cutoff = stats.f.ppf(COOKS_QUANTILE, n_coefficients, n_samples - n_coefficients)
    usable = _replicated(design, 3)
    flagged = np.any(cooks[:, usable] > cutoff, axis=1) if usable.any() else np.zeros(len(counts), dtype=bool)
    rows = np.flatnonzero(flagged)
    if rows.size:
        worst = np.argmax(cooks[rows], axis=1)
        above = (counts[rows] > counts[rows, worst][:, None]).sum(axis=1)
        flagged[rows] = above < 3
    return flagged


# ------------------------------------------------------------------------------------------ stage 9
def _lowess(x: np.ndarray, y: np.ndarray, frac: float = 0.2, iterations: int = 3) -> np.ndarray:
    """Robust locally linear regression (Cleveland 1979) with tricube weights, as DESeq2's filter uses."""
    n = len(x)
    span = int(np.ceil(frac * n))
    width = np.maximum(np.sort(np.abs(x[None, :] - x[:, None]), axis=1)[:, span], 1e-12)
    distance = np.clip(np.abs((x[:, None] - x[None, :]) / width[:, None]), 0.0, 1.0)
    kernel = (1 - distance**3) ** 3  # kernel[i, k]: weight of point k in the fit at x_i
    robustness = np.ones(n)
    estimate = np.zeros(n)
    for _ in range(iterations):
        weights = kernel * robustness[None, :]
        s0, s1, s2 = weights.sum(1), weights @ x, weights @ x**2
        t0, t1 = weights @ y, weights @ (x * y)
        determinant = s0 * s2 - s1**2
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(np.abs(determinant) > 1e-300, (s0 * t1 - s1 * t0) / determinant, 0.0)
            intercept = np.where(s0 > 0, (t0 - slope * s1) / s0, y)
        estimate = intercept + slope * x
        residuals = y - estimate
        scale = np.median(np.abs(residuals))
        if scale == 0:
            robustness = (np.abs(residuals) > 0).astype(float)
        else:
            robustness = np.clip(residuals / (6.0 * scale), -1, 1)
        robustness = (1 - robustness**2) ** 2
    return estimate


@dataclass(frozen=True)
class FilteringResult:
    """Independent filtering: the adjusted p-values and the curve it was chosen from."""

    padj: np.ndarray
    theta: np.ndarray
    cutoffs: np.ndarray
    rejections: np.ndarray
    fitted: np.ndarray
    chosen: int

    @property
    def threshold(self) -> float:
        """The mean of normalised counts below which genes were filtered out."""
        return float(self.cutoffs[self.chosen])


def _benjamini_hochberg_filtered(p_values: np.ndarray, base_mean: np.ndarray, cutoffs: np.ndarray) -> np.ndarray:
    """BH-adjusted p-values of the genes with ``base_mean >= cutoff``, one row per cutoff (NaN elsewhere).

    All cutoffs at once, as ``scipy.stats.false_discovery_control`` computes each: sort the p-values once; in each
    row a gene's rank is the number of kept genes up to it, its adjusted value :math:`p\\,(n/\\mathrm{rank})`, then the
    running minimum from the largest p-value down, clipped at 1.
    """
    tested = np.flatnonzero(~np.isnan(p_values))
    order = tested[np.argsort(p_values[tested])]
    kept = base_mean[order][None, :] >= cutoffs[:, None]  # (cutoffs, tested genes in p-value order)
    ranks = np.cumsum(kept, axis=1)
    counts = ranks[:, -1:] if order.size else np.zeros((len(cutoffs), 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(kept, p_values[order][None, :] * (counts / ranks), np.inf)
    running = np.minimum.accumulate(scaled[:, ::-1], axis=1)[:, ::-1]
    adjusted = np.full((len(cutoffs), len(p_values)), np.nan)
    adjusted[:, order] = np.where(kept, np.clip(running, 0.0, 1.0), np.nan)
    return adjusted


def independent_filtering(base_mean: np.ndarray, p_values: np.ndarray, alpha: float = 0.1) -> FilteringResult:
    """Benjamini–Hochberg after removing the genes of lowest mean normalised count, the fraction chosen to
    maximise the number of rejections (DESeq2's ``results(independentFiltering=TRUE)``).

    For 50 quantiles :math:`\\theta` from the fraction of zero-mean genes to 0.95, genes with mean below the
    :math:`\\theta`-quantile are filtered and BH applied to the rest; a lowess curve through the numbers of
    rejections at ``alpha`` picks the first :math:`\\theta` whose count exceeds the curve's maximum minus the
    residuals' root mean square. The filter is independent of the p-values under the null because the mean of
    normalised counts ignores the sample labels (Bourgon et al. 2010).
    """
    lower = float(np.mean(base_mean == 0))
    theta = np.linspace(lower, 0.95 if lower < 0.95 else 1.0, 50)
    cutoffs = np.quantile(base_mean, theta)
    adjusted = _benjamini_hochberg_filtered(p_values, base_mean, cutoffs)
    rejections = np.sum(adjusted < alpha, axis=1)
    fitted = _lowess(theta, rejections.astype(float), frac=1 / 5)
    chosen = 0
    if rejections.max() > 10:
        positive = rejections > 0
        threshold = fitted.max() - np.sqrt(np.mean((rejections[positive] - fitted[positive]) ** 2))
        above = np.flatnonzero(rejections > threshold)
        chosen = int(above[0]) if above.size else 0
    return FilteringResult(adjusted[chosen], theta, cutoffs, rejections, fitted, chosen)


# ------------------------------------------------------------------------------------------ the pipeline
@dataclass(frozen=True, eq=False)
class DESeqFit:
    """Everything :func:`deseq` computed, reachable from its result as ``result.attrs["deseq"]``."""

    counts: pd.DataFrame
    samples: pd.DataFrame
    design: pd.DataFrame
    contrast: tuple[str, str, str]
    contrast_vector: pd.Series
    size_factors: pd.Series
    coefficients: pd.DataFrame
    trend: DispersionTrend
    prior_variance: float
    squared_log_residual: float
    cooks: pd.DataFrame
    filtering: FilteringResult
    alpha: float
    bounds: tuple[float, float]


def deseq(
    counts: pd.DataFrame,
    samples: pd.DataFrame,
    design: str = "~ condition",
    contrast: Sequence[str] | None = None,
    alpha: float = 0.1,
) -> pd.DataFrame:
    """Differential expression as DESeq2's ``DESeq()`` then ``results(contrast=..., alpha=...)``.

    Parameters
    ----------
    counts : pandas.DataFrame, genes x samples
        Raw integer counts; its columns must equal ``samples.index`` (same samples, same order).
    samples : pandas.DataFrame
        One row per sample with the design's factors (categorical: the first category is the reference).
    design : str
        An additive formula of factors, e.g. ``"~ type + condition"`` or ``"~ patient + treatment"``.
    contrast : (factor, level, reference), optional
        The log fold change reported; default: the last factor's last level against its reference.
    alpha : float
        The FDR level independent filtering optimises for.

    Returns
    -------
    pandas.DataFrame indexed by gene
        ``baseMean, log2FoldChange, lfcSE, stat, pvalue, padj, dispersion`` as DESeq2, then
        ``genewise_dispersion, trend_dispersion, map_dispersion, dispersion_outlier, max_cooks, cooks_outlier,
        filtered, all_zero, mean_floored, converged``. ``result.attrs["deseq"]`` is the :class:`DESeqFit` with
        the size factors, coefficients, trend, prior variance, Cook's distances and the filtering curve. All-zero
        genes are kept, with NA (NaN) statistics, as in DESeq2.
    """
    counts = _validated_counts(counts, samples)
    check_scalar(alpha, "alpha", positive=True, upper=1.0)
    design_frame = build_design(samples, design)
    if contrast is None:
        last = _factors_of(design)[-1]
        levels = [c for c in design_frame.columns if c.startswith(f"{last}[T.")]
        reference = samples[last].cat.categories[0] if hasattr(samples[last], "cat") else sorted(samples[last])[0]
        contrast = (last, levels[-1][len(last) + 3 : -1], str(reference))
    vector = contrast_vector(samples, design_frame, contrast)
    matrix = design_frame.to_numpy()
    values = counts.to_numpy()
    n_samples, n_coefficients = matrix.shape
    bounds = (MIN_DISPERSION, max(10.0, float(n_samples)))

    size_factors = size_factors_median_of_ratios(values)
    normed = values / size_factors
    base_mean = normed.mean(axis=1)
    all_zero = ~np.any(values > 0, axis=1)
    kept = values[~all_zero]
    kept_normed = normed[~all_zero]

    starting = initial_dispersions(kept_normed, size_factors, matrix, bounds)
    means = fitted_means_for_dispersion(kept, size_factors, matrix, starting)
    genewise, _ = genewise_dispersions(kept, means, matrix, bounds, starting)
    trend_curve = dispersion_trend(genewise, base_mean[~all_zero])
    trend = trend_curve(base_mean[~all_zero])
    prior_variance, squared_log_residual = dispersion_prior_variance(genewise, trend, n_samples, n_coefficients)
    posterior, _ = map_dispersions(kept, means, matrix, trend, prior_variance, bounds)
    outlier = np.log(genewise) > np.log(trend) + 2 * np.sqrt(squared_log_residual)
    final = np.where(outlier, genewise, posterior)

    wald = wald_test(kept, size_factors, matrix, final, vector.to_numpy())
    cooks = cooks_distances(
        kept, wald.means, wald.hat_diagonals, robust_dispersions(kept_normed, matrix), n_coefficients
    )
    cooks_flag = cooks_outliers(kept, cooks, matrix)
    p_values = np.where(cooks_flag, np.nan, wald.p_value)

    def expand(part: np.ndarray, fill: Any = np.nan) -> np.ndarray:
        full = np.full((len(values),) + part.shape[1:], fill, dtype=np.result_type(part, type(fill)))
        full[~all_zero] = part
        return full

    all_p = expand(p_values)
    filtering = independent_filtering(base_mean, all_p, alpha)
    result = pd.DataFrame(
        {
            "baseMean": base_mean,
            "log2FoldChange": expand(wald.estimate) / np.log(2),
            "lfcSE": expand(wald.standard_error) / np.log(2),
            "stat": expand(wald.statistic),
            "pvalue": all_p,
            "padj": filtering.padj,
            "dispersion": expand(final),
            "genewise_dispersion": expand(genewise),
            "trend_dispersion": expand(trend),
            "map_dispersion": expand(posterior),
            "dispersion_outlier": expand(outlier, False),
            "max_cooks": expand(cooks.max(axis=1)),
            "cooks_outlier": expand(cooks_flag, False),
            "filtered": ~all_zero & np.isnan(filtering.padj) & ~np.isnan(all_p),
            "all_zero": all_zero,
            "mean_floored": expand(wald.floored, False),
            "converged": expand(wald.converged, False),
        },
        index=counts.index,
    )
    result.attrs["deseq"] = DESeqFit(
        counts=counts,
        samples=samples,
        design=design_frame,
        contrast=tuple(str(c) for c in contrast),
        contrast_vector=vector,
        size_factors=pd.Series(size_factors, index=counts.columns, name="size_factor"),
        coefficients=pd.DataFrame(expand(wald.coefficients), index=counts.index, columns=design_frame.columns),
        trend=trend_curve,
        prior_variance=prior_variance,
        squared_log_residual=squared_log_residual,
        cooks=pd.DataFrame(expand(cooks), index=counts.index, columns=counts.columns),
        filtering=filtering,
        alpha=float(alpha),
        bounds=bounds,
    )
    return result


# ------------------------------------------------------------------------------------------ stage 10
def _fit_from(result: pd.DataFrame) -> DESeqFit:
    if not isinstance(result, pd.DataFrame) or not isinstance(result.attrs.get("deseq"), DESeqFit):
        raise TypeError("expected the DataFrame returned by deseq() (its attrs['deseq'] holds the fit)")
    return result.attrs["deseq"]


def apeglm_prior_variance(estimates: np.ndarray, standard_errors: np.ndarray) -> float:
    """The variance :math:`A` of a normal prior on the log fold changes, estimated from all genes' MLEs.

    Solves :math:`A = \\sum_g w_g(\\hat\\beta_g^2 - s_g^2)/\\sum_g w_g` with :math:`w_g = 1/(2(A + s_g^2)^2)`
    (a moments estimate under :math:`\\hat\\beta_g \\sim N(0, A + s_g^2)`), within :math:`[10^{-6}, 400]`.
    """
    keep = np.isfinite(estimates) & np.isfinite(standard_errors)
    squared, sampling = estimates[keep] ** 2, standard_errors[keep] ** 2

    def excess(variance: float) -> float:
        weights = 1.0 / (2 * (variance + sampling) ** 2)
        return float(np.sum((squared - sampling) * weights) / np.sum(weights) - variance)

    if excess(1e-6) < 0:
        return 1e-6
    return float(brentq(excess, 1e-6, 400.0, xtol=1e-14))


def _shrink_objective(beta, design, counts, size, offset, scale, index):
    """Negative log posterior, gradient and Hessian (genes, p) / (genes, p, p) of apeglm's model."""
    eta = beta @ design.T + offset
    log_size = np.log(size)[:, None]
    log_term = np.logaddexp(eta, log_size)
    no_shrink = np.ones(design.shape[1], dtype=bool)
    no_shrink[index] = False
    prior = (beta[:, no_shrink] ** 2).sum(axis=1) / (2 * PRIOR_SCALE_NO_SHRINK**2) + np.log1p(
        (beta[:, index] / scale) ** 2
    )
    value = prior - (counts * eta - (counts + size[:, None]) * log_term).sum(axis=1)
    probability = np.exp(eta - log_term)  # mu / (mu + r)
    residual = counts - (counts + size[:, None]) * probability
    gradient = -residual @ design
    gradient[:, no_shrink] += beta[:, no_shrink] / PRIOR_SCALE_NO_SHRINK**2
    gradient[:, index] += 2 * beta[:, index] / (scale**2 + beta[:, index] ** 2)
    curvature = (counts + size[:, None]) * probability * (1 - probability)
    hessian = np.einsum("gj,jk,jl->gkl", curvature, design, design)
    diagonal = np.where(no_shrink, 1 / PRIOR_SCALE_NO_SHRINK**2, 0.0)
    hessian += np.diag(diagonal)
    prior_curvature = 2 * (scale**2 - beta[:, index] ** 2) / (scale**2 + beta[:, index] ** 2) ** 2
    hessian[:, index, index] += prior_curvature
    return value, gradient, hessian


def _posterior_modes(beta, design, counts, size, offset, scale, index, tol, max_iter):
    """Damped Newton on every gene's negative log posterior at once; genes leave as they converge.

    The step uses the Hessian without the Cauchy prior's negative curvature (where :math:`|\\beta| > S`), so it
    is a descent direction; a backtracking line search (Armijo, c = 1e-4) halves it until the objective drops.
    """
    beta = beta.copy()
    converged = np.zeros(len(beta), dtype=bool)
    for _ in range(max_iter):
        rows = np.flatnonzero(~converged)
        if rows.size == 0:
            break
        args = (design, counts[rows], size[rows], offset, scale, index)
        current = beta[rows]
        value, gradient, hessian = _shrink_objective(current, *args)
        shrink = current[:, index]
        hessian[:, index, index] -= np.minimum(2 * (scale**2 - shrink**2) / (scale**2 + shrink**2) ** 2, 0.0)
        step = -np.linalg.solve(hessian, gradient[..., None])[..., 0]
        slope = np.einsum("gk,gk->g", gradient, step)
        length = np.ones(rows.size)
        pending = np.arange(rows.size)
        for _ in range(40):
            trial = current[pending] + length[pending, None] * step[pending]
            trial_args = (design, counts[rows[pending]], size[rows[pending]], offset, scale, index)
            trial_value = _shrink_objective(trial, *trial_args)[0]
            accepted = trial_value <= value[pending] + 1e-4 * length[pending] * slope[pending]
            pending = pending[~accepted]
            if pending.size == 0:
                break
            length[pending] /= 2
        moved = length[:, None] * step
        beta[rows] = current + moved
        converged[rows] = np.max(np.abs(moved), axis=1) < tol
    return beta, converged


def apeglm_modes(
    counts: np.ndarray,
    design: np.ndarray,
    size_factors: np.ndarray,
    dispersions: np.ndarray,
    start: np.ndarray,
    index: int,
    prior_scale: float,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posterior modes of apeglm's model for every gene at once (natural-log coefficients).

    Minimises :math:`-\\sum_j \\log \\mathrm{NB}(K_{gj}; s_j e^{x_j^\\top\\beta}, \\alpha_g) + \\log(1 +
    \\beta_k^2/S^2) + \\sum_{l \\ne k} \\beta_l^2 / (2 \\cdot 15^2)` from ``start`` (e.g. the MLEs). Returns the
    modes (genes, p), the standard error of coefficient ``index`` from the inverse Hessian at the mode, and the
    convergence flags.
    """
    size = 1.0 / dispersions
    offset = np.log(size_factors)
    beta, converged = _posterior_modes(start, design, counts, size, offset, prior_scale, index, tol, max_iter)
    hessian = _shrink_objective(beta, design, counts, size, offset, prior_scale, index)[2]
    covariance = np.linalg.inv(hessian)
    return beta, np.sqrt(np.abs(covariance[:, index, index])), converged


def lfc_shrink(result: pd.DataFrame, max_iter: int = 100, tol: float = 1e-10) -> pd.DataFrame:
    """Shrunken log2 fold changes as DESeq2's ``lfcShrink(type="apeglm")``, for every gene at once.

    The contrast must be one coefficient (a level against the design's reference level). Each gene's
    posterior mode maximises the NB likelihood times a Cauchy prior :math:`\\propto 1/(1+\\beta^2/S^2)` on that
    coefficient (and a wide normal, SD 15, on the others); :math:`S = \\min(\\sqrt{A}, 1)` with :math:`A` from
    :func:`apeglm_prior_variance` on all genes' MLEs. The heavy tail leaves large, well-measured effects almost
    untouched while noisy ones shrink towards 0. A damped Newton iteration runs on all genes at once; the
    standard error is :math:`\\sqrt{[\\nabla^2 F]^{-1}_{kk}}` at the mode. Returns a copy of ``result`` with
    ``log2FoldChange`` and ``lfcSE`` replaced (``pvalue`` and ``padj`` unchanged, as in DESeq2).
    """
    fit = _fit_from(result)
    vector = fit.contrast_vector.to_numpy()
    nonzero = np.flatnonzero(vector)
    if len(nonzero) != 1 or vector[nonzero[0]] != 1.0:
        raise ValueError(
            f"lfc_shrink needs a contrast that is one coefficient, a level against the reference; {fit.contrast} "
            "is not: relevel the factor so that its reference is the contrast's reference"
        )
    index = int(nonzero[0])
    mle = fit.coefficients.to_numpy()
    tested = ~result["all_zero"].to_numpy()
    standard_errors = result["lfcSE"].to_numpy() * np.log(2)
    prior_variance = apeglm_prior_variance(mle[tested, index], standard_errors[tested])
    scale = min(np.sqrt(prior_variance), 1.0)
    beta, standard_error, converged = apeglm_modes(
        fit.counts.to_numpy()[tested],
        fit.design.to_numpy(),
        fit.size_factors.to_numpy(),
        result["dispersion"].to_numpy()[tested],
        np.nan_to_num(mle[tested]),
        index,
        scale,
        tol=tol,
        max_iter=max_iter,
    )
    shrunken = result.copy()
    shrunken.loc[tested, "log2FoldChange"] = beta[:, index] / np.log(2)
    shrunken.loc[tested, "lfcSE"] = standard_error / np.log(2)
    shrunken["shrink_converged"] = False
    shrunken.loc[tested, "shrink_converged"] = converged
    shrunken.attrs = dict(result.attrs)
    shrunken.attrs["prior_scale"] = float(scale)
    return shrunken


# ------------------------------------------------------------------------------------------ stage 11
def vst(
    counts: pd.DataFrame, size_factors: pd.Series | None = None, trend: DispersionTrend | None = None
) -> pd.DataFrame:
    """DESeq2's variance-stabilising transformation (``vst(blind=TRUE)``, parametric trend).

    Dispersions are fitted with an intercept-only design (blind to the groups), their trend
    :math:`\\alpha(q) = a_0 + a_1/q` gives the transform whose variance is about constant,

    .. math::

        \\mathrm{vst}(q) = \\log_2\\frac{1 + a_1 + 2a_0 q + 2\\sqrt{a_0 q\\,(1 + a_1 + a_0 q)}}{4a_0},

    applied to the normalised counts :math:`q = K/s` (Anders & Huber 2010, eq. 6; Love et al. 2014). A given
    ``trend`` (e.g. another fit's) is used as it is. Returns genes x samples (log2-like scale), with the trend in
    ``attrs["trend"]``.
    """
    if not isinstance(counts, pd.DataFrame):
        raise TypeError("counts must be a pandas DataFrame, genes x samples")
    values = as_counts(counts, "counts")
    if size_factors is None:
        factors = size_factors_median_of_ratios(values)
    else:
        if isinstance(size_factors, pd.Series):
            check_same_labels(counts.columns, size_factors.index, "counts.columns", "size_factors.index")
        factors = np.asarray(size_factors, dtype=float)
    normed = values / factors
    if trend is None:
        intercept = np.ones((values.shape[1], 1))
        nonzero = np.any(values > 0, axis=1)
        bounds = (MIN_DISPERSION, max(10.0, float(values.shape[1])))
        starting = initial_dispersions(normed[nonzero], factors, intercept, bounds)
        means = fitted_means_for_dispersion(values[nonzero], factors, intercept, starting)
        genewise, _ = genewise_dispersions(values[nonzero], means, intercept, bounds, starting)
        trend = dispersion_trend(genewise, normed[nonzero].mean(axis=1))
    if trend.kind == "mean":
        transformed = (2 * np.arcsinh(np.sqrt(trend.a0 * normed)) - np.log(trend.a0) - np.log(4)) / np.log(2)
    else:
        a0, a1 = trend.a0, trend.a1
        transformed = np.log2((1 + a1 + 2 * a0 * normed + 2 * np.sqrt(a0 * normed * (1 + a1 + a0 * normed))) / (4 * a0))
    out = pd.DataFrame(transformed, index=counts.index, columns=counts.columns)
    out.attrs["trend"] = trend
    return out
