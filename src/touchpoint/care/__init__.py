"""Care: the agenda of scheduled care contacts, care that reacts to what customers do
(behaviour triggers, flows, holdouts), the contact policy that gates them, and the
follow-through on promises and complaints."""

from touchpoint._deprecation import moved_modules
from touchpoint.care._agenda import DueContacts, agenda
from touchpoint.care._complaints import complaint_stats
from touchpoint.care._dispatch import Dispatcher, DispatchReport, EnqueueReport, dispatch
from touchpoint.care._flows import HOLDOUT, step_outcomes
from touchpoint.care._policy import (
    ContactPlan,
    ContactPolicy,
    FrequencyCap,
    QuietHours,
    plan_contacts,
)
from touchpoint.care._promises import overdue_promises
from touchpoint.care._render import MAX_WIDTH, fields_of, render
from touchpoint.care._triggers import Firings, happenings, triggered

__all__ = [
    "HOLDOUT",
    "MAX_WIDTH",
    "ContactPlan",
    "ContactPolicy",
    "DispatchReport",
    "Dispatcher",
    "DueContacts",
    "EnqueueReport",
    "Firings",
    "FrequencyCap",
    "QuietHours",
    "agenda",
    "complaint_stats",
    "dispatch",
    "fields_of",
    "happenings",
    "overdue_promises",
    "plan_contacts",
    "render",
    "step_outcomes",
    "triggered",
]

# Old paths, kept for one release: the implementation modules are private now.
__getattr__ = moved_modules(
    __name__,
    {
        module: (__name__, f"{__name__}._{module}")
        for module in ("agenda", "complaints", "dispatch", "policy", "promises", "render")
    },
)
