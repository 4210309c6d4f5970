"""Execute every notebook twice, each time from a fresh kernel, and compare the text outputs (`make check-repro`).

Usage: python tools/check_repro.py [NOTEBOOK ...]

Both runs execute a copy in memory (the committed file is never written), with the notebook's folder as the
working directory, as nbval does. Per code cell the text outputs (streams, ``text/plain`` results, error
names) are compared after masking what legitimately varies between runs: timings, memory addresses,
progress-bar rates and speed-up ratios such as ``152x`` (the patterns of ``tests/nbval_sanitize.cfg`` plus a
few more). In a cell that measures time (it calls ``compare_times``, ``best_time``, ``perf_counter`` or
``timeit``, or uses values named ``*_times``/``timings``) every number is masked and only the text is compared:
slopes and ratios of timings vary from run to run, and such a cell's results are asserted by the notebook's
self-checks. Figures are not compared.
A difference means a notebook is not reproducible: an unseeded random draw, an order that depends on a hash,
a result that depends on thread timing. Exits 1 and prints the first differing lines per notebook.
"""

from __future__ import annotations

import configparser
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
EXTRA_MASKS = [
    (r"\d+(\.\d+)?\s*(ms|µs|us|ns|s|sec|seconds|min)\b", "TIME"),
    (r"\d+(\.\d+)?\s*(it/s|s/it)", "RATE"),
    (r"\[\d\d:\d\d<[^\]]*\]", "[ELAPSED]"),
    (r"\d+(\.\d+)?\s*[x×](?![\w×])", "RATIO"),  # a speed-up: a ratio of two timings
    (r"/tmp/ipykernel_\d+/\d+\.py", "/tmp/ipykernel/CELL.py"),
    (r"\d+(\.\d+)?\s*F\b", "N F"),  # a timing in units of one function evaluation (1.1/04)
    (r"(fitted log-log slope) \d+(\.\d+)?", r"\1 SLOPE"),  # the slope of timings against size (1.2/01)
]


def _masks() -> list[tuple[re.Pattern, str]]:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "tests" / "nbval_sanitize.cfg", encoding="utf-8")
    pairs = [(parser[s]["regex"], parser[s]["replace"]) for s in parser.sections()]
    return [(re.compile(pattern), replacement) for pattern, replacement in pairs + EXTRA_MASKS]


MASKS = _masks()


def mask(text: str) -> str:
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return text


TIMED_CELL = re.compile(r"\b(compare_times|best_time|perf_counter|timeit|timings|\w+_times)\b")
"""A cell that measures time: everything it prints derived from timings (ratios, slopes, per-call costs) varies
between runs, so its numbers (and the padding their widths change) are masked and only its text is compared;
its results are asserted elsewhere. A cell that computes from timings names them ``*_times`` or ``timings``."""
NUMBER = re.compile(r"[-+]?\d+(\.\d+)?([eE][-+]?\d+)?")


def render_carriage_returns(text: str) -> str:
    """What a terminal shows for ``text``: a carriage return moves back to the start of the line and what follows
    overwrites it. A progress bar redraws itself with ``\r`` as often as the clock allows, so the intermediate
    states it wrote depend on timing; only the final screen is reproducible."""
    lines = []
    for line in text.split("\n"):
        shown = ""
        for segment in line.split("\r"):
            shown = segment + shown[len(segment) :]
        lines.append(shown.rstrip())
    return "\n".join(lines)


def text_outputs(notebook: nbformat.NotebookNode) -> list[str]:
    """One masked string per code cell: what it printed and returned, as text (numbers masked in timed cells).
    Each stream (stdout, stderr) is gathered and rendered as a terminal shows it; their interleaving, which
    depends on when each was flushed, is not compared."""
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        timed = bool(TIMED_CELL.search(cell.source))
        streams: dict[str, str] = {}
        parts = []
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                streams[output.name] = streams.get(output.name, "") + output.text
            elif output.output_type in ("execute_result", "display_data"):
                plain = output.get("data", {}).get("text/plain", "")
                if not plain.startswith("<Figure size"):
                    parts.append(plain)
            elif output.output_type == "error":
                parts.append(f"{output.ename}: {output.evalue}")
        rendered = [render_carriage_returns(streams[name]) for name in sorted(streams)]
        text = mask("".join(rendered + parts))
        cells.append(re.sub(r"[ \t]+", " ", NUMBER.sub("N", text)) if timed else text)
    return cells


def execute(path: Path) -> list[str]:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return text_outputs(notebook)


def compare(path: Path) -> list[str]:
    first, second = execute(path), execute(path)
    differences = []
    for index, (one, two) in enumerate(zip(first, second, strict=True)):
        if one != two:
            lines = [(a, b) for a, b in zip(one.splitlines(), two.splitlines(), strict=False) if a != b]
            a, b = lines[0] if lines else (one[-200:], two[-200:])
            differences.append(
                f"  code cell {index + 1}: run 1 {a!r}\n  {' ' * len(str(index + 1))}            run 2 {b!r}"
            )
    return differences


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or sorted(
        p for p in ROOT.glob("phase*/**/*.ipynb") if ".ipynb_checkpoints" not in p.parts
    )
    failed = 0
    for path in paths:
        started = time.perf_counter()
        differences = compare(path)
        seconds = time.perf_counter() - started
        verdict = "reproducible" if not differences else f"{len(differences)} cell(s) differ"
        print(f"{path.relative_to(ROOT)}: {verdict} (two runs, {seconds:.0f} s)", flush=True)
        for line in differences:
            print(line)
        failed += bool(differences)
    print(f"{len(paths) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
