"""Negative-binomial dispersions of many genes at once: maximum likelihood and Cox–Reid's adjusted profile.

For gene :math:`g` with counts :math:`K_{gj}` and means :math:`\\mu_{gj}` held fixed (fitted by a GLM),
:math:`K_{gj} \\sim \\mathrm{NB}(\\mu_{gj}, \\alpha_g)` with :math:`\\operatorname{Var} K = \\mu + \\alpha\\mu^2`
has the log-likelihood in :math:`\\alpha` (with :math:`r = 1/\\alpha`)

.. math::

    \\ell_g(\\alpha) = \\sum_j \\Big[\\log\\Gamma(K_{gj} + r) - \\log\\Gamma(r) - \\log K_{gj}!
        - (K_{gj} + r)\\log(1 + \\alpha\\mu_{gj}) + K_{gj}\\log(\\alpha\\mu_{gj})\\Big].

Plugging in :math:`\\hat\\mu` ignores that the p coefficients were estimated from the same counts, which biases
:math:`\\hat\\alpha` downwards, badly so with few samples. Cox & Reid's adjusted profile likelihood subtracts
half the log-determinant of the coefficients' information,

.. math::

    \\ell^{CR}_g(\\alpha) = \\ell_g(\\alpha) - \\tfrac12 \\log\\det\\big(X^\\top W_g X\\big),
    \\qquad W_g = \\operatorname{diag}\\Big(\\frac{\\mu_{gj}}{1 + \\alpha\\mu_{gj}}\\Big),

which is what DESeq2 maximises for its gene-wise dispersions (edgeR likewise). Both are maximised over
:math:`\\theta = \\log\\alpha` (a scale on which the likelihood is far closer to quadratic, and the positivity
constraint disappears) within bounds, with the analytic first and second derivatives in :math:`\\theta` given
below, by :func:`utils.optim.minimize_scalar_batched`: one safeguarded Newton iteration for every gene at once.

References: Love, Huber & Anders, *Genome Biology* 15:550 (2014), Methods ("Dispersion estimation");
Cox & Reid, "Parameter orthogonality and approximate conditional inference", *JRSS B* 49:1 (1987);
McCarthy, Chen & Smyth, *Nucleic Acids Research* 40:4288 (2012) (the adjusted profile likelihood for GLMs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from utils._validation import as_array, as_counts, as_matrix, check_integer, check_same_labels, check_scalar

DESEQ2_MIN_DISPERSION = 1e-8
"""DESeq2's (and PyDESeq2's) lower bound on gene-wise dispersions (``minDisp``)."""


class LogDerivatives(NamedTuple):
    """A function of :math:`\\theta = \\log\\alpha` for every gene and its first two derivatives in :math:`\\theta`."""

    value: np.ndarray
    first: np.ndarray
    second: np.ndarray


@dataclass(frozen=True, eq=False)
class DispersionFit:
    """Gene-wise dispersion estimates (every array has shape (genes,)).

    Attributes
    ----------
    log_dispersion : numpy.ndarray
        :math:`\\hat\\theta_g = \\log\\hat\\alpha_g` (natural log), inside ``bounds``.
    dispersion : numpy.ndarray
        :math:`\\hat\\alpha_g = e^{\\hat\\theta_g}`.
    log_likelihood : numpy.ndarray
        The maximised objective: :math:`\\ell^{CR}_g` with ``cox_reid``, :math:`\\ell_g` without.
    converged : numpy.ndarray of bool
        The solver's convergence flag.
    n_iter : numpy.ndarray of int
        Newton (or bisection) iterations per gene.
    at_bound : numpy.ndarray of bool
        The estimate sits on a bound (typically the lower one: no evidence of over-dispersion).
    bounds : tuple of float
        The bounds on :math:`\\alpha` used.
    cox_reid : bool
        Whether the Cox–Reid adjustment was included.
    gene_names : tuple or None
        The counts' row labels when counts was a DataFrame.
    """

    log_dispersion: np.ndarray
    dispersion: np.ndarray
    log_likelihood: np.ndarray
    converged: np.ndarray
    n_iter: np.ndarray
    at_bound: np.ndarray
    bounds: tuple[float, float]
    cox_reid: bool
    gene_names: tuple | None = None


# --------------------------------------------------------------------------------------------- validation
def _log_dispersion_array(log_dispersion: Any, n_genes: int) -> np.ndarray:
    values = as_array(log_dispersion, "log_dispersion")
    if values.ndim == 0:
        return np.full(n_genes, float(values))
    if values.shape != (n_genes,):
        raise ValueError(
            f"log_dispersion must be a scalar or have shape ({n_genes},) (one per gene), got {values.shape}"
        )
    return values


def _means_array(means: Any, shape: tuple[int, int] | None = None) -> np.ndarray:
    values = as_matrix(means, "means")
    if shape is not None and values.shape != shape:
        raise ValueError(f"means must have the shape of counts {shape} (genes x samples), got {values.shape}")
    if np.any(values <= 0):
        raise ValueError("means must be positive (fitted means of a log-link GLM)")
    return values


def _design_array(design: Any, n_samples: int) -> np.ndarray:
    matrix = as_matrix(design, "design")
    if matrix.shape[0] != n_samples:
        raise ValueError(
            f"design has {matrix.shape[0]} rows but there are {n_samples} samples; design must be samples x p"
        )
    if matrix.shape[1] >= n_samples:
        raise ValueError(f"design has {matrix.shape[1]} columns for {n_samples} samples; it needs fewer columns")
    rank = np.linalg.matrix_rank(matrix)
    if rank < matrix.shape[1]:
        raise ValueError(
            f"design is rank-deficient (rank {rank} < {matrix.shape[1]} columns, cond {np.linalg.cond(matrix):.3g})"
        )
    return matrix


def _check_labels(counts: Any, means: Any, design: Any) -> None:
    if isinstance(counts, pd.DataFrame):
        if isinstance(means, pd.DataFrame):
            check_same_labels(counts.columns, means.columns, "counts.columns", "means.columns")
            check_same_labels(counts.index, means.index, "counts.index", "means.index")
        if isinstance(design, pd.DataFrame):
            check_same_labels(counts.columns, design.index, "counts.columns", "design.index")
    elif isinstance(means, pd.DataFrame) and isinstance(design, pd.DataFrame):
        check_same_labels(means.columns, design.index, "means.columns", "design.index")


# --------------------------------------------------------------------------------------------- the terms
LARGE_SIZE = 100.0
"""Above this :math:`r = 1/\\alpha` the log-gamma, digamma and trigamma differences in :math:`K` use their
asymptotic (Stirling) expansions: the plain differences of two nearly equal large numbers lose up to
:math:`\\epsilon\\, r\\log r` (1e-7 at :math:`\\alpha = 10^{-8}`), the expansions keep full relative precision,
and their truncation error is below 1e-14 for :math:`r \\ge 100`."""


TRIGAMMA_SHIFT = 10
"""Arguments below this are shifted up by exactly this many steps of the recurrence before the asymptotic series."""


def _trigamma(x: np.ndarray) -> np.ndarray:
    """:math:`\\psi'(x)` for x > 0: below 10, the recurrence :math:`\\psi'(x) = \\sum_{k<10} (x+k)^{-2} + \\psi'(x+10)`;
    from 10 up, the asymptotic series :math:`\\psi'(x) = 1/x + 1/(2x^2) + \\sum_k B_{2k}/x^{2k+1}` to :math:`B_{14}`
    (relative error below 1e-15; ``scipy.special.polygamma(1, x)`` is ~20x slower). Every small argument takes the
    same 10 steps, so each step is one vector operation on a fixed subset."""
    shifted = np.array(x, dtype=float)
    correction = np.zeros_like(shifted)
    small = shifted < TRIGAMMA_SHIFT
    if small.any():
        start = shifted[small]
        total = np.zeros_like(start)
        for k in range(TRIGAMMA_SHIFT):
            total += 1.0 / (start + k) ** 2
        correction[small] = total
        shifted[small] = start + TRIGAMMA_SHIFT
    inverse = 1.0 / shifted
    u = inverse * inverse
    # B_2 .. B_14 = 1/6, -1/30, 1/42, -1/30, 5/66, -691/2730, 7/6, by Horner's rule in 1/x^2
    series = 1 / 6 + u * (-1 / 30 + u * (1 / 42 + u * (-1 / 30 + u * (5 / 66 + u * (-691 / 2730 + u * 7 / 6)))))
    return correction + inverse + u * (0.5 + inverse * series)


def _gamma_differences(values: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For counts K (samples, genes) and sizes r (genes,): :math:`\\log\\Gamma(K+r) - \\log\\Gamma(r) - K\\log r`,
    :math:`\\psi(K+r) - \\psi(r)` and :math:`\\psi'(K+r) - \\psi'(r)`, stable for large r."""
    log_gamma, digamma_gap, trigamma_gap = (np.empty_like(values) for _ in range(3))
    large = size >= LARGE_SIZE
    for branch in (~large, large):
        if not branch.any():
            continue
        genes = slice(None) if branch.all() else np.flatnonzero(branch)  # a view when one branch holds every gene
        counts, r = values[:, genes], size[genes]
        if branch is large:
            inverse_total, inverse_r = 1.0 / (counts + r), 1.0 / r
            # the gaps 1/(K+r)^k - 1/r^k, factored so that none is a difference of two nearly equal numbers
            inverse_gap = -counts * inverse_total * inverse_r
            square_gap = inverse_gap * (inverse_total + inverse_r)
            cube_gap = inverse_gap * (inverse_total * inverse_total + inverse_total * inverse_r + inverse_r * inverse_r)
            fourth_gap = square_gap * (inverse_total * inverse_total + inverse_r * inverse_r)
            fifth_gap = inverse_gap * inverse_r**4 + inverse_total * fourth_gap
            log1p_ratio = np.log1p(counts * inverse_r)
            # Stirling: log Γ(x) = (x - ½) log x - x + ½ log 2π + 1/(12x) - 1/(360x³) + ...
            log_gamma[:, genes] = (counts + r - 0.5) * log1p_ratio - counts + inverse_gap / 12 - cube_gap / 360
            # ψ(x) = log x - 1/(2x) - 1/(12x²) + 1/(120x⁴) - ...;  ψ'(x) = 1/x + 1/(2x²) + 1/(6x³) - 1/(30x⁵) + ...
            digamma_gap[:, genes] = log1p_ratio - inverse_gap / 2 - square_gap / 12 + fourth_gap / 120
            trigamma_gap[:, genes] = inverse_gap + square_gap / 2 + cube_gap / 6 - fifth_gap / 30
        else:
            shifted = counts + r
            log_gamma[:, genes] = gammaln(shifted) - (gammaln(r) + counts * np.log(r))
            digamma_gap[:, genes] = digamma(shifted) - digamma(r)
            trigamma_gap[:, genes] = _trigamma(shifted) - _trigamma(r)
    return log_gamma, digamma_gap, trigamma_gap


