"""Loaders for the real RNA-seq count tables in ``data/``, with checksum verification.

Every table is genes x samples (or genes x cells), the DESeq2 orientation. Each loader checks the SHA-256
of the files it reads against ``data/SHA256SUMS`` and raises if a file is missing or differs, so a lesson
never runs silently on corrupted or substituted data. Provenance: ``data/README.md``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from utils._validation import as_counts, as_vector, check_same_labels, check_scalar

DATA_DIR = Path(__file__).resolve().parents[1] / "data"


class CountData(NamedTuple):
    """A count table and its column annotation.

    Attributes
    ----------
    counts : pandas.DataFrame
        Integer counts, genes as rows (index: gene id) and samples/cells as columns.
    samples : pandas.DataFrame
        One row per column of ``counts``, in the same order (index: sample/cell id).
    """

    counts: pd.DataFrame
    samples: pd.DataFrame


def _expected_checksums(data_dir: Path) -> dict[str, str]:
    sums_file = data_dir / "SHA256SUMS"
    if not sums_file.is_file():
        raise FileNotFoundError(f"checksum list {sums_file} is missing; restore data/ from the repository")
    expected = {}
    for line in sums_file.read_text().splitlines():
        if line.strip():
            digest, name = line.split()
            expected[name] = digest
    return expected


def sha256(path: str | Path) -> str:
    """Return the hex SHA-256 digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified_path(name: str, data_dir: str | Path | None = None) -> Path:
    """Return the path of data file ``name`` after checking that it exists and matches ``SHA256SUMS``.

    Raises
    ------
    FileNotFoundError
        If the file is missing.
    ValueError
        If the file is not listed in ``SHA256SUMS`` or its SHA-256 differs from the listed one.
    """
    directory = Path(data_dir) if data_dir is not None else DATA_DIR
    path = directory / name
    if not path.is_file():
        raise FileNotFoundError(f"data file {path} is missing; restore it from the repository (see data/README.md)")
    expected = _expected_checksums(directory)
    if name not in expected:
        raise ValueError(f"data file {name!r} is not listed in {directory / 'SHA256SUMS'}")
    actual = sha256(path)
    if actual != expected[name]:
        raise ValueError(
            f"data file {path} failed its checksum: SHA-256 is {actual}, expected {expected[name]}; "
            "the file is corrupted or was replaced"
        )
    return path


def _read_counts(name: str, data_dir: str | Path | None) -> pd.DataFrame:
    counts = pd.read_csv(verified_path(name, data_dir), sep="\t", index_col=0)
    counts.index.name = "gene"
    return counts.astype(np.int64)


def load_pasilla(data_dir: str | Path | None = None) -> CountData:
    """Pasilla knock-down in Drosophila S2 cells (Brooks et al. 2011): 14,599 genes x 7 samples.

    ``samples`` has ``condition`` (untreated/treated, reference level first) and ``type``
    (single-read/paired-end, a technical batch) as ordered categoricals; the DESeq2 design is
    ``~ type + condition``.
    """
    counts = _read_counts("pasilla_counts.tsv.gz", data_dir)
    samples = pd.read_csv(verified_path("pasilla_samples.tsv", data_dir), sep="\t", index_col=0)
    samples.index.name = "sample"
    samples["condition"] = pd.Categorical(samples["condition"], categories=["untreated", "treated"])
    samples["type"] = pd.Categorical(samples["type"], categories=["single-read", "paired-end"])
    return CountData(counts, samples.loc[counts.columns])


def load_airway(data_dir: str | Path | None = None) -> CountData:
    """Dexamethasone on four airway smooth-muscle cell lines (Himes et al. 2014): 33,469 genes x 8 samples.

    ``samples`` has ``cell`` (4 lines, a paired design) and ``dex`` (untrt/trt, reference first) as
    categoricals; the standard design is ``~ cell + dex``.
    """
    counts = _read_counts("airway_counts.tsv.gz", data_dir)
    samples = pd.read_csv(verified_path("airway_samples.tsv", data_dir), sep="\t", index_col=0)
    samples.index.name = "sample"
    samples["cell"] = pd.Categorical(samples["cell"], categories=sorted(samples["cell"].unique()))
    samples["dex"] = pd.Categorical(samples["dex"], categories=["untrt", "trt"])
    return CountData(counts, samples.loc[counts.columns])


