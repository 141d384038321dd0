"""Deprecated path: the channel contract moved to `touchpoint.channels.base`.

Every name read here warns (`DeprecationWarning`) and is the object from `touchpoint.channels.base`;
this module goes away in the next release.
"""

from touchpoint.plugins._moved import forward

__getattr__, __dir__ = forward("touchpoint.plugins.channels.base", "touchpoint.channels.base")
