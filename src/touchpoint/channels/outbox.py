"""Built-in plugin: the ``outbox`` channel, which queues messages in the storage's contact log.

Another process (or a later run) reads the queued contacts and sends them; the message
stays in storage, so ``forget`` and ``export`` cover it.

Examples
--------
>>> from touchpoint.storage.memory import MemoryStorage
>>> from touchpoint.channels.base import Message
>>> store = MemoryStorage()
>>> box = OutboxChannel()
>>> box.attach(store)
>>> box.send(Message("c1", "C001", "a@b.cn", "Welcome")).status.value
'queued'
>>> [c["status"] for c in store.contacts(customer="C001")]
['queued']
"""

from __future__ import annotations

from typing import Any

from touchpoint.channels.base import (
    Capabilities,
    ChannelBackend,
    Delivery,
    DeliveryStatus,
    Message,
)
from touchpoint.errors import ChannelError
from touchpoint.plugins.hookspecs import hookimpl

__all__ = ["OutboxChannel"]


class OutboxChannel(ChannelBackend):
    """Queue messages in storage instead of sending them."""

    name = "outbox"
    logs_contacts = True

    def __init__(self, *, storage: Any = None, address: str = "email") -> None:
        self.storage = storage
        self.capabilities = Capabilities(address=address)

    def attach(self, storage: Any) -> None:
        if self.storage is None:
            self.storage = storage

    def send(self, message: Message) -> Delivery:
        if self.storage is None:
            raise ChannelError(
                "the outbox channel has no storage: use it through a Workspace or pass storage="
            )
        delivery = Delivery(message.contact_id, self.name, DeliveryStatus.QUEUED)
        self.storage.log_contact(message, delivery)
        return delivery


@hookimpl
def register_channels(register: Any) -> None:
    register("outbox", OutboxChannel)
