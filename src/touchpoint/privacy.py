"""Masking of personal values, for plugin authors and applications: the public names.

Whatever may reach a log, an error message, a ``repr`` or a delivery detail shows only
enough of a personal value (e-mail, phone, name, postal address) to recognise it, never
the value itself. touchpoint masks its own messages with these functions; a plugin uses
them for what it shows itself (a channel's ``__repr__``, its log lines). For free text
from outside (an exception, a server's answer), which may hold addresses, tokens or
passwords anywhere, use `touchpoint.channels.base.mask_reason`; `touchpoint.channels.deliver`
already applies it to every delivery detail.

Examples
--------
>>> from touchpoint.privacy import mask_email, mask_phone, mask_value, is_personal
>>> mask_email("li.na@example.com"), mask_phone("+86 138 0013 8000")
('l***@e***.com', '***00')
>>> mask_value("records[3].email", "zhang.wei@example.cn"), mask_value("tier", "gold")
('z***@e***.cn', 'gold')
>>> is_personal("customers[0].phone"), is_personal("amount")
(True, False)
"""

from __future__ import annotations

from touchpoint._privacy import (
    PERSONAL_FIELDS,
    is_personal,
    mask_email,
    mask_name,
    mask_phone,
    mask_value,
)

__all__ = ["PERSONAL_FIELDS", "is_personal", "mask_email", "mask_name", "mask_phone", "mask_value"]