def load_pbmc(data_dir: str | Path | None = None) -> CountData:
    """700 peripheral blood mononuclear cells x 765 highly variable genes (Zheng et al. 2017, 10x).

    ``samples`` (one row per cell) has ``bulk_labels`` (10 cell types, categorical) and QC columns.
    Only 765 genes are kept, so library sizes are small (hundreds to ~2,000 counts per cell).
    """
    counts = _read_counts("pbmc_counts.tsv.gz", data_dir)
    cells = pd.read_csv(verified_path("pbmc_cells.tsv", data_dir), sep="\t", index_col=0)
    cells.index.name = "cell"
    cells["bulk_labels"] = pd.Categorical(cells["bulk_labels"])
    return CountData(counts, cells.loc[counts.columns])


def cpm(counts: pd.DataFrame | np.ndarray) -> np.ndarray | pd.DataFrame:
    """Counts per million: each column divided by its library size, times 10^6.

    :math:`\\mathrm{CPM}_{gj} = 10^6\\, K_{gj} / \\sum_g K_{gj}`. Returns the same type as ``counts``.
    """
    values = as_counts(counts, "counts", integer=False)
    library_sizes = values.sum(axis=0)
    if np.any(library_sizes == 0):
        empty = np.flatnonzero(library_sizes == 0).tolist()
        raise ValueError(f"counts has columns with zero total count (positions {empty}); CPM is undefined there")
    result = values / library_sizes * 1e6
    if isinstance(counts, pd.DataFrame):
        return pd.DataFrame(result, index=counts.index, columns=counts.columns)
    return result


def log_cpm(counts: pd.DataFrame | np.ndarray, prior_count: float = 1.0) -> np.ndarray | pd.DataFrame:
    """log2 counts per million with a pseudo-count: :math:`\\log_2(\\mathrm{CPM} + c)`.

    A simple variance-stabilising transform for **bulk** RNA-seq (limma-voom and edgeR use variants of it; Law et
    al. 2014). ``prior_count`` must be positive so that zero counts map to a finite value.

    Do not use it for single cells: the pseudo-count is added on the CPM scale, where one read in a cell with
    1,000 counts is already 1,000 CPM, so a detected gene jumps from 0 to ~log2(1000) whatever its level, and
    variance across cells then measures how often a gene is detected rather than how much it is expressed.
    Use :func:`normalize_log1p` there.
    """
    prior_count = check_scalar(prior_count, "prior_count", positive=True)
    return np.log2(cpm(counts) + prior_count)


def library_size_factors(library_sizes: pd.Series | np.ndarray) -> np.ndarray | pd.Series:
    """Size factors of single cells: each total over the median total, :math:`s_j = n_j / \\operatorname{median}_k n_k`.

    Dividing a cell's counts by :math:`s_j` rescales it to the median library size, the default target of
    ``scanpy.pp.normalize_total`` (Wolf et al. 2018). :func:`normalize_log1p` uses these factors; a model of the
    raw counts (a Poisson or negative binomial mean :math:`s_j\\mu_g`) uses them as offsets.

    Parameters
    ----------
    library_sizes : array_like or Series, shape (cells,)
        Each cell's total count :math:`n_j > 0`. For PBMC pass ``cells["n_counts"]``, the total over all genes
        (the table keeps 765 of them).

    Returns
    -------
    numpy.ndarray, or a Series with the same index when ``library_sizes`` is a Series.

    Raises
    ------
    TypeError
        If ``library_sizes`` is not numeric.
    ValueError
        If it is not a non-empty 1-D vector of finite, positive numbers.
    """
    totals = as_vector(library_sizes, "library_sizes")
    if np.any(totals <= 0):
        empty = np.flatnonzero(totals <= 0).tolist()
        raise ValueError(f"library_sizes must be positive; cells at positions {empty[:5]} have total <= 0")
    size_factors = totals / np.median(totals)
    if isinstance(library_sizes, pd.Series):
        return pd.Series(size_factors, index=library_sizes.index, name="size_factor")
    return size_factors


