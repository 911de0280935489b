"""Delta screening: after an import, screen a customer file only against what changed.

For each list, the newest version is compared with the one before it
(``Store.diff``). The input yields hits only on the entries added or amended
in the newest versions (a list stored once: all of its entries are new), so a
customer file already screened before the import is not alerted again on
entries that did not change. Names are weighed against the whole newest
lists, as in a full screen (a screener built over the changed entries alone
would weigh names by their rarity among those few, and score differently).

The output has the columns of ``screen_file`` plus ``status``:

- ``new``: a hit on an entry added in the newest version;
- ``amended``: a hit on an entry amended in it (re-check the earlier decision);
- ``delisted``: a hit from an earlier results file (``previous_hits``) whose entry
  is no longer in the newest version of its list, so the earlier alert no
  longer stands. These rows come first; they keep the earlier query, entry,
  score and names, with ``list_version`` the newest version and an
  explanation saying so.

The summary (``OUTPUT.summary.json``) adds, per list, the two versions
compared and the numbers added, amended and removed, and the de-listed hits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigil.model import Entry
from vigil.screening.batch import (
    HIT_COLUMNS,
    InputError,
    Progress,
    ScreenSummary,
    hit_row,
    open_queries,
    read_hits,
    screen_into,
    version_dict,
    writing,
)
from vigil.screening.query import Hit, Query
from vigil.screening.screener import DEFAULT_THRESHOLD, Screener
from vigil.store import ListVersion, Store, StoreError

STATUS_COLUMNS = (*HIT_COLUMNS, "status")


@dataclass
class RescreenSummary(ScreenSummary):
    changes: list[dict[str, Any]] = field(default_factory=list)  # per list: from, to, added, amended, removed
    delisted: list[dict[str, Any]] = field(default_factory=list)  # earlier hits whose entry was de-listed


@dataclass
class Delta:
    """What changed in one list: its newest version against the one before."""

    version: ListVersion
    previous: dict[str, Any] | None
    status: dict[str, str]  # entry id -> "new" or "amended"
    removed: int
    entries: list[Entry]  # every entry of the newest version
    listed: set[str]  # their ids


def delta(store: Store, source: str) -> Delta:
    """The entries of ``source`` added or amended by its newest version."""
    diff = store.diff(source)
    status = {entry_id: "new" for entry_id, _ in diff.added}
    status.update((amendment.entry_id, "amended") for amendment in diff.amended)
    entries = list(store.entries(diff.to_version["id"]))
    version = store.version(source, diff.to_version["id"])
    return Delta(version, diff.from_version, status, len(diff.removed), entries, {e.id for e in entries})


class DeltaScreener:
    """A screener over the newest lists that keeps only the hits on changed entries."""

    def __init__(self, deltas: dict[str, Delta]) -> None:
        self.screener = Screener((entry, d.version) for d in deltas.values() for entry in d.entries)
        self.changed = frozenset(entry_id for d in deltas.values() for entry_id in d.status)

    @property
    def versions(self) -> list[ListVersion]:
        return self.screener.versions

    def match(self, query: Query, threshold: float = DEFAULT_THRESHOLD, limit: int = 10) -> list[Hit]:
        return self.screener.match(query, threshold, limit, only=self.changed)


def rescreen_file(
    store: Store,
    input: Path | str,
    output: Path | str,
    previous_hits: Path | str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    limit: int = 10,
    workers: int | None = None,
    progress: Progress | None = None,
    sources: list[str] | None = None,
) -> RescreenSummary:
    """Screen ``input`` against the entries added or amended by the newest
    version of each list (or of ``sources``), and report the hits of the
    ``previous_hits`` results file whose entry was de-listed.

    Raises StoreError when nothing is stored, InputError as ``screen_file``.
    """
    names = sources or sorted({v.source for v in store.versions()})
    if not names:
        raise StoreError("no lists stored; import a list first")
    deltas = {source: delta(store, source) for source in names}
    screener = DeltaScreener(deltas)
    summary = RescreenSummary(
        str(input), str(output), [version_dict(d.version) for d in deltas.values()],
        changes=[_change(d) for d in deltas.values()],
    )
    delisted = _delisted(Path(previous_hits), deltas) if previous_hits else []
    items = open_queries(input, output, summary)
    with writing(output, STATUS_COLUMNS, summary) as writer:
        writer.write(delisted)
        summary.delisted = [{c: row[c] for c in ("query_id", "entry_id", "source", "reference", "matched_name")} for row in delisted]
        screen_into(writer, screener, items, summary, _status_row(deltas), threshold, limit, workers, progress)
    if summary.error:
        raise InputError(summary.error)
    return summary


def _change(d: Delta) -> dict[str, Any]:
    previous = d.previous and {k: d.previous[k] for k in ("source", "id", "published_on")}
    amended = sum(1 for s in d.status.values() if s == "amended")
    return {
        "source": d.version.source,
        "from": previous,
        "to": version_dict(d.version),
        "added": len(d.status) - amended,
        "amended": amended,
        "removed": d.removed,
    }


def _status_row(deltas: dict[str, Delta]) -> Callable[[Hit], dict[str, Any]]:
    """An output row for a hit, with the status of its entry."""

    def row(hit: Hit) -> dict[str, Any]:
        return {**hit_row(hit), "status": deltas[hit.source].status[hit.entry_id]}

    return row


def _delisted(path: Path, deltas: dict[str, Delta]) -> list[dict[str, Any]]:
    """The earlier hits on entries no longer in the newest version of their list."""
    rows = []
    for number, row in enumerate(read_hits(path), 1):
        missing = [c for c in ("query_id", "entry_id", "source") if not row.get(c)]
        if missing:
            raise InputError(f"{path}: row {number} has no {', '.join(missing)}; is it a `vigil screen` results file?")
        d = deltas.get(row["source"])
        if d is None or row["entry_id"] in d.listed or row.get("status") == "delisted":
            continue
        version = d.version
        earlier = {c: row.get(c) or None for c in HIT_COLUMNS}
        earlier["score"] = float(row["score"]) if row.get("score") not in (None, "") else None
        rows.append({
            **earlier,
            "list_version": f"{version.source}:{version.id}",
            "explanation": f"de-listed: not in {version.source} version {version.id} published "
            f"{version.published_on}; the earlier hit ({row.get('list_version') or 'an earlier version'}) no longer stands",
            "status": "delisted",
        })
    return rows