def _nb_terms(
    values: np.ndarray, means: np.ndarray, theta: np.ndarray, constant: np.ndarray | None = None
) -> tuple[LogDerivatives, np.ndarray]:
    """:math:`\\ell_g(\\theta)` and its derivatives, for validated arrays stored samples x genes (``theta`` of shape
    (genes,)): sums over a gene's samples are then sums of a few rows, and per-gene numbers broadcast along rows.
    Also returns the GLM weights :math:`w = \\mu/(1 + \\alpha\\mu)`, which the Cox–Reid term reuses.

    ``constant`` is :math:`\\sum_j [K_{gj}\\log\\mu_{gj} - \\log K_{gj}!]`, which does not depend on θ (computed
    here when not given). The arithmetic is done in place where a buffer is free again: this is the solver's inner
    loop, and fresh (samples x genes) temporaries cost as much as the arithmetic.
    """
    alpha = np.exp(theta)
    r = np.exp(-theta)
    log_gamma, digamma_gap, trigamma_gap = _gamma_differences(values, r)
    if constant is None:
        constant = np.sum(values * np.log(means) - gammaln(values + 1.0), axis=0)
    inverse = alpha * means
    log1p_am = np.log1p(inverse)
    inverse += 1.0
    np.reciprocal(inverse, out=inverse)  # 1 / (1 + αμ)
    weights = means * inverse
    # log NB = [log Γ(K + r) - log Γ(r) - K log r] - (K + r) log(1 + αμ) + [K log μ - log K!]
    work = values + r
    work *= log1p_am
    log_gamma -= work
    value = log_gamma.sum(axis=0) + constant
    # dℓ/dθ = (1/α) Σ [log(1 + αμ) - (ψ(K + r) - ψ(r))] + Σ (K - μ) / (1 + αμ)
    bracket = log1p_am
    bracket -= digamma_gap
    residual = np.subtract(values, means, out=work)
    residual *= inverse
    first = r * bracket
    first += residual
    # d²ℓ/dθ² = -(1/α) Σ [...] + Σ [(ψ'(K + r) - ψ'(r)) / α² + μ / (1 + αμ)] - α Σ (K - μ) μ / (1 + αμ)²
    #         = Σ r (r [ψ'(K + r) - ψ'(r)] - [...]) + Σ w (1 - α (K - μ) / (1 + αμ)),  w = μ / (1 + αμ)
    second = trigamma_gap
    second *= r
    second -= bracket
    second *= r
    residual *= -alpha
    residual += 1.0
    residual *= weights
    second += residual
    return LogDerivatives(value, first.sum(axis=0), second.sum(axis=0)), weights


