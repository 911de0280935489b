"""The versioned store on real UN releases, in SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import SQLAlchemyError

from conftest import UN_FILES
from vigil.sources import read_list
from vigil.store import Store, StoreError, import_path
from vigil.store.diff import changed_fields
from vigil.store.schema import entry_contents, list_versions, version_entries

UN_2017, UN_2018, UN_2024, UN_2026 = UN_FILES


@pytest.fixture
def store(store_url):
    store = Store(store_url)
    yield store
    store.close()


@pytest.fixture
def un_store(store):
    """A store holding the oldest and the newest UN releases."""
    import_path(store, UN_2017)
    import_path(store, UN_2026)
    return store


def test_import_creates_versions_with_publication_dates_and_counts(un_store):
    versions = un_store.versions("un")
    assert [v.published_on for v in versions] == [date(2017, 7, 3), date(2026, 2, 27)]
    assert [v.entry_count for v in versions] == [650 + 371, 730 + 273]
    assert versions[1].counts == {"organisation": 273, "person": 730}
    assert len({v.content_hash for v in versions}) == 2


def test_reimporting_the_same_file_is_a_no_op(un_store):
    result = import_path(un_store, UN_2026)
    assert not result.created
    assert result.version.published_on == date(2026, 2, 27)
    assert len(un_store.versions()) == 2


def test_every_entry_reads_back_as_parsed(store):
    parsed = read_list(UN_2024)
    version = import_path(store, UN_2024).version
    stored = list(store.entries(version.id))
    assert stored == sorted(parsed.entries, key=lambda e: e.id)


def test_diff_between_real_releases_lists_real_additions_and_delistings(un_store):
    old = {e.id: e for e in read_list(UN_2017).entries}
    new = {e.id: e for e in read_list(UN_2026).entries}
    diff = un_store.diff("un")
    assert [i for i, _ in diff.added] == sorted(new.keys() - old.keys())
    assert [i for i, _ in diff.removed] == sorted(old.keys() - new.keys())
    assert "un:QDe.161" in dict(diff.added)
    assert "un:QDe.161" not in dict(diff.removed)
    expected_amended = {
        i: changed_fields(old[i].to_dict(), new[i].to_dict())
        for i in old.keys() & new.keys()
        if changed_fields(old[i].to_dict(), new[i].to_dict())
    }
    assert {a.entry_id: a.fields for a in diff.amended} == expected_amended
    assert diff.amended, "the UN list changed in nine years; some entry must be amended"


def test_diff_by_date_and_version_number(un_store):
    import_path(un_store, UN_2018)
    first, middle, last = un_store.versions("un")
    by_date = un_store.diff("un", "2017-07-03", "2018-12-31")
    assert (by_date.from_version["id"], by_date.to_version["id"]) == (first.id, middle.id)
    by_number = un_store.diff("un", str(middle.id), str(last.id))
    assert (by_number.from_version["id"], by_number.to_version["id"]) == (middle.id, last.id)
    # the default compares the newest with the version before it
    assert un_store.diff("un").from_version["id"] == middle.id


def test_diff_rejects_unknown_versions(un_store):
    with pytest.raises(StoreError, match="no version 999"):
        un_store.diff("un", "999")
    with pytest.raises(StoreError, match="no version published on or before 2001-01-01"):
        un_store.diff("un", "2001-01-01")
    with pytest.raises(StoreError, match="no versions of 'eu'"):
        un_store.diff("eu")


def test_show_as_of_a_date(un_store):
    assert un_store.as_of("un:QDe.161", date(2018, 1, 1)) == []
    [(version, entry)] = un_store.as_of("un:QDe.161", date(2026, 3, 1))
    assert version.published_on == date(2026, 2, 27)
    assert entry.listed_on == "2019-05-14"
    # the current state is the newest version
    assert un_store.as_of("un:QDe.161")[0][0].id == version.id


def test_delisted_entry_is_visible_as_of_its_time_only(un_store):
    removed_id, _ = un_store.diff("un").removed[0]
    [(version, entry)] = un_store.as_of(removed_id, date(2017, 8, 1))
    assert entry.id == removed_id and version.published_on == date(2017, 7, 3)
    assert un_store.as_of(removed_id) == []
    assert [s.status for s in un_store.history(removed_id)] == ["listed", "removed"]


def test_history_reports_amendments_with_fields(un_store):
    amendment = un_store.diff("un").amended[0]
    steps = un_store.history(amendment.entry_id)
    assert [s.status for s in steps] == ["listed", "amended"]
    assert steps[1].fields == amendment.fields


def test_entry_ids_resolve_from_references(un_store):
    assert un_store.resolve_entry_id("QDe.161") == "un:QDe.161"
    assert un_store.resolve_entry_id("qde.161") == "un:QDe.161"
    with pytest.raises(StoreError, match="no entry"):
        un_store.resolve_entry_id("QDe.999999")


def test_unchanged_entries_are_stored_once(store):
    import_path(store, UN_2024)
    with store.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(version_entries)).scalar()
    # the same content under another publication: no new entry contents
    store.import_list(read_list(UN_2024), "another-hash", "copy")
    with store.engine.connect() as conn:
        contents = conn.execute(select(func.count()).select_from(entry_contents)).scalar()
        rows = conn.execute(select(func.count()).select_from(version_entries)).scalar()
    assert contents == before
    assert rows == 2 * before


def _consistent(store: Store) -> None:
    """Every stored version holds exactly its entries."""
    with store.engine.connect() as conn:
        for version in conn.execute(select(list_versions)):
            rows = conn.scalar(
                select(func.count()).select_from(version_entries).where(version_entries.c.version_id == version.id)
            )
            assert rows == version.entry_count


def test_failed_import_leaves_nothing_behind(store):
    import_path(store, UN_2017)
    parsed = read_list(UN_2026)
    parsed.entries.append(parsed.entries[0])  # a duplicate id fails inside the transaction
    with pytest.raises(SQLAlchemyError):
        store.import_list(parsed, "broken", "test")
    assert [v.published_on for v in store.versions()] == [date(2017, 7, 3)]
    _consistent(store)
    assert len(list(store.entries(store.versions()[0].id))) == 650 + 371


def test_full_disk_leaves_previous_version_intact(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'small.db'}")
    import_path(store, UN_2017)
    with store.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

    # SQLite's own "database or disk is full" path: cap the file's size.
    def cap(dbapi_connection, _record):
        dbapi_connection.execute(f"PRAGMA max_page_count={pages + 20}")

    for engine in (store.engine, store.writer):
        event.listen(engine, "connect", cap)
        engine.dispose()
    with pytest.raises(SQLAlchemyError, match="full"):
        import_path(store, UN_2026)
    assert [v.published_on for v in store.versions()] == [date(2017, 7, 3)]
    _consistent(store)
    store.close()


def _import_created(url: str, path: Path) -> bool:
    return import_path(Store(url), path).created


def test_two_processes_importing_one_file_at_once_store_it_once(store_url):
    Store(store_url).close()  # the tables exist before both start
    with ProcessPoolExecutor(2) as pool:
        created = list(pool.map(_import_created, [store_url] * 2, [UN_2026] * 2))
    assert sorted(created) == [False, True]
    store = Store(store_url)
    assert [v.published_on for v in store.versions()] == [date(2026, 2, 27)]
    _consistent(store)
