"""Run every script in benchmarks/ and list each one's verdict line (`make bench`).

Usage: python tools/run_benchmarks.py [SCRIPT ...]

Each benchmark prints its own measurements and ends with one line starting ``verdict:`` (the target, what was
measured, met or not). This runner shows every script's output as it comes, then repeats the verdicts
together, and names any script that printed none. It exits 1 if a script fails or lacks a verdict. A file
without an ``if __name__ == "__main__":`` block is a helper module of the benchmarks, not one of them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(script: Path) -> tuple[int, list[str]]:
    print(f"== {script.relative_to(ROOT)}", flush=True)
    process = subprocess.Popen(
        [sys.executable, str(script)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    verdicts = []
    for line in process.stdout:
        print(line, end="", flush=True)
        if line.startswith("verdict:"):
            verdicts.append(line.rstrip())
    return process.wait(), verdicts


def main(argv: list[str]) -> int:
    scripts = [Path(a).resolve() for a in argv] or [
        path for path in sorted((ROOT / "benchmarks").glob("*.py")) if '__name__ == "__main__"' in path.read_text()
    ]
    summary, problems = [], []
    for script in scripts:
        code, verdicts = run(script)
        name = script.name
        if code:
            problems.append(f"{name}: exited with status {code}")
        if not verdicts:
            problems.append(f"{name}: printed no 'verdict:' line")
        summary += [f"{name}: {line}" for line in verdicts]
    print("\n== verdicts")
    print("\n".join(summary) or "(none)")
    if problems:
        print("\n== problems")
        print("\n".join(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
