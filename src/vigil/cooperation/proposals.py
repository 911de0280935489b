"""Joint designation proposals: two or more states prepare a proposal to add a
group or a person to a UN sanctions list, and follow it to the outcome.

A proposal is a draft structured like a UN listing (``Draft``, see
``vigil.cooperation.proposal_drafts``). The node that drafts it is the lead
sponsor and holds the pen: it alone revises the draft, shares it with
co-sponsors, submits it to the committee and records the outcome (rejected)
or withdraws it. Every sponsor comments and signs. Every revision is a new
version; nothing is overwritten.

A signature covers one version: an Ed25519 signature by the sponsor node's key
over the canonical JSON of ``{"format", "proposal", "version", "content"}``
(``signed_document``). A proposal is submitted only when every sponsor has
signed its current version. A proposal with a single sponsor may be
submitted: a member state may propose a listing alone, co-sponsorship is
support, not a requirement.

Sponsors are known by their signing keys, the same on every node; their names
are what each node calls its partners. What a sponsor does is sent to the
others as an exchange message (TLP:AMBER); what a node does with the messages
it receives is in ``vigil.cooperation.proposal_messages``. Linking to a list
entry (``listed``) happens on each node when it imports a list version: see
``vigil.cooperation.listing``.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from vigil.cooperation.proposal_drafts import TEXT_MAX, Draft, ProposalError
from vigil.cooperation.proposal_tables import comments as comment_rows
from vigil.cooperation.proposal_tables import events as event_rows
from vigil.cooperation.proposal_tables import proposals as proposal_rows
from vigil.cooperation.proposal_tables import signatures as signature_rows
from vigil.cooperation.proposal_tables import sponsors as sponsor_rows
from vigil.cooperation.proposal_tables import versions as version_rows
from vigil.cooperation.tables import ensure
from vigil.exchange.envelope import Envelope, canonical
from vigil.exchange.identity import NodeKeys, PublicIdentity
from vigil.exchange.mailbox import Mailbox
from vigil.exchange.tables import node_keys, partners
from vigil.store.store import as_utc

STATUSES = ("draft", "submitted", "listed", "rejected", "withdrawn")
TLP = "AMBER"
SIGNED_FORMAT = "vigil-proposal-version/1"
BODY_FORMAT = "vigil-proposal/1"
MAX_SPONSORS = 64

SHARE = "proposal.share"
REVISE = "proposal.revise"
COMMENT = "proposal.comment"
SIGN = "proposal.sign"
SUBMIT = "proposal.submit"
WITHDRAW = "proposal.withdraw"
REJECT = "proposal.reject"
TYPES = (SHARE, REVISE, COMMENT, SIGN, SUBMIT, WITHDRAW, REJECT)


# -- signatures --------------------------------------------------------------------------------------------------------


def signed_document(proposal_id: str, number: int, content: dict[str, Any]) -> bytes:
    """What a sponsor's signature on a version covers."""
    return canonical({"format": SIGNED_FORMAT, "proposal": proposal_id, "version": number, "content": content})


def sign_version(keys: NodeKeys, proposal_id: str, number: int, content: dict[str, Any]) -> str:
    return base64.b64encode(keys.signing.sign(signed_document(proposal_id, number, content))).decode()


def verify_signature(signer: str, signature: str, proposal_id: str, number: int, content: dict[str, Any]) -> bool:
    """Whether ``signature`` is the key ``signer``'s over that version (the
    partner's ``PublicIdentity.verifier()``; a co-sponsor need not be a partner)."""
    return PublicIdentity("", signer, "").signed(signature, signed_document(proposal_id, number, content))


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


def utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")  # the envelopes' precision: comments from both sides sort in order


def this_node(conn: Connection) -> tuple[str, str]:
    """This node's signing key and name."""
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
    me, my_name = this_node(conn)
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


def load_held(conn: Connection, proposal_id: str) -> Proposal:
    """A proposal a message names, which this node must hold already."""
    if conn.execute(select(proposal_rows.c.id).where(proposal_rows.c.id == proposal_id)).first() is None:
        raise ProposalError(f"no proposal {proposal_id} here: the lead sponsor must share it with this node first")
    return load(conn, proposal_id)


def add_event(conn: Connection, proposal_id: str, event: str, actor: str, detail: str = "", message_id: str = "") -> None:
    conn.execute(insert(event_rows).values(proposal_id=proposal_id, at=utc_now(), event=event, actor=actor, detail=detail,
                                           message_id=message_id))


def change(conn: Connection, proposal: Proposal, **values: Any) -> None:
    """Update a proposal read at ``proposal.revision``; refused if it changed since."""
    done = conn.execute(
        update(proposal_rows)
        .where(proposal_rows.c.id == proposal.id, proposal_rows.c.revision == proposal.revision)
        .values(revision=proposal.revision + 1, updated_at=utc_now(), **values)
    )
    if done.rowcount != 1:
        raise ProposalError(f"proposal {proposal.id} changed while this was being done; look again and retry")


