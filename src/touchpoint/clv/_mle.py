"""Maximum-likelihood fitting shared by the CLV models: a bounded trust-region Newton.

The models hand over their mean negative log-likelihood and its analytic gradient in
coordinates chosen so that every limit model sits at a finite point: a coordinate that
is 0 at its lower bound means "this source of heterogeneity (or dropout) is absent",
and the box ``[lower, upper]`` holds all the models, limits included. `maximise`
minimises over that box with a trust-region Newton iteration:

- the Hessian is the forward difference of the analytic gradient (a handful of
  parameters: one gradient evaluation per parameter), steps are the exact solution of
  the trust-region subproblem (an eigendecomposition of at most 4 x 4);
- a coordinate at a bound whose gradient points out of the box is held there (the
  Karush-Kuhn-Tucker condition of a constrained maximum); the others are free;
- convergence is judged by the largest free gradient component, then one last Newton
  step is taken, so the answer is the maximiser of the likelihood, not the place where
  an iteration happened to stop.

Nothing here depends on scipy. `refine` takes a fit on a subsample of customers to all
of them with Newton steps that reuse the subsample's Hessian: one pass over the data
per step. Where all the data want other bounds than the subsample (a maximum inside the
box where the subsample's was on a face), it hands over to `maximise` with
``secant=True``: difference Hessians only at the start, when the free coordinates
change or after a poorly predicted step, damped BFGS updates in between (a pass over
the data per step instead of one per parameter and step). `covariance` inverts the
Hessian of the total negative log-likelihood over the free coordinates.

Examples
--------
A normal mean and a standard deviation, the latter as its logarithm, on 1, 2, 3:

>>> x = np.array([1.0, 2.0, 3.0])
>>> def nll(theta):
...     mu, sd = theta[0], np.exp(theta[1])
...     value = np.mean(np.log(sd) + (x - mu) ** 2 / (2 * sd**2))
...     return value, np.array([-np.mean(x - mu) / sd**2, 1 - np.mean((x - mu) ** 2) / sd**2])
>>> fit = maximise(nll, np.array([0.0, 0.0]), np.array([-9.0, -9.0]), np.array([9.0, 9.0]),
...                feature="an example")
>>> round(float(fit.theta[0]), 6), round(float(np.exp(fit.theta[1])), 6)
(2.0, 0.816497)

A bound that the maximum presses against is held, not crossed:

>>> fit = maximise(nll, np.array([0.0, 0.0]), np.array([2.5, -9.0]), np.array([9.0, 9.0]),
...                feature="an example")
>>> float(fit.theta[0]), fit.active.tolist()
(2.5, [True, False])
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import numpy as np

from touchpoint.errors import Problem, ValidationError

__all__ = ["Fit", "covariance", "dot", "hessian", "maximise", "refine", "runaway"]

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]

_GTOL = 1e-10  # largest free gradient component of the mean negative log-likelihood
_MAX_ITER = 300


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Inner product of two vectors without BLAS.

    BLAS ``ddot`` (what ``a @ b`` calls) may wake a pool of threads for every call: on a
    busy two-core machine that cost milliseconds per call, more than the arithmetic.
    """
    return float(np.einsum("i,i->", a, b))


@attrs.frozen
class Fit:
    """Where `maximise` ended: coordinates, mean negative log-likelihood and its derivatives.

    ``active`` marks the coordinates held at a bound (the gradient points out of the box
    there); ``hessian`` is the forward-difference Hessian at ``theta`` over all
    coordinates (rows and columns of fixed ones included).
    """

    theta: np.ndarray
    value: float
    gradient: np.ndarray
    hessian: np.ndarray
    active: np.ndarray
    iterations: int


def _evaluate(fun: Objective, theta: np.ndarray) -> tuple[float, np.ndarray]:
    with np.errstate(all="ignore"):
        value, grad = fun(theta)
    value = float(value)
    grad = np.asarray(grad, dtype=np.float64)
    if not np.isfinite(value) or not np.all(np.isfinite(grad)):
        return np.inf, grad
    return value, grad


