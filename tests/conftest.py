"""Shared test configuration: a non-interactive matplotlib backend and the repository root."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]


def accepts(check, answer, capsys) -> None:
    """Assert that an exercise check accepts ``answer``: it returns True and prints a ✓ line."""
    assert check(answer) is True
    assert "✓" in capsys.readouterr().out


def rejects(check, answer, capsys) -> None:
    """Assert that an exercise check rejects ``answer``: it returns False and prints a ✗ line (never raises)."""
    assert check(answer) is False
    assert "✗" in capsys.readouterr().out


def not_attempted(check, answer, capsys) -> None:
    """Assert that an exercise check reports ``answer`` (None, or a stub's result) as not attempted."""
    assert check(answer) is False
    assert "not attempted" in capsys.readouterr().out
