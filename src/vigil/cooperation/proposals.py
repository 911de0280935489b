"""Joint designation proposals: two or more states prepare a proposal to add a
group or a person to a UN sanctions list, and follow it to the outcome.

A proposal is a draft structured like a UN listing (``Draft``). The node that
drafts it is the lead sponsor and holds the pen: it alone revises the draft,
shares it with co-sponsors, submits it to the committee and records the
outcome (rejected) or withdraws it. Every sponsor comments and signs. Every
revision is a new version; nothing is overwritten.

A signature covers one version: an Ed25519 signature by the sponsor node's key
over the canonical JSON of ``{"format", "proposal", "version", "content"}``
(``signed_document``). A proposal is submitted only when every sponsor has
signed its current version. A proposal with a single sponsor may be
submitted: a member state may propose a listing alone, co-sponsorship is
support, not a requirement.

Sponsors are known by their signing keys, the same on every node; their names
are what each node calls its partners. Messages (exchange envelopes, TLP:AMBER):

- ``proposal.share``    lead → co-sponsors: the whole proposal (versions, comments, signatures, sponsors);
- ``proposal.revise``   lead → co-sponsors: a new version;
- ``proposal.comment``  sponsor → the other sponsors it has as partners;
- ``proposal.sign``     sponsor → the other sponsors it has as partners: its signature on a version;
- ``proposal.submit``   lead → co-sponsors: the version submitted, with every sponsor's signature on it;
- ``proposal.withdraw`` / ``proposal.reject``  lead → co-sponsors, with a note.

A node refuses (and the exchange records) a message about a proposal it does
not hold, from a node that is not a sponsor (or not the lead, for what only
the lead does), with a signature that does not verify, or that its state does
not allow. Linking to a list entry (``listed``) happens on each node when it
imports a list version: see ``vigil.cooperation.listing``.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from cryptography.exceptions import InvalidSignature
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError
from sqlalchemy import Connection, insert, select, update

from vigil.cooperation.proposal_tables import comments as comment_rows
from vigil.cooperation.proposal_tables import events as event_rows
from vigil.cooperation.proposal_tables import metadata
from vigil.cooperation.proposal_tables import proposals as proposal_rows
from vigil.cooperation.proposal_tables import signatures as signature_rows
from vigil.cooperation.proposal_tables import sponsors as sponsor_rows
from vigil.cooperation.proposal_tables import versions as version_rows
from vigil.exchange.bodies import Country, Name, PartialDate, Short
from vigil.exchange.envelope import Envelope, canonical
from vigil.exchange.identity import NodeKeys, PublicIdentity
from vigil.exchange.mailbox import Handler, Mailbox, Received
from vigil.exchange.tables import node_keys, partners
from vigil.store.store import as_utc

REGIMES = ("1267", "1988")  # ISIL (Da'esh) and Al-Qaida; the Taliban
KINDS = ("person", "organisation")
STATUSES = ("draft", "submitted", "listed", "rejected", "withdrawn")
TLP = "AMBER"
SIGNED_FORMAT = "vigil-proposal-version/1"
BODY_FORMAT = "vigil-proposal/1"
MAX_SPONSORS = 64
TEXT_MAX = 100_000

SHARE = "proposal.share"
REVISE = "proposal.revise"
COMMENT = "proposal.comment"
SIGN = "proposal.sign"
SUBMIT = "proposal.submit"
WITHDRAW = "proposal.withdraw"
REJECT = "proposal.reject"
TYPES = (SHARE, REVISE, COMMENT, SIGN, SUBMIT, WITHDRAW, REJECT)


class ProposalError(ValueError):
    """A proposal file that cannot be read, or an act on a proposal that its
    state or its sponsors do not allow; the message names the problem."""


# -- the draft ---------------------------------------------------------------------------------------------------------


def _regime_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _regime(value: str) -> str:
    if value not in REGIMES:
        raise PydanticCustomError("regime", "{value} is not a regime proposals are made under (allowed: {allowed})",
                                  {"value": repr(value), "allowed": ", ".join(REGIMES)})
    return value


Regime = Annotated[str, BeforeValidator(_regime_text), AfterValidator(_regime)]
LongText = Annotated[str, StringConstraints(max_length=TEXT_MAX)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2_000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ProposalDocument(_Strict):
    type: Short  # "passport", "national-id", ...
    number: Short
    country: Country | None = None  # issuing country
    issued_on: PartialDate | None = None
    note: Note = ""


class ProposalAddress(_Strict):
    street: Short | None = None
    city: Short | None = None
    state_province: Short | None = None
    postal_code: Short | None = None
    country: Country | None = None
    note: Note = ""

    @model_validator(mode="after")
    def _somewhere(self) -> ProposalAddress:
        if not any((self.street, self.city, self.state_province, self.postal_code, self.country)):
            raise PydanticCustomError("address", "an address needs a street, city, state_province, postal_code or country")
        return self


class Draft(_Strict):
    """What the committee needs for a listing, as the UN's list publishes it."""

    kind: Literal["person", "organisation"]
    names: list[Name] = Field(min_length=1, max_length=100)  # the first is the name to list, the others aliases
    regime: Regime
    original_script_names: list[Name] = Field(default=[], max_length=100)
    birth_dates: list[PartialDate] = Field(default=[], max_length=20)
    birth_places: list[Short] = Field(default=[], max_length=20)
    nationalities: list[Country] = Field(default=[], max_length=20)
    documents: list[ProposalDocument] = Field(default=[], max_length=50)
    addresses: list[ProposalAddress] = Field(default=[], max_length=50)
    reasons: LongText = ""  # the narrative summary of reasons for listing

    @model_validator(mode="after")
    def _person_facts(self) -> Draft:
        if self.kind == "organisation" and (self.birth_dates or self.birth_places or self.nationalities):
            raise PydanticCustomError(
                "organisation", "birth_dates, birth_places and nationalities describe a person, not an organisation")
        return self

    @classmethod
    def read(cls, path: Path) -> Draft:
        """A draft from a JSON file; every problem is named with the file and the field."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ProposalError(f"{path}: {error.strerror}") from None
        except UnicodeDecodeError as error:
            raise ProposalError(f"{path}: not UTF-8 text (byte {error.start})") from None
        return cls.parse(text, str(path))

    @classmethod
    def parse(cls, text: str, source: str) -> Draft:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ProposalError(f"{source}: not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})") from None
        return cls.of(data, source)

    @classmethod
    def of(cls, data: Any, source: str) -> Draft:
        if not isinstance(data, dict):
            raise ProposalError(f"{source}: a JSON object with kind, names and regime expected")
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise ProposalError(f"{source}: {problems(error)}") from None

    def content(self) -> dict[str, Any]:
        """The draft as JSON data: what is kept, sent and signed."""
        return self.model_dump(mode="json")


_WORDS = {
    "missing": "missing (required)",
    "extra_forbidden": "unexpected field",
    "string_type": "text expected",
    "int_type": "a whole number expected",
    "list_type": "a list expected",
    "dict_type": "an object expected",
    "model_type": "an object expected",
    "string_too_short": "empty",
    "string_too_long": "longer than {max_length:,} characters",
    "too_short": "empty (at least {min_length} expected)",
    "too_long": "more than {max_length:,} items",
    "literal_error": "{input!r} is not one of {expected}",
    "string_pattern_mismatch": "{input!r} is not in the expected form",
}


def problems(error: ValidationError) -> str:
    """Every problem of a validation, as "field: what is wrong", joined with "; "."""
    found = []
    for item in error.errors():
        path = ""
        for part in item["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        template = _WORDS.get(item["type"])
        message = template.format(input=item.get("input"), **item.get("ctx", {})) if template else item["msg"]
        if message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        found.append(f"{path}: {message}" if path else message)
    return "; ".join(found)


def signed_document(proposal_id: str, number: int, content: dict[str, Any]) -> bytes:
    """What a sponsor's signature on a version covers."""
    return canonical({"format": SIGNED_FORMAT, "proposal": proposal_id, "version": number, "content": content})


