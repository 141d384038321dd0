"""Channels against real servers on loopback: aiosmtpd for SMTP, http.server for webhooks.

TLS uses the throwaway certificate in ``tests/channels/data`` (see its README).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import socket
import ssl
import threading
import time
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from hypothesis import given
from hypothesis import strategies as st

from touchpoint.channels import DeliveryStatus, Message, deliver
from touchpoint.channels.console import ConsoleChannel
from touchpoint.channels.outbox import OutboxChannel
from touchpoint.channels.smtp import SmtpChannel
from touchpoint.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookChannel
from touchpoint.storage import open_storage
from touchpoint.testing import ChannelContract

DATA = Path(__file__).parent / "data"
CERT, KEY = DATA / "loopback-cert.pem", DATA / "loopback-key.pem"
USER, PASSWORD = "shop", "pa55-w0rd-never-shown"
SECRET = "hmac-secret-never-shown"


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch):
    """A proxy configured in the environment must not intercept the loopback servers."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(CERT))


def server_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(CERT), str(KEY))
    return ctx


# --------------------------------------------------------------------------- SMTP


class Inbox:
    """aiosmtpd handler keeping every accepted message; can refuse recipients."""

    def __init__(self, rcpt_answer: str | None = None):
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.rcpt_answer = rcpt_answer

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_answer:
            return self.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


def start_smtp(inbox: Inbox, security: str) -> tuple[Controller, int]:
    port = free_port()
    # with implicit TLS aiosmtpd does not know the session is encrypted: allow AUTH there
    kwargs = {"authenticator": authenticator, "auth_require_tls": security == "starttls"}
    if security == "starttls":
        kwargs.update(tls_context=server_context(), require_starttls=True)
    elif security == "ssl":
        kwargs.update(ssl_context=server_context())
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, port


@pytest.fixture(params=["starttls", "ssl", "none"])
def smtp_server(request):
    inbox = Inbox()
    controller, port = start_smtp(inbox, request.param)
    yield request.param, port, inbox
    controller.stop()


def smtp_channel(port: int, security: str, password: str = PASSWORD) -> SmtpChannel:
    return SmtpChannel(
        host="127.0.0.1",
        port=port,
        security=security,
        sender="shop@example.com",
        username=USER,
        password=password,
        timeout=5,
        ssl_context=client_context(),
    )


def test_smtp_delivers_over_each_security_mode(smtp_server):
    security, port, inbox = smtp_server
    msg = Message(
        "k-1",
        "C001",
        "li.na@example.com",
        "Your car is ready.\nSee you soon.",
        subject="Service done",
    )
    delivery = smtp_channel(port, security).send(msg)
    assert delivery.status is DeliveryStatus.SENT, delivery.detail
    [(sender, rcpts, raw)] = inbox.messages
    assert sender == "shop@example.com" and rcpts == ["li.na@example.com"]
    email = message_from_bytes(raw)
    assert email["Subject"] == "Service done" and email["X-Touchpoint-Contact"] == "k-1"
    assert (
        email.get_payload(decode=True).decode().replace("\r\n", "\n").strip()
        == "Your car is ready.\nSee you soon."
    )
    assert "li.na@example.com" not in delivery.detail  # address masked in the detail


def test_smtp_wrong_password_fails_for_good_and_never_shows_the_password(caplog):
    inbox = Inbox()
    controller, port = start_smtp(inbox, "starttls")
    try:
        channel = smtp_channel(port, "starttls", password="wrong-" + PASSWORD)
        with caplog.at_level(logging.DEBUG):
            delivery = channel.send(Message("k-2", "C001", "li.na@example.com", "hi"))
    finally:
        controller.stop()
    assert delivery.status is DeliveryStatus.FAILED and not delivery.retryable
    assert "login refused" in delivery.detail
    for text in (
        delivery.detail,
        repr(channel),
        repr(channel.settings),
        str(channel.settings.model_dump()),
        caplog.text,
    ):
        assert PASSWORD not in text
    assert inbox.messages == []


