"""The main job behind ``touchpoint demo``: build, record, score, plan and send.

`run_demo` creates (or reopens) a SQLite workspace from a built-in template, generates
the synthetic base with a fixed seed, records it (interactions, customers, promises and
complaints; re-running adds nothing twice), scores what the workspace holds, computes
today's care agenda, plans it with the contact policy and queues today's contacts in the
outbox channel. It returns a `DemoResult` of plain numbers and rows, which
`touchpoint.demo.report` prints and `touchpoint.demo.html` draws.

Examples
--------
>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp:
...     result = run_demo(customers=200, db=pathlib.Path(tmp) / "demo.db")
>>> result.events == result.recorded["accepted"], [row["tier"] for row in result.pyramid][:2]
(True, ['key', 'major'])
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections import Counter
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from touchpoint.demo._sections import rows_of
from touchpoint.errors import Problem, ValidationError

__all__ = [
    "DemoResult",
    "held_contacts",
    "hold_out",
    "read_experiment",
    "run_demo",
    "send_planned",
]

#: Hour (UTC) of "now" on the demo's day: the plan is made at this time.
PLAN_HOUR = 10

#: The ``meta`` row of a workspace's SQLite file naming what created it; the demo writes
#: ``demo`` there and reuses only a file that says so (``touchpoint init`` writes ``init``).
CREATED_BY_KEY = "touchpoint.created_by"


def _created_by(path: str) -> str | None:
    """Who created the SQLite file at ``path`` by its ``meta`` row (None: not said)."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = con.execute("SELECT value FROM meta WHERE key = ?", (CREATED_BY_KEY,)).fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return None
    return None if row is None else str(row[0])


def _claim(path: str) -> bool:
    """Whether the demo may write into ``path``: a new file, or one the demo created.

    Raises a `ValidationError` for any other file: the demo writes hundreds of thousands
    of synthetic interactions and must never do so into a user's own workspace.
    """
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return True
    if _created_by(path) == "demo":
        return False
    raise ValidationError(
        [
            Problem(
                "db",
                "exists and was not created by the demo (it may be your own workspace): "
                "the demo writes synthetic data only into a file it created; "
                "use a new --db",
                path,
            )
        ]
    )


#: The ``meta`` row where the demo records its care-rule experiment (JSON), so that
#: ``touchpoint report`` of the file shows the rule's held-out lift too.
EXPERIMENT_KEY = "touchpoint.demo.experiment"


#: The ``meta`` row where ``touchpoint init`` keeps a workspace's blueprint (JSON); the
#: demo keeps its blueprint there too, so ``touchpoint report`` of the file finds it.
BLUEPRINT_KEY = "touchpoint.blueprint"


def _write_meta(path: str, blueprint: Any, experiment: dict[str, Any] | None) -> None:
    """Keep the demo's blueprint (as ``touchpoint init`` does) and its experiment in the file."""
    from touchpoint.schema import dump_blueprint

    items = {BLUEPRINT_KEY: dump_blueprint(blueprint, format="json")}
    if experiment is not None:
        items[EXPERIMENT_KEY] = _experiment_json(experiment)
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            list(items.items()),
        )
    finally:
        con.close()


def _experiment_json(experiment: dict[str, Any]) -> str:
    plain = {
        k: (v.isoformat() if isinstance(v, dt.date) else v)
        for k, v in experiment.items()
        if k not in ("customers", "held_out")
    }
    plain["customers"] = np.asarray(experiment["customers"]).astype(str).tolist()
    return json.dumps(plain)


def read_experiment(ws: Any) -> dict[str, Any] | None:
    """The care-rule experiment the demo recorded in a SQLite workspace (None: none)."""
    path = getattr(ws.storage, "path", None)
    if not isinstance(path, str) or path == ":memory:":
        return None
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = con.execute("SELECT value FROM meta WHERE key = ?", (EXPERIMENT_KEY,)).fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return None
    if row is None:
        return None
    found: dict[str, Any] = json.loads(row[0])
    found["customers"] = np.array(found["customers"], dtype=object)
    return found


def _mark(path: str) -> None:
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute(
            "INSERT INTO meta (key, value) VALUES (?, 'demo') "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (CREATED_BY_KEY,),
        )
    finally:
        con.close()


