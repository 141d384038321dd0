"""The workspaces the command line creates and reopens: a SQLite file and its blueprint.

A workspace's storage keeps interactions, not the blueprint they are checked against.
``touchpoint init`` keeps the blueprint (as JSON) and who created the file in the
SQLite database's ``meta`` table, under keys starting with ``touchpoint.``, so that
``touchpoint import`` and ``touchpoint score`` check and read the data against the same
blueprint without being told again, and ``touchpoint demo`` can tell a workspace it made
from a user's own.

Examples
--------
>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "crm.db"
>>> sqlite_path(f"sqlite:///{path}") == str(path)
True
>>> sqlite_path("memory://") is None
True
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any
from urllib.parse import unquote, urlsplit

from touchpoint.errors import TouchpointError

__all__ = ["BLUEPRINT_KEY", "CREATED_BY_KEY", "open_url", "read_meta", "sqlite_path", "write_meta"]

#: The ``meta`` row holding the workspace's blueprint as JSON.
BLUEPRINT_KEY = "touchpoint.blueprint"
#: The ``meta`` row naming what created the workspace (``init`` or ``demo``).
CREATED_BY_KEY = "touchpoint.created_by"


def sqlite_path(url: str) -> str | None:
    """The file of a ``sqlite:///...`` URL or of a plain path (no ``://``: a SQLite file,
    as `touchpoint.open` reads it), or None for another kind of URL."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        return None
    if not parts.path.startswith("/") or parts.netloc:
        raise TouchpointError(
            f"not a SQLite URL: {url!r}; use sqlite:///relative.db or sqlite:////absolute/path.db"
        )
    return unquote(parts.path[1:])


def read_meta(path: str) -> dict[str, str]:
    """The ``touchpoint.*`` rows of the ``meta`` table of the SQLite file (empty if none)."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise TouchpointError(f"{path}: cannot be read as a SQLite database: {exc}") from None
    try:
        rows = con.execute("SELECT key, value FROM meta WHERE key LIKE 'touchpoint.%'").fetchall()
    except sqlite3.DatabaseError as exc:
        if "no such table" in str(exc):
            return {}
        raise TouchpointError(f"{path}: not a touchpoint workspace ({exc})") from None
    finally:
        con.close()
    return {str(k): str(v) for k, v in rows}


def write_meta(path: str, items: dict[str, str]) -> None:
    """Set ``touchpoint.*`` rows of the ``meta`` table of a workspace's SQLite file."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            list(items.items()),
        )
        con.execute("COMMIT")
    finally:
        con.close()


def open_url(url: str) -> Any:
    """Open the workspace at ``url`` with the blueprint ``touchpoint init`` kept in it.

    A SQLite file must exist (``touchpoint init`` creates it): a mistyped path is an
    error, not a new empty workspace. A plain path (no ``://``) is a SQLite file, as
    `touchpoint.open` takes it. Other URLs are opened without a blueprint.
    """
    from touchpoint.workspace import open_workspace

    path = sqlite_path(url)
    blueprint = None
    if path is not None:
        if not os.path.isfile(path):
            raise TouchpointError(
                f"no workspace at {url!r} ({path} does not exist); create one with: "
                f"touchpoint init {url} --template NAME"
            )
        text = read_meta(path).get(BLUEPRINT_KEY)
        if text is not None:
            from touchpoint.schema import loads_blueprint

            blueprint = loads_blueprint(text, format="json", source=f"{path} (meta)")
    return open_workspace(url, blueprint=blueprint)
