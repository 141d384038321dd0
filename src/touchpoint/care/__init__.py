"""Care: scheduled care contacts (the agenda); contact policy and dispatch come next."""

from touchpoint.care.agenda import DueContacts, agenda

__all__ = ["DueContacts", "agenda"]
