"""Care: the agenda of scheduled care contacts, the contact policy that gates them, and the
follow-through on promises and complaints."""

from touchpoint.care.agenda import DueContacts, agenda
from touchpoint.care.complaints import complaint_stats
from touchpoint.care.dispatch import Dispatcher, DispatchReport, EnqueueReport, dispatch
from touchpoint.care.policy import (
    ContactPlan,
    ContactPolicy,
    FrequencyCap,
    QuietHours,
    plan_contacts,
)
from touchpoint.care.promises import overdue_promises

__all__ = [
    "ContactPlan",
    "ContactPolicy",
    "DispatchReport",
    "Dispatcher",
    "DueContacts",
    "EnqueueReport",
    "FrequencyCap",
    "QuietHours",
    "agenda",
    "complaint_stats",
    "dispatch",
    "overdue_promises",
    "plan_contacts",
]
