"""utils.data: the loaders return the documented tables and refuse missing or altered files."""

import shutil

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from utils import data


@pytest.mark.parametrize(
    ("loader", "shape", "columns"),
    [
        (data.load_pasilla, (14599, 7), ["condition", "type"]),
        (data.load_airway, (33469, 8), ["cell", "dex"]),
        (data.load_pbmc, (765, 700), ["bulk_labels", "n_counts"]),
    ],
)
def test_loaders_return_aligned_integer_tables(loader, shape, columns):
    counts, samples = loader()
    assert counts.shape == shape
    assert (counts.dtypes == np.int64).all()
    assert (counts.values >= 0).all()
    assert list(samples.index) == list(counts.columns), "annotation rows must follow the count columns"
    for column in columns:
        assert column in samples


def test_design_factors_have_reference_levels_first():
    assert list(data.load_pasilla().samples["condition"].cat.categories) == ["untreated", "treated"]
    assert list(data.load_airway().samples["dex"].cat.categories) == ["untrt", "trt"]
    assert data.load_airway().samples["cell"].nunique() == 4
    assert data.load_pbmc().samples["bulk_labels"].nunique() == 10


def test_pbmc_library_sizes_match_the_annotation():
    # n_counts is each cell's total over all its genes; the table keeps 765 of them, so it is 3.6-9.2 times larger
    counts, cells = data.load_pbmc()
    kept = counts.sum(axis=0)
    assert kept.min() > 0
    assert counts.shape[1] == len(cells)
    ratio = cells["n_counts"] / kept
    assert ratio.min() > 3 and ratio.max() < 10


def _copy_data(tmp_path):
    target = tmp_path / "data"
    shutil.copytree(data.DATA_DIR, target)
    return target


def test_missing_file_names_the_file(tmp_path):
    folder = _copy_data(tmp_path)
    (folder / "pasilla_counts.tsv.gz").unlink()
    with pytest.raises(FileNotFoundError, match="pasilla_counts.tsv.gz"):
        data.load_pasilla(folder)


def test_altered_file_fails_its_checksum(tmp_path):
    folder = _copy_data(tmp_path)
    path = folder / "airway_samples.tsv"
    path.write_text(path.read_text().replace("trt", "TRT", 1))
    with pytest.raises(ValueError, match=r"airway_samples.tsv failed its checksum"):
        data.load_airway(folder)


def test_unlisted_file_is_refused(tmp_path):
    folder = _copy_data(tmp_path)
    (folder / "extra.tsv").write_text("x\n")
    with pytest.raises(ValueError, match="not listed"):
        data.verified_path("extra.tsv", folder)


def test_sha256_matches_hashlib_on_known_input(tmp_path):
    path = tmp_path / "abc.txt"
    path.write_bytes(b"abc")
    assert data.sha256(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@given(arrays(np.int64, st.tuples(st.integers(1, 20), st.integers(1, 6)), elements=st.integers(0, 10_000)))
def test_cpm_columns_sum_to_a_million(counts):
    counts[0] += 1  # every column needs a non-zero library
    per_million = data.cpm(counts)
    np.testing.assert_allclose(per_million.sum(axis=0), 1e6, rtol=1e-10)
    np.testing.assert_allclose(data.log_cpm(counts, prior_count=0.5), np.log2(per_million + 0.5))


def test_cpm_keeps_dataframe_labels():
    table = pd.DataFrame({"a": [1, 3], "b": [2, 2]}, index=["g1", "g2"])
    result = data.cpm(table)
    assert list(result.index) == ["g1", "g2"] and list(result.columns) == ["a", "b"]
    assert result.loc["g2", "a"] == pytest.approx(750_000)


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        (np.array([[1, -1], [2, 3]]), "negative"),
        (np.array([[1, np.nan], [2, 3]]), "NaN"),
        (np.array([1, 2, 3]), "2-D"),
        (np.array([[0, 1], [0, 2]]), "zero total"),
    ],
)
def test_cpm_rejects_bad_counts(counts, message):
    with pytest.raises(ValueError, match=message):
        data.cpm(counts)


@pytest.mark.parametrize("prior", [0, -1, np.inf])
def test_log_cpm_rejects_bad_prior(prior):
    with pytest.raises(ValueError, match="prior_count"):
        data.log_cpm(np.ones((2, 2)), prior_count=prior)


# --- single-cell normalisation on the counts scale


def test_normalize_log1p_matches_the_scanpy_recipe_by_hand():
    counts = np.array([[0, 3, 10], [5, 0, 2], [1, 1, 0]])  # genes x cells, totals 6, 4, 12 (median 6)
    expected = np.log1p(counts / (np.array([6, 4, 12]) / 6.0))
    np.testing.assert_allclose(data.normalize_log1p(counts), expected, rtol=1e-15)
    # every cell is rescaled to the median total: expm1 undoes log1p
    np.testing.assert_allclose(np.expm1(data.normalize_log1p(counts)).sum(axis=0), [6.0, 6.0, 6.0])


def test_normalize_log1p_on_pbmc_uses_the_cells_total_over_all_genes():
    pbmc = data.load_pbmc()
    totals = pbmc.samples["n_counts"]
    normalised = data.normalize_log1p(pbmc.counts, totals)
    assert isinstance(normalised, pd.DataFrame) and normalised.columns.equals(pbmc.counts.columns)
    scale = np.median(totals) / totals.to_numpy()
    np.testing.assert_allclose(normalised.to_numpy(), np.log1p(pbmc.counts.to_numpy() * scale), rtol=1e-14)
    # one read in a typical cell stays about one read (log1p(1) = 0.69), unlike log2(CPM + 1) where it is ~9-11
    one_read = normalised.to_numpy()[pbmc.counts.to_numpy() == 1]
    assert np.median(one_read) < 1.5
    assert np.median(np.asarray(data.log_cpm(pbmc.counts))[pbmc.counts.to_numpy() == 1]) > 8


def test_normalize_log1p_refuses_misaligned_or_bad_library_sizes():
    pbmc = data.load_pbmc()
    totals = pbmc.samples["n_counts"]
    with pytest.raises(ValueError, match="different order"):
        data.normalize_log1p(pbmc.counts, totals.iloc[::-1])
    with pytest.raises(ValueError, match="same samples"):
        data.normalize_log1p(pbmc.counts, totals.set_axis([f"x{i}" for i in range(len(totals))]))
    with pytest.raises(ValueError, match="entries"):
        data.normalize_log1p(pbmc.counts.to_numpy(), totals.to_numpy()[:-1])
    with pytest.raises(ValueError, match="positive"):
        data.normalize_log1p(np.array([[1, 0], [2, 0]]))
    with pytest.raises(ValueError, match="negative"):
        data.normalize_log1p(np.array([[1, -1], [2, 3]]))
    with pytest.raises(TypeError, match="library_sizes"):
        data.normalize_log1p(np.array([[1, 1], [2, 3]]), ["a", "b"])


def test_pydeseq2_reference_is_aligned_with_pasilla():
    reference = data.load_pydeseq2_reference()
    pasilla = data.load_pasilla()
    assert reference.genes.index.equals(pasilla.counts.index)
    assert reference.summary["pydeseq2_version"] == "0.5.4"
    assert list(reference.summary["size_factors"]) == list(pasilla.counts.columns)
    all_zero = (pasilla.counts.sum(axis=1) == 0).to_numpy()
    assert reference.genes["genewise"].isna().to_numpy().tolist() == all_zero.tolist()
    assert (reference.genes["padj"].dropna() <= 1).all()
