"""How many threads touchpoint's hot paths use, and a helper that runs numpy work on them.

The kernels that touch every event (factorizing raw ids, grouped reductions, sorts) split
large arrays into chunks and run numpy on the chunks in a thread pool. This pays off
because numpy releases the GIL in its sorts, in fancy indexing (``take`` / ``put``), in
``bincount`` and in ufuncs on large arrays, and pandas releases it in its hash tables, so
the chunks run on separate cores.

The thread count
----------------
- By default, every core this process may run on: ``os.process_cpu_count()`` (Python
  3.13+), otherwise the CPU affinity mask (``os.sched_getaffinity``), otherwise
  ``os.cpu_count()``.
- The environment variable ``TOUCHPOINT_THREADS`` (a whole number, 1 or more) overrides
  the default; it is read each time the count is asked for.
- `set_threads` overrides both, for the whole process. Used as a context manager it
  restores the previous setting on exit, as ``threadpoolctl.threadpool_limits`` does::

      set_threads(4)            # from now on
      with set_threads(1):      # inside the block only
          ...
      set_threads(None)         # back to the default (environment, then all cores)

The setting is process-wide (not per thread): set it once at start-up, or around a block
in a single-threaded program. A process that runs several scores at once in its own
threads (a Dask worker with several threads, a web server) should set the count to its
share of the cores, or to 1.

Results never depend on the thread count: work is split into chunks whose boundaries
depend on the data size only (`chunk_bounds`), and partial results are combined in
chunk order, so floating-point sums add in the same order on 1 thread as on 64.

The compiled accelerator
-----------------------
With the ``accel`` extra installed (numba), factorizing 32M or more raw integer ids (as
`touchpoint.scoring.rfm` does for 13-digit customer numbers) runs compiled kernels on
these threads (`touchpoint.frame._accel`); results are the same with it or without it. It is
on by default; ``TOUCHPOINT_ACCEL=0`` (also ``false``, ``no``, ``off``) or
`set_accel` turns it off, ``set_accel(None)`` goes back to the environment::

    with set_accel(False):    # numpy only, inside the block
        ...

Work submitted from inside `parallel_map` runs inline, in the calling thread, so nested
use cannot deadlock the pool. After ``os.fork`` the child starts with no pool (its
threads did not survive the fork) and creates one on first use.

Examples
--------
>>> import numpy as np
>>> with set_threads(2):
...     get_threads()
2
>>> x = np.arange(10)
>>> [int(s) for s in map_chunks(lambda lo, hi: x[lo:hi].sum(), len(x), min_size=4)]
[10, 35]
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from types import TracebackType
from typing import Any, TypeVar

import numpy as np

from touchpoint.errors import Problem, ValidationError

__all__ = [
    "ACCEL_ENV",
    "ENV",
    "AccelSetting",
    "ThreadSetting",
    "available_cores",
    "chunk_bounds",
    "empty",
    "get_accel",
    "get_threads",
    "map_chunks",
    "parallel_map",
    "set_accel",
    "set_threads",
]

T = TypeVar("T")
R = TypeVar("R")

#: The environment variable read for the thread count.
ENV = "TOUCHPOINT_THREADS"

#: The environment variable that turns the compiled accelerator off (``0``).
ACCEL_ENV = "TOUCHPOINT_ACCEL"

#: Chunks are at least this many elements by default: below it a thread's start-up and
#: the GIL hand-over cost more than the numpy work saves.
MIN_CHUNK = 1 << 17

#: Arrays of at least this many bytes that pool threads will fill are mapped first (`empty`).
PREFAULT_BYTES = 1 << 20
#: One write per this many bytes maps every page (4 KiB, the smallest page size).
_PAGE = 4096

_lock = threading.Lock()
_setting: int | None = None  # set by set_threads; None: environment, then all cores
_accel: bool | None = None  # set by set_accel; None: the environment, then on
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_local = threading.local()  # .inside: this thread is running parallel_map work


def available_cores() -> int:
    """The number of CPUs this process may run on (at least 1).

    >>> available_cores() >= 1
    True
    """
    count = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if count is not None:
        n = count()
    elif hasattr(os, "sched_getaffinity"):
        n = len(os.sched_getaffinity(0))
    else:  # pragma: no cover - macOS and Windows
        n = os.cpu_count()
    return max(1, n or 1)


def _check_count(n: Any, where: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValidationError([Problem(where, "must be a whole number of threads, 1 or more", n)])
    return n


def _from_environment() -> int | None:
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return None
    try:
        n = int(raw)
    except ValueError:
        n = None
    if n is None or n < 1:
        raise ValidationError([Problem(ENV, "must be a whole number of threads, 1 or more", raw)])
    return n


def get_threads() -> int:
    """The number of threads the hot paths use now.

    `set_threads` if it was called, else ``TOUCHPOINT_THREADS``, else `available_cores`.

    Raises
    ------
    touchpoint.errors.ValidationError
        ``TOUCHPOINT_THREADS`` is set to something other than a whole number >= 1.

    Examples
    --------
    >>> with set_threads(3):
    ...     get_threads()
    3
    """
    setting = _setting
    if setting is not None:
        return setting
    env = _from_environment()
    return env if env is not None else available_cores()


def set_threads(n: int | None) -> ThreadSetting:
    """Set the number of threads of the hot paths for the whole process.

    Takes effect at once. The value returned is also a context manager: on exit the
    setting that was in force before the call comes back.

    Parameters
    ----------
    n:
        A whole number >= 1; more than the cores is allowed. None: back to the default
        (``TOUCHPOINT_THREADS``, then all cores).

    Returns
    -------
    ThreadSetting
        Use it in a ``with`` statement to limit the setting to a block.

    Raises
    ------
    touchpoint.errors.ValidationError
        ``n`` is not a whole number >= 1 (nor None).

    Examples
    --------
    >>> before = get_threads()
    >>> with set_threads(1):
    ...     get_threads()
    1
    >>> get_threads() == before
    True
    """
    global _setting
    if n is not None:
        _check_count(n, "threads")
    with _lock:
        previous, _setting = _setting, n
    return ThreadSetting(previous)


class _Restore:
    """A context manager that puts the module global ``_name`` back to ``previous``."""

    _name: str

    def __init__(self, previous: Any) -> None:
        self._previous = previous

    def __enter__(self) -> _Restore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with _lock:
            globals()[self._name] = self._previous


class ThreadSetting(_Restore):
    """What `set_threads` returns: a context manager that restores the previous setting."""

    _name = "_setting"


def get_accel() -> bool:
    """Whether the compiled accelerator may run (when numba is installed).

    `set_accel` if it was called, else ``TOUCHPOINT_ACCEL`` (``0``, ``false``, ``no``,
    ``off``: off), else on.

    Examples
    --------
    >>> with set_accel(False):
    ...     get_accel()
    False
    """
    setting = _accel
    if setting is not None:
        return setting
    raw = os.environ.get(ACCEL_ENV, "").strip().lower()
    return raw not in ("0", "false", "no", "off")


def set_accel(on: bool | None) -> AccelSetting:
    """Turn the compiled accelerator (the ``accel`` extra) on or off for the process.

    It changes the time only, never a result. The value returned is a context manager
    that restores the previous setting on exit, as `set_threads`'s does.

    Parameters
    ----------
    on:
        True or False; None: back to the default (``TOUCHPOINT_ACCEL``, then on).

    Raises
    ------
    touchpoint.errors.ValidationError
        ``on`` is not True, False or None.

    Examples
    --------
    >>> with set_accel(False):
    ...     get_accel()
    False
    """
    global _accel
    if on is not None and not isinstance(on, bool):
        raise ValidationError([Problem("accel", "must be True, False or None", on)])
    with _lock:
        previous, _accel = _accel, on
    return AccelSetting(previous)


class AccelSetting(_Restore):
    """What `set_accel` returns: a context manager that restores the previous setting."""

    _name = "_accel"


def _submit(tasks: int, runner: Callable[[], None]) -> list[Future[None]]:
    """Start ``runner`` on ``tasks`` pool threads; the pool grows when it is too small."""
    global _pool, _pool_size
    with _lock:  # held while submitting, so a pool is never shut down under a caller
        if _pool is None or _pool_size < tasks:
            old = _pool
            _pool = ThreadPoolExecutor(max_workers=tasks, thread_name_prefix="touchpoint")
            _pool_size = tasks
            if old is not None:
                old.shutdown(wait=False)  # its idle threads exit; running work finishes
        return [_pool.submit(runner) for _ in range(tasks)]


def _forget_pool() -> None:  # in a forked child: the parent's pool threads are gone
    global _pool, _pool_size, _lock
    _pool, _pool_size = None, 0
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def parallel_map(
    func: Callable[[T], R], items: Iterable[T], *, threads: int | None = None
) -> list[R]:
    """``[func(item) for item in items]``, the calls spread over at most ``threads`` threads.

    The calling thread takes part; the others come from a shared pool. Items are handed
    out one at a time in order, so uneven items balance out. Results come back in the
    order of ``items``. If calls raise, no further item is started and the exception of
    the earliest failing item is raised once the running calls have finished. Runs
    inline when one thread is asked for, when there is at most one item, or when called
    from inside another `parallel_map` call (nested use cannot deadlock).

    Parameters
    ----------
    func:
        Called once per item; it should spend its time in numpy (or other code that
        releases the GIL) for the threads to run at once.
    items:
        The work, e.g. chunk bounds or partition numbers.
    threads:
        At most this many threads (default `get_threads`).

    Examples
    --------
    >>> parallel_map(lambda i: i * i, range(5), threads=2)
    [0, 1, 4, 9, 16]
    """
    work = list(items)
    n_threads = get_threads() if threads is None else _check_count(threads, "threads")
    n_threads = min(n_threads, len(work))
    if n_threads <= 1 or getattr(_local, "inside", False):
        return [func(item) for item in work]
    results: list[Any] = [None] * len(work)
    failed: list[tuple[int, BaseException]] = []
    counter = itertools.count()  # next() is atomic under the GIL

    def runner() -> None:
        outer = getattr(_local, "inside", False)
        _local.inside = True
        try:
            while not failed:
                i = next(counter)
                if i >= len(work):
                    return
                try:
                    results[i] = func(work[i])
                except BaseException as error:  # re-raised in the caller below
                    failed.append((i, error))
        finally:
            _local.inside = outer

    futures = _submit(n_threads - 1, runner)
    runner()
    wait(futures)
    if failed:
        raise min(failed, key=lambda f: f[0])[1]
    return results


def chunk_bounds(
    n: int, *, min_size: int = MIN_CHUNK, parts: int | None = None
) -> list[tuple[int, int]]:
    """Split ``range(n)`` into contiguous ``(start, stop)`` chunks of at least ``min_size``.

    The number of chunks is ``parts``, or by default ``n // min_size`` (at least one), so
    that it depends on the data size only, never on the thread count; never so many
    that a chunk is smaller than ``min_size`` (except a single chunk of a short input).
    Sizes differ by at most one. Empty input gives no chunk.

    >>> chunk_bounds(10, min_size=4)
    [(0, 5), (5, 10)]
    >>> chunk_bounds(10, min_size=1, parts=3)
    [(0, 4), (4, 7), (7, 10)]
    """
    if n <= 0:
        return []
    most = max(1, n // max(1, min_size))
    count = most if parts is None else max(1, min(parts, most))
    base, extra = divmod(n, count)
    bounds = []
    start = 0
    for i in range(count):  # a loop over chunks, a handful to a few hundred
        stop = start + base + (i < extra)
        bounds.append((start, stop))
        start = stop
    return bounds


def empty(shape: int | tuple[int, ...], dtype: Any = float) -> np.ndarray:
    """``numpy.empty`` for an array the pool's threads will fill: its pages mapped first.

    The operating system maps a fresh large array lazily, page by page on first write.
    When several threads take those page faults in one process at once, they wait on
    each other in the kernel: filling a fresh 80 MB array from 2 threads cost 0.15-0.6 s
    of system time on a 2-core virtual machine, against 0.00-0.08 s when one thread
    wrote a byte per page first (``benchmarks/prototypes/threads_page_faults.py``). So
    with more than one thread, arrays of at least `PREFAULT_BYTES` get that one write
    per page here (about 4 ms for 80 MB, all of it page faults the threads would have
    taken anyway); the contents stay unspecified, as with ``numpy.empty``.

    >>> empty(3, dtype=np.int64).shape
    (3,)
    """
    out = np.empty(shape, dtype=dtype)
    if out.nbytes >= PREFAULT_BYTES and get_threads() > 1:
        out.reshape(-1).view(np.uint8)[::_PAGE] = 0
    return out


def map_chunks(
    func: Callable[[int, int], Any],
    n: int,
    *,
    min_size: int = MIN_CHUNK,
    parts: int | None = None,
    threads: int | None = None,
) -> list[Any]:
    """``func(start, stop)`` for each chunk of ``range(n)`` (see `chunk_bounds`), on the pool.

    Returns the results in chunk order, so combining them in that order gives the same
    answer whatever the thread count.

    >>> import numpy as np
    >>> x = np.arange(1_000)
    >>> sum(map_chunks(lambda lo, hi: int(x[lo:hi].sum()), len(x), min_size=100))
    499500
    """
    bounds: Sequence[tuple[int, int]] = chunk_bounds(n, min_size=min_size, parts=parts)
    return parallel_map(lambda b: func(*b), bounds, threads=threads)
