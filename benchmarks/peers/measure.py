"""Peak memory of a block of code, the same way in our process and in a peer's.

Linux only: writing 5 to /proc/self/clear_refs resets the process's peak resident set
size (VmHWM), so the peak of one call is measured even after a larger earlier peak (such
as loading the data). Works for native code (C++ peers) as well as numpy, unlike
tracemalloc. Used by the benchmark scripts and by the peer workers they start.
"""

from __future__ import annotations


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak() -> int:
    """Reset the peak resident set size; return the current size in bytes."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _status("VmRSS")


def peak_since(before: int) -> float:
    """Rise of the peak resident set size over ``before``, in MiB."""
    return (_status("VmHWM") - before) / 2**20