def hessian(
    fun: Objective,
    theta: np.ndarray,
    grad: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    which: np.ndarray | None = None,
) -> np.ndarray:
    """Symmetrised forward-difference Hessian of ``fun`` from its analytic gradient.

    Steps go into the box (backwards at an upper bound), so a coordinate at its bound
    is differentiated from the inside. Only the columns in ``which`` are computed (the
    others stay 0).
    """
    k = len(theta)
    hess = np.zeros((k, k))
    for j in range(k):  # a loop over the few parameters, not over data
        if which is not None and not which[j]:
            continue
        h = 1e-6 * max(1.0, abs(theta[j]))
        if theta[j] + h > upper[j]:
            h = -h
        moved = theta.copy()
        moved[j] += h
        _, g = _evaluate(fun, moved)
        hess[:, j] = (g - grad) / h
    if which is not None:
        hess[~which, :] = 0.0
    return (hess + hess.T) / 2


def _trust_step(g: np.ndarray, H: np.ndarray, radius: float) -> np.ndarray:
    """The minimiser of ``g.s + s.H.s / 2`` over ``|s| <= radius`` (exact, small k)."""
    lam, Q = np.linalg.eigh(H)
    gq = Q.T @ g
    scale = max(1.0, float(np.max(np.abs(lam))))
    if lam[0] > 1e-12 * scale:
        s = -(Q @ (gq / lam))
        if np.linalg.norm(s) <= radius:
            newton: np.ndarray = s
            return newton
    lo = max(0.0, -lam[0]) + 1e-14 * scale

    def length(mu: float) -> float:
        return float(np.linalg.norm(gq / (lam + mu)))

    if length(lo) < radius:
        # the "hard case": the step along the lowest eigenvector makes up the length
        s = -(Q @ (gq / (lam + lo)))
        extra = np.sqrt(max(radius**2 - float(s @ s), 0.0))
        hard: np.ndarray = s + extra * Q[:, 0] * (1.0 if gq[0] <= 0 else -1.0)
        return hard
    hi = lo + max(1.0, float(np.linalg.norm(g)) / radius) * 2
    while length(hi) > radius:
        hi *= 2
    for _ in range(200):  # bisection on the scalar multiplier
        mid = (lo + hi) / 2
        if length(mid) > radius:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * hi:
            break
    result: np.ndarray = -(Q @ (gq / (lam + hi)))
    return result


def _active(
    theta: np.ndarray, grad: np.ndarray, lower: np.ndarray, upper: np.ndarray, fixed: np.ndarray
) -> np.ndarray:
    result: np.ndarray = fixed | ((theta <= lower) & (grad >= 0)) | ((theta >= upper) & (grad <= 0))
    return result


