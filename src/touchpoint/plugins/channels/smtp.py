"""Built-in plugin: the ``smtp`` channel, e-mail through the standard library's smtplib.

Security ``ssl`` (implicit TLS, port 465), ``starttls`` (port 587, the default) or
``none`` (only for a relay on the same host). The password is a pydantic ``SecretStr``:
it never appears in reprs, logs or delivery details.

Delivery outcomes: accepted by the server is ``sent``; a refused recipient, a rejected
login or any other permanent (5xx) answer is ``failed`` and not retryable; timeouts,
refused connections and temporary (4xx) answers are ``failed`` and retryable.

Examples
--------
>>> ch = SmtpChannel(host="mail.example.com", sender="shop@example.com",
...                  username="shop", password="s3cret")
>>> "s3cret" in repr(ch), ch.settings.port
(False, 587)
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
import ssl
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Literal
from urllib.parse import quote

import pydantic

from touchpoint._privacy import mask_email
from touchpoint.plugins.channels.base import Capabilities, ChannelBackend, Delivery, Message
from touchpoint.plugins.hookspecs import hookimpl

__all__ = ["SmtpChannel", "SmtpSettings"]

_PORTS = {"ssl": 465, "starttls": 587, "none": 25}


class SmtpSettings(pydantic.BaseModel):
    """Where and how to send e-mail. ``password`` is secret (masked everywhere)."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    host: str
    port: int | None = None
    security: Literal["ssl", "starttls", "none"] = "starttls"
    sender: str
    username: str | None = None
    password: pydantic.SecretStr | None = None
    timeout: float = pydantic.Field(default=10.0, gt=0)
    rate_limit: float | None = None
    #: Where a customer unsubscribes from marketing e-mail: a URL template with
    #: ``{customer}`` and ``{token}`` (see `unsubscribe_token`). Required for marketing.
    unsubscribe_url: str | None = None
    #: The key of the unsubscribe tokens (secret, masked everywhere).
    unsubscribe_secret: pydantic.SecretStr | None = None

    @pydantic.model_validator(mode="before")
    @classmethod
    def _port(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("port") is None:
            data = {**data, "port": _PORTS.get(data.get("security", "starttls"), 587)}
        return data


_POLICY = email_policy.SMTP.clone(max_line_length=998)


def unsubscribe_token(secret: str, customer: str) -> str:
    """The token that proves an unsubscribe link was made for ``customer``.

    A host's unsubscribe endpoint recomputes it with the same secret to check the link.

    >>> unsubscribe_token("s3cret", "C001") == unsubscribe_token("s3cret", "C001")
    True
    >>> len(unsubscribe_token("s3cret", "C001"))
    32
    """
    return hmac.new(secret.encode(), customer.encode(), hashlib.sha256).hexdigest()[:32]


class SmtpChannel(ChannelBackend):
    """Send messages as e-mail.

    Parameters are those of `SmtpSettings`; ``ssl_context`` replaces the default
    certificate checks (for a private CA); ``name`` renames the channel.
    """

    name = "smtp"

    def __init__(
        self, *, ssl_context: ssl.SSLContext | None = None, name: str = "smtp", **settings: Any
    ) -> None:
        self.settings = SmtpSettings(**settings)
        self.name = name  # type: ignore[misc]
        self.capabilities = Capabilities(address="email", rate_limit=self.settings.rate_limit)
        self._context = ssl_context

    def __repr__(self) -> str:
        s = self.settings
        return f"SmtpChannel(host={s.host!r}, port={s.port}, security={s.security!r}, username={s.username!r}, password=**********)"

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = self._context or ssl.create_default_context()
        if s.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                s.host, s.port or 465, timeout=s.timeout, context=context
            )
        else:
            client = smtplib.SMTP(s.host, s.port or 587, timeout=s.timeout)
            if s.security == "starttls":
                client.starttls(context=context)
        if s.username:
            password = s.password.get_secret_value() if s.password is not None else ""
            client.login(s.username, password)
        return client

    def send(self, message: Message) -> Delivery:
        s = self.settings
        # Long headers (List-Unsubscribe URLs) must stay plain, not RFC 2047-encoded when folded.
        email = EmailMessage(policy=_POLICY)
        email["From"] = s.sender
        email["To"] = message.address
        email["Subject"] = message.subject or ""
        email["Message-ID"] = make_msgid(idstring=message.contact_id)
        email["X-Touchpoint-Contact"] = message.contact_id
        body = message.body
        if message.purpose == "marketing":
            # Marketing e-mail always carries an unsubscribe link and the RFC 2369 / 8058
            # headers that let mail clients offer one-click unsubscribe.
            if not s.unsubscribe_url:
                return Delivery.failed(
                    message,
                    self.name,
                    "marketing e-mail needs an unsubscribe link: set the channel's unsubscribe_url",
                    retryable=False,
                )
            secret = s.unsubscribe_secret.get_secret_value() if s.unsubscribe_secret else ""
            link = s.unsubscribe_url.format(
                customer=quote(message.customer, safe=""),
                token=unsubscribe_token(secret, message.customer),
            )
            email["List-Unsubscribe"] = f"<{link}>"
            email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            body = f"{body}\n\nTo stop receiving these e-mails: {link}\n"
        email.set_content(body)
        to = mask_email(message.address)
        try:
            client = self._connect()
            try:
                client.send_message(email)
            finally:
                try:
                    client.quit()
                except (smtplib.SMTPException, OSError):
                    client.close()
        except smtplib.SMTPAuthenticationError as exc:
            return Delivery.failed(
                message,
                self.name,
                f"login refused by the server ({exc.smtp_code})",
                retryable=False,
            )
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            temporary = bool(codes) and all(400 <= c < 500 for c in codes)
            return Delivery.failed(
                message,
                self.name,
                f"recipient {to} refused by the server ({', '.join(map(str, codes))})",
                retryable=temporary,
            )
        except smtplib.SMTPResponseException as exc:
            temporary = 400 <= exc.smtp_code < 500
            return Delivery.failed(
                message, self.name, f"server answered {exc.smtp_code}", retryable=temporary
            )
        except (
            smtplib.SMTPServerDisconnected,
            smtplib.SMTPConnectError,
            TimeoutError,
            ConnectionError,
        ) as exc:
            return Delivery.failed(
                message,
                self.name,
                f"could not reach {s.host}:{s.port} ({type(exc).__name__})",
                retryable=True,
            )
        except ssl.SSLError as exc:
            return Delivery.failed(
                message,
                self.name,
                f"TLS failed with {s.host}:{s.port}: {exc.reason}",
                retryable=False,
            )
        except (smtplib.SMTPException, OSError) as exc:
            return Delivery.failed(
                message,
                self.name,
                f"{type(exc).__name__} talking to {s.host}:{s.port}",
                retryable=True,
            )
        return Delivery.sent(
            message,
            self.name,
            detail=f"accepted by {s.host} for {to}",
            provider_id=email["Message-ID"],
        )


@hookimpl
def register_channels(register: Any) -> None:
    register("smtp", SmtpChannel)