@pytest.mark.parametrize(
    ("answer", "retryable"), [("550 no such user", False), ("451 try again later", True)]
)
def test_smtp_refusals_permanent_and_temporary(answer, retryable):
    inbox = Inbox(rcpt_answer=answer)
    controller, port = start_smtp(inbox, "starttls")
    try:
        delivery = smtp_channel(port, "starttls").send(
            Message("k-3", "C001", "li.na@example.com", "hi")
        )
    finally:
        controller.stop()
    assert delivery.status is DeliveryStatus.FAILED and delivery.retryable is retryable


def test_smtp_no_server_is_retryable():
    delivery = smtp_channel(free_port(), "starttls").send(Message("k-4", "C001", "a@b.cn", "hi"))
    assert delivery.status is DeliveryStatus.FAILED and delivery.retryable
    assert "could not reach 127.0.0.1" in delivery.detail


class TestSmtpContract(ChannelContract):
    @pytest.fixture
    def server(self):
        inbox = Inbox()
        controller, port = start_smtp(inbox, "starttls")
        yield port, inbox
        controller.stop()

    @pytest.fixture
    def channel(self, server):
        return smtp_channel(server[0], "starttls")

    @pytest.fixture
    def received(self, server):
        inbox = server[1]
        return lambda: [
            (r[0], message_from_bytes(raw).get_payload(decode=True).decode())
            for _, r, raw in inbox.messages
        ]

    @pytest.fixture
    def unreachable(self):
        return smtp_channel(free_port(), "starttls")

    @pytest.fixture
    def secrets(self):
        return [PASSWORD]


# --------------------------------------------------------------------------- webhook


class Hook:
    """A loopback HTTP server that checks the HMAC signature independently."""

    def __init__(self, answers=(), delay=0.0):
        self.answers = list(answers)  # status codes to answer first, then 200
        self.delay = delay
        self.received: list[dict] = []
        self.keys: list[str | None] = []  # Idempotency-Key headers of accepted requests
        self.bad_signatures = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers[TIMESTAMP_HEADER]
                expected = (
                    "sha256="
                    + hmac.new(
                        SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256
                    ).hexdigest()
                )
                if (
                    self.headers[SIGNATURE_HEADER] != expected
                    or abs(time.time() - int(stamp)) > 300
                ):
                    hook.bad_signatures += 1
                    code = 401
                else:
                    code = hook.answers.pop(0) if hook.answers else 200
                    if code == 200:
                        hook.received.append(json.loads(body))
                        hook.keys.append(self.headers["Idempotency-Key"])
                time.sleep(hook.delay)
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


def webhook(url, secret=SECRET, **kw):
    return WebhookChannel(
        url=url, secret=secret, timeout=kw.pop("timeout", 2), backoff=kw.pop("backoff", 0.01), **kw
    )


def test_webhook_posts_signed_json(hook):
    msg = Message("k-10", "C001", "li.na@example.com", "Hello", subject="Hi", touchpoint="T1")
    delivery = webhook(hook.url).send(msg)
    assert delivery.status is DeliveryStatus.SENT and delivery.attempts == 1
    assert hook.bad_signatures == 0
    [payload] = hook.received
    assert (
        payload["contact_id"] == "k-10"
        and payload["body"] == "Hello"
        and payload["touchpoint"] == "T1"
    )


def test_webhook_sends_the_contact_id_as_idempotency_key(hook):
    channel = webhook(hook.url)
    for key in ("birthday/C1/2026", "birthday/C2/2026", "birthday/C1/2026"):
        assert channel.send(Message(key, "C1", "a@example.com", "Hi")).ok
    assert hook.keys == ["birthday/C1/2026", "birthday/C2/2026", "birthday/C1/2026"]
    assert hook.keys == [p["contact_id"] for p in hook.received]


def test_webhook_wrong_secret_is_refused_by_the_receiver(hook):
    delivery = webhook(hook.url, secret="not-the-secret").send(
        Message("k-11", "C001", "a@b.cn", "x")
    )
    assert (
        delivery.status is DeliveryStatus.FAILED
        and not delivery.retryable
        and delivery.detail == "HTTP 401"
    )
    assert hook.bad_signatures == 1 and hook.received == []


