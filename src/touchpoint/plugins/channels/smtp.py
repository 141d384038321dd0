"""Deprecated path: the SMTP channel moved to `touchpoint.channels.smtp`.

Every name read here warns (`DeprecationWarning`) and is the object from `touchpoint.channels.smtp`;
this module goes away in the next release.
"""

from touchpoint.plugins._moved import forward

__getattr__, __dir__ = forward("touchpoint.plugins.channels.smtp", "touchpoint.channels.smtp")
