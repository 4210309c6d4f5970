"""Matrix decompositions the lessons reuse: a randomized truncated SVD and PCA through the SVD.

References: Halko, Martinsson & Tropp, "Finding structure with randomness", *SIAM Review* 53:217-288 (2011),
algorithms 4.3-4.4 and 5.1; Jolliffe & Cadima, "Principal component analysis: a review and recent
developments", *Phil. Trans. R. Soc. A* 374:20150202 (2016).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse

from utils._validation import as_matrix, check_integer

POWER_ITERATIONS = 7
"""Default q of :func:`randomized_svd`: the ``n_iter`` scikit-learn's ``randomized_svd`` uses for k < 0.1 min(m, n).

Measured on PBMC (700 cells x 765 genes, ``normalize_log1p``): largest relative error of sigma_1..sigma_k against
``numpy.linalg.svd``, mean of 20 sketch seeds, q = 2 / q = 7 / scikit-learn: k = 10: 5.1e-2 / 2.9e-4 / 2.7e-4;
k = 20: 7.5e-2 / 1.3e-2 / 1.3e-2; k = 50: 8.5e-2 / 2.0e-2 / 2.1e-2.
``benchmarks/svd_randomized.py`` repeats the measurement.
"""


def _as_dense_matrix(matrix: Any, name: str) -> np.ndarray:
    if scipy.sparse.issparse(matrix):
        raise TypeError(
            f"{name} is a scipy sparse matrix ({type(matrix).__name__}); this function needs a dense array: pass "
            f"{name}.toarray() if it fits in memory, or use scipy.sparse.linalg.svds for a truncated sparse SVD"
        )
    return as_matrix(matrix, name)


def flip_signs(left: np.ndarray, right_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fix the sign of each singular pair: the entry of largest magnitude of every column of U is made positive.

    :math:`(u_i, v_i) \\to (-u_i, -v_i)` leaves :math:`A = U\\Sigma V^\\top` unchanged, so an SVD defines its
    vectors only up to this joint flip; the rule picks one, as scikit-learn's ``svd_flip`` with
    ``u_based_decision=True`` (the convention of ``sklearn.utils.extmath.randomized_svd``).
    """
    rows = np.argmax(np.abs(left), axis=0)
    signs = np.sign(left[rows, np.arange(left.shape[1])])
    signs[signs == 0] = 1.0
    return left * signs, right_t * signs[:, None]