@attrs.frozen(eq=False)
class DemoResult:
    """Everything the demo report shows, as plain Python values (lists of row dicts)."""

    template: str
    db: str
    today: dt.date
    customers: int
    events: int
    recorded: dict[str, int]
    pyramid: list[dict[str, Any]]
    loyalty: list[dict[str, Any]] | None
    compliance: list[dict[str, Any]]
    worst_breaches: list[dict[str, Any]]
    breaches: int
    key_touchpoints: list[dict[str, Any]]
    satisfaction: list[dict[str, Any]]
    agenda_by_rule: list[dict[str, Any]]
    agenda_by_status: dict[str, int]
    agenda_rows: list[dict[str, Any]]
    sent: int
    overdue: list[dict[str, Any]]
    overdue_count: int
    #: The sections of `touchpoint.demo._sections.report_sections` (RFM segments, Pareto,
    #: CLV and P(alive), churn, funnel, retention, CSAT and NPS by month, compliance by
    #: store and month, the care rule's lift), and those left out with the reason.
    sections: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    left_out: dict[str, str] = attrs.field(factory=dict)
    #: Every contact of today's agenda that is not sent now, with the reason.
    held_contacts: list[dict[str, Any]] = attrs.field(factory=list)
    #: What the synthetic base planted (the slipping store, the dip, the true lift).
    story: dict[str, Any] = attrs.field(factory=dict)


#: Interactions recorded per batch (a million customers make about 12 million): the
#: ingest's working memory is a few hundred bytes per row of a batch (at a million
#: customers, 2.9 GiB peak while recording against 2.1 with 500,000, under the scores'
#: 3.5). Each batch's commit writes the whole random-key index once more (through the
#: WAL, then the checkpoint), so fewer, larger batches cost less: the million's 12.35M
#: interactions take 52-53 s in batches of 2M against 63-65 s in batches of 500,000.
RECORD_CHUNK = 2_000_000


def _refused(report: Any) -> None:
    first = report.rejections[0].problems[0] if report.rejections else None
    raise ValidationError(
        [
            Problem(
                "db",
                f"{report.rejected:,} generated interactions were refused (first: "
                f"{first.message if first else '?'}); the file probably holds a demo made "
                "with another --customers, --seed or --template: use a new --db",
            )
        ]
    )


def _record_events(ws: Any, events: Any) -> dict[str, int]:
    """Store the interactions, deduplicated by event id, in batches."""
    accepted = duplicates = 0
    for lo in range(0, len(events), RECORD_CHUNK):  # batches bound the ingest's memory
        rows: Any = slice(lo, lo + RECORD_CHUNK)  # a slice: views of the columns, no copy
        report = ws.record_batch(events.take(rows))
        accepted += report.accepted
        duplicates += report.duplicates
        if report.rejected:
            _refused(report)
    return {"accepted": accepted, "duplicates": duplicates}


def _record_documents(ws: Any, base: Any) -> dict[str, int]:
    """Store the customers, promises and complaints, upserted by id."""
    from touchpoint.model import Complaint, Promise

    c = base.customers

    dates = ("birthday", "purchase", "last_purchase", "move_in", "warranty_end", "child_birth")
    # Columns, not a Customer object per row: the storage builds the documents column-wise.
    people = {
        "customer": c["customer"],
        "name": c["name"],
        "email": c["email"],
        "phone": c["phone"],
        "timezone": c["timezone"],
        "preferred_channel": c["preferred_channel"],
        "segment": c["segment"],
        "referrer": c["referrer"],
        "do_not_contact": c["do_not_contact"],
        "dates": {d: c[d] for d in dates if d in c},
        "consents": base.consents,
    }
    ws.storage.upsert_customers(people)
    p = base.promises
    ws.storage.add_promises(
        Promise(
            pid,
            who,
            "demo promise",
            made.replace(tzinfo=dt.UTC),
            due.replace(tzinfo=dt.UTC),
            value=float(value),
            status=status,
        )
        for pid, who, made, due, value, status in zip(
            p["id"],
            p["customer"],
            p["made_at"].tolist(),
            p["due"].tolist(),
            p["value"],
            p["status"],
            strict=True,
        )
    )
    m = base.complaints
    ws.storage.add_complaints(
        Complaint(
            kid,
            who,
            opened.replace(tzinfo=dt.UTC),
            type=kind,
            first_response_at=None if first is None else first.replace(tzinfo=dt.UTC),
            resolved_at=None if done is None else done.replace(tzinfo=dt.UTC),
        )
        for kid, who, kind, opened, first, done in zip(
            m["id"],
            m["customer"],
            m["type"],
            m["opened_at"].tolist(),
            m["first_response_at"].tolist(),
            m["resolved_at"].tolist(),
            strict=True,
        )
    )
    return {
        "customers": len(c["customer"]),
        "promises": len(p["id"]),
        "complaints": len(m["id"]),
    }


