"""Shared test configuration: a non-interactive matplotlib backend, the repository root, the helpers that show a
check accepting or rejecting an answer, and a recorder of what every exercise check answered.

The recorder wraps each ``utils.checks.<module>.exN`` so that ``test_checks_meta`` can verify, from what really
happened rather than from the test file's text, that each check was shown accepting at least one right answer and
rejecting at least one wrong answer in its own ``tests/test_checks_<module>.py``. A call with ``None`` (or a stub
reported as "not attempted") counts as neither.
"""

import contextlib
import functools
import importlib
import io
import json
import os
import pkgutil
import re
import sys
from collections import Counter
from pathlib import Path

import matplotlib
import pytest

import utils.checks

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
RECORD_FILE_VARIABLE = "CHECK_RECORD_FILE"  # set by test_checks_meta when it runs check tests in a subprocess

# (module, check name) -> Counter({"accepted": n, "rejected": n}), from calls made in test_checks_<module>.py
CHECK_RECORD: dict[tuple[str, str], Counter] = {}
_RUN = {"current": None, "collected": Counter(), "executed": Counter()}


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


def _recording(module: str, name: str, check):
    own_test_file = f"test_checks_{module}.py"

    @functools.wraps(check)
    def recorded(*args, **kwargs):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            result = check(*args, **kwargs)
        sys.stdout.write(printed.getvalue())
        answer = args[0] if args else next(iter(kwargs.values()), None)
        if _RUN["current"] == own_test_file and answer is not None:
            counts = CHECK_RECORD.setdefault((module, name), Counter())
            if result is True and "✓" in printed.getvalue():
                counts["accepted"] += 1
            elif result is False and "✗" in printed.getvalue():
                counts["rejected"] += 1
        return result

    return recorded


for _module_info in pkgutil.iter_modules(utils.checks.__path__):
    if _module_info.name == "core":
        continue
    _module = importlib.import_module(f"utils.checks.{_module_info.name}")
    for _name, _function in list(vars(_module).items()):
        if re.fullmatch(r"ex\d+", _name) and callable(_function):
            setattr(_module, _name, _recording(_module_info.name, _name, _function))


def pytest_collection_modifyitems(items):
    """Run the meta test that reads the recorder after every other test, so that it sees what they did."""
    last = [item for item in items if item.name.startswith("test_each_check_accepted_and_rejected")]
    items[:] = [item for item in items if item not in last] + last


def pytest_collection_finish(session):
    _RUN["collected"] = Counter(item.path.name for item in session.items)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item):
    _RUN["current"] = item.path.name
    yield
    _RUN["current"] = None
    _RUN["executed"][item.path.name] += 1


def fully_executed(test_file: str) -> bool:
    """Whether every test of ``test_file`` has run in this session (so its record of check calls is complete)."""
    collected = _RUN["collected"][test_file]
    return collected > 0 and _RUN["executed"][test_file] >= collected


def pytest_sessionfinish(session):
    target = os.environ.get(RECORD_FILE_VARIABLE)
    if target:
        rows = [[module, name, dict(counts)] for (module, name), counts in CHECK_RECORD.items()]
        Path(target).write_text(json.dumps(rows))
