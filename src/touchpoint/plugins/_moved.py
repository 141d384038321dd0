"""Old import paths kept for one release: modules that re-export a moved module's names.

The built-in storages and channels moved out of ``touchpoint.plugins`` (to
`touchpoint.storage` and `touchpoint.channels`), next to what they are; the modules at
their old paths only forward names, and each name read through an old path emits a
`DeprecationWarning` naming the new one. They go away in the release after next.

Examples
--------
>>> import warnings
>>> from touchpoint.plugins import storage
>>> with warnings.catch_warnings(record=True) as seen:
...     warnings.simplefilter("always")
...     cls = storage.Storage
>>> cls.__module__, str(seen[0].message)
('touchpoint.storage.base', 'touchpoint.plugins.storage.Storage is deprecated: import it from touchpoint.storage (the old path goes away in the next release)')
"""

from touchpoint._deprecation import forward

__all__ = ["forward"]
