"""Cooperation with partner agencies over HTTP (API keys with the exchange
permission): agreements, incidents with their deadlines, pings, and joint
designation proposals. Each answer is what the matching command prints with
``--json``; an act that sends a message also names it and says how its
delivery went."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Path
from pydantic import Field

from vigil.api.errors import field_error
from vigil.api.schemas import Strict, Text
from vigil.api.service import Service, service
from vigil.cooperation.agreements import Agreements, CooperationError, WorkingHours
from vigil.cooperation.clock import parse_duration
from vigil.cooperation.incident_bodies import UUID, Content, Details, read_content
from vigil.cooperation.incidents import Incidents
from vigil.cooperation.pings import Pings
from vigil.cooperation.proposal_drafts import TEXT_MAX, Draft, ProposalError
from vigil.cooperation.proposals import Outcome, Proposals
from vigil.exchange import queue
from vigil.exchange.envelope import Envelope
from vigil.exchange.identity import NodeKeys
from vigil.exchange.mailbox import Mailbox
from vigil.exchange.node import NodeError
from vigil.exchange.transport import deliver_pending

router = APIRouter(tags=["cooperation"])

T = TypeVar("T")
C = TypeVar("C", bound=Content)

Category = Literal["ict", "air", "sea", "other"]  # agreements.CATEGORIES
Severity = Literal["low", "medium", "high", "critical"]  # incidents.SEVERITIES
Tlp = Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]  # envelope.TLP
# A partner's name, as this node calls it.
PartnerName = Annotated[Text, Field(min_length=1, max_length=100)]
# Required text must hold something besides white space: a title or a contact on one line, a note on any number.
Line = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
Said = r"\S"
LONGEST = timedelta(days=366)  # a service level beyond a year is no service level (and deadlines stay computable)
Duration = Annotated[str, Field(max_length=40, description="A duration up to 366d: 30m, 4h, 7d, 1w or 1d12h.")]
Body = Annotated[str | dict[str, Any], Field(description="Text; or JSON with text, indicators (STIX 2.1 objects) and attachments "
                                                        "({name, media_type, data in base64}); or a STIX 2.1 bundle.")]
IncidentId = Annotated[str, Path(pattern=UUID, description="The incident's id: its notification's message id.")]
ProposalId = Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{4,36}$", description="The proposal's id or an unambiguous start of it.")]
PartnerPath = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$", description="A partner's name.")]


# -- the node's exchange, refusals, delivery -----------------------------------------------------------------------------


def _exchange(svc: Service) -> tuple[Mailbox, NodeKeys]:
    """The node's mailbox and open keys; 409 naming why when its exchange is off."""
    try:
        return svc.exchange.mailbox, svc.exchange.required_keys()
    except NodeError as error:
        raise field_error(409, "request", str(error)) from None


def _refused(call: Callable[[], T], field: str, partner: str = "partner") -> T:
    """``call``'s result, or its refusal as an HTTP error: 404 for an incident,
    proposal or partner that is not here (the partner named as ``partner``), 409 for
    what the state of ``field`` does not allow."""
    try:
        return call()
    except NodeError as error:
        raise field_error(404 if str(error).startswith("no partner") else 409, partner, str(error)) from None
    except (CooperationError, ProposalError) as error:
        raise field_error(404 if str(error).startswith(("no incident", "no proposal")) else 409, field, str(error)) from None
    except ValueError as error:  # an envelope that cannot be sealed
        raise field_error(422, field, str(error)) from None


def _sent(svc: Service, keys: NodeKeys, envelope: Envelope) -> dict[str, Any]:
    """Deliver the message to its recipients now (or leave it queued), and say so."""
    mailbox = svc.exchange.mailbox
    report = deliver_pending(mailbox, keys, queue.recipients(mailbox, envelope.header.id))
    return {"message": {"id": envelope.header.id, "type": envelope.header.type, "tlp": envelope.header.tlp}, "delivery": report}


# -- agreements ----------------------------------------------------------------------------------------------------------


