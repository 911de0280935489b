"""What changed between two list versions, and in which fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The raw record is provenance, not content: a change of layout alone is no
# amendment.
IGNORED_FIELDS = frozenset({"raw"})


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    keys = sorted((old.keys() | new.keys()) - IGNORED_FIELDS)
    return [key for key in keys if old.get(key) != new.get(key)]


@dataclass
class Amendment:
    entry_id: str
    name: str
    fields: list[str]


@dataclass
class Diff:
    source: str
    from_version: dict[str, Any] | None
    to_version: dict[str, Any]
    added: list[tuple[str, str]] = field(default_factory=list)  # (entry id, name)
    removed: list[tuple[str, str]] = field(default_factory=list)
    amended: list[Amendment] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "from": self.from_version,
            "to": self.to_version,
            "added": [{"id": i, "name": n} for i, n in self.added],
            "removed": [{"id": i, "name": n} for i, n in self.removed],
            "amended": [{"id": a.entry_id, "name": a.name, "fields": a.fields} for a in self.amended],
        }
