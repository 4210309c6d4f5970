"""Write the student version of the course: solution cells removed, outputs cleared, as a self-contained bundle.

Usage:
    python tools/make_student.py OUTPUT_DIR [NOTEBOOK ...]     # the student notebooks only
    python tools/make_student.py --bundle OUTPUT_DIR            # notebooks + everything needed to run them, zipped

With no notebooks named, converts every notebook under phase*/ and mirrors the folder layout under
OUTPUT_DIR. Cells tagged ``solution`` are removed with nbconvert's TagRemovePreprocessor; every output and
execution count is cleared so the copy looks as it will to a learner who has not run anything yet; a
sentence that points at the (removed) solution cell is rewritten.

``--bundle`` also copies what the notebooks need to run on a learner's machine (``utils/``, ``data/``,
``pyproject.toml``, the pinned ``requirements.txt``/``constraints.txt``, ``environment.yml``, the JupyterLab
settings in ``.jupyter/``, the licence) plus a Makefile and a README written for students
(``tools/student/``), and writes ``OUTPUT_DIR.zip`` beside the folder.
"""

from __future__ import annotations

import re
import shutil
import sys
import zipfile
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearOutputPreprocessor, TagRemovePreprocessor
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[1]
SOLUTION_TAG = "solution"
# what a student bundle holds besides the notebooks (paths relative to the repository)
BUNDLE_FILES = [
    "utils",
    "data",
    "pyproject.toml",
    "requirements.txt",
    "constraints.txt",
    "environment.yml",
    "LICENSE",
    ".jupyter",
    "tools/install_jupyter_settings.py",
]
# requirements a student does not need (the book, the browser test, the test and lint tools)
NOT_FOR_STUDENTS = {
    "jupyter-book",
    "sphinx",
    "myst-nb",
    "sphinx-book-theme",
    "selenium",
    "pytest",
    "nbval",
    "hypothesis",
    "ruff",
}
STUDENT_TEMPLATES = {"tools/student/Makefile": "Makefile", "tools/student/README.md": "README.md"}
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info", "workspaces")
# a sentence that sends the learner to the solution cell, which the student version does not have
# a sentence: it may wrap across lines but never crosses a blank line or a heading
SENTENCE = re.compile(r"[^.!?\n#]+(?:\n[^.!?\n#]+)*[.!?]")
STUDENT_SENTENCE = "Your instructor has the solutions."


def curriculum_notebooks(root: Path = ROOT) -> list[Path]:
    """Every lesson notebook under phase*/, in reading order."""
    return sorted(p for p in root.glob("phase*/**/*.ipynb") if ".ipynb_checkpoints" not in p.parts)


# a sentence that sends the reader to a solution cell: "the solution is in the collapsed cell below the check",
# "a hidden solution", "open the solution", "click the three dots"
SOLUTION_POINTER = re.compile(
    r"\b(?:hidden|collapsed|toggled?)\s+(?:solution|cell)|\bsolution\s+(?:cell|below|above)"
    r"|\b(?:open|show|reveal|expand)\s+(?:the|its|a)\s+solution|\bthree dots\b|\bcell below the check\b"
)


def _points_at_solution(sentence: str) -> bool:
    low = " ".join(sentence.lower().split())
    return "solution" in low and SOLUTION_POINTER.search(low) is not None


def without_solution_pointers(text: str) -> str:
    """Replace each sentence that points at a solution cell by one that does not."""

    def replace(match: re.Match) -> str:
        sentence = match.group(0)
        if not _points_at_solution(sentence):
            return sentence
        return sentence[: len(sentence) - len(sentence.lstrip())] + STUDENT_SENTENCE

    return SENTENCE.sub(replace, text)


def student_version(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return ``notebook`` without its solution cells, with outputs cleared and no pointer to a solution."""
    config = Config()
    config.TagRemovePreprocessor.remove_cell_tags = {SOLUTION_TAG}
    config.TagRemovePreprocessor.enabled = True
    stripped, _ = TagRemovePreprocessor(config=config).preprocess(notebook, {})
    cleared, _ = ClearOutputPreprocessor().preprocess(stripped, {})
    for cell in cleared.cells:
        if cell.cell_type == "markdown":
            cell.source = without_solution_pointers(cell.source)
    return cleared


def write_student_versions(output_dir: Path, notebooks: list[Path]) -> list[Path]:
    """Write each notebook's student version under ``output_dir``, keeping paths relative to the repository."""
    written = []
    for path in notebooks:
        path = path.resolve()
        notebook = nbformat.read(path, as_version=4)
        target = output_dir / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(student_version(notebook), target)
        written.append(target)
    return written


def write_bundle(output_dir: Path, notebooks: list[Path] | None = None) -> Path:
    """Write the self-contained student folder ``output_dir`` and its zip; return the zip's path."""
    shutil.rmtree(output_dir, ignore_errors=True)
    write_student_versions(output_dir, notebooks or curriculum_notebooks())
    for name in BUNDLE_FILES:
        origin, target = ROOT / name, output_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_dir():
            shutil.copytree(origin, target, ignore=IGNORED)
        else:
            shutil.copy2(origin, target)
    requirements = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in requirements if line.split("==")[0].strip().lower() not in NOT_FOR_STUDENTS]
    (output_dir / "requirements.txt").write_text("".join(kept), encoding="utf-8")
    for template, name in STUDENT_TEMPLATES.items():
        shutil.copy2(ROOT / template, output_dir / name)
    archive = output_dir.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for file in sorted(output_dir.rglob("*")):
            if file.is_file():
                bundle.write(file, Path(output_dir.name) / file.relative_to(output_dir))
    return archive


def main(argv: list[str]) -> int:
    bundle = "--bundle" in argv
    argv = [a for a in argv if a != "--bundle"]
    if not argv:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    output_dir = Path(argv[0]).resolve()
    notebooks = [Path(p) for p in argv[1:]] or curriculum_notebooks()
    if bundle:
        archive = write_bundle(output_dir, notebooks)
        size = archive.stat().st_size / 1e6
        print(f"wrote {output_dir.relative_to(Path.cwd()) if output_dir.is_relative_to(Path.cwd()) else output_dir}/")
        print(f"wrote {archive.name} ({size:.1f} MB): hand it out; students unzip it and run `make lab`")
        return 0
    for target in write_student_versions(output_dir, notebooks):
        print(f"wrote {target.relative_to(output_dir.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
