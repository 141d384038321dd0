"""``touchpoint init URL``: create a workspace with a blueprint.

Examples
--------
>>> import pathlib, tempfile
>>> db = pathlib.Path(tempfile.mkdtemp()) / "crm.db"
>>> from touchpoint.cli import main
>>> main(["init", f"sqlite:///{db}", "--template", "car-dealership"])  # doctest: +ELLIPSIS
created sqlite:///...crm.db: blueprint 'car-dealership', 28 touchpoints
0
"""

from __future__ import annotations

import argparse
import json
import os

from touchpoint.cli._workspace import BLUEPRINT_KEY, CREATED_BY_KEY, sqlite_path, write_meta
from touchpoint.errors import TouchpointError

NAME = "init"
HELP = "create a workspace (a SQLite file) with a blueprint"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Create a workspace at URL (sqlite:///crm.db) and keep its blueprint in it, a "
        "built-in template (--template) or a blueprint file (--blueprint), so that "
        "'touchpoint import' checks the data against it. An existing file is refused."
    )
    parser.add_argument("url", metavar="URL", help="where the workspace goes: sqlite:///FILE")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--template", metavar="NAME", help="a built-in template")
    which.add_argument("--blueprint", metavar="FILE", help="a blueprint file (.toml or .json)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from touchpoint import templates
    from touchpoint.schema import dump_blueprint, load_blueprint
    from touchpoint.workspace import open_workspace

    path = sqlite_path(args.url)
    if path is None:
        raise TouchpointError(
            f"touchpoint init creates SQLite workspaces (sqlite:///FILE), not {args.url!r}"
        )
    if os.path.exists(path):
        raise TouchpointError(f"{path} exists already: init creates a new workspace only")
    blueprint = templates.load(args.template) if args.template else load_blueprint(args.blueprint)
    text = dump_blueprint(blueprint, format="json")
    try:
        with open_workspace(args.url, blueprint=blueprint):
            pass  # creates the file and its schema
        write_meta(path, {BLUEPRINT_KEY: text, CREATED_BY_KEY: "init"})
    except BaseException:
        for leftover in (path, f"{path}-wal", f"{path}-shm"):
            if os.path.exists(leftover):
                os.remove(leftover)
        raise
    if args.json:
        print(
            json.dumps(
                {"url": args.url, "blueprint": blueprint.name, "touchpoints": len(blueprint)}
            )
        )
    else:
        print(f"created {args.url}: blueprint {blueprint.name!r}, {len(blueprint)} touchpoints")
    return 0