def sign_version(keys: NodeKeys, proposal_id: str, number: int, content: dict[str, Any]) -> str:
    return base64.b64encode(keys.signing.sign(signed_document(proposal_id, number, content))).decode()


def verify_signature(signer: str, signature: str, proposal_id: str, number: int, content: dict[str, Any]) -> bool:
    """Whether ``signature`` is the key ``signer``'s over that version (the
    partner's ``PublicIdentity.verifier()``; a co-sponsor need not be a partner)."""
    try:
        verifier = PublicIdentity("", signer, "").verifier()
        verifier.verify(base64.b64decode(signature, validate=True), signed_document(proposal_id, number, content))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


# -- records -----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sponsor:
    key: str
    name: str  # what this node calls it
    lead: bool


@dataclass(frozen=True)
class Version:
    number: int
    content: dict[str, Any]
    author: str  # signing key
    created_at: str


@dataclass(frozen=True)
class Comment:
    id: str
    version: int
    author: str
    text: str
    created_at: str


@dataclass(frozen=True)
class Signature:
    version: int
    signer: str
    signature: str
    signed_at: str


@dataclass(frozen=True)
class Event:
    at: datetime
    event: str
    actor: str
    detail: str
    message_id: str


@dataclass(frozen=True)
class Proposal:
    id: str
    lead: str
    status: str
    current_version: int
    revision: int
    created_at: datetime
    updated_at: datetime
    submitted_version: int | None
    note: str
    listed_as: dict[str, Any] | None
    me: str  # this node's signing key
    sponsors: tuple[Sponsor, ...]
    versions: tuple[Version, ...]
    comments: tuple[Comment, ...]
    signatures: tuple[Signature, ...]
    events: tuple[Event, ...] = ()
    names: dict[str, str] = field(default_factory=dict)  # signing key -> name here

    @property
    def current(self) -> Version:
        return self.versions[-1]

    @property
    def draft(self) -> Draft:
        return Draft.model_validate(self.current.content)

    @property
    def title(self) -> str:
        return self.current.content["names"][0]

    def version(self, number: int) -> Version:
        for version in self.versions:
            if version.number == number:
                return version
        raise ProposalError(f"proposal {self.id} has no version {number} (versions 1 to {self.current_version})")

    def is_sponsor(self, key: str) -> bool:
        return any(s.key == key for s in self.sponsors)

    def signers(self, number: int) -> set[str]:
        """The sponsors whose signature on version ``number`` verifies."""
        content = self.version(number).content
        return {s.signer for s in self.signatures
                if s.version == number and self.is_sponsor(s.signer)
                and verify_signature(s.signer, s.signature, self.id, number, content)}

    def unsigned(self, number: int | None = None) -> list[Sponsor]:
        """Sponsors who have not signed version ``number`` (default: the current one)."""
        signed = self.signers(number or self.current_version)
        return [s for s in self.sponsors if s.key not in signed]

    def name(self, key: str) -> str:
        return self.names.get(key) or next((s.name for s in self.sponsors if s.key == key), key[:12] + "…")

    def summary(self) -> dict[str, Any]:
        """What `vigil proposal list` shows."""
        content = self.current.content
        listed = self.listed_as or {}
        return {
            "id": self.id, "status": self.status, "kind": content["kind"], "regime": content["regime"], "name": self.title,
            "version": self.current_version, "lead": self.name(self.lead), "sponsors": [s.name for s in self.sponsors],
            "signed": len(self.signers(self.current_version)), "listed_as": listed.get("reference"),
            "listed_on": listed.get("listed_on"), "updated_at": self.updated_at.isoformat(),
        }

    def to_dict(self) -> dict[str, Any]:
        current = self.signers(self.current_version)
        content = self.current.content
        return {
            "id": self.id,
            "status": self.status,
            "kind": content["kind"],
            "regime": content["regime"],
            "names": content["names"],
            "version": self.current_version,
            "content": content,
            "lead": self.name(self.lead),
            "this_node_leads": self.lead == self.me,
            "sponsors": [{"name": s.name, "key": s.key, "lead": s.lead, "signed": s.key in current} for s in self.sponsors],
            "signatures": [
                {"version": s.version, "signer": self.name(s.signer), "key": s.signer, "signature": s.signature,
                 "signed_at": s.signed_at, "current": s.version == self.current_version,
                 "valid": s.signer in self.signers(s.version)}
                for s in self.signatures
            ],
            "missing_signatures": [s.name for s in self.unsigned()],
            "submitted_version": self.submitted_version,
            "note": self.note or None,
            "listed_as": self.listed_as,
            "versions": [{"number": v.number, "author": self.name(v.author), "created_at": v.created_at, "content": v.content}
                         for v in self.versions],
            "comments": [{"id": c.id, "version": c.version, "author": self.name(c.author), "text": c.text,
                          "created_at": c.created_at} for c in self.comments],
            "events": [{"at": e.at.isoformat(), "event": e.event, "by": self.name(e.actor) if e.actor else None,
                        "detail": e.detail, "message_id": e.message_id or None} for e in self.events],
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


# -- reading and writing (inside a transaction) ------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")  # the envelopes' precision: comments from both sides sort in order


def _me(conn: Connection) -> tuple[str, str]:
    row = conn.execute(select(node_keys.c.signing_public, node_keys.c.name)).first()
    if row is None:
        raise ProposalError("this database holds no node yet: `vigil node init` first (proposals are signed by the node)")
    return row.signing_public, row.name


def resolve(conn: Connection, ref: str) -> str:
    """A proposal's id from its id or an unambiguous start of it (at least 4 characters)."""
    ref = ref.strip().lower()
    if conn.execute(select(proposal_rows.c.id).where(proposal_rows.c.id == ref)).first():
        return ref
    if len(ref) >= 4:
        found = list(conn.scalars(
            select(proposal_rows.c.id).where(proposal_rows.c.id.startswith(ref, autoescape=True)).limit(3)))
        if len(found) == 1:
            return found[0]
        if found:
            raise ProposalError(f"{ref!r} starts several proposals ({', '.join(found)}); give more of the id")
    raise ProposalError(f"no proposal {ref!r} on this node; see `vigil proposal list`")


def load(conn: Connection, proposal_id: str) -> Proposal:
    row = conn.execute(select(proposal_rows).where(proposal_rows.c.id == proposal_id)).first()
    if row is None:
        raise ProposalError(f"no proposal {proposal_id!r} on this node; see `vigil proposal list`")
    me, my_name = _me(conn)
    names = {key: name for key, name in conn.execute(select(partners.c.signing_public, partners.c.name))}
    names[me] = my_name

    def rows(table: Any, *order: Any) -> list[Any]:
        return list(conn.execute(select(table).where(table.c.proposal_id == proposal_id).order_by(*order)))

    sponsors = tuple(Sponsor(r.key, names.get(r.key, r.name), r.key == row.lead) for r in rows(sponsor_rows, sponsor_rows.c.position))
    return Proposal(
        id=row.id, lead=row.lead, status=row.status, current_version=row.current_version, revision=row.revision,
        created_at=as_utc(row.created_at), updated_at=as_utc(row.updated_at), submitted_version=row.submitted_version,
        note=row.note or "", listed_as=json.loads(row.listed_as) if row.listed_as else None, me=me, sponsors=sponsors,
        versions=tuple(Version(r.number, json.loads(r.content), r.author, r.created_at)
                       for r in rows(version_rows, version_rows.c.number)),
        comments=tuple(Comment(r.id, r.version, r.author, r.text, r.created_at)
                       for r in rows(comment_rows, comment_rows.c.created_at, comment_rows.c.id)),
        signatures=tuple(Signature(r.version, r.signer, r.signature, r.signed_at)
                         for r in rows(signature_rows, signature_rows.c.version, signature_rows.c.signed_at)),
        events=tuple(Event(as_utc(r.at), r.event, r.actor, r.detail, r.message_id) for r in rows(event_rows, event_rows.c.seq)),
        names={**{s.key: s.name for s in sponsors}, **names},
    )


def _held(conn: Connection, proposal_id: str) -> Proposal:
    """A proposal a message names, which this node must hold already."""
    if conn.execute(select(proposal_rows.c.id).where(proposal_rows.c.id == proposal_id)).first() is None:
        raise ProposalError(f"no proposal {proposal_id} here: the lead sponsor must share it with this node first")
    return load(conn, proposal_id)


def _event(conn: Connection, proposal_id: str, event: str, actor: str, detail: str = "", message_id: str = "") -> None:
    conn.execute(insert(event_rows).values(proposal_id=proposal_id, at=_now(), event=event, actor=actor, detail=detail,
                                           message_id=message_id))


def _change(conn: Connection, proposal: Proposal, **values: Any) -> None:
    """Update a proposal read at ``proposal.revision``; refused if it changed since."""
    done = conn.execute(
        update(proposal_rows)
        .where(proposal_rows.c.id == proposal.id, proposal_rows.c.revision == proposal.revision)
        .values(revision=proposal.revision + 1, updated_at=_now(), **values)
    )
    if done.rowcount != 1:
        raise ProposalError(f"proposal {proposal.id} changed while this was being done; look again and retry")


def _add_sponsor(conn: Connection, proposal_id: str, key: str, name: str) -> None:
    position = len(list(conn.scalars(select(sponsor_rows.c.key).where(sponsor_rows.c.proposal_id == proposal_id))))
    conn.execute(insert(sponsor_rows).values(proposal_id=proposal_id, key=key, name=name, position=position, added_at=_now()))


def _add_version(conn: Connection, proposal_id: str, number: int, content: dict[str, Any], author: str, created_at: str) -> None:
    conn.execute(insert(version_rows).values(proposal_id=proposal_id, number=number, content=canonical(content).decode(),
                                             author=author, created_at=created_at))


def _add_comment(conn: Connection, proposal_id: str, comment: Comment) -> None:
    conn.execute(insert(comment_rows).values(id=comment.id, proposal_id=proposal_id, version=comment.version,
                                             author=comment.author, text=comment.text, created_at=comment.created_at))


def _add_signature(conn: Connection, proposal_id: str, signature: Signature) -> None:
    conn.execute(insert(signature_rows).values(proposal_id=proposal_id, version=signature.version, signer=signature.signer,
                                               signature=signature.signature, signed_at=signature.signed_at))


def submitted(conn: Connection) -> list[tuple[str, Draft]]:
    """The proposals waiting for the committee (submitted, not yet listed), with their submitted drafts."""
    found = []
    query = (select(proposal_rows.c.id, version_rows.c.content)
             .join(version_rows, (version_rows.c.proposal_id == proposal_rows.c.id)
                   & (version_rows.c.number == proposal_rows.c.submitted_version))
             .where(proposal_rows.c.status == "submitted").order_by(proposal_rows.c.created_at))
    for proposal_id, content in conn.execute(query):
        found.append((proposal_id, Draft.model_validate(json.loads(content))))
    return found


def record_listing(conn: Connection, proposal_id: str, listed_as: dict[str, Any]) -> None:
    """Mark a submitted proposal listed: an imported list version holds its entry."""
    proposal = load(conn, proposal_id)
    if proposal.status != "submitted":
        raise ProposalError(f"proposal {proposal_id} is {proposal.status}; only a submitted proposal is linked to a listing")
    _change(conn, proposal, status="listed", listed_as=json.dumps(listed_as, ensure_ascii=False, sort_keys=True))
    detail = (f"listed as {listed_as['reference']} on {listed_as['listed_on']} ({listed_as['source']} list version "
              f"{listed_as['version']} of {listed_as['published_on']}, score {listed_as['score']:.2f})")
    _event(conn, proposal_id, "listed", "", detail)


# -- acting on this node -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What an act did: the proposal as it now stands, the message telling the
    co-sponsors (None when there is nobody to tell), and the sponsors this node
    could not tell (not partners here)."""

    proposal: Proposal
    envelope: Envelope | None
    unreached: tuple[str, ...] = ()


Write = Callable[[Connection, str], None]  # (connection, id of the message sent or "")


class Proposals:
    """The proposals held by a node; acts that others must know of are sent through its mailbox."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox
        self.engine = mailbox.engine
        metadata.create_all(self.engine)

    def get(self, ref: str) -> Proposal:
        with self.engine.connect() as conn:
            return load(conn, resolve(conn, ref))

    def all(self) -> list[Proposal]:
        with self.engine.connect() as conn:
            ids = list(conn.scalars(select(proposal_rows.c.id).order_by(proposal_rows.c.created_at, proposal_rows.c.id)))
            return [load(conn, proposal_id) for proposal_id in ids]

    def create(self, draft: Draft) -> Proposal:
        """A new proposal, version 1, led by this node."""
        proposal_id = str(uuid.uuid4())
        now = _now()
        with self.engine.begin() as conn:
            me, my_name = _me(conn)
            conn.execute(insert(proposal_rows).values(
                id=proposal_id, lead=me, status="draft", current_version=1, revision=0, created_at=now, updated_at=now, note=""))
            _add_sponsor(conn, proposal_id, me, my_name)
            _add_version(conn, proposal_id, 1, draft.content(), me, _iso(now))
            _event(conn, proposal_id, "created", me, f"version 1: {draft.kind} {draft.names[0]!r}, regime {draft.regime}")
        return self.get(proposal_id)

    def revise(self, keys: NodeKeys, ref: str, draft: Draft) -> Outcome:
        """A new version of the draft (the lead only, before submission); earlier signatures stay with their versions."""
        proposal = self._lead_only(self.get(ref), "revises", "draft")
        if canonical(draft.content()) == canonical(proposal.current.content):
            raise ProposalError(f"the draft is the same as version {proposal.current_version} of proposal {proposal.id}")
        number = proposal.current_version + 1
        created = _iso(_now())
        body = {"version": {"number": number, "content": draft.content(), "author": proposal.me, "created_at": created}}

        def write(conn: Connection, message_id: str) -> None:
            _add_version(conn, proposal.id, number, draft.content(), proposal.me, created)
            _change(conn, proposal, current_version=number)
            _event(conn, proposal.id, "revised", proposal.me, f"version {number}", message_id)

        return self._tell(keys, proposal, REVISE, body, write)

    def share(self, keys: NodeKeys, ref: str, partner_name: str) -> Outcome:
        """Make a partner a co-sponsor and send it the whole proposal (the
        other co-sponsors receive it again, with the new sponsor list)."""
        proposal = self._lead_only(self.get(ref), "shares", "draft")
        partner = self.mailbox.node.partner(partner_name)
        if not partner.active:
            raise ProposalError(f"partner {partner.name!r} was revoked; proposals are not shared with it")
        key = partner.identity.signing_public
        new = not proposal.is_sponsor(key)
        if new and len(proposal.sponsors) >= MAX_SPONSORS:
            raise ProposalError(f"proposal {proposal.id} has {MAX_SPONSORS} sponsors already")
        sponsors = [*proposal.sponsors, Sponsor(key, partner.name, False)] if new else list(proposal.sponsors)
        body = _whole(proposal, sponsors)

        def write(conn: Connection, message_id: str) -> None:
            if new:
                _add_sponsor(conn, proposal.id, key, partner.name)
            _change(conn, proposal)
            _event(conn, proposal.id, "shared", proposal.me, f"with {partner.name}" + ("" if new else " again"), message_id)

        return self._tell(keys, proposal, SHARE, body, write, sponsors)

    def comment(self, keys: NodeKeys, ref: str, text: str) -> Outcome:
        proposal = self.get(ref)
        text = text.strip()
        if not text:
            raise ProposalError("the comment is empty")
        if len(text) > TEXT_MAX:
            raise ProposalError(f"the comment is longer than {TEXT_MAX:,} characters")
        comment = Comment(str(uuid.uuid4()), proposal.current_version, proposal.me, text, _iso(_now()))
        body = {"comment": {"id": comment.id, "version": comment.version, "text": comment.text}}

        def write(conn: Connection, message_id: str) -> None:
            _add_comment(conn, proposal.id, comment)
            _change(conn, proposal)
            _event(conn, proposal.id, "commented", proposal.me, f"on version {comment.version}", message_id)

        return self._tell(keys, proposal, COMMENT, body, write)

    def sign(self, keys: NodeKeys, ref: str) -> Outcome:
        """Sign the current version with this node's key; signing again sends the same signature again."""
        proposal = self.get(ref)
        if proposal.status != "draft":
            raise ProposalError(f"proposal {proposal.id} is {proposal.status}; only a draft is signed")
        if keys.public.signing_public != proposal.me:
            raise ProposalError("the keys given are not this node's")
        number = proposal.current_version
        signature = Signature(number, proposal.me, sign_version(keys, proposal.id, number, proposal.current.content), _iso(_now()))
        again = proposal.me in proposal.signers(number)
        body = {"version": number, "signature": signature.signature}

        def write(conn: Connection, message_id: str) -> None:
            if not again:
                _add_signature(conn, proposal.id, signature)
            _change(conn, proposal)
            _event(conn, proposal.id, "signed", proposal.me, f"version {number}" + (" (sent again)" if again else ""), message_id)

        return self._tell(keys, proposal, SIGN, body, write)

    def submit(self, keys: NodeKeys, ref: str) -> Outcome:
        """Mark the current version submitted to the committee: every sponsor must have signed it."""
        proposal = self._lead_only(self.get(ref), "submits", "draft")
        number = proposal.current_version
        if missing := proposal.unsigned(number):
            raise ProposalError(f"proposal {proposal.id} version {number} is not signed by "
                                f"{', '.join(s.name for s in missing)}; every sponsor signs before submission")
        signed = proposal.signers(number)
        body = {"version": number, "signatures": [_signature_body(s) for s in proposal.signatures
                                                  if s.version == number and s.signer in signed]}

        def write(conn: Connection, message_id: str) -> None:
            _change(conn, proposal, status="submitted", submitted_version=number)
            _event(conn, proposal.id, "submitted", proposal.me, f"version {number}, signed by every sponsor ({len(signed)})", message_id)

        return self._tell(keys, proposal, SUBMIT, body, write)

    def withdraw(self, keys: NodeKeys, ref: str, note: str = "") -> Outcome:
        proposal = self._lead_only(self.get(ref), "withdraws", "draft", "submitted")
        return self._close(keys, proposal, WITHDRAW, "withdrawn", note)

    def reject(self, keys: NodeKeys, ref: str, note: str) -> Outcome:
        """The committee did not agree to the listing."""
        if not note.strip():
            raise ProposalError("say why the proposal was rejected (--note)")
        proposal = self._lead_only(self.get(ref), "records the committee's answer to", "submitted")
        return self._close(keys, proposal, REJECT, "rejected", note)

    # -- inside ------------------------------------------------------------------------------------------------------

    def _close(self, keys: NodeKeys, proposal: Proposal, type: str, status: str, note: str) -> Outcome:
        note = note.strip()[:2_000]

        def write(conn: Connection, message_id: str) -> None:
            _change(conn, proposal, status=status, note=note)
            _event(conn, proposal.id, status, proposal.me, note, message_id)

        return self._tell(keys, proposal, type, {"note": note}, write)

    @staticmethod
    def _lead_only(proposal: Proposal, act: str, *statuses: str) -> Proposal:
        if proposal.lead != proposal.me:
            raise ProposalError(f"only the lead sponsor ({proposal.name(proposal.lead)}) {act} proposal {proposal.id}")
        if proposal.status not in statuses:
            raise ProposalError(f"proposal {proposal.id} is {proposal.status}; the lead {act} it only when "
                                f"{' or '.join(statuses)}")
        return proposal

    def _tell(self, keys: NodeKeys, proposal: Proposal, type: str, body: dict[str, Any], write: Write,
              sponsors: list[Sponsor] | None = None) -> Outcome:
        """Send ``body`` to the other sponsors that are partners here, and make the
        change in the transaction that keeps the sent message (or alone, with nobody to tell)."""
        to, unreached = [], []
        for sponsor in sponsors or proposal.sponsors:
            if sponsor.key == proposal.me:
                continue
            partner = self.mailbox.node.partner_by_key(sponsor.key)
            (to if partner is not None and partner.active else unreached).append(partner.name if partner else sponsor.name)
        if not to:
            with self.engine.begin() as conn:
                write(conn, "")
            return Outcome(self.get(proposal.id), None, tuple(unreached))
        content = canonical({"format": BODY_FORMAT, "proposal": proposal.id, **body})
        envelope = self.mailbox.send(keys, to, type, content, TLP,
                                     on_stored=lambda conn, envelope: write(conn, envelope.header.id))
        return Outcome(self.get(proposal.id), envelope, tuple(unreached))


def _signature_body(signature: Signature) -> dict[str, Any]:
    return {"version": signature.version, "signer": signature.signer, "signature": signature.signature,
            "signed_at": signature.signed_at}


def _whole(proposal: Proposal, sponsors: list[Sponsor]) -> dict[str, Any]:
    return {
        "lead": proposal.lead,
        "sponsors": [{"key": s.key, "name": s.name} for s in sponsors],
        "versions": [{"number": v.number, "content": v.content, "author": v.author, "created_at": v.created_at}
                     for v in proposal.versions],
        "comments": [{"id": c.id, "version": c.version, "author": c.author, "text": c.text, "created_at": c.created_at}
                     for c in proposal.comments],
        "signatures": [_signature_body(s) for s in proposal.signatures],
    }


# -- messages from co-sponsors -----------------------------------------------------------------------------------------


def _uuid(value: str) -> str:
    try:
        if str(uuid.UUID(value)) != value:
            raise ValueError
    except ValueError:
        raise PydanticCustomError("uuid", "{value} is not a proposal or comment id (a lower-case UUID)", {"value": repr(value)}) from None
    return value


Id = Annotated[str, AfterValidator(_uuid)]
Key = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{43}=$")]  # base64 of a raw 32-byte key
SignatureText = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{86}==$")]  # base64 of 64 bytes
Moment = Annotated[str, StringConstraints(min_length=4, max_length=40)]
Number = Annotated[int, Field(ge=1, le=100_000)]


class _Message(_Strict):
    format: Literal["vigil-proposal/1"]
    proposal: Id


class SponsorBody(_Strict):
    key: Key
    name: Short


class VersionBody(_Strict):
    number: Number
    content: dict[str, Any]
    author: Key
    created_at: Moment


class CommentBody(_Strict):
    id: Id
    version: Number
    author: Key
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_MAX)]
    created_at: Moment


