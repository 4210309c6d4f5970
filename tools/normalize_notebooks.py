"""Normalise how a notebook's exercises look in JupyterLab; metadata and outputs only, never code.

Usage:
    python tools/normalize_notebooks.py            # list the notebooks that need it (exit 1 if any)
    python tools/normalize_notebooks.py --write [NOTEBOOK ...]

- A solution cell (tag ``solution``) is collapsed with its output: ``"jupyter": {"source_hidden": true,
  "outputs_hidden": true}``, so its ✓ does not show before the learner opens it.
- A check cell (``checks.exN(answer)``) keeps its printed message but not the ``True``/``False`` echo, as the
  course kernel shows it (``.jupyter/ipython/ipython_kernel_config.py``).
- Consecutive outputs of one stream are merged into one, as JupyterLab shows them (``nbconvert --execute``
  stores a tqdm bar as one stderr output per redraw).

The code and every other output stay as they are, so nbval and the execution counts are unaffected.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECK_CELL = re.compile(r"checks\.ex\w*\([\w.]*\)")


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def notebooks(root: Path = ROOT) -> list[Path]:
    return sorted(p for p in root.glob("phase*/**/*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _coalesce_streams(outputs: list[dict]) -> list[dict]:
    """Merge consecutive stream outputs of the same stream (a progress bar executed by nbconvert writes one per
    redraw), as Jupyter itself shows them; the text is kept whole, carriage returns included."""
    merged: list[dict] = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and output.get("output_type") == "stream"
            and previous.get("output_type") == "stream"
            and previous.get("name") == output.get("name")
        ):
            previous["text"] = _text(previous) + _text(output)
        else:
            merged.append(dict(output))
    return merged


def _text(output: dict) -> str:
    return "".join(output["text"]) if isinstance(output.get("text"), list) else output.get("text", "")


def normalise(notebook: dict) -> list[str]:
    """Normalise ``notebook`` in place; return what was changed (empty if it already was)."""
    changes = []
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code":
            continue
        if "solution" in cell.get("metadata", {}).get("tags", []):
            hidden = cell["metadata"].setdefault("jupyter", {})
            for key in ("source_hidden", "outputs_hidden"):
                if hidden.get(key) is not True:
                    hidden[key] = True
                    changes.append(f"cell {index}: solution {key}")
        merged = _coalesce_streams(cell.get("outputs", []))
        if len(merged) != len(cell.get("outputs", [])):
            changes.append(f"cell {index}: {len(cell['outputs']) - len(merged)} stream output(s) merged")
            cell["outputs"] = merged
        if CHECK_CELL.fullmatch(_source(cell).strip()):
            kept = [o for o in cell.get("outputs", []) if o.get("output_type") != "execute_result"]
            if len(kept) != len(cell.get("outputs", [])):
                cell["outputs"] = kept
                changes.append(f"cell {index}: check cell's True/False echo")
    return changes


def process(path: Path, write: bool) -> list[str]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    changes = normalise(raw)
    if changes and write:
        path.write_text(json.dumps(raw, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return changes


def main(argv: list[str]) -> int:
    write = "--write" in argv
    paths = [Path(a).resolve() for a in argv if not a.startswith("--")] or notebooks()
    pending = 0
    for path in paths:
        changes = process(path, write)
        if changes:
            pending += 1
            verb = "normalised" if write else "needs normalising"
            print(f"{path.relative_to(ROOT)} {verb}: {len(changes)} change(s), e.g. {changes[0]}")
    if pending and not write:
        print("fix: python tools/normalize_notebooks.py --write   (or `make normalize`)")
    return 1 if pending and not write else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
