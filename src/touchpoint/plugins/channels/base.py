"""The channel interface: send a rendered message to a customer's address, get a `Delivery`.

A channel backend has a ``name``, declares its `Capabilities` (maximum length, rate
limit, which customer address it uses) and implements ``send(message) -> Delivery``.
``send`` should not raise for delivery problems: it returns a failed `Delivery` saying
whether a retry may help. If it raises anyway, `deliver` turns the exception into a failed,
retryable delivery, so a contact is never lost.

Examples
--------
>>> class Shout(ChannelBackend):
...     name = "shout"
...     capabilities = Capabilities(max_length=20, address="phone")
...     def send(self, message):
...         return Delivery.sent(message, self.name, detail=message.body.upper())
>>> msg = Message(contact_id="c1", customer="C001", address="+86 138 0013 8000", body="hi")
>>> deliver(Shout(), msg).detail
'HI'
>>> deliver(Shout(), Message(contact_id="c2", customer="C001", address="x", body="x" * 30)).status.value
'failed'
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, ClassVar

import attrs

from touchpoint._privacy import mask_value

__all__ = ["Capabilities", "ChannelBackend", "Delivery", "DeliveryStatus", "Message", "deliver"]


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


@attrs.frozen
class Capabilities:
    """What a channel can carry.

    Parameters
    ----------
    max_length:
        Longest body in characters (``None``: no limit). Longer messages fail, not retryable.
    rate_limit:
        Most messages per second the channel accepts (``None``: no limit); dispatchers
        pace themselves by it.
    address:
        The customer field holding the address this channel uses: ``email``, ``phone``,
        ``url``...
    """

    max_length: int | None = None
    rate_limit: float | None = None
    address: str = "email"


@attrs.frozen(repr=False)
class Message:
    """A rendered message for one customer. The address is masked in the repr."""

    contact_id: str
    customer: str
    address: str
    body: str
    subject: str = ""
    touchpoint: str | None = None
    purpose: str = "service"
    metadata: dict[str, Any] = attrs.field(factory=dict, eq=False)

    def __repr__(self) -> str:
        shown = mask_value("email" if "@" in self.address else "phone", self.address)
        return (
            f"Message(contact_id={self.contact_id!r}, customer={self.customer!r}, "
            f"address={shown!r}, subject={self.subject!r}, {len(self.body)} chars)"
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@attrs.frozen
class Delivery:
    """The outcome of sending one message through one channel.

    ``detail`` never contains credentials or the customer's address.
    """

    contact_id: str
    channel: str
    status: DeliveryStatus = attrs.field(converter=DeliveryStatus)
    detail: str = ""
    retryable: bool = False
    attempts: int = 1
    provider_id: str | None = None
    at: dt.datetime = attrs.field(factory=_now)

    @property
    def ok(self) -> bool:
        return self.status is not DeliveryStatus.FAILED

    @classmethod
    def sent(cls, message: Message, channel: str, **kw: Any) -> Delivery:
        return cls(message.contact_id, channel, DeliveryStatus.SENT, **kw)

    @classmethod
    def failed(
        cls, message: Message, channel: str, detail: str, *, retryable: bool, **kw: Any
    ) -> Delivery:
        return cls(message.contact_id, channel, DeliveryStatus.FAILED, detail, retryable, **kw)


class ChannelBackend:
    """Base class for channels (subclassing is optional: the three attributes are the contract)."""

    name: ClassVar[str] = "channel"
    capabilities: Capabilities = Capabilities()
    #: True if the channel records the contact in storage itself (the outbox does).
    logs_contacts: ClassVar[bool] = False

    def send(self, message: Message) -> Delivery:  # pragma: no cover - abstract
        raise NotImplementedError

    def attach(self, storage: Any) -> None:
        """Called by the workspace with its storage (the outbox channel writes there)."""


def deliver(channel: Any, message: Message) -> Delivery:
    """Send ``message`` through ``channel``, enforcing its capabilities and never raising.

    A body over ``max_length`` fails without calling the channel (not retryable); a channel
    that raises leaves a failed, retryable delivery whose detail names the exception type.
    """
    name = getattr(channel, "name", type(channel).__name__)
    caps = getattr(channel, "capabilities", None) or Capabilities()
    if caps.max_length is not None and len(message.body) > caps.max_length:
        return Delivery.failed(
            message,
            name,
            f"body has {len(message.body)} characters; channel {name!r} takes at most {caps.max_length}",
            retryable=False,
        )
    try:
        result = channel.send(message)
    except Exception as exc:
        return Delivery.failed(
            message, name, f"channel raised {type(exc).__name__}: {exc}", retryable=True
        )
    if not isinstance(result, Delivery):
        return Delivery.failed(
            message,
            name,
            f"channel returned {type(result).__name__}, not a Delivery",
            retryable=False,
        )
    return result
