"""Fixtures shared by every test package.

PostgreSQL is the server on 127.0.0.1:5432 (database ``test``; override with
``OCTSEARCH_TEST_PG``). Each test gets a fresh, uniquely named schema, dropped afterwards; no
other table of that database is touched. With ``CI`` set, a server that cannot be reached fails
the tests instead of skipping them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_URL = os.environ.get("OCTSEARCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session", autouse=True)
def data_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The node's shared copies of data sets (octsearch.data.shared) go under the session's tmp
    directory, for the test process and every process it starts, not the user's cache."""
    old = os.environ.get("OCTSEARCH_DATA_CACHE")
    os.environ["OCTSEARCH_DATA_CACHE"] = str(tmp_path_factory.mktemp("data-cache"))
    yield
    if old is None:
        os.environ.pop("OCTSEARCH_DATA_CACHE", None)
    else:
        os.environ["OCTSEARCH_DATA_CACHE"] = old


def _pg_engine():
    url = make_url(PG_URL).set(drivername="postgresql+psycopg")
    return create_engine(url, connect_args={"connect_timeout": 5})


@pytest.fixture(scope="session")
def pg_available() -> None:
    engine = _pg_engine()
    try:
        with engine.connect():
            pass
    except Exception as e:  # noqa: BLE001 - any failure to connect decides the same way
        message = f"PostgreSQL at {PG_URL} unreachable: {str(e).splitlines()[0]}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    finally:
        engine.dispose()


def pg_schema_url(schema: str) -> str:
    """The test database's URL with ``schema`` first on the search path."""
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture
def pg_url(pg_available: None) -> Iterator[str]:
    schema = f"octsearch_test_{uuid.uuid4().hex[:12]}"
    engine = _pg_engine()
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield pg_schema_url(schema)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


