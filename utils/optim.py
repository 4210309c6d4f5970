"""Optimisers that later lessons reuse, each written plainly and matched to the library practitioners use.

- :func:`optimizer_trajectory` runs SGD (with momentum or Nesterov), AdaGrad, RMSprop, Adam, AMSGrad and AdamW
  in NumPy float64 with ``torch.optim``'s exact update rules and hyper-parameter names; :func:`torch_trajectory`
  runs ``torch.optim`` itself on the same gradient, so the two trajectories can be compared to rounding error.
- :func:`minimize_scalar_batched` minimises many independent one-dimensional functions at once (one per gene:
  a dispersion, a log fold change) by Newton's method kept inside a shrinking bracket;
  :mod:`utils.lbfgsb` runs SciPy's L-BFGS-B on many such problems at once, stopping each where SciPy stops.
- :func:`project_simplex` and :func:`projected_gradient` for constraints, :func:`proximal_gradient` for the
  LASSO and non-negative least squares (ISTA and FISTA).

References: Nocedal & Wright, *Numerical Optimization*, 2nd ed. (2006), ch. 2-3; Kingma & Ba, "Adam", ICLR
(2015), Algorithm 1; Loshchilov & Hutter, "Decoupled weight decay regularization", ICLR (2019); Duchi et al.,
"Efficient projections onto the l1-ball for learning in high dimensions", ICML (2008), Fig. 1; Beck & Teboulle,
"A fast iterative shrinkage-thresholding algorithm for linear inverse problems", *SIAM J. Imaging Sci.* 2(1)
(2009); the ``torch.optim`` documentation (each optimiser's "Algorithm" section).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from utils._validation import as_array, as_matrix, as_vector, check_callable, check_integer, check_scalar
from utils.linalg import soft_threshold

METHODS = ("sgd", "adagrad", "rmsprop", "adam", "adamw")
"""The update rules of :func:`optimizer_trajectory`, named as their ``torch.optim`` classes (lower case)."""

_DEFAULTS: dict[str, dict[str, Any]] = {
    "sgd": {"momentum": 0.0, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0},
    "adagrad": {"lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10},
    "rmsprop": {"alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0, "centered": False},
    "adam": {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False},
    "adamw": {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2, "amsgrad": False},
}

Schedule = float | Callable[[int], float]


def _hyper_parameters(method: str, options: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(method, str) or method.lower() not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    method = method.lower()
    unknown = set(options) - set(_DEFAULTS[method])
    if unknown:
        raise TypeError(f"{method} takes {sorted(_DEFAULTS[method])}, not {sorted(unknown)}")
    settings = {**_DEFAULTS[method], **options}
    if "betas" in settings:
        betas = settings["betas"]
        if len(betas) != 2 or not all(0.0 <= float(b) < 1.0 for b in betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
    for name in ("momentum", "weight_decay", "dampening", "lr_decay", "initial_accumulator_value"):
        if name in settings:
            check_scalar(settings[name], name, nonnegative=True)
    if "eps" in settings:
        check_scalar(settings["eps"], "eps", nonnegative=True)
    if "alpha" in settings:
        check_scalar(settings["alpha"], "alpha", nonnegative=True, upper=1.0)
    if settings.get("nesterov") and (settings["momentum"] <= 0 or settings["dampening"] != 0):
        raise ValueError("nesterov=True needs momentum > 0 and dampening = 0 (as torch.optim.SGD)")
    return settings


def _learning_rate(lr: Schedule, step: int) -> float:
    value = lr(step) if callable(lr) else lr
    return check_scalar(value, "lr" if not callable(lr) else f"lr({step})", nonnegative=True)


def _validate_run(gradient: Any, x0: Any, n_steps: Any, lr: Schedule) -> np.ndarray:
    check_callable(gradient, "gradient")
    start = as_vector(x0, "x0")
    check_integer(n_steps, "n_steps", minimum=0)
    if not callable(lr):
        check_scalar(lr, "lr", positive=True)
    return start


def _gradient_at(gradient: Callable[[np.ndarray], Any], x: np.ndarray, step: int) -> np.ndarray:
    value = as_array(gradient(x.copy()), f"gradient(x) at step {step}", finite=False)
    if value.shape != x.shape:
        raise ValueError(f"gradient(x) must have the shape of x0 {x.shape}, got {value.shape} at step {step}")
    return value


def optimizer_trajectory(
    method: str,
    gradient: Callable[[np.ndarray], Any],
    x0: Any,
    n_steps: int,
    lr: Schedule,
    **options: Any,
) -> np.ndarray:
    """Iterates of a first-order method, written out in NumPy float64 with ``torch.optim``'s update rules.

    With :math:`g_t = \\nabla f(x_{t-1}) + \\lambda x_{t-1}` (L2 weight decay :math:`\\lambda`, except AdamW), Adam is

    .. math::

        m_t = \\beta_1 m_{t-1} + (1-\\beta_1) g_t,\\quad v_t = \\beta_2 v_{t-1} + (1-\\beta_2) g_t^2,\\quad
        x_t = x_{t-1} - \\frac{\\eta}{1-\\beta_1^t}\\,\\frac{m_t}{\\sqrt{v_t}/\\sqrt{1-\\beta_2^t} + \\epsilon},

    AdamW first shrinks :math:`x_{t-1} \\leftarrow (1 - \\eta\\lambda) x_{t-1}` and leaves :math:`g_t` alone;
    the other rules are those of the ``torch.optim`` documentation (Kingma & Ba 2015; Loshchilov & Hutter 2019).

    Parameters
    ----------
    method : {"sgd", "adagrad", "rmsprop", "adam", "adamw"}
        ``"adam"`` with ``amsgrad=True`` is AMSGrad; ``"sgd"`` with ``momentum``/``nesterov`` is heavy ball or
        Nesterov in torch's parameterisation (``buf = momentum * buf + g``, ``x -= lr * buf``).
    gradient : callable
        ``gradient(x)`` for a 1-D float64 array ``x``; returns an array of the same shape.
    x0 : array_like, shape (d,)
    n_steps : int
        Number of updates.
    lr : float or callable
        Step size, or a schedule ``lr(step)`` with ``step = 0`` for the first update.
    **options
        The hyper-parameters of the matching ``torch.optim`` class, with its defaults (``betas``, ``eps``,
        ``weight_decay``, ``momentum``, ``alpha``, ...). An unknown name raises ``TypeError``.

    Returns
    -------
    numpy.ndarray, shape (n_steps + 1, d)
        Row 0 is ``x0``, row t the iterate after t updates.
    """
    settings = _hyper_parameters(method, options)
    x = _validate_run(gradient, x0, n_steps, lr).copy()
    method = method.lower()
    trajectory = np.empty((n_steps + 1, x.size))
    trajectory[0] = x
    state: dict[str, Any] = {}
    for step in range(n_steps):
        rate = _learning_rate(lr, step)
        grad = _gradient_at(gradient, x, step)
        x = _UPDATES[method](x, grad, rate, step + 1, state, settings)
        trajectory[step + 1] = x
    return trajectory


def _sgd(x, grad, lr, step, state, s):
    grad = grad + s["weight_decay"] * x
    if s["momentum"] > 0:
        if step == 1:
            state["buffer"] = grad.copy()  # torch starts the buffer at the first gradient, without dampening
        else:
            state["buffer"] = s["momentum"] * state["buffer"] + (1 - s["dampening"]) * grad
        grad = grad + s["momentum"] * state["buffer"] if s["nesterov"] else state["buffer"]
    return x - lr * grad


def _adagrad(x, grad, lr, step, state, s):
    grad = grad + s["weight_decay"] * x
    state.setdefault("sum", np.full_like(x, s["initial_accumulator_value"]))
    state["sum"] = state["sum"] + grad * grad
    clr = lr / (1 + (step - 1) * s["lr_decay"])
    return x - clr * grad / (np.sqrt(state["sum"]) + s["eps"])


def _rmsprop(x, grad, lr, step, state, s):
    grad = grad + s["weight_decay"] * x
    alpha = s["alpha"]
    state["square"] = alpha * state.get("square", 0.0) + (1 - alpha) * grad * grad
    if s["centered"]:
        state["mean"] = alpha * state.get("mean", 0.0) + (1 - alpha) * grad
        denominator = np.sqrt(state["square"] - state["mean"] ** 2) + s["eps"]
    else:
        denominator = np.sqrt(state["square"]) + s["eps"]
    if s["momentum"] > 0:
        state["buffer"] = s["momentum"] * state.get("buffer", 0.0) + grad / denominator
        return x - lr * state["buffer"]
    return x - lr * grad / denominator


def _adam_core(x, grad, lr, step, state, s):
    beta1, beta2 = s["betas"]
    state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * grad
    state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * grad * grad
    second = state["v"]
    if s["amsgrad"]:
        state["v_max"] = np.maximum(state.get("v_max", 0.0), state["v"])
        second = state["v_max"]
    denominator = np.sqrt(second) / np.sqrt(1 - beta2**step) + s["eps"]
    return x - lr / (1 - beta1**step) * state["m"] / denominator


def _adam(x, grad, lr, step, state, s):
    return _adam_core(x, grad + s["weight_decay"] * x, lr, step, state, s)


def _adamw(x, grad, lr, step, state, s):
    return _adam_core(x * (1 - lr * s["weight_decay"]), grad, lr, step, state, s)


_UPDATES = {"sgd": _sgd, "adagrad": _adagrad, "rmsprop": _rmsprop, "adam": _adam, "adamw": _adamw}


def torch_trajectory(
    method: str,
    gradient: Callable[[np.ndarray], Any],
    x0: Any,
    n_steps: int,
    lr: Schedule,
    **options: Any,
) -> np.ndarray:
    """The same run as :func:`optimizer_trajectory`, performed by ``torch.optim`` on a float64 parameter.

    The parameter's ``.grad`` is set from ``gradient(x)`` before every ``optimizer.step()``; a callable ``lr``
    sets the parameter group's learning rate before each step. Returns an array (n_steps + 1, d).
    """
    import torch

    settings = _hyper_parameters(method, options)
    start = _validate_run(gradient, x0, n_steps, lr)
    method = method.lower()
    parameter = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    classes = {
        "sgd": torch.optim.SGD,
        "adagrad": torch.optim.Adagrad,
        "rmsprop": torch.optim.RMSprop,
        "adam": torch.optim.Adam,
        "adamw": torch.optim.AdamW,
    }
    optimizer = classes[method]([parameter], lr=_learning_rate(lr, 0), **settings)
    trajectory = np.empty((n_steps + 1, start.size))
    trajectory[0] = start
    for step in range(n_steps):
        for group in optimizer.param_groups:
            group["lr"] = _learning_rate(lr, step)
        current = parameter.detach().numpy().copy()
        parameter.grad = torch.as_tensor(_gradient_at(gradient, current, step), dtype=torch.float64)
        optimizer.step()
        trajectory[step + 1] = parameter.detach().numpy()
    return trajectory


class BatchedMinimum(NamedTuple):
    """The result of :func:`minimize_scalar_batched`: one entry per problem."""

    x: np.ndarray
    """The minimisers."""
    fun: np.ndarray
    """The objective at ``x``."""
    converged: np.ndarray
    """True where the step (or the bracket) shrank below the tolerance, or the minimum is at a bound."""
    n_iter: np.ndarray
    """Newton/bisection iterations each problem took (the grid evaluations not counted)."""


def _evaluate(
    derivatives: Callable, x: np.ndarray, rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    output = derivatives(x.copy()) if rows is None else derivatives(x.copy(), rows)
    if not isinstance(output, tuple | list) or len(output) != 3:
        raise TypeError("derivatives(x) must return a tuple (f, g, h) of arrays shaped like x")
    values = [np.broadcast_to(np.asarray(part, dtype=float), x.shape) for part in output]
    return values[0], values[1], values[2]


def _grid_bracket(derivatives, low, high, grid_size, everything):
    """The best of a grid of points per problem, and its two neighbours as the bracket."""
    fractions = np.linspace(0.0, 1.0, grid_size)
    grid = low[:, None] + (high - low)[:, None] * fractions[None, :]
    values = np.column_stack([_evaluate(derivatives, grid[:, k], everything)[0] for k in range(grid_size)])
    values = np.where(np.isfinite(values), values, np.inf)
    best = np.argmin(values, axis=1)
    rows = np.arange(len(low))
    x = grid[rows, best]
    return x, grid[rows, np.maximum(best - 1, 0)], grid[rows, np.minimum(best + 1, grid_size - 1)]


def _grow_bracket(derivatives, x, fun, grad, curvature, low, high, settled, indexed, ftol, gtol, tol):
    """From each start, step downhill until f' changes sign or a bound is reached.

    The first step is Newton's, :math:`|f'/f''|` (0.5 where :math:`f'' \\le 0`). Later steps are Newton's while
    those shrink (at least halving: Newton is converging); otherwise the larger of Newton's and twice the previous
    step. A start near a well-shaped optimum brackets it, or converges onto it, in a step or two, and a
    bound at any distance is reached in logarithmically many steps. A problem settles where its Newton step falls
    below ``tol``, where a step lowered f by no more than ``ftol`` relative, or where the slope is at most ``gtol``
    (the flat stretch of a likelihood in log α near α = 0).

    Returns the bracket ``(left, right)``, the point to restart Newton from (the evaluated end of the bracket
    with the lower f, or the settling point) with its ``(f, f', f'')``, and the problems that settled.
    """
    left, right = x.copy(), x.copy()
    best = [x.copy(), fun.copy(), grad.copy(), curvature.copy()]
    finished = np.zeros(len(x), dtype=bool)
    direction = np.where(grad > 0, -1.0, 1.0)
    previous = [x.copy(), fun.copy(), grad.copy(), curvature.copy()]
    length = np.zeros(len(x))
    # a start on a bound with f' pointing out of the interval is a minimum there already
    outward = ((x == low) & (grad > 0)) | ((x == high) & (grad < 0))
    pending = np.flatnonzero(~settled & (grad != 0) & ~outward)
    while pending.size:
        before = [part[pending] for part in previous]
        x_now, f_now, g_now, h_now = before
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = np.abs(g_now / h_now)
        valid = (h_now > 0) & np.isfinite(newton)
        newton = np.where(valid, newton, 0.0)
        last = length[pending]
        converging = valid & (newton <= 0.5 * last)
        later = np.where(converging, newton, np.maximum(newton, 2.0 * last))
        length[pending] = np.where(last == 0, np.where(valid, newton, 0.5), later)
        # Newton's estimate of the distance to the minimum is below tol: settled where it stands
        tiny = converging & (newton <= tol * np.maximum(1.0, np.abs(x_now)))
        finished[pending[tiny]] = True
        left[pending[tiny]] = right[pending[tiny]] = x_now[tiny]
        pending, before = pending[~tiny], [part[~tiny] for part in before]
        x_now, f_now, g_now, h_now = before
        if pending.size == 0:
            break
        trial = np.clip(x_now + direction[pending] * length[pending], low[pending], high[pending])
        if indexed:
            trial_f, trial_g, trial_h = _evaluate(derivatives, trial, pending)
        else:
            trial_f, trial_g, trial_h = (part[pending] for part in _evaluate(derivatives, _scatter(x, pending, trial)))
        flipped = trial_g * direction[pending] >= 0
        at_bound = (trial == low[pending]) | (trial == high[pending])
        decrease = f_now - trial_f
        scale = np.maximum(np.maximum(np.abs(f_now), np.abs(trial_f)), 1.0)
        stall = ~flipped & (((ftol > 0) & (decrease >= 0) & (decrease <= ftol * scale)) | (np.abs(trial_g) <= gtol))
        done = flipped | at_bound | stall
        # still downhill at a bound, or stalled: stop there (a bracket of width 0)
        left[pending] = np.where(done, np.where(flipped, np.minimum(x_now, trial), trial), left[pending])
        right[pending] = np.where(done, np.where(flipped, np.maximum(x_now, trial), trial), right[pending])
        # restart Newton from the bracket's better end (both ends are evaluated already)
        after = [trial, trial_f, trial_g, trial_h]
        from_before = flipped & (f_now < trial_f)
        for slot, old_value, new_value in zip(best, before, after, strict=True):
            slot[pending] = np.where(done, np.where(from_before, old_value, new_value), slot[pending])
        finished[pending] = stall
        for slot, value in zip(previous, after, strict=True):
            slot[pending] = value
        pending = pending[~done]
    # a problem that settled on a tiny Newton step restarts (and stays) where it stood
    settled_rows = np.flatnonzero(finished)
    for slot, value in zip(best, previous, strict=True):
        slot[settled_rows] = value[settled_rows]
    return left, right, best, finished


def _scatter(base: np.ndarray, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    full = base.copy()
    full[rows] = values
    return full


def minimize_scalar_batched(
    derivatives: Callable[[np.ndarray], tuple[Any, Any, Any]],
    lower: float | np.ndarray,
    upper: float | np.ndarray,
    *,
    size: int | None = None,
    grid_size: int = 20,
    tol: float = 1e-10,
    max_iter: int = 100,
    indexed: bool = False,
    x0: float | np.ndarray | None = None,
    gtol: float = 0.0,
    ftol: float = 0.0,
) -> BatchedMinimum:
    """Minimise many independent one-dimensional functions on intervals at once (one per gene).

    For each problem :math:`i`, :math:`\\min_{x \\in [l_i, u_i]} f_i(x)`. A grid of ``grid_size`` points per
    problem picks the best start and a bracket around it (so a multimodal :math:`f_i` still reaches the best
    basin the grid sees); then Newton steps :math:`x \\leftarrow x - f_i'(x)/f_i''(x)` are taken while they stay
    inside the bracket and the curvature is positive, and the bracket shrinks by the sign of :math:`f_i'`
    (a bisection step replaces any Newton step that would leave it). Every operation acts on all problems at once.

    Parameters
    ----------
    derivatives : callable
        ``derivatives(x)`` with ``x`` of shape (batch,) returns ``(f, g, h)``: the objectives, their first and
        their second derivatives at ``x``, each of shape (batch,). Non-finite values are treated as +inf
        objective (the point is avoided).
    lower, upper : float or array, shape (batch,)
        The interval of each problem, ``lower < upper``.
    size : int, optional
        Number of problems when both bounds are scalars.
    grid_size : int
        Points of the starting grid (at least 3).
    tol : float
        Converged when the step is below ``tol * max(1, |x|)`` or the bracket narrower than that.
    max_iter : int
        Newton/bisection iterations at most.
    indexed : bool
        If True, ``derivatives(x, rows)`` is called with the integer indices ``rows`` of the problems that ``x``
        holds, and only the problems still iterating are evaluated after the grid: most converge in a few
        steps, so this saves most of the work when evaluating a problem is the cost.
    x0 : float or array, optional
        A starting point per problem instead of the grid: the search then finds the local minimum reached
        downhill from ``x0`` (a bracket is grown from ``x0`` by Newton or doubling steps until ``f'`` changes
        sign), as a local optimiser started there would; :func:`utils.dispersion.fit_dispersions` uses this from
        the moments estimates.
    gtol : float
        A problem stops at the first point where ``|f'|`` is at most ``gtol`` (L-BFGS-B's projected-gradient test,
        1e-5 in SciPy), its start included; 0 disables it.
    ftol : float
        Also stop a problem when a step lowers ``f`` by no more than ``ftol * max(|f|, |f_new|, 1)`` (L-BFGS-B's
        relative-reduction test, ``factr * eps`` = 2.2e-9 in SciPy); 0 disables it.

    Returns
    -------
    BatchedMinimum
    """
    check_callable(derivatives, "derivatives")
    check_integer(grid_size, "grid_size", minimum=3)
    check_scalar(tol, "tol", positive=True)
    check_integer(max_iter, "max_iter", minimum=1)
    low, high = as_array(lower, "lower"), as_array(upper, "upper")
    if low.ndim > 1 or high.ndim > 1:
        raise ValueError("lower and upper must be scalars or 1-D arrays (one entry per problem)")
    if size is None and x0 is not None and np.ndim(x0) == 1:
        size = len(x0)
    if low.ndim == 0 and high.ndim == 0:
        if size is None:
            raise ValueError("size is needed when lower and upper are both scalars")
        check_integer(size, "size", minimum=1)
    shape = np.broadcast_shapes(low.shape, high.shape, () if size is None else (size,))
    if len(shape) != 1:
        raise ValueError("lower and upper must be scalars or 1-D arrays (one entry per problem)")
    low, high = np.broadcast_to(low, shape).astype(float), np.broadcast_to(high, shape).astype(float)
    if np.any(low >= high):
        raise ValueError(f"lower must be below upper for every problem ({int(np.sum(low >= high))} are not)")

    everything = np.arange(shape[0]) if indexed else None
    check_scalar(gtol, "gtol", nonnegative=True)
    check_scalar(ftol, "ftol", nonnegative=True)
    if x0 is None:
        x, left, right = _grid_bracket(derivatives, low, high, grid_size, everything)
        fun, grad, curvature = (np.array(part) for part in _evaluate(derivatives, x, everything))
        settled = np.zeros(shape, dtype=bool)
    else:
        start = np.broadcast_to(as_array(x0, "x0"), shape)
        if np.any((start < low) | (start > high)):
            raise ValueError("x0 must lie within [lower, upper] for every problem")
        x = start.astype(float).copy()
        fun, grad, curvature = (np.array(part) for part in _evaluate(derivatives, x, everything))
        settled = np.abs(grad) <= gtol
        left, right, restart, stalled = _grow_bracket(
            derivatives, x, fun, grad, curvature, low, high, settled, indexed, ftol, gtol, tol
        )
        settled |= stalled
        x, fun, grad, curvature = restart
    at_lower = (x == low) & (grad >= 0)
    at_upper = (x == high) & (grad <= 0)
    converged = at_lower | at_upper | (grad == 0) | settled
    n_iter = np.zeros(shape, dtype=int)
    for _ in range(max_iter):
        rows = np.flatnonzero(~converged)
        if rows.size == 0:
            break
        # the minimum lies left of x where f' > 0, right of it where f' < 0
        x_now, g_now, h_now = x[rows], grad[rows], curvature[rows]
        right[rows] = np.where(g_now > 0, x_now, right[rows])
        left[rows] = np.where(g_now < 0, x_now, left[rows])
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = x_now - g_now / h_now
        valid = (h_now > 0) & np.isfinite(newton)
        inside = valid & (newton > left[rows]) & (newton < right[rows])
        candidate = np.where(inside, newton, 0.5 * (left[rows] + right[rows]))
        step = np.abs(candidate - x_now)
        # Newton's own estimate of the distance to the minimum is below tol (possibly 0, x itself, which is not
        # strictly inside the bracket that x bounds): x is converged, and evaluating again would only confirm it
        finished = valid & (np.abs(newton - x_now) <= tol * np.maximum(1.0, np.abs(x_now)))
        converged[rows[finished]] = True
        going = ~finished
        rows, x_now, candidate, step = rows[going], x_now[going], candidate[going], step[going]
        if rows.size == 0:
            break
        x[rows] = candidate
        n_iter[rows] += 1
        previous = fun[rows].copy()
        if indexed:
            fun[rows], grad[rows], curvature[rows] = _evaluate(derivatives, candidate, rows)
        else:
            new_fun, new_grad, new_curvature = _evaluate(derivatives, x)
            fun[rows], grad[rows], curvature[rows] = new_fun[rows], new_grad[rows], new_curvature[rows]
        scale = np.maximum(1.0, np.abs(candidate))
        small = (step <= tol * scale) | (right[rows] - left[rows] <= tol * scale) | (grad[rows] == 0)
        if gtol > 0:
            small |= np.abs(grad[rows]) <= gtol
        if ftol > 0:
            decrease = previous - fun[rows]
            size_of_f = np.maximum(np.maximum(np.abs(previous), np.abs(fun[rows])), 1.0)
            small |= (decrease >= 0) & (decrease <= ftol * size_of_f)
        converged[rows] = small
    # a minimum on a bound: the bracket collapsed onto it
    fun = np.where(np.isfinite(fun), fun, np.inf)
    return BatchedMinimum(x=x, fun=fun, converged=converged, n_iter=n_iter)


def project_simplex(values: Any, radius: float = 1.0) -> np.ndarray:
    """Euclidean projection onto the simplex :math:`\\{x : x_i \\ge 0, \\sum_i x_i = r\\}`, row by row.

    With :math:`u` the entries sorted in decreasing order, :math:`\\rho = \\max\\{j : u_j - (\\sum_{i\\le j} u_i - r)/j
    > 0\\}` and :math:`\\theta = (\\sum_{i \\le \\rho} u_i - r)/\\rho`, the projection is :math:`\\max(v - \\theta, 0)`
    (Duchi et al. 2008, Fig. 1): O(d log d), exact.

    Parameters
    ----------
    values : array_like, shape (d,) or (n, d)
        A vector, or one vector per row.
    radius : float
        The sum :math:`r > 0` (1 for proportions).
    """
    points = as_array(values, "values")
    if points.ndim not in (1, 2):
        raise ValueError(f"values must be a vector or a matrix of row vectors, got shape {points.shape}")
    check_scalar(radius, "radius", positive=True)
    rows = np.atleast_2d(points)
    ordered = -np.sort(-rows, axis=1)
    excess = np.cumsum(ordered, axis=1) - radius
    positions = np.arange(1, rows.shape[1] + 1)
    support = ordered - excess / positions > 0
    last = rows.shape[1] - 1 - np.argmax(support[:, ::-1], axis=1)  # the largest j where the condition holds
    theta = excess[np.arange(rows.shape[0]), last] / (last + 1)
    projected = np.maximum(rows - theta[:, None], 0.0)
    return projected[0] if points.ndim == 1 else projected


def projected_gradient(
    gradient: Callable[[np.ndarray], Any],
    x0: Any,
    projection: Callable[[np.ndarray], Any],
    step: float,
    n_steps: int,
) -> np.ndarray:
    """Iterates of projected gradient descent, :math:`x_{t+1} = P_C(x_t - \\eta \\nabla f(x_t))`.

    ``projection`` maps a point to the nearest point of the constraint set :math:`C` (e.g.
    :func:`project_simplex`, or ``lambda x: np.clip(x, 0, None)``). ``x0`` is projected first.
    Returns an array (n_steps + 1, d) whose row 0 is the projected start.
    """
    check_callable(projection, "projection")
    check_scalar(step, "step", positive=True)
    start = _validate_run(gradient, x0, n_steps, step)
    x = as_vector(projection(start.copy()), "projection(x0)")
    trajectory = np.empty((n_steps + 1, x.size))
    trajectory[0] = x
    for t in range(n_steps):
        x = as_vector(projection(x - step * _gradient_at(gradient, x, t)), f"projection at step {t}")
        trajectory[t + 1] = x
    return trajectory


class ProximalResult(NamedTuple):
    """The result of :func:`proximal_gradient`."""

    coefficients: np.ndarray
    """The solution :math:`\\hat b`, shape (p,)."""
    objective: np.ndarray
    """:math:`F(b_k)` after each iteration (length ``n_iter``)."""
    n_iter: int
    """Iterations performed."""
    converged: bool
    """Whether the largest coefficient change fell below ``tol`` (relative to ``max(1, |b|_inf)``)."""


def proximal_gradient(
    design: Any,
    response: Any,
    lam: float,
    *,
    accelerated: bool = False,
    step: float | None = None,
    max_iter: int = 10_000,
    tol: float = 1e-10,
    nonnegative: bool = False,
) -> ProximalResult:
    """ISTA or FISTA for the LASSO in scikit-learn's scaling, optionally with :math:`b \\ge 0`.

    Minimises :math:`F(b) = \\frac{1}{2n}\\|y - Xb\\|_2^2 + \\lambda \\|b\\|_1` (``lam`` is ``sklearn``'s
    ``alpha``; no intercept) by :math:`b_{k+1} = \\mathrm{prox}_{\\eta\\lambda\\|\\cdot\\|_1}(y_k - \\eta \\nabla
    f(y_k))` with :math:`\\eta = 1/L`, :math:`L = \\|X\\|_2^2/n`. ISTA takes :math:`y_k = b_k` (error
    :math:`O(1/k)`); FISTA extrapolates :math:`y_{k+1} = b_{k+1} + \\frac{t_k - 1}{t_{k+1}}(b_{k+1} - b_k)`,
    :math:`t_{k+1} = (1 + \\sqrt{1 + 4t_k^2})/2` (error :math:`O(1/k^2)`; Beck & Teboulle 2009). With
    ``nonnegative`` the prox is :math:`\\max(\\mathrm{soft}(z, \\eta\\lambda), 0)`; ``lam = 0`` then solves
    non-negative least squares.
    """
    matrix = as_matrix(design, "design")
    target = as_vector(response, "response")
    if target.shape[0] != matrix.shape[0]:
        raise ValueError(f"response has {target.shape[0]} entries but design has {matrix.shape[0]} rows")
    check_scalar(lam, "lam", nonnegative=True)
    check_integer(max_iter, "max_iter", minimum=1)
    check_scalar(tol, "tol", positive=True)
    n = matrix.shape[0]
    lipschitz = np.linalg.norm(matrix, 2) ** 2 / n
    if step is None:
        if lipschitz == 0:
            raise ValueError("design is all zeros: the gradient's Lipschitz constant is 0")
        step = 1.0 / lipschitz
    check_scalar(step, "step", positive=True)

    def prox(z: np.ndarray) -> np.ndarray:
        shrunk = soft_threshold(z, step * lam)
        return np.maximum(shrunk, 0.0) if nonnegative else shrunk

    def objective(b: np.ndarray) -> float:
        residual = target - matrix @ b
        return float(residual @ residual / (2 * n) + lam * np.abs(b).sum())

    coefficients = np.zeros(matrix.shape[1])
    extrapolated, momentum = coefficients.copy(), 1.0
    history, converged = [], False
    for _ in range(max_iter):
        gradient = matrix.T @ (matrix @ extrapolated - target) / n
        updated = prox(extrapolated - step * gradient)
        change = np.max(np.abs(updated - coefficients)) if updated.size else 0.0
        if accelerated:
            next_momentum = (1 + np.sqrt(1 + 4 * momentum**2)) / 2
            extrapolated = updated + (momentum - 1) / next_momentum * (updated - coefficients)
            momentum = next_momentum
        else:
            extrapolated = updated
        coefficients = updated
        history.append(objective(coefficients))
        if change <= tol * max(1.0, float(np.max(np.abs(coefficients)))):
            converged = True
            break
    return ProximalResult(coefficients, np.array(history), len(history), converged)
