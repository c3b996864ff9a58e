"""URL resolution, connection errors, and SQLite's concurrent reading."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from octsearch.errors import StoreError
from octsearch.store import default_url, mask_url, open_store, resolve_url
from octsearch.store.connect import open_engine
from octsearch.store.urls import ACCEPTED, ENV_VAR, make_engine


def test_explicit_url_beats_the_environment_which_beats_the_default(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert default_url() == f"sqlite:///{tmp_path / 'xdg' / 'octsearch' / 'octsearch.db'}"
    assert resolve_url(None).database == str(tmp_path / "xdg" / "octsearch" / "octsearch.db")
    monkeypatch.setenv(ENV_VAR, f"sqlite:///{tmp_path / 'env.db'}")
    assert resolve_url(None).database == str(tmp_path / "env.db")
    assert resolve_url(f"sqlite:///{tmp_path / 'cli.db'}").database == str(tmp_path / "cli.db")


def test_the_default_store_is_created_under_the_user_data_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(ENV_VAR, raising=False)
    with open_store() as store:
        assert store.list_searches() == []
    assert (tmp_path / "xdg" / "octsearch" / "octsearch.db").is_file()


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_postgresql_urls_use_psycopg_3(scheme):
    url = resolve_url(f"{scheme}://u:pw@db.example:5433/results")
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port, url.database, url.password) == ("db.example", 5433, "results", "pw")


@pytest.mark.parametrize("url", ["mysql://u:hunter2@h/db", "postgresql+psycopg2://u:hunter2@h/db", "not a url"])
def test_other_schemes_are_refused_in_one_line_without_the_password(url):
    with pytest.raises(StoreError) as info:
        resolve_url(url)
    message = str(info.value)
    assert "accepted: sqlite:///PATH, postgresql://" in message
    assert "hunter2" not in message and "\n" not in message


def test_an_unreachable_server_is_named_with_the_reason_and_no_password():
    with pytest.raises(StoreError) as info:
        open_store("postgresql://octo:hunter2@127.0.0.1:1/results")
    message = str(info.value)
    assert message.startswith("cannot open store postgresql://octo:***@127.0.0.1:1/results: ")
    assert "refused" in message.lower()
    assert "hunter2" not in message and "\n" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no traceback chain


def test_a_missing_file_is_not_created_by_readers(tmp_path):
    path = tmp_path / "none.db"
    with pytest.raises(StoreError, match=f"no octsearch database at {path}"):
        open_store(f"sqlite:///{path}", create=False)
    assert not path.exists()


def test_a_directory_that_cannot_be_made_is_reported(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="cannot create the directory of sqlite:///"):
        open_store(f"sqlite:///{tmp_path / 'file' / 'sub' / 'x.db'}")


def test_mask_url():
    assert mask_url("postgresql+psycopg://a:secret@h/db") == "postgresql://a:***@h/db"
    assert mask_url("sqlite+pysqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    with open_store(f"sqlite:///{tmp_path / 'w.db'}") as store, make_engine(store.database_url).connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_a_reader_is_not_blocked_by_an_open_write_transaction(tmp_path, spec_factory, add_trial):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    writer = open_store(url)
    writer.create_search(spec_factory())
    add_trial(writer, "s", {"a": 0.5}, accuracy=0.9)
    engine = make_engine(resolve_url(url))
    with engine.connect() as conn:
        conn.execution_options(octsearch_write=True)
        with conn.begin():  # BEGIN IMMEDIATE: holds the write lock like a search mid-write
            conn.execute(text("UPDATE octsearch_searches SET sampler = 'tpe'"))
            result: list = []
            reader = threading.Thread(target=lambda: result.append(open_store(url).front("s")))
            reader.start()
            reader.join(timeout=5)
            assert not reader.is_alive() and len(result[0]) == 1  # answered at once, old snapshot
            assert writer.get_search("s").sampler == "nsga2"
    assert writer.get_search("s").sampler == "tpe"
    engine.dispose()
    writer.close()


def test_readers_write_nothing_into_an_empty_file(tmp_path):
    """Neither octsearch's tables nor SQLite's WAL header: the file stays 0 bytes."""
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    with pytest.raises(StoreError) as info:
        open_store(f"sqlite:///{path}", create=False, upgrade=False)
    assert str(info.value) == (f"sqlite:///{path} holds no octsearch store (no octsearch tables); accepted: a "
                               "database that `octsearch launch` wrote (`octsearch db upgrade --db URL` creates the tables)")
    assert path.read_bytes() == b"" and sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


def test_a_reader_opens_a_current_store_as_it_is(tmp_path, spec_factory):
    url = f"sqlite:///{tmp_path / 's.db'}"
    with open_store(url) as writer:
        writer.create_search(spec_factory())
    with open_store(url, create=False, upgrade=False) as reader:
        assert [s.name for s in reader.list_searches()] == ["s"]


def test_a_read_only_engine_creates_no_directory_and_names_a_file_that_is_no_database(tmp_path):
    missing = tmp_path / "new" / "dir" / "x.db"
    with pytest.raises(StoreError, match=f"^no octsearch database at {missing} "):
        open_engine(f"sqlite:///{missing}", create=False, read_only=True)
    assert not (tmp_path / "new").exists()
    (tmp_path / "text.db").write_text("model: {name: oct_resnet20}\n")
    with pytest.raises(StoreError, match="^cannot open store sqlite:///.*text.db: file is not a database$"):
        open_engine(f"sqlite:///{tmp_path / 'text.db'}", create=False, read_only=True)


@pytest.mark.parametrize("url", ["sqlite:///\x00", "sqlite:////tmp/a\x00b.db"])
def test_a_nul_character_in_a_sqlite_path_is_one_line(url):
    with pytest.raises(StoreError) as info:
        resolve_url(url)
    assert str(info.value) == f"database URL {url!r} has a NUL character in its path; accepted: {ACCEPTED}"
