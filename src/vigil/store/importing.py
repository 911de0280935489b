"""Importing an official file or folder into the store as a new version."""

from __future__ import annotations

import hashlib
from pathlib import Path

from vigil import sources
from vigil.store.store import ImportResult, Store


def content_hash(path: Path) -> str:
    """SHA-256 over a file, or over a folder's files (names and bytes, sorted)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(file.name.lower().encode() + b"\0")
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def import_path(store: Store, path: Path | str, source: str | None = None, origin: str | None = None) -> ImportResult:
    """Parse and store a list publication; a file already stored is a no-op.

    Raises ``SourceError`` for a file that cannot be read, before anything
    is written.
    """
    path = Path(path)
    fmt, detected = sources.detect(path, source)
    digest = content_hash(path)
    existing = store.find_version(detected, digest)
    if existing:
        return ImportResult(existing, created=False)
    parsed = fmt.parse(path, detected)
    return store.import_list(parsed, digest, origin or str(path.resolve()))
