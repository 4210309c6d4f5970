"""utils.timing: best-of-N and interleaved timings return what was measured, and refuse bad arguments."""

import time

import pytest

from utils.timing import best_time, compare_times


def test_best_time_is_the_minimum_and_returns_the_result():
    delays = iter([0.02, 0.001, 0.02])

    def sleeper():
        time.sleep(next(delays))
        return "done"

    seconds, result = best_time(sleeper, repeats=3)
    assert result == "done"
    assert 0.001 <= seconds < 0.015  # the fastest of the three calls, not the mean


def test_compare_times_interleaves_and_keeps_the_order():
    calls = []
    times = compare_times({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=3)
    assert calls == ["a", "b"] * 3
    assert list(times) == ["a", "b"] and all(t >= 0 for t in times.values())


def test_bad_arguments():
    with pytest.raises(TypeError, match="function"):
        best_time(None)
    with pytest.raises(ValueError, match="repeats"):
        best_time(lambda: None, repeats=0)
    with pytest.raises(TypeError, match="repeats"):
        best_time(lambda: None, repeats=2.0)
    with pytest.raises(TypeError, match="mapping"):
        compare_times([lambda: None])
    with pytest.raises(TypeError, match=r"functions\['x'\]"):
        compare_times({"x": 1})
