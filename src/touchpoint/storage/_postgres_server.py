"""A throw-away PostgreSQL server for tests and benchmarks: ``initdb`` + ``pg_ctl`` in a temp dir.

`TemporaryServer` creates a cluster in a temporary directory, starts it on a free
loopback port (and a Unix socket inside that directory), and removes everything when
stopped. PostgreSQL refuses to run as root: when the process is root, the cluster is
made and run by an unprivileged system user (``TOUCHPOINT_PG_USER``, else ``postgres``,
else ``nobody``) through ``runuser`` (or ``su``).

The binaries (``initdb``, ``pg_ctl``, ``postgres``) are looked up in
``TOUCHPOINT_PG_BINDIR``, then in the usual Debian/Ubuntu (``/usr/lib/postgresql/<v>/bin``),
Red Hat (``/usr/pgsql-<v>/bin``) and Homebrew locations, then on ``PATH``, newest
version first; `find_bindir` returns None when there are none.

Nothing here is needed to *use* the PostgreSQL storage: it needs a server you run.

Examples
--------
>>> find_bindir() is None or os.path.isfile(os.path.join(find_bindir(), "initdb"))
True
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping

__all__ = ["BINDIR_ENV", "USER_ENV", "TemporaryServer", "find_bindir"]

#: Environment variable naming the directory of ``initdb`` and ``pg_ctl``.
BINDIR_ENV = "TOUCHPOINT_PG_BINDIR"
#: Environment variable naming the system user that runs the server when we are root.
USER_ENV = "TOUCHPOINT_PG_USER"

_TOOLS = ("initdb", "pg_ctl", "postgres")


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", path)) or (0,)


def _candidates() -> Iterator[str]:
    env = os.environ.get(BINDIR_ENV)
    if env:
        yield env
    patterns = (
        "/usr/lib/postgresql/*/bin",  # Debian, Ubuntu
        "/usr/pgsql-*/bin",  # Red Hat, Fedora (PGDG)
        "/opt/homebrew/opt/postgresql@*/bin",  # Homebrew, Apple silicon
        "/usr/local/opt/postgresql@*/bin",  # Homebrew, Intel
        "/opt/homebrew/opt/postgresql/bin",
        "/usr/local/opt/postgresql/bin",
        "/usr/local/pgsql/bin",  # built from source
    )
    for pattern in patterns:  # a handful of places
        yield from sorted(glob.glob(pattern), key=_version_key, reverse=True)
    found = shutil.which("pg_ctl")
    if found:
        yield os.path.dirname(os.path.realpath(found))
    config = shutil.which("pg_config")
    if config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([config, "--bindir"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                yield out.stdout.strip()


def find_bindir() -> str | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, or None if none is found."""
    for directory in _candidates():
        if all(os.access(os.path.join(directory, t), os.X_OK) for t in _TOOLS):
            return directory
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as_user() -> str | None:
    """The unprivileged user to run the server as, or None if we are not root."""
    if os.geteuid() != 0:
        return None
    names = [os.environ.get(USER_ENV), "postgres", "nobody"]
    for name in names:  # three names at most
        if not name:
            continue
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        if entry.pw_uid != 0:
            return name
    raise RuntimeError(
        f"running as root and no unprivileged user to run PostgreSQL as: set {USER_ENV} "
        "to an existing non-root user"
    )


