"""Flows: each step of a care rule depends on what happened to the step before.

`plan_contacts` calls `gate` after consent and do-not-contact, so that:

- **holdout**: the contacts of customers in the global control group
  (``ContactPolicy(holdout=..., holdout_salt=...)``) or in a rule's own holdout
  (``CareRule(holdout=..., holdout_salt=...)``) are planned with status ``held`` and
  reason ``holdout``: never sent, recorded in the outbox as held
  (`touchpoint.experiments.holdout` assigns them, by customer id);
- **the previous step's outcome**: a follow-up whose previous step (the rule's own
  contact for the first follow-up; review steps are not contacts and do not count) was
  blocked, held or failed is blocked, and the reason says so: ``previous step 'letter'
  was blocked: no marketing consent on mail``. The previous step's outcome is read from
  the same plan, else from ``outcomes`` (`step_outcomes` of the storage: its outbox and
  contact log);
- **exits**: once the customer did one of the rule's ``exit_on`` happenings after the
  trigger day, no further contact of that firing goes out (``exited: the customer
  purchased on 2026-03-04``);
- **branches**: a follow-up with ``unless`` is skipped when the customer did one of
  those since the previous step was due (``skipped: the customer replied since step
  'letter'``);
- **review steps** (``check=True``) send nothing: their status is ``check`` and their
  reason records whether the customer came back (purchased) after the trigger day.

Everything is keyed by the contacts' idempotency keys, so recomputing the plan from the
same data gives the same decisions: there is no hidden state machine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from touchpoint.care._agenda import DueContacts, _labels, _shift
from touchpoint.experiments import holdout
from touchpoint.model import CareRule, Happening

__all__ = ["HOLDOUT", "gate", "step_outcomes"]

#: The reason of a contact held out of a care rule for the control group.
HOLDOUT = "holdout"
_US = "datetime64[us]"
_TEXT = np.dtypes.StringDType()


def step_outcomes(storage: Any) -> dict[str, np.ndarray]:
    """The outcome of every contact step the storage knows: ``key``, ``state``, ``reason``.

    ``state`` is the outbox state (``pending``, ``retry``, ``sent``, ``held``, ``dead``)
    or ``blocked`` for a contact the plan blocked (logged in the contact log with its
    reason and never queued). Pass it as ``outcomes=`` to `plan_contacts`.
    """
    rows = storage.outbox()
    # one pass over the stored rows to turn records into columns, as a storage's reader does
    keys = [r["key"] for r in rows]
    states = [r["state"] for r in rows]
    reasons = [r.get("reason") or r.get("last_error") or "" for r in rows]
    queued = set(keys)
    for c in storage.contacts(status="failed"):  # the blocked contacts the plans logged
        detail = c.get("detail") or ""
        key = c.get("contact_id")
        if key not in queued and detail.startswith("blocked: "):
            keys.append(key)
            states.append("blocked")
            reasons.append(detail.removeprefix("blocked: "))
    return {
        "key": np.array(keys, dtype=object),
        "state": np.array(states, dtype=object),
        "reason": np.array(reasons, dtype=object),
    }


def _lookup(keys: np.ndarray, table_keys: np.ndarray) -> np.ndarray:
    """Position of each key in ``table_keys`` (-1: absent), by sorting once."""
    table = np.asarray(table_keys).astype(object).astype(str)
    wanted = np.asarray(keys).astype(object).astype(str)
    if not len(table):
        return np.full(len(wanted), -1, dtype=np.int64)
    order = np.argsort(table, kind="stable")
    pos = np.clip(np.searchsorted(table[order], wanted), 0, len(table) - 1)
    return np.where(table[order][pos] == wanted, order[pos], -1)


def _prepare(happened: Any, customers: np.ndarray) -> dict[str, np.ndarray] | None:
    """The happenings of the plan's customers only, with customer codes into their names.

    Done once per plan: the string work (one cast, one binary search) is over the
    happenings once, and each branch, exit and review then works on integer codes.
    """
    if happened is None:
        return None
    names, codes = np.unique(np.asarray(customers).astype(str), return_inverse=True)
    h_who = np.asarray(happened["customer"]).astype(str)
    pos = np.clip(np.searchsorted(names, h_who), 0, max(len(names) - 1, 0))
    mine = (names[pos] == h_who) if len(names) else np.zeros(len(h_who), bool)
    return {
        "row_code": codes.astype(np.int64),
        "code": pos[mine].astype(np.int64),
        "time": np.asarray(happened["time"]).astype(_US)[mine],
        "kind": np.asarray(happened["kind"]).astype(str)[mine],
    }


def _first_after(
    happened: dict[str, np.ndarray] | None,
    kinds: tuple[Happening, ...],
    rows: np.ndarray,
    after: np.ndarray,
    until: np.datetime64,
) -> tuple[np.ndarray, np.ndarray]:
    """(kind, time) of each row's customer's first happening of ``kinds`` in [after, until].

    ``rows`` are positions in the plan; ``happened`` comes from `_prepare`.
    """
    kind = np.full(len(rows), "", dtype=object)
    when = np.full(len(rows), np.datetime64("NaT"), dtype=_US)
    if happened is None or not kinds or not len(rows):
        return kind, when
    keep = np.isin(happened["kind"], [k.value for k in kinds]) & (happened["time"] <= until)
    theirs, h_time, h_kind = happened["code"][keep], happened["time"][keep], happened["kind"][keep]
    if not len(theirs):
        return kind, when
    mine = happened["row_code"][rows]
    # rank times (numbers: cheap), then one sort and one binary search on (customer, rank)
    ranks = np.unique(np.concatenate([h_time, after.astype(_US)]), return_inverse=True)[1]
    span = np.int64(len(ranks) + 1)
    keys = theirs * span + ranks[: len(h_time)]
    order = np.argsort(keys, kind="stable")
    q = mine * span + ranks[len(h_time) :]
    pos = np.searchsorted(keys[order], q, side="left")
    ok = pos < len(keys)
    ok[ok] = theirs[order][pos[ok]] == mine[ok]
    at = order[pos[ok]]
    kind[ok], when[ok] = h_kind[at].astype(object), h_time[at]
    return kind, when


def gate(
    due: DueContacts,
    rules: dict[str, CareRule],
    status: np.ndarray,
    reason: np.ndarray,
    *,
    outcomes: Any,
    happenings: Any,
    now64: np.datetime64,
    policy_share: float,
    policy_salt: str | bytes | None,
) -> None:
    """Holdout, previous-step outcomes, exits, branches and review steps (see the module)."""
    n = len(due)
    if not n:
        return
    happenings = _prepare(happenings, due.customer)
    steps = due.step.astype(str)
    # Review steps: not contacts; they record whether the customer came back.
    for code, rule in rules.items():  # a loop over rules and their steps
        checks = [f.code for f in rule.follow_ups if f.check]
        if not checks:
            continue
        mine = np.flatnonzero((due.rule == code) & np.isin(steps, checks))
        kind, when = _first_after(
            happenings,
            (Happening.PURCHASED,),
            mine,
            (due.anchor[mine] + np.timedelta64(1, "D")).astype(_US),
            now64,
        )
        status[mine] = "check"
        back = kind != ""
        day = np.datetime_as_string(when[back], unit="D").astype(_TEXT)
        reason[mine[back]] = np.strings.add("came back: purchased on ", day).astype(object)
        reason[mine[~back]] = "did not come back"
    # Holdout: planned, not sent, by customer (global group, then each rule's own).
    live = (status == "send") | (status == "deferred")
    held = np.zeros(n, bool)
    if policy_share > 0 and policy_salt:
        held |= holdout(due.customer, share=policy_share, salt=policy_salt)
    for code, rule in rules.items():  # a loop over rules
        if rule.holdout > 0:
            mine = np.flatnonzero(due.rule == code)
            held[mine] |= holdout(due.customer[mine], share=rule.holdout, salt=rule.holdout_salt)
    held &= live
    status[held] = "held"
    reason[held] = HOLDOUT

    table_key = np.asarray(due.key).astype(str)
    table_status = status
    table_reason = reason
    if outcomes is not None:
        o_key = np.asarray(outcomes["key"]).astype(str)
        o_state = np.asarray(outcomes["state"], dtype=object)
        o_reason = np.asarray(outcomes["reason"], dtype=object)
    else:
        o_key, o_state, o_reason = (np.array([], dtype=object),) * 3
    # The steps in order (a loop over rules and steps): each reads the one before.
    for code, rule in rules.items():
        rows_of_rule = due.rule == code
        if not rows_of_rule.any():
            continue
        contacts = [f for f in rule.follow_ups if not f.check]
        previous = ""
        previous_offset = None
        for i, step in enumerate(["", *[f.code for f in contacts]]):
            mine = np.flatnonzero(rows_of_rule & (steps == step))
            if rule.exit_on and len(mine):
                kind, when = _first_after(
                    happenings,
                    rule.exit_on,
                    mine,
                    (due.anchor[mine] + np.timedelta64(1, "D")).astype(_US),
                    now64,
                )
                out = (kind != "") & ((status[mine] == "send") | (status[mine] == "deferred"))
                day = np.datetime_as_string(when[out], unit="D").astype(_TEXT)
                status[mine[out]] = "blocked"
                reason[mine[out]] = np.strings.add(
                    np.strings.add("exited: the customer ", kind[out].astype(str).astype(_TEXT)),
                    np.strings.add(" on ", day),
                ).astype(object)
            if i > 0:
                follow = contacts[i - 1]
                previous_code = previous or rule.code
                if len(mine):
                    own = np.strings.add(
                        np.strings.add(due.rule[mine].astype(str).astype(_TEXT), "/"),
                        np.strings.add(due.customer[mine].astype(str).astype(_TEXT), "/"),
                    )
                    own = np.strings.add(own, _labels(rule.recurrence, due.anchor[mine]))
                    prev_key = own if not previous else np.strings.add(own, "/" + previous)
                    here = _lookup(prev_key, table_key)
                    there = _lookup(prev_key, o_key)
                    prev_state = np.where(
                        here >= 0,
                        table_status[np.maximum(here, 0)],
                        np.where(
                            there >= 0, o_state[np.maximum(there, 0)] if len(o_key) else "", ""
                        ),
                    ).astype(str)
                    prev_reason = np.where(
                        here >= 0,
                        table_reason[np.maximum(here, 0)],
                        np.where(
                            there >= 0, o_reason[np.maximum(there, 0)] if len(o_key) else "", ""
                        ),
                    )
                    word = np.select(
                        [
                            prev_state == "blocked",
                            prev_state == "held",
                            prev_state == "dead",
                        ],
                        ["blocked", "held", "not delivered"],
                        "",
                    )
                    stop = (word != "") & ((status[mine] == "send") | (status[mine] == "deferred"))
                    at = mine[stop]
                    status[at] = "blocked"
                    label = f"previous step '{previous_code}' was "
                    reason[at] = np.strings.add(
                        np.strings.add(label, word[stop].astype(_TEXT)),
                        np.strings.add(": ", prev_reason[stop].astype(str).astype(_TEXT)),
                    ).astype(object)
                    if follow.unless:
                        own_day = _shift(due.anchor[mine], rule.offset)
                        prev_day = (
                            own_day if previous_offset is None else _shift(own_day, previous_offset)
                        )
                        kind, _ = _first_after(
                            happenings,
                            follow.unless,
                            mine,
                            prev_day.astype(_US),
                            now64,
                        )
                        skip = (kind != "") & (
                            (status[mine] == "send") | (status[mine] == "deferred")
                        )
                        status[mine[skip]] = "blocked"
                        reason[mine[skip]] = np.strings.add(
                            np.strings.add(
                                "skipped: the customer ", kind[skip].astype(str).astype(_TEXT)
                            ),
                            f" since step '{previous_code}'",
                        ).astype(object)
                previous = follow.code
                previous_offset = follow.offset
