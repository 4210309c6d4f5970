"""Matrix decompositions the lessons reuse: a randomized truncated SVD and PCA through the SVD.

References: Halko, Martinsson & Tropp, "Finding structure with randomness", *SIAM Review* 53:217-288 (2011),
algorithms 4.3-4.4 and 5.1; Jolliffe & Cadima, "Principal component analysis: a review and recent
developments", *Phil. Trans. R. Soc. A* 374:20150202 (2016).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _as_matrix(matrix: np.ndarray, name: str) -> np.ndarray:
    values = np.asarray(matrix, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got {values.ndim} dimension(s)")
    if min(values.shape) == 0:
        raise ValueError(f"{name} must not be empty, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return values


def _check_rank(rank: int, shape: tuple[int, int], name: str = "rank") -> None:
    if isinstance(rank, bool) or not isinstance(rank, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {type(rank).__name__}")
    if not 1 <= rank <= min(shape):
        raise ValueError(f"{name} must be between 1 and min(matrix.shape) = {min(shape)}, got {rank}")


def randomized_svd(
    matrix: np.ndarray,
    rank: int,
    oversampling: int = 10,
    power_iterations: int = 2,
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
    rank : int
        Number of singular triplets returned, 1 <= rank <= min(m, n).
    oversampling : int
        Extra sketch columns (5-10 is usual); the sketch is capped at min(m, n) columns.
    power_iterations : int
        q >= 0 subspace iterations.
    seed : int, Generator or None
        For reproducible sketches.

    Returns
    -------
    U : numpy.ndarray, shape (m, rank)
    S : numpy.ndarray, shape (rank,), decreasing
    Vt : numpy.ndarray, shape (rank, n)
    """
    values = _as_matrix(matrix, "matrix")
    _check_rank(rank, values.shape)
    if oversampling < 0:
        raise ValueError(f"oversampling must be >= 0, got {oversampling}")
    if power_iterations < 0:
        raise ValueError(f"power_iterations must be >= 0, got {power_iterations}")
    rng = np.random.default_rng(seed)
    sketch_size = min(rank + oversampling, min(values.shape))
    basis, _ = np.linalg.qr(values @ rng.standard_normal((values.shape[1], sketch_size)))
    for _ in range(power_iterations):
        # re-orthonormalise between products, or the sketch collapses onto the top singular vector in float64
        basis, _ = np.linalg.qr(values.T @ basis)
        basis, _ = np.linalg.qr(values @ basis)
    small_u, singular_values, right_t = np.linalg.svd(basis.T @ values, full_matrices=False)
    return (basis @ small_u)[:, :rank], singular_values[:rank], right_t[:rank]


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
        1 <= n_components <= min(n_observations, n_features).
    center : bool
        Subtract each feature's mean (PCA proper); False gives an uncentred SVD.
    scale : bool
        Divide each feature by its standard deviation (PCA of the correlation matrix). Constant features
        cannot be scaled and raise ``ValueError``.
    """
    values = _as_matrix(data, "data")
    _check_rank(n_components, values.shape, "n_components")
    if values.shape[0] < 2:
        raise ValueError(f"data needs at least 2 observations (rows), got {values.shape[0]}")
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
