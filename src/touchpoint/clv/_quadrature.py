"""Expectations over a Beta distribution by Gauss quadrature (numpy only).

`beta_nodes` gives the nodes and weights of the n-point Gauss rule for the Beta(a, b)
distribution on [0, 1] (Golub & Welsch 1969: the eigenvalues of the Jacobi matrix of
the Jacobi polynomials); the weights sum to 1, so ``weights @ f(nodes)`` approximates
E[f(p)] and is exact for polynomials of degree up to 2n - 1. The CLV models use it for
the expected purchases of a customer whose dropout probability p is Beta distributed:
the integrand is smooth and bounded, where the closed form through the Gauss
hypergeometric function overflows or loses every digit for frequent buyers and long
horizons.

The eigenproblems are small (16 to 512 nodes) and many (one per distinct purchase count
and evaluation while fitting): OpenBLAS spreads each over its threads and spends more
time handing the work out than doing it (Pareto/NBD's fit of 10,000 customers: 0.30 s
of CPU on one thread, 1.0 s on two). With threadpoolctl installed (the ``clv`` extra)
they run on one BLAS thread; without it, as numpy's BLAS decides.

Examples
--------
>>> p, w = beta_nodes(2.0, 3.0, 4)
>>> round(float(w.sum()), 12), round(float(w @ p), 12), round(float(w @ p**2), 12)
(1.0, 0.4, 0.2)
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["beta_nodes", "one_blas_thread"]


@functools.cache
def _blas_threads() -> Any:
    """threadpoolctl's controller of the BLAS libraries loaded, or None without it."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


_uses_lock = threading.Lock()
_uses = 0  # threads inside `one_blas_thread` now
_limit: Any = None  # threadpoolctl's limiter while any is inside


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """A context in which numpy's BLAS and LAPACK calls use one thread (a no-op
    without threadpoolctl). Entering costs microseconds; the setting is per process,
    so BLAS calls of other threads meanwhile run on one thread too.

    Threads inside at the same time share one limit: the first to enter sets it, the
    last to leave restores what was there before (each restoring its own would let a
    thread that entered second restore the first's one-thread limit for good).

    >>> with one_blas_thread():
    ...     p, w = beta_nodes(1.5, 1.0, 64)
    """
    global _uses, _limit
    controller = _blas_threads()
    if controller is None:
        yield
        return
    with _uses_lock:
        if _uses == 0:
            _limit = controller.limit(limits=1, user_api="blas")
        _uses += 1
    try:
        yield
    finally:
        with _uses_lock:
            _uses -= 1
            if _uses == 0:
                _limit.restore_original_limits()
                _limit = None


def beta_nodes(a: float, b: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes in (0, 1) and weights (summing to 1) of the n-point Gauss rule for Beta(a, b)."""
    # Jacobi polynomials on [-1, 1] with weight (1 - y)^al (1 + y)^be, p = (1 + y) / 2
    al, be = b - 1.0, a - 1.0
    k = np.arange(n, dtype=np.float64)
    s = 2.0 * k + al + be
    with np.errstate(divide="ignore", invalid="ignore"):
        diag = (be - al) * (be + al) / (s * (s + 2.0))
    diag[0] = (be - al) / (al + be + 2.0)
    kk = k[1:]
    s1 = s[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        off2 = 4.0 * kk * (kk + al) * (kk + be) * (kk + al + be) / (s1**2 * (s1 + 1.0) * (s1 - 1.0))
    if n > 1:  # the first one without the factor (al + be + 1) / (al + be + 1)
        off2[0] = 4.0 * (1.0 + al) * (1.0 + be) / ((2.0 + al + be) ** 2 * (3.0 + al + be))
    # the Jacobi matrix of p = (1 + y) / 2
    jac = np.diag((1.0 + diag) / 2.0) + np.diag(np.sqrt(off2) / 2.0, 1)
    with one_blas_thread():
        y, vec = np.linalg.eigh(jac, UPLO="U")
    nodes = np.clip(y, np.finfo(np.float64).tiny, 1.0)
    weights = vec[0] ** 2
    return nodes, weights / weights.sum()
