"""Deprecated path: the built-in templates plugin is `touchpoint.templates` itself.

Every name read here warns (`DeprecationWarning`) and is the object from
`touchpoint.templates`; this module goes away in the next release.
"""

from touchpoint.plugins._moved import forward

__getattr__, __dir__ = forward("touchpoint.plugins.templates", "touchpoint.templates")