def test_webhook_retries_server_errors_with_backoff():
    h = Hook(answers=[503, 500])
    try:
        delivery = webhook(h.url, retries=3).send(Message("k-12", "C001", "a@b.cn", "x"))
    finally:
        h.close()
    assert delivery.status is DeliveryStatus.SENT and delivery.attempts == 3
    assert len(h.received) == 1


def test_webhook_gives_up_retryable_after_timeouts():
    h = Hook(delay=0.5)
    try:
        delivery = webhook(h.url, timeout=0.1, retries=1).send(
            Message("k-13", "C001", "a@b.cn", "x")
        )
    finally:
        h.close()
    assert (
        delivery.status is DeliveryStatus.FAILED and delivery.retryable and delivery.attempts == 2
    )


def test_webhook_client_errors_are_not_retried():
    h = Hook(answers=[422])
    try:
        delivery = webhook(h.url, retries=3).send(Message("k-14", "C001", "a@b.cn", "x"))
    finally:
        h.close()
    assert (
        delivery.status is DeliveryStatus.FAILED
        and not delivery.retryable
        and delivery.attempts == 1
    )


class TestWebhookContract(ChannelContract):
    @pytest.fixture
    def server(self):
        h = Hook()
        yield h
        h.close()

    @pytest.fixture
    def channel(self, server):
        return webhook(server.url, max_length=500)

    @pytest.fixture
    def received(self, server):
        return lambda: [(p["address"], p["body"]) for p in server.received]

    @pytest.fixture
    def unreachable(self):
        return webhook(f"http://127.0.0.1:{free_port()}/hook", retries=1)

    @pytest.fixture
    def secrets(self):
        return [SECRET]


# --------------------------------------------------------------------------- console, outbox


class TestConsoleContract(ChannelContract):
    @pytest.fixture
    def stream(self):
        return io.StringIO()

    @pytest.fixture
    def channel(self, stream):
        return ConsoleChannel(stream=stream, max_length=160)

    @pytest.fixture
    def received(self, stream):
        return lambda: [("", line) for line in stream.getvalue().splitlines()]

    @pytest.fixture
    def unreachable(self):
        closed = io.StringIO()
        closed.close()
        return ConsoleChannel(stream=closed)


class TestOutboxContract(ChannelContract):
    @pytest.fixture
    def storage(self):
        store = open_storage("memory://")
        yield store
        store.close()

    @pytest.fixture
    def channel(self, storage):
        return OutboxChannel(storage=storage)

    @pytest.fixture
    def received(self, storage):
        return lambda: [(c["address"], c["body"]) for c in storage.contacts(status="queued")]

    @pytest.fixture
    def unreachable(self):
        return OutboxChannel()  # no storage to write to


def test_deliver_turns_a_raising_channel_into_a_retryable_failure():
    class Raises:
        name = "raises"

        def send(self, message):
            raise ConnectionResetError("peer went away")

    d = deliver(Raises(), Message("k-20", "C1", "a@b.cn", "x"))
    assert d.status is DeliveryStatus.FAILED and d.retryable and "ConnectionResetError" in d.detail


