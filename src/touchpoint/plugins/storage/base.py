"""Deprecated path: the storage contract moved to `touchpoint.storage.base`.

Every name read here warns (`DeprecationWarning`) and is the object from `touchpoint.storage.base`;
this module goes away in the next release.
"""

from touchpoint.plugins._moved import forward

__getattr__, __dir__ = forward("touchpoint.plugins.storage.base", "touchpoint.storage.base")
