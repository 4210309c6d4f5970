"""L-BFGS-B on many bounded one-dimensional problems at once, stopping each where SciPy's L-BFGS-B stops.

PyDESeq2 fits each gene's dispersion with ``scipy.optimize.minimize(method="L-BFGS-B")`` on
:math:`\\log\\alpha`. On most genes any good optimiser finds the same maximum; on the ~1 % whose adjusted
likelihood is nearly flat towards :math:`\\alpha \\to 0`, *where L-BFGS-B stops* is the answer. To reproduce
those answers without a Python loop over genes, :func:`lbfgsb_scalar_batched` follows SciPy's algorithm (the C
translation of L-BFGS-B 3.0) in one variable, vectorised over problems: the compact limited-memory matrices, the
generalised Cauchy point, the subspace step, and Moré–Thuente's line search, with each problem at its own stage.
It is long because the algorithm is; :func:`utils.optim.minimize_scalar_batched` is the short Newton solver to
read first.

References: Byrd, Lu, Nocedal & Zhu, "A limited memory algorithm for bound constrained optimization", *SIAM J. Sci.
Comput.* 16(5) (1995); Morales & Nocedal, "Remark on Algorithm 778", *ACM TOMS* 38(1) (2011); Moré & Thuente,
"Line search algorithms with guaranteed sufficient decrease", *ACM TOMS* 20(3) (1994).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from utils._validation import as_array, check_callable, check_integer, check_scalar

LBFGSB_STATUS = (
    "converged: projected gradient <= pgtol",
    "converged: relative reduction of f <= ftol",
    "abnormal termination in line search",
    "iteration limit reached",
)
"""What :attr:`LBFGSBResult.status` means: the message of ``LBFGSB_STATUS[status]``."""

_RUNNING = -1
_GRADIENT_TEST, _REDUCTION_TEST, _ABNORMAL, _ITERATION_LIMIT = range(4)
_EPS = float(np.finfo(float).eps)
_MEMORY = 10  # SciPy's maxcor: the (s, y) pairs kept
# the Moré–Thuente constants that L-BFGS-B's line search (lnsrlb) hands to dcsrch
_LS_FTOL, _LS_GTOL, _LS_XTOL = 1e-3, 0.9, 0.1
_EXTRAPOLATE_LOW, _EXTRAPOLATE_HIGH = 1.1, 4.0
_NO_STEP_LIMIT = 1e10


@dataclass(frozen=True)
class LBFGSBResult:
    """The result of :func:`lbfgsb_scalar_batched`: one entry per problem, named as in SciPy's result."""

    x: np.ndarray
    """Where each problem stopped (``res.x``)."""
    fun: np.ndarray
    """The objective at ``x`` (``res.fun``)."""
    grad: np.ndarray
    """The derivative at ``x`` (``res.jac``)."""
    n_iter: np.ndarray
    """Iterations, i.e. accepted line-search steps (``res.nit``)."""
    n_eval: np.ndarray
    """Evaluations of ``fun_and_grad``, the one at ``x0`` included (``res.nfev``)."""
    success: np.ndarray
    """True where a convergence test stopped the problem (``res.success``)."""
    status: np.ndarray
    """0: projected gradient below ``pgtol``; 1: relative reduction below ``ftol``; 2: abnormal termination of
    the line search; 3: ``max_iter`` reached. The messages are :data:`LBFGSB_STATUS`."""


