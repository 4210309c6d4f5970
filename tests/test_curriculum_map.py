"""One source for the curriculum map: the README map and every "Next" line are generated from the notebooks.

tools/curriculum_map.py reads each notebook's title and learning objectives in folder order; these tests fail
when the README or a notebook's Next line is stale (fix: `make map`), and check the generator itself on a
small made-up curriculum, so that a new notebook appears in the map and the Next links by itself.
"""

import json
import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import curriculum_map  # noqa: E402

NOTEBOOKS = curriculum_map.all_notebooks()


def test_readme_map_is_up_to_date():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == curriculum_map.readme_with_map(readme), "README's curriculum map is stale: run `make map`"


def test_readme_map_lists_every_notebook_with_its_objectives():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for notebook in NOTEBOOKS:
        assert f"]({notebook.path.as_posix()})" in readme, f"{notebook.path} is not in the README map"
        assert len(notebook.objectives) >= 3, f"{notebook.path}: could not read 3+ learning objectives"


@pytest.mark.parametrize("index", range(len(NOTEBOOKS)), ids=[str(nb.path) for nb in NOTEBOOKS])
def test_next_line_is_generated(index):
    notebook = NOTEBOOKS[index]
    cells = json.loads((ROOT / notebook.path).read_text(encoding="utf-8"))["cells"]
    where = curriculum_map._next_cell(cells)
    assert where is not None, "no '**Next:**' paragraph"
    paragraph = curriculum_map.NEXT_PARAGRAPH.search(curriculum_map._source(cells[where])).group(0)
    expected = curriculum_map.next_link(NOTEBOOKS, index)
    assert paragraph.startswith(expected), f"stale Next line {paragraph[:100]!r}: run `make map`"


def _notebook(path, title, objectives, next_text):
    cells = [
        {
            "cell_type": "markdown",
            "metadata": {},
            "source": f"# {title}\n\n**Learning objectives**\n\n"
            + "\n".join(f"{i}. {o}" for i, o in enumerate(objectives, 1))
            + "\n\n**Resources**\n\n- a book",
        },
        {"cell_type": "markdown", "metadata": {}, "source": f"## Summary\n\n**Next:** {next_text}"},
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1))


def test_a_new_notebook_appears_in_the_map_and_the_next_links(tmp_path):
    module = tmp_path / "phase9-extra" / "module9.1-new-topic"
    _notebook(module / "01_first.ipynb", "01: First", ["Do one thing", "Do another", "Do a third"], "`02_second`: more")
    _notebook(module / "02_second.ipynb", "02: Second", ["Learn $a, b$ well", "Two", "Three"], "the end")
    table = curriculum_map.map_markdown(tmp_path)
    assert "### Phase 9: Extra" in table and "**Module 9.1: New topic**" in table
    assert "[01: First](phase9-extra/module9.1-new-topic/01_first.ipynb) | Do one thing; Do another" in table
    assert curriculum_map.stale_next_lines(tmp_path)  # hand-written lines are stale until rewritten
    curriculum_map.write_next_lines(tmp_path)
    assert curriculum_map.stale_next_lines(tmp_path) == []
    first = json.loads((module / "01_first.ipynb").read_text())["cells"][1]["source"]
    assert "".join(first) == "## Summary\n\n**Next:** [02: Second](02_second.ipynb): more"
    last = "".join(json.loads((module / "02_second.ipynb").read_text())["cells"][1]["source"])
    assert last.endswith("**Next:** this is the last notebook of the course so far. the end")


def test_short_objectives_never_cut_inside_maths():
    short = curriculum_map._short("Use " + "word " * 10 + "$a + b + c + d$ and then more words here", words=12)
    assert short.count("$") % 2 == 0 and short.endswith("…")
