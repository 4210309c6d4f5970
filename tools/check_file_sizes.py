"""Refuse files over a size limit (default 1 MB): the large-file guard of the pre-commit hooks and of the tests.

Usage: python tools/check_file_sizes.py [--max-kb N] FILE ...   (exit 1 and name each file that is too large)

Notebooks are committed with their outputs; a figure at too high a dpi, or a printed array, quickly makes one
several MB, which bloats every clone for ever. Data files are within the limit too (see data/README.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

LIMIT_KB = 1000


def too_large(paths: list[Path], limit_kb: int = LIMIT_KB) -> list[tuple[Path, int]]:
    """The files among ``paths`` larger than ``limit_kb`` kilobytes (1 kB = 1000 bytes), with their sizes."""
    return [(p, p.stat().st_size) for p in paths if p.is_file() and p.stat().st_size > limit_kb * 1000]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-kb", type=int, default=LIMIT_KB)
    parser.add_argument("files", nargs="*", type=Path)
    arguments = parser.parse_args(argv)
    offenders = too_large(arguments.files, arguments.max_kb)
    for path, size in offenders:
        print(f"{path}: {size / 1e6:.2f} MB is over the {arguments.max_kb} kB limit (smaller figures, fewer outputs)")
    return 1 if offenders else 0


if __name__ == "__main__":
    sys.exit(main())
