"""Response bodies of the list endpoints: lists, versions, diffs, entries, search, imports.

Versions and entries are the store's own ``ListVersion`` and ``Entry`` as their
``to_dict()`` gives them, so the documented fields are exactly those returned.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from vigil.api.schemas import EntrySummary, Strict, Version
from vigil.model import Entry
from vigil.store import ListVersion

SourceName = Literal["un", "ofac-sdn", "ofac-cons"]


class ListSummary(BaseModel):
    source: str
    version_count: int
    newest: ListVersion


class ListsResponse(BaseModel):
    lists: list[ListSummary]


class VersionsResponse(BaseModel):
    source: str
    versions: list[ListVersion] = Field(description="Oldest first, by publication.")


class ChangedEntry(BaseModel):
    id: str
    name: str


class AmendedEntry(ChangedEntry):
    fields: list[str] = Field(description="The entry's fields that changed (names, documents, remarks, ...).")


class DiffResponse(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    source: str
    from_version: ListVersion | None = Field(alias="from", description="Null when `to` is the list's first version.")
    to_version: ListVersion = Field(alias="to")
    added: list[ChangedEntry]
    removed: list[ChangedEntry]
    amended: list[AmendedEntry]


class Listing(BaseModel):
    version: ListVersion
    entry: Entry


class EntryResponse(BaseModel):
    id: str = Field(description="The stored id the path's id or reference resolved to.")
    as_of: str | None
    listings: list[Listing] = Field(description="The entry as each list in force then had it (usually one).")


class HistoryStepOut(BaseModel):
    version: ListVersion
    status: Literal["listed", "amended", "unchanged", "removed", "re-listed"]
    fields: list[str] = Field(description="For `amended`: the fields that changed.")


class HistoryResponse(BaseModel):
    id: str
    history: list[HistoryStepOut]


class SearchMatch(BaseModel):
    field: Literal["id", "reference", "document", "name"]
    value: str = Field(description="The entry's value that matched: its id, reference, document number or name.")
    score: float = Field(description="1 for an exact id, reference or document number; the name score otherwise.")
    explanation: str


class SearchItem(BaseModel):
    entry: EntrySummary
    score: float
    matched: list[SearchMatch]


class SearchResponse(BaseModel):
    q: str
    versions: list[Version] = Field(description="The list versions searched.")
    total: int = Field(description="Entries found in all; `items` holds those from `offset` on.")
    offset: int
    limit: int
    items: list[SearchItem]


class ImportResponse(BaseModel):
    created: bool = Field(description="False: this exact file was already imported; nothing changed.")
    message: str
    version: ListVersion


class UpdateRequest(Strict):
    sources: list[SourceName] | None = Field(
        None, min_length=1, description="The lists to download (default: every list)."
    )


class SourceUpdate(BaseModel):
    source: str
    url: str
    status: Literal["imported", "up to date", "error"]
    version: ListVersion | None
    error: str | None


class UpdateResponse(BaseModel):
    ok: bool = Field(description="False when any list could not be downloaded or imported (see its `error`).")
    results: list[SourceUpdate]