def send_planned(ws: Any, plan: Any, customers: dict[str, np.ndarray]) -> int:
    """Queue the contacts planned for now in the workspace's ``outbox`` channel.

    The contact id is the plan's idempotency key, so a re-run replaces the queued
    contact instead of adding a second one. Returns how many were queued.
    (Kept in one function so a durable dispatcher can replace it.)
    """
    from touchpoint.channels.base import Message

    now = plan.status == "send"
    if not now.any():
        return 0
    ids = np.asarray(customers["customer"]).astype(str)
    order = np.argsort(ids)
    rows = order[np.searchsorted(ids[order], plan.customer[now].astype(str))]
    by_phone = np.isin(plan.channel[now], ["sms", "phone", "call", "wechat"])
    address = np.where(by_phone, customers["phone"][rows], customers["email"][rows])
    names = customers["name"][rows]
    sent = 0
    for key, who, rule, channel, to, name in zip(
        plan.key[now],
        plan.customer[now],
        plan.rule[now],
        plan.channel[now],
        address,
        names,
        strict=True,
    ):
        body = f"Dear {name}, this is your {rule} contact from your dealer."
        message = Message(str(key), str(who), str(to), body, subject=str(rule), purpose="service")
        message.metadata["channel"] = str(channel)
        if ws.send(message, channel="outbox").ok:
            sent += 1
    return sent


