"""Maximum-likelihood fitting shared by the CLV models: optimiser, Hessian, standard errors.

Parameters are optimised on the log scale (they are all positive) with L-BFGS-B and the
model's analytic gradient. For large data, `maximise_large` first fits a subsample,
then refines on all the data with Newton steps that use the subsample's Hessian and the
full data's gradient: a handful of passes over the data instead of dozens. Standard
errors come from the inverse Hessian of the total negative log-likelihood in the
original parameters, by differences of the analytic gradient.

Examples
--------
>>> import numpy as np
>>> def nll(theta):  # a normal mean and sd on the log scale, data 1, 2, 3
...     mu, sd = np.exp(theta)
...     x = np.array([1.0, 2.0, 3.0])
...     value = np.sum(np.log(sd) + (x - mu) ** 2 / (2 * sd**2))
...     g_mu = -np.sum(x - mu) / sd**2
...     g_sd = np.sum(1 / sd - (x - mu) ** 2 / sd**3)
...     return value, np.array([g_mu * mu, g_sd * sd])
>>> fit = maximise(nll, np.zeros(2), feature="an example")
>>> np.round(np.exp(fit.theta), 4).tolist()
[2.0, 0.8165]
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import numpy as np

from touchpoint._extras import require
from touchpoint.errors import Problem, ValidationError

__all__ = ["Fit", "dot", "hessian", "maximise", "maximise_large", "standard_errors"]

_BOUND = 25.0  # log-parameters stay within exp(+-25)

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Inner product of two vectors without BLAS.

    BLAS ``ddot`` (what ``a @ b`` calls) may wake a pool of threads for every call: on a
    busy two-core machine that cost milliseconds per call, more than the arithmetic.
    """
    return float(np.einsum("i,i->", a, b))


@attrs.frozen
class Fit:
    theta: np.ndarray
    neg_log_likelihood: float
    iterations: int


def _guarded(nll: Objective) -> Objective:
    def guarded(theta: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(all="ignore"):
            value, grad = nll(theta)
        if not np.isfinite(value) or not np.all(np.isfinite(grad)):
            return 1e300, np.zeros_like(theta)
        return float(value), grad

    return guarded


def _check(theta: np.ndarray, value: float, feature: str, message: str) -> None:
    if not np.all(np.isfinite(theta)) or not value < 1e300:
        raise ValidationError(
            [Problem("summary", f"{feature}: the likelihood could not be maximised ({message})")]
        )
    if np.any(np.abs(theta) > _BOUND - 1):
        raise ValidationError(
            [
                Problem(
                    "summary",
                    f"{feature}: a parameter ran off to 0 or infinity; the data do not "
                    "identify the model (too few customers or repeat purchases?)",
                    np.exp(theta).tolist(),
                )
            ]
        )


def maximise(nll: Objective, start: np.ndarray, *, feature: str) -> Fit:
    """Minimise ``nll(theta) -> (value, gradient)`` over log-parameters ``theta``."""
    optimize = require("scipy.optimize", extra="clv", feature=feature)
    res = optimize.minimize(
        _guarded(nll),
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-_BOUND, _BOUND)] * len(start),
        options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9, "maxcor": 20},
    )
    theta = np.asarray(res.x, dtype=np.float64)
    _check(theta, float(res.fun), feature, str(res.message))
    return Fit(theta, float(res.fun), int(res.nit))


def hessian(
    grad: Callable[[np.ndarray], np.ndarray], at: np.ndarray, g0: np.ndarray, *, relative: bool
) -> np.ndarray:
    """Symmetrised forward-difference Hessian of a function whose gradient is ``grad``.

    ``g0`` is the gradient at ``at``; steps are relative to the value (``relative``, for
    positive parameters) or absolute (for log-parameters).
    """
    k = len(at)
    hess = np.empty((k, k))
    for j in range(k):  # a loop over the few parameters, not over data
        h = 1e-6 * abs(at[j]) if relative else 1e-6
        up = at.copy()
        up[j] += h
        hess[:, j] = (grad(up) - g0) / h
    return (hess + hess.T) / 2


def maximise_large(full: Objective, sample: Objective, start: np.ndarray, *, feature: str) -> Fit:
    """Fit ``sample`` (a subsample's objective), then refine on ``full`` by Newton steps.

    Both objectives are means over customers, so the subsample's Hessian approximates
    the full one; each refinement step costs one pass over the data. Falls back to
    L-BFGS-B on ``full`` if the steps do not converge quickly.
    """
    theta = maximise(sample, start, feature=feature).theta
    guarded = _guarded(full)
    sample_g = _guarded(sample)
    _, g_sample = sample_g(theta)
    H = hessian(lambda t: sample_g(t)[1], theta, g_sample, relative=False)
    try:
        H_inv = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return maximise(full, theta, feature=feature)
    value, grad = guarded(theta)
    for iteration in range(1, 31):
        step = H_inv @ grad
        new_theta = np.clip(theta - step, -_BOUND, _BOUND)
        new_value, new_grad = guarded(new_theta)
        if not new_value <= value + 1e-15 * abs(value):
            return maximise(full, theta, feature=feature)
        theta, value, grad = new_theta, new_value, new_grad
        if np.max(np.abs(step)) < 1e-10 or np.max(np.abs(grad)) < 1e-11:
            _check(theta, value, feature, "")
            return Fit(theta, value, iteration)
    return maximise(full, theta, feature=feature)


def standard_errors(
    value_grad: Callable[[np.ndarray], tuple[float, np.ndarray]], params: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Negative log-likelihood, covariance and standard errors at ``params``.

    ``value_grad(params)`` gives the *total* negative log-likelihood and its gradient in
    the original parameters.
    """
    value, g0 = value_grad(params)
    hess = hessian(lambda p: value_grad(p)[1], params, g0, relative=True)
    k = len(params)
    try:
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        cov = np.full((k, k), np.nan)
    diag = np.diag(cov)
    se = np.sqrt(np.where(diag > 0, diag, np.nan))
    return float(value), cov, se
