"""utils.checks.core: the shared behaviour of every exercise check."""

import numpy as np
import pytest
import torch

from utils.checks import core


def test_check_array_accepts_numpy_torch_and_lists(capsys):
    for answer in (np.array([1.0, 2.0]), torch.tensor([1.0, 2.0]), [1.0, 2.0]):
        assert core.check_array("Ex", answer, [1.0, 2.0], what="the vector")
    assert capsys.readouterr().out.count("✓ Ex: the vector matches") == 3


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ([1.0, 2.5], "is off"),
        ([1.0, 2.0, 3.0], "expected shape (2,)"),
        ([np.nan, 2.0], "NaN"),
        ("abc", "could not read"),
        ({"a": 1}, "could not read"),
    ],
)
def test_check_array_rejects_with_a_reason_and_hint(answer, problem, capsys):
    assert core.check_array("Ex", answer, [1.0, 2.0], what="the vector", hint="think again") is False
    out = capsys.readouterr().out
    assert out.startswith("✗ Ex:") and problem in out and "hint: think again" in out


def test_none_is_not_attempted(capsys):
    assert core.check_array("Ex", None, 1.0, what="x") is False
    assert core.check_choice("Ex", None, "a", ["a", "b"], what="x") is False
    assert core.check_function("Ex", None, [((1,), 1)], what="x") is False
    assert core.check_function("Ex", lambda x: None, [((1,), 1)], what="x") is False
    assert capsys.readouterr().out.count(core.NOT_ATTEMPTED) == 4


def test_check_choice_is_case_insensitive_for_strings(capsys):
    assert core.check_choice("Ex", " l1 ", "L1", ["L1", "L2", "Linf"], what="largest norm")
    assert not core.check_choice("Ex", "L2", "L1", ["L1", "L2", "Linf"], what="largest norm")
    assert not core.check_choice("Ex", "L3", "L1", ["L1", "L2", "Linf"], what="largest norm")
    out = capsys.readouterr().out
    assert "✓" in out and "is not right" in out and "must be one of" in out


def test_check_function_reports_crashes_wrong_values_and_success(capsys):
    cases = [((2.0,), 4.0), ((3.0,), 9.0)]
    assert core.check_function("Ex", lambda x: x**2, cases, what="square")
    assert not core.check_function("Ex", lambda x: 2 * x, cases, what="square")
    assert not core.check_function("Ex", lambda x: 1 / 0, cases, what="square")
    assert not core.check_function("Ex", 3, cases, what="square")
    assert not core.check_function("Ex", lambda x: [x, x], cases, what="square")
    out = capsys.readouterr().out
    assert "✓ Ex: square on 2 cases" in out
    assert "case 2 is off" in out
    assert "ZeroDivisionError" in out
    assert "expected a function" in out
    assert "expected shape ()" in out


def test_check_function_custom_comparison(capsys):
    assert core.check_function("Ex", str.upper, [(("a",), "A")], what="upper", compare=lambda a, b: a == b)
    assert not core.check_function("Ex", str.lower, [(("a",), "A")], what="upper", compare=lambda a, b: a == b)


def test_expected_may_be_computed_lazily(capsys):
    calls = []

    def expected():
        calls.append(1)
        return [1.0, 2.0]

    assert core.check_array("Ex", None, expected, what="v") is False
    assert calls == []
    assert core.check_array("Ex", [1.0, 2.0], expected, what="v")
    assert calls == [1]


def test_check_array_compare_hook_replaces_allclose(capsys):
    from utils.checks.core import check_array

    def up_to_sign(given, target):
        return bool(np.allclose(given, target) or np.allclose(given, -target)) or "not the eigenvector, even up to sign"

    assert check_array("Exercise 9", [-1.0, -2.0], [1.0, 2.0], what="eigenvector", compare=up_to_sign)
    assert "✓" in capsys.readouterr().out
    assert not check_array("Exercise 9", [1.0, -2.0], [1.0, 2.0], what="eigenvector", compare=up_to_sign, hint="h")
    out = capsys.readouterr().out
    assert "not the eigenvector, even up to sign" in out and "hint: h" in out
    # shape and finiteness are still checked before the hook is called
    assert not check_array("Exercise 9", [1.0], [1.0, 2.0], what="eigenvector", compare=up_to_sign)
    assert "shape" in capsys.readouterr().out
    assert not check_array("Exercise 9", [1.0, 2.0], [1.0, 2.0], what="v", compare=lambda given, target: False)
    assert "v is off" in capsys.readouterr().out