def maximise(
    fun: Objective,
    start: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    feature: str,
    fixed: np.ndarray | None = None,
    secant: bool = False,
) -> Fit:
    """Minimise ``fun(theta) -> (value, gradient)`` over the box ``[lower, upper]``.

    ``fixed`` marks coordinates held at their ``start`` value (to fit a limit model on a
    face of the box). The result is a point where every free gradient component is
    below 1e-10 and every coordinate held at a bound has its gradient pointing out of
    the box; `ValidationError` if there is none to be found.

    ``secant=True`` saves gradient evaluations on large data: the difference Hessian is
    computed at the start, whenever the set of free coordinates changes and after a
    step the model predicted badly; in between it is carried forward by damped BFGS
    updates from the gradients the steps evaluate anyway. Only the path changes: the
    answer is still judged by the gradient alone.
    """
    lower = np.asarray(lower, dtype=np.float64)
    upper = np.asarray(upper, dtype=np.float64)
    fixed = np.zeros(len(start), dtype=bool) if fixed is None else np.asarray(fixed, dtype=bool)
    theta = np.clip(np.asarray(start, dtype=np.float64), lower, upper)
    value, grad = _evaluate(fun, theta)
    if not np.isfinite(value):
        raise ValidationError(
            [Problem("summary", f"{feature}: the likelihood is not finite at the start", 0)]
        )
    radius = 1.0
    H = np.zeros((len(theta), len(theta)))
    carried: np.ndarray | None = None  # free coordinates of a Hessian carried by secants
    for iteration in range(1, _MAX_ITER + 1):
        active = _active(theta, grad, lower, upper, fixed)
        free = ~active
        if carried is None or np.any(carried != free):
            H = hessian(fun, theta, grad, lower, upper, free)
            carried = free if secant else None
        if not free.any() or np.max(np.abs(grad[free])) <= _GTOL:
            theta, value, grad = _polish(fun, theta, value, grad, H, free, lower, upper)
            return Fit(theta, value, grad, H, _active(theta, grad, lower, upper, fixed), iteration)
        while True:
            step = np.zeros_like(theta)
            step[free] = _trust_step(grad[free], H[np.ix_(free, free)], radius)
            new = np.clip(theta + step, lower, upper)
            moved = new - theta
            predicted = -(float(grad @ moved) + 0.5 * float(moved @ H @ moved))
            new_value, new_grad = _evaluate(fun, new) if np.any(moved != 0) else (value, grad)
            gained = value - new_value
            secant_failed = (
                carried is not None
                and np.isfinite(new_value)
                and not _bfgs(H, moved, new_grad - grad, free)
            )
            if secant_failed:
                carried = None  # no positive curvature to carry: differences next time
            if (
                secant
                and predicted > 0
                and -1e-13 * (1.0 + abs(value)) <= gained <= 0
                and np.max(np.abs(new_grad[free])) < np.max(np.abs(grad[free]))
            ):
                # at the maximum the value moves only within its rounding: the gradient says
                theta, value, grad = new, new_value, new_grad
                break
            if predicted > 0 and gained > 0:
                ratio = gained / predicted
                if ratio < 0.25:
                    radius = max(float(np.linalg.norm(moved)) / 4, 1e-12)
                    carried = None  # the model was poor: difference Hessian next time
                elif ratio > 0.75 and np.linalg.norm(step) >= 0.99 * radius:
                    radius = min(2 * radius, 10.0)
                theta, value, grad = new, new_value, new_grad
                break
            carried = None
            radius = float(np.linalg.norm(moved)) / 4
            if radius < 1e-13:
                # no decrease to be had within rounding: stationary to working precision
                if np.max(np.abs(grad[free])) <= 1e-6:
                    return Fit(theta, value, grad, H, active, iteration)
                raise ValidationError(
                    [
                        Problem(
                            "summary",
                            f"{feature}: the likelihood could not be maximised (no step "
                            "improves it, yet its gradient is not zero)",
                            theta.tolist(),
                        )
                    ]
                )
    raise ValidationError(
        [
            Problem(
                "summary",
                f"{feature}: the likelihood could not be maximised in {_MAX_ITER} iterations",
                theta.tolist(),
            )
        ]
    )


def _bfgs(H: np.ndarray, s: np.ndarray, y: np.ndarray, free: np.ndarray) -> bool:
    """Damped BFGS update of ``H`` in place over the free coordinates (Powell's damping).

    False (and ``H`` untouched) when the block is not positive definite or the step is
    too small to say anything.
    """
    s = np.where(free, s, 0.0)
    y = np.where(free, y, 0.0)
    Hs = H @ s
    sHs = float(s @ Hs)
    if not np.isfinite(sHs) or sHs <= 0 or not np.all(np.isfinite(y)):
        return False
    sy = float(s @ y)
    if sy < 0.2 * sHs:  # keep the update positive definite
        t = 0.8 * sHs / (sHs - sy)
        y = t * y + (1.0 - t) * Hs
        sy = float(s @ y)
    H += np.outer(y, y) / sy - np.outer(Hs, Hs) / sHs
    H[:] = (H + H.T) / 2
    return True


def _polish(
    fun: Objective,
    theta: np.ndarray,
    value: float,
    grad: np.ndarray,
    H: np.ndarray,
    free: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
) -> tuple[np.ndarray, float, np.ndarray]:
    """One Newton step on the free coordinates, kept if it does not worsen the value."""
    if not free.any():
        return theta, value, grad
    Hf = H[np.ix_(free, free)]
    try:
        lam = np.linalg.eigvalsh(Hf)
        if lam[0] <= 0:
            return theta, value, grad
        step = np.zeros_like(theta)
        step[free] = -np.linalg.solve(Hf, grad[free])
    except np.linalg.LinAlgError:
        return theta, value, grad
    new = np.clip(theta + step, lower, upper)
    new_value, new_grad = _evaluate(fun, new)
    if new_value <= value:
        return new, new_value, new_grad
    return theta, value, grad


