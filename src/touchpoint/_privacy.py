"""Masking of personal values (e-mail, phone, name, address) for errors, logs and reprs.

Customer data is personal: anything that may reach a log shows only enough to recognise
the value, never the value itself.

Examples
--------
>>> mask_email("zhang.wei@example.com")
'z***@e***.com'
>>> mask_phone("+86 138 0013 8000")
'***00'
>>> mask_name("Zhang Wei")
'Z***'
>>> mask_value("email", "a@b.cn")
'a***@b***.cn'
"""

from __future__ import annotations

from typing import Any

__all__ = ["PERSONAL_FIELDS", "is_personal", "mask_email", "mask_name", "mask_phone", "mask_value"]

#: Field names whose values are personal data and are always masked when shown.
PERSONAL_FIELDS = frozenset(
    {"email", "phone", "name", "address", "full_name", "first_name", "last_name", "mobile"}
)


def mask_email(value: str) -> str:
    local, _, domain = str(value).partition("@")
    if not domain:
        return mask_name(local)
    host, dot, tld = domain.rpartition(".")
    if not dot:
        host, tld = domain, ""
    return f"{local[:1]}***@{host[:1]}***{dot}{tld}"


def mask_phone(value: str) -> str:
    digits = [c for c in str(value) if c.isdigit()]
    return "***" + "".join(digits[-2:]) if len(digits) > 4 else "***"


def mask_name(value: str) -> str:
    text = str(value).strip()
    return f"{text[:1]}***" if text else "***"


def is_personal(field: str) -> bool:
    """Whether values of ``field`` (the last part of a path, e.g. ``records[3].email``) are personal."""
    leaf = field.rsplit(".", 1)[-1].split("[", 1)[0].lower()
    return leaf in PERSONAL_FIELDS


def mask_value(field: str, value: Any) -> Any:
    """Mask ``value`` if ``field`` is personal; return it unchanged otherwise."""
    if value is None or not is_personal(field):
        return value
    leaf = field.rsplit(".", 1)[-1].lower()
    if "email" in leaf:
        return mask_email(value)
    if "phone" in leaf or "mobile" in leaf:
        return mask_phone(value)
    return mask_name(value)
