"""Write PyDESeq2's pasilla fit to data/ (the table the capstone notebook compares with).

Used by benchmarks/deseq_vs_pydeseq2.py after it has run PyDESeq2; kept apart so that the written format has
one source. The files are deterministic (gzip without a timestamp, fixed float format) so that re-running
the benchmark on the same versions leaves them, and data/SHA256SUMS, unchanged.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
TABLE, SUMMARY = "pydeseq2_pasilla.tsv.gz", "pydeseq2_pasilla.json"


def reference_table(var: pd.DataFrame, results: pd.DataFrame, shrunk: pd.DataFrame) -> pd.DataFrame:
    """One row per gene from PyDESeq2's ``dds.var``, ``results_df`` and the shrunken ``results_df``."""
    return pd.DataFrame(
        {
            "baseMean": results["baseMean"],
            "genewise": var["genewise_dispersions"],
            "trend": var["fitted_dispersions"],
            "map": var["MAP_dispersions"],
            "final": var["dispersions"],
            "log2FoldChange": results["log2FoldChange"],
            "lfcSE": results["lfcSE"],
            "stat": results["stat"],
            "pvalue": results["pvalue"],
            "padj": results["padj"],
            "shrunk_log2FoldChange": shrunk["log2FoldChange"],
            "shrunk_lfcSE": shrunk["lfcSE"],
        }
    )


def write_reference(table: pd.DataFrame, summary: dict, data_dir: Path = DATA_DIR) -> None:
    """Write the table and summary, and update their lines of data/SHA256SUMS."""
    text = table.to_csv(sep="\t", float_format="%.8g", na_rep="NA")
    with open(data_dir / TABLE, "wb") as handle, gzip.GzipFile(fileobj=handle, mode="wb", mtime=0) as zipped:
        zipped.write(text.encode())
    (data_dir / SUMMARY).write_text(json.dumps(summary, indent=1) + "\n")
    sums = data_dir / "SHA256SUMS"
    lines = [line for line in sums.read_text().splitlines() if not line.endswith((TABLE, SUMMARY))]
    for name in (TABLE, SUMMARY):
        lines.append(f"{hashlib.sha256((data_dir / name).read_bytes()).hexdigest()}  {name}")
    sums.write_text("\n".join(lines) + "\n")


def summary_of(size_factors: pd.Series, trend: np.ndarray, prior_variance: float, version: str) -> dict:
    """The per-fit numbers of the reference."""
    return {
        "pydeseq2_version": version,
        "design": "~ type + condition",
        "contrast": ["condition", "treated", "untreated"],
        "size_factors": {str(k): float(v) for k, v in size_factors.items()},
        "trend_coefficients": [float(trend[0]), float(trend[1])],
        "prior_variance": float(prior_variance),
    }
