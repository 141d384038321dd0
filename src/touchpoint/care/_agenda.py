"""The care agenda: which scheduled care contacts fall due, vectorised over customers.

For each care rule (a small loop), every customer's anchor date is shifted by the rule's
offset and recurrence with numpy date arithmetic; no Python work per customer.

Occurrences and keys
--------------------
Occurrence ``n`` of a rule for a customer is due on
``offset(anchor + n × period)`` where the period is 0 (``none``), 1 (``monthly``),
3 (``quarterly``) or 12 (``yearly``) months, ``n >= 0`` and below ``occurrences`` when
the rule caps them. Months keep the day of month, clamped to the month's end: a
29 February birthday is greeted on 28 February in other years. Every due contact has an
idempotency key naming the rule, the customer and the occurrence: ``birthday/C1/2026``
(yearly: the year), ``newsletter/C1/2026-03`` (monthly, quarterly: the month),
``visit-3m/C1/2026-01-15`` (one-off: the anchor date). The same rule, customer and
anchor occurrence always give the same key, so the agenda can be computed as often as
you like: dispatch sends each key once.

Follow-ups (the letter followed by three calls) are due at their offset after the
rule's own contact and carry its key plus their code: ``letter/C1/2026-03-02/confirm``.

Examples
--------
>>> import datetime as dt
>>> from touchpoint.model import CareRule
>>> rules = [CareRule("birthday", "Birthday greetings", touchpoint="BDAY",
...                   anchor="birthday", recurrence="yearly", channels=["sms"])]
>>> customers = {"customer": ["C1", "C2"],
...              "birthday": np.array(["1990-03-02", "1985-07-01"], dtype="datetime64[D]")}
>>> due = agenda(rules, customers, asof=dt.date(2026, 3, 2))
>>> due.key.tolist(), due.due.astype(str).tolist()
(['birthday/C1/2026'], ['2026-03-02'])
"""

from __future__ import annotations

import calendar
import datetime as dt
import zoneinfo
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import attrs
import numpy as np

from touchpoint._deprecation import renamed
from touchpoint.care._calendar import add_months, civil, from_civil, month_index
from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import ScoreFrame, as_day, read_columns
from touchpoint.model import Blueprint, CareRule, Offset, Recurrence

__all__ = ["DueContacts", "agenda"]

#: What an occurrence's label shows, by recurrence: the year, the month, else the date.
_LABEL_UNITS: dict[str, Literal["Y", "M", "D"]] = {"yearly": "Y", "monthly": "M", "quarterly": "M"}

_PERIOD_MONTHS = {
    Recurrence.NONE: 0,
    Recurrence.MONTHLY: 1,
    Recurrence.QUARTERLY: 3,
    Recurrence.YEARLY: 12,
}


@attrs.frozen(eq=False)
class DueContacts:
    """The agenda: one row per due contact, as numpy columns sorted by due date, rule, customer.

    Columns: ``customer`` (original ids), ``rule`` (rule codes), ``step`` (``""`` for the
    rule's own contact, the follow-up's code for a follow-up), ``occurrence`` (n),
    ``anchor`` (the anchor occurrence, ``datetime64[D]``), ``due`` (``datetime64[D]``),
    ``key`` (the idempotency key).
    """

    customer: np.ndarray
    rule: np.ndarray
    step: np.ndarray
    occurrence: np.ndarray
    anchor: np.ndarray
    due: np.ndarray
    key: np.ndarray

    def __len__(self) -> int:
        return len(self.key)

    def columns(self) -> dict[str, np.ndarray]:
        """The columns by name."""
        return {f.name: getattr(self, f.name) for f in attrs.fields(type(self))}

    def to_frame(self) -> ScoreFrame:
        """The agenda as a `ScoreFrame` keyed by each contact's idempotency ``key``.

        >>> from touchpoint.model import CareRule
        >>> rules = [CareRule("bday", "Birthday", touchpoint="BD", anchor="birthday",
        ...                   recurrence="yearly", channels=["sms"])]
        >>> due = agenda(rules, {"customer": ["C1"], "birthday": ["1990-03-02"]}, asof="2026-03-02")
        >>> f = due.to_frame()
        >>> f.key, f["key"].tolist(), f.row("bday/C1/2026")["customer"]
        ('key', ['bday/C1/2026'], 'C1')
        """
        return keyed_by_contact(self.columns())

    def to_pandas(self) -> Any:
        from touchpoint._extras import require

        pd = require("pandas", extra="dataframes", feature="DueContacts.to_pandas")
        return pd.DataFrame(
            {k: (v.astype(object) if v.dtype.kind == "T" else v) for k, v in self.columns().items()}
        )


