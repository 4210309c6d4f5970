"""Fair timings: best of N repeats, and several methods timed interleaved, so that a ratio means something.

The minimum over repeats estimates the cost without the noise of other processes (which only ever adds time);
interleaving the methods (A, B, A, B, ...) exposes both to the same machine state (caches, clock speed, other
load). Used by notebooks that print timings and by the scripts in ``benchmarks/``; nothing here asserts a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from utils._validation import check_callable, check_integer


def best_time(function: Callable[[], Any], repeats: int = 5) -> tuple[float, Any]:
    """Call ``function()`` ``repeats`` times; return the fastest wall time in seconds and the last result."""
    check_callable(function, "function")
    check_integer(repeats, "repeats", minimum=1)
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def compare_times(functions: Mapping[str, Callable[[], Any]], repeats: int = 5) -> dict[str, float]:
    """Best-of-``repeats`` wall time of each function, the functions called in turn within each round.

    Returns ``{name: seconds}`` in the order given; divide two entries for a speed ratio.
    """
    if not isinstance(functions, Mapping) or not functions:
        raise TypeError("functions must be a non-empty mapping of name -> function of no arguments")
    for name, function in functions.items():
        check_callable(function, f"functions[{name!r}]")
    check_integer(repeats, "repeats", minimum=1)
    best = dict.fromkeys(functions, float("inf"))
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            best[name] = min(best[name], time.perf_counter() - start)
    return best
