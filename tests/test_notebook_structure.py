"""Static checks of every notebook's anatomy (CONTRIBUTING.md, "Add a notebook"), so new notebooks are held to it."""

import json
import re

import pytest
from conftest import ROOT

TEMPLATE = ROOT / "tools" / "notebook_template" / "00_template.ipynb"
NOTEBOOKS = sorted(p for p in ROOT.glob("phase*/**/*.ipynb") if ".ipynb_checkpoints" not in p.parts) + [TEMPLATE]
IDS = [str(p.relative_to(ROOT)) for p in NOTEBOOKS]


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_exercises_follow_the_four_cell_convention(path):
    cells = _cells(path)
    solutions = [i for i, c in enumerate(cells) if "solution" in c.get("metadata", {}).get("tags", [])]
    assert len(solutions) >= 3
    for index in solutions:
        cell = cells[index]
        source = _source(cell)
        assert cell["metadata"].get("jupyter", {}).get("source_hidden") is True, "solution cell not collapsed"
        match = re.search(r"assert (checks\.ex\w+)\((\w+)\)\s*$", source.strip())
        assert match, f"solution cell must end with `assert checks.exN(answer)`: {source[-80:]!r}"
        check_call, name = match.group(1), match.group(2)
        check_cell = _source(cells[index - 1]).strip()
        assert check_cell == f"{check_call}({name})", f"cell before the solution should be {check_call}({name})"
        learner = _source(cells[index - 2])
        assert "your code here" in learner, "the learner cell before the check must say '# your code here'"
        assert cells[index - 3]["cell_type"] == "markdown", "each exercise starts with a markdown prompt"
        printed = "".join("".join(o.get("text", "")) for o in cells[index - 1].get("outputs", []))
        assert "not attempted yet" in printed, "the committed check cell should show 'not attempted yet'"
        solved = "".join("".join(o.get("text", "")) for o in cell.get("outputs", []))
        assert "✓" in solved, "the committed solution cell should show ✓"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_title_objectives_summary_and_next(path):
    text = "\n".join(_source(c) for c in _cells(path) if c["cell_type"] == "markdown")
    number = path.name[:2]
    assert re.search(rf"^# {number}: ", text, re.M), "title must be '# NN: Title'"
    for heading in ("Learning objectives", "Resources", "Summary", "Next"):
        assert heading.lower() in text.lower(), f"missing a {heading!r} section"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_outputs_are_executed_in_order(path):
    counts = [c.get("execution_count") for c in _cells(path) if c["cell_type"] == "code"]
    assert None not in counts, "notebook has unexecuted code cells: run `make execute`"
    assert counts == list(range(1, len(counts) + 1)), "execution counts are not 1..n: re-execute from a fresh kernel"
    assert path.stat().st_size < 1_000_000, "notebook is over 1 MB: make figures smaller"


MAX_CELL_LINES = 40
FIGURE_COMMENT = re.compile(r"# Figure: (\S.{24,})")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_code_cells_are_short(path):
    """A code cell a learner can read at a glance: longer code is split, with prose between the parts."""
    long = [(i, len(_source(c).splitlines())) for i, c in enumerate(_cells(path)) if c["cell_type"] == "code"]
    long = [(i, n) for i, n in long if n > MAX_CELL_LINES]
    assert not long, f"code cells over {MAX_CELL_LINES} lines (cell index, lines): {long}; split them"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_figure_cell_describes_its_figure(path):
    """The book uses a figure cell's first line, ``# Figure: …``, as the image's alt text (tools/build_book.py)."""
    missing = []
    for index, cell in enumerate(_cells(path)):
        images = [o for o in cell.get("outputs", []) if {"image/png", "image/svg+xml"} & set(o.get("data", {}))]
        lines = _source(cell).splitlines()
        if images and not (lines and FIGURE_COMMENT.fullmatch(lines[0].strip())):
            missing.append(index)
    assert not missing, (
        f"figure cells {missing} must begin with a line '# Figure: <what is plotted>' (at least 25 characters)"
    )
