"""Deprecated path: the storage contract and `open_storage` moved to `touchpoint.storage`.

Every name read here warns (`DeprecationWarning`) and is the object from `touchpoint.storage`;
this module goes away in the next release.
"""

from touchpoint.plugins._moved import forward

__getattr__, __dir__ = forward("touchpoint.plugins.storage", "touchpoint.storage")
