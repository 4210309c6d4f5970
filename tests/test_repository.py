"""Repository habits: no committed file over 1 MB, and the licence and contribution guide exist."""

import subprocess
import sys
from pathlib import Path

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import check_file_sizes  # noqa: E402


def _tracked_files() -> list[Path]:
    listing = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / line for line in listing.splitlines() if line]


def test_no_tracked_file_is_over_one_megabyte():
    files = _tracked_files()
    assert len(files) > 50
    assert check_file_sizes.too_large(files) == []


def test_the_size_guard_refuses_a_large_file(tmp_path, capsys):
    big = tmp_path / "big.ipynb"
    big.write_bytes(b"x" * 1_000_001)
    small = tmp_path / "small.ipynb"
    small.write_bytes(b"{}")
    assert check_file_sizes.main([str(small)]) == 0
    assert check_file_sizes.main([str(small), str(big)]) == 1
    assert "big.ipynb" in capsys.readouterr().out


def test_licence_contributing_and_template_exist():
    assert "MIT" in (ROOT / "LICENSE").read_text() and "CC BY 4.0" in (ROOT / "LICENSE").read_text()
    guide = (ROOT / "CONTRIBUTING.md").read_text()
    for topic in ("tools/notebook_template/00_template.ipynb", "utils/checks/", "tests/test_checks_", "make test"):
        assert topic in guide, f"CONTRIBUTING.md does not mention {topic}"
