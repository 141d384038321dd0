"""Every hook `touchpoint` calls, with the documentation of each.

Plugins implement hooks with `hookimpl` and are found through the ``touchpoint``
entry-point group (see `touchpoint.plugins.manager`). The built-in channels, storages,
blueprint templates and scorers are registered through these same hooks.

Every payload is typed; the types are imported for the annotations only
(``if TYPE_CHECKING:``), so importing this module imports no storage, channel or
workspace code.

Two kinds of hook:

- **Registration hooks** take a ``register`` callback, so one plugin can register several
  things and the host keeps them (``register_channels``, ``register_storage``,
  ``register_blueprints``, ``register_scorers``). They are called once per plugin when
  the plugins are loaded. A plugin whose registration hook raises, or that registers a
  name another plugin registered first, is disabled (nothing it registered is used,
  none of its hooks runs) and reported with the reason, naming both plugins; the others
  go on working.
- **Notification hooks** tell a plugin that something happened (``interactions_recorded``,
  ``indicator_breached``, ``tier_changed``, ``promise_overdue``, ``complaint_overdue``,
  ``contact_sent``, ``contact_failed``). They run after the data is committed; the
  workspace calls each plugin's implementation separately, in a worker thread with a
  bounded time (``hook_timeout``, 10 s by default), so a plugin that raises or hangs
  never loses the data and never stops the other plugins: its error, or the timeout, is
  logged and returned with its name. Keep them quick; hand long work to a queue of your own.

Examples
--------
>>> from touchpoint.plugins import hookimpl
>>> class Greeter:
...     @hookimpl
...     def interactions_recorded(self, workspace, report):
...         print(f"{report.accepted} new")
>>> REGISTRATION_HOOKS
('register_channels', 'register_storage', 'register_blueprints', 'register_scorers')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # for the annotations only: importing the specs imports none of these
    from collections.abc import Callable
    from typing import Any

    from touchpoint.channels import ChannelBackend, Delivery, Message
    from touchpoint.model import Blueprint, Complaint, Promise
    from touchpoint.storage import Storage
    from touchpoint.workspace import Breach, IngestReport, Workspace

__all__ = [
    "GROUP",
    "NOTIFICATION_HOOKS",
    "REGISTRATION_HOOKS",
    "complaint_overdue",
    "contact_failed",
    "contact_sent",
    "hookimpl",
    "hookspec",
    "indicator_breached",
    "interactions_recorded",
    "promise_overdue",
    "register_blueprints",
    "register_channels",
    "register_scorers",
    "register_storage",
    "tier_changed",
]

#: The pluggy project name and the entry-point group plugins declare.
GROUP = "touchpoint"

hookspec = pluggy.HookspecMarker(GROUP)
#: Decorate a plugin's hook implementations with this marker.
hookimpl = pluggy.HookimplMarker(GROUP)

REGISTRATION_HOOKS = (
    "register_channels",
    "register_storage",
    "register_blueprints",
    "register_scorers",
)
NOTIFICATION_HOOKS = (
    "interactions_recorded",
    "indicator_breached",
    "tier_changed",
    "promise_overdue",
    "complaint_overdue",
    "contact_sent",
    "contact_failed",
)

# --------------------------------------------------------------------------- registration


@hookspec
def register_channels(register: Callable[[str, Callable[..., ChannelBackend]], None]) -> None:
    """Register channel kinds: ways to send a rendered message to a customer.

    Call ``register(kind, factory)`` once per kind. ``kind`` is the name configurations
    and `Workspace.channel` use (``"smtp"``, ``"sms-gateway"``); ``factory`` is a class or
    callable that takes the channel's settings as keyword arguments and returns an object
    following `touchpoint.channels.ChannelBackend` (a ``name``, ``capabilities``
    and ``send(message) -> Delivery``). A kind whose factory needs no arguments can be
    used by name alone.

    .. code-block:: python

        @hookimpl
        def register_channels(register):
            register("sms-gateway", SmsGatewayChannel)
    """


@hookspec
def register_storage(register: Callable[[str, Callable[[str], Storage]], None]) -> None:
    """Register storage backends by URL scheme.

    Call ``register(scheme, factory)``; ``touchpoint.open("scheme://...")`` then calls
    ``factory(url)`` with the whole URL and expects a `touchpoint.storage.Storage`.
    The built-ins register ``memory`` and ``sqlite``.

    .. code-block:: python

        @hookimpl
        def register_storage(register):
            register("postgresql", PostgresStorage.from_url)
    """


@hookspec
def register_blueprints(register: Callable[[str, Callable[[], Blueprint]], None]) -> None:
    """Register blueprint templates by name.

    Call ``register(name, loader)``; ``loader()`` returns a `touchpoint.Blueprint`. It is
    called only when the template is used, so registering is cheap. The built-in
    templates (car dealership, telecom business hall, ...) come through this hook.
    """


@hookspec
def register_scorers(register: Callable[[str, Callable[..., Any]], None]) -> None:
    """Register extra scoring functions by name.

    Call ``register(name, function)``. A scorer follows the scoring convention: it takes
    ``data`` (an `EventFrame`, a DataFrame or a dict of arrays) and keyword arguments,
    and returns columns keyed by customer. It must be a pure function (no I/O).
    """


# --------------------------------------------------------------------------- notifications


@hookspec
def interactions_recorded(workspace: Workspace, report: IngestReport) -> None:
    """A batch of interactions was committed.

    ``report`` is the `touchpoint.workspace.IngestReport` of the batch (counts, the row
    indices accepted, duplicate and rejected, and the reasons). Called only when at least
    one interaction landed. The batch is already stored: raising here does not undo it.
    """


@hookspec
def indicator_breached(workspace: Workspace, breach: Breach) -> None:
    """A control indicator was not met.

    ``breach`` is a frozen `touchpoint.workspace.Breach`: the touchpoint and indicator
    codes, the ``measured`` value and the ``target``, and the interaction's ``row``,
    ``event_id``, ``customer`` and ``time``. `Workspace.check_compliance` calls it once
    per breach, in the report's order. (It used to be a dict; reading it like one still
    works for one release, with a `DeprecationWarning`.)
    """


@hookspec
def tier_changed(workspace: Workspace, customer: str, old: str | None, new: str | None) -> None:
    """A customer moved from loyalty tier ``old`` to ``new`` (``None``: no tier)."""


@hookspec
def promise_overdue(workspace: Workspace, promise: Promise) -> None:
    """An open `touchpoint.Promise` passed its due date without being fulfilled."""


@hookspec
def complaint_overdue(workspace: Workspace, complaint: Complaint) -> None:
    """A `touchpoint.Complaint` is still without a first response past its response limit.

    `Workspace.check_complaints` calls it once per such complaint on every call (the
    complaint as stored: no ``first_response_at``, no ``resolved_at``, opened more than
    the response limit before the check's ``asof``). A host that wants one alert per
    complaint keeps track of the ids it has seen, as for ``promise_overdue``.
    """


@hookspec
def contact_sent(workspace: Workspace, message: Message, delivery: Delivery) -> None:
    """A channel delivered ``message``; ``delivery`` is its `Delivery` (status ``sent``)."""


@hookspec
def contact_failed(workspace: Workspace, message: Message, delivery: Delivery) -> None:
    """A channel failed to deliver ``message``.

    ``delivery.status`` is ``failed``; ``delivery.retryable`` says whether trying again may
    help (timeouts, server errors) and ``delivery.detail`` says why, without credentials
    or personal values.
    """
