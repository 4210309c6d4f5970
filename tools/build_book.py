"""Build the course's Jupyter Book (1.x) from the committed, executed notebooks, offline.

Usage: python tools/build_book.py [--quiet | --stage-only | --vendor-only]

1. Stage ``build/book/src``: ``book/_config.yml``, a generated ``_toc.yml`` (parts = phases, chapters =
   modules, sections = notebooks, in folder order, so a new notebook appears by itself), the landing page
   ``book/index.md`` with the generated curriculum map, one page per module, the data and licence pages, and
   a copy of every notebook prepared for the web (the source notebooks are never modified):
   - solution cells get the ``hide-cell`` tag: code and output collapse behind a "Show solution" toggle;
   - the ``True``/``False`` echo of check cells is dropped (the printed message stays);
   - a tqdm progress bar (stderr with carriage returns) becomes its final state on one clean line;
   - every figure gets alt text: the cell's first line ``# Figure: <what is plotted>`` with the comment lines that
     continue it (a structure test requires the line), or failing that a generic line naming the section, which
     tests/test_book.py refuses;
   - the "Next" paragraph starts with the generated link (tools/curriculum_map.py), even if the notebook is
     stale.
2. Vendor MathJax (npm ``mathjax`` at MATHJAX_VERSION, checked against its sha512) into ``_static/mathjax``,
   so that the maths renders with no network. The package is fetched once into ``build/vendor/`` with
   ``npm pack``; later builds, and builds with the network cut, reuse that copy.
3. Run ``jupyter-book build`` (no execution). The site is ``build/book/_build/html/index.html``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import curriculum_map  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "book"
SOURCE = BUILD / "src"
HTML = BUILD / "_build" / "html"
VENDOR = ROOT / "build" / "vendor"
MATHJAX_VERSION = "3.2.2"
MATHJAX_SHA512 = "Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
# what the site needs from the package's es5/ folder (the other combined bundles are left out)
MATHJAX_PARTS = ["tex-mml-chtml.js", "input", "output", "a11y", "ui", "adaptors", "sre"]
SOLUTION_TAG = "solution"
CHECK_CELL = re.compile(r"^\s*checks\.ex\w*\(.*\)\s*$")
TQDM = re.compile(r"\r|\d+it/s|s/it\]|%\|")


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


# ---------------------------------------------------------------- notebook copies for the web


FIGURE_COMMENT = re.compile(r"#\s*Figure:\s*(\S.*)")


FALLBACK_ALT = "Figure for the section"


def figure_description(source: str) -> str | None:
    """A figure cell's description: its first line ``# Figure: …`` (the convention tests/test_notebook_structure.py
    enforces) and the comment lines that continue it, joined; None when the cell does not begin with one."""
    lines = source.strip().splitlines()
    match = FIGURE_COMMENT.fullmatch(lines[0].strip()) if lines else None
    if not match:
        return None
    parts = [match.group(1).strip()]
    for line in lines[1:]:
        stripped = line.strip()
        if not stripped.startswith("#") or stripped.startswith(("# NBVAL", "# Solution")):
            break
        parts.append(stripped.lstrip("#").strip())
    return " ".join(part for part in parts if part)


def _is_progress_bar(output: dict) -> bool:
    return (
        output.get("output_type") == "stream"
        and output.get("name") == "stderr"
        and bool(TQDM.search("".join(output.get("text", ""))))
    )


def _clean_progress(outputs: list[dict]) -> list[dict]:
    """Replace a run of tqdm stderr chunks by one stdout line: the bar's final state."""
    cleaned: list[dict] = []
    bar: list[str] = []

    def flush() -> None:
        if bar:
            final = [part for part in re.split(r"[\r\n]", "".join(bar)) if part.strip()]
            if final:
                cleaned.append({"output_type": "stream", "name": "stdout", "text": final[-1].strip() + "\n"})
            bar.clear()

    for output in outputs:
        text = "".join(output.get("text", "")) if output.get("output_type") == "stream" else ""
        if _is_progress_bar(output) or (bar and output.get("name") == "stderr" and not text.strip()):
            bar.append(text)
            continue
        if output.get("name") == "stderr" and not text.strip():
            continue  # what a cleared bar (tqdm's leave=False) leaves: blank, and a pink box on the page
        flush()
        cleaned.append(output)
    flush()
    return cleaned


