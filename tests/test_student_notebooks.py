"""The student hand-out (`make student`) is self-contained, and every student notebook runs from it.

tools/make_student.py, the code `make student` runs, writes the bundle (solution-free notebooks with outputs
cleared, utils/, data/, requirements, a Makefile and a README for students) and zips it. The zip is unpacked
into a temporary folder and each notebook is executed there with a fresh kernel whose `utils` is the bundle's
own copy (PYTHONPATH points at the unpacked bundle, ahead of the repository's editable install; a last cell
prints `utils.__file__` to prove it). In the student version every exercise check must say "not attempted yet".
"""

import importlib.util
import os
import re
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT
from nbclient import NotebookClient

from utils.checks.core import NOT_ATTEMPTED

spec = importlib.util.spec_from_file_location("make_student", ROOT / "tools" / "make_student.py")
make_student = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_student)

NOTEBOOKS = make_student.curriculum_notebooks()
REQUIRED = [
    "README.md",
    "Makefile",
    "requirements.txt",
    "constraints.txt",
    "pyproject.toml",
    "environment.yml",
    "LICENSE",
    "utils/__init__.py",
    "utils/checks/core.py",
    "data/SHA256SUMS",
    "data/README.md",
    ".jupyter/lab/settings/overrides.json",
    "tools/install_jupyter_settings.py",
]


def _source(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """The student zip, written by make_student and unpacked; returns the unpacked bundle's root."""
    workdir = tmp_path_factory.mktemp("handout")
    archive = make_student.write_bundle(workdir / "student")
    unpacked = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(archive) as handout:
        handout.extractall(unpacked)
    return unpacked / "student"


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found under phase*/"


def test_the_bundle_holds_what_the_notebooks_need(bundle):
    missing = [name for name in REQUIRED if not (bundle / name).exists()]
    assert not missing, f"the student bundle lacks {missing}"
    assert not list(bundle.rglob("__pycache__")) and not list(bundle.rglob("*.egg-info"))
    assert "make lab" in (bundle / "README.md").read_text() and "lab:" in (bundle / "Makefile").read_text()
    for path in NOTEBOOKS:
        assert (bundle / path.relative_to(ROOT)).exists(), f"{path.name} is missing from the bundle"


# the test's own vocabulary, wider than the rewriter's, so that a wording the rewriter misses is caught here:
# any sentence that names a solution together with where it is or how to see it
POINTER = re.compile(
    r"\bsolutions?\b.*\b(?:hidden|collapsed?|below|above|toggle|reveal|three dots|click)\b"
    r"|\b(?:hidden|collapsed?|below|above|toggle|reveal|three dots|click)\b.*\bsolutions?\b"
)
NOT_A_POINTER = re.compile(r"hidden (?:layer|units?)|solution \$|solution .*\$a\^")  # neural nets' hidden layers, maths


def test_no_prose_points_at_a_solution_cell(bundle):
    pointers = []
    for path in sorted(bundle.rglob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                for sentence in re.findall(r"[^.!?]+[.!?]", cell.source):
                    low = " ".join(sentence.lower().split())
                    if POINTER.search(low) and not NOT_A_POINTER.search(low):
                        pointers.append(f"{path.relative_to(bundle)}: {sentence.strip()!r}")
    assert not pointers, "student prose that points at a solution the student version does not have:\n" + "\n".join(
        pointers
    )


@pytest.mark.parametrize(
    "sentence",
    [
        "The solution is in the collapsed cell below the check.",
        "Each exercise has a cell for your answer, a check cell and a hidden solution.",
        "Click the three dots to open the solution.",
        "Open the solution only after trying.",
    ],
)
def test_every_pointer_wording_is_rewritten(sentence):
    assert make_student.without_solution_pointers(sentence) == make_student.STUDENT_SENTENCE


def test_a_heading_before_a_pointer_is_kept():
    text = "## Exercises\n\nEach exercise has a check cell and a hidden solution. Start with the first."
    assert make_student.without_solution_pointers(text) == (
        f"## Exercises\n\n{make_student.STUDENT_SENTENCE} Start with the first."
    )


def test_the_solution_pointer_is_rewritten():
    text = "Run the check. The solution is in the\ncollapsed cell below the check.\n\nThe cell below prints it."
    assert make_student.without_solution_pointers(text) == (
        f"Run the check. {make_student.STUDENT_SENTENCE}\n\nThe cell below prints it."
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_student_version_runs_from_the_unpacked_bundle(path, bundle):
    target = bundle / path.relative_to(ROOT)
    notebook = nbformat.read(target, as_version=4)
    assert not [c for c in notebook.cells if "solution" in c.metadata.get("tags", [])]
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")

    notebook.cells.append(nbformat.v4.new_code_cell("import utils\nprint(utils.__file__)"))
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(bundle), os.environ.get("PYTHONPATH", "")])}
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(target.parent)}}
    ).execute(env=environment)

    imported_from = Path(notebook.cells[-1].outputs[0]["text"].strip())
    assert imported_from.is_relative_to(bundle), f"utils came from {imported_from}, not from the bundle"
    check_cells = [c for c in notebook.cells if c.cell_type == "code" and _source(c).lstrip().startswith("checks.ex")]
    assert len(check_cells) >= 3, "expected at least three exercise check cells"
    for cell in check_cells:
        printed = "".join(out.get("text", "") for out in cell.outputs)
        assert NOT_ATTEMPTED in printed, f"check cell {_source(cell)!r} printed {printed!r}"