def _used_codes(codes: np.ndarray, categories: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``codes`` (no -1) recoded into the ``categories`` they use, in the same order.

    >>> _used_codes(np.array([2, 0, 2]), np.array(["a", "b", "c"], dtype=object))
    (array([1, 0, 1]), array(['a', 'c'], dtype=object))
    """
    used = np.bincount(codes, minlength=len(categories)) > 0
    if used.all():
        return codes, categories
    recode = np.cumsum(used) - 1
    return recode[codes], categories[used]


def _scores(events: Any, buyers: Any, blueprint: Any, today: dt.date) -> dict[str, Any]:
    """Pyramid, loyalty, compliance, key touchpoints and satisfaction of the stored events.

    ``buyers`` are the customers' own events (without the mystery shoppers' audits).
    """
    from touchpoint import attribution, scoring
    from touchpoint.demo._blueprint import nps_touchpoints
    from touchpoint.demo._sections import narrow, touchpoint_mask
    from touchpoint.frame import EventFrame

    asof = np.datetime64(today + dt.timedelta(days=1), "us")
    values = scoring.rfm(buyers, asof=asof)  # purchases only; every customer gets a row
    seen = np.bincount(buyers.codes("customer"), minlength=len(values)) > 0
    values = values.take(np.flatnonzero(seen))  # categories keep the shoppers
    summary = scoring.pyramid_summary(scoring.pyramid(values))
    pyramid = rows_of(summary, ["tier", "customers", "value", "customer_share", "value_share"])
    loyalty = None
    if blueprint.loyalty is not None:
        tiers = scoring.loyalty_programme(buyers, blueprint.loyalty, asof=asof).balances
        # membership by hashing the ids once (np.isin sorted both as text: 1 CPU-s
        # at a million customers), and the few tiers counted by Counter (C), not sorted
        valued = set(np.asarray(values["customer"]).tolist())
        ids = np.asarray(tiers["customer"]).tolist()
        ours = np.fromiter(map(valued.__contains__, ids), dtype=bool, count=len(ids))
        held = Counter(np.asarray(tiers["tier"])[ours].astype(str).tolist())
        loyalty = [{"tier": t, "customers": held[t]} for t in sorted(held)]
    report = scoring.compliance(events, blueprint)
    s = report.summary
    order = np.argsort(np.nan_to_num(np.asarray(s["compliance"], float), nan=2.0), kind="stable")
    compliance = [
        r
        for r in (
            rows_of(
                s.take(order),
                ["touchpoint", "indicator", "kind", "cases", "met", "breaches", "compliance"],
            )
        )
        if r["cases"]
    ]
    b = report.breaches
    worst = np.argsort(-np.asarray(s["breaches"]), kind="stable")[:5]
    worst_breaches = rows_of(
        s.take(worst), ["touchpoint", "indicator", "breaches", "cases", "target", "unit"]
    )
    converted = events.codes("outcome") == list(events.categories["outcome"]).index("purchase")
    # touchpoints as codes with their categories, not decoded: an object array of every
    # event's touchpoint name was ~100 MB at a million customers, and factorising it again
    # cost seconds; only the touchpoints used are categories, as decoding would give
    tp_codes, tp_names = _used_codes(events.codes("touchpoint"), events.categories["touchpoint"])
    path = EventFrame(
        {
            "customer": events.codes("customer"),
            "time": events["time"],
            "touchpoint": tp_codes,
            "converted": converted,
        },
        {"touchpoint": tp_names},
    )
    ten = touchpoint_mask(events, [tp.code for tp in nps_touchpoints(blueprint)])
    rated = ~np.isnan(events["rating"]) & ~ten  # 1-5 stars; the 0-10 answers are the NPS's
    who = events.codes("customer")[rated]
    stars = events["rating"][rated]
    k = int(who.max()) + 1 if len(who) else 0
    overall = np.bincount(who, stars, minlength=k) / np.maximum(np.bincount(who, minlength=k), 1)
    ratings = {
        "customer": who,
        "touchpoint": events["touchpoint"][rated],
        "rating": stars,
        "overall": overall[who],
    }
    ranking = attribution.key_touchpoints(attribution.markov(path), ratings)
    by_rank = np.argsort(np.asarray(ranking["rank"]), kind="stable")
    key = rows_of(
        ranking.take(by_rank),
        [
            "rank",
            "touchpoint",
            "attribution_share",
            "driver_share",
            "mean_rating",
            "importance",
            "action",
        ],
        limit=10,
    )
    sat = scoring.csat(
        narrow(events, ["rating", "time", "touchpoint"], np.flatnonzero(rated)),
        by="stage",
        blueprint=blueprint,
    )
    satisfaction = rows_of(
        sat, ["stage", "responses", "csat", "csat_low", "csat_high", "mean_rating"]
    )
    return {
        "customers": int(np.sum(np.asarray(summary["customers"]))),
        "pyramid": pyramid,
        "loyalty": loyalty,
        "compliance": compliance,
        "worst_breaches": worst_breaches,
        "breaches": len(b),
        "key_touchpoints": key,
        "satisfaction": satisfaction,
    }


def figures(
    events: Any,
    blueprint: Any,
    today: dt.date,
    experiment: dict[str, Any] | None,
    *,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, str]]:
    """The demo report's scores and sections of ``events``: (scores, sections, left out).

    The demo calls it on the events it generated and recorded; on the workspace's
    stored interactions it gives the same figures (the tests check it).
    """
    from touchpoint.demo._sections import CUSTOMER_COLUMNS, narrow, report_sections

    say = progress or (lambda _step: None)
    # Value, loyalty and the customer sections are about customers: leave out the
    # mystery shoppers' audit records (and keep only the columns those scores read).
    shopper = np.strings.startswith(events.categories["customer"].astype(str), "MS-")
    own = narrow(events, CUSTOMER_COLUMNS, np.flatnonzero(~shopper[events.codes("customer")]))
    scores = _scores(events, own, blueprint, today)
    say("report sections")
    sections, left_out = report_sections(
        events, blueprint, asof=today, customers=own, experiment=experiment
    )
    return scores, sections, left_out


def run_demo(
    *,
    template: str = "car-dealership",
    customers: int = 20_000,
    seed: int = 0,
    db: str | os.PathLike[str] = "touchpoint-demo.db",
    today: dt.date = dt.date(2026, 11, 23),
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run the whole demo into the SQLite file ``db`` and return what the report shows.

    ``progress`` is called with the name of each step as it starts.

    Raises
    ------
    touchpoint.errors.ValidationError
        When ``db`` exists and was not created by the demo (a workspace made by
        ``touchpoint init`` or an application): the demo writes its synthetic data only
        into a new file, which it marks as its own, or into one it marked.
    """
    from touchpoint import care
    from touchpoint.demo._blueprint import demo_blueprint
    from touchpoint.demo._sections import narrow
    from touchpoint.demo._synthetic import synthetic_base
    from touchpoint.workspace import open_workspace

    say = progress or (lambda _step: None)
    blueprint = demo_blueprint(template)
    new = _claim(os.fspath(db))  # before the minutes of work, not after
    say("generate")
    base = synthetic_base(
        blueprint,
        customers=customers,
        seed=seed,
        end=today,
        progress=lambda phase: say(f"generate: {phase}"),
    )
    say("record")
    with open_workspace(f"sqlite:///{os.fspath(db)}", blueprint=blueprint) as ws:
        if new:
            _mark(os.fspath(db))
        _write_meta(os.fspath(db), blueprint, base.story.get("winback"))
        people, consents, promises, story = base.customers, base.consents, base.promises, base.story
        recorded = _record_events(ws, base.events)
        say("record: customers, promises and complaints")
        recorded |= _record_documents(ws, base)
        # Score the generated events, which are what was stored (every one, in the same
        # order; checked below), instead of reading millions of rows back: at a million
        # customers the read-back alone held gigabytes. Event ids and staff are not scored.
        # (Storing the customers on a thread beside the scores was tried: at a million
        # customers it added the documents' memory to the scores' peak.)
        events = narrow(
            base.events, [k for k in base.events.columns if k not in ("event_id", "staff")]
        )
        # customer codes stay int32 as generated (the scores widen codes before combining
        # them with day or period numbers: the same figures with codes above a million)
        del base  # the generated event ids go; the scored columns stay in ``events``
        n_events = ws.storage.count()
        if n_events != len(events):  # the file held other events too: score what it holds
            del events
            events = ws.interactions()
        say("agenda")
        due = care.agenda(blueprint, people, asof=today)
        now = dt.datetime.combine(today, dt.time(PLAN_HOUR), tzinfo=dt.UTC)
        plan = care.plan_contacts(
            due,
            blueprint,
            customers=people,
            consents=consents,
            now=now,
            policy=care.ContactPolicy(),
        )
        plan = hold_out(plan, story.get("winback"))
        # only what sending needs stays while the scores run (at a million customers the
        # consents and the customers' other columns are hundreds of MB)
        people = {k: people[k] for k in ("customer", "name", "email", "phone")}
        del consents
        say("score")
        scores, sections, left_out = figures(
            events, blueprint, today, story.get("winback"), progress=say
        )
        del events
        say("send")
        sent = send_planned(ws, plan, people)
    rules, rule_counts = np.unique(plan.rule.astype(str), return_counts=True)
    statuses, status_counts = np.unique(plan.status.astype(str), return_counts=True)
    say("promises")
    late = care.overdue_promises(promises, asof=now)
    return DemoResult(
        template=template,
        db=os.fspath(db),
        today=today,
        customers=len(people["customer"]),
        events=n_events,
        recorded=recorded,
        pyramid=scores["pyramid"],
        loyalty=scores["loyalty"],
        compliance=scores["compliance"],
        worst_breaches=scores["worst_breaches"],
        breaches=scores["breaches"],
        key_touchpoints=scores["key_touchpoints"],
        satisfaction=scores["satisfaction"],
        agenda_by_rule=[
            {"rule": str(r), "contacts": int(c)} for r, c in zip(rules, rule_counts, strict=True)
        ],
        agenda_by_status={str(s): int(c) for s, c in zip(statuses, status_counts, strict=True)},
        agenda_rows=rows_of(
            plan.columns(), ["customer", "rule", "channel", "status", "reason"], limit=8
        ),
        sent=sent,
        overdue=rows_of(late, ["id", "customer", "due", "days_overdue"], limit=8),
        overdue_count=len(late),
        sections=sections,
        left_out=left_out,
        held_contacts=held_contacts(plan),
        story={k: v for k, v in story.items() if k != "winback"}
        | {
            "winback_effect": story["winback"]["effect"],
            "winback_baseline": story["winback"]["baseline"],
        },
    )


