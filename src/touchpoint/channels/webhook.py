"""Built-in plugin: the ``webhook`` channel, an HTTP POST of JSON signed with HMAC-SHA256.

Each request carries two headers: ``X-Touchpoint-Timestamp`` (Unix seconds) and
``X-Touchpoint-Signature: sha256=<hex>``, the HMAC-SHA256 with the shared secret of
``<timestamp>.<body>``. A receiver checks a request with `verify_signature`: the
signature must match (compared in constant time) and the timestamp must be within
``tolerance`` seconds (default `TOLERANCE`, 5 minutes) of the receiver's clock, so a
captured request cannot be replayed later; malformed headers (missing, non-ASCII, not a
number) are simply not valid, never an exception. Within the window, ``Idempotency-Key``
(the message's ``contact_id``) lets a receiver drop a repeated delivery. The secret is a
pydantic ``SecretStr``.

A 2xx answer is ``sent``. Timeouts, connection errors, 408, 429 and 5xx are retried
with exponential backoff (``backoff``, ``2 × backoff``, ...) up to ``retries`` more
times, then ``failed`` and retryable; other 4xx answers fail at once, not retryable.

Examples
--------
>>> body = b'{"contact_id": "c1"}'
>>> sig = sign("s3cret", "1700000000", body)
>>> verify_signature("s3cret", "1700000000", body, sig, now=1700000060)
True
>>> verify_signature("wrong", "1700000000", body, sig, now=1700000060)
False
>>> verify_signature("s3cret", "1700000000", body, sig, now=1700000000 + 3600)  # a replay
False
>>> verify_signature("s3cret", "1700000000", body, "sha256=é", now=1700000060)
False
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import urllib.error
import urllib.request
from typing import Any

import pydantic

from touchpoint.channels.base import Capabilities, ChannelBackend, Delivery, Message
from touchpoint.plugins.hookspecs import hookimpl

__all__ = ["TOLERANCE", "WebhookChannel", "WebhookSettings", "sign", "verify_signature"]

SIGNATURE_HEADER = "X-Touchpoint-Signature"
TIMESTAMP_HEADER = "X-Touchpoint-Timestamp"
#: Carries the message's ``contact_id`` (the dispatch idempotency key) so a receiver can
#: drop a repeated delivery.
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: Seconds a signed request stays acceptable, either side of the receiver's clock.
TOLERANCE = 300.0

_TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)
_SIGNATURE = re.compile(r"sha256=[0-9a-fA-F]{64}", re.ASCII)


def sign(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _ascii(value: object) -> str | None:
    """A header value as text, or None if it is not ASCII text (or ASCII bytes)."""
    if isinstance(value, bytes | bytearray):
        try:
            value = bytes(value).decode("ascii")
        except UnicodeDecodeError:
            return None
    return value if isinstance(value, str) and value.isascii() else None


def verify_signature(
    secret: str | bytes,
    timestamp: str | bytes | None,
    body: bytes,
    signature: str | bytes | None,
    *,
    tolerance: float | None = TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether a request is authentic and fresh: the receiver's check.

    Parameters
    ----------
    secret:
        The shared secret.
    timestamp, signature:
        The ``X-Touchpoint-Timestamp`` and ``X-Touchpoint-Signature`` header values, as
        received (text or bytes; missing, non-ASCII or malformed values give False).
    body:
        The raw request body (bytes).
    tolerance:
        Seconds the timestamp may differ from ``now``, either way (None: no freshness
        check, which lets a captured request be replayed forever).
    now:
        The receiver's clock in Unix seconds (default: `time.time`).
    """
    stamp, given = _ascii(timestamp), _ascii(signature)
    if stamp is None or given is None or not isinstance(body, bytes | bytearray | memoryview):
        return False
    if not _TIMESTAMP.fullmatch(stamp) or not _SIGNATURE.fullmatch(given):
        return False
    expected = sign(secret, stamp, bytes(body)).encode("ascii")
    valid = hmac.compare_digest(expected, given.lower().encode("ascii"))
    if tolerance is not None:
        clock = time.time() if now is None else now
        valid = valid and abs(clock - int(stamp)) <= tolerance
    return valid


class WebhookSettings(pydantic.BaseModel):
    """Where to POST and how hard to try. ``secret`` is masked everywhere."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    url: pydantic.AnyHttpUrl
    secret: pydantic.SecretStr
    timeout: float = pydantic.Field(default=5.0, gt=0)
    retries: int = pydantic.Field(default=3, ge=0)
    backoff: float = pydantic.Field(default=0.5, ge=0)
    address: str = "email"
    max_length: int | None = None
    rate_limit: float | None = None


class WebhookChannel(ChannelBackend):
    """POST each message as JSON to a URL, signed with HMAC-SHA256."""

    name = "webhook"

    def __init__(self, *, name: str = "webhook", **settings: Any) -> None:
        self.settings = WebhookSettings(**settings)
        self.name = name  # type: ignore[misc]
        s = self.settings
        self.capabilities = Capabilities(
            max_length=s.max_length, rate_limit=s.rate_limit, address=s.address
        )

    def __repr__(self) -> str:
        return f"WebhookChannel(url={str(self.settings.url)!r}, secret=**********)"

    def _post(self, body: bytes, key: str = "") -> int:
        stamp = str(int(time.time()))
        request = urllib.request.Request(
            str(self.settings.url),
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "touchpoint-webhook",
                TIMESTAMP_HEADER: stamp,
                SIGNATURE_HEADER: sign(self.settings.secret.get_secret_value(), stamp, body),
                IDEMPOTENCY_HEADER: key,
            },
        )
        with urllib.request.urlopen(request, timeout=self.settings.timeout) as response:
            return int(response.status)

    def send(self, message: Message) -> Delivery:
        payload = {
            "contact_id": message.contact_id,
            "customer": message.customer,
            "address": message.address,
            "subject": message.subject,
            "body": message.body,
            "touchpoint": message.touchpoint,
            "purpose": message.purpose,
            "metadata": message.metadata,
        }
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        s = self.settings
        detail = ""
        for attempt in range(1, s.retries + 2):
            try:
                status = self._post(body, message.contact_id)
                return Delivery.sent(message, self.name, detail=f"HTTP {status}", attempts=attempt)
            except urllib.error.HTTPError as exc:
                detail = f"HTTP {exc.code}"
                if exc.code < 500 and exc.code not in (408, 429):
                    return Delivery.failed(
                        message, self.name, detail, retryable=False, attempts=attempt
                    )
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                detail = f"could not reach the webhook ({type(reason).__name__})"
            if attempt <= s.retries:
                time.sleep(s.backoff * 2 ** (attempt - 1))
        return Delivery.failed(message, self.name, detail, retryable=True, attempts=s.retries + 1)


@hookimpl
def register_channels(register: Any) -> None:
    register("webhook", WebhookChannel)
