"""A throwaway PostgreSQL server for the journal's tests (the project's own set-up).

``make postgres`` installs Debian's PostgreSQL when the machine has none (``.ci/run`` runs it).
:func:`start_postgres` makes a cluster in a temporary directory with ``initdb`` (as the
``postgres`` user when the tests run as root: the server refuses to run as root), starts it on
a Unix socket only (no TCP port), and returns a URL for SQLAlchemy; :func:`new_database`
gives each test its own empty database. Missing PostgreSQL skips the tests, or fails them
under CI.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import unavailable

_PORT = 54329


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _unavailable(msg: str) -> None:
    unavailable(f"{msg} (run `make postgres`)")


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.fail("running as root without runuser: cannot start PostgreSQL as 'postgres'")
    return [runuser, "-u", "postgres", "--", *cmd]


@contextmanager
def start_postgres() -> Iterator[str]:
    """A running server; yields the SQLAlchemy URL of its ``postgres`` database."""
    bindir = _bin_dir()
    if bindir is None:
        _unavailable("PostgreSQL is not installed")
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (the dev extra)")
    root = Path(tempfile.mkdtemp(prefix="invrisk-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    try:
        subprocess.run(
            _as_server_user(
                [str(bindir / "initdb"), "-D", str(data), "-U", "invrisk", "--auth=trust"]
            ),
            check=True,
            capture_output=True,
        )
        subprocess.run(
            _as_server_user(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-w",
                    "-l",
                    str(root / "server.log"),
                    "-o",
                    f"-k {sock} -p {_PORT} -c listen_addresses=''",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {exc.stderr.decode(errors='replace')}")
    try:
        yield f"postgresql+psycopg://invrisk@/postgres?host={sock}&port={_PORT}"
    finally:
        subprocess.run(
            _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def new_database(server_url: str, name: str) -> str:
    """An empty database ``name`` on the server (dropped first if it exists); its URL."""
    import psycopg

    host = server_url.split("host=")[1].split("&")[0]
    with psycopg.connect(
        host=host, port=_PORT, user="invrisk", dbname="postgres", autocommit=True
    ) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}"')
        con.execute(f'CREATE DATABASE "{name}"')
    return server_url.replace("/postgres?", f"/{name}?")
