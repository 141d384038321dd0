"""How touchpoints are classified: line, category, direction, contact approach, channel.

- `Line` (线索): the company's lines of effort: promotion (推广线), display (展示线),
  product (产品线), service (服务线).
- `Category` (four classes of touchpoint): communication (传播触点), channel (渠道触点),
  people (人员触点), brand (品牌触点).
- `Direction`: inbound (the customer starts it) or outbound (the company does).
- `ContactApproach` (接触途径): personal (人员), advertising (广告), PR (公关), media (介质).
- `Channel`: a kind of contact channel (phone, e-mail, showroom...). Channels are open:
  a blueprint or a plugin can add its own; `BUILTIN_CHANNELS` lists the ones every
  blueprint knows.

Examples
--------
>>> Line("service").chinese
'服务线'
>>> BUILTIN_CHANNELS["email"].approach
<ContactApproach.MEDIA: 'media'>
>>> Channel("wechat", "WeChat", approach="media")
Channel(name='wechat', label='WeChat', approach=<ContactApproach.MEDIA: 'media'>)
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from touchpoint.errors import Problem
from touchpoint.model._checks import as_enum, check_code, check_text, raise_if

__all__ = ["BUILTIN_CHANNELS", "Category", "Channel", "ContactApproach", "Direction", "Line"]


class Line(enum.StrEnum):
    """The company's lines of effort (线索)."""

    PROMOTION = "promotion"
    DISPLAY = "display"
    PRODUCT = "product"
    SERVICE = "service"

    @property
    def chinese(self) -> str:
        return {
            "promotion": "推广线",
            "display": "展示线",
            "product": "产品线",
            "service": "服务线",
        }[self.value]


class Category(enum.StrEnum):
    """The four classes of touchpoint."""

    COMMUNICATION = "communication"
    CHANNEL = "channel"
    PEOPLE = "people"
    BRAND = "brand"

    @property
    def chinese(self) -> str:
        return {
            "communication": "传播触点",
            "channel": "渠道触点",
            "people": "人员触点",
            "brand": "品牌触点",
        }[self.value]


class Direction(enum.StrEnum):
    """Who starts the contact: the customer (inbound) or the company (outbound)."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class ContactApproach(enum.StrEnum):
    """How the company reaches the customer (接触途径)."""

    PERSONAL = "personal"
    ADVERTISING = "advertising"
    PR = "pr"
    MEDIA = "media"


def _approach(value: Any) -> ContactApproach:
    return as_enum(ContactApproach, value, "approach")


@attrs.frozen
class Channel:
    """A kind of contact channel, named by a short code used in files and columns.

    Parameters
    ----------
    name:
        The code (``"email"``, ``"store"``), unique within a blueprint.
    label:
        What people read (``"E-mail"``).
    approach:
        The contact approach the channel belongs to.
    """

    name: str
    label: str = attrs.field(default="")
    approach: ContactApproach = attrs.field(default=ContactApproach.MEDIA, converter=_approach)

    def __attrs_post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.name)
        raise_if(self.problems(), f"channel {self.name!r}")

    def problems(self) -> list[Problem]:
        return check_code(self.name, "name") + check_text(self.label, "label")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "approach": self.approach.value}


def _builtin(name: str, label: str, approach: str) -> tuple[str, Channel]:
    return name, Channel(name, label, ContactApproach(approach))


#: Channels every blueprint knows without declaring them.
BUILTIN_CHANNELS: dict[str, Channel] = dict(
    [
        _builtin("phone", "Phone", "media"),
        _builtin("email", "E-mail", "media"),
        _builtin("sms", "SMS", "media"),
        _builtin("im", "Instant messaging (WeChat, WhatsApp)", "media"),
        _builtin("social", "Social media", "media"),
        _builtin("website", "Website", "media"),
        _builtin("app", "Mobile app", "media"),
        _builtin("letter", "Letter", "media"),
        _builtin("fax", "Fax", "media"),
        _builtin("call-centre", "Call centre", "media"),
        _builtin("store", "Store / showroom / business hall", "personal"),
        _builtin("visit", "Visit", "personal"),
        _builtin("event", "Event", "pr"),
        _builtin("advertising", "Advertising", "advertising"),
        _builtin("press", "Press and PR", "pr"),
        _builtin("product", "The product and its packaging", "personal"),
        _builtin("environment", "Premises and environment", "personal"),
    ]
)
