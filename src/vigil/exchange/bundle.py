"""Offline bundles: envelopes written to a file that is carried across an air
gap and imported on the other side. The bundle adds no protection of its own:
every envelope in it is signed and encrypted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vigil.exchange.envelope import Envelope

FORMAT = "vigil-bundle/1"
MAX_BUNDLE = 1 << 30  # bytes


class BundleError(ValueError):
    """A bundle file that cannot be read, named with the problem."""


def write_bundle(path: Path, envelopes: list[Envelope]) -> None:
    data = {"format": FORMAT, "envelopes": [e.to_dict() for e in envelopes]}
    temporary = path.with_name(path.name + ".part")
    temporary.write_text(json.dumps(data), encoding="utf-8")
    temporary.replace(path)  # a bundle is whole or absent


def read_bundle(path: Path) -> list[Any]:
    """The envelopes of a bundle, as JSON data (each is checked on receipt)."""
    try:
        size = path.stat().st_size
        if size > MAX_BUNDLE:
            raise BundleError(f"{path}: {size:,} bytes, larger than a bundle may be ({MAX_BUNDLE:,})")
        data = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as error:
        raise BundleError(f"{path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise BundleError(f"{path}: not UTF-8 text (byte {error.start}): damaged or not a bundle") from None
    except json.JSONDecodeError as error:
        raise BundleError(f"{path}: not valid JSON at line {error.lineno}, column {error.colno}: damaged or not a bundle") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("envelopes"), list):
        raise BundleError(f"{path}: not a Vigil bundle (format {FORMAT!r} expected)")
    return data["envelopes"]
