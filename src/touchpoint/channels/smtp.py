"""Built-in plugin: the ``smtp`` channel, e-mail through the standard library's smtplib.

Security ``ssl`` (implicit TLS, port 465), ``starttls`` (port 587, the default) or
``none`` (only for a relay on the same host). The password is a pydantic ``SecretStr``:
it never appears in reprs, logs or delivery details.

Delivery outcomes: accepted by the server is ``sent``; a refused recipient, a rejected
login or any other permanent (5xx) answer is ``failed`` and not retryable; timeouts,
refused connections and temporary (4xx) answers are ``failed`` and retryable.

Hostile input is refused before anything is sent, as a permanent failure (not
retryable) whose detail names the problem and masks the value:

- the address must be exactly one mailbox, a bare ``local@domain`` parsed strictly
  (`strict_address`): a list (``"a@x, evil@y"``), a display name (``'"a@x" <evil@y>'``),
  comments, quoting, whitespace or a non-ASCII local part (it would need SMTPUTF8) are
  refused; an internationalised domain is sent in its ASCII (IDNA) form. The SMTP
  envelope names that one address, whatever the headers say;
- a CR, LF or other control character in any header value (subject, contact id,
  unsubscribe link) would let a value add headers: refused, naming the header.

Examples
--------
>>> ch = SmtpChannel(host="mail.example.com", sender="shop@example.com",
...                  username="shop", password="s3cret")
>>> "s3cret" in repr(ch), ch.settings.port
(False, 587)
>>> strict_address("li.na@example.com")
'li.na@example.com'
>>> strict_address("a@example.com, evil@example.net")
Traceback (most recent call last):
...
ValueError: not exactly one mailbox: a list or a display name is not an address
"""

from __future__ import annotations

import hashlib
import hmac
import re
import smtplib
import ssl
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from typing import Any, Literal
from urllib.parse import quote

import pydantic

from touchpoint._privacy import mask_email, mask_name
from touchpoint.channels.base import Capabilities, ChannelBackend, Delivery, Message
from touchpoint.plugins.hookspecs import hookimpl

__all__ = ["SmtpChannel", "SmtpSettings", "strict_address", "unsubscribe_token"]

_PORTS = {"ssl": 465, "starttls": 587, "none": 25}

# RFC 5322 dot-atom local part (ASCII atext) and an RFC 1035 host name.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDR_SPEC = re.compile(rf"({_ATEXT}(?:\.{_ATEXT})*)@({_LABEL}(?:\.{_LABEL})*)", re.ASCII)
#: Characters no header value may hold: C0 and C1 controls (CR, LF, TAB, NUL...), DEL,
#: and the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def strict_address(value: str) -> str:
    """``value`` as exactly one bare mailbox (``local@domain``), or `ValueError` saying why.

    No list, display name, comment, quoting, route or whitespace; the local part is
    ASCII; a non-ASCII domain is returned in its IDNA (``xn--``) form. The error message
    never repeats the value (it is personal).

    >>> strict_address("wang@例子.中国")
    'wang@xn--fsqu00a.xn--fiqs8s'
    >>> strict_address('"a@example.com" <evil@example.net>')
    Traceback (most recent call last):
    ...
    ValueError: not exactly one mailbox: a list or a display name is not an address
    """
    if not isinstance(value, str) or not value:
        raise ValueError("no address")
    if _CONTROL.search(value):
        raise ValueError("the address holds a control character (CR, LF or another)")
    if any(c in value for c in ',;<>"()') or value.count("@") != 1 or value != value.strip():
        raise ValueError("not exactly one mailbox: a list or a display name is not an address")
    local, _, domain = value.partition("@")
    if not local.isascii():
        raise ValueError("the local part is not ASCII (it would need SMTPUTF8)")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError("the domain is not a valid internationalised host name") from None
    address = f"{local}@{domain}"
    if not _ADDR_SPEC.fullmatch(address) or len(local) > 64 or len(address) > 254:
        raise ValueError("not a valid address (local@domain, a dot-atom and a host name)")
    # the standard library must read it as the same single mailbox
    try:
        parsed = Address(addr_spec=address).addr_spec
    except Exception:
        parsed = None
    if parsed != address or parseaddr(address) != ("", address):
        raise ValueError("not exactly one mailbox as the e-mail parser reads it")
    return address


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

    @pydantic.field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        """One mailbox, bare or with a plain display name (``Shop <shop@example.com>``)."""
        if _CONTROL.search(value):
            raise ValueError("the sender holds a control character (CR, LF or another)")
        match = re.fullmatch(r"([^<>@\",;:()]*?)\s*<([^<>]*)>", value)
        strict_address(match.group(2) if match else value)
        return value

    @property
    def sender_address(self) -> str:
        """The sender's bare address (the SMTP envelope sender)."""
        match = re.fullmatch(r"([^<>@\",;:()]*?)\s*<([^<>]*)>", self.sender)
        return strict_address(match.group(2) if match else self.sender)

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

    def _refuse(self, message: Message, detail: str) -> Delivery:
        return Delivery.failed(message, self.name, f"{detail}; not sent", retryable=False)

    def send(self, message: Message) -> Delivery:
        s = self.settings
        try:
            recipient = strict_address(message.address)
        except ValueError as exc:
            return self._refuse(message, f"address {mask_email(message.address)} refused: {exc}")
        headers = {
            "Subject": message.subject or "",
            "X-Touchpoint-Contact": message.contact_id,
        }
        for header, value in headers.items():
            if _CONTROL.search(value):
                return self._refuse(
                    message,
                    f"header {header} holds a control character (CR, LF or another), which "
                    f"could add headers (value: {mask_name(value)!r})",
                )
        # Long headers (List-Unsubscribe URLs) must stay plain, not RFC 2047-encoded when folded.
        email = EmailMessage(policy=_POLICY)
        email["From"] = s.sender
        email["To"] = recipient
        email["Subject"] = headers["Subject"]
        email["Message-ID"] = make_msgid(
            idstring=re.sub(r"[^A-Za-z0-9._-]", "-", message.contact_id)
        )
        email["X-Touchpoint-Contact"] = headers["X-Touchpoint-Contact"]
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
            if _CONTROL.search(link):
                return self._refuse(
                    message, "header List-Unsubscribe holds a control character (CR, LF or another)"
                )
            email["List-Unsubscribe"] = f"<{link}>"
            email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            body = f"{body}\n\nTo stop receiving these e-mails: {link}\n"
        email.set_content(body)
        to = mask_email(recipient)
        try:
            client = self._connect()
            try:
                # the envelope names the one checked address, whatever the headers hold
                client.send_message(email, from_addr=s.sender_address, to_addrs=[recipient])
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