class SignatureBody(_Strict):
    version: Number
    signer: Key
    signature: SignatureText
    signed_at: Moment


class ShareMessage(_Message):
    lead: Key
    sponsors: list[SponsorBody] = Field(min_length=2, max_length=MAX_SPONSORS)
    versions: list[VersionBody] = Field(min_length=1, max_length=10_000)
    comments: list[CommentBody] = Field(max_length=100_000)
    signatures: list[SignatureBody] = Field(max_length=100_000)


class ReviseMessage(_Message):
    version: VersionBody


class NewComment(_Strict):
    id: Id
    version: Number
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_MAX)]


class CommentMessage(_Message):
    comment: NewComment


class SignMessage(_Message):
    version: Number
    signature: SignatureText


class SubmitMessage(_Message):
    version: Number
    signatures: list[SignatureBody] = Field(min_length=1, max_length=MAX_SPONSORS)


class CloseMessage(_Message):
    note: Note = ""


def _parse(model: type[_Message], received: Received) -> Any:
    try:
        return model.model_validate_json(received.body)
    except ValidationError as error:
        raise ProposalError(f"{received.message.type}: {problems(error)}") from None


def _checked_content(proposal_id: str, version: VersionBody) -> dict[str, Any]:
    """A received version's content: a valid draft, in the form its signatures cover."""
    draft = Draft.of(version.content, f"proposal {proposal_id} version {version.number}")
    if canonical(draft.content()) != canonical(version.content):
        raise ProposalError(f"proposal {proposal_id} version {version.number}: the content is not in its canonical form")
    return version.content