def normalize_log1p(
    counts: pd.DataFrame | np.ndarray, library_sizes: pd.Series | np.ndarray | None = None
) -> np.ndarray | pd.DataFrame:
    """Counts-scale normalisation of single cells, then ``log1p``: scanpy's ``normalize_total`` + ``log1p``.

    Each cell's size factor is its total count over the median total, :math:`s_j = n_j / \\operatorname{median}_k
    n_k` (:func:`library_size_factors`), and

    .. math::

        y_{gj} = \\log\\big(1 + K_{gj} / s_j\\big),

    so the pseudo-count 1 is added on the scale of a typical cell's counts (one read stays about one read),
    not on the CPM scale of :func:`log_cpm`. This equals ``scanpy.pp.normalize_total(adata)`` (whose default
    target is the median total) followed by ``scanpy.pp.log1p`` (Wolf et al. 2018; Luecken & Theis 2019).

    Parameters
    ----------
    counts : array_like or DataFrame, shape (genes, cells)
    library_sizes : array_like or Series, shape (cells,), optional
        Each cell's total count :math:`n_j`. Default: the column sums of ``counts``. When ``counts`` holds a
        subset of genes (PBMC keeps 765), pass the totals over all genes (``cells["n_counts"]``); a Series must be
        indexed by the same cells as ``counts``' columns.

    Returns
    -------
    Same type as ``counts`` (natural logarithm).
    """
    values = as_counts(counts, "counts", integer=False)
    if library_sizes is None:
        totals = values.sum(axis=0)
        if np.any(totals <= 0):
            empty = np.flatnonzero(totals <= 0).tolist()
            raise ValueError(
                f"counts has cells with zero total count (positions {empty[:5]}); pass positive library_sizes"
            )
    else:
        if isinstance(library_sizes, pd.Series) and isinstance(counts, pd.DataFrame):
            check_same_labels(counts.columns, library_sizes.index, "counts.columns", "library_sizes.index")
        totals = as_vector(library_sizes, "library_sizes")
        if totals.shape[0] != values.shape[1]:
            raise ValueError(
                f"library_sizes has {totals.shape[0]} entries but counts has {values.shape[1]} columns (cells)"
            )
    result = np.log1p(values / library_size_factors(totals))
    if isinstance(counts, pd.DataFrame):
        return pd.DataFrame(result, index=counts.index, columns=counts.columns)
    return result