class TemporaryServer:
    """A PostgreSQL cluster in a temporary directory, for tests and benchmarks.

    Parameters
    ----------
    bindir:
        The directory of ``initdb`` and ``pg_ctl`` (default: `find_bindir`).
    settings:
        ``postgresql.conf`` settings (``{"shared_buffers": "256MB"}``).
    durable:
        False (default) sets ``fsync=off`` and friends: fast, and fine for a server that
        is thrown away; True keeps PostgreSQL's crash-safe defaults (benchmarks).
    superuser:
        The name of the bootstrap superuser (``trust`` authentication on loopback only).

    The server listens on 127.0.0.1 on a free port and on a Unix socket in its
    directory; `url` gives a ``postgresql://`` URL for a database and user.
    """

    def __init__(
        self,
        *,
        bindir: str | None = None,
        settings: Mapping[str, str] | None = None,
        durable: bool = False,
        superuser: str = "touchpoint",
    ) -> None:
        found = bindir or find_bindir()
        if found is None:
            raise RuntimeError(
                f"no PostgreSQL binaries (initdb, pg_ctl) found; install PostgreSQL or set {BINDIR_ENV}"
            )
        self.bindir = found
        self.superuser = superuser
        self.settings = dict(settings or {})
        self.durable = durable
        self.port = 0
        self.directory = ""
        self.user = _run_as_user()
        self._running = False

    # ------------------------------------------------------------------ plumbing

    def _cmd(self, *args: str) -> list[str]:
        if self.user is None:
            return list(args)
        if shutil.which("runuser"):
            return ["runuser", "-u", self.user, "--", *args]
        return ["su", "-s", "/bin/sh", self.user, "-c", " ".join(_quote(a) for a in args)]

    def _run(self, *args: str, timeout: float = 120) -> str:
        out = subprocess.run(
            self._cmd(*args), capture_output=True, text=True, timeout=timeout, cwd="/"
        )
        if out.returncode != 0:
            raise RuntimeError(
                f"{os.path.basename(args[0])} failed ({out.returncode}): {out.stderr.strip() or out.stdout.strip()}"
            )
        return out.stdout

    @property
    def datadir(self) -> str:
        return os.path.join(self.directory, "data")

    @property
    def logfile(self) -> str:
        return os.path.join(self.directory, "server.log")

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> TemporaryServer:
        """Run ``initdb`` and start the server; returns self."""
        self.directory = tempfile.mkdtemp(prefix="touchpoint-pg-")
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.directory, entry.pw_uid, entry.pw_gid)
        os.chmod(self.directory, 0o700)
        try:
            self._run(
                os.path.join(self.bindir, "initdb"),
                "-D",
                self.datadir,
                "-U",
                self.superuser,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8" if _has_c_utf8() else "--locale=C",
                *(() if self.durable else ("--no-sync",)),
            )
            conf = {
                "listen_addresses": "'127.0.0.1'",
                "unix_socket_directories": f"'{self.directory}'",
                "max_connections": "100",
                "logging_collector": "off",
                "log_min_messages": "warning",
                **(
                    {}
                    if self.durable
                    else {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
                ),
                **self.settings,
            }
            with open(os.path.join(self.datadir, "postgresql.conf"), "a") as f:
                f.write("\n# touchpoint TemporaryServer\n")
                for key, value in conf.items():
                    f.write(f"{key} = {value}\n")
            last: Exception | None = None
            for _ in range(5):  # another process may take the free port before us
                self.port = _free_port()
                try:
                    self._run(
                        os.path.join(self.bindir, "pg_ctl"),
                        "-D",
                        self.datadir,
                        "-l",
                        self.logfile,
                        "-o",
                        f"-p {self.port}",
                        "-w",
                        "-t",
                        "60",
                        "start",
                    )
                    self._running = True
                    break
                except RuntimeError as exc:
                    last = exc
                    time.sleep(0.2)
            else:
                raise RuntimeError(f"PostgreSQL did not start: {last}; log: {self.log_tail()}")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its directory."""
        if self._running:
            with contextlib.suppress(RuntimeError, subprocess.SubprocessError):
                self._run(
                    os.path.join(self.bindir, "pg_ctl"),
                    "-D",
                    self.datadir,
                    "-m",
                    "fast",
                    "-w",
                    "stop",
                    timeout=60,
                )
            self._running = False
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = ""

    def __enter__(self) -> TemporaryServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 20) -> str:
        try:
            with open(self.logfile, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log)"

    # ------------------------------------------------------------------ use

    def url(self, database: str = "postgres", *, user: str | None = None, **options: str) -> str:
        """A ``postgresql://user@127.0.0.1:port/database?options`` URL."""
        query = "&".join(f"{k}={v}" for k, v in options.items())
        return f"postgresql://{user or self.superuser}@127.0.0.1:{self.port}/{database}" + (
            f"?{query}" if query else ""
        )

    def psql(self, sql: str, database: str = "postgres", *, user: str | None = None) -> str:
        """Run SQL with the ``psql`` client as ``user`` (default: the superuser); its output."""
        return self._run(
            os.path.join(self.bindir, "psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            user or self.superuser,
            "-d",
            database,
            "-At",
            "-c",
            sql,
        )

    def files(self) -> list[str]:
        """Every file of the cluster's data directory (for tests that search raw bytes)."""
        out = []
        for root, _dirs, names in os.walk(self.datadir):
            out += [os.path.join(root, n) for n in names]
        return out


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\"'\"'") + "'"


def _has_c_utf8() -> bool:
    try:
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    names = {n.strip().lower() for n in out.stdout.split()}
    return "c.utf8" in names or "c.utf-8" in names
