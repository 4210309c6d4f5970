"""The machinery every exercise check uses: one way to say "not attempted", ✓ or ✗ with a hint.

Checks never raise on a wrong answer: a value that cannot be converted, has the wrong shape, or a function
that crashes, is reported with ✗ and the reason, and the check returns False.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

NOT_ATTEMPTED = "not attempted yet"


def not_attempted(exercise: str) -> bool:
    """Print the 'not attempted yet' line for ``exercise`` and return False."""
    print(f"{exercise}: {NOT_ATTEMPTED} (replace the None in the cell above)")
    return False


def passed(exercise: str, what: str) -> bool:
    """Print a ✓ line saying what was compared, and return True."""
    print(f"✓ {exercise}: {what}")
    return True


def failed(exercise: str, problem: str, hint: str | None = None) -> bool:
    """Print a ✗ line with the problem and, if given, one hint; return False."""
    print(f"✗ {exercise}: {problem}")
    if hint:
        print(f"  hint: {hint}")
    return False


def to_array(answer: Any) -> np.ndarray:
    """Convert NumPy arrays, torch tensors, lists and scalars to a float64 NumPy array.

    Raises TypeError for values that cannot be read as numbers (the check functions catch it).
    """
    if hasattr(answer, "detach") and hasattr(answer, "cpu"):
        answer = answer.detach().cpu().numpy()
    try:
        return np.asarray(answer, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"expected numbers, got {type(answer).__name__} ({err})") from None


def check_array(
    exercise: str,
    answer: Any,
    expected: Any,
    *,
    what: str,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    hint: str | None = None,
    compare: Callable[[np.ndarray, np.ndarray], bool | str] | None = None,
) -> bool:
    """Compare a numeric answer (scalar, vector or matrix) with the expected value.

    Parameters
    ----------
    exercise : str
        Name shown in the message, e.g. "Exercise 1".
    answer : array_like or None
        The learner's answer; None means not attempted.
    expected : array_like or callable
        The value the check computed itself, or a function of no arguments that computes it; a function is
        called only once there is an answer to compare, so "not attempted yet" stays instant.
    what : str
        What is compared, e.g. "gradient at (1, 2, 3)"; shown in the ✓ line.
    rtol, atol : float
        Tolerances of ``numpy.allclose``.
    hint : str, optional
        Shown once on a wrong value.
    compare : callable, optional
        ``compare(given, target)`` replaces ``numpy.allclose`` after the shape and finiteness checks (both are
        float64 arrays of the same shape), e.g. to accept an eigenvector up to sign or a subspace up to rotation.
        It returns True for a right answer, and False or a string saying what is off for a wrong one.
    """
    if answer is None:
        return not_attempted(exercise)
    try:
        given = to_array(answer)
    except TypeError as err:
        return failed(exercise, f"could not read the answer as numbers: {err}", hint)
    target = np.asarray(expected() if callable(expected) else expected, dtype=float)
    if given.shape != target.shape:
        return failed(exercise, f"expected shape {target.shape}, got {given.shape}", hint)
    if not np.all(np.isfinite(given)):
        return failed(exercise, "the answer contains NaN or infinite values", hint)
    if compare is not None:
        verdict = compare(given, target)
        if verdict is True:
            return passed(exercise, f"{what} matches")
        return failed(exercise, verdict if isinstance(verdict, str) else f"{what} is off", hint)
    if not np.allclose(given, target, rtol=rtol, atol=atol):
        worst = float(np.max(np.abs(given - target)))
        return failed(exercise, f"{what} is off (largest absolute difference {worst:.3g})", hint)
    return passed(exercise, f"{what} matches (rtol={rtol:g}, atol={atol:g})")


def whole_number(unit: str) -> Callable[[np.ndarray, np.ndarray], bool | str]:
    """A ``compare`` for :func:`check_array` when the answer is a count of ``unit`` (iterations, layers, a rank).

    A fraction is reported as such ("2.5 is not a whole number of iterations"), a wrong count as a wrong count.
    """

    def same_count(given: np.ndarray, target: np.ndarray) -> bool | str:
        count = float(given)
        if not count.is_integer():
            return f"{count:g} is not a whole number of {unit}"
        if count != float(target):
            return f"{count:.0f} {unit} is not the expected count"
        return True

    return same_count


def check_choice(
    exercise: str, answer: Any, expected: Any, options: Sequence[Any], *, what: str, hint: str | None = None
) -> bool:
    """Check a discrete answer (a name, a label, a boolean) that must be one of ``options``."""
    if answer is None:
        return not_attempted(exercise)
    if isinstance(answer, str) and all(isinstance(option, str) for option in options):
        normalised = answer.strip()
        lookup = {option.lower(): option for option in options}
        answer = lookup.get(normalised.lower(), normalised)
    if answer not in options:
        return failed(exercise, f"answer must be one of {list(options)}, got {answer!r}", hint)
    if answer != expected:
        return failed(exercise, f"{what}: {answer!r} is not right", hint)
    return passed(exercise, f"{what}: {answer!r}")


def check_function(
    exercise: str,
    function: Any,
    cases: Iterable[tuple[tuple, Any]],
    *,
    what: str,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    hint: str | None = None,
    compare: Callable[[Any, Any], bool] | None = None,
) -> bool:
    """Call a learner's function on each ``(args, expected)`` case and compare the outputs.

    ``function=None``, or a stub that returns None, is "not attempted yet". An exception raised by the
    function, or an output of the wrong shape, is reported with ✗ and counts as a wrong answer.
    ``compare`` replaces the default numeric comparison when given.
    """
    if function is None:
        return not_attempted(exercise)
    if not callable(function):
        return failed(exercise, f"expected a function, got {type(function).__name__}", hint)
    cases = list(cases)
    for number, (args, expected) in enumerate(cases, start=1):
        try:
            output = function(*args)
        except Exception as err:  # noqa: BLE001 - a learner's function may raise anything
            return failed(exercise, f"your function raised {type(err).__name__}: {err} (case {number})", hint)
        if output is None and number == 1:
            # the stub a learner starts from returns None
            return not_attempted(exercise)
        if compare is not None:
            if not compare(output, expected):
                return failed(exercise, f"{what}: wrong output on case {number}", hint)
            continue
        try:
            given = to_array(output)
        except TypeError as err:
            return failed(exercise, f"could not read the output of case {number} as numbers: {err}", hint)
        target = np.asarray(expected, dtype=float)
        if given.shape != target.shape:
            return failed(exercise, f"case {number}: expected shape {target.shape}, got {given.shape}", hint)
        if not np.allclose(given, target, rtol=rtol, atol=atol):
            worst = float(np.max(np.abs(given - target))) if given.size else 0.0
            return failed(exercise, f"{what}: case {number} is off (largest absolute difference {worst:.3g})", hint)
    tolerance = "" if compare is not None else f" (rtol={rtol:g}, atol={atol:g})"
    return passed(exercise, f"{what} on {len(cases)} cases{tolerance}")
