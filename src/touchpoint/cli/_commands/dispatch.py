"""``touchpoint dispatch URL``: one pass of the dispatcher over the workspace's outbox.

Examples
--------
>>> from touchpoint.cli import main
>>> main(["dispatch", "--help"]) == 0  # doctest: +ELLIPSIS
usage: touchpoint dispatch ...
True
"""

from __future__ import annotations

import argparse
import json

NAME = "dispatch"
HELP = "send the outbox contacts that are due (one dispatcher pass, for a cron job)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Claim the outbox rows of the workspace at URL that are due and send each through "
        "its channel, checking consent, do-not-contact, quiet hours and caps again at the "
        "moment of sending (one Dispatcher.run_once). A channel is a channel kind "
        "registered by touchpoint or a plugin (see 'touchpoint plugins'), or a name "
        "mapped to one with --channel NAME=KIND (sms=outbox); a row whose channel is "
        "neither is a dead letter. Prints how many rows were sent, retried later, dead, "
        "held and waiting. Safe to run from several processes at once."
    )
    parser.add_argument("url", metavar="URL", help="the workspace: sqlite:///FILE")
    parser.add_argument(
        "--asof",
        metavar="DATE",
        help="send as at 10:00 UTC on this day, YYYY-MM-DD (default: now)",
    )
    parser.add_argument(
        "--channel",
        action="append",
        default=[],
        metavar="NAME=KIND",
        help="send the rows of channel NAME through the registered kind KIND (repeatable)",
    )
    parser.add_argument(
        "--batch", type=int, default=1000, metavar="N", help="most rows sent in this pass"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from touchpoint.care import Dispatcher
    from touchpoint.cli._care import add_channels, moment
    from touchpoint.cli._workspace import open_url

    _, now = moment(args.asof)
    with open_url(args.url) as ws:
        add_channels(ws, args.channel)
        rules = ws.blueprint.care_rules if ws.blueprint is not None else ()
        report = Dispatcher(ws, rules=rules, batch=args.batch).run_once(now)
    counts = {
        "sent": report.sent,
        "retry": report.retry,
        "dead": report.dead,
        "held": report.held,
        "waiting": report.waiting,
        "lost": report.lost,
    }
    if args.json:
        print(json.dumps({"url": args.url, **counts, "timeouts": list(report.timeouts)}))
        return 0
    for line in report.timeouts:
        print(f"timeout: {line}")
    print(", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return 0
