"""The versioned list store: every published version of every list, kept whole."""

from __future__ import annotations

import hashlib
import json
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import IntegrityError

from vigil.model import Entry, ParsedList
from vigil.store.database import make_engine
from vigil.store.diff import Amendment, Diff, changed_fields
from vigil.store.schema import entry_contents, list_versions, metadata, version_entries

_CHUNK = 500


class StoreError(LookupError):
    """A question the store cannot answer as asked (unknown version, entry, ...)."""


@dataclass(frozen=True)
class ListVersion:
    id: int
    source: str
    published_at: datetime
    published_on: date
    imported_at: datetime
    content_hash: str
    origin: str
    entry_count: int
    counts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["published_at"] = self.published_at.isoformat()
        data["published_on"] = self.published_on.isoformat()
        data["imported_at"] = self.imported_at.isoformat()
        return data


@dataclass(frozen=True)
class ImportResult:
    version: ListVersion
    created: bool  # False: this exact file was already imported


@dataclass(frozen=True)
class HistoryStep:
    version: ListVersion
    status: str  # listed, amended, unchanged, removed, re-listed
    fields: list[str]


def entry_hash(data: dict[str, Any]) -> tuple[str, bytes]:
    """SHA-256 of an entry's canonical JSON, and that JSON compressed."""
    encoded = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest(), zlib.compress(encoded, 6)


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _version(row: Any) -> ListVersion:
    values = row._mapping
    return ListVersion(
        id=values["id"],
        source=values["source"],
        published_at=as_utc(values["published_at"]),
        published_on=values["published_on"],
        imported_at=as_utc(values["imported_at"]),
        content_hash=values["content_hash"],
        origin=values["origin"],
        entry_count=values["entry_count"],
        counts=dict(values["counts"]),
    )