def _cox_reid_terms(weights: np.ndarray, design: np.ndarray, theta: np.ndarray) -> LogDerivatives:
    """:math:`\\tfrac12\\log\\det X^\\top W X` and its derivatives in θ, from the GLM weights
    :math:`w = \\mu/(1+\\alpha\\mu)` stored samples x genes.

    With :math:`M = X^\\top W X = LL^\\top` and :math:`Z = L^{-1}X^\\top` (p x n per gene), :math:`P = Z^\\top Z`,
    so :math:`\\operatorname{tr}(M^{-1}M') = \\sum_j w_j' \\|z_j\\|^2` and
    :math:`\\operatorname{tr}(M^{-1}M'M^{-1}M') = \\|Z\\,\\mathrm{diag}(w')\\,Z^\\top\\|_F^2`. Arrays are stored
    genes-last and the Cholesky factorisation and triangular solve run over the p columns, each step a vector operation
    over all genes (p is small).
    """
    n_samples, n_coefficients = design.shape
    alpha = np.exp(theta)
    weights_first = -alpha * weights * weights  # dw/dθ
    weights_second = weights_first * (1.0 - 2.0 * alpha * weights)  # d²w/dθ² = w' + 2α²w³
    outer = np.einsum("jp,jq->pqj", design, design).reshape(n_coefficients**2, n_samples)
    information = (outer @ weights).reshape(n_coefficients, n_coefficients, -1)  # (p, p, genes)
    lower = np.zeros_like(information)
    solved = np.empty((n_coefficients, n_samples, len(theta)))  # Z = L⁻¹ Xᵀ, (p, n, genes)
    for i in range(n_coefficients):
        for k in range(i):
            lower[i, k] = (information[i, k] - np.sum(lower[i, :k] * lower[k, :k], axis=0)) / lower[k, k]
        lower[i, i] = np.sqrt(information[i, i] - np.sum(lower[i, :i] ** 2, axis=0))
        partial = np.einsum("kg,kng->ng", lower[i, :i], solved[:i]) if i else 0.0
        solved[i] = (design[:, i, None] - partial) * (1.0 / lower[i, i])
    log_det = 2.0 * np.sum(np.log(np.diagonal(lower).T), axis=0)
    leverage = np.einsum("png,png->ng", solved, solved)  # P_jj = x_jᵀ M⁻¹ x_j, (n, genes)
    weighted = solved * weights_first  # Z diag(w')
    squared_norm = np.zeros(len(theta))  # ‖Z diag(w') Zᵀ‖_F², the p x p matrix is symmetric
    for i in range(n_coefficients):
        for k in range(i + 1):
            entry = np.einsum("ng,ng->g", weighted[i], solved[k])
            squared_norm += entry**2 if i == k else 2.0 * entry**2
    first = 0.5 * np.einsum("ng,ng->g", weights_first, leverage)
    second = 0.5 * np.einsum("ng,ng->g", weights_second, leverage) - 0.5 * squared_norm
    return LogDerivatives(0.5 * log_det, first, second)