def test_marketing_email_carries_an_unsubscribe_link_and_headers():
    from touchpoint.channels.smtp import unsubscribe_token

    inbox = Inbox()
    controller, port = start_smtp(inbox, "none")
    try:
        channel = SmtpChannel(
            host="127.0.0.1",
            port=port,
            security="none",
            sender="shop@example.com",
            timeout=5,
            unsubscribe_url="https://shop.example.com/unsubscribe?c={customer}&t={token}",
            unsubscribe_secret="k3y",
        )
        offer = Message(
            "k-m", "C 7", "li.na@example.com", "20% off this week.", purpose="marketing"
        )
        assert channel.send(offer).status is DeliveryStatus.SENT
        notice = Message("k-s", "C 7", "li.na@example.com", "Your car is ready.")
        assert channel.send(notice).status is DeliveryStatus.SENT
        marketing, service = (message_from_bytes(raw) for _, _, raw in inbox.messages)
        link = f"https://shop.example.com/unsubscribe?c=C%207&t={unsubscribe_token('k3y', 'C 7')}"
        assert marketing["List-Unsubscribe"] == f"<{link}>"
        assert marketing["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert link in marketing.get_payload(decode=True).decode()
        assert service["List-Unsubscribe"] is None, "service notices are not marketing"
        assert "k3y" not in repr(channel)

        bare = SmtpChannel(
            host="127.0.0.1", port=port, security="none", sender="shop@example.com", timeout=5
        )
        refused = bare.send(offer)
        assert refused.status is not DeliveryStatus.SENT and not refused.retryable
        assert "unsubscribe_url" in refused.detail and len(inbox.messages) == 2
    finally:
        controller.stop()


# --------------------------------------------------------------------------- hostile input


@pytest.fixture
def plain_smtp():
    inbox = Inbox()
    controller, port = start_smtp(inbox, "none")
    channel = SmtpChannel(
        host="127.0.0.1", port=port, security="none", sender="shop@example.com", timeout=5
    )
    yield channel, inbox
    controller.stop()


@pytest.mark.parametrize(
    "address",
    [
        "li.na@example.com, evil@example.net",  # sent to both before
        '"li.na@example.com" <evil@example.net>',  # sent to evil only before
        "li.na@example.com; evil@example.net",
        "Li Na <li.na@example.com>",
        "li.na@example.com (Li Na)",
        "li.na@example.com\r\nBcc: evil@example.net",
        "li.na@example.com\n",
        " li.na@example.com",
        "li na@example.com",
        "李娜@example.com",
        "li.na@example.com@evil.example.net",
        "",
    ],
)
def test_smtp_sends_only_to_exactly_one_strictly_parsed_mailbox(plain_smtp, address):
    """Defect 7: a list or a display name in the address reached other mailboxes."""
    channel, inbox = plain_smtp
    delivery = deliver(channel, Message("k-h", "C001", address, "Your car is ready."))
    assert delivery.status is DeliveryStatus.FAILED and not delivery.retryable
    assert delivery.detail.startswith("address ") and delivery.detail.endswith("not sent")
    assert "evil" not in delivery.detail and "li.na@" not in delivery.detail  # masked
    assert inbox.messages == []


@pytest.mark.parametrize(
    ("subject", "contact_id", "header"),
    [
        ("Hello\r\nBcc: evil@example.net", "k-s1", "Subject"),
        ("Hello\nX-Spam: no", "k-s2", "Subject"),
        ("Hello\x00", "k-s3", "Subject"),
        ("Hello\u2028Bcc: evil@example.net", "k-s4", "Subject"),
        ("Hello", "k-s5\r\nBcc: evil@example.net", "X-Touchpoint-Contact"),
    ],
)
def test_smtp_control_characters_in_a_header_are_a_permanent_failure(
    plain_smtp, subject, contact_id, header
):
    channel, inbox = plain_smtp
    msg = Message(contact_id, "C001", "li.na@example.com", "hi", subject=subject)
    delivery = deliver(channel, msg)
    assert delivery.status is DeliveryStatus.FAILED and not delivery.retryable
    assert f"header {header} holds a control character" in delivery.detail
    assert "evil" not in delivery.detail and "Hello" not in delivery.detail  # masked
    assert inbox.messages == []


def test_smtp_envelope_names_the_one_address_and_idn_domains_go_as_ascii(plain_smtp):
    channel, inbox = plain_smtp
    for address in ("li.na+care@example.com", "wang@例子.中国"):
        delivery = channel.send(Message("k-i", "C001", address, "hi", subject="Service"))
        assert delivery.status is DeliveryStatus.SENT, delivery.detail
    assert [rcpts for _, rcpts, _ in inbox.messages] == [
        ["li.na+care@example.com"],
        ["wang@xn--fsqu00a.xn--fiqs8s"],
    ]
    assert message_from_bytes(inbox.messages[1][2])["To"] == "wang@xn--fsqu00a.xn--fiqs8s"


def test_smtp_sender_must_be_one_mailbox():
    from pydantic import ValidationError as SettingsError

    ok = SmtpChannel(host="h", sender="Shop <shop@example.com>")
    assert ok.settings.sender_address == "shop@example.com"
    for sender in ("a@example.com, b@example.com", "shop@example.com\r\nBcc: x@y.z", "shop"):
        with pytest.raises(SettingsError, match="sender"):
            SmtpChannel(host="h", sender=sender)


# --------------------------------------------------------------------------- webhook receivers


class Recorder(Hook):
    """A loopback receiver that keeps each request's raw headers and body."""

    def __init__(self):
        super().__init__()
        self.requests: list[tuple[str, str, bytes]] = []
        handler = self.server.RequestHandlerClass
        recorder = self
        original = handler.do_POST

        def do_post(request):
            body = request.rfile.read(int(request.headers["Content-Length"]))
            recorder.requests.append(
                (request.headers[TIMESTAMP_HEADER], request.headers[SIGNATURE_HEADER], body)
            )
            request.rfile = io.BytesIO(body)
            original(request)

        handler.do_POST = do_post


def test_verify_signature_accepts_a_real_request_only_while_it_is_fresh():
    """Defect 14: no freshness window, so a captured request could be replayed forever."""
    from touchpoint.channels.webhook import TOLERANCE, verify_signature

    h = Recorder()
    try:
        sent_at = time.time()
        assert webhook(h.url).send(Message("k-v", "C001", "a@b.cn", "hello")).ok
    finally:
        h.close()
    [(stamp, signature, body)] = h.requests
    assert abs(int(stamp) - sent_at) <= 1
    assert verify_signature(SECRET, stamp, body, signature)  # now
    assert verify_signature(SECRET, stamp.encode(), body, signature.encode())  # bytes headers
    assert not verify_signature("other-secret", stamp, body, signature)
    assert not verify_signature(SECRET, stamp, body + b" ", signature)
    assert not verify_signature(SECRET, str(int(stamp) + 1), body, signature)
    t = int(stamp)
    assert verify_signature(SECRET, stamp, body, signature, now=t + TOLERANCE)
    assert not verify_signature(SECRET, stamp, body, signature, now=t + TOLERANCE + 1)  # replay
    assert not verify_signature(SECRET, stamp, body, signature, now=t - TOLERANCE - 1)  # future
    assert verify_signature(SECRET, stamp, body, signature, now=t + 60, tolerance=30) is False
    assert verify_signature(SECRET, stamp, body, signature, now=t + 10**6, tolerance=None)


@pytest.mark.parametrize(
    ("stamp", "signature"),
    [
        ("1700000000", "sha256=é" + "0" * 63),  # TypeError from compare_digest before
        ("1700000000", "sha256=ü"),
        ("١٧٠٠٠٠٠٠٠٠", None),  # Arabic-Indic digits
        (None, "sha256=" + "0" * 64),
        ("17e8", "sha256=" + "0" * 64),
        (" 1700000000", "sha256=" + "0" * 64),
        ("1700000000", "sha256=" + "0" * 64 + "\n"),
        (b"\xff\xfe", b"sha256=\xff"),
        ("1700000000", ""),
        ("1700000000", 12345),
    ],
)
def test_verify_signature_malformed_headers_are_false_never_an_exception(stamp, signature):
    from touchpoint.channels.webhook import verify_signature

    assert verify_signature(SECRET, stamp, b"{}", signature, now=1700000000) is False


@given(st.one_of(st.text(), st.binary(), st.none()), st.one_of(st.text(), st.binary()))
def test_verify_signature_never_raises_on_any_header(stamp, signature):
    from touchpoint.channels.webhook import verify_signature

    assert verify_signature(SECRET, stamp, b"{}", signature) is False
