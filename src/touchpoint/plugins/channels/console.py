"""Deprecated path: the console channel moved to `touchpoint.channels.console`.

Every name read here warns (`DeprecationWarning`) and is the object from `touchpoint.channels.console`;
this module goes away in the next release.
"""

from touchpoint.plugins._moved import forward

__getattr__, __dir__ = forward("touchpoint.plugins.channels.console", "touchpoint.channels.console")
