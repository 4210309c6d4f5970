"""utils.decompositions against NumPy's SVD and scikit-learn's PCA and randomized SVD."""

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.decomposition import PCA
from sklearn.utils.extmath import randomized_svd as sklearn_randomized_svd

from utils import decompositions
from utils.data import load_pbmc, normalize_log1p


@pytest.fixture(scope="module")
def pbmc_cells():
    """PBMC cells x genes, counts-scale normalised (library sizes over all genes), and its exact singular values."""
    pbmc = load_pbmc()
    cells = np.asarray(normalize_log1p(pbmc.counts, pbmc.samples["n_counts"]), dtype=float).T
    return cells, np.linalg.svd(cells, compute_uv=False)


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
        ({"rank": 0}, ValueError, "rank must be at least 1"),
        ({"rank": 121}, ValueError, "rank must be at most 120"),
        ({"rank": 2.0}, TypeError, "rank must be an integer"),
        ({"rank": 2, "oversampling": -1}, ValueError, "oversampling"),
        ({"rank": 2, "oversampling": 2.5}, TypeError, "oversampling must be an integer"),
        ({"rank": 2, "power_iterations": -1}, ValueError, "power_iterations"),
        ({"rank": 2, "power_iterations": 1.0}, TypeError, "power_iterations must be an integer"),
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


def test_randomized_svd_refuses_a_sparse_matrix_with_a_clear_type_error():
    sparse = scipy.sparse.random(60, 40, density=0.1, format="csr", random_state=0)
    with pytest.raises(TypeError, match="scipy sparse matrix.*toarray"):
        decompositions.randomized_svd(sparse, 3)
    with pytest.raises(TypeError, match="scipy sparse matrix"):
        decompositions.pca(sparse, 3)


def test_randomized_svd_sign_convention_is_largest_entry_of_u_positive():
    matrix = _low_rank_plus_noise(np.random.default_rng(5))
    left, _, right_t = decompositions.randomized_svd(matrix, 5)
    assert np.all(left[np.argmax(np.abs(left), axis=0), np.arange(5)] > 0)
    # the same vectors with the same signs as scikit-learn's svd_flip convention (different sketch, same answer)
    sk_left, _, sk_right_t = sklearn_randomized_svd(matrix, 5, n_iter=7, random_state=3)
    np.testing.assert_allclose(left, sk_left, atol=1e-8)
    np.testing.assert_allclose(right_t, sk_right_t, atol=1e-8)
    # and deterministic: a sketch with another seed gives the same signs, where a raw LAPACK SVD may not
    other_left, _, _ = decompositions.randomized_svd(matrix, 5, seed=11)
    np.testing.assert_allclose(left, other_left, atol=1e-8)
    flipped = decompositions.flip_signs(-left, -right_t)
    np.testing.assert_array_equal(flipped[0], left)
    np.testing.assert_array_equal(flipped[1], right_t)


def _mean_error(singular_values, exact, rank):
    return np.mean([np.max(np.abs(values - exact[:rank]) / exact[:rank]) for values in singular_values])


def test_default_power_iterations_reach_scikit_learn_accuracy_on_pbmc(pbmc_cells):
    # q = 2 (the old default) left 7-8 % error in sigma_k on this flat single-cell spectrum
    cells, exact = pbmc_cells
    rank, seeds = 20, range(5)
    ours = _mean_error([decompositions.randomized_svd(cells, rank, seed=s)[1] for s in seeds], exact, rank)
    old = _mean_error(
        [decompositions.randomized_svd(cells, rank, power_iterations=2, seed=s)[1] for s in seeds], exact, rank
    )
    reference = _mean_error([sklearn_randomized_svd(cells, rank, random_state=s)[1] for s in seeds], exact, rank)
    assert decompositions.POWER_ITERATIONS == 7
    assert ours <= 1.25 * reference
    assert old > 3 * reference


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


def test_pca_equals_the_covariance_eigenproblem_on_real_cells(pbmc_cells):
    logged = pbmc_cells[0]
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
        (np.ones((4, 3)), {"n_components": 4}, "n_components must be at most 3"),
        (np.ones(4), {"n_components": 1}, "2-D"),
    ],
)
def test_pca_rejects_bad_input(data, kwargs, message):
    with pytest.raises(ValueError, match=message):
        decompositions.pca(data, **kwargs)


def test_pca_refuses_as_many_components_as_rows_on_centred_data():
    # centring makes the rows add up to zero: rank <= n - 1, so an n-th component would be round-off
    data = np.random.default_rng(2).standard_normal((5, 9))
    with pytest.raises(ValueError, match="at most 4.*rank <= 4"):
        decompositions.pca(data, 5)
    assert decompositions.pca(data, 4).scores.shape == (5, 4)
    uncentred = decompositions.pca(data, 5, center=False)  # without centring all 5 singular values are real
    np.testing.assert_allclose(
        np.sqrt(uncentred.explained_variance * 4), np.linalg.svd(data, compute_uv=False), rtol=1e-12
    )


def test_pca_rejects_a_non_integer_number_of_components():
    with pytest.raises(TypeError, match="n_components must be an integer"):
        decompositions.pca(np.random.default_rng(0).standard_normal((6, 3)), 2.0)
