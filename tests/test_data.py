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


# --- size factors and cell-type signatures


def test_library_size_factors_divide_by_the_median():
    totals = np.array([1200.0, 450.0, 3100.0, 800.0, 975.0])  # median 975 (sorted: 450, 800, 975, 1200, 3100)
    np.testing.assert_allclose(data.library_size_factors(totals), totals / 975.0, rtol=1e-15)
    even = [300, 900, 500, 700]  # an even count: the median is the mean of the middle two, (500 + 700) / 2
    np.testing.assert_allclose(data.library_size_factors(even), np.array(even) / 600.0, rtol=1e-15)


def test_library_size_factors_keep_the_cells_of_a_series():
    cells = data.load_pbmc().samples
    factors = data.library_size_factors(cells["n_counts"])
    assert isinstance(factors, pd.Series) and factors.index.equals(cells.index)
    assert np.median(factors) == pytest.approx(1.0)
    np.testing.assert_allclose(factors * cells["n_counts"].median(), cells["n_counts"], rtol=1e-14)


def test_normalize_log1p_divides_by_the_library_size_factors():
    counts = np.array([[4, 0, 7, 2], [1, 9, 3, 5]])
    totals = np.array([310.0, 95.0, 1020.0, 640.0])
    expected = np.log1p(counts / data.library_size_factors(totals))
    np.testing.assert_allclose(data.normalize_log1p(counts, totals), expected, rtol=1e-15)


@pytest.mark.parametrize(
    ("totals", "error", "message"),
    [
        ([310.0, 0.0, 95.0], ValueError, "library_sizes must be positive"),
        ([310.0, -4.0, 95.0], ValueError, "library_sizes must be positive"),
        ([310.0, np.nan, 95.0], ValueError, "library_sizes contains NaN"),
        ([[310.0, 95.0]], ValueError, "library_sizes must be a 1-D vector"),
        ([], ValueError, "library_sizes must not be empty"),
        (["310", "95"], TypeError, "library_sizes must be numeric"),
        ([True, False], TypeError, "library_sizes must be numeric"),
    ],
)
def test_library_size_factors_reject_bad_totals(totals, error, message):
    with pytest.raises(error, match=message):
        data.library_size_factors(totals)


def _small_cells():
    counts = pd.DataFrame(
        [[3, 0, 8, 1, 5], [0, 6, 2, 4, 1], [7, 2, 0, 3, 9]],
        index=["g1", "g2", "g3"],
        columns=["c1", "c2", "c3", "c4", "c5"],
    )
    labels = pd.Series(["T", "B", "T", "NK", "B"], index=counts.columns, name="cell_type")
    totals = pd.Series([40.0, 25.0, 61.0, 18.0, 33.0], index=counts.columns)
    return counts, labels, totals


def test_cell_type_signature_is_the_mean_of_scaled_counts_per_type():
    counts, labels, totals = _small_cells()
    signature = data.cell_type_signature(counts, labels, totals)
    # by hand, cell by cell: the mean over each type's cells of 10^4 K_gj / n_j
    for cell_type in ["B", "NK", "T"]:
        cells = [cell for cell in counts.columns if labels[cell] == cell_type]
        expected = sum(1e4 * counts[cell] / totals[cell] for cell in cells) / len(cells)
        np.testing.assert_allclose(signature[cell_type], expected, rtol=1e-14)
    assert list(signature.columns) == ["B", "NK", "T"] and signature.index.equals(counts.index)
    # default library sizes are the column sums; scale multiplies the whole table
    by_sums = data.cell_type_signature(counts, labels, scale=100.0)
    np.testing.assert_allclose(by_sums["T"], (100 * counts["c1"] / 10 + 100 * counts["c3"] / 10) / 2, rtol=1e-14)