def _from_lead(proposal: Proposal, sender: str, received: Received) -> None:
    if sender != proposal.lead:
        raise ProposalError(f"{received.message.partner} is not the lead sponsor of proposal {proposal.id}; "
                            f"only {proposal.name(proposal.lead)} {received.message.type.removeprefix('proposal.')}s it")


def _from_sponsor(proposal: Proposal, sender: str, received: Received, act: str) -> None:
    if not proposal.is_sponsor(sender):
        raise ProposalError(f"{received.message.partner} is not a co-sponsor of proposal {proposal.id}: its {act} is refused")


def _take_share(conn: Connection, received: Received) -> None:
    """The whole proposal from its lead: held from now on under the same id, or brought up to date."""
    metadata.create_all(conn)
    body: ShareMessage = _parse(ShareMessage, received)
    sender, me = received.header.sender, _me(conn)[0]
    if body.lead != sender:
        raise ProposalError(f"proposal {body.proposal} names another lead than its sender {received.message.partner}; "
                            "only the lead shares a proposal")
    keys = [s.key for s in body.sponsors]
    if len(set(keys)) != len(keys) or keys[0] != body.lead:
        raise ProposalError(f"proposal {body.proposal}: the sponsors must be distinct, the lead first")
    if me not in keys:
        raise ProposalError(f"proposal {body.proposal} does not name this node among its sponsors")
    numbers = [v.number for v in body.versions]
    if numbers != list(range(1, len(numbers) + 1)):
        raise ProposalError(f"proposal {body.proposal}: versions 1 to {len(numbers)} expected in order")
    contents = {v.number: _checked_content(body.proposal, v) for v in body.versions}
    for version in body.versions:
        if version.author != body.lead:
            raise ProposalError(f"proposal {body.proposal} version {version.number} is not the lead's")
    for signature in body.signatures:
        if signature.signer not in keys or signature.version not in contents or not verify_signature(
                signature.signer, signature.signature, body.proposal, signature.version, contents[signature.version]):
            raise ProposalError(f"proposal {body.proposal}: a signature on version {signature.version} does not verify "
                                "with its sponsor's key")
    for comment in body.comments:
        if comment.author not in keys or comment.version not in contents:
            raise ProposalError(f"proposal {body.proposal}: comment {comment.id} is not a sponsor's on a version it has")
    exists = conn.execute(select(proposal_rows.c.id).where(proposal_rows.c.id == body.proposal)).first() is not None
    if not exists:
        now = _now()
        conn.execute(insert(proposal_rows).values(
            id=body.proposal, lead=body.lead, status="draft", current_version=len(numbers), revision=0, created_at=now,
            updated_at=now, note=""))
        known_versions: set[int] = set()
        known_sponsors: set[str] = set()
        known_comments: set[str] = set()
        known_signatures: set[tuple[int, str]] = set()
        proposal = None
    else:
        proposal = load(conn, body.proposal)
        _from_lead(proposal, sender, received)
        if proposal.status != "draft":
            raise ProposalError(f"proposal {proposal.id} is {proposal.status} here; a share comes before submission")
        for version in proposal.versions:
            if version.number not in contents or canonical(version.content) != canonical(contents[version.number]):
                raise ProposalError(f"proposal {proposal.id}: version {version.number} differs from the one held here")
        known_versions = {v.number for v in proposal.versions}
        known_sponsors = {s.key for s in proposal.sponsors}
        known_comments = {c.id for c in proposal.comments}
        known_signatures = {(s.version, s.signer) for s in proposal.signatures}
    for sponsor in body.sponsors:
        if sponsor.key not in known_sponsors:
            _add_sponsor(conn, body.proposal, sponsor.key, sponsor.name)
    for version in body.versions:
        if version.number not in known_versions:
            _add_version(conn, body.proposal, version.number, contents[version.number], version.author, version.created_at)
    for comment in body.comments:
        if comment.id not in known_comments:
            _add_comment(conn, body.proposal, Comment(comment.id, comment.version, comment.author, comment.text, comment.created_at))
    for signature in body.signatures:
        if (signature.version, signature.signer) not in known_signatures:
            _add_signature(conn, body.proposal, Signature(signature.version, signature.signer, signature.signature, signature.signed_at))
    if proposal is not None:
        _change(conn, proposal, current_version=len(numbers))
    _event(conn, body.proposal, "shared" if proposal is None else "updated", sender,
           f"by {received.message.partner}: {len(numbers)} versions, {len(keys)} sponsors", received.message.id)


