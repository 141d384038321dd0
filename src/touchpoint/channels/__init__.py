"""Channels: send a rendered `Message` to a customer's address and get a `Delivery` back.

The contract is in `touchpoint.channels.base`. The built-in channels are built-in
plugins, each module registering its kind through its own ``register_channels`` hook and
being the plugin of the same name (``touchpoint.channels.smtp``): ``console``
(development: writes to the log), ``outbox`` (writes to the storage's contact log for
another process to send), ``smtp`` (e-mail) and ``webhook`` (signed HTTP POST).
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