def add_sponsor(conn: Connection, proposal_id: str, key: str, name: str) -> None:
    position = len(list(conn.scalars(select(sponsor_rows.c.key).where(sponsor_rows.c.proposal_id == proposal_id))))
    conn.execute(insert(sponsor_rows).values(proposal_id=proposal_id, key=key, name=name, position=position, added_at=utc_now()))


def add_version(conn: Connection, proposal_id: str, number: int, content: dict[str, Any], author: str, created_at: str) -> None:
    conn.execute(insert(version_rows).values(proposal_id=proposal_id, number=number, content=canonical(content).decode(),
                                             author=author, created_at=created_at))


def add_comment(conn: Connection, proposal_id: str, comment: Comment) -> None:
    conn.execute(insert(comment_rows).values(id=comment.id, proposal_id=proposal_id, version=comment.version,
                                             author=comment.author, text=comment.text, created_at=comment.created_at))


def add_signature(conn: Connection, proposal_id: str, signature: Signature) -> None:
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
    change(conn, proposal, status="listed", listed_as=json.dumps(listed_as, ensure_ascii=False, sort_keys=True))
    detail = (f"listed as {listed_as['reference']} on {listed_as['listed_on']} ({listed_as['source']} list version "
              f"{listed_as['version']} of {listed_as['published_on']}, score {listed_as['score']:.2f})")
    add_event(conn, proposal_id, "listed", "", detail)


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
        ensure(self.engine)

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
        now = utc_now()
        with self.engine.begin() as conn:
            me, my_name = this_node(conn)
            conn.execute(insert(proposal_rows).values(
                id=proposal_id, lead=me, status="draft", current_version=1, revision=0, created_at=now, updated_at=now, note=""))
            add_sponsor(conn, proposal_id, me, my_name)
            add_version(conn, proposal_id, 1, draft.content(), me, _iso(now))
            add_event(conn, proposal_id, "created", me, f"version 1: {draft.kind} {draft.names[0]!r}, regime {draft.regime}")
        return self.get(proposal_id)

    def revise(self, keys: NodeKeys, ref: str, draft: Draft) -> Outcome:
        """A new version of the draft (the lead only, before submission); earlier signatures stay with their versions."""
        proposal = self._lead_only(self.get(ref), "revises", "draft")
        if canonical(draft.content()) == canonical(proposal.current.content):
            raise ProposalError(f"the draft is the same as version {proposal.current_version} of proposal {proposal.id}")
        number = proposal.current_version + 1
        created = _iso(utc_now())
        body = {"version": {"number": number, "content": draft.content(), "author": proposal.me, "created_at": created}}

        def write(conn: Connection, message_id: str) -> None:
            add_version(conn, proposal.id, number, draft.content(), proposal.me, created)
            change(conn, proposal, current_version=number)
            add_event(conn, proposal.id, "revised", proposal.me, f"version {number}", message_id)

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
                add_sponsor(conn, proposal.id, key, partner.name)
            change(conn, proposal)
            add_event(conn, proposal.id, "shared", proposal.me, f"with {partner.name}" + ("" if new else " again"), message_id)

        return self._tell(keys, proposal, SHARE, body, write, sponsors)

    def comment(self, keys: NodeKeys, ref: str, text: str) -> Outcome:
        proposal = self.get(ref)
        text = text.strip()
        if not text:
            raise ProposalError("the comment is empty")
        if len(text) > TEXT_MAX:
            raise ProposalError(f"the comment is longer than {TEXT_MAX:,} characters")
        comment = Comment(str(uuid.uuid4()), proposal.current_version, proposal.me, text, _iso(utc_now()))
        body = {"comment": {"id": comment.id, "version": comment.version, "text": comment.text}}

        def write(conn: Connection, message_id: str) -> None:
            add_comment(conn, proposal.id, comment)
            change(conn, proposal)
            add_event(conn, proposal.id, "commented", proposal.me, f"on version {comment.version}", message_id)

        return self._tell(keys, proposal, COMMENT, body, write)

    def sign(self, keys: NodeKeys, ref: str) -> Outcome:
        """Sign the current version with this node's key; signing again sends the same signature again."""
        proposal = self.get(ref)
        if proposal.status != "draft":
            raise ProposalError(f"proposal {proposal.id} is {proposal.status}; only a draft is signed")
        if keys.public.signing_public != proposal.me:
            raise ProposalError("the keys given are not this node's")
        number = proposal.current_version
        signature = Signature(number, proposal.me, sign_version(keys, proposal.id, number, proposal.current.content), _iso(utc_now()))
        again = proposal.me in proposal.signers(number)
        body = {"version": number, "signature": signature.signature}

        def write(conn: Connection, message_id: str) -> None:
            if not again:
                add_signature(conn, proposal.id, signature)
            change(conn, proposal)
            add_event(conn, proposal.id, "signed", proposal.me, f"version {number}" + (" (sent again)" if again else ""), message_id)

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
            change(conn, proposal, status="submitted", submitted_version=number)
            add_event(conn, proposal.id, "submitted", proposal.me, f"version {number}, signed by every sponsor ({len(signed)})", message_id)

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
            change(conn, proposal, status=status, note=note)
            add_event(conn, proposal.id, status, proposal.me, note, message_id)

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