class NewAgreement(Strict):
    partner: PartnerName
    category: Category
    ack: Annotated[Duration, Field(description="Acknowledge within, e.g. 4h.")]
    respond: Annotated[Duration, Field(description="Respond within, e.g. 24h.")]
    resolve: Annotated[Duration | None, Field(description="Resolve within, e.g. 7d.")] = None
    keep_in_loop: Annotated[Duration | None, Field(description="An update at least this often once responded, e.g. 1d.")] = None
    hours: Annotated[Text | None, Field(
        max_length=200, description='Count working hours only: "Mon-Fri 09:00-18:00 Europe/Moscow" '
                                    "(default: calendar time).")] = None
    escalation: Annotated[list[Annotated[str, Field(max_length=200, pattern=Line)]], Field(
        max_length=10, description="Escalation contacts, first level first.")] = []


def _duration(value: str, field: str) -> timedelta:
    try:
        duration: timedelta | None = parse_duration(value)
    except ValueError as error:
        raise field_error(422, field, str(error)) from None
    except OverflowError:  # more days than a timedelta holds
        duration = None
    if duration is None or duration > LONGEST:
        raise field_error(422, field, f"{value!r} is longer than {LONGEST.days} days")
    return duration


def _hours(text: str | None) -> WorkingHours | None:
    try:
        return WorkingHours.parse(text) if text is not None else None
    except CooperationError as error:
        raise field_error(422, "hours", str(error)) from None


# What Agreements.add refuses, by the start of its reason: the field at fault.
_AGREEMENT_FIELDS = (("the response", "respond"), ("the resolution", "resolve"))


@router.get("/agreements", summary="The agreements with every partner")
def list_agreements(svc: Service = Depends(service)) -> list[dict[str, Any]]:
    mailbox, _ = _exchange(svc)
    return [a.to_dict() for a in Agreements(mailbox.node).all()]


@router.post("/agreements", status_code=201, summary="Agree service levels with a partner for a category (replacing any before)")
def add_agreement(request: NewAgreement, svc: Service = Depends(service)) -> dict[str, Any]:
    mailbox, _ = _exchange(svc)
    ack, respond = _duration(request.ack, "ack"), _duration(request.respond, "respond")
    resolve = _duration(request.resolve, "resolve") if request.resolve is not None else None
    keep_in_loop = _duration(request.keep_in_loop, "keep_in_loop") if request.keep_in_loop is not None else None
    hours = _hours(request.hours)
    try:
        agreement = Agreements(mailbox.node).add(
            request.partner, request.category, ack, respond, resolve, keep_in_loop, hours, request.escalation)
    except NodeError as error:
        raise field_error(404, "partner", str(error)) from None
    except CooperationError as error:
        field = next((name for start, name in _AGREEMENT_FIELDS if str(error).startswith(start)), "body")
        raise field_error(422, field, str(error)) from None
    return agreement.to_dict()


# -- incidents -----------------------------------------------------------------------------------------------------------


def _content(body: str | dict[str, Any], model: type[C]) -> C:
    """The body as `vigil incident` reads a --body file."""
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    try:
        return read_content(data, "body", model)
    except CooperationError as error:
        raise field_error(422, "body", re.sub(r"^(body: )+", "", str(error))) from None


def _incident(svc: Service, keys: NodeKeys, incidents: Incidents, incident_id: str, envelope: Envelope) -> dict[str, Any]:
    """The incident after a step (and after delivering its message: the answer may carry the partner's next)."""
    sent = _sent(svc, keys, envelope)
    return {"incident": incidents.get(incident_id).to_dict(), **sent}


class Notification(Strict):
    to: PartnerName
    category: Category
    severity: Severity
    title: Annotated[str, Field(max_length=200, pattern=Line)]
    body: Body
    tlp: Annotated[Tlp, Field(description="TLP 2.0 marking of the incident's messages.")] = "AMBER"


class Acknowledgement(Strict):
    note: Annotated[str, Field(max_length=10_000)] = ""


class Answer(Strict):
    body: Body


class Closing(Strict):
    note: Annotated[str, Field(max_length=10_000, pattern=Said, description="The closing note; the partner's node countersigns.")]


