"""A real PostgreSQL server for the storage tests, started once per session (opt-in fixtures).

`postgres_server` runs ``initdb`` and ``pg_ctl`` in a temporary directory (as an
unprivileged user when the tests run as root: PostgreSQL refuses root) on a free
loopback port, creates an ordinary role ``app`` owning a database ``touchpoint`` (so the
storage runs without superuser rights, as an application would), and stops the server
and removes its directory at the end of the session, also after failures. Only tests
that ask for these fixtures start it; they are skipped, with the reason, only where no
PostgreSQL binaries exist (``TOUCHPOINT_PG_BINDIR`` points to them elsewhere).
"""

from __future__ import annotations

import uuid

import pytest

from touchpoint.storage._postgres_server import BINDIR_ENV, TemporaryServer, find_bindir


@pytest.fixture(scope="session")
def postgres_server():
    """The session's throw-away PostgreSQL server (`TemporaryServer`), with role ``app``."""
    if find_bindir() is None:
        pytest.skip(
            f"no PostgreSQL binaries (initdb, pg_ctl) on this machine; install PostgreSQL "
            f"(Debian: apt-get install postgresql) or set {BINDIR_ENV}"
        )
    pytest.importorskip("psycopg", reason="the postgres extra (psycopg 3) is not installed")
    server = TemporaryServer(settings={"max_connections": "200"})
    server.start()
    try:
        server.psql("CREATE ROLE app LOGIN")
        server.psql("CREATE DATABASE touchpoint OWNER app")
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server):
    """A URL to a fresh, empty schema of the session's database, as role ``app``."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    return postgres_server.url("touchpoint", user="app", schema=schema)