def test_cell_type_signature_pairs_cells_by_label_and_follows_categories():
    counts, labels, totals = _small_cells()
    reference = data.cell_type_signature(counts, labels, totals)
    # the same cells in another order, in all three inputs alike: the same signature
    order = ["c4", "c2", "c5", "c1", "c3"]
    shuffled = data.cell_type_signature(counts[order], labels[order], totals[order])
    pd.testing.assert_frame_equal(reference, shuffled, rtol=1e-15)
    ordered = labels.astype(pd.CategoricalDtype(["T", "NK", "B", "unused"]))
    by_category = data.cell_type_signature(counts, ordered, totals)
    assert list(by_category.columns) == ["T", "NK", "B"]  # category order; a type without cells is left out
    np.testing.assert_allclose(by_category[["B", "NK", "T"]].to_numpy(), reference.to_numpy(), rtol=1e-15)


def test_cell_type_signature_on_pbmc_matches_a_groupby():
    pbmc = data.load_pbmc()
    signature = data.cell_type_signature(pbmc.counts, pbmc.samples["bulk_labels"], pbmc.samples["n_counts"])
    per_10k = pbmc.counts.to_numpy() / pbmc.samples["n_counts"].to_numpy() * 1e4
    grouped = pd.DataFrame(per_10k.T).groupby(pbmc.samples["bulk_labels"].to_numpy()).mean().T
    assert signature.shape == (765, 10)
    assert list(signature.columns) == list(pbmc.samples["bulk_labels"].cat.categories)
    np.testing.assert_allclose(signature.to_numpy(), grouped[list(signature.columns)].to_numpy(), rtol=1e-12)


def test_cell_type_signature_rejects_misaligned_or_bad_inputs():
    counts, labels, totals = _small_cells()
    with pytest.raises(ValueError, match="labels.index name the same samples in a different order"):
        data.cell_type_signature(counts, labels.iloc[::-1], totals)
    with pytest.raises(ValueError, match="library_sizes.index must name the same samples"):
        data.cell_type_signature(counts, labels, totals.rename(lambda cell: cell.upper()))
    with pytest.raises(ValueError, match="labels.index must name the same samples"):
        data.cell_type_signature(counts, labels.iloc[:4], totals)
    with pytest.raises(ValueError, match="labels has missing values"):
        data.cell_type_signature(counts, labels.where(labels != "NK"), totals)
    with pytest.raises(ValueError, match="library_sizes must be positive"):
        data.cell_type_signature(counts, labels, totals.where(totals > 30, 0.0))
    with pytest.raises(ValueError, match="counts contains negative"):
        data.cell_type_signature(-counts, labels, totals)
    with pytest.raises(ValueError, match="zero total"):
        data.cell_type_signature(counts * (counts.columns != "c2"), labels)
    with pytest.raises(ValueError, match="scale must be positive"):
        data.cell_type_signature(counts, labels, totals, scale=0.0)
    with pytest.raises(TypeError, match="counts must be a DataFrame"):
        data.cell_type_signature(counts.to_numpy(), labels, totals)
    with pytest.raises(TypeError, match="labels must be a Series"):
        data.cell_type_signature(counts, labels.to_numpy(), totals)
    with pytest.raises(TypeError, match="library_sizes must be a Series"):
        data.cell_type_signature(counts, labels, totals.to_numpy())
    with pytest.raises(TypeError, match="library_sizes must be numeric"):
        data.cell_type_signature(counts, labels, totals.astype(str))
    with pytest.raises(TypeError, match="scale must be a real number"):
        data.cell_type_signature(counts, labels, totals, scale="10000")


def test_pydeseq2_reference_is_aligned_with_pasilla():
    reference = data.load_pydeseq2_reference()
    pasilla = data.load_pasilla()
    assert reference.genes.index.equals(pasilla.counts.index)
    assert reference.summary["pydeseq2_version"] == "0.5.4"
    assert list(reference.summary["size_factors"]) == list(pasilla.counts.columns)
    all_zero = (pasilla.counts.sum(axis=1) == 0).to_numpy()
    assert reference.genes["genewise"].isna().to_numpy().tolist() == all_zero.tolist()
    assert (reference.genes["padj"].dropna() <= 1).all()
