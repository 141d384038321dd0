"""Built-in plugin: ``memory://``, storage that lives as long as the process.

The same engine as the SQLite backend on an in-memory database (no file, no WAL), so it
behaves exactly like the default for tests, notebooks and demos.

Examples
--------
>>> store = MemoryStorage()
>>> store.count(), store.url
(0, 'memory://')
"""

from __future__ import annotations

from typing import Any

from touchpoint.errors import StorageError
from touchpoint.plugins.hookspecs import hookimpl
from touchpoint.storage.sqlite import SqliteStorage

__all__ = ["MemoryStorage"]


class MemoryStorage(SqliteStorage):
    """Everything in memory; gone when the object is closed or collected."""

    def __init__(self) -> None:
        super().__init__(":memory:", url="memory://")

    @classmethod
    def from_url(cls, url: str) -> MemoryStorage:
        if url.rstrip("/") != "memory:":
            raise StorageError(
                f"the memory storage takes no path or options: use 'memory://', not {url!r}"
            )
        return cls()


@hookimpl
def register_storage(register: Any) -> None:
    register("memory", MemoryStorage.from_url)
