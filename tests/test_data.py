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
    # n_counts in the cell table was computed from the same counts before they were shared
    counts, cells = data.load_pbmc()
    assert counts.sum(axis=0).min() > 0
    assert counts.shape[1] == len(cells)


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
