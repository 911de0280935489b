"""The partner exchange over HTTP: the inbox partner nodes deliver to (signed
by their node keys), and the node's messages for people holding an API key
with the exchange permission."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.exceptions import HTTPException
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import Field

from vigil.api.errors import field_error
from vigil.api.exchange import NodeExchange
from vigil.api.schemas import Strict, Text
from vigil.api.service import Service, service
from vigil.exchange import bodies, queue, receipts, relay, sharing
from vigil.exchange.envelope import TLP, EnvelopeError
from vigil.exchange.mailbox import Mailbox, ReplayError
from vigil.exchange.node import NodeError
from vigil.exchange.transport import INBOX, TransportError, authenticate_request, deliver_pending, sign_answer

router = APIRouter(tags=["exchange"])

MAX_ENVELOPES = 64  # per request
MessageId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$", description="A message id (a UUID).")]


def _answer(exchange: NodeExchange, request_signature: str, status: int, data: dict[str, Any]) -> Response:
    body = json.dumps(data).encode()
    headers = {}
    if exchange.keys is not None:
        headers["Vigil-Signature"] = sign_answer(exchange.keys, request_signature, status, body)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _error(exchange: NodeExchange, request_signature: str, status: int, message: str) -> Response:
    return _answer(exchange, request_signature, status, {"error": {"status": status, "message": message, "fields": []}})


def _take(exchange: NodeExchange, headers: Any, body: bytes | None, client: str, limit: int) -> Response:
    """Envelopes delivered by a partner (``body`` None: it was over ``limit``)."""
    signature = headers.get("vigil-signature", "")
    try:
        keys = exchange.required_keys()
    except NodeError as error:
        return _error(exchange, signature, 404, str(error))  # no exchange here, as far as partners can tell
    mailbox = exchange.mailbox
    if body is None:
        problem = f"the request body is larger than the limit of {limit:,} bytes"
        mailbox.refuse(client, None, problem)
        return _error(exchange, signature, 413, problem)
    try:
        partner = authenticate_request(mailbox.node, keys, headers, body)
    except TransportError as error:
        mailbox.refuse(client, None, f"request refused: {error}")
        return _error(exchange, signature, 401, str(error))
    try:
        envelopes = json.loads(body)["envelopes"]
        if not isinstance(envelopes, list) or len(envelopes) > MAX_ENVELOPES:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        problem = f'the body must be JSON {{"envelopes": [...]}} with at most {MAX_ENVELOPES} envelopes: truncated or malformed'
        mailbox.refuse(f"{client} ({partner.name})", None, problem)
        return _error(exchange, signature, 422, problem)
    results = []
    for data in envelopes:
        envelope_id = data.get("header", {}).get("id") if isinstance(data, dict) else None
        try:
            if exchange.relay and _addressed_elsewhere(data, keys.public.signing_public):
                relay.hold(mailbox, partner, data)
                results.append({"id": envelope_id, "accepted": True, "relayed": True})
                continue
            mailbox.receive(data, f"{client} ({partner.name})", keys)
            results.append({"id": envelope_id, "accepted": True})
        except ReplayError as error:
            results.append({"id": envelope_id, "accepted": False, "already_received": True, "error": str(error)})
        except EnvelopeError as error:
            results.append({"id": envelope_id, "accepted": False, "error": str(error)})
    waiting = queue.claim(mailbox, partner.name)
    queue.mark_delivered(mailbox, [e.header.id for e in waiting], partner.name, f"answer to {client}")
    held = relay.collect(mailbox, partner) if exchange.relay else []
    return _answer(exchange, signature, 200, {"results": results, "envelopes": [e.to_dict() for e in waiting] + held})


def _addressed_elsewhere(data: Any, me: str) -> bool:
    recipients = data.get("header", {}).get("recipients") if isinstance(data, dict) else None
    return isinstance(recipients, list) and me not in recipients


@router.post(
    INBOX,
    summary="Envelopes from a partner node",
    description="Signed by the sending node (headers Vigil-Node, Vigil-Date, Vigil-Signature), not by an API key. "
    "The answer is signed by this node (header Vigil-Signature) and carries what waits for the sender.",
    response_class=Response,
)
async def inbox(request: Request, svc: Service = Depends(service)) -> Response:
    client = request.client.host if request.client else "unknown"
    try:
        body: bytes | None = await request.body()
    except HTTPException as error:  # the body limit, as the body streamed in
        if error.status_code != 413:
            raise
        body = None
    return await run_in_threadpool(_take, svc.exchange, request.headers, body, client, svc.settings.max_inbox)


def _mailbox(svc: Service) -> Mailbox:
    svc.exchange.required_keys()
    return svc.exchange.mailbox


def _node_errors(call: Any) -> Any:
    try:
        return call()
    except NodeError as error:
        status = 404 if str(error).startswith(("no message", "no partner")) else 409
        raise field_error(status, "request", str(error)) from None
    except (EnvelopeError, ValueError) as error:
        raise field_error(422, "body", str(error)) from None


@router.get("/exchange/messages", summary="Messages received (in) or sent (out): their signed headers")
def list_messages(
    direction: Annotated[str, Query(pattern="^(in|out)$")] = "in",
    all_types: Annotated[bool, Query(alias="all", description="Also receipts and countersignatures.")] = False,
    svc: Service = Depends(service),
) -> list[dict[str, Any]]:
    mailbox = _node_errors(lambda: _mailbox(svc))
    messages = mailbox.inbox() if direction == "in" else mailbox.outbox()
    return [m.to_dict() for m in messages if all_types or m.type not in receipts.CONTROL]


@router.get("/exchange/messages/{message_id}", summary="A received message, opened")
def read_message(message_id: MessageId, svc: Service = Depends(service)) -> dict[str, Any]:
    mailbox = _node_errors(lambda: _mailbox(svc))
    message, envelope, content = _node_errors(lambda: mailbox.read(message_id, svc.exchange.required_keys()))
    return {
        "message": message.to_dict(), "label": envelope.header.label,
        "summary": bodies.describe(message.type, content), "body": content.decode("utf-8", "replace"),
    }


class NewMessage(Strict):
    to: Annotated[list[Annotated[Text, Field(min_length=1, max_length=100)]], Field(min_length=1, max_length=64)]
    type: Annotated[str, Field(description=f"One of: {', '.join(bodies.TYPES)}.")] = "note"
    tlp: Annotated[str, Field(description=f"TLP 2.0: {', '.join(TLP)}.")] = "AMBER"
    label: Annotated[Text, Field(max_length=100)] = ""
    body: Annotated[str | dict[str, Any], Field(description="Text (for a note) or the JSON body of the type.")]


def _content(body: str | dict[str, Any]) -> bytes:
    return body.encode() if isinstance(body, str) else json.dumps(body).encode()


def _sent(svc: Service, envelope: Any) -> dict[str, Any]:
    mailbox, keys = svc.exchange.mailbox, svc.exchange.required_keys()
    report = deliver_pending(mailbox, keys, queue.recipients(mailbox, envelope.header.id))
    return {"id": envelope.header.id, "type": envelope.header.type, "tlp": envelope.header.tlp, "delivery": report}


@router.post("/exchange/messages", status_code=201, summary="Seal a message to partners and deliver it")
def send_message(request: NewMessage, svc: Service = Depends(service)) -> dict[str, Any]:
    mailbox = _node_errors(lambda: _mailbox(svc))
    content = _node_errors(lambda: bodies.prepare(request.type, _content(request.body), request.tlp.upper()))
    envelope = _node_errors(lambda: mailbox.send(
        svc.exchange.required_keys(), request.to, request.type, content, request.tlp.upper(), request.label))
    return _sent(svc, envelope)


class Answer(Strict):
    body: str | dict[str, Any]
    tlp: str | None = None


@router.post("/exchange/messages/{message_id}/reply", status_code=201, summary="Answer a received message")
def reply_message(message_id: MessageId, request: Answer, svc: Service = Depends(service)) -> dict[str, Any]:
    mailbox = _node_errors(lambda: _mailbox(svc))
    envelope = _node_errors(lambda: sharing.reply(mailbox, svc.exchange.required_keys(), message_id, _content(request.body), request.tlp))
    return _sent(svc, envelope)


class Forward(Strict):
    to: Annotated[list[Annotated[Text, Field(min_length=1, max_length=100)]], Field(min_length=1, max_length=64)]


@router.post("/exchange/messages/{message_id}/forward", status_code=201, summary="Pass a received message on, if its TLP allows")
def forward_message(message_id: MessageId, request: Forward, svc: Service = Depends(service)) -> dict[str, Any]:
    mailbox = _node_errors(lambda: _mailbox(svc))
    envelope = _node_errors(lambda: sharing.forward(mailbox, svc.exchange.required_keys(), message_id, request.to))
    return _sent(svc, envelope)


@router.get("/exchange/outbox", summary="Sent messages per recipient: waiting, delivered, receipted")
def outbox(svc: Service = Depends(service)) -> list[dict[str, Any]]:
    return [d.to_dict() for d in queue.deliveries(_node_errors(lambda: _mailbox(svc)))]


@router.post("/exchange/deliver", summary="Deliver what waits for partners now")
def deliver(svc: Service = Depends(service)) -> dict[str, str]:
    mailbox = _node_errors(lambda: _mailbox(svc))
    return {"delivery": deliver_pending(mailbox, svc.exchange.required_keys())}


@router.get("/exchange/verify", summary="Check the log, every kept envelope, receipt and countersignature")
def verify(svc: Service = Depends(service)) -> dict[str, Any]:
    mailbox = _node_errors(lambda: _mailbox(svc))
    held, problems = receipts.verify_held(mailbox.node)
    problems = mailbox.verify_stored() + problems
    return {"ok": not problems, "problems": problems, "receipts": held}


@router.get("/exchange/partners", summary="The partner nodes, with fingerprints and addresses")
def partners(svc: Service = Depends(service)) -> list[dict[str, Any]]:
    return [p.to_dict() for p in svc.exchange.mailbox.node.partners()]
