"""utils.decompositions against NumPy's SVD and scikit-learn's PCA."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.decomposition import PCA

from utils import decompositions
from utils.data import load_pbmc


def _low_rank_plus_noise(rng, m=300, n=120, rank=8, noise=1e-3):
    left = np.linalg.qr(rng.standard_normal((m, rank)))[0]
    right = np.linalg.qr(rng.standard_normal((n, rank)))[0]
    return left @ np.diag(np.geomspace(100, 1, rank)) @ right.T + noise * rng.standard_normal((m, n))


def test_randomized_svd_recovers_top_singular_triplets():
    matrix = _low_rank_plus_noise(np.random.default_rng(0))
    u, s, vt = decompositions.randomized_svd(matrix, 5)
    u_full, s_full, vt_full = np.linalg.svd(matrix, full_matrices=False)
    np.testing.assert_allclose(s, s_full[:5], rtol=1e-10)
    # singular vectors agree up to sign
    np.testing.assert_allclose(np.abs(np.sum(u * u_full[:, :5], axis=0)), 1, atol=1e-8)
    np.testing.assert_allclose(np.abs(np.sum(vt * vt_full[:5], axis=1)), 1, atol=1e-8)
    np.testing.assert_allclose(u.T @ u, np.eye(5), atol=1e-12)


def test_power_iterations_help_on_a_flat_spectrum():
    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((400, 200)) @ np.diag(np.linspace(1, 0.5, 200)) @ rng.standard_normal((200, 200))
    top = np.linalg.svd(matrix, compute_uv=False)[:10]
    error = {
        q: np.max(np.abs(decompositions.randomized_svd(matrix, 10, power_iterations=q)[1] - top) / top) for q in (0, 4)
    }
    assert error[4] < error[0] / 5


def test_randomized_svd_is_reproducible_with_a_seed():
    matrix = _low_rank_plus_noise(np.random.default_rng(1))
    first = decompositions.randomized_svd(matrix, 3, seed=7)
    second = decompositions.randomized_svd(matrix, 3, seed=7)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"rank": 0}, ValueError, "rank must be between"),
        ({"rank": 121}, ValueError, "rank must be between"),
        ({"rank": 2.0}, TypeError, "rank must be an integer"),
        ({"rank": 2, "oversampling": -1}, ValueError, "oversampling"),
        ({"rank": 2, "power_iterations": -1}, ValueError, "power_iterations"),
    ],
)
def test_randomized_svd_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        decompositions.randomized_svd(np.ones((300, 120)), **kwargs)


def test_randomized_svd_rejects_nan():
    matrix = np.ones((5, 4))
    matrix[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        decompositions.randomized_svd(matrix, 2)


@settings(max_examples=25, deadline=None)
@given(st.integers(3, 30), st.integers(2, 12), st.booleans(), st.integers(0, 2**32 - 1))
def test_pca_matches_scikit_learn_up_to_sign(n, p, scale, seed):
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((n, p)) @ rng.standard_normal((p, p))
    k = min(n - 1, p)
    result = decompositions.pca(data, k, scale=scale)
    prepared = (data - data.mean(0)) / (data.std(0, ddof=1) if scale else 1)
    reference = PCA(n_components=k, svd_solver="full").fit(prepared)
    np.testing.assert_allclose(result.explained_variance, reference.explained_variance_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(
        result.explained_variance_ratio, reference.explained_variance_ratio_, rtol=1e-8, atol=1e-10
    )
    signs = np.sign(np.sum(result.loadings * reference.components_.T, axis=0))
    big = result.explained_variance > 1e-8 * result.explained_variance[0]
    np.testing.assert_allclose((result.loadings * signs)[:, big], reference.components_.T[:, big], atol=1e-6)
    np.testing.assert_allclose(result.scores, prepared @ result.loadings, atol=1e-8)


def test_pca_equals_the_covariance_eigenproblem_on_real_cells():
    counts = load_pbmc().counts.to_numpy().T.astype(float)
    logged = np.log1p(counts / counts.sum(1, keepdims=True) * np.median(counts.sum(1)))
    result = decompositions.pca(logged, 5)
    eigenvalues = np.linalg.eigvalsh(np.cov(logged, rowvar=False))[::-1][:5]
    np.testing.assert_allclose(result.explained_variance, eigenvalues, rtol=1e-9)
    # sign convention: the largest absolute loading of each component is positive
    assert np.all(result.loadings[np.argmax(np.abs(result.loadings), axis=0), np.arange(5)] > 0)


@pytest.mark.parametrize(
    ("data", "kwargs", "message"),
    [
        (np.ones((1, 3)), {"n_components": 1}, "at least 2 observations"),
        (np.c_[np.arange(4.0), np.ones(4)], {"n_components": 1, "scale": True}, "constant feature"),
        (np.ones((4, 3)), {"n_components": 4}, "n_components must be between"),
        (np.ones(4), {"n_components": 1}, "2-D"),
    ],
)
def test_pca_rejects_bad_input(data, kwargs, message):
    with pytest.raises(ValueError, match=message):
        decompositions.pca(data, **kwargs)
