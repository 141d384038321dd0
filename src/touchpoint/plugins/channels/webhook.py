"""Built-in plugin: the ``webhook`` channel, an HTTP POST of JSON signed with HMAC-SHA256.

Each request carries two headers: ``X-Touchpoint-Timestamp`` (Unix seconds) and
``X-Touchpoint-Signature: sha256=<hex>``, the HMAC-SHA256 with the shared secret of
``<timestamp>.<body>``. A receiver recomputes it with `verify_signature` and rejects
old timestamps to stop replays. ``Idempotency-Key`` carries the message's
``contact_id`` so a receiver can drop a repeated delivery. The secret is a pydantic ``SecretStr``.

A 2xx answer is ``sent``. Timeouts, connection errors, 408, 429 and 5xx are retried
with exponential backoff (``backoff``, ``2 × backoff``, ...) up to ``retries`` more
times, then ``failed`` and retryable; other 4xx answers fail at once, not retryable.

Examples
--------
>>> body = b'{"contact_id": "c1"}'
>>> sig = sign("s3cret", "1700000000", body)
>>> verify_signature("s3cret", "1700000000", body, sig)
True
>>> verify_signature("wrong", "1700000000", body, sig)
False
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any

import pydantic

from touchpoint.plugins.channels.base import Capabilities, ChannelBackend, Delivery, Message
from touchpoint.plugins.hookspecs import hookimpl

__all__ = ["WebhookChannel", "WebhookSettings", "sign", "verify_signature"]

SIGNATURE_HEADER = "X-Touchpoint-Signature"
TIMESTAMP_HEADER = "X-Touchpoint-Timestamp"
#: Carries the message's ``contact_id`` (the dispatch idempotency key) so a receiver can
#: drop a repeated delivery.
IDEMPOTENCY_HEADER = "Idempotency-Key"


def sign(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret: str | bytes, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether ``signature`` is right for ``body`` and ``timestamp`` (constant-time compare)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")


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
