"""Deprecated path: the ``memory://`` storage moved to `touchpoint.storage.memory`.

Every name read here warns (`DeprecationWarning`) and is the object from `touchpoint.storage.memory`;
this module goes away in the next release.
"""

from touchpoint.plugins._moved import forward

__getattr__, __dir__ = forward("touchpoint.plugins.storage.memory", "touchpoint.storage.memory")
