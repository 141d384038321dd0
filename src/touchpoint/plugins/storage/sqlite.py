"""Deprecated path: the SQLite storage moved to `touchpoint.storage.sqlite`.

Every name read here warns (`DeprecationWarning`) and is the object from `touchpoint.storage.sqlite`;
this module goes away in the next release.
"""

from touchpoint.plugins._moved import forward

__getattr__, __dir__ = forward("touchpoint.plugins.storage.sqlite", "touchpoint.storage.sqlite")