class Store:
    """Versioned storage of list publications in SQLite or PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        # Imports write through an engine whose transactions take the write
        # lock first, so that two processes importing at once take turns.
        self.writer = make_engine(url, serialized=True)
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()
        self.writer.dispose()

    # -- writing -------------------------------------------------------------

    def find_version(self, source: str, content_hash: str) -> ListVersion | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(list_versions).where(
                    list_versions.c.source == source, list_versions.c.content_hash == content_hash
                )
            ).first()
        return _version(row) if row else None

    def import_list(self, parsed: ParsedList, content_hash: str, origin: str) -> ImportResult:
        """Store a parsed publication as a new version, all or nothing.

        Everything is written in one transaction: an error, a killed process
        or a full disk leaves the store as it was.
        """
        existing = self.find_version(parsed.source, content_hash)
        if existing:
            return ImportResult(existing, created=False)
        contents = {}
        rows = []
        for entry in parsed.entries:
            digest, blob = entry_hash(entry.to_dict())
            contents[digest] = blob
            rows.append({"entry_id": entry.id, "content_hash": digest})
        counts = Counter(str(entry.kind) for entry in parsed.entries)
        values = {
            "source": parsed.source,
            "published_at": as_utc(parsed.published_at),
            "published_on": parsed.published_at.date(),
            "content_hash": content_hash,
            "origin": origin,
            "entry_count": len(parsed.entries),
            "counts": dict(sorted(counts.items())),
        }
        try:
            row = self._write_version(values, contents, rows)
        except IntegrityError:
            # Another process stored this file, or some of the same entry
            # contents, while this one parsed: take its version, or go again.
            existing = self.find_version(parsed.source, content_hash)
            if existing:
                return ImportResult(existing, created=False)
            row = self._write_version(values, contents, rows)
        return ImportResult(_version(row), created=True)

    def _write_version(self, values: dict[str, Any], contents: dict[str, bytes], rows: list[dict[str, Any]]) -> Any:
        with self.writer.begin() as conn:
            version_id = conn.execute(
                insert(list_versions).values(imported_at=datetime.now(UTC), **values)
            ).inserted_primary_key[0]
            self._insert_contents(conn, contents)
            for start in range(0, len(rows), 5000):
                conn.execute(insert(version_entries), [{**r, "version_id": version_id} for r in rows[start : start + 5000]])
            return conn.execute(select(list_versions).where(list_versions.c.id == version_id)).one()

    @staticmethod
    def _insert_contents(conn: Connection, contents: dict[str, bytes]) -> None:
        hashes = list(contents)
        known: set[str] = set()
        for start in range(0, len(hashes), _CHUNK):
            chunk = hashes[start : start + _CHUNK]
            known.update(conn.scalars(select(entry_contents.c.hash).where(entry_contents.c.hash.in_(chunk))))
        new = [{"hash": h, "data": contents[h]} for h in hashes if h not in known]
        for start in range(0, len(new), 5000):
            conn.execute(insert(entry_contents), new[start : start + 5000])

    # -- versions ------------------------------------------------------------

    def versions(self, source: str | None = None) -> list[ListVersion]:
        query = select(list_versions).order_by(
            list_versions.c.source, list_versions.c.published_at, list_versions.c.id
        )
        if source:
            query = query.where(list_versions.c.source == source)
        with self.engine.connect() as conn:
            return [_version(row) for row in conn.execute(query)]

    def latest(self, source: str, on_or_before: date | None = None) -> ListVersion | None:
        """The newest version of ``source``, or the one in force on a day."""
        candidates = self.versions(source)
        if on_or_before is not None:
            candidates = [v for v in candidates if v.published_on <= on_or_before]
        return candidates[-1] if candidates else None

    def version(self, source: str, ref: str | int) -> ListVersion:
        """A version of ``source`` by its id or by a date (the version in force then)."""
        text = str(ref).strip()
        if text.isascii() and text.isdigit():
            for candidate in self.versions(source):
                if candidate.id == int(text):
                    return candidate
            raise StoreError(f"{source} has no version {text}; see `vigil lists`")
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise StoreError(f"{text!r} is neither a version number nor a date (YYYY-MM-DD)") from None
        found = self.latest(source, day)
        if found is None:
            raise StoreError(f"{source} had no version published on or before {day}")
        return found

    # -- entries -------------------------------------------------------------

    def _contents(self, conn: Connection, hashes: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(set(hashes))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            for digest, blob in conn.execute(
                select(entry_contents.c.hash, entry_contents.c.data).where(entry_contents.c.hash.in_(chunk))
            ):
                found[digest] = json.loads(zlib.decompress(blob))
        return found

    def _hashes(self, conn: Connection, version_id: int) -> dict[str, str]:
        rows = conn.execute(
            select(version_entries.c.entry_id, version_entries.c.content_hash).where(
                version_entries.c.version_id == version_id
            )
        )
        return {key: value for key, value in rows}

    def entries(self, version_id: int) -> Iterator[Entry]:
        """Every entry of one version, in entry id order."""
        with self.engine.connect() as conn:
            hashes = self._hashes(conn, version_id)
            contents = self._contents(conn, hashes.values())
        for entry_id in sorted(hashes):
            yield Entry.from_dict(contents[hashes[entry_id]])

    def entry(self, entry_id: str, version_id: int) -> Entry | None:
        with self.engine.connect() as conn:
            digest = conn.scalar(
                select(version_entries.c.content_hash).where(
                    version_entries.c.version_id == version_id, version_entries.c.entry_id == entry_id
                )
            )
            if digest is None:
                return None
            return Entry.from_dict(self._contents(conn, [digest])[digest])

    def resolve_entry_id(self, text: str) -> str:
        """The stored id for ``text``: an exact id, or a reference such as
        ``QDe.161`` (case-insensitive) that ends exactly one stored id."""
        with self.engine.connect() as conn:
            if conn.scalar(select(version_entries.c.entry_id).where(version_entries.c.entry_id == text).limit(1)):
                return text
            lowered = func.lower(version_entries.c.entry_id)
            matches = conn.scalars(
                select(version_entries.c.entry_id)
                .where((lowered == text.lower()) | lowered.endswith(":" + text.lower(), autoescape=True))
                .distinct()
                .limit(5)
            ).all()
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise StoreError(f"no entry {text!r} in any stored list version")
        raise StoreError(f"{text!r} is ambiguous: {', '.join(matches)}")

    def presence(self, entry_id: str) -> dict[int, str]:
        """Content hash of the entry in each version that has it."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(version_entries.c.version_id, version_entries.c.content_hash).where(
                    version_entries.c.entry_id == entry_id
                )
            )
            return {key: value for key, value in rows}

    def as_of(self, entry_id: str, when: date | None = None) -> list[tuple[ListVersion, Entry]]:
        """The entry as each list in force at ``when`` (default: now) had it."""
        present = self.presence(entry_id)
        found = []
        for source in sorted({v.source for v in self.versions() if v.id in present}):
            version = self.latest(source, when) if when is not None else self.latest(source)
            if version is not None and version.id in present:
                found.append((version, self.entry(entry_id, version.id)))
        return found

    def history(self, entry_id: str) -> list[HistoryStep]:
        """Every version of every list that had the entry, and what each changed."""
        present = self.presence(entry_id)
        if not present:
            raise StoreError(f"no entry {entry_id!r} in any stored list version")
        with self.engine.connect() as conn:
            contents = self._contents(conn, present.values())
        steps: list[HistoryStep] = []
        sources = {v.source for v in self.versions() if v.id in present}
        for source in sorted(sources):
            previous: str | None = None
            seen = False
            for version in self.versions(source):
                current = present.get(version.id)
                if current is None:
                    if previous is not None:
                        steps.append(HistoryStep(version, "removed", []))
                elif previous is None:
                    steps.append(HistoryStep(version, "re-listed" if seen else "listed", []))
                else:
                    fields = changed_fields(contents[previous], contents[current])
                    steps.append(HistoryStep(version, "amended" if fields else "unchanged", fields))
                previous = current
                seen = seen or current is not None
        return steps

    def diff(self, source: str, from_ref: str | None = None, to_ref: str | None = None) -> Diff:
        """Entries added, removed and amended between two versions of a list.

        By default the newest version is compared with the one before it.
        """
        versions = self.versions(source)
        if not versions:
            raise StoreError(f"no versions of {source!r} stored; import a file first")
        new = self.version(source, to_ref) if to_ref else versions[-1]
        if from_ref:
            old: ListVersion | None = self.version(source, from_ref)
        else:
            earlier = [v for v in versions if (v.published_at, v.id) < (new.published_at, new.id)]
            old = earlier[-1] if earlier else None
        with self.engine.connect() as conn:
            old_hashes = self._hashes(conn, old.id) if old else {}
            new_hashes = self._hashes(conn, new.id)
            changed = [i for i in new_hashes.keys() & old_hashes.keys() if new_hashes[i] != old_hashes[i]]
            added = sorted(new_hashes.keys() - old_hashes.keys())
            removed = sorted(old_hashes.keys() - new_hashes.keys())
            contents = self._contents(
                conn,
                [new_hashes[i] for i in added + changed] + [old_hashes[i] for i in removed + changed],
            )
        result = Diff(source, old.to_dict() if old else None, new.to_dict())
        result.added = [(i, _name(contents[new_hashes[i]])) for i in added]
        result.removed = [(i, _name(contents[old_hashes[i]])) for i in removed]
        for entry_id in sorted(changed):
            before, after = contents[old_hashes[entry_id]], contents[new_hashes[entry_id]]
            fields = changed_fields(before, after)
            if fields:
                result.amended.append(Amendment(entry_id, _name(after), fields))
        return result


def _name(data: dict[str, Any]) -> str:
    names = data.get("names") or []
    return names[0]["full"] if names else ""
