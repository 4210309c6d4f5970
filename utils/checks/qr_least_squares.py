"""Exercise checks for ``phase1-foundations/module1.2-linear-systems/02_qr_least_squares.ipynb``.

Each check builds its own cases (designs from a fixed seed, an ill-conditioned design whose exact solution is
known, the real airway and pasilla sample tables) and compares with an answer computed by a different route:
known coefficients, the pseudo-inverse, ``numpy.finfo``, ``numpy.linalg.cond``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from utils.checks.core import check_array, check_function
from utils.data import load_airway, load_pasilla


def _lstsq_cases() -> list[tuple[tuple, np.ndarray]]:
    rng = np.random.default_rng(21)
    well_conditioned = rng.normal(size=(20, 3))
    noisy_response = well_conditioned @ np.array([0.5, -1.0, 2.0]) + 0.1 * rng.normal(size=20)
    expected_noisy = np.linalg.pinv(well_conditioned) @ noisy_response
    # kappa about 1e7 and a response with zero residual: the exact answer is the generating beta; QR recovers it
    # to about 1e-9, the normal equations only to about 1e-2
    covariate = rng.normal(size=100)
    ill_conditioned = np.column_stack([np.ones(100), covariate, covariate + 1e-7 * rng.normal(size=100)])
    true_beta = np.array([1.0, 2.0, -1.0])
    wide = rng.normal(size=(30, 5))
    wide_response = rng.normal(size=30)
    return [
        ((well_conditioned, noisy_response), expected_noisy),
        ((ill_conditioned, ill_conditioned @ true_beta), true_beta),
        ((wide, wide_response), np.linalg.pinv(wide) @ wide_response),
    ]


def ex1(lstsq_via_qr) -> bool:
    """Expects a function ``lstsq_via_qr(design, response) -> array (p,)`` solving least squares by QR."""
    return check_function(
        "Exercise 1",
        lstsq_via_qr,
        _lstsq_cases(),
        what="least-squares coefficients compared with the pseudo-inverse / the known exact solution",
        rtol=1e-6,
        atol=1e-8,
        hint="q, r = np.linalg.qr(design); solve r @ beta = q.T @ response with scipy.linalg.solve_triangular "
        "(the normal equations lose about half the digits on the ill-conditioned case)",
    )


def ex2(answer) -> bool:
    """Expects a number: machine epsilon of float32 (2**-23), found by a halving loop in float32."""
    return check_array(
        "Exercise 2",
        answer,
        float(np.finfo(np.float32).eps),
        what="float32 machine epsilon",
        rtol=0.0,
        atol=0.0,
        hint="halve e while np.float32(1) + e / np.float32(2) != np.float32(1), keeping every value a np.float32; "
        "a float64 loop gives 2.2e-16",
    )


@lru_cache(maxsize=1)
def _airway_design() -> np.ndarray:
    samples = load_airway().samples
    cells = pd.get_dummies(samples["cell"], dtype=float).to_numpy()[:, 1:]
    return np.column_stack([np.ones(len(samples)), cells, (samples["dex"] == "trt").to_numpy(dtype=float)])


def _leverage_cases() -> list[tuple[tuple, np.ndarray]]:
    rng = np.random.default_rng(23)
    designs = [
        rng.normal(size=(10, 3)),
        _airway_design(),
        np.column_stack([np.ones(10), [0.0, 1, 2, 3, 4, 5, 6, 7, 8, 50]]),  # one high-leverage sample
    ]
    return [((design.copy(),), np.diag(design @ np.linalg.pinv(design))) for design in designs]


def ex3(leverages) -> bool:
    """Expects a function ``leverages(design) -> array (n,)``: the diagonal of the hat matrix."""
    return check_function(
        "Exercise 3",
        leverages,
        _leverage_cases(),
        what="leverages compared with diag(X pinv(X))",
        rtol=1e-8,
        atol=1e-10,
        hint="with q, r = np.linalg.qr(design) (reduced), the leverages are the row-wise sums of q**2",
    )


def _pasilla_condition_numbers() -> np.ndarray:
    samples = load_pasilla().samples
    raw = np.column_stack(
        [
            np.ones(len(samples)),
            samples["exon counts"].to_numpy(dtype=float) / 1e6,
            (samples["condition"] == "treated").to_numpy(dtype=float),
        ]
    )
    standardised = raw.copy()
    standardised[:, 1:] = (raw[:, 1:] - raw[:, 1:].mean(axis=0)) / raw[:, 1:].std(axis=0)
    return np.array([np.linalg.cond(raw.T @ raw), np.linalg.cond(standardised.T @ standardised)])


def ex4(answer) -> bool:
    """Expects an array ``[kappa(X^T X) raw, kappa(X^T X) standardised]`` for the pasilla library-size design."""
    return check_array(
        "Exercise 4",
        answer,
        _pasilla_condition_numbers(),
        what="condition numbers of X^T X before and after standardising",
        rtol=1e-6,
        atol=0.0,
        hint="the condition number of X^T X (the square of X's); library size = exon counts / 1e6; standardise every "
        "column except the intercept with its mean and np.std (ddof=0)",
    )