def keyed_by_contact(columns: dict[str, np.ndarray]) -> ScoreFrame:
    """Care columns (one row per contact) as a `ScoreFrame` keyed by the contact ``key``."""
    out = {k: (v.astype(object) if v.dtype.kind == "T" else v) for k, v in columns.items()}
    return ScoreFrame({"key": out.pop("key"), **out}, key="key")


def _rules(rules: Blueprint | Iterable[CareRule]) -> list[CareRule]:
    """The date rules (rules fired by a trigger are `touchpoint.care.triggered`'s)."""
    found = rules.care_rules if isinstance(rules, Blueprint) else rules
    return [r for r in found if r.trigger is None]


@renamed(on="asof")
def agenda(
    rules: Blueprint | Iterable[CareRule],
    customers: Any,
    *,
    asof: dt.date | str | np.datetime64 | None = None,
    since: dt.date | str | np.datetime64 | None = None,
    now: dt.datetime | None = None,
    timezone: str = "timezone",
    customer: str = "customer",
    anchors: Mapping[str, str] | None = None,
    segment: str = "segment",
    tier: str = "tier",
    stage: str = "stage",
) -> DueContacts:
    """Care contacts due from ``since`` to ``asof`` (both included; ``since`` defaults to ``asof``).

    Parameters
    ----------
    rules:
        A `Blueprint` (its care rules) or care rules.
    customers:
        One row per customer: an id column and a date column per anchor the rules use
        (missing dates are NaT), plus segment / tier / stage columns where rules restrict
        eligibility. A dict of arrays, a pandas or polars DataFrame, or an Arrow table.
    asof, since:
        The last and first day of the agenda: the date it is taken at, and the day its
        window starts. (``on=`` is the old name of ``asof``; it works until the next
        release, with a `DeprecationWarning`.)
    now, timezone:
        Instead of ``asof``: the moment of the run (aware; naive is UTC). Each customer's
        ``asof`` is then the local date of ``now`` in the zone of the ``timezone`` column
        (IANA names): at 20:00 UTC on 1 March it is already 2 March in Shanghai, and a
        birthday on 2 March is due there but not yet in London.
    customer:
        The id column.
    anchors:
        Column names for anchors whose column is not named like the anchor
        (``{"move_in": "handover_date"}``).
    segment, tier, stage:
        Columns read for rules that restrict eligibility.
    """
    rules = _rules(rules)
    if (asof is None) == (now is None):
        raise ValidationError(
            [Problem("asof", "give either asof (a date) or now (a moment)", asof)]
        )
    anchors = dict(anchors or {})
    names: dict[str, str | None] = {"customer": customer}
    if now is not None:
        names["timezone"] = timezone
    for rule in rules:
        names[f"anchor:{rule.anchor}"] = anchors.get(rule.anchor, rule.anchor)
        for field, column in (("segments", segment), ("tiers", tier), ("stages", stage)):
            if getattr(rule, field):
                names[field] = column
    cols = read_columns(
        customers,
        {k: v for k, v in names.items() if not k.startswith("anchor:")},
        required=[k for k in names if not k.startswith("anchor:")],
    )
    dates = {
        k: _read_dates(customers, str(v), k.split(":", 1)[1])
        for k, v in names.items()
        if k.startswith("anchor:")
    }
    ids = np.asarray(cols["customer"])
    windows = _windows(asof, since, now, cols.get("timezone"), len(ids))

    parts: list[tuple[np.ndarray, ...]] = []
    for rule in rules:
        anchor = dates[f"anchor:{rule.anchor}"]
        eligible = ~np.isnat(anchor)
        for field in ("segments", "tiers", "stages"):
            allowed = getattr(rule, field)
            if allowed:
                eligible &= np.isin(np.asarray(cols[field]).astype(str), list(allowed))
        for members, start, end in windows:  # one window, or one per local date
            index = np.flatnonzero(eligible if members is None else eligible & members)
            for found in _occurrences(rule, index, anchor[index], start, end):
                parts.append((*found, np.full(len(found[0]), "", dtype=object)))
            for step in rule.follow_ups:  # the letter's calls: due after the contact itself
                lo, hi = _inverse_range(step.offset, start, end)
                for who, codes, n, occ, due, labels in _occurrences(
                    rule, index, anchor[index], lo, hi
                ):
                    steps = np.full(len(who), step.code, dtype=object)
                    parts.append((who, codes, n, occ, _shift(due, step.offset), labels, steps))

    if not parts:
        empty = np.array([], dtype=object)
        days = np.array([], dtype="datetime64[D]")
        return DueContacts(empty, empty, empty, np.array([], dtype=np.int64), days, days, empty)
    who, rule_codes, occurrence, anchor_on, due, labels, steps = (
        np.concatenate(c) for c in zip(*parts, strict=True)
    )
    order = np.lexsort((steps, who, rule_codes, due))
    who, rule_codes, occurrence, anchor_on, due, labels, steps = (
        a[order] for a in (who, rule_codes, occurrence, anchor_on, due, labels, steps)
    )
    customer_ids = ids[who]
    text = np.dtypes.StringDType()
    key = np.strings.add(rule_codes.astype(text), "/")
    key = np.strings.add(key, np.strings.add(customer_ids.astype(str).astype(text), "/"))
    key = np.strings.add(key, labels)
    follow = steps != ""
    key[follow] = np.strings.add(np.strings.add(key[follow], "/"), steps[follow].astype(text))
    return DueContacts(
        customer_ids,
        rule_codes.astype(object),
        steps,
        occurrence,
        anchor_on,
        due,
        key.astype(object),
    )


