"""What a sponsor's node does with the proposal messages it receives (exchange
envelopes, TLP:AMBER), their bodies checked strictly:

- ``proposal.share``    lead → co-sponsors: the whole proposal (versions, comments, signatures, sponsors);
- ``proposal.revise``   lead → co-sponsors: a new version;
- ``proposal.comment``  sponsor → the other sponsors it has as partners;
- ``proposal.sign``     sponsor → the other sponsors it has as partners: its signature on a version;
- ``proposal.submit``   lead → co-sponsors: the version submitted, with every sponsor's signature on it;
- ``proposal.withdraw`` / ``proposal.reject``  lead → co-sponsors, with a note.

A node refuses (and the exchange records) a message about a proposal it does
not hold, from a node that is not a sponsor (or not the lead, for what only
the lead does), with a signature that does not verify, or that its state does
not allow.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, ValidationError
from pydantic_core import PydanticCustomError
from sqlalchemy import Connection, insert, select

from vigil.cooperation.proposal_drafts import (
    TEXT_MAX,
    Draft,
    Note,
    ProposalError,
    Strict,
    problems,
)
from vigil.cooperation.proposal_tables import proposals as proposal_rows
from vigil.cooperation.tables import ensure
from vigil.cooperation.proposals import (
    COMMENT,
    MAX_SPONSORS,
    REJECT,
    REVISE,
    SHARE,
    SIGN,
    SUBMIT,
    WITHDRAW,
    Comment,
    Proposal,
    Signature,
    add_comment,
    add_event,
    add_signature,
    add_sponsor,
    add_version,
    change,
    load,
    load_held,
    this_node,
    utc_now,
    verify_signature,
)
from vigil.exchange.bodies import Short
from vigil.exchange.envelope import canonical
from vigil.exchange.mailbox import Handler, Received


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


class _Message(Strict):
    format: Literal["vigil-proposal/1"]
    proposal: Id


class SponsorBody(Strict):
    key: Key
    name: Short


class VersionBody(Strict):
    number: Number
    content: dict[str, Any]
    author: Key
    created_at: Moment


class CommentBody(Strict):
    id: Id
    version: Number
    author: Key
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_MAX)]
    created_at: Moment


class SignatureBody(Strict):
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


class NewComment(Strict):
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
    ensure(conn)
    body: ShareMessage = _parse(ShareMessage, received)
    sender, me = received.header.sender, this_node(conn)[0]
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
        now = utc_now()
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
            add_sponsor(conn, body.proposal, sponsor.key, sponsor.name)
    for version in body.versions:
        if version.number not in known_versions:
            add_version(conn, body.proposal, version.number, contents[version.number], version.author, version.created_at)
    for comment in body.comments:
        if comment.id not in known_comments:
            add_comment(conn, body.proposal, Comment(comment.id, comment.version, comment.author, comment.text, comment.created_at))
    for signature in body.signatures:
        if (signature.version, signature.signer) not in known_signatures:
            add_signature(conn, body.proposal, Signature(signature.version, signature.signer, signature.signature, signature.signed_at))
    if proposal is not None:
        change(conn, proposal, current_version=len(numbers))
    add_event(conn, body.proposal, "shared" if proposal is None else "updated", sender,
           f"by {received.message.partner}: {len(numbers)} versions, {len(keys)} sponsors", received.message.id)


def _take_revision(conn: Connection, received: Received) -> None:
    ensure(conn)
    body: ReviseMessage = _parse(ReviseMessage, received)
    proposal = load_held(conn, body.proposal)
    _from_lead(proposal, received.header.sender, received)
    if proposal.status != "draft":
        raise ProposalError(f"proposal {proposal.id} is {proposal.status} here; only a draft is revised")
    if body.version.number != proposal.current_version + 1 or body.version.author != proposal.lead:
        raise ProposalError(f"proposal {proposal.id}: version {proposal.current_version + 1} by the lead expected, "
                            f"not version {body.version.number}")
    content = _checked_content(proposal.id, body.version)
    add_version(conn, proposal.id, body.version.number, content, proposal.lead, received.header.created)
    change(conn, proposal, current_version=body.version.number)
    add_event(conn, proposal.id, "revised", received.header.sender, f"version {body.version.number}", received.message.id)


def _take_comment(conn: Connection, received: Received) -> None:
    ensure(conn)
    body: CommentMessage = _parse(CommentMessage, received)
    proposal = load_held(conn, body.proposal)
    _from_sponsor(proposal, received.header.sender, received, "comment")
    proposal.version(body.comment.version)
    if any(c.id == body.comment.id for c in proposal.comments):
        raise ProposalError(f"comment {body.comment.id} on proposal {proposal.id} is held already")
    add_comment(conn, proposal.id, Comment(body.comment.id, body.comment.version, received.header.sender, body.comment.text,
                                            received.header.created))
    change(conn, proposal)
    add_event(conn, proposal.id, "commented", received.header.sender, f"on version {body.comment.version}", received.message.id)


def _take_signature(conn: Connection, received: Received) -> None:
    ensure(conn)
    body: SignMessage = _parse(SignMessage, received)
    proposal = load_held(conn, body.proposal)
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
    add_signature(conn, proposal.id, Signature(version.number, signer, body.signature, received.header.created))
    change(conn, proposal)
    add_event(conn, proposal.id, "signed", signer, f"version {version.number}", received.message.id)


def _take_submission(conn: Connection, received: Received) -> None:
    ensure(conn)
    body: SubmitMessage = _parse(SubmitMessage, received)
    proposal = load_held(conn, body.proposal)
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
            add_signature(conn, proposal.id, Signature(signature.version, signature.signer, signature.signature, signature.signed_at))
    signed = {s.signer for s in body.signatures} | proposal.signers(version.number)
    if missing := [s.name for s in proposal.sponsors if s.key not in signed]:
        raise ProposalError(f"proposal {proposal.id} was submitted without the signature of {', '.join(missing)}")
    change(conn, proposal, status="submitted", submitted_version=version.number)
    add_event(conn, proposal.id, "submitted", received.header.sender, f"version {version.number}", received.message.id)


def _closing(status: str, allowed: tuple[str, ...]) -> Handler:
    def take(conn: Connection, received: Received) -> None:
        ensure(conn)
        body: CloseMessage = _parse(CloseMessage, received)
        proposal = load_held(conn, body.proposal)
        _from_lead(proposal, received.header.sender, received)
        if proposal.status not in allowed:
            raise ProposalError(f"proposal {proposal.id} is {proposal.status} here; it cannot become {status}")
        change(conn, proposal, status=status, note=body.note)
        add_event(conn, proposal.id, status, received.header.sender, body.note, received.message.id)

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
