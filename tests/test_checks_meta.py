"""Every exercise check, in every checks module, follows the convention and is covered by a test.

- ``None`` is "not attempted yet": the check prints that and returns False, without raising.
- A value of a nonsensical type is a wrong answer: ✗, False, never an exception.
- Each ``exN`` of ``utils/checks/<name>.py`` is shown, in ``tests/test_checks_<name>.py``, accepting at least one
  right answer and rejecting at least one wrong one. This is verified from what the check really returned and
  printed during those tests (``conftest`` records every call), so a call with ``None``, a stub, or a mention of
  the check's name in a comment cannot satisfy it.
"""

import importlib
import inspect
import json
import os
import pkgutil
import re
import subprocess
import sys

import pytest
from conftest import CHECK_RECORD, RECORD_FILE_VARIABLE, ROOT, fully_executed

import utils.checks
from utils.checks.core import NOT_ATTEMPTED

MODULES = [m.name for m in pkgutil.iter_modules(utils.checks.__path__) if m.name != "core"]
CHECKS = [
    (module, name, function)
    for module in MODULES
    for name, function in inspect.getmembers(importlib.import_module(f"utils.checks.{module}"), inspect.isfunction)
    if re.fullmatch(r"ex\d+", name)
]
IDS = [f"{module}.{name}" for module, name, _ in CHECKS]


@pytest.mark.parametrize(("module", "name", "check"), CHECKS, ids=IDS)
def test_none_is_not_attempted(module, name, check, capsys):
    assert check(None) is False
    assert NOT_ATTEMPTED in capsys.readouterr().out


@pytest.mark.parametrize(("module", "name", "check"), CHECKS, ids=IDS)
def test_nonsense_is_rejected_without_raising(module, name, check, capsys):
    assert check("not an answer") is False
    assert "✗" in capsys.readouterr().out


def test_every_check_module_has_its_own_test_file():
    missing = [
        f"test_checks_{module}.py" for module in MODULES if not (ROOT / "tests" / f"test_checks_{module}.py").is_file()
    ]
    assert not missing, f"missing test files: {missing}"


def _record_from_a_subprocess(modules: list[str], tmp_path) -> dict:
    """Run the given modules' check tests in a fresh pytest and return what its recorder saw."""
    target = tmp_path / "check_record.json"
    files = [str(ROOT / "tests" / f"test_checks_{module}.py") for module in modules]
    environment = {**os.environ, RECORD_FILE_VARIABLE: str(target)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *files]
    finished = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False)
    assert finished.returncode == 0, f"the check tests failed:\n{finished.stdout[-3000:]}"
    return {(module, name): counts for module, name, counts in json.loads(target.read_text())}


_SUBPROCESS_RECORD: dict = {}  # filled once per session, by the first check whose tests have not run here


@pytest.mark.parametrize(("module", "name", "check"), CHECKS, ids=IDS)
def test_each_check_accepted_and_rejected_a_real_answer_in_its_own_tests(module, name, check, tmp_path):
    """What the checks really answered in ``tests/test_checks_<module>.py`` (recorded by conftest), not what the
    file's text mentions: at least one right answer accepted (✓, True) and at least one wrong one rejected (✗,
    False). ``None`` and stubs reported as "not attempted" count as neither. When that file has not fully run in
    this session (a partial run), the check tests of every such module are run once in a subprocess."""
    if fully_executed(f"test_checks_{module}.py"):
        counts = CHECK_RECORD.get((module, name), {})
    else:
        if "replayed" not in _SUBPROCESS_RECORD:
            pending = [m for m in MODULES if not fully_executed(f"test_checks_{m}.py")]
            _SUBPROCESS_RECORD["replayed"] = _record_from_a_subprocess(pending, tmp_path)
        counts = _SUBPROCESS_RECORD["replayed"].get((module, name), {})
    assert counts.get("accepted", 0) >= 1 and counts.get("rejected", 0) >= 1, (
        f"tests/test_checks_{module}.py shows {module}.{name} accepting {counts.get('accepted', 0)} answer(s) and "
        f"rejecting {counts.get('rejected', 0)}; show it accepting a right answer and rejecting the mistakes its "
        "hint describes (a call with None proves nothing)"
    )


def test_the_recorder_counts_only_real_answers_in_the_checks_own_test_file(monkeypatch, capsys):
    import conftest

    def check(answer):
        if answer is None:
            print(NOT_ATTEMPTED)
            return False
        print("✓ right" if answer == 42 else "✗ hint")
        return answer == 42

    recorded = conftest._recording("fake_module", "ex1", check)
    monkeypatch.setitem(conftest._RUN, "current", "test_checks_fake_module.py")
    assert recorded(None) is False and recorded(42) is True and recorded(41) is False
    assert recorded(answer=41) is False
    monkeypatch.setitem(conftest._RUN, "current", "test_checks_meta.py")  # calls from elsewhere do not count
    assert recorded(42) is True
    assert "✓ right" in capsys.readouterr().out  # what the check prints still reaches the learner (and capsys)
    assert CHECK_RECORD.pop(("fake_module", "ex1")) == {"accepted": 1, "rejected": 2}
