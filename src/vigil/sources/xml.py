"""Hardened XML reading shared by the XML list formats."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from lxml import etree

from vigil.sources import SourceError

# The head of a file that format detection looks at.
HEAD_BYTES = 4096


def read_head(path: Path) -> bytes:
    """The first bytes of a file; nothing for a folder or an unreadable file."""
    try:
        with path.open("rb") as handle:
            return handle.read(HEAD_BYTES)
    except OSError:
        return b""


def parse_xml(path: Path) -> etree._Element:
    """Parse an XML file refusing DTDs, entities and network access.

    Official lists carry no DTD; any DOCTYPE is refused before its entities
    can be expanded (billion laughs) or fetched (XXE).
    """
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=True,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        # Parsing bytes rather than a file name makes lxml report encoding
        # errors as syntax errors with their line.
        content = path.read_bytes()
    except OSError as error:
        raise SourceError(path, f"cannot read file: {error}") from None
    try:
        tree = etree.parse(BytesIO(content), parser)
    except etree.XMLSyntaxError as error:
        line = error.lineno if error.lineno else None
        raise SourceError(path, f"malformed XML: {error.msg}", line=line) from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise SourceError(path, "a DOCTYPE (with entity declarations) is not allowed in a list file",
                          line=1)
    return tree.getroot()


def canonical(element: etree._Element) -> str:
    """The element as canonical XML (exclusive C14N): the same record always
    gives the same text, whatever the file's quote style; ``parse_xml`` has
    already dropped the indentation."""
    return etree.tostring(element, method="c14n", exclusive=True).decode("utf-8")
