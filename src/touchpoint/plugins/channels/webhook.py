"""Deprecated path: the webhook channel moved to `touchpoint.channels.webhook`.

Every name read here warns (`DeprecationWarning`) and is the object from `touchpoint.channels.webhook`;
this module goes away in the next release.
"""

from touchpoint.plugins._moved import forward

__getattr__, __dir__ = forward("touchpoint.plugins.channels.webhook", "touchpoint.channels.webhook")
