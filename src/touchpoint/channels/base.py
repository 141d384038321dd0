"""The channel interface: send a rendered message to a customer's address, get a `Delivery`.

A channel backend has a ``name``, declares its `Capabilities` (maximum length, rate
limit, which customer address it uses) and implements ``send(message) -> Delivery``.
``send`` should not raise for delivery problems: it returns a failed `Delivery` saying
whether a retry may help. If it raises anyway, `deliver` turns the exception into a failed,
retryable delivery, so a contact is never lost.

`deliver` also bounds the time of every call into a channel plugin (``timeout``, default
`DEFAULT_TIMEOUT` seconds): the call runs in a worker thread, and a call that has not
returned in time becomes a failed, retryable delivery whose detail names the channel and
its plugin class. Python cannot stop a thread, so the hung call keeps running in the
background until it returns on its own; its result is then dropped (nothing is recorded
from it), so a late completion cannot change what the caller recorded. Whatever a channel
says (its ``detail``, or the text of an exception it raised) is masked with `mask_reason`
before it leaves `deliver`: e-mail addresses, phone numbers, tokens and passwords are
replaced, and the text is cut to `REASON_LIMIT` characters, because details are stored in
the contact log and the outbox.

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
>>> class Hang(Shout):
...     def send(self, message):
...         import time; time.sleep(1); return Delivery.sent(message, self.name)
>>> late = deliver(Hang(), msg, timeout=0.05)
>>> late.retryable, late.detail
(True, "channel 'shout' (Hang) did not answer within 0.05 s")
>>> mask_reason("535 auth failed for li.na@example.com with token=abc123XYZ, call +86 138 0013 8000")
'535 auth failed for l***@e***.com with token=***, call ***00'
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import threading
from typing import Any, ClassVar

import attrs

from touchpoint._privacy import mask_email, mask_phone, mask_value

__all__ = [
    "DEFAULT_TIMEOUT",
    "REASON_LIMIT",
    "Capabilities",
    "ChannelBackend",
    "Delivery",
    "DeliveryStatus",
    "Message",
    "deliver",
    "mask_reason",
]

#: Seconds a call into a channel plugin may take before `deliver` gives up on it.
DEFAULT_TIMEOUT = 60.0
#: Longest reason (delivery detail, error) stored or logged, in characters.
REASON_LIMIT = 300

_SECRET_WORDS = (
    r"token|secret|password|passwd|pwd|pass|api[_-]?key|apikey|access[_-]?key|key|auth"
    r"|authorization|signature|sig|session|cookie|credentials?"
)
_PATTERNS = [
    # user:password@ in URLs
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@"), lambda m: f"{m.group(1)}***@"),
    # token=..., password: ..., Authorization: Bearer ...
    (
        re.compile(rf"(?i)\b({_SECRET_WORDS})(\s*[=:]\s*)(?:bearer\s+|basic\s+)?[^\s,;&'\"]+"),
        lambda m: f"{m.group(1)}{m.group(2)}***",
    ),
    (re.compile(r"(?i)\b(bearer|basic)\s+[^\s,;&'\"]+"), lambda m: f"{m.group(1)} ***"),
    # e-mail addresses
    (
        re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
        lambda m: mask_email(m.group(0)),
    ),
    # long opaque strings (keys, JWTs, session ids): 20+ characters mixing letters and digits
    (
        re.compile(r"\b(?=[\w.-]*\d)(?=[\w.-]*[A-Za-z])[\w-]{20,}(?:\.[\w-]+)*\b"),
        lambda m: "***",
    ),
]
_PHONE = re.compile(r"(?<![\w.:/-])\+?\d[\d ()\-.]{5,}\d(?![\w:/])")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}|^\d{1,3}(?:\.\d{1,3}){3}$")


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)
    if _DATE.match(text) or sum(c.isdigit() for c in text) < 7:
        return text  # a date, an IP address or a short number (an HTTP status, a port)
    return mask_phone(text)


def mask_reason(text: Any, limit: int = REASON_LIMIT) -> str:
    """``text`` with personal values and credentials masked, at most ``limit`` characters.

    E-mail addresses and phone numbers are masked as `touchpoint.privacy` does; the
    values of ``token=``, ``password:``, ``Authorization: Bearer`` and the like, passwords
    in URLs and long opaque strings (keys, session ids) become ``***``. Use it for any
    text from outside (an exception, a server's answer) that is stored or logged.
    """
    out = "" if text is None else str(text)
    for pattern, replace in _PATTERNS:
        out = pattern.sub(replace, out)
    out = _PHONE.sub(_phone, out)
    out = " ".join(out.split())  # no newlines or runs of blanks in a stored reason
    return out if len(out) <= limit else out[: limit - 1] + "…"


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
    """A rendered message for one customer. The address is masked in the repr.

    Attributes
    ----------
    contact_id:
        Identifies this contact; the same on a retry, so a channel can use it as its
        provider's idempotency key.
    customer:
        The customer's id.
    address:
        Where to send: the customer field named by the channel's `Capabilities.address`.
    body:
        The rendered text.
    subject:
        The subject line (``""`` if none).
    touchpoint:
        The touchpoint the message belongs to, if any.
    purpose:
        ``"service"`` (default), ``"marketing"``...; consent is checked before sending.
    metadata:
        Anything the caller attached (not compared in equality).
    """

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

    Build one with `Delivery.sent` or `Delivery.failed`.

    Attributes
    ----------
    contact_id:
        The message's ``contact_id``.
    channel:
        The channel's ``name``.
    status:
        `DeliveryStatus`: ``SENT`` (handed over), ``QUEUED`` (accepted for later sending)
        or ``FAILED``; a string is converted.
    detail:
        A short reason or note; never credentials or the customer's address (it is stored
        in the contact log; `deliver` masks it with `mask_reason` anyway).
    retryable:
        For a failure: whether trying again may help.
    attempts:
        Attempts this delivery stands for (default 1).
    provider_id:
        The provider's id for the message, if any.
    at:
        When, timezone-aware UTC (default: now).
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
        """Whether the channel took the message (sent or queued), i.e. did not fail."""
        return self.status is not DeliveryStatus.FAILED

    @classmethod
    def sent(cls, message: Message, channel: str, **kw: Any) -> Delivery:
        """A successful delivery of ``message`` by ``channel`` (``kw``: the other fields)."""
        return cls(message.contact_id, channel, DeliveryStatus.SENT, **kw)

    @classmethod
    def failed(
        cls, message: Message, channel: str, detail: str, *, retryable: bool, **kw: Any
    ) -> Delivery:
        """A failed delivery: ``detail`` says why (no personal data), ``retryable`` whether
        sending again later may succeed (a timeout) or not (a bad address)."""
        return cls(message.contact_id, channel, DeliveryStatus.FAILED, detail, retryable, **kw)


class ChannelBackend:
    """Base class for channels (subclassing is optional: the three attributes are the contract).

    A channel has a ``name``, its `Capabilities` and ``send(message) -> Delivery``;
    `touchpoint.testing.ChannelContract` holds the tests every channel passes, and the
    page "Write a channel plugin" of the documentation builds one.
    """

    name: ClassVar[str] = "channel"
    capabilities: Capabilities = Capabilities()
    #: True if the channel records the contact in storage itself (the outbox does).
    logs_contacts: ClassVar[bool] = False

    def send(self, message: Message) -> Delivery:  # pragma: no cover - abstract
        """Send one message; return a `Delivery`, failed rather than raising, for delivery
        problems (the workspace calls it through `deliver`, with a timeout)."""
        raise NotImplementedError

    def attach(self, storage: Any) -> None:
        """Called by the workspace with its storage (the outbox channel writes there)."""


def _describe(channel: Any, name: str) -> str:
    return f"channel {name!r} ({type(channel).__qualname__})"


def _call(channel: Any, message: Message, timeout: float) -> tuple[bool, Any]:
    """``(finished, result or exception)`` of ``channel.send(message)`` within ``timeout`` s.

    The call runs in a daemon thread (not a pool's: a pool's threads are joined when the
    interpreter exits, so one hung call would keep the process from ending).
    """
    box: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            box.append((True, channel.send(message)))
        except BaseException as exc:  # handed back to the caller
            box.append((False, exc))

    worker = threading.Thread(target=run, name=f"touchpoint-channel-{message.contact_id}")
    worker.daemon = True
    worker.start()
    worker.join(timeout)
    if not box:
        return False, None
    return True, box[0]


def deliver(channel: Any, message: Message, *, timeout: float | None = None) -> Delivery:
    """Send ``message`` through ``channel``, enforcing its capabilities and never raising.

    A body over ``max_length`` fails without calling the channel (not retryable); a channel
    that raises leaves a failed, retryable delivery whose detail names the exception type;
    a channel that has not answered within ``timeout`` seconds (default `DEFAULT_TIMEOUT`)
    leaves a failed, retryable delivery naming the channel and its class, and its call is
    abandoned (see the module docs). Every detail is masked with `mask_reason`.
    """
    name = getattr(channel, "name", type(channel).__name__)
    limit = DEFAULT_TIMEOUT if timeout is None else float(timeout)
    if not limit > 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    caps = getattr(channel, "capabilities", None) or Capabilities()
    if caps.max_length is not None and len(message.body) > caps.max_length:
        return Delivery.failed(
            message,
            name,
            f"body has {len(message.body)} characters; channel {name!r} takes at most {caps.max_length}",
            retryable=False,
        )
    finished, outcome = _call(channel, message, limit)
    if not finished:
        return Delivery.failed(
            message,
            name,
            f"{_describe(channel, name)} did not answer within {limit:g} s",
            retryable=True,
        )
    returned, result = outcome
    if not returned:
        if not isinstance(result, Exception):  # KeyboardInterrupt, SystemExit...
            raise result
        detail = mask_reason(f"channel raised {type(result).__name__}: {result}")
        return Delivery.failed(message, name, detail, retryable=True)
    if not isinstance(result, Delivery):
        return Delivery.failed(
            message,
            name,
            f"channel returned {type(result).__name__}, not a Delivery",
            retryable=False,
        )
    masked = mask_reason(result.detail)
    return result if masked == result.detail else attrs.evolve(result, detail=masked)