def refine(
    fun: Objective,
    fit: Fit,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    feature: str,
    secant: bool = False,
) -> Fit:
    """From a subsample's `Fit` to the maximum of ``fun`` (all the data) by Newton steps.

    Both objectives are means over customers, so the subsample's Hessian stands in for
    the full one; each step costs one pass over the data. Coordinates held at a bound in
    the subsample stay there while the full gradient agrees; otherwise (or if the steps
    do not converge quickly) the full trust-region iteration takes over (``secant``
    is handed to it: see `maximise`).
    """
    lower = np.asarray(lower, dtype=np.float64)
    upper = np.asarray(upper, dtype=np.float64)
    theta = fit.theta.copy()
    free = ~fit.active
    value, grad = _evaluate(fun, theta)
    Hf = fit.hessian[np.ix_(free, free)]
    if np.any(_active(theta, grad, lower, upper, np.zeros_like(free)) != fit.active):
        # all the data want another set of bounds than the subsample: fit them afresh
        return maximise(fun, theta, lower, upper, feature=feature, secant=secant)
    try:
        if not free.any() or np.linalg.eigvalsh(Hf)[0] <= 0:
            raise np.linalg.LinAlgError
        Hf_inv = np.linalg.inv(Hf)
    except np.linalg.LinAlgError:
        return maximise(fun, theta, lower, upper, feature=feature, secant=secant)
    for iteration in range(1, 31):
        if np.max(np.abs(grad[free])) <= _GTOL:
            active = _active(theta, grad, lower, upper, np.zeros_like(free))
            if np.any(active != fit.active):
                break  # the full data want another set of bounds: fit them afresh
            H = fit.hessian.copy()
            theta, value, grad = _polish(fun, theta, value, grad, H, free, lower, upper)
            return Fit(theta, value, grad, H, active, iteration)
        step = np.zeros_like(theta)
        step[free] = -(Hf_inv @ grad[free])
        new = np.clip(theta + step, lower, upper)
        new_value, new_grad = _evaluate(fun, new)
        better = new_value <= value or (
            # near the maximum the value only moves within its rounding: the gradient says
            new_value <= value + 1e-13 * (1.0 + abs(value))
            and np.max(np.abs(new_grad[free])) < np.max(np.abs(grad[free]))
        )
        if not better:
            break
        theta, value, grad = new, new_value, new_grad
    return maximise(fun, theta, lower, upper, feature=feature, secant=secant)


def runaway(
    fun: Objective, fit: Fit, lower: np.ndarray, upper: np.ndarray, far: np.ndarray
) -> int | None:
    """The first coordinate whose maximum lies at the edge of the box, or None.

    The coordinates' ends stand for parameters at 0 or infinity. Where the likelihood
    flattens out towards such an end, an iteration stops wherever its gradient falls
    below the tolerance; so a coordinate beyond ``far`` (in absolute value) is checked:
    if the likelihood at the box's edge in that direction is as high as at the fitted
    point, the supremum is at infinity and the data do not identify the model.
    """
    for j in range(len(fit.theta)):  # a loop over the few parameters
        edge = upper[j] if fit.theta[j] > far[j] else lower[j] if fit.theta[j] < -far[j] else None
        if edge is None:
            continue
        moved = fit.theta.copy()
        moved[j] = edge
        value, _ = _evaluate(fun, moved)
        if value <= fit.value + 1e-9 * (1.0 + abs(fit.value)):
            return j
    return None


def covariance(hess_total: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Inverse of the Hessian of the total negative log-likelihood over the free coordinates.

    Rows and columns of the other coordinates (held at a limit) are NaN; so is everything
    when the Hessian is singular there.
    """
    k = len(free)
    cov = np.full((k, k), np.nan)
    if not free.any():
        return cov
    Hf = hess_total[np.ix_(free, free)]
    try:
        lam = np.linalg.eigvalsh(Hf)
        if lam[0] <= 0:
            return cov
        cov[np.ix_(free, free)] = np.linalg.inv(Hf)
    except np.linalg.LinAlgError:
        pass
    return cov
