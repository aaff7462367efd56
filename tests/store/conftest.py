"""Journal targets: a SQLite file, and a database on a throwaway PostgreSQL server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg import new_database, start_postgres


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    with start_postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def journal_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's journal lives: a SQLite file path, or a fresh PostgreSQL database URL."""
    if request.param == "sqlite":
        return str(tmp_path / "j.sqlite")
    server: str = request.getfixturevalue("pg_server")
    return new_database(server, f"j_{uuid.uuid4().hex[:12]}")
