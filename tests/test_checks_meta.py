"""Every exercise check, in every checks module, follows the convention and is covered by a test.

- ``None`` is "not attempted yet": the check prints that and returns False, without raising.
- A value of a nonsensical type is a wrong answer: ✗, False, never an exception.
- Each ``exN`` of ``utils/checks/<name>.py`` is called in ``tests/test_checks_<name>.py`` on at least two real
  answers (a call with ``None`` proves nothing), where it must be shown to accept a right answer and reject the
  wrong ones its hint describes.
"""

import importlib
import inspect
import pkgutil
import re

import pytest
from conftest import ROOT

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


@pytest.mark.parametrize(("module", "name", "check"), CHECKS, ids=IDS)
def test_every_check_has_its_own_test(module, name, check):
    test_file = ROOT / "tests" / f"test_checks_{module}.py"
    assert test_file.is_file(), f"{test_file.name} is missing"
    text = test_file.read_text()
    # calls such as checks.ex1(answer), or the check handed to a helper (_rejects(checks.ex1, wrong)); not ex1(None)
    real = re.findall(rf"\b{name}\b(?!\(\s*None\s*\))(?=\s*[(,)])", text)
    assert len(real) >= 2, (
        f"{test_file.name} calls {name} on {len(real)} real answer(s); show it accepting a right answer and "
        "rejecting the mistakes its hint describes (a call with None alone proves nothing)"
    )
