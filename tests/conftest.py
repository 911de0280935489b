"""Shared fixtures: the real official list files, and stores to import them into."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from serving import RunningServer, running_server
from vigil.store import Store, import_path


def _find_data() -> Path:
    """The shared folder of real list files: $VIGIL_TEST_DATA, else beside the checkout."""
    if os.environ.get("VIGIL_TEST_DATA"):
        return Path(os.environ["VIGIL_TEST_DATA"])
    candidates = [Path(__file__).resolve().parents[2] / "shared" / "data", Path("/work/shared/data")]
    return next((c for c in candidates if c.is_dir()), candidates[0])


DATA = _find_data()
UN_FILES = sorted((DATA / "un").glob("consolidated-*.xml"))
OFAC_SDN_FOLDERS = sorted(p for p in (DATA / "ofac-sdn").iterdir() if p.is_dir()) if DATA.exists() else []
OFAC_CONS_FILES = sorted((DATA / "ofac-consolidated").glob("consolidated-*.xml"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.exists():
        pytest.fail(f"the real list files are missing: {DATA} (set VIGIL_TEST_DATA)")
    return DATA


POSTGRES_URL = os.environ.get("VIGIL_TEST_POSTGRES_URL")


def _postgres_database(name: str) -> str:
    """Create an empty database on the test server; return its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    try:
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except OperationalError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is not reachable: {error}")
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is not reachable")
    return POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"


def _drop_postgres_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def empty_store(kind: str, folder: Path) -> Iterator[str]:
    """The URL of an empty store: an SQLite file in ``folder``, or a fresh
    database on a real PostgreSQL server (dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'store.db'}"
        return
    if not POSTGRES_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs VIGIL_TEST_POSTGRES_URL for the PostgreSQL tests")
        pytest.skip("no PostgreSQL server: set VIGIL_TEST_POSTGRES_URL (.ci/run starts one)")
    name = f"vigil_test_{os.getpid()}_{folder.name}".lower().replace("-", "_")[:60]
    yield _postgres_database(name)
    _drop_postgres_database(name)


STORE_KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORE_KINDS)
def store_url(request, tmp_path) -> Iterator[str]:
    """An empty store: an SQLite file, or a fresh database on a real PostgreSQL server."""
    with empty_store(request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="module", params=STORE_KINDS)
def api(request, tmp_path_factory) -> Iterator[RunningServer]:
    """A real `vigil serve` on a loopback port, over a store holding the UN list
    of 2026-02-27, with one key per role; shared by a test module."""
    folder = tmp_path_factory.mktemp("api")
    with empty_store(request.param, folder) as url:
        import_path(Store(url), UN_FILES[-1])
        with running_server(url, folder) as server:
            yield server