def web_notebook(notebook: dict, title: str) -> dict:
    """A copy of ``notebook`` prepared for the book (see the module docstring)."""
    notebook = copy.deepcopy(notebook)
    section = title
    for cell in notebook["cells"]:
        source = _source(cell)
        if cell["cell_type"] == "markdown":
            headings = re.findall(r"^#{1,3} (.+)$", source, re.M)
            if headings:
                section = headings[-1].strip()
            continue
        if cell["cell_type"] != "code":
            continue
        metadata = cell.setdefault("metadata", {})
        tags = metadata.setdefault("tags", [])
        mystnb = metadata.setdefault("mystnb", {})
        if SOLUTION_TAG in tags:
            tags.append("hide-cell")
            mystnb["code_prompt_show"] = "Show solution"
            mystnb["code_prompt_hide"] = "Hide solution"
        if CHECK_CELL.match(source):
            cell["outputs"] = [o for o in cell.get("outputs", []) if o.get("output_type") != "execute_result"]
        cell["outputs"] = _clean_progress(cell.get("outputs", []))
        if any("image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {}) for o in cell["outputs"]):
            description = figure_description(source)
            alt = f"Figure: {description}" if description else f"{FALLBACK_ALT} “{section}” of {title}"
            mystnb.setdefault("image", {})["alt"] = alt
    return notebook


def _apply_next_link(notebook: dict, link: str) -> None:
    for cell in reversed(notebook["cells"]):
        if cell["cell_type"] == "markdown" and "**Next:**" in _source(cell):
            source = _source(cell)
            paragraph = curriculum_map.NEXT_PARAGRAPH.search(source).group(0)
            cell["source"] = source.replace(paragraph, curriculum_map.rewrite_next(paragraph, link), 1)
            return


# ---------------------------------------------------------------- MathJax


def vendor_mathjax() -> Path:
    """Return the folder holding MathJax's es5 files, fetching the pinned npm package once if needed."""
    target = VENDOR / f"mathjax-{MATHJAX_VERSION}"
    if (target / "tex-mml-chtml.js").exists():
        return target
    tarball = VENDOR / f"mathjax-{MATHJAX_VERSION}.tgz"
    if not tarball.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit(
                "MathJax is not vendored yet and npm is not installed: install Node.js/npm once "
                f"(it fetches the pinned package mathjax@{MATHJAX_VERSION} from the npm registry), then rerun."
            )
        VENDOR.mkdir(parents=True, exist_ok=True)
        print(f"fetching mathjax@{MATHJAX_VERSION} with npm pack (once; kept in {VENDOR.relative_to(ROOT)})")
        subprocess.run([npm, "pack", f"mathjax@{MATHJAX_VERSION}", "--silent"], cwd=VENDOR, check=True)
    digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    if digest != MATHJAX_SHA512:
        tarball.unlink()
        raise SystemExit(f"{tarball.name}: sha512 differs from the pinned one; removed it, rerun to fetch again")
    staging = VENDOR / "unpack"
    shutil.rmtree(staging, ignore_errors=True)
    with tarfile.open(tarball) as archive:
        archive.extractall(staging, filter="data")
    target.mkdir(parents=True, exist_ok=True)
    for part in MATHJAX_PARTS:
        origin = staging / "package" / "es5" / part
        if origin.is_dir():
            shutil.copytree(origin, target / part, dirs_exist_ok=True)
        elif origin.exists():
            shutil.copy2(origin, target / part)
    shutil.copy2(staging / "package" / "LICENSE", target / "LICENSE")
    shutil.rmtree(staging)
    return target


# ---------------------------------------------------------------- staging


def _module_page(phase: curriculum_map.Phase, module: curriculum_map.Module) -> str:
    lines = [f"# {module.name}", "", f"Part of {phase.name}. The notebooks, in reading order:", ""]
    for nb in module.notebooks:
        lines.append(f"- [{nb.title}]({nb.path.name})")
        lines += [f"  - {objective}" for objective in nb.objectives]
    return "\n".join(lines) + "\n"


def stage() -> Path:
    shutil.rmtree(SOURCE, ignore_errors=True)
    SOURCE.mkdir(parents=True)
    shutil.copy2(ROOT / "book" / "_config.yml", SOURCE / "_config.yml")
    landing = (ROOT / "book" / "index.md").read_text(encoding="utf-8")
    landing = landing.replace("{{ curriculum_map }}", curriculum_map.map_markdown(heading_level=3))
    (SOURCE / "index.md").write_text(landing, encoding="utf-8")
    data_page = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    (SOURCE / "data.md").write_text(data_page, encoding="utf-8")
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    (SOURCE / "licence.md").write_text(f"# Licence\n\n```text\n{licence}\n```\n", encoding="utf-8")

    phases = curriculum_map.curriculum()
    ordered = curriculum_map.all_notebooks()
    parts = []
    for phase in phases:
        chapters = []
        for module in phase.modules:
            folder = SOURCE / phase.folder / module.folder
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "index.md").write_text(_module_page(phase, module), encoding="utf-8")
            sections = []
            for nb in module.notebooks:
                raw = json.loads((ROOT / nb.path).read_text(encoding="utf-8"))
                web = web_notebook(raw, nb.title)
                _apply_next_link(web, curriculum_map.next_link(ordered, ordered.index(nb)))
                (SOURCE / nb.path).write_text(json.dumps(web, indent=1, ensure_ascii=False), encoding="utf-8")
                sections.append({"file": nb.path.with_suffix("").as_posix()})
            chapters.append({"file": f"{phase.folder}/{module.folder}/index", "sections": sections})
        parts.append({"caption": phase.name, "chapters": chapters})
    parts.append({"caption": "About", "chapters": [{"file": "data"}, {"file": "licence"}]})
    toc = {"format": "jb-book", "root": "index", "parts": parts}
    (SOURCE / "_toc.yml").write_text(
        "# generated by tools/build_book.py from the notebook folders; do not edit\n" + yaml.safe_dump(toc),
        encoding="utf-8",
    )
    static = SOURCE / "_vendor"
    static.mkdir()
    shutil.copytree(vendor_mathjax(), static / "mathjax")
    return SOURCE


def build(quiet: bool = False) -> Path:
    started = time.perf_counter()
    stage()
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [str(jupyter_book), "build", str(SOURCE), "--path-output", str(BUILD), "--builder", "html"]
    subprocess.run(command + (["--quiet"] if quiet else []), check=True)
    print(f"book built in {time.perf_counter() - started:.0f} s: {HTML.relative_to(ROOT)}/index.html")
    return HTML


def main(argv: list[str]) -> int:
    if "--vendor-only" in argv:
        print(f"MathJax {MATHJAX_VERSION} is in {vendor_mathjax().relative_to(ROOT)}")
        return 0
    if "--stage-only" in argv:
        print(f"staged {stage().relative_to(ROOT)}")
        return 0
    build(quiet="--quiet" in argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
