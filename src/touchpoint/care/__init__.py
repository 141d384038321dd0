"""Care: the agenda of scheduled care contacts and the contact policy that gates them."""

from touchpoint.care.agenda import DueContacts, agenda
from touchpoint.care.policy import (
    ContactPlan,
    ContactPolicy,
    FrequencyCap,
    QuietHours,
    plan_contacts,
)

__all__ = [
    "ContactPlan",
    "ContactPolicy",
    "DueContacts",
    "FrequencyCap",
    "QuietHours",
    "agenda",
    "plan_contacts",
]