def _take_revision(conn: Connection, received: Received) -> None:
    metadata.create_all(conn)
    body: ReviseMessage = _parse(ReviseMessage, received)
    proposal = _held(conn, body.proposal)
    _from_lead(proposal, received.header.sender, received)
    if proposal.status != "draft":
        raise ProposalError(f"proposal {proposal.id} is {proposal.status} here; only a draft is revised")
    if body.version.number != proposal.current_version + 1 or body.version.author != proposal.lead:
        raise ProposalError(f"proposal {proposal.id}: version {proposal.current_version + 1} by the lead expected, "
                            f"not version {body.version.number}")
    content = _checked_content(proposal.id, body.version)
    _add_version(conn, proposal.id, body.version.number, content, proposal.lead, received.header.created)
    _change(conn, proposal, current_version=body.version.number)
    _event(conn, proposal.id, "revised", received.header.sender, f"version {body.version.number}", received.message.id)


def _take_comment(conn: Connection, received: Received) -> None:
    metadata.create_all(conn)
    body: CommentMessage = _parse(CommentMessage, received)
    proposal = _held(conn, body.proposal)
    _from_sponsor(proposal, received.header.sender, received, "comment")
    proposal.version(body.comment.version)
    if any(c.id == body.comment.id for c in proposal.comments):
        raise ProposalError(f"comment {body.comment.id} on proposal {proposal.id} is held already")
    _add_comment(conn, proposal.id, Comment(body.comment.id, body.comment.version, received.header.sender, body.comment.text,
                                            received.header.created))
    _change(conn, proposal)
    _event(conn, proposal.id, "commented", received.header.sender, f"on version {body.comment.version}", received.message.id)


