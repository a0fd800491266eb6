"""A real PostgreSQL server for tests: `initdb` into a temporary folder, `postgres` on a free
127.0.0.1 port, databases created on demand, stopped by PID.

The server runs with trust authentication for the superuser `shipyard` and without durability
(fsync, synchronous commit and full-page writes off): it lives for one test session. PostgreSQL
refuses to run as root, so under root (a CI container) it runs as the `postgres` account, or
`nobody`. A machine without PostgreSQL's server programs is an error that says to run
`.ci/setup`, never a skip.

`start`/`stop` and `running` need no pytest; the fixtures are loaded as a plugin by
tests/conftest.py:

- `postgres_server` (session): the running `PostgresServer`;
- `postgres_url` (function): a fresh database for the test, as a SQLAlchemy URL
  (`postgresql+psycopg://shipyard@127.0.0.1:PORT/NAME`).
"""

from __future__ import annotations

import itertools
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.fakes.bento_server import free_port

SUPERUSER = "shipyard"
HOST = "127.0.0.1"
DEBIAN_LAYOUT = "/usr/lib/postgresql/*/bin"
SERVER_PROGRAMS = ("initdb", "postgres")
# No durability: the data is thrown away with the server.
SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class PostgresNotFoundError(RuntimeError):
    """No PostgreSQL server programs (initdb, postgres) on this machine."""


def _has_server(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in SERVER_PROGRAMS)


def _version(bindir: Path) -> tuple[int, ...]:
    """`/usr/lib/postgresql/15/bin` → (15,); Debian names the folder after the major version."""
    return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name))


def postgres_bindir() -> Path:
    """The folder of PostgreSQL's server programs: `pg_config --bindir` when it has them, else
    the highest version under /usr/lib/postgresql/*/bin (Debian, Ubuntu), else where `initdb`
    on PATH lives."""
    looked = []
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if result.returncode == 0 and result.stdout.strip():
            bindir = Path(result.stdout.strip())
            if _has_server(bindir):
                return bindir
            looked.append(f"{bindir} (pg_config --bindir)")
    versions = sorted(Path("/").glob(DEBIAN_LAYOUT.lstrip("/")), key=_version, reverse=True)
    for bindir in versions:
        if _has_server(bindir):
            return bindir
    looked.append(DEBIAN_LAYOUT)
    initdb = shutil.which("initdb")
    if initdb is not None:
        bindir = Path(initdb).resolve().parent
        if _has_server(bindir):
            return bindir
    looked.append("PATH")
    raise PostgresNotFoundError(
        f"no PostgreSQL server programs ({', '.join(SERVER_PROGRAMS)}) in {', '.join(looked)}: "
        "run .ci/setup, which installs Debian's `postgresql` package, or install PostgreSQL 13 "
        "or newer and put its bin folder on PATH"
    )


def _server_account() -> pwd.struct_passwd | None:
    """The account the server runs as: none to switch to unless this process is root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root, and no `postgres` or `nobody` account to run as")


@dataclass
class PostgresServer:
    """A running server: its port, its folder (data, socket, log) and its process."""

    port: int
    root: Path
    bindir: Path
    process: subprocess.Popen[bytes]
    _names: Iterator[int] = field(default_factory=itertools.count, repr=False)

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    def url(self, dbname: str = "postgres") -> str:
        """The SQLAlchemy URL of a database (what SHIPYARD_STATE_URL and MLflow take)."""
        return f"postgresql+psycopg://{SUPERUSER}@{HOST}:{self.port}/{dbname}"

    def dsn(self, dbname: str = "postgres") -> str:
        """The libpq URL of a database (what psycopg.connect and psql take)."""
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """Create the database `name`; returns its SQLAlchemy URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def fresh_database(self, hint: str = "db") -> str:
        """A new database named after `hint` (made unique); returns its SQLAlchemy URL."""
        slug = re.sub(r"[^a-z0-9]+", "_", hint.lower()).strip("_")[:48] or "db"
        return self.create_database(f"{slug}_{next(self._names)}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])


def _accepts_connections(server: PostgresServer) -> bool:
    import psycopg

    try:
        with psycopg.connect(server.dsn(), connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def _initdb(bindir: Path, root: Path, account: pwd.struct_passwd | None) -> None:
    result = subprocess.run(
        [
            str(bindir / "initdb"),
            "--pgdata",
            str(root / "data"),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
        ],
        cwd=root,
        user=account.pw_uid if account else None,
        group=account.pw_gid if account else None,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"initdb ({bindir}) exited with {result.returncode}:\n{result.stdout}{result.stderr}"
        )


def start(timeout: float = 30.0) -> PostgresServer:
    """initdb a temporary folder and start `postgres` on a free 127.0.0.1 port; returns once it
    accepts connections."""
    bindir = postgres_bindir()
    account = _server_account()
    root = Path(tempfile.mkdtemp(prefix="shipyard-pg-"))  # short: the socket path has a limit
    (root / "socket").mkdir()
    if account is not None:
        for path in (root, root / "socket"):
            os.chown(path, account.pw_uid, account.pw_gid)
    try:
        _initdb(bindir, root, account)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    port = free_port()
    argv = [str(bindir / "postgres"), "-D", str(root / "data"), "-h", HOST, "-p", str(port)]
    argv += ["-k", str(root / "socket")]  # the unix socket stays inside the folder
    argv += [arg for key, value in SETTINGS.items() for arg in ("-c", f"{key}={value}")]
    log = root / "postgres.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv,
            cwd=root,
            user=account.pw_uid if account else None,
            group=account.pw_gid if account else None,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = PostgresServer(port, root, bindir, process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = server.log_tail()
            stop(server)
            raise RuntimeError(f"postgres ({bindir}) exited with {process.returncode}:\n{tail}")
        if _accepts_connections(server):
            return server
        time.sleep(0.1)
    tail = server.log_tail()
    stop(server)
    raise TimeoutError(
        f"postgres on port {port} not accepting connections after {timeout:.0f}s:\n{tail}"
    )


def stop(server: PostgresServer, grace: float = 15.0) -> None:
    """Fast shutdown (SIGINT: sessions are disconnected and rolled back); SIGKILL the process
    group if it is still there after `grace` seconds; then remove its folder."""
    process = server.process
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGINT)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # its own group: start_new_session
            process.wait(10)
    shutil.rmtree(server.root, ignore_errors=True)


@contextmanager
def running(timeout: float = 30.0) -> Iterator[PostgresServer]:
    """A server for the duration of the block, stopped on the way out."""
    server = start(timeout)
    try:
        yield server
    finally:
        stop(server)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL for the test session."""
    with running() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> str:
    """A fresh database for this test: its SQLAlchemy URL (`postgresql+psycopg://...`)."""
    return postgres_server.fresh_database(request.node.name)