def _windows(
    asof: Any, since: Any, now: dt.datetime | None, zones: np.ndarray | None, n: int
) -> list[tuple[np.ndarray | None, np.datetime64, np.datetime64]]:
    """(customers, first day, last day) groups: one for ``asof``, or one per local date of ``now``."""
    if now is None:
        end = as_day(asof, name="asof")
        start = end if since is None else as_day(since, name="since")
        if start > end:
            raise ValidationError([Problem("since", f"is after asof ({end})", str(start))])
        return [(None, start, end)]
    moment = now if now.tzinfo is not None else now.replace(tzinfo=dt.UTC)
    names = np.asarray(zones).astype(str)
    local: dict[np.datetime64, np.ndarray] = {}
    for zone in np.unique(names):  # a small loop over time zones
        try:
            day = np.datetime64(moment.astimezone(zoneinfo.ZoneInfo(zone)).date(), "D")
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            raise ValidationError(
                [Problem("timezone", "is not a known IANA time zone", zone)]
            ) from None
        local[day] = local.get(day, np.zeros(n, bool)) | (names == zone)
    windows: list[tuple[np.ndarray | None, np.datetime64, np.datetime64]] = []
    for end, members in sorted(local.items()):
        start = end if since is None else as_day(since, name="since")
        if start > end:
            raise ValidationError(
                [Problem("since", f"is after the local date ({end})", str(start))]
            )
        windows.append((members, start, end))
    return windows


def _read_dates(customers: Any, column: str, anchor: str) -> np.ndarray:
    try:
        values = read_columns(customers, {"date": column}, required=["date"])["date"]
    except ValidationError as exc:
        raise ValidationError(
            [
                Problem(
                    column,
                    f"care rules anchored on {anchor!r} need this date column; "
                    f"map another column with anchors={{{anchor!r}: ...}}",
                )
            ]
        ) from exc
    try:
        return np.asarray(values).astype("datetime64[D]")
    except (TypeError, ValueError):
        sample = next((v for v in np.asarray(values, dtype=object) if v is not None), None)
        raise ValidationError([Problem(column, "must hold dates", sample)]) from None


