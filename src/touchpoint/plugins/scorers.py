"""Deprecated path: the built-in scores register themselves next to where they live.

`touchpoint.scoring._plugin`, `touchpoint.clv._plugin` and
`touchpoint.attribution._plugin` each carry a ``register_scorers`` hook; together they
are the built-in plugin ``touchpoint.scorers``. Look scores up by name with
``Plugins().scorers()``. Every name read here (``BUILTIN_SCORES``...) warns
(`DeprecationWarning`) and is the object from `touchpoint.scoring._plugin`; this module
goes away in the next release.
"""

from touchpoint.plugins._moved import forward

__getattr__, __dir__ = forward("touchpoint.plugins.scorers", "touchpoint.scoring._plugin")