def cell_type_signature(
    counts: pd.DataFrame,
    labels: pd.Series,
    library_sizes: pd.Series | None = None,
    scale: float = 1e4,
) -> pd.DataFrame:
    """Each cell type's mean expression profile on the counts scale, for deconvolving bulk samples.

    Each cell's counts are scaled to ``scale`` per unit of its library size, then averaged over the cells of
    each type :math:`C_t`:

    .. math::

        S_{gt} = \\frac{1}{|C_t|}\\sum_{j\\in C_t} \\mathrm{scale}\\cdot\\frac{K_{gj}}{n_j}

    (counts per 10,000 of the cell's total by default). A bulk sample's expected counts are then linear in the
    RNA fractions :math:`p_t`, :math:`\\mathbb E\\,\\mathbf y \\propto S\\mathbf p` (Newman et al. 2015, CIBERSORT;
    Avila Cobos et al. 2020). No log: mixing is linear on the counts scale only.

    Parameters
    ----------
    counts : DataFrame, shape (genes, cells)
        Non-negative counts, one column per cell.
    labels : Series, shape (cells,)
        Each cell's type, indexed by the same cells as ``counts``' columns (paired by label, not position).
    library_sizes : Series, shape (cells,), optional
        Each cell's total count :math:`n_j > 0`, indexed like ``labels``. Default: the column sums of ``counts``.
        For PBMC pass ``cells["n_counts"]``, the total over all genes.
    scale : float, default 1e4
        The total each cell is scaled to.

    Returns
    -------
    DataFrame, shape (genes, types)
        Indexed by ``counts``' genes; one column per type that has cells, in the order of the categories when
        ``labels`` is categorical, else sorted.

    Raises
    ------
    TypeError
        If ``counts`` is not a DataFrame, ``labels`` or ``library_sizes`` not a Series, or a value is not numeric.
    ValueError
        If labels or library sizes do not name the same cells as ``counts``' columns, a label is missing, or the
        counts or library sizes are not valid (negative, NaN, not positive).
    """
    if not isinstance(counts, pd.DataFrame):
        raise TypeError(f"counts must be a DataFrame with one column per cell, got {type(counts).__name__}")
    if not isinstance(labels, pd.Series):
        raise TypeError(f"labels must be a Series indexed by cell, got {type(labels).__name__}")
    values = as_counts(counts, "counts", integer=False)
    check_same_labels(counts.columns, labels.index, "counts.columns", "labels.index")
    if labels.isna().any():
        missing = labels.index[labels.isna()].tolist()
        raise ValueError(f"labels has missing values for {len(missing)} cells (e.g. {missing[:3]})")
    if library_sizes is None:
        totals = values.sum(axis=0)
        if np.any(totals <= 0):
            empty = counts.columns[totals <= 0].tolist()
            raise ValueError(f"counts has cells with zero total count (e.g. {empty[:3]}); pass positive library_sizes")
    else:
        if not isinstance(library_sizes, pd.Series):
            raise TypeError(f"library_sizes must be a Series indexed by cell, got {type(library_sizes).__name__}")
        check_same_labels(counts.columns, library_sizes.index, "counts.columns", "library_sizes.index")
        totals = as_vector(library_sizes, "library_sizes")
        if np.any(totals <= 0):
            empty = library_sizes.index[totals <= 0].tolist()
            raise ValueError(f"library_sizes must be positive; cells {empty[:3]} have total <= 0")
    scale = check_scalar(scale, "scale", positive=True)
    scaled = pd.DataFrame(values / totals * scale, index=counts.index, columns=counts.columns)
    types = labels.cat.categories if isinstance(labels.dtype, pd.CategoricalDtype) else sorted(labels.unique())
    columns = {t: scaled.loc[:, (labels == t).to_numpy()].mean(axis=1) for t in types if (labels == t).any()}
    signature = pd.DataFrame(columns, index=counts.index)
    signature.columns.name = labels.name
    return signature


class ReferenceFit(NamedTuple):
    """PyDESeq2's results on pasilla, stage by stage, as committed by ``benchmarks/deseq_vs_pydeseq2.py``.

    Attributes
    ----------
    genes : pandas.DataFrame
        One row per pasilla gene: ``baseMean``, the dispersions (``genewise``, ``trend``, ``map``, ``final``),
        ``log2FoldChange``, ``lfcSE``, ``stat``, ``pvalue``, ``padj`` and the apeglm-shrunken ``shrunk_log2FoldChange``,
        ``shrunk_lfcSE``; NaN where PyDESeq2 reports NA.
    summary : dict
        ``size_factors`` (sample -> value), ``trend_coefficients`` [a0, a1], ``prior_variance``, the design,
        the contrast and the PyDESeq2 version that produced them.
    """

    genes: pd.DataFrame
    summary: dict


def load_pydeseq2_reference(data_dir: str | Path | None = None) -> ReferenceFit:
    """PyDESeq2 0.5.4's fit of pasilla ``~ type + condition`` (treated vs untreated), read from ``data/``.

    The DESeq2 capstone compares each of its stages with this table instead of re-running PyDESeq2 (minutes).
    """
    import json

    genes = pd.read_csv(verified_path("pydeseq2_pasilla.tsv.gz", data_dir), sep="\t", index_col=0)
    genes.index.name = "gene"
    summary = json.loads(verified_path("pydeseq2_pasilla.json", data_dir).read_text())
    return ReferenceFit(genes, summary)
