"""Storage: the contract (`Storage`, `Batch`) and the built-in backends.

``memory://`` (`touchpoint.storage.memory.MemoryStorage`) and ``sqlite:///path.db``
(`touchpoint.storage.sqlite.SqliteStorage`, the embedded default) are built-in plugins:
each module registers its scheme through its own ``register_storage`` hook and is the
plugin of the same name (``touchpoint.storage.sqlite``). `open_storage` picks the
backend by the URL's scheme among all registered ones.

Examples
--------
>>> store = open_storage("memory://")
>>> type(store).__name__
'MemoryStorage'
"""

from __future__ import annotations

from typing import Any

from touchpoint.errors import StorageError
from touchpoint.storage.base import (
    CATEGORICAL,
    FLOATS,
    AppendResult,
    AppendStatus,
    Batch,
    Rejection,
    Storage,
)

__all__ = [
    "CATEGORICAL",
    "FLOATS",
    "AppendResult",
    "AppendStatus",
    "Batch",
    "Rejection",
    "Storage",
    "open_storage",
]


def open_storage(url: str, *, plugins: Any = None) -> Storage:
    """The storage for ``url``, by its scheme (``memory``, ``sqlite`` or a plugin's).

    A plain path (no ``://``) is taken as a SQLite file.
    """
    if "://" not in url:
        url = f"sqlite:///{url}"
    scheme = url.split("://", 1)[0].lower()
    if plugins is None:
        from touchpoint.plugins.manager import default_plugins

        plugins = default_plugins()
    backends = plugins.storages()
    if scheme not in backends:
        known = ", ".join(f"{s}://" for s in sorted(backends)) or "none"
        raise StorageError(
            f"no storage plugin for {scheme}:// (known: {known}); is its plugin installed and enabled?"
        )
    store = backends[scheme].obj(url)
    if not isinstance(store, Storage):
        raise StorageError(
            f"plugin {backends[scheme].plugin!r} returned a {type(store).__name__} for {scheme}://, "
            "not a touchpoint.storage.Storage"
        )
    return store