def _samples_first(matrix: np.ndarray) -> np.ndarray:
    """genes x samples -> a contiguous samples x genes copy, the layout the terms above compute in."""
    return np.ascontiguousarray(matrix.T)


# --------------------------------------------------------------------------------------------- public API
def nb_log_likelihood(counts: Any, means: Any, log_dispersion: Any) -> LogDerivatives:
    """Negative-binomial log-likelihood of each gene in :math:`\\theta = \\log\\alpha`, means held fixed.

    .. math::

        \\ell(\\theta) = \\sum_j \\log\\mathrm{NB}(K_j; \\mu_j, \\alpha = e^\\theta), \\qquad
        \\frac{d\\ell}{d\\theta} = \\frac1\\alpha\\sum_j\\big[\\psi(r) - \\psi(K_j + r) + \\log(1 + \\alpha\\mu_j)\\big]
            + \\sum_j\\frac{K_j - \\mu_j}{1 + \\alpha\\mu_j}

    (:math:`r = 1/\\alpha`, :math:`\\psi` the digamma function); the second derivative adds trigamma terms
    (module source). Love et al. (2014), Methods.

    Parameters
    ----------
    counts : array_like or pandas.DataFrame, shape (genes, samples)
        Non-negative integer counts.
    means : array_like or pandas.DataFrame, shape (genes, samples)
        Positive fitted means :math:`\\mu_{gj}` (size factors included).
    log_dispersion : float or array_like of shape (genes,)
        :math:`\\theta_g = \\log\\alpha_g`.

    Returns
    -------
    LogDerivatives
        ``value``, ``first``, ``second``: each shape (genes,).

    Raises
    ------
    TypeError
        Non-numeric inputs.
    ValueError
        Invalid counts, non-positive or mis-shaped means, labels of DataFrames that differ, a mis-shaped or
        non-finite ``log_dispersion``.
    """
    values = as_counts(counts, "counts")
    mu = _means_array(means, values.shape)
    _check_labels(counts, means, None)
    theta = _log_dispersion_array(log_dispersion, values.shape[0])
    return _nb_terms(_samples_first(values), _samples_first(mu), theta)[0]