def randomized_svd(
    matrix: np.ndarray,
    rank: int,
    oversampling: int = 10,
    power_iterations: int = POWER_ITERATIONS,
    seed: int | np.random.Generator | None = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Truncated SVD :math:`A \\approx U_k \\Sigma_k V_k^\\top` by a randomized range finder (Halko et al. 2011).

    Sketch :math:`Y = (AA^\\top)^q A\\Omega` with a Gaussian :math:`\\Omega` of ``rank + oversampling``
    columns, orthonormalise it (re-orthonormalising after each power iteration, their algorithm 4.4), then take
    the exact SVD of the small matrix :math:`Q^\\top A`. Power iterations sharpen a slowly decaying spectrum;
    the expected error approaches :math:`\\sigma_{k+1}`.

    Parameters
    ----------
    matrix : array_like, shape (m, n)
        Dense; a scipy sparse matrix raises ``TypeError`` (use ``scipy.sparse.linalg.svds``).
    rank : int
        Number of singular triplets returned, 1 <= rank <= min(m, n).
    oversampling : int
        Extra sketch columns (5-10 is usual); the sketch is capped at min(m, n) columns.
    power_iterations : int
        q >= 0 subspace iterations. The default 7 is scikit-learn's for k < 0.1 min(m, n); on single-cell data,
        whose spectrum is flat beyond the first components, q = 2 leaves errors of several percent in sigma_k
        (see ``POWER_ITERATIONS``).
    seed : int, Generator or None
        For reproducible sketches.

    Returns
    -------
    U : numpy.ndarray, shape (m, rank)
        Signs fixed by :func:`flip_signs` (largest-magnitude entry of each column positive), so that the result
        does not depend on the LAPACK build.
    S : numpy.ndarray, shape (rank,), decreasing
    Vt : numpy.ndarray, shape (rank, n)
    """
    values = _as_dense_matrix(matrix, "matrix")
    check_integer(rank, "rank", minimum=1, maximum=min(values.shape))
    check_integer(oversampling, "oversampling", minimum=0)
    check_integer(power_iterations, "power_iterations", minimum=0)
    rng = np.random.default_rng(seed)
    sketch_size = min(rank + oversampling, min(values.shape))
    basis, _ = np.linalg.qr(values @ rng.standard_normal((values.shape[1], sketch_size)))
    for _ in range(power_iterations):
        # re-orthonormalise between products, or the sketch collapses onto the top singular vector in float64
        basis, _ = np.linalg.qr(values.T @ basis)
        basis, _ = np.linalg.qr(values @ basis)
    small_u, singular_values, right_t = np.linalg.svd(basis.T @ values, full_matrices=False)
    left, right_t = flip_signs((basis @ small_u)[:, :rank], right_t[:rank])
    return left, singular_values[:rank], right_t


@dataclass(frozen=True)
class PCAResult:
    """Principal components of a data matrix with observations as rows.

    Attributes
    ----------
    scores : numpy.ndarray, shape (n_observations, k)
        Coordinates of each observation on the components (:math:`U_k\\Sigma_k`).
    loadings : numpy.ndarray, shape (n_features, k)
        Unit-norm component directions in feature space (columns of :math:`V_k`).
    explained_variance : numpy.ndarray, shape (k,)
        Variance along each component, :math:`\\sigma_i^2/(n-1)`.
    explained_variance_ratio : numpy.ndarray, shape (k,)
        Fraction of the total variance of the (centred, optionally scaled) data.
    mean : numpy.ndarray, shape (n_features,)
        Feature means removed before the SVD (zeros when ``center=False``).
    scale : numpy.ndarray, shape (n_features,)
        Feature standard deviations divided out (ones when ``scale=False``).
    """

    scores: np.ndarray
    loadings: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray
    mean: np.ndarray
    scale: np.ndarray


def pca(data: np.ndarray, n_components: int, center: bool = True, scale: bool = False) -> PCAResult:
    """PCA through the SVD of the centred (and optionally standardised) data matrix.

    With :math:`X_c = U\\Sigma V^\\top`, the loadings are the columns of V, the scores :math:`U\\Sigma`, and
    the component variances :math:`\\sigma_i^2/(n-1)`: the eigenvalues of the sample covariance
    :math:`X_c^\\top X_c/(n-1)`, obtained without forming it. Component signs are fixed so that the largest
    absolute loading of each component is positive, which makes results reproducible across LAPACK builds.

    Parameters
    ----------
    data : array_like, shape (n_observations, n_features)
        Observations as rows: samples x genes, i.e. the *transpose* of a DESeq2-style count table.
    n_components : int
        1 <= n_components <= min(n_observations - 1, n_features) when ``center`` (centring removes one dimension:
        the rows of :math:`X_c` add up to zero, so rank :math:`X_c \\le n - 1`), else <= min(n_observations,
        n_features); more raises ``ValueError``.
    center : bool
        Subtract each feature's mean (PCA proper); False gives an uncentred SVD.
    scale : bool
        Divide each feature by its standard deviation (PCA of the correlation matrix). Constant features
        cannot be scaled and raise ``ValueError``.
    """
    values = _as_dense_matrix(data, "data")
    if values.shape[0] < 2:
        raise ValueError(f"data needs at least 2 observations (rows), got {values.shape[0]}")
    check_integer(n_components, "n_components", minimum=1)
    largest = min(values.shape[0] - 1, values.shape[1]) if center else min(values.shape)
    if n_components > largest:
        reason = f"centred data with {values.shape[0]} rows has rank <= {values.shape[0] - 1}" if center else ""
        raise ValueError(
            f"n_components must be at most {largest} for data of shape {values.shape}"
            + (f" ({reason})" if reason else "")
            + f", got {n_components}"
        )
    mean = values.mean(axis=0) if center else np.zeros(values.shape[1])
    centred = values - mean
    spread = np.ones(values.shape[1])
    if scale:
        spread = centred.std(axis=0, ddof=1)
        constant = np.flatnonzero(spread == 0)
        if constant.size:
            raise ValueError(
                f"data has {constant.size} constant feature(s) (first at column {constant[0]}) that cannot be "
                "scaled to unit variance; drop them before PCA with scale=True"
            )
        centred = centred / spread
    left, singular_values, right_t = np.linalg.svd(centred, full_matrices=False)
    signs = np.sign(right_t[np.arange(right_t.shape[0]), np.argmax(np.abs(right_t), axis=1)])
    left, right_t = left * signs, right_t * signs[:, None]
    variances = singular_values**2 / (values.shape[0] - 1)
    total = np.sum(centred**2) / (values.shape[0] - 1)
    k = n_components
    return PCAResult(
        scores=left[:, :k] * singular_values[:k],
        loadings=right_t[:k].T,
        explained_variance=variances[:k],
        explained_variance_ratio=variances[:k] / total,
        mean=mean,
        scale=spread,
    )
