"""`ChannelContract`: the pytest suite every channel plugin must pass.

Subclass it and provide three fixtures:

- ``channel``: a working channel;
- ``received``: a callable returning what the destination got so far, as a list of
  ``(address, body)`` pairs (read it from your test server, spool directory...);
- ``unreachable``: the same kind of channel pointed at a destination that does not answer.

Optionally override ``secrets`` (a list of strings, e.g. the password in the settings)
that must never appear in the channel's repr, in delivery details or in logs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from touchpoint.channels.base import (
    Capabilities,
    ChannelBackend,
    Delivery,
    DeliveryStatus,
    Message,
    deliver,
)

__all__ = ["ChannelContract"]


class ChannelContract:
    """The channel contract as pytest tests."""

    @pytest.fixture
    def secrets(self) -> list[str]:
        """Strings (passwords, tokens) that must never appear in reprs, details or logs."""
        return []

    def _message(self, n: int = 1, body: str = "Your car is ready for collection") -> Message:
        return Message(
            f"contract-{n}", "C001", "li.na@example.com", body, subject="Service", touchpoint="T1"
        )

    def test_declares_name_and_capabilities(self, channel: ChannelBackend) -> None:
        assert isinstance(channel.name, str) and channel.name
        assert isinstance(channel.capabilities, Capabilities)

    def test_send_delivers_and_reports(
        self, channel: ChannelBackend, received: Callable[[], list[tuple[str, str]]]
    ) -> None:
        msg = self._message()
        delivery = channel.send(msg)
        assert isinstance(delivery, Delivery)
        assert delivery.contact_id == msg.contact_id and delivery.channel == channel.name
        assert delivery.status in (DeliveryStatus.SENT, DeliveryStatus.QUEUED)
        got = received()
        assert any(msg.body in body for _, body in got), got

    def test_unreachable_destination_fails_retryable_without_raising(
        self, unreachable: ChannelBackend
    ) -> None:
        delivery = deliver(unreachable, self._message(2))
        assert delivery.status is DeliveryStatus.FAILED and delivery.retryable
        assert delivery.detail

    def test_too_long_a_message_is_not_sent(
        self, channel: ChannelBackend, received: Callable[[], list[tuple[str, str]]]
    ) -> None:
        limit = channel.capabilities.max_length
        if limit is None:
            return  # no limit declared: nothing to enforce
        before = len(received())
        delivery = deliver(channel, self._message(3, body="x" * (limit + 1)))
        assert delivery.status is DeliveryStatus.FAILED and not delivery.retryable
        assert len(received()) == before

    def test_secrets_and_addresses_stay_out_of_reprs_details_and_logs(
        self,
        channel: ChannelBackend,
        unreachable: ChannelBackend,
        secrets: list[str],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        with caplog.at_level(logging.DEBUG):
            outcomes = [deliver(channel, self._message(4)), deliver(unreachable, self._message(5))]
        # touchpoint's own log records (a test server's logs may show what it received)
        logged = [r.getMessage() for r in caplog.records if r.name.startswith("touchpoint")]
        shown = [repr(channel), repr(unreachable), *(d.detail for d in outcomes), *logged]
        for text in shown:
            for secret in secrets:
                assert secret not in text
            assert "li.na@example.com" not in text
