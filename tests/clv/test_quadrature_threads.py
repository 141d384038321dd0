"""The Gauss rules' eigenproblems run on one BLAS thread, and give the same rules."""

from __future__ import annotations

import numpy as np
import pytest

from touchpoint.clv._quadrature import beta_nodes, one_blas_thread

threadpoolctl = pytest.importorskip("threadpoolctl", reason="threadpoolctl is in the clv extra")


def _blas_threads() -> list[int]:
    return [
        lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"
    ]


def test_inside_the_context_blas_uses_one_thread_and_the_setting_comes_back():
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        with one_blas_thread():
            assert _blas_threads() and set(_blas_threads()) == {1}
        assert _blas_threads() == before


@pytest.mark.parametrize("a", [0.05, 0.6, 1.7, 8.0])
@pytest.mark.parametrize("n", [16, 64, 128])
def test_the_rule_on_one_thread_integrates_the_beta_moments(a, n):
    """E[p^k] of Beta(a, 1) is a / (a + k), exact for k <= 2n - 1, on any thread count."""
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        p, w = beta_nodes(a, 1.0, n)
        after = _blas_threads()
    assert set(after) == {2}  # beta_nodes gave the threads back
    k = np.arange(0, 2 * n, 7)
    assert np.allclose((w[None, :] * p[None, :] ** k[:, None]).sum(axis=1), a / (a + k), rtol=1e-10)


def test_overlapping_uses_give_the_setting_back_when_the_last_one_leaves():
    """Two threads' uses overlap (a web server fitting twice at once): the first leaves first.

    Each use saving and restoring on its own would let the use that entered second
    restore the one-thread limit after the first one left, leaving BLAS on one thread
    for good. (Entered and left here in one thread, in the order two threads would.)
    """
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        first, second = one_blas_thread(), one_blas_thread()
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)
        assert set(_blas_threads()) == {1}  # the second is still inside
        second.__exit__(None, None, None)
        assert _blas_threads() == before
