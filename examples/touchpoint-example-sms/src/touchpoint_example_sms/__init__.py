"""An example touchpoint plugin: the ``sms-spool`` channel.

It writes each SMS as a JSON file into a spool directory, where an SMS gateway (or a cron
job calling one) picks it up. The directory comes from the ``spool`` setting or the
``TOUCHPOINT_SMS_SPOOL`` environment variable. A message longer than 70 characters (one
SMS segment of Chinese text) is refused by touchpoint before it reaches the channel.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from touchpoint.channels import Capabilities, ChannelBackend, Delivery, Message
from touchpoint.plugins import hookimpl

__version__ = "0.1.0"

SPOOL_ENV = "TOUCHPOINT_SMS_SPOOL"


class SmsSpoolChannel(ChannelBackend):
    """Queue SMS messages as files in a spool directory."""

    name = "sms-spool"
    capabilities = Capabilities(max_length=70, rate_limit=10.0, address="phone")

    def __init__(self, *, spool: str | os.PathLike[str] | None = None) -> None:
        where = spool or os.environ.get(SPOOL_ENV)
        self.spool = Path(where) if where else None

    def __repr__(self) -> str:
        return f"SmsSpoolChannel(spool={str(self.spool)!r})"

    def send(self, message: Message) -> Delivery:
        if self.spool is None:
            return Delivery.failed(
                message, self.name, f"no spool directory: set {SPOOL_ENV}", retryable=True
            )
        try:
            self.spool.mkdir(parents=True, exist_ok=True)
            target = self.spool / f"{message.contact_id}.json"
            partial = target.with_suffix(".tmp")
            partial.write_text(
                json.dumps({"to": message.address, "text": message.body}, ensure_ascii=False)
            )
            partial.replace(target)  # the gateway never sees half a file
        except OSError as exc:
            return Delivery.failed(
                message, self.name, f"cannot write to the spool ({exc.strerror})", retryable=True
            )
        return Delivery.sent(message, self.name, detail="spooled", provider_id=target.name)


@hookimpl
def register_channels(register: Any) -> None:
    register("sms-spool", SmsSpoolChannel)