def cox_reid_term(means: Any, design: Any, log_dispersion: Any) -> LogDerivatives:
    """Cox–Reid's adjustment :math:`\\tfrac12\\log\\det(X^\\top W X)`, :math:`W = \\mathrm{diag}(\\mu/(1+\\alpha\\mu))`.

    With :math:`w_j' = dw_j/d\\theta = -\\alpha w_j^2`, :math:`w_j'' = w_j' + 2\\alpha^2 w_j^3` and
    :math:`P = X (X^\\top W X)^{-1} X^\\top`:

    .. math::

        \\frac{d}{d\\theta} = \\tfrac12 \\sum_j w_j' P_{jj}, \\qquad
        \\frac{d^2}{d\\theta^2} = \\tfrac12 \\sum_j w_j'' P_{jj} - \\tfrac12 \\sum_{j,k} w_j' w_k' P_{jk}^2 .

    Cox & Reid (1987); McCarthy, Chen & Smyth (2012), eq. (5).

    Parameters
    ----------
    means : array_like or pandas.DataFrame, shape (genes, samples)
        Positive fitted means.
    design : array_like or pandas.DataFrame, shape (samples, p)
        Full-rank design with fewer columns than samples.
    log_dispersion : float or array_like of shape (genes,)

    Returns
    -------
    LogDerivatives
        ``value``, ``first``, ``second``: each shape (genes,).
    """
    mu = _means_array(means)
    matrix = _design_array(design, mu.shape[1])
    _check_labels(None, means, design)
    theta = _log_dispersion_array(log_dispersion, mu.shape[0])
    means_t = _samples_first(mu)
    return _cox_reid_terms(means_t / (1.0 + np.exp(theta) * means_t), matrix, theta)


