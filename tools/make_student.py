"""Write the student version of every notebook: solution cells removed, outputs cleared.

Usage: python tools/make_student.py OUTPUT_DIR [NOTEBOOK ...]

With no notebooks named, converts every notebook under phase*/ and mirrors the folder layout under
OUTPUT_DIR. Cells tagged ``solution`` are removed with nbconvert's TagRemovePreprocessor; every output and
execution count is cleared so the copy looks as it will to a learner who has not run anything yet.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearOutputPreprocessor, TagRemovePreprocessor
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[1]
SOLUTION_TAG = "solution"


def curriculum_notebooks(root: Path = ROOT) -> list[Path]:
    """Every lesson notebook under phase*/, in reading order."""
    return sorted(p for p in root.glob("phase*/**/*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def student_version(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return ``notebook`` without its solution cells and with outputs cleared."""
    config = Config()
    config.TagRemovePreprocessor.remove_cell_tags = {SOLUTION_TAG}
    config.TagRemovePreprocessor.enabled = True
    stripped, _ = TagRemovePreprocessor(config=config).preprocess(notebook, {})
    cleared, _ = ClearOutputPreprocessor().preprocess(stripped, {})
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


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    output_dir = Path(argv[0]).resolve()
    notebooks = [Path(p) for p in argv[1:]] or curriculum_notebooks()
    for target in write_student_versions(output_dir, notebooks):
        print(f"wrote {target.relative_to(output_dir.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