def _take_signature(conn: Connection, received: Received) -> None:
    metadata.create_all(conn)
    body: SignMessage = _parse(SignMessage, received)
    proposal = _held(conn, body.proposal)
    signer = received.header.sender
    _from_sponsor(proposal, signer, received, "signature")
    if proposal.status != "draft":
        raise ProposalError(f"proposal {proposal.id} is {proposal.status} here; signatures are taken on a draft")
    version = proposal.version(body.version)
    if not verify_signature(signer, body.signature, proposal.id, version.number, version.content):
        raise ProposalError(f"{received.message.partner}'s signature does not verify over version {version.number} "
                            f"of proposal {proposal.id} as held here")
    if signer in proposal.signers(version.number):
        return  # the same signature sent again: held already
    _add_signature(conn, proposal.id, Signature(version.number, signer, body.signature, received.header.created))
    _change(conn, proposal)
    _event(conn, proposal.id, "signed", signer, f"version {version.number}", received.message.id)


def _take_submission(conn: Connection, received: Received) -> None:
    metadata.create_all(conn)
    body: SubmitMessage = _parse(SubmitMessage, received)
    proposal = _held(conn, body.proposal)
    _from_lead(proposal, received.header.sender, received)
    if proposal.status != "draft":
        raise ProposalError(f"proposal {proposal.id} is {proposal.status} here; only a draft is submitted")
    if body.version != proposal.current_version:
        raise ProposalError(f"proposal {proposal.id}: version {body.version} was submitted, but version "
                            f"{proposal.current_version} is the newest here (a revision has not arrived?)")
    version = proposal.current
    held = {(s.version, s.signer) for s in proposal.signatures}
    for signature in body.signatures:
        if signature.version != version.number or not proposal.is_sponsor(signature.signer) or not verify_signature(
                signature.signer, signature.signature, proposal.id, version.number, version.content):
            raise ProposalError(f"proposal {proposal.id}: a signature submitted does not verify over version "
                                f"{version.number} with a sponsor's key")
        if (signature.version, signature.signer) not in held:
            _add_signature(conn, proposal.id, Signature(signature.version, signature.signer, signature.signature, signature.signed_at))
    signed = {s.signer for s in body.signatures} | proposal.signers(version.number)
    if missing := [s.name for s in proposal.sponsors if s.key not in signed]:
        raise ProposalError(f"proposal {proposal.id} was submitted without the signature of {', '.join(missing)}")
    _change(conn, proposal, status="submitted", submitted_version=version.number)
    _event(conn, proposal.id, "submitted", received.header.sender, f"version {version.number}", received.message.id)


def _closing(status: str, allowed: tuple[str, ...]) -> Handler:
    def take(conn: Connection, received: Received) -> None:
        metadata.create_all(conn)
        body: CloseMessage = _parse(CloseMessage, received)
        proposal = _held(conn, body.proposal)
        _from_lead(proposal, received.header.sender, received)
        if proposal.status not in allowed:
            raise ProposalError(f"proposal {proposal.id} is {proposal.status} here; it cannot become {status}")
        _change(conn, proposal, status=status, note=body.note)
        _event(conn, proposal.id, status, received.header.sender, body.note, received.message.id)

    return take


def handlers() -> dict[str, Handler]:
    """The handler of each proposal message type (see vigil.handlers)."""
    return {
        SHARE: _take_share,
        REVISE: _take_revision,
        COMMENT: _take_comment,
        SIGN: _take_signature,
        SUBMIT: _take_submission,
        WITHDRAW: _closing("withdrawn", ("draft", "submitted")),
        REJECT: _closing("rejected", ("submitted",)),
    }

