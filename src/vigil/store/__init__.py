"""Versioned storage of list publications (SQLite by default, PostgreSQL by URL)."""

from vigil.store.database import resolve_url
from vigil.store.diff import Diff
from vigil.store.importing import import_path
from vigil.store.store import HistoryStep, ImportResult, ListVersion, Store, StoreError

__all__ = [
    "Diff",
    "HistoryStep",
    "ImportResult",
    "ListVersion",
    "Store",
    "StoreError",
    "import_path",
    "resolve_url",
]