def hold_out(plan: Any, experiment: dict[str, Any] | None) -> Any:
    """Today's contacts of the experiment's rule to customers in its holdout: held, not sent."""
    from touchpoint.experiments import holdout

    if experiment is None or not len(plan.customer):
        return plan
    mine = plan.rule.astype(str) == experiment["rule"]
    if not mine.any():
        return plan
    held = np.zeros(len(mine), dtype=bool)
    held[mine] = holdout(
        plan.customer[mine].astype(str), share=experiment["share"], salt=experiment["salt"]
    )
    why = (
        f"holdout: in the {100 * experiment['share']:.0f}% control group of "
        f"{experiment['rule']} (salt {experiment['salt']!r}), never contacted by it"
    )
    return attrs.evolve(
        plan,
        status=np.where(held, "held", plan.status).astype(object),
        reason=np.where(held, why, plan.reason).astype(object),
    )


def held_contacts(plan: Any) -> list[dict[str, Any]]:
    """Every planned contact not sent now, with why (deferred: until when)."""
    rows = np.flatnonzero(plan.status.astype(str) != "send")
    out = []
    for i in rows:  # the day's held contacts: tens, not a loop per customer
        reason = str(plan.reason[i] or "")
        if not reason and str(plan.status[i]) == "deferred":
            at = plan.send_at[i].astype("datetime64[m]")
            reason = f"deferred to {str(at).replace('T', ' ')} UTC (quiet hours or a cap)"
        out.append(
            {
                "customer": str(plan.customer[i]),
                "rule": str(plan.rule[i]),
                "channel": None if plan.channel[i] is None else str(plan.channel[i]),
                "status": str(plan.status[i]),
                "reason": reason,
            }
        )
    return out