def lbfgsb_scalar_batched(
    fun_and_grad: Callable[..., tuple[Any, Any]],
    lower: float | np.ndarray,
    upper: float | np.ndarray,
    x0: float | np.ndarray,
    *,
    ftol: float = 2.220446049250313e-09,
    pgtol: float = 1e-5,
    maxls: int = 20,
    max_iter: int = 15000,
    indexed: bool = False,
) -> LBFGSBResult:
    """Minimise many independent one-dimensional functions on intervals with L-BFGS-B, step for step as SciPy.

    For each problem :math:`i`, :math:`\\min_{x \\in [l_i, u_i]} f_i(x)` by the algorithm of
    ``scipy.optimize.minimize(method="L-BFGS-B")`` (Byrd, Lu, Nocedal & Zhu 1995, with the subspace step of
    Morales & Nocedal 2011), which in one variable with two bounds reads:

    1. Stop where the projected gradient (the slope :math:`g`, or 0 at a bound it points out of) is at most
       ``pgtol``.
    2. The quadratic model :math:`m(x + s) = f + g s + \\tfrac12 B s^2` has :math:`B = 1` at the start and
       after a reset; otherwise :math:`B` is the limited-memory BFGS matrix of the last 10 pairs
       :math:`(s, y)` whose curvature passed :math:`s y > \\epsilon\\,|s\\,g_{old}|`. In one dimension every
       BFGS update gives :math:`B = y/s` of the newest pair, but L-BFGS-B computes :math:`B` in its compact
       form, factorising small matrices built from all the pairs, and keeps one of them up to date between
       iterations by increments that assume it was updated whenever the variable entered or left the active
       set; it is not when the variable is at a bound, so after the variable comes back free the matrix
       can be wrong: the factorisation then fails and the memory is reset to :math:`B = 1`, or the subspace
       step is off. These matrices are reproduced here as SciPy forms them, so this happens here too.
    3. The generalised Cauchy point is the model's minimiser along :math:`-g`, :math:`x - g/B`, or the bound
       where the path meets it first. From a free Cauchy point, the subspace step (exactly 0 in exact
       arithmetic when the compact matrices are right) gives the target point :math:`z`, projected onto the box
       and, if that turns uphill, cut back at the bound.
    4. A line search along :math:`d = z - x` (Moré & Thuente 1994, ``dcsrch`` with sufficient decrease 1e-3,
       curvature 0.9, relative width 0.1) starts with the step 1 and never leaves the box (the longest step is
       1 in the first iteration, the distance to the bound later). If it needs more than ``maxls`` trial
       points, or :math:`d` is not a descent direction, the memory is reset and the iteration restarts from
       the same point; if the memory was empty already, the run ends abnormally at that point.
    5. After an accepted step, stop if the projected gradient is at most ``pgtol``, or if
       :math:`f_{old} - f \\le \\text{ftol} \\cdot \\max(|f_{old}|, |f|, 1)`; otherwise store the new pair and
       go to 2.

    Counts are SciPy's: ``n_iter`` counts accepted steps, ``n_eval`` distinct evaluations (SciPy's function
    wrapper does not evaluate again at the point it evaluated last). Every operation acts on all the problems
    still running at once: each pass evaluates one trial point per running problem, whatever stage of its own
    iteration each problem is in; the small matrices are processed in groups of problems with the same number
    of pairs. SciPy's LAPACK and BLAS round differently from NumPy in the last bits, so a problem whose path
    SciPy decides by a rounding error (a test passed by a few ulps) can stop elsewhere here.

    Parameters
    ----------
    fun_and_grad : callable
        ``fun_and_grad(x)`` (or ``fun_and_grad(x, rows)`` with ``indexed``) returns ``(f, g)``, the objectives
        and their derivatives at ``x``, each shaped like ``x``.
    lower, upper : float or array, shape (batch,)
        The finite bounds of each problem, ``lower <= upper``.
    x0 : float or array, shape (batch,)
        The starting points, inside the bounds.
    ftol : float
        Relative-reduction tolerance, SciPy's ``ftol`` (``factr * eps``; the default is ``factr = 1e7``).
    pgtol : float
        Projected-gradient tolerance, SciPy's ``gtol``.
    maxls : int
        Trial points per line search at most.
    max_iter : int
        Iterations at most (SciPy's ``maxiter``). SciPy's other limit, ``maxfun`` = 15000 evaluations, is not
        applied (with at most 2 maxls evaluations per iteration it cannot bind in the first 350 iterations).
    indexed : bool
        If True, ``fun_and_grad(x, rows)`` is called with the integer indices ``rows`` of the problems that
        ``x`` holds, and only the problems still running are evaluated.

    Returns
    -------
    LBFGSBResult

    References
    ----------
    Byrd, Lu, Nocedal & Zhu, "A limited memory algorithm for bound constrained optimization", *SIAM J. Sci.
    Comput.* 16(5) (1995); Morales & Nocedal, "Remark on Algorithm 778", *ACM TOMS* 38(1) (2011); Moré & Thuente,
    "Line search algorithms with guaranteed sufficient decrease", *ACM TOMS* 20(3) (1994).
    """
    check_callable(fun_and_grad, "fun_and_grad")
    check_scalar(ftol, "ftol", positive=True)
    check_scalar(pgtol, "pgtol", positive=True)
    check_integer(maxls, "maxls", minimum=1)
    check_integer(max_iter, "max_iter", minimum=1)
    if not isinstance(indexed, bool | np.bool_):
        raise TypeError(f"indexed must be True or False, got {type(indexed).__name__}")
    low, high, start = _lbfgsb_box(lower, upper, x0)
    # SciPy's stopping level is factr * eps with factr = ftol / eps: keep its rounding
    reduction_tol = (float(ftol) / _EPS) * _EPS
    evaluate = _lbfgsb_evaluator(fun_and_grad, bool(indexed), start)
    n, m = start.size, _MEMORY
    fun, grad = evaluate(start, np.arange(n))
    state = {"x": start.copy(), "f": fun, "g": grad, "seen_x": start.copy(), "seen_f": fun.copy()}
    state["seen_g"] = grad.copy()  # the point evaluated last, with f and g: SciPy's memoisation
    for name in ("trial", "target", "direction", "start_x", "start_f", "start_g", "gd", "gd_start", "theta"):
        state[name] = np.zeros(n)
    for name in _DCSRCH_FIELDS:
        state[name] = np.zeros(n)
    state["brackt"], state["stage"] = np.zeros(n, dtype=bool), np.ones(n, dtype=int)
    for name in ("n_iter", "n_trials", "col", "n_updates", "max_col"):
        state[name] = np.zeros(n, dtype=int)
    state["theta"][:] = 1.0
    state["n_eval"], state["status"] = np.ones(n, dtype=int), np.full(n, _RUNNING)
    state["updated"], state["was_free"] = np.zeros(n, dtype=bool), np.ones(n, dtype=bool)
    # the compact L-BFGS memory, oldest pair first: s and y, S'Y (lower), S'S (upper), the Cholesky factor
    # of theta S'S + L D^-1 L' (wt) and the three blocks of N kept between iterations (SciPy's wn1, see
    # _formk), with the problem axis last. A problem with k pairs uses the leading k x k corner only, and only
    # that corner is gathered and scattered; max_col is the most pairs it ever held (what was ever written).
    state["s"], state["y"] = np.zeros((m, n)), np.zeros((m, n))
    for name in ("sy", "ss", "wt", *_WN1_BLOCKS):
        state[name] = np.zeros((m, m, n))

    converged = _projected_gradient_norm(start, grad, low, high) <= pgtol
    state["status"][converged] = _GRADIENT_TEST
    _lbfgsb_begin_iteration(state, np.flatnonzero(~converged), low, high)
    # the state holds the problems ``problem`` (all of them at first): when 3 in 4 of them have stopped, their
    # results are stored and the state is cut down to the others, which keeps the arrays small and dense
    problem, results = np.arange(n), {name: state[name].copy() for name in _RESULT_FIELDS}
    while True:
        rows = np.flatnonzero(state["status"] == _RUNNING)
        if rows.size == 0:
            break
        if 4 * rows.size <= problem.size:
            for name in _RESULT_FIELDS:
                results[name][problem] = state[name]
            _lbfgsb_compact(state, rows)
            problem, low, high, rows = problem[rows], low[rows], high[rows], np.arange(rows.size)
        trial = state["trial"][rows]
        fresh = trial != state["seen_x"][rows]
        if np.any(fresh):
            new_rows = rows[fresh]
            new_f, new_g = evaluate(trial[fresh], problem[new_rows])
            state["seen_x"][new_rows], state["seen_f"][new_rows], state["seen_g"][new_rows] = trial[fresh], new_f, new_g
            state["n_eval"][new_rows] += 1
        state["x"][rows], state["f"][rows], state["g"][rows] = trial, state["seen_f"][rows], state["seen_g"][rows]
        state["gd"][rows] = state["g"][rows] * state["direction"][rows]
        accepted = _dcsrch_step(state, rows)
        searching = rows[~accepted]
        state["n_trials"][searching] += 1
        exhausted = state["n_trials"][searching] - 1 >= maxls
        going = searching[~exhausted]
        state["trial"][going] = _lbfgsb_trial_point(state, going, low, high)
        _lbfgsb_line_search_failed(state, searching[exhausted], low, high)
        _lbfgsb_new_iterate(state, rows[accepted], low, high, pgtol, reduction_tol, max_iter)
    for name in _RESULT_FIELDS:
        results[name][problem] = state[name]
    status = results["status"]
    return LBFGSBResult(
        x=results["x"],
        fun=results["f"],
        grad=results["g"],
        n_iter=results["n_iter"],
        n_eval=results["n_eval"],
        success=(status == _GRADIENT_TEST) | (status == _REDUCTION_TEST),
        status=status,
    )


_RESULT_FIELDS = ("x", "f", "g", "n_iter", "n_eval", "status")


