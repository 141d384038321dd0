"""Built-in plugin: the ``console`` channel, for development.

It writes each message to a stream (standard error by default) and to the
``touchpoint.channels.console`` logger, with the address masked, and reports it sent.

Examples
--------
>>> import io
>>> out = io.StringIO()
>>> ch = ConsoleChannel(stream=out)
>>> from touchpoint.channels.base import Message
>>> ch.send(Message("c1", "C001", "zhang.wei@example.com", "Your car is ready", subject="Service")).status.value
'sent'
>>> print(out.getvalue().strip())
[console] to C001 <z***@e***.com> (c1): Service | Your car is ready
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

from touchpoint._privacy import mask_value
from touchpoint.channels.base import Capabilities, ChannelBackend, Delivery, Message
from touchpoint.plugins.hookspecs import hookimpl

__all__ = ["ConsoleChannel"]

log = logging.getLogger("touchpoint.channels.console")


class ConsoleChannel(ChannelBackend):
    """Print messages instead of sending them (address masked)."""

    name = "console"

    def __init__(self, *, stream: TextIO | None = None, max_length: int | None = None) -> None:
        self.stream = stream
        self.capabilities = Capabilities(max_length=max_length, address="email")

    def send(self, message: Message) -> Delivery:
        shown = mask_value("email" if "@" in message.address else "phone", message.address)
        subject = f"{message.subject} | " if message.subject else ""
        line = f"[console] to {message.customer} <{shown}> ({message.contact_id}): {subject}{message.body}"
        print(line, file=self.stream if self.stream is not None else sys.stderr)
        log.info("%s", line)
        return Delivery.sent(message, self.name)


@hookimpl
def register_channels(register: Any) -> None:
    register("console", ConsoleChannel)
