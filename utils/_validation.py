"""Input validation shared by every ``utils`` module: one place, one exception type per mistake.

- A value of the wrong *kind* (not a number, a boolean where a count is expected, a float where an integer is
  expected, not callable) raises ``TypeError``.
- A value of the right kind but unusable (wrong shape, NaN or infinite, negative, out of range, labels that do not
  match) raises ``ValueError``.

Every message names the argument and says what was wrong, so that a learner can fix the call from the message.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def _numeric_values(value: Any, name: str) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, pd.DataFrame | pd.Series):
        value = value.to_numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be numeric, got {type(value).__name__} ({err})") from None
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}")
    return array.astype(float)


def as_array(value: Any, name: str, *, ndim: int | None = None, finite: bool = True, empty: bool = False) -> np.ndarray:
    """Return ``value`` as a float64 array, or raise naming ``name``.

    ``TypeError`` if it is not numeric; ``ValueError`` if it has the wrong number of dimensions, is empty (unless
    ``empty``) or, with ``finite``, holds NaN or infinite values.
    """
    array = _numeric_values(value, name)
    if ndim is not None and array.ndim != ndim:
        shape = {0: "a scalar", 1: "a 1-D vector", 2: "a 2-D matrix"}.get(ndim, f"{ndim}-D")
        raise ValueError(f"{name} must be {shape}, got shape {array.shape}")
    if not empty and array.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    if finite and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def as_matrix(value: Any, name: str, *, finite: bool = True) -> np.ndarray:
    """A non-empty 2-D float64 array (see :func:`as_array`)."""
    return as_array(value, name, ndim=2, finite=finite)


def as_vector(value: Any, name: str, *, finite: bool = True) -> np.ndarray:
    """A non-empty 1-D float64 array (see :func:`as_array`)."""
    return as_array(value, name, ndim=1, finite=finite)


def as_counts(value: Any, name: str = "counts", *, integer: bool = True) -> np.ndarray:
    """A 2-D table of finite, non-negative integer counts as float64 (integer-valued floats pass).

    ``TypeError`` for a non-numeric or boolean table; ``ValueError`` for the wrong shape, NaN, negative or (with
    ``integer``, the default) non-integer values. ``integer=False`` accepts non-negative real values, such as
    estimated counts or already-scaled counts.
    """
    values = as_array(value, name, ndim=2, finite=False)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if np.any(values < 0):
        raise ValueError(f"{name} contains negative values; counts must be >= 0")
    if integer and np.any(values != np.round(values)):
        raise ValueError(f"{name} contains non-integer values; counts must be whole numbers")
    return values


def check_scalar(
    value: Any,
    name: str,
    *,
    positive: bool = False,
    nonnegative: bool = False,
    upper: float | None = None,
) -> float:
    """A finite real number (``TypeError`` if not a real number; ``ValueError`` if not finite or out of range)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    number = float(value)
    if not np.isfinite(number):
        raise ValueError(f"{name} must be finite, got {number}")
    if positive and number <= 0:
        raise ValueError(f"{name} must be positive, got {number}")
    if nonnegative and number < 0:
        raise ValueError(f"{name} must be non-negative, got {number}")
    if upper is not None and number > upper:
        raise ValueError(f"{name} must be at most {upper}, got {number}")
    return number


def check_integer(value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer in ``[minimum, maximum]``: ``TypeError`` for a non-integer (2.0 and True included),
    ``ValueError`` when out of range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    number = int(value)
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {number}")
    return number


def check_callable(value: Any, name: str) -> None:
    """``TypeError`` unless ``value`` can be called."""
    if not callable(value):
        raise TypeError(f"{name} must be a function, got {type(value).__name__}")


def check_same_labels(
    columns: pd.Index | Sequence[Any], index: pd.Index | Sequence[Any], columns_name: str, index_name: str
) -> None:
    """``ValueError`` unless two label sequences are identical, element by element.

    Used wherever a table's samples (columns of counts) are paired with another table's rows (a design, a
    samples table): pairing by position would silently attach each sample to another sample's row.
    """
    left, right = pd.Index(columns), pd.Index(index)
    if left.equals(right):
        return
    missing = [label for label in left if label not in set(right)]
    extra = [label for label in right if label not in set(left)]
    if missing or extra:
        raise ValueError(
            f"{columns_name} and {index_name} must name the same samples: {len(missing)} only in {columns_name} "
            f"(e.g. {missing[:3]}), {len(extra)} only in {index_name} (e.g. {extra[:3]})"
        )
    raise ValueError(
        f"{columns_name} and {index_name} name the same samples in a different order; reorder one "
        f"(e.g. {index_name}.loc[{columns_name}]) so that each sample is paired with its own row"
    )