def adjusted_log_likelihood(
    counts: Any, means: Any, design: Any, log_dispersion: Any, cox_reid: bool = True
) -> LogDerivatives:
    """:math:`\\ell^{CR}(\\theta) = \\ell(\\theta) - \\tfrac12\\log\\det X^\\top W X` (or :math:`\\ell` alone
    with ``cox_reid=False``) and its derivatives in θ: the objective :func:`fit_dispersions` maximises."""
    objective = gene_objective(counts, means, design, cox_reid)
    n_genes = np.shape(counts)[0]
    return objective(_log_dispersion_array(log_dispersion, n_genes), np.arange(n_genes))


def _objective(
    values: np.ndarray,
    mu: np.ndarray,
    matrix: np.ndarray,
    theta: np.ndarray,
    cox_reid: bool,
    constant: np.ndarray | None = None,
) -> LogDerivatives:
    likelihood, weights = _nb_terms(values, mu, theta, constant)
    if not cox_reid:
        return likelihood
    adjustment = _cox_reid_terms(weights, matrix, theta)
    return LogDerivatives(*(a - b for a, b in zip(likelihood, adjustment, strict=True)))


BLOCK_GENES = 4096
"""Genes per block when :func:`gene_objective` evaluates many genes: each block's (samples x genes) temporaries
are small enough for the allocator to recycle, where whole-matrix temporaries are mapped fresh from the operating
system on every call (on pasilla the page faults cost about as much as the arithmetic; blocks save ~15 %)."""


def gene_objective(
    counts: Any, means: Any, design: Any, cox_reid: bool = True
) -> Callable[[np.ndarray, np.ndarray], LogDerivatives]:
    """Validate once, then evaluate :math:`\\ell^{CR}_g(\\theta)` (or :math:`\\ell_g`) for any subset of genes.

    Returns ``objective(theta, rows)``: the value and first two derivatives in :math:`\\theta = \\log\\alpha` of
    the genes ``rows`` (integer indices) at ``theta`` (one per row), as :func:`adjusted_log_likelihood` computes
    them, without validating or copying the inputs again. A per-gene solver calls this dozens of times on the genes
    still iterating (:func:`fit_dispersions`, :func:`utils.deseq.genewise_dispersions`).
    """
    values = as_counts(counts, "counts")
    mu = _means_array(means, values.shape)
    matrix = _design_array(design, values.shape[1])
    _check_labels(counts, means, design)
    if not isinstance(cox_reid, bool | np.bool_):
        raise TypeError(f"cox_reid must be True or False, got {type(cox_reid).__name__}")
    values, mu = _samples_first(values), _samples_first(mu)  # samples x genes: see _nb_terms
    constant = np.sum(values * np.log(mu) - gammaln(values + 1.0), axis=0)
    n_genes = values.shape[1]

    def objective(theta: np.ndarray, rows: np.ndarray) -> LogDerivatives:
        if rows.shape != theta.shape:
            raise ValueError(f"theta and rows must have the same shape, got {theta.shape} and {rows.shape}")
        if rows.size and (rows.min() < 0 or rows.max() >= n_genes):
            raise ValueError(f"rows must index the {n_genes} genes")
        parts = [np.empty(len(rows)) for _ in range(3)]
        for start in range(0, len(rows), BLOCK_GENES):
            block = slice(start, start + BLOCK_GENES)
            genes = rows[block]
            terms = _objective(values[:, genes], mu[:, genes], matrix, theta[block], bool(cox_reid), constant[genes])
            for part, term in zip(parts, terms, strict=True):
                part[block] = term
        return LogDerivatives(*parts)

    return objective