def _occurrences(
    rule: CareRule, index: np.ndarray, anchor: np.ndarray, start: np.datetime64, end: np.datetime64
) -> list[tuple[np.ndarray, ...]]:
    """The rule's occurrences due in [start, end] for the customers at ``index``.

    The offset is monotone, so the anchor occurrences due in the window form one date
    range [lo, hi], found by inverting the offset on a handful of dates. A one-off rule
    is then two comparisons per customer. A recurring rule loops over the calendar months
    of [lo, hi] (a small dimension): occurrence n of an anchor falls in month ``mo`` when
    ``mo`` is ``n`` periods after the anchor's month, on the anchor's day clamped to the
    month's length. Dates are only built for the customers that are due.
    """
    lo, hi = _inverse_range(rule.offset, start, end)
    if lo > hi:
        return []
    period = _PERIOD_MONTHS[rule.recurrence]
    valid = ~np.isnat(anchor)
    if period == 0:
        hit = valid & (anchor >= lo) & (anchor <= hi)
        if rule.occurrences is not None and rule.occurrences < 1:
            hit[:] = False
        parts = [(hit, np.zeros(int(hit.sum()), dtype=np.int64), anchor[hit])]
    else:
        year, month, day = civil(anchor)
        anchor_month = year * 12 + month - 1
        lo_month, hi_month = (int(m) for m in month_index(np.array([lo, hi])))
        parts = []
        for mo in range(lo_month, hi_month + 1):
            y2, m2 = divmod(mo, 12)
            length = calendar.monthrange(y2, m2 + 1)[1]
            first_day = int(civil(np.array([lo]))[2][0]) if mo == lo_month else 1
            last_day = int(civil(np.array([hi]))[2][0]) if mo == hi_month else length
            steps = mo - anchor_month
            on_day = np.minimum(day, length)
            hit = (
                valid
                & (steps >= 0)
                & (steps % period == 0)
                & (on_day >= first_day)
                & (on_day <= last_day)
            )
            n = steps[hit] // period
            if rule.occurrences is not None:
                keep = n < rule.occurrences
                hit[np.flatnonzero(hit)[~keep]] = False
                n = n[keep]
            occurrence = from_civil(np.full(len(n), y2), np.full(len(n), m2 + 1), on_day[hit])
            parts.append((hit, n, occurrence))
    found: list[tuple[np.ndarray, ...]] = []
    for hit, n, occurrence in parts:
        if not len(n):
            continue
        found.append(
            (
                index[hit],
                np.full(len(n), rule.code, dtype=object),
                n,
                occurrence,
                _shift(occurrence, rule.offset),
                _labels(rule.recurrence, occurrence),
            )
        )
    return found


def _inverse_range(
    offset: Offset, start: np.datetime64, end: np.datetime64
) -> tuple[np.datetime64, np.datetime64]:
    """The dates ``d`` with ``start <= offset(d) <= end`` (a range, the offset being monotone)."""
    if not offset.months:
        step = np.timedelta64(offset.days, "D")
        return start - step, end - step

    def shifted(day: np.datetime64) -> np.datetime64:
        result: np.datetime64 = add_months(np.array([day]), offset.months)[0]
        return result

    # Month clamping moves a date by at most 3 days: scan a few days around the inverse.
    lo = add_months(np.array([start]), -offset.months)[0] - np.timedelta64(4, "D")
    while shifted(lo) < start:
        lo += np.timedelta64(1, "D")
    hi = add_months(np.array([end]), -offset.months)[0] + np.timedelta64(4, "D")
    while shifted(hi) > end:
        hi -= np.timedelta64(1, "D")
    return lo, hi


def _shift(days: np.ndarray, offset: Offset) -> np.ndarray:
    """Apply a calendar offset to every date (months clamped to the month's end)."""
    if offset.months:
        return add_months(days, offset.months)
    return days + np.timedelta64(offset.days, "D")


def _labels(recurrence: Recurrence, occurrence: np.ndarray) -> np.ndarray:
    unit = _LABEL_UNITS.get(recurrence.value, "D")
    text: np.ndarray = np.datetime_as_string(occurrence, unit=unit)
    return text.astype(np.dtypes.StringDType())
