"""utils.deseq against PyDESeq2 0.5.4, end to end, in one run: per-stage times, speed ratio, agreement, memory.

Usage:
    python benchmarks/deseq_vs_pydeseq2.py                      # pasilla, ~ type + condition
    python benchmarks/deseq_vs_pydeseq2.py --scale 40000 24     # simulated counts: 40,000 genes x 24 samples
    python benchmarks/deseq_vs_pydeseq2.py --write-reference    # also rewrite data/pydeseq2_pasilla.*

Both pipelines are timed the same way, best of ``--repeats`` runs, interleaved (utils.timing.compare_times);
PyDESeq2 runs with ``n_cpus=1`` and prints its own progress while it runs. The apeglm shrinkage is timed the
same way and compared separately. Peak memory is the largest Python-side allocation (tracemalloc) during one
extra run of each.
The last line is the verdict on the target: at least 30x faster with the agreement the tests require.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deseq_reference import reference_table, summary_of, write_reference  # noqa: E402

from utils import deseq as ds  # noqa: E402
from utils.data import load_pasilla  # noqa: E402
from utils.timing import compare_times  # noqa: E402

SPEED_TARGET = 30.0


def run_pydeseq2(counts: pd.DataFrame, samples: pd.DataFrame, design: str, contrast, quiet: bool):
    from pydeseq2.dds import DeseqDataSet
    from pydeseq2.ds import DeseqStats

    # PyDESeq2 reports progress on stderr (kept) and prints its results table on stdout (dropped)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        dds = DeseqDataSet(counts=counts.T, metadata=samples, design=design.replace(" ", ""), n_cpus=1, quiet=quiet)
        dds.deseq2()
        stats = DeseqStats(dds, contrast=list(contrast), alpha=0.1, n_cpus=1, quiet=quiet)
        stats.summary()
    return dds, stats


def our_stage_times(counts: pd.DataFrame, samples: pd.DataFrame, design: str, contrast) -> dict[str, float]:
    """Seconds per stage of utils.deseq (one run), in pipeline order."""
    times, clock = {}, time.perf_counter

    def timed(name, function, *args):
        start = clock()
        value = function(*args)
        times[name] = clock() - start
        return value

    frame = ds.build_design(samples, design)
    matrix, values = frame.to_numpy(), counts.to_numpy(dtype=float)
    bounds = (ds.MIN_DISPERSION, max(10.0, float(values.shape[1])))
    kept = values[values.sum(axis=1) > 0]
    size_factors = timed("size factors", ds.size_factors_median_of_ratios, kept)
    normed = kept / size_factors
    start = timed("starting dispersions", ds.initial_dispersions, normed, size_factors, matrix, bounds)
    means = timed("means for dispersions", ds.fitted_means_for_dispersion, kept, size_factors, matrix, start)
    genewise, _ = timed("gene-wise dispersions", ds.genewise_dispersions, kept, means, matrix, bounds, start)
    curve = timed("trend", ds.dispersion_trend, genewise, normed.mean(axis=1))
    trend = curve(normed.mean(axis=1))
    prior, _ = timed("prior width", ds.dispersion_prior_variance, genewise, trend, *matrix.shape)
    final, _ = timed("MAP dispersions", ds.map_dispersions, kept, means, matrix, trend, prior, bounds)
    vector = ds.contrast_vector(samples, frame, contrast).to_numpy()
    wald = timed("GLM fit and Wald test", ds.wald_test, kept, size_factors, matrix, final, vector)
    robust = ds.robust_dispersions(normed, matrix)
    timed("Cook's distances", ds.cooks_distances, kept, wald.means, wald.hat_diagonals, robust, matrix.shape[1])
    timed("independent filtering", ds.independent_filtering, normed.mean(axis=1), wald.p_value, 0.1)
    return times


def peak_memory(function) -> float:
    """Peak Python-side allocation (MB) while ``function()`` runs."""
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def simulate(n_genes: int, n_samples: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """NB counts for a two-group design with a batch, 10 % of genes changed, DESeq2-like dispersions."""
    rng = np.random.default_rng(seed)
    samples = pd.DataFrame(
        {
            "batch": pd.Categorical(np.tile(["b1", "b2"], n_samples // 2 + 1)[:n_samples], categories=["b1", "b2"]),
            "condition": pd.Categorical(
                np.repeat(["control", "treated"], [n_samples // 2, n_samples - n_samples // 2]),
                categories=["control", "treated"],
            ),
        },
        index=[f"sample{j}" for j in range(n_samples)],
    )
    base = rng.lognormal(4.0, 1.5, n_genes)
    dispersion = 0.02 + 1.5 / base
    effect = np.where(rng.random(n_genes) < 0.1, rng.normal(0, 1.5, n_genes), 0.0)
    treated = (samples["condition"] == "treated").to_numpy()
    means = base[:, None] * rng.uniform(0.6, 1.6, n_samples) * np.exp(np.outer(effect, treated))
    size = 1 / dispersion[:, None]
    counts = rng.negative_binomial(size, size / (size + means))
    return pd.DataFrame(counts, index=[f"gene{g}" for g in range(n_genes)], columns=samples.index), samples


def jaccard(first: pd.Series, second: pd.Series) -> float:
    a, b = set(first.index[first < 0.1]), set(second.index[second < 0.1])
    return len(a & b) / max(len(a | b), 1)


def padj_at_threshold(result: pd.DataFrame, threshold: float) -> pd.Series:
    """Benjamini–Hochberg on the genes whose baseMean passes a given independent-filtering threshold."""
    kept = (result["baseMean"] >= threshold) & result["pvalue"].notna()
    adjusted = pd.Series(np.nan, index=result.index)
    adjusted[kept] = false_discovery_control(result["pvalue"][kept], method="bh")
    return adjusted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", nargs=2, type=int, metavar=("GENES", "SAMPLES"), help="simulated counts instead")
    parser.add_argument("--repeats", type=int, default=2, help="best of N (default 2; PyDESeq2 takes ~30 s a run)")
    parser.add_argument("--write-reference", action="store_true", help="rewrite data/pydeseq2_pasilla.*")
    arguments = parser.parse_args()

    if arguments.scale:
        counts, samples = simulate(*arguments.scale)
        design, contrast, label = "~ batch + condition", ("condition", "treated", "control"), "simulated"
    else:
        pasilla = load_pasilla()
        counts, samples = pasilla.counts, pasilla.samples
        design, contrast, label = "~ type + condition", ("condition", "treated", "untreated"), "pasilla"
    print(f"{label}: {counts.shape[0]} genes x {counts.shape[1]} samples, design {design}, contrast {contrast}")

    results = {}

    def ours():
        results["ours"] = ds.deseq(counts, samples, design=design, contrast=contrast)

    def theirs():
        print("PyDESeq2 (n_cpus=1), its progress:", file=sys.stderr)
        results["theirs"] = run_pydeseq2(counts, samples, design, contrast, quiet=False)

    times = compare_times({"utils.deseq": ours, "PyDESeq2": theirs}, repeats=arguments.repeats)
    ratio = times["PyDESeq2"] / times["utils.deseq"]
    mine, (dds, stats) = results["ours"], results["theirs"]
    reference = stats.results_df

    print("\nper-stage times of utils.deseq (one run):")
    for stage, seconds in our_stage_times(counts, samples, design, contrast).items():
        print(f"  {stage:24s} {seconds * 1e3:8.1f} ms")
    print(
        f"end to end, best of {arguments.repeats}: utils.deseq {times['utils.deseq']:.2f} s, "
        f"PyDESeq2 {times['PyDESeq2']:.2f} s: {ratio:.0f}x faster (target >= {SPEED_TARGET:.0f}x)"
    )

    # agreement, as tests/test_deseq.py measures it
    nonzero = dds.var["non_zero"].to_numpy()
    size_factor_error = np.max(np.abs(mine.attrs["deseq"].size_factors.to_numpy() / dds.obs["size_factors"] - 1))
    genewise = np.abs(np.log(mine["genewise_dispersion"]) - np.log(dds.var["genewise_dispersions"]))[nonzero]
    final = np.abs(np.log(mine["dispersion"]) - np.log(dds.var["dispersions"]))[nonzero]
    usable = ~mine["mean_floored"] & ~mine["all_zero"]
    lfc = np.abs(mine["log2FoldChange"] - reference["log2FoldChange"])[usable]
    overlap = jaccard(mine["padj"], reference["padj"])
    print(f"size factors: max relative difference {size_factor_error:.1e}")
    print(
        f"gene-wise dispersions: median |delta log alpha| {np.median(genewise):.1e}, "
        f"{int((genewise > 1e-2).sum())} genes beyond 1e-2 (the flat likelihood near alpha = 0)"
    )
    print(
        f"trend: ours a0={mine.attrs['deseq'].trend.a0:.5f} a1={mine.attrs['deseq'].trend.a1:.4f}, "
        f"PyDESeq2 a0={dds.uns['trend_coeffs'].iloc[0]:.5f} a1={dds.uns['trend_coeffs'].iloc[1]:.4f}; prior "
        f"variance {mine.attrs['deseq'].prior_variance:.4f} vs {float(dds.uns['prior_disp_var']):.4f}"
    )
    print(f"final dispersions: median |delta log alpha| {np.median(final):.1e}")
    print(
        f"log2 fold changes (genes without floored means): median |delta| {lfc.median():.1e}, "
        f"99th percentile {lfc.quantile(0.99):.1e}, max {lfc.max():.1e}"
    )
    print(
        f"padj < 0.1: {int((mine['padj'] < 0.1).sum())} vs {int((reference['padj'] < 0.1).sum())} genes, "
        f"Jaccard {overlap:.3f}"
    )
    # independent filtering picks its threshold from rejection counts that differ by a few genes at every step:
    # at PyDESeq2's threshold the comparison isolates the p-values from that discrete choice
    theirs_filter = ds.independent_filtering(reference["baseMean"].to_numpy(), reference["pvalue"].to_numpy(), 0.1)
    same_threshold = jaccard(padj_at_threshold(mine, theirs_filter.threshold), reference["padj"])
    print(
        f"filter threshold: ours {mine.attrs['deseq'].filtering.threshold:.3f}, PyDESeq2 {theirs_filter.threshold:.3f};"
        f" at PyDESeq2's threshold, Jaccard {same_threshold:.3f}"
    )

    # shrinkage, timed and compared separately, the same way as the pipelines (best of N, interleaved)
    shrunk_mine = {}
    coefficient = [c for c in dds.varm["LFC"].columns if c.startswith(f"{contrast[0]}[T.{contrast[1]}")][0]

    def ours_shrink() -> None:
        shrunk_mine["value"] = ds.lfc_shrink(mine)

    unshrunk = stats.LFC.copy(), stats.SE.copy()

    def theirs_shrink() -> None:
        # lfc_shrink overwrites stats.LFC and stats.SE, from which its prior is fitted: restore the MLEs first,
        # so that every call shrinks the same fold changes (a copy of two small tables, negligible in the timing)
        stats.LFC, stats.SE = unshrunk[0].copy(), unshrunk[1].copy()
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            stats.lfc_shrink(coeff=coefficient)

    print("PyDESeq2 lfc_shrink, its progress:", file=sys.stderr)
    shrink_times = compare_times({"ours": ours_shrink, "theirs": theirs_shrink}, repeats=arguments.repeats)
    shrunk_difference = np.abs(shrunk_mine["value"]["log2FoldChange"] - stats.results_df["log2FoldChange"])
    print(
        f"apeglm shrinkage (best of {arguments.repeats}, interleaved): utils.deseq {shrink_times['ours']:.2f} s, "
        f"PyDESeq2 {shrink_times['theirs']:.1f} s ({shrink_times['theirs'] / shrink_times['ours']:.0f}x); "
        f"median |delta shrunken log2FC| {shrunk_difference.median():.1e}"
    )

    memory_ours = peak_memory(lambda: ds.deseq(counts, samples, design=design, contrast=contrast))
    memory_theirs = peak_memory(lambda: run_pydeseq2(counts, samples, design, contrast, quiet=True))
    print(f"peak Python memory: utils.deseq {memory_ours:.0f} MB, PyDESeq2 {memory_theirs:.0f} MB")

    if arguments.write_reference and not arguments.scale:
        import pydeseq2

        table = reference_table(dds.var, reference, stats.results_df)
        summary = summary_of(
            dds.obs["size_factors"],
            dds.uns["trend_coeffs"].to_numpy(),
            float(dds.uns["prior_disp_var"]),
            pydeseq2.__version__,
        )
        write_reference(table, summary)
        print("wrote data/pydeseq2_pasilla.tsv.gz and .json, and their lines of data/SHA256SUMS")

    agreement = (
        size_factor_error <= 1e-10
        and np.median(genewise) <= 1e-4
        and lfc.median() <= 1e-3
        and overlap >= 0.97
        and same_threshold >= 0.99
    )
    met = ratio >= SPEED_TARGET and agreement
    print(
        f"verdict: target ≥{SPEED_TARGET:.0f}× faster than PyDESeq2 with the tested agreement: "
        f"{'met' if met else 'not met'} (measured {ratio:.0f}×; agreement {'met' if agreement else 'not met'}: "
        f"Jaccard {overlap:.3f} end to end, {same_threshold:.3f} at PyDESeq2's filter threshold)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