@router.get("/incidents", summary="Incidents sent and received, with deadlines and what is overdue")
def list_incidents(svc: Service = Depends(service)) -> list[dict[str, Any]]:
    mailbox, _ = _exchange(svc)
    return [i.to_dict() for i in Incidents(mailbox).all()]


@router.post("/incidents/check", summary="Raise reminders for overdue steps and escalate those still overdue")
def check_incidents(svc: Service = Depends(service)) -> list[dict[str, Any]]:
    mailbox, _ = _exchange(svc)
    return [r.to_dict() for r in Incidents(mailbox).check()]


@router.get("/incidents/{incident_id}", summary="An incident and its timeline, each step with the message that proves it")
def show_incident(incident_id: IncidentId, svc: Service = Depends(service)) -> dict[str, Any]:
    mailbox, _ = _exchange(svc)
    incidents = Incidents(mailbox)
    incident, events = _refused(lambda: (incidents.get(incident_id), incidents.timeline(incident_id)), "incident_id")
    return {**incident.to_dict(), "timeline": [e.to_dict() for e in events]}


@router.post("/incidents", status_code=201, summary="Notify a partner of an incident; its id is the notification's")
def notify_incident(request: Notification, svc: Service = Depends(service)) -> dict[str, Any]:
    mailbox, keys = _exchange(svc)
    details = _content(request.body, Details)
    incidents = Incidents(mailbox)
    envelope = _refused(lambda: incidents.notify(keys, request.to, request.category, request.severity, request.title, details,
                                                 request.tlp), "category", partner="to")
    return _incident(svc, keys, incidents, envelope.header.id, envelope)


@router.post("/incidents/{incident_id}/ack", status_code=201, summary="Acknowledge an incident a partner notified")
def ack_incident(incident_id: IncidentId, request: Acknowledgement, svc: Service = Depends(service)) -> dict[str, Any]:
    mailbox, keys = _exchange(svc)
    incidents = Incidents(mailbox)
    envelope = _refused(lambda: incidents.ack(keys, incident_id, request.note), "incident_id")
    return _incident(svc, keys, incidents, incident_id, envelope)


@router.post("/incidents/{incident_id}/close", status_code=201, summary="Close an incident with a note")
def close_incident(incident_id: IncidentId, request: Closing, svc: Service = Depends(service)) -> dict[str, Any]:
    mailbox, keys = _exchange(svc)
    incidents = Incidents(mailbox)
    envelope = _refused(lambda: incidents.close(keys, incident_id, request.note), "incident_id")
    return _incident(svc, keys, incidents, incident_id, envelope)


@router.post(
    "/incidents/{incident_id}/{step}", status_code=201,
    summary="Respond to an incident a partner notified, or consult the partner once it is responded to",
)
def answer_incident(
    incident_id: IncidentId, step: Literal["respond", "consult"], request: Answer, svc: Service = Depends(service)
) -> dict[str, Any]:
    mailbox, keys = _exchange(svc)
    content = _content(request.body, Content)
    incidents = Incidents(mailbox)
    act = incidents.respond if step == "respond" else incidents.consult
    envelope = _refused(lambda: act(keys, incident_id, content), "incident_id")
    return _incident(svc, keys, incidents, incident_id, envelope)


# -- pings ---------------------------------------------------------------------------------------------------------------


@router.get("/pings/report", summary="For each partner: pings sent, answered in time, late, unanswered")
def ping_report(svc: Service = Depends(service)) -> list[dict[str, Any]]:
    mailbox, _ = _exchange(svc)
    return [r.to_dict() for r in Pings(mailbox).report()]


@router.post("/pings/{partner}", status_code=201, summary="Send a signed ping; the partner's node answers it by itself")
def ping(partner: PartnerPath, svc: Service = Depends(service)) -> dict[str, Any]:
    mailbox, keys = _exchange(svc)
    pings = Pings(mailbox)
    envelope = _refused(lambda: pings.ping(keys, partner), "partner")
    return {"partner": partner, **_sent(svc, keys, envelope)}


# -- proposals -----------------------------------------------------------------------------------------------------------