def _lbfgsb_compact(state: dict, rows: np.ndarray) -> None:
    """Keep only the problems ``rows`` in the state (every array has the problem axis last).

    Entries of the memory beyond the most pairs a problem ever held were never written: only the leading
    ``max_col`` x ``max_col`` corner is copied, the rest stays 0 as it was.
    """
    held = int(state["max_col"][rows].max(initial=0))
    for name, value in state.items():
        if value.ndim == 1:
            state[name] = value[rows]
            continue
        compact = np.zeros(value.shape[:-1] + (rows.size,), dtype=value.dtype)
        corner = (slice(held),) * (value.ndim - 1)
        compact[corner] = np.take(value[corner], rows, axis=-1)
        state[name] = compact


def _lbfgsb_box(lower: Any, upper: Any, x0: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bounds and starts broadcast to one 1-D shape, checked: lower <= x0 <= upper."""
    low, high, start = as_array(lower, "lower"), as_array(upper, "upper"), as_array(x0, "x0")
    for name, value in (("lower", low), ("upper", high), ("x0", start)):
        if value.ndim > 1:
            raise ValueError(f"{name} must be a scalar or a 1-D array (one entry per problem), got shape {value.shape}")
    try:
        shape = np.broadcast_shapes(low.shape, high.shape, start.shape, (1,))
    except ValueError:
        raise ValueError(
            f"lower, upper and x0 must have the same length, got shapes {low.shape}, {high.shape}, {start.shape}"
        ) from None
    low, high, start = (np.broadcast_to(value, shape).astype(float) for value in (low, high, start))
    if np.any(low > high):
        raise ValueError(f"lower must not exceed upper ({int(np.sum(low > high))} problems have lower > upper)")
    outside = (start < low) | (start > high)
    if np.any(outside):
        raise ValueError(f"x0 must lie within [lower, upper] ({int(np.sum(outside))} starts do not)")
    return low, high, start


def _lbfgsb_evaluator(fun_and_grad: Callable, indexed: bool, start: np.ndarray) -> Callable:
    """``evaluate(x, rows) -> (f, g)`` for the problems ``rows``, calling ``fun_and_grad`` as asked."""
    full = start.copy()  # without ``indexed`` the other problems are evaluated where they were last

    def evaluate(x: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if indexed:
            output = fun_and_grad(x.copy(), rows.copy())
        else:
            full[rows] = x
            output = fun_and_grad(full.copy())
        if not isinstance(output, tuple | list) or len(output) != 2:
            raise TypeError("fun_and_grad must return a tuple (f, g) of arrays shaped like x")
        size = x.size if indexed else full.size
        parts = []
        for name, part in zip(("f", "g"), output, strict=True):
            value = np.asarray(part, dtype=float)
            if value.shape not in ((), (size,)):
                raise ValueError(f"fun_and_grad returned {name} of shape {value.shape}, expected ({size},)")
            value = np.broadcast_to(value, (size,))
            parts.append(value.copy() if indexed else value[rows].copy())
        return parts[0], parts[1]

    return evaluate


def _projected_gradient_norm(x: np.ndarray, g: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """SciPy's ``projgr`` in 1-D: the slope, clipped to the distance to the bound it points to."""
    with np.errstate(invalid="ignore"):
        projected = np.where(g < 0, np.fmax(x - high, g), np.fmin(x - low, g))
    return np.where(np.isnan(g), g, np.abs(projected))


def _lbfgsb_reset_memory(state: dict, rows: np.ndarray) -> None:
    """L-BFGS-B's "refresh the memory": no pairs, B = 1 (the stored matrices stay as they are)."""
    state["col"][rows], state["n_updates"][rows], state["theta"][rows], state["updated"][rows] = 0, 0, 1.0, False


def _lbfgsb_begin_iteration(state: dict, rows: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:
    """An iteration up to its first trial point: target point, direction, longest step, dcsrch's set-up."""
    if rows.size == 0:
        return
    failed = _lbfgsb_target(state, rows, low, high)
    # a factorisation failed: the memory is empty now, and the Cauchy point alone is the target
    _lbfgsb_target(state, failed, low, high)
    x, g, lo, hi = state["x"][rows], state["g"][rows], low[rows], high[rows]
    direction = state["target"][rows] - x
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # lnsrlb: the longest step keeps x inside the box (0 if x is on the bound d points to); 1 at iteration 0
        down, up = direction < 0, direction > 0
        to_bound = np.where(down, lo - x, hi - x)
        blocked = (down & (to_bound >= 0)) | (up & (to_bound <= 0))
        limited = (down & (direction * _NO_STEP_LIMIT < to_bound)) | (up & (direction * _NO_STEP_LIMIT > to_bound))
        stpmax = np.where(blocked, 0.0, np.where(limited, to_bound / direction, _NO_STEP_LIMIT))
    stpmax = np.where(state["n_iter"][rows] == 0, 1.0, stpmax)
    gd = g * direction
    state["direction"][rows], state["stpmax"][rows] = direction, stpmax
    state["start_x"][rows], state["start_f"][rows], state["start_g"][rows] = x, state["f"][rows], g
    state["gd"][rows] = state["gd_start"][rows] = gd
    uphill = gd >= 0
    # not a descent direction: no line search is possible (handled as a failed one)
    _lbfgsb_line_search_failed(state, rows[uphill], low, high)
    rows, gd, stpmax = rows[~uphill], gd[~uphill], stpmax[~uphill]
    # dcsrch's initialisation for the first trial step stp = 1
    stp = np.ones(rows.size)
    state["stp"][rows], state["brackt"][rows], state["stage"][rows] = stp, False, 1
    state["finit"][rows] = state["fx"][rows] = state["fy"][rows] = state["f"][rows]
    state["ginit"][rows] = state["gx"][rows] = state["gy"][rows] = gd
    state["gtest"][rows] = _LS_FTOL * gd
    state["width"][rows] = stpmax - 0.0
    state["width1"][rows] = state["width"][rows] / 0.5
    state["stx"][rows] = state["sty"][rows] = state["stmin"][rows] = 0.0
    state["stmax"][rows] = stp + _EXTRAPOLATE_HIGH * stp
    state["n_trials"][rows] = 1
    state["trial"][rows] = _lbfgsb_trial_point(state, rows, low, high)


def _lbfgsb_target(state: dict, rows: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The Cauchy point (cauchy), the free set (freev) and the subspace step (formk, cmprlb, subsm).

    Sets ``state["target"]``; returns the rows whose K factorisation failed (their memory is reset).
    """
    if rows.size == 0:
        return rows
    x, g, theta, col = state["x"][rows], state["g"][rows], state["theta"][rows], state["col"][rows]
    lo, hi = low[rows], high[rows]
    downhill = -g
    slope = -(downhill * downhill)  # cauchy's f1 and f2: the model's slope and curvature along -g
    curvature = -theta * slope
    memories = {}
    for memory, group in _lbfgsb_groups(col):
        pairs = _gather_memory(state, rows[group], memory)
        p = _cauchy_p(pairs, downhill[group])
        v = _bmv(pairs, p)
        curvature[group] = curvature[group] - _paired_sum(v * p)
        memories[memory] = (group, pairs, p)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        model_step = -slope / curvature
        # the path x - t g meets the bound it points to at t = breakpoint (none where g is 0 or NaN)
        breakpoint = np.where(g > 0, (x - lo) / g, (hi - x) / downhill)
    at_bound = ((g > 0) | (g < 0)) & ~(model_step < breakpoint)
    model_step = np.where(model_step <= 0, 0.0, model_step)
    # SciPy moves x with BLAS daxpy, which OpenBLAS fuses into one multiply-add on FMA hardware
    target = np.where(at_bound, np.where(g > 0, lo, hi), _fused_multiply_add(model_step, downhill, x))
    free = ~at_bound
    # freev: did the variable enter the free set (counted after the first iteration)? (One that left it is at
    # a bound: it takes no subspace step.)
    counted = state["n_iter"][rows] > 0
    entering = counted & free & ~state["was_free"][rows]
    state["was_free"][rows] = free
    failed = []
    subspace = free & (col > 0)
    for memory, group in _lbfgsb_groups(np.where(subspace, col, 0)):
        # the problems of this group are among those gathered for the Cauchy point: reuse their pairs and p
        everyone, pairs, p = memories[memory]
        positions = np.searchsorted(everyone, group)
        if positions.size < everyone.size:
            pairs, p = _take_memory(pairs, positions), p[:, positions]
        factor, ok = _formk(state, pairs, entering[group])
        failed.append(pairs["rows"][~ok])
        kept = np.flatnonzero(ok)
        if kept.size == 0:
            continue
        if kept.size < group.size:
            group, pairs, p, factor = group[kept], _take_memory(pairs, kept), p[:, kept], factor[..., kept]
        # c = W'(xcp - x) for cmprlb, from the Cauchy step
        c = model_step[group] * p
        target[group] = _subspace_step(pairs, factor, x[group], g[group], target[group], c, lo[group], hi[group])
    failed = np.concatenate(failed) if failed else np.zeros(0, dtype=int)
    _lbfgsb_reset_memory(state, failed)
    state["target"][rows] = target
    return failed


def _fused_multiply_add(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """a * b + c with a single rounding (error-free product by Dekker's splitting, then a compensated sum)."""
    with np.errstate(all="ignore"):
        product = a * b
        split_a, split_b = a * 134217729.0, b * 134217729.0  # 2**27 + 1
        high_a, high_b = split_a - (split_a - a), split_b - (split_b - b)
        low_a, low_b = a - high_a, b - high_b
        product_error = ((high_a * high_b - product) + high_a * low_b + low_a * high_b) + low_a * low_b
        total = product + c
        virtual = total - product
        sum_error = (product - (total - virtual)) + (c - virtual)
        fused = total + (sum_error + product_error)
    return np.where(np.isfinite(fused), fused, product + c)


def _lbfgsb_groups(col: np.ndarray):
    """(number of pairs, increasing positions) for each number of pairs present, 0 left out."""
    order = np.argsort(col, kind="stable")
    ends = np.cumsum(np.bincount(col))
    for memory in range(1, ends.size):
        if ends[memory] > ends[memory - 1]:
            yield memory, order[ends[memory - 1] : ends[memory]]


# ------------------------------------------------------------------ the compact memory of a group of problems
# The small matrices are stored with the problem axis last: state["sy"][i, j] holds entry (i, j) of every
# problem's S'Y, so the leading k x k block of a group of problems is gathered (and scattered) by one flat index
# into contiguous rows, and the algebra below works on whole (problems,) vectors at a time.
#
# The sums of products are accumulated in exactly the order in which the first version of this port (which
# called numpy.einsum on arrays with the problem axis first) accumulated them, to keep its results bit for
# bit: einsum (NumPy 2 on x86-64, SSE baseline: two float64 lanes, no fused multiply-add) adds up a reduction
# whose operands are contiguous in two interleaved partial sums (its SIMD lanes; :func:`_paired_sum`) and any
# other reduction one term after the other (:func:`_sequential_sum`). Back substitution still calls einsum
# (:func:`_solve_upper`): each row's sum needs all the unknowns after it.


def _block_index(size: int, k: int, rows: np.ndarray, n: int) -> np.ndarray:
    """Flat positions of the leading k x k block of a (size, size, n) state array for the problems ``rows``."""
    index = np.arange(k)
    return ((index[:, None] * size + index[None, :]) * n)[:, :, None] + rows


def _gather_memory(state: dict, rows: np.ndarray, k: int) -> dict:
    """The k pairs of the problems ``rows``: s, y (k, G), theta, S'Y's diagonal (and its square root) and
    strict lower part, wt (and wt with the problem axis first, once :func:`_bmv` needs it)."""
    n = state["theta"].size
    pairs = (np.arange(k) * n)[:, None] + rows
    square = _block_index(_MEMORY, k, rows, n)
    sy = np.take(state["sy"].reshape(-1), square)
    index = np.arange(k)
    return {
        "rows": rows,
        "s": np.take(state["s"].reshape(-1), pairs),
        "y": np.take(state["y"].reshape(-1), pairs),
        "theta": state["theta"][rows],
        "diagonal": sy[index, index],
        "root": np.sqrt(sy[index, index]),
        "lower": np.where((index[:, None] > index[None, :])[:, :, None], sy, 0.0),
        "wt": np.take(state["wt"].reshape(-1), square),
    }


def _positions(mask: np.ndarray) -> np.ndarray | slice | None:
    """Where ``mask`` holds, as an index: None for nowhere, a slice for everywhere."""
    if mask.all():
        return np.s_[:]
    positions = np.flatnonzero(mask)
    return positions if positions.size else None


def _take_memory(pairs: dict, positions: np.ndarray) -> dict:
    """The memory of some of the problems of a group (positions along the problem axis)."""
    if positions.size == pairs["rows"].size:  # all of them (positions are increasing)
        return pairs
    return {name: value[positions] if name == "wt_first" else value[..., positions] for name, value in pairs.items()}


def _sequential_sum(terms: np.ndarray | Callable, count: int | None = None) -> np.ndarray:
    """The sum over the first axis of ``terms``, one term after the other from 0.

    ``terms`` is an array, or a function of a slice of positions that returns those terms stacked (with their
    ``count``), so that large sets of terms are never formed at once.
    """
    if not callable(terms):
        terms, count = terms.__getitem__, terms.shape[0]
    total = 0.0
    for start in range(count):
        total = terms(slice(start, start + 1))[0] + total
    return total


def _paired_sum(terms: np.ndarray | Callable, count: int | None = None) -> np.ndarray:
    """The sum over the first axis as numpy.einsum adds up contiguous operands with 2-lane SIMD.

    Terms 0, 2, 4, ... go to one partial sum and 1, 3, 5, ... to the other, blocks of 8 terms innermost-last
    (t6, t4, t2, t0 onto the first), the rest in order; the result is the sum of the two. ``terms`` is as for
    :func:`_sequential_sum`.
    """
    if not callable(terms):
        terms, count = terms.__getitem__, terms.shape[0]
    lanes, start = 0.0, 0
    while count - start >= 8:
        for offset in (6, 4, 2, 0):
            lanes = terms(slice(start + offset, start + offset + 2)) + lanes
        start += 8
    while count - start >= 2:
        lanes = terms(slice(start, start + 2)) + lanes
        start += 2
    first, second = (lanes[0], lanes[1]) if isinstance(lanes, np.ndarray) else (lanes, lanes)
    if start < count:
        first = terms(slice(start, count))[0] + first
    return first + second


def _cauchy_p(pairs: dict, downhill: np.ndarray) -> np.ndarray:
    """cauchy's p = W'd for d = -g: (y_j d, theta s_j d) for the k pairs, shape (2k, G)."""
    theta = pairs["theta"]
    scaled = pairs["s"] * downhill
    scaled = np.where(theta != 1.0, scaled * theta, scaled)
    return np.concatenate([pairs["y"] * downhill, scaled])


def _bmv(pairs: dict, v: np.ndarray) -> np.ndarray:
    """bmv: the product of the compact formula's 2k x 2k middle matrix with v (2k, G), one v per problem."""
    k = pairs["s"].shape[0]
    diagonal, lower, wt = pairs["diagonal"], pairs["lower"], pairs["wt"]
    if "wt_first" not in pairs:
        pairs["wt_first"] = np.ascontiguousarray(wt.transpose(2, 0, 1))
    v1, v2 = v[:k], v[k:]
    # L D^-1 v1, and further down L' p2 (terms indexed by the summed index first)
    p2 = v2 + _paired_sum(lower.transpose(1, 0, 2) * (v1 / diagonal)[:, None, :])
    p2 = _solve_upper(wt, _solve_upper_transposed(wt, p2), pairs["wt_first"])
    p1 = -(v1 / pairs["root"]) / pairs["root"]
    p1 = p1 + _sequential_sum(lower * p2[:, None, :]) / diagonal
    return np.concatenate([p1, p2])


def _solve_upper_transposed(upper: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve U' x = b for upper-triangular U (K, K, G) by forward substitution; b is (K, G) or (K, R, G)."""
    size = upper.shape[0]
    x, sums = np.empty_like(b), np.zeros_like(b)
    columns = (slice(None),) + (None,) * (b.ndim - 2)  # U's row against every right-hand side
    for i in range(size):
        x[i] = (b[i] - sums[i]) / upper[i, i]
        # each later unknown's sum gains its term of this one
        sums[i + 1 :] += upper[i, i + 1 :][columns] * x[i]
    return x


def _solve_upper(upper: np.ndarray, b: np.ndarray, rows_first: np.ndarray | None = None) -> np.ndarray:
    """Solve U x = b for upper-triangular U (K, K, G) by back substitution; b is (K, G).

    Each row's sum is one einsum over contiguous operands (a paired sum, see :func:`_paired_sum`), on copies
    with the problem axis first (``rows_first``: U so, if at hand).
    """
    size = upper.shape[0]
    if rows_first is None:
        rows_first = np.ascontiguousarray(upper.transpose(2, 0, 1))
    x = np.zeros(b.shape[::-1])
    for i in range(size - 1, -1, -1):
        x[:, i] = (b[i] - np.einsum("gj,gj->g", rows_first[:, i, i + 1 :], x[:, i + 1 :])) / upper[i, i]
    return x.T


def _upper_cholesky(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Upper Cholesky factors U'U = A (LAPACK's dpotrf "U") of A (K, K, G), and where they exist (a pivot > 0).

    Only the upper triangles of A and U are read and meaningful. Row j of U takes the sums of
    U[i, a] U[i, b] over the rows i < j, accumulated row by row as each row is finished.
    """
    size = matrix.shape[0]
    factor, sums, pivots = matrix.copy(), np.zeros_like(matrix), np.empty(matrix.shape[1:])
    for j in range(size):
        pivots[j] = factor[j, j] - sums[j, j]
        pivot = np.sqrt(np.where(pivots[j] > 0, pivots[j], 1.0))
        factor[j, j] = pivot
        if j + 1 < size:
            factor[j, j + 1 :] = (factor[j, j + 1 :] - sums[j, j + 1 :]) * (1.0 / pivot)
            row = factor[j, j + 1 :]
            sums[j + 1 :, j + 1 :] += row[:, None] * row[None, :]
    return factor, ~np.any(pivots <= 0, axis=0)


_WN1_BLOCKS = ("wn1_yy", "wn1_ss", "wn1_sy")
"""SciPy's 2m x 2m matrix wn1 as its three m x m blocks (lower triangles): Y'ZZ'Y (at offset [0, 0]), S'AA'S
(at [m, m]) and L_a + R_z (at [m, 0]); the fourth block is never used."""


def _formk(state: dict, pairs: dict, entering: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """formk for one free variable: update the blocks N (wn1), form K and factorise it into wn.

    wn1 holds [[Y'ZZ'Y, .], [L_a + R_z, S'AA'S]] (lower triangles, stored as the blocks :data:`_WN1_BLOCKS`) and
    is updated by increments: a new pair's row and column, and the variables that entered or left the free set
    since the previous call. Returns wn, the upper Cholesky factor of K (2k, 2k, G), and where both
    factorisations succeeded.

    SciPy keeps wn between iterations and factorises K again only where a pair was added or the variable
    entered the free set. wn is not stored here: where neither happened, wn1, theta and S'Y have not changed
    since wn was last formed, so it is formed again from them, to the bit (and its factorisation succeeds
    again).
    """
    m, n = _MEMORY, state["theta"].size
    rows, s, y, theta = pairs["rows"], pairs["s"], pairs["y"], pairs["theta"]
    k = s.shape[0]
    updated = state["updated"][rows]
    new = k - 1
    # the memory was full: the oldest pair left, every block shifts up and left by one
    shift = rows[updated & (state["n_updates"][rows] > m)]
    if shift.size:
        for name in _WN1_BLOCKS:
            state[name][:-1, :-1, shift] = state[name][1:, 1:, shift]
    square = _block_index(m, k, rows, n)
    top, middle, corner = (np.take(state[name].reshape(-1), square) for name in _WN1_BLOCKS)
    # the new pair's row of Y'ZZ'Y (the variable is free), of S'AA'S and L_a (no active variable: 0)
    # and its column of R_z
    top[new] = np.where(updated, y[new] * y, top[new])
    middle[new] = np.where(updated, 0.0, middle[new])
    corner[new] = np.where(updated, 0.0, corner[new])
    corner[:, new] = np.where(updated, s * y[new], corner[:, new])
    index = np.arange(k)
    lower = (index[:, None] >= index[None, :])[:, :, None]
    # a variable that entered the free set moves its terms from S'AA'S and L_a to Y'ZZ'Y and R_z
    if np.any(entering):
        old = np.where(updated, k - 1, k)
        move = (index[:, None, None] < old) & (index[None, :, None] < old) & entering
        strictly_lower = (index[:, None] > index[None, :])[:, :, None]
        sy = s[:, None] * y[None, :]
        top = np.where(move & lower, top + y[:, None] * y[None, :], top)
        middle = np.where(move & lower, middle - s[:, None] * s[None, :], middle)
        corner = np.where(move, np.where(strictly_lower, corner - sy, corner + sy), corner)
    # store what changed: the new pair's row of each block and column of R_z, the blocks where the variable
    # entered the free set
    added, entered = _positions(updated), _positions(entering)
    for name, block in zip(_WN1_BLOCKS, (top, middle, corner), strict=True):
        if added is not None:
            state[name].reshape(-1)[square[new][:, added]] = block[new][:, added]
        if entered is not None:
            state[name].reshape(-1)[square[..., entered]] = block[..., entered]
    if added is not None:
        state["wn1_sy"].reshape(-1)[square[:, new][:, added]] = corner[:, new][:, added]
    # K's upper triangle: [[D + Y'ZZ'Y / theta, -L_a' + R_z'], [., theta S'AA'S]] (the lower triangles of the
    # blocks on the diagonal are not read)
    wn = np.zeros((2 * k, 2 * k, rows.size))
    wn[:k, :k] = top.transpose(1, 0, 2) / theta
    wn[k:, k:] = middle.transpose(1, 0, 2) * theta
    corner = corner.transpose(1, 0, 2)  # [jy, iy] = wn1[m + iy, jy]
    wn[:k, k:] = np.where(~lower, -corner, corner)
    wn[index, index] += pairs["diagonal"]
    top, ok_top = _upper_cholesky(wn[:k, :k])
    coupling = _solve_upper_transposed(top, wn[:k, k:])
    schur = wn[k:, k:] + _sequential_sum(lambda kk: coupling[kk, :, None] * coupling[kk, None, :], k)
    bottom, ok_bottom = _upper_cholesky(schur)
    wn[:k, :k], wn[:k, k:], wn[k:, k:] = top, coupling, bottom
    return wn, ok_top & ok_bottom


def _subspace_step(pairs: dict, factor: np.ndarray, x, g, cauchy, c, lo, hi):
    """cmprlb and subsm: the Newton step of the model from the Cauchy point, projected onto the box.

    ``factor`` is wn, the upper Cholesky factor of K (2k, 2k, G); ``c`` is W'(xcp - x) (2k, G).
    """
    theta, s, y = pairs["theta"], pairs["s"], pairs["y"]
    k = s.shape[0]
    # r = -Z'(B(xcp - x) + g), with W'(xcp - x) = c
    reduced = -theta * (cauchy - x) - g
    product = _bmv(pairs, c)
    for j in range(k):
        reduced = (reduced + y[j] * product[j]) + s[j] * (theta * product[k + j])
    # d = r / theta + Z'W K^-1 W'Z r / theta^2, with K = wn's upper triangle U: K^-1 = U^-1 E U'^-1
    wv = np.concatenate([y * reduced, theta * (s * reduced)])
    wv = _solve_upper_transposed(factor, wv)
    wv[:k] = -wv[:k]
    wv = _solve_upper(factor, wv)
    step = reduced
    for j in range(k):
        step = (step + (y[j] * wv[j] / theta)) + s[j] * wv[k + j]
    step = step * (1.0 / theta)
    # project the Newton point onto the box; if that point is uphill from x, go back and stop at the bound
    point = np.fmin(hi, np.fmax(lo, cauchy + step))
    on_bound = (point == lo) | (point == hi)
    uphill = on_bound & ((point - x) * g > 0)
    to_bound = np.where(step < 0, lo - cauchy, hi - cauchy)
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(
            ((step < 0) & (to_bound >= 0)) | ((step > 0) & (to_bound <= 0)),
            0.0,
            np.where(
                ((step < 0) & (step * 1.0 < to_bound)) | ((step > 0) & (step * 1.0 > to_bound)), to_bound / step, 1.0
            ),
        )
    cut = fraction < 1.0
    backtracked = np.where(cut & (step != 0), np.where(step > 0, hi, lo), cauchy + fraction * step)
    return np.where(uphill, backtracked, point)


def _lbfgsb_trial_point(state: dict, rows: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """x + stp d, kept inside the box against rounding (the target point itself for stp = 1)."""
    stp = state["stp"][rows]
    moved = stp * state["direction"][rows] + state["start_x"][rows]
    moved = np.fmin(np.fmax(moved, low[rows]), high[rows])
    return np.where(stp == 1.0, state["target"][rows], moved)


def _lbfgsb_line_search_failed(state: dict, rows: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:
    """Back to the line search's start; restart with an empty memory once, else stop abnormally."""
    if rows.size == 0:
        return
    for name in ("x", "f", "g"):
        state[name][rows] = state[f"start_{name}"][rows]
    paired = state["col"][rows] > 0
    state["status"][rows[~paired]] = _ABNORMAL
    restart = rows[paired]
    _lbfgsb_reset_memory(state, restart)
    _lbfgsb_begin_iteration(state, restart, low, high)


def _lbfgsb_new_iterate(
    state: dict,
    rows: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    pgtol: float,
    reduction_tol: float,
    max_iter: int,
) -> None:
    """An accepted step: count it, test for convergence, store the pair (matupd, formt), begin the next."""
    if rows.size == 0:
        return
    state["n_iter"][rows] += 1
    x, f, g = state["x"][rows], state["f"][rows], state["g"][rows]
    f_old = state["start_f"][rows]
    limit = state["n_iter"][rows] >= max_iter
    small_gradient = _projected_gradient_norm(x, g, low[rows], high[rows]) <= pgtol
    scale = np.fmax(np.fmax(np.abs(f_old), np.abs(f)), 1.0)
    small_reduction = (f_old - f) <= reduction_tol * scale
    state["status"][rows] = np.select(
        [limit, small_gradient, small_reduction], [_ITERATION_LIMIT, _GRADIENT_TEST, _REDUCTION_TEST], _RUNNING
    )
    going = rows[~(limit | small_gradient | small_reduction)]
    # s = stp d, y = g - g_old; the pair is kept only if s y > eps |s g_old|
    stp, gd, gd_start = state["stp"][going], state["gd"][going], state["gd_start"][going]
    direction = state["direction"][going]
    change = state["g"][going] - state["start_g"][going]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        unit = stp == 1.0
        curvature = np.where(unit, gd - gd_start, (gd - gd_start) * stp)
        reference = np.where(unit, -gd_start, -gd_start * stp)
        keep = ~(curvature <= _EPS * reference)
        step = np.where(unit, direction, direction * stp)
        length = np.where(unit, direction * direction, stp * stp * (direction * direction))
        kept = going[keep]
        state["updated"][going] = keep
        state["n_updates"][kept] += 1
        state["theta"][kept] = change[keep] * change[keep] / curvature[keep]
    failed = _matupd_formt(state, kept, step[keep], change[keep], curvature[keep], length[keep])
    _lbfgsb_reset_memory(state, failed)
    _lbfgsb_begin_iteration(state, going, low, high)


def _matupd_formt(
    state: dict, rows: np.ndarray, step: np.ndarray, change: np.ndarray, curvature: np.ndarray, length: np.ndarray
) -> np.ndarray:
    """matupd and formt: store the pair (s, y), extend S'Y and S'S, factorise T = theta S'S + L D^-1 L'.

    Returns the rows where the Cholesky factorisation of T failed.
    """
    if rows.size == 0:
        return rows
    m, n = _MEMORY, state["theta"].size
    full = rows[state["n_updates"][rows] > m]
    # the memory is full: the oldest pair leaves
    if full.size:
        state["s"][:-1, full], state["y"][:-1, full] = state["s"][1:, full], state["y"][1:, full]
        for name in ("sy", "ss"):
            state[name][:-1, :-1, full] = state[name][1:, 1:, full]
    col = np.minimum(state["n_updates"][rows], m)
    state["col"][rows] = col
    state["max_col"][rows] = np.maximum(state["max_col"][rows], col)
    state["s"][col - 1, rows], state["y"][col - 1, rows] = step, change
    sy, ss = state["sy"].reshape(-1), state["ss"].reshape(-1)
    failed = []
    for memory, group in _lbfgsb_groups(col):
        members, new = rows[group], memory - 1
        pairs = (np.arange(memory) * n)[:, None] + members
        square = _block_index(m, memory, members, n)
        sy_k, ss_k = np.take(sy, square), np.take(ss, square)
        # the new row of S'Y (s_new y_j) and column of S'S (s_j s_new) against the older pairs j
        sy_k[new, :new] = step[group] * np.take(state["y"].reshape(-1), pairs[:new])
        ss_k[:new, new] = np.take(state["s"].reshape(-1), pairs[:new]) * step[group]
        sy_k[new, new], ss_k[new, new] = curvature[group], length[group]
        sy[square[new]], ss[square[:, new]] = sy_k[new], ss_k[:, new]
        factor, ok = _upper_cholesky(_formt_matrix(sy_k, ss_k, state["theta"][members]))
        state["wt"].reshape(-1)[square] = factor
        failed.append(members[~ok])
    return np.concatenate(failed) if failed else np.zeros(0, dtype=int)


def _formt_matrix(sy: np.ndarray, ss: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """T = theta S'S + L D^-1 L' (k, k, G), from S'Y (strict lower triangle L, diagonal D) and S'S (upper)."""
    index = np.arange(sy.shape[0])
    lower = np.where((index[:, None] > index[None, :])[:, :, None], sy, 0.0)
    scaled = (lower / sy[index, index][None, :, :]).transpose(1, 0, 2)  # [kk, i] = L[i, kk] / D[kk]
    lower = lower.transpose(1, 0, 2)  # [kk, j] = L[j, kk]

    def terms(kk: slice) -> np.ndarray:  # [kk, i, j] = L[i, kk] L[j, kk] / D[kk], summed over kk
        return scaled[kk][:, :, None] * lower[kk][:, None, :]

    return theta * ss + _paired_sum(terms, sy.shape[0])


def _dcsrch_step(state: dict, rows: np.ndarray) -> np.ndarray:
    """One call of Moré & Thuente's ``dcsrch`` for each problem in ``rows``, at its trial step ``stp``.

    ``state["f"]`` and ``state["gd"]`` hold :math:`\\phi(stp) = f(x + stp\\,d)` and :math:`\\phi'(stp)`.
    Returns True where the search ends (sufficient decrease and curvature, or one of dcsrch's warnings: the
    step is accepted); elsewhere ``state["stp"]`` is the next trial step.
    """
    s = {name: state[name][rows] for name in _DCSRCH_FIELDS}
    f, g, stp = state["f"][rows], state["gd"][rows], s["stp"]
    ftest = s["finit"] + stp * s["gtest"]
    s["stage"] = np.where((s["stage"] == 1) & (f <= ftest) & (g >= 0.0), 2, s["stage"])
    brackt, stmin, stmax, stpmax = s["brackt"], s["stmin"], s["stmax"], s["stpmax"]
    warning = (
        (brackt & ((stp <= stmin) | (stp >= stmax)))
        | (brackt & (stmax - stmin <= _LS_XTOL * stmax))
        | ((stp == stpmax) & (f <= ftest) & (g <= s["gtest"]))
        | ((stp == 0.0) & ((f > ftest) | (g >= s["gtest"])))
    )
    converged = (f <= ftest) & (np.abs(g) <= _LS_GTOL * (-s["ginit"]))
    done = warning | converged
    go = ~done
    # stage 1 with a lower f but not a sufficient decrease: step on the modified function psi
    modified = go & (s["stage"] == 1) & (f <= s["fx"]) & (f > ftest)
    gtest = s["gtest"]
    shift = np.where(modified, gtest, 0.0)
    fp = np.where(modified, f - stp * gtest, f)
    fx = np.where(modified, s["fx"] - s["stx"] * gtest, s["fx"])
    fy = np.where(modified, s["fy"] - s["sty"] * gtest, s["fy"])
    dp, dx, dy = g - shift, s["gx"] - shift, s["gy"] - shift
    stx, fx, dx, sty, fy, dy, new_stp, brackt = _dcstep(
        s["stx"], fx, dx, s["sty"], fy, dy, stp, fp, dp, brackt, stmin, stmax
    )
    fx = np.where(modified, fx + stx * gtest, fx)
    fy = np.where(modified, fy + sty * gtest, fy)
    dx, dy = np.where(modified, dx + gtest, dx), np.where(modified, dy + gtest, dy)
    # a bisection step where the bracket did not shrink enough over the last two steps
    width = np.abs(sty - stx)
    bisect = brackt & (width >= 0.66 * s["width1"])
    new_stp = np.where(bisect, stx + 0.5 * (sty - stx), new_stp)
    width1 = np.where(brackt, s["width"], s["width1"])
    width = np.where(brackt, width, s["width"])
    stmin = np.where(brackt, np.fmin(stx, sty), new_stp + _EXTRAPOLATE_LOW * (new_stp - stx))
    stmax = np.where(brackt, np.fmax(stx, sty), new_stp + _EXTRAPOLATE_HIGH * (new_stp - stx))
    new_stp = np.fmin(np.fmax(new_stp, 0.0), stpmax)
    stuck = brackt & ((new_stp <= stmin) | (new_stp >= stmax) | (stmax - stmin <= _LS_XTOL * stmax))
    new_stp = np.where(stuck, stx, new_stp)
    updated = {
        "stx": stx,
        "fx": fx,
        "gx": dx,
        "sty": sty,
        "fy": fy,
        "gy": dy,
        "stp": new_stp,
        "brackt": brackt,
        "width": width,
        "width1": width1,
        "stmin": stmin,
        "stmax": stmax,
    }
    for name, value in updated.items():
        s[name] = np.where(go, value, s[name])
    for name in _DCSRCH_FIELDS:
        state[name][rows] = s[name]
    return done


_DCSRCH_FIELDS = (
    "stp",
    "stpmax",
    "brackt",
    "stage",
    "ginit",
    "gtest",
    "finit",
    "stx",
    "fx",
    "gx",
    "sty",
    "fy",
    "gy",
    "stmin",
    "stmax",
    "width",
    "width1",
)


def _dcstep(stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax):
    """Moré & Thuente's ``dcstep``, elementwise: the next trial step and the updated bracket.

    ``stx`` is the best step so far, ``sty`` the other end of the bracket, ``stp`` the current step; f and its
    derivative at each are ``fx, dx``, ``fy, dy``, ``fp, dp``. Four cases by the values at ``stp`` (a higher f;
    a lower f and a derivative of opposite sign; the same sign and a smaller slope; the same sign and no smaller
    slope) choose between the minimiser of the cubic interpolant, the secant (quadratic) step and the ends.
    """
    with np.errstate(all="ignore"):
        sgnd = dp * (dx / np.abs(dx))
        higher = fp > fx
        opposite = ~higher & (sgnd < 0.0)
        decreasing = ~higher & ~opposite & (np.abs(dp) < np.abs(dx))

        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        s = np.fmax(np.abs(theta), np.fmax(np.abs(dx), np.abs(dp)))
        root = (theta / s) ** 2 - (dx / s) * (dp / s)

        # case 1: the minimum is bracketed; cubic step, or halfway to the quadratic one if that is closer to stx
        gamma = s * np.sqrt(root)
        gamma = np.where(stp < stx, -gamma, gamma)
        p = (gamma - dx) + theta
        q = ((gamma - dx) + gamma) + dp
        stpc = stx + (p / q) * (stp - stx)
        stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx)
        step1 = np.where(np.abs(stpc - stx) < np.abs(stpq - stx), stpc, stpc + (stpq - stpc) / 2.0)

        # case 2: bracketed by the sign change; the cubic step if farther from stp than the secant step
        gamma = s * np.sqrt(root)
        gamma = np.where(stp > stx, -gamma, gamma)
        p = (gamma - dp) + theta
        q = ((gamma - dp) + gamma) + dx
        stpc = stp + (p / q) * (stx - stp)
        secant = stp + (dp / (dp - dx)) * (stx - stp)
        step2 = np.where(np.abs(stpc - stp) > np.abs(secant - stp), stpc, secant)

        # case 3: the cubic step only if the cubic tends to infinity in the step's direction or its minimum
        # lies beyond stp; safeguarded by the bracket, or extrapolated within [stpmin, stpmax]
        gamma = s * np.sqrt(np.fmax(0.0, root))
        gamma = np.where(stp > stx, -gamma, gamma)
        p = (gamma - dp) + theta
        q = (gamma + (dx - dp)) + gamma
        r = p / q
        stpc = np.where((r < 0.0) & (gamma != 0.0), stp + r * (stx - stp), np.where(stp > stx, stpmax, stpmin))
        closer = np.where(np.abs(stpc - stp) < np.abs(secant - stp), stpc, secant)
        limit = stp + 0.66 * (sty - stp)
        inside = np.where(stp > stx, np.fmin(limit, closer), np.fmax(limit, closer))
        farther = np.where(np.abs(stpc - stp) > np.abs(secant - stp), stpc, secant)
        outside = np.fmax(stpmin, np.fmin(stpmax, farther))
        step3 = np.where(brackt, inside, outside)

        # case 4: the cubic through stp and sty if bracketed, else the end of the allowed interval
        theta4 = 3.0 * (fp - fy) / (sty - stp) + dy + dp
        s4 = np.fmax(np.abs(theta4), np.fmax(np.abs(dy), np.abs(dp)))
        gamma = s4 * np.sqrt((theta4 / s4) ** 2 - (dy / s4) * (dp / s4))
        gamma = np.where(stp > sty, -gamma, gamma)
        p = (gamma - dp) + theta4
        q = ((gamma - dp) + gamma) + dy
        stpc = stp + (p / q) * (sty - stp)
        step4 = np.where(brackt, stpc, np.where(stp > stx, stpmax, stpmin))

    new_stp = np.where(higher, step1, np.where(opposite, step2, np.where(decreasing, step3, step4)))
    brackt = brackt | higher | opposite
    # the bracket: stp replaces sty if f rose, else it becomes the best step (stx moving to sty on a sign change)
    new_sty = np.where(higher, stp, np.where(opposite, stx, sty))
    new_fy = np.where(higher, fp, np.where(opposite, fx, fy))
    new_dy = np.where(higher, dp, np.where(opposite, dx, dy))
    new_stx, new_fx, new_dx = (np.where(higher, old, new) for old, new in ((stx, stp), (fx, fp), (dx, dp)))
    return new_stx, new_fx, new_dx, new_sty, new_fy, new_dy, new_stp, brackt
