"""Lazy imports of optional extras, with an error that names the extra to install.

Importing `touchpoint` never imports an extra; features call `require` where they need one.

Examples
--------
>>> np = require("numpy", extra="core", feature="anything")
>>> np.__name__
'numpy'
"""

from __future__ import annotations

import importlib
from types import ModuleType

from touchpoint.errors import MissingExtraError

__all__ = ["require"]


def require(module: str, *, extra: str, feature: str) -> ModuleType:
    """Import ``module`` or raise `MissingExtraError` saying ``pip install 'touchpoint-ctm[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised with the extra missing
        raise MissingExtraError(feature, extra, module.split(".")[0]) from exc
