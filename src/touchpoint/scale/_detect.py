"""Telling a Dask collection from an in-memory table without importing Dask.

Every score calls `is_dask` on its ``data`` first; it looks at the type's module name
only, so scoring in memory never imports Dask and never pays for the check.

>>> is_dask({"customer": [1]})
False
"""

from __future__ import annotations

from typing import Any

__all__ = ["is_dask"]


def is_dask(data: Any) -> bool:
    """True for a Dask DataFrame or Series (any Dask collection)."""
    return type(data).__module__.split(".")[0] == "dask"