def _told(svc: Service, keys: NodeKeys, proposals: Proposals, outcome: Outcome) -> dict[str, Any]:
    """The proposal after an act, with the message telling the co-sponsors (none when nobody is told)."""
    sent = _sent(svc, keys, outcome.envelope) if outcome.envelope is not None else {"message": None, "delivery": None}
    return {"proposal": proposals.get(outcome.proposal.id).to_dict(), **sent, "unreached": list(outcome.unreached)}


class Sharing(Strict):
    partner: Annotated[PartnerName, Field(description="The partner to make a co-sponsor.")]


class ProposalComment(Strict):
    text: Annotated[str, Field(max_length=TEXT_MAX, pattern=Said)]


class Withdrawal(Strict):
    note: Annotated[str, Field(max_length=2_000, description="Why.")] = ""


class Rejection(Strict):
    note: Annotated[str, Field(max_length=2_000, pattern=Said, description="What the committee answered.")]


@router.get("/proposals", summary="The proposals this node holds: status, version, sponsors, signatures, listing")
def list_proposals(svc: Service = Depends(service)) -> list[dict[str, Any]]:
    mailbox, _ = _exchange(svc)
    return [p.summary() for p in Proposals(mailbox).all()]


@router.post("/proposals", status_code=201, summary="Draft a proposal led by this node (version 1)")
def create_proposal(draft: Draft, svc: Service = Depends(service)) -> dict[str, Any]:
    mailbox, _ = _exchange(svc)
    return _refused(lambda: Proposals(mailbox).create(draft), "body").to_dict()


@router.get("/proposals/{proposal_id}", summary="A proposal: its draft, sponsors, signatures, versions, comments and events")
def show_proposal(proposal_id: ProposalId, svc: Service = Depends(service)) -> dict[str, Any]:
    mailbox, _ = _exchange(svc)
    return _refused(lambda: Proposals(mailbox).get(proposal_id), "proposal_id").to_dict()


def _act(svc: Service, act: Callable[[Proposals, NodeKeys], Outcome]) -> dict[str, Any]:
    mailbox, keys = _exchange(svc)
    proposals = Proposals(mailbox)
    return _told(svc, keys, proposals, _refused(lambda: act(proposals, keys), "proposal_id"))


@router.post("/proposals/{proposal_id}/share", status_code=201, summary="Make a partner a co-sponsor and send it the proposal")
def share_proposal(proposal_id: ProposalId, request: Sharing, svc: Service = Depends(service)) -> dict[str, Any]:
    return _act(svc, lambda proposals, keys: proposals.share(keys, proposal_id, request.partner))


@router.post("/proposals/{proposal_id}/comment", status_code=201, summary="Comment on the current version")
def comment_proposal(proposal_id: ProposalId, request: ProposalComment, svc: Service = Depends(service)) -> dict[str, Any]:
    return _act(svc, lambda proposals, keys: proposals.comment(keys, proposal_id, request.text))


@router.post("/proposals/{proposal_id}/sign", status_code=201, summary="Sign the current version with this node's key")
def sign_proposal(proposal_id: ProposalId, svc: Service = Depends(service)) -> dict[str, Any]:
    return _act(svc, lambda proposals, keys: proposals.sign(keys, proposal_id))


@router.post("/proposals/{proposal_id}/submit", status_code=201,
             summary="Mark it submitted to the committee (the lead; every sponsor has signed the current version)")
def submit_proposal(proposal_id: ProposalId, svc: Service = Depends(service)) -> dict[str, Any]:
    return _act(svc, lambda proposals, keys: proposals.submit(keys, proposal_id))


@router.post("/proposals/{proposal_id}/withdraw", status_code=201, summary="Withdraw the proposal (the lead)")
def withdraw_proposal(proposal_id: ProposalId, request: Withdrawal, svc: Service = Depends(service)) -> dict[str, Any]:
    return _act(svc, lambda proposals, keys: proposals.withdraw(keys, proposal_id, request.note))


@router.post("/proposals/{proposal_id}/reject", status_code=201, summary="Record that the committee did not agree (the lead)")
def reject_proposal(proposal_id: ProposalId, request: Rejection, svc: Service = Depends(service)) -> dict[str, Any]:
    return _act(svc, lambda proposals, keys: proposals.reject(keys, proposal_id, request.note))
