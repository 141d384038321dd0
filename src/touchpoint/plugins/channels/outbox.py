"""Deprecated path: the outbox channel moved to `touchpoint.channels.outbox`.

Every name read here warns (`DeprecationWarning`) and is the object from `touchpoint.channels.outbox`;
this module goes away in the next release.
"""

from touchpoint.plugins._moved import forward

__getattr__, __dir__ = forward("touchpoint.plugins.channels.outbox", "touchpoint.channels.outbox")