def moments_dispersions(counts: Any, size_factors: Any, bounds: tuple[float, float] | None = None) -> np.ndarray:
    """Method-of-moments dispersions from normalised counts, a starting value for the GLM means.

    .. math:: \\hat\\alpha_g = \\frac{v_g - \\bar m_g\\,\\overline{1/s}}{\\bar m_g^2},

    with :math:`\\bar m_g, v_g` the mean and variance of :math:`K_{gj}/s_j` (DESeq2's ``momentsDispEstimate``),
    clipped to ``bounds`` (default :math:`[10^{-8}, \\max(10, n)]`). Genes with a zero mean get the lower bound.
    """
    values = as_counts(counts, "counts")
    factors = as_array(size_factors, "size_factors", ndim=1)
    if factors.shape != (values.shape[1],):
        raise ValueError(f"size_factors must have shape ({values.shape[1]},) (one per sample), got {factors.shape}")
    if np.any(factors <= 0):
        raise ValueError("size_factors must be positive")
    lower, upper = _bounds(bounds, values.shape[1])
    normalised = values / factors
    mean = normalised.mean(axis=1)
    variance = normalised.var(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = (variance - mean * np.mean(1.0 / factors)) / mean**2
    return np.clip(np.where(mean > 0, estimate, lower), lower, upper)


def _bounds(bounds: Any, n_samples: int) -> tuple[float, float]:
    if bounds is None:
        return DESEQ2_MIN_DISPERSION, float(max(10, n_samples))
    if not isinstance(bounds, tuple | list) or len(bounds) != 2:
        raise TypeError(f"bounds must be a pair (lower, upper) of dispersions, got {bounds!r}")
    lower = check_scalar(bounds[0], "bounds[0]", positive=True)
    upper = check_scalar(bounds[1], "bounds[1]", positive=True)
    if not lower < upper:
        raise ValueError(f"bounds must satisfy lower < upper, got ({lower}, {upper})")
    return lower, upper


def fit_dispersions(
    counts: Any,
    means: Any,
    design: Any,
    cox_reid: bool = True,
    bounds: tuple[float, float] | None = None,
    *,
    grid_size: int = 20,
    tol: float = 1e-10,
    max_iter: int = 100,
    start: Any = None,
) -> DispersionFit:
    """Gene-wise dispersions maximising :math:`\\ell^{CR}_g` (or :math:`\\ell_g`) over :math:`\\log\\alpha`.

    Every gene is solved at once by :func:`utils.optim.minimize_scalar_batched` on :math:`-\\ell^{CR}_g(\\theta)`
    over :math:`[\\log a, \\log b]`, ``bounds = (a, b)`` (default DESeq2's :math:`[10^{-8}, \\max(10, n)]`): a
    coarse grid picks each gene's starting bracket, then Newton steps with the analytic derivatives, safeguarded by
    bisection. No Python loop runs over genes.

    Parameters
    ----------
    counts : array_like or pandas.DataFrame, shape (genes, samples)
        Non-negative integer counts.
    means : array_like or pandas.DataFrame, shape (genes, samples)
        Positive fitted means, e.g. ``utils.glm.fit_nb_glm(...).fitted_means`` (size factors included).
    design : array_like or pandas.DataFrame, shape (samples, p)
        The design the means were fitted with (used by the Cox–Reid term only, but always validated).
    cox_reid : bool
        Include Cox–Reid's adjustment (DESeq2's default), or plain maximum likelihood.
    bounds : (float, float), optional
        Bounds on :math:`\\alpha`; default :math:`(10^{-8}, \\max(10, n_{samples}))` as DESeq2/PyDESeq2.
    grid_size : int
        Points of the solver's starting grid over :math:`[\\log a, \\log b]`.
    start : array_like of shape (genes,), optional
        Starting dispersions (e.g. :func:`moments_dispersions`, DESeq2's start). The search then goes downhill
        from each start to the nearest optimum instead of scanning a grid: about five times faster, and the
        same answer wherever the adjusted likelihood has one maximum on the interval.
    tol : float
        Convergence tolerance on :math:`\\theta` passed to the solver.
    max_iter : int
        Maximum solver iterations.

    Returns
    -------
    DispersionFit

    Raises
    ------
    TypeError
        Non-numeric inputs, a ``cox_reid`` that is not a bool, malformed ``bounds``, a non-integer ``max_iter``.
    ValueError
        Invalid counts; means of another shape or not positive; a design with the wrong number of rows, too many
        columns or rank-deficient; DataFrame labels that differ or are in another order; bounds not
        ``0 < lower < upper``; a non-positive ``tol``.
    """
    from utils.optim import minimize_scalar_batched

    objective = gene_objective(counts, means, design, cox_reid)
    n_samples = np.shape(counts)[1]
    lower, upper = _bounds(bounds, n_samples)
    tol = check_scalar(tol, "tol", positive=True)
    max_iter = check_integer(max_iter, "max_iter", minimum=1)
    grid_size = check_integer(grid_size, "grid_size", minimum=3)
    n_genes = np.shape(counts)[0]

    # the solver asks only for the genes still iterating (indexed mode): late iterations that touch a few slow
    # genes cost almost nothing
    def negative_objective(theta: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        terms = objective(theta, rows)
        return -terms.value, -terms.first, -terms.second

    log_lower, log_upper = np.log(lower), np.log(upper)
    x0 = None
    if start is not None:
        starts = as_array(start, "start", ndim=1)
        if starts.shape != (n_genes,) or np.any(starts <= 0):
            raise ValueError(f"start must hold {n_genes} positive dispersions (one per gene), got shape {starts.shape}")
        x0 = np.clip(np.log(starts), log_lower, log_upper)
    result = minimize_scalar_batched(
        negative_objective,
        log_lower,
        log_upper,
        size=n_genes,
        grid_size=grid_size,
        tol=tol,
        max_iter=max_iter,
        x0=x0,
        indexed=True,
    )
    # the solver's grid ends at lower + (upper - lower) * 1.0, which can differ from upper in the last bit
    theta = np.clip(np.asarray(result.x, dtype=float), log_lower, log_upper)
    at_bound = (theta <= log_lower + 1e-12 * abs(log_lower)) | (theta >= log_upper - 1e-12 * max(1.0, abs(log_upper)))
    return DispersionFit(
        log_dispersion=theta,
        dispersion=np.exp(theta),
        log_likelihood=-np.asarray(result.fun, dtype=float),
        converged=np.asarray(result.converged, dtype=bool),
        n_iter=np.asarray(result.n_iter, dtype=int),
        at_bound=at_bound,
        bounds=(lower, upper),
        cox_reid=bool(cox_reid),
        gene_names=tuple(counts.index.tolist()) if isinstance(counts, pd.DataFrame) else None,
    )
