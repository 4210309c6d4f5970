"""The template's checks accept right answers and reject the mistakes their hints name."""

import numpy as np
import pytest
import torch

from utils.checks import template as checks


def _expect(result, expected, capsys):
    out = capsys.readouterr().out
    assert result is expected
    assert ("✓" in out) if expected else ("✗" in out)


def test_ex1_accepts_sigmoid_written_two_ways(capsys):
    _expect(checks.ex1(lambda x: 1 / (1 + np.exp(-x))), True, capsys)
    _expect(checks.ex1(lambda x: torch.sigmoid(torch.as_tensor(x))), True, capsys)


@pytest.mark.parametrize("wrong", [np.exp, lambda x: 1 / (1 + np.exp(x)), lambda x: np.log1p(np.exp(x))])
def test_ex1_rejects_the_hinted_slips(wrong, capsys):
    _expect(checks.ex1(wrong), False, capsys)


def test_ex2_and_ex3(capsys):
    s = 1 / (1 + np.exp(-0.6))
    _expect(checks.ex2(s * (1 - s)), True, capsys)
    _expect(checks.ex2(s**2), False, capsys)
    t = 1 / (1 + np.exp(-1.45))
    _expect(checks.ex3(-(t - 0.3) / (t * (1 - t))), True, capsys)
    _expect(checks.ex3((t - 0.3) / (t * (1 - t))), False, capsys)
    _expect(checks.ex3(-(t * (1 - t)) / (t - 0.3)), False, capsys)
