"""The student version of every notebook (solutions removed, outputs cleared) must run top to bottom.

The copies are written by tools/make_student.py, the same code `make student` runs, into a temporary folder,
then executed with a fresh kernel. In the student version every exercise check must say "not attempted yet".
"""

import importlib.util

import nbformat
import pytest
from conftest import ROOT
from nbclient import NotebookClient

from utils.checks.core import NOT_ATTEMPTED

spec = importlib.util.spec_from_file_location("make_student", ROOT / "tools" / "make_student.py")
make_student = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_student)

NOTEBOOKS = make_student.curriculum_notebooks()


def _source(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found under phase*/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_student_version_runs_without_solutions(path, tmp_path):
    (target,) = make_student.write_student_versions(tmp_path, [path])
    notebook = nbformat.read(target, as_version=4)
    assert not [c for c in notebook.cells if "solution" in c.metadata.get("tags", [])]
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")

    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(target.parent)}}
    ).execute()

    check_cells = [c for c in notebook.cells if c.cell_type == "code" and _source(c).lstrip().startswith("checks.ex")]
    assert len(check_cells) >= 3, "expected at least three exercise check cells"
    for cell in check_cells:
        printed = "".join(out.get("text", "") for out in cell.outputs)
        assert NOT_ATTEMPTED in printed, f"check cell {_source(cell)!r} printed {printed!r}"
