"""``touchpoint agenda URL``: the care contacts due on a day, planned, and optionally queued.

Examples
--------
>>> from touchpoint.cli import main
>>> main(["agenda", "--help"]) == 0  # doctest: +ELLIPSIS
usage: touchpoint agenda ...
True
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import Any

import numpy as np

from touchpoint.cli._render import table
from touchpoint.errors import TouchpointError

NAME = "agenda"
HELP = "the care contacts due on a day, planned with the contact policy (--queue: into the outbox)"

#: Contacts listed in the text output (all of them with --json).
SHOWN = 50


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Compute the care agenda of the workspace at URL for a day (its blueprint's care "
        "rules over its stored customers' dates), plan each contact with the contact "
        "policy (consent, do-not-contact, quiet hours 21:00-08:00 in the customer's time "
        "zone) and print it: one row per contact with its channel and status (send, "
        "deferred, blocked and why). --queue writes the send and deferred contacts to the "
        "workspace's outbox, once per contact however often it runs, for "
        "'touchpoint dispatch' to send."
    )
    parser.add_argument("url", metavar="URL", help="the workspace: sqlite:///FILE")
    parser.add_argument(
        "--asof",
        metavar="DATE",
        help="the day, YYYY-MM-DD, planned at 10:00 UTC (default: today, planned now)",
    )
    parser.add_argument("--queue", action="store_true", help="queue the contacts in the outbox")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _message(ws: Any, rules: dict[str, Any]) -> Any:
    """The `Message` of a planned row, naming and addressing its stored customer.

    Only the customers with a contact to queue are read (`Storage.customer`, each once).
    """
    import functools

    from touchpoint.care import render
    from touchpoint.channels import Message

    stored = functools.lru_cache(maxsize=None)(ws.storage.customer)

    def message(row: dict[str, str]) -> Any:
        rule = rules[row["rule"]]
        step = next((f for f in rule.follow_ups if f.code == row["step"]), None)
        template = (step.message if step is not None else "") or rule.message
        person = stored(row["customer"])
        name = getattr(person, "name", None) or row["customer"]
        try:
            body = render(template, {"name": name, "customer": row["customer"]})
        except TouchpointError:  # a placeholder the stored record cannot fill
            body = rule.name
        phone = row["channel"] in ("sms", "phone", "call", "wechat")
        address = getattr(person, "phone" if phone else "email", None) or ""
        return Message(
            row["key"],
            row["customer"],
            address,
            body or rule.name,
            subject=rule.name,
            purpose=str(getattr(rule.purpose, "value", rule.purpose)),
        )

    return message


def run(args: argparse.Namespace) -> int:
    from touchpoint import care
    from touchpoint.cli._care import join_plans, moment, reactive_plan, stored_customer_columns
    from touchpoint.cli._workspace import open_url

    day, now = moment(args.asof)
    with open_url(args.url) as ws:
        blueprint = ws.blueprint
        if blueprint is None or not blueprint.care_rules:
            raise TouchpointError(
                f"{args.url}: its blueprint has no care rules (a workspace made by "
                "'touchpoint init --template real-estate' has some)"
            )
        if not ws.storage.count_customers():
            print(
                f"touchpoint agenda: {args.url} stores no customer records, whose dates "
                "(move_in, birthday...) the care rules count from; store them with "
                "Workspace.storage.upsert_customers",
                file=sys.stderr,
            )
        anchors = {r.anchor for r in blueprint.care_rules if r.trigger is None}
        customers, consents = stored_customer_columns(ws.storage, anchors)
        due = care.agenda(blueprint, customers, asof=day)
        plan = care.plan_contacts(due, blueprint, customers=customers, consents=consents, now=now)
        reactive = reactive_plan(ws, blueprint, customers, consents, day=day, now=now)
        if reactive is not None:  # rules fired by what customers did
            fired, fired_plan, skipped = reactive
            due_days = {**dict(zip(due.key.tolist(), due.due.tolist(), strict=True))}
            due_days.update(zip(fired.key.tolist(), fired.due.tolist(), strict=True))
            plan = join_plans(plan, fired_plan)
            for code in skipped:
                print(
                    f"touchpoint agenda: care rule {code!r} fires on tier changes or breaches, "
                    "which the workspace does not store: skipped",
                    file=sys.stderr,
                )
        queued = None
        if args.queue and len(plan):
            rules = {r.code: r for r in blueprint.care_rules}
            report = care.Dispatcher(ws, rules=blueprint.care_rules).enqueue(
                plan, _message(ws, rules), now=now
            )
            queued = {
                "queued": report.queued,
                "duplicate": report.duplicate,
                "blocked": report.blocked,
            }
            # held out of a holdout, reviews recorded: shown when there are any
            queued |= {k: v for k, v in (("held", report.held), ("checked", report.checked)) if v}
        elif args.queue:
            queued = {"queued": 0, "duplicate": 0, "blocked": 0}
    cols = plan.columns()
    if reactive is None:
        due_days = dict(zip(due.key.tolist(), due.due.tolist(), strict=True))
    due_day = {k: str(d) for k, d in due_days.items()}
    rows = [
        {
            "due": due_day.get(str(cols["key"][i])),
            "rule": str(cols["rule"][i]),
            "step": str(cols["step"][i]),
            "customer": str(cols["customer"][i]),
            "channel": str(cols["channel"][i]),
            "status": str(cols["status"][i]),
            "send_at": str(np.datetime64(cols["send_at"][i], "m")) + "Z",
            "reason": str(cols["reason"][i]),
            "key": str(cols["key"][i]),
        }
        for i in range(len(plan))  # rendering the rows for output, once each
    ]
    statuses = dict(Counter(r["status"] for r in rows))
    if args.json:
        result = {
            "url": args.url,
            "asof": day.isoformat(),
            "contacts": len(rows),
            "by_status": statuses,
            "rows": rows,
        }
        if queued is not None:
            result["outbox"] = queued
        print(json.dumps(result, ensure_ascii=False))
        return 0
    if rows:
        names = ["due", "rule", "step", "customer", "channel", "status", "send_at", "reason"]
        for line in table(names, [[r[n] or "" for n in names] for r in rows[:SHOWN]]):
            print(line)
        if len(rows) > SHOWN:
            print(f"... and {len(rows) - SHOWN:,} more (all of them with --json)")
    shown = ("send", "deferred", "blocked", *(s for s in ("held", "check") if s in statuses))
    counts = ", ".join(f"{s} {statuses.get(s, 0):,}" for s in shown)
    print(f"{len(rows):,} care contacts due on {day.isoformat()}: {counts}")
    if queued is not None:
        print(
            f"outbox: queued {queued['queued']:,}, already queued {queued['duplicate']:,}, "
            f"blocked {queued['blocked']:,}"
            + (f", held out {queued['held']:,}" if queued.get("held") else "")
            + (f", reviews recorded {queued['checked']:,}" if queued.get("checked") else "")
        )
    return 0
