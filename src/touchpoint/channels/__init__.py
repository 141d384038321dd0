"""Channels: send a rendered `Message` to a customer's address and get a `Delivery` back.

Built-ins (each an internal plugin registering its kind through ``register_channels``):
``console`` (development: writes to the log), ``outbox`` (writes to the storage's contact
log for another process to send), ``smtp`` (e-mail) and ``webhook`` (signed HTTP POST).
"""

from touchpoint.channels.base import (
    Capabilities,
    ChannelBackend,
    Delivery,
    DeliveryStatus,
    Message,
    deliver,
)

__all__ = ["Capabilities", "ChannelBackend", "Delivery", "DeliveryStatus", "Message", "deliver"]
