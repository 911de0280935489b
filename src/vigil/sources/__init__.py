"""Official list formats. Each module here turns one format into Entry objects.

A format module exposes ``FORMAT``, an object with:

* ``sources``: the source names it can produce (e.g. ``("un",)``);
* ``detect(path) -> str | None``: the source name for a file or folder it can
  read (looking only at its start), or None;
* ``parse(path, source) -> ParsedList``.

Adding a list format (EU, UK, ...) means adding one module that defines
``FORMAT``; it is found here by discovery.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from pathlib import Path
from typing import Protocol

from vigil.model import ParsedList


class SourceError(ValueError):
    """A list file that cannot be read: names the file and the place in it."""

    def __init__(self, path: Path | str, message: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        where = f"{self.path}, line {line}" if line else self.path
        super().__init__(f"{where}: {message}")


class Format(Protocol):
    sources: tuple[str, ...]

    def detect(self, path: Path) -> str | None: ...

    def parse(self, path: Path, source: str) -> ParsedList: ...


@cache
def formats() -> tuple[Format, ...]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "FORMAT"):
            found.append(module.FORMAT)
    return tuple(found)


def source_names() -> list[str]:
    return sorted({name for fmt in formats() for name in fmt.sources})


def detect(path: Path | str, source: str | None = None) -> tuple[Format, str]:
    """The format that reads ``path``, and the source it holds.

    ``source`` overrides detection of which list it is (the format is still
    detected from the content).
    """
    path = Path(path)
    if not path.exists():
        raise SourceError(path, "no such file or folder")
    if source is not None and source not in source_names():
        raise SourceError(path, f"unknown source {source!r}; known: {', '.join(source_names())}")
    for fmt in formats():
        detected = fmt.detect(path)
        if detected is None:
            continue
        if source is None:
            return fmt, detected
        if source in fmt.sources:
            return fmt, source
    if source:
        raise SourceError(path, f"not a file of the {source!r} list's format")
    raise SourceError(path, f"not a recognised sanctions list (known sources: {', '.join(source_names())}); "
                      "use --source to say which list it is")


def read_list(path: Path | str, source: str | None = None) -> ParsedList:
    """Parse an official list file or folder, detecting its format."""
    fmt, detected = detect(path, source)
    return fmt.parse(Path(path), detected)
