"""Incidents between partner nodes, carried in bundle files: the whole course
of one, deadlines in working hours, overdue steps escalated, and every
refusal the issue names (with nothing changed)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vigil.cooperation import incidents, pings
from vigil.cooperation.agreements import Agreements, CooperationError, WorkingHours
from vigil.cooperation.clock import format_duration, parse_duration
from vigil.cooperation.incident_bodies import Content, Details, read_content
from vigil.cooperation.incidents import Incidents
from vigil.cooperation.pings import Pings
from vigil.exchange.bundle import read_bundle
from vigil.exchange.envelope import Envelope, EnvelopeError
from vigil.exchange.mailbox import Mailbox
from vigil.exchange.node import Node, NodeError
from vigil.exchange.outbound import export_bundle
from vigil.exchange.receipts import with_receipt
from vigil.handlers import all_handlers
from vigil.store.database import make_engine

PASSPHRASE = "correct-horse-battery"
FRIDAY = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)  # 13:00 in Moscow
SECRET = "Scanning of our payment gateway from 203.0.113.7 since 03:10 UTC"
INDICATOR = {
    "type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
    "created": "2026-03-06T03:10:00.000Z", "modified": "2026-03-06T03:10:00.000Z", "name": "Gateway scanner",
    "pattern": "[ipv4-addr:value = '203.0.113.7']", "pattern_type": "stix", "valid_from": "2026-03-06T03:10:00Z",
}
VIGIL = str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "vigil")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **amount: float) -> None:
        self.now += timedelta(**amount)


@dataclass
class Side:
    name: str
    mailbox: Mailbox
    incidents: Incidents
    agreements: Agreements
    pings: Pings

    @property
    def keys(self):
        return self.mailbox.node.keys(PASSPHRASE)


def make_nodes(tmp_path: Path, clock: Clock, names: str = "ABC") -> dict[str, Side]:
    """Nodes in their own SQLite files, A partnered with each of the others, as `vigil` wires them but on ``clock``."""
    ours = {**incidents.handlers(clock), **pings.handlers(clock)}
    handlers = {**all_handlers(), **{type: with_receipt(handler) for type, handler in ours.items()}}
    made = {}
    for name in names:
        node = Node(make_engine(f"sqlite:///{tmp_path / (name + '.db')}", serialized=True))
        node.init(PASSPHRASE, name)
        mailbox = Mailbox(node, handlers)
        made[name] = Side(name, mailbox, Incidents(mailbox, clock), Agreements(node, clock), Pings(mailbox, clock))
    for other in names[1:]:
        made["A"].mailbox.node.add_partner(made[other].mailbox.node.identity())
        made[other].mailbox.node.add_partner(made["A"].mailbox.node.identity())
    return made


@pytest.fixture
def clock() -> Clock:
    return Clock(FRIDAY)


@pytest.fixture
def nodes(tmp_path, clock) -> dict[str, Side]:
    return make_nodes(tmp_path, clock)


def carry(src: Side, dst: Side, folder: Path) -> list[str]:
    """Everything ``src`` has waiting for ``dst``, written to a bundle file and
    imported at ``dst``: the types received; refusals raised together at the end."""
    path = folder / f"{uuid.uuid4()}.bundle"
    export_bundle(src.mailbox, dst.name, path)
    received, refused = [], []
    for data in read_bundle(path) if path.exists() else []:
        try:
            received.append(dst.mailbox.receive(data, str(path), dst.keys).type)
        except EnvelopeError as error:
            refused.append(str(error))
    if refused:
        raise EnvelopeError("; ".join(refused))
    return received


def raw(src: Side, to: str, type: str, body: dict) -> Envelope:
    """A message sent as is, bypassing this node's own checks (as a faulty or hostile node could)."""
    return src.mailbox.send(src.keys, [to], type, json.dumps(body).encode(), "AMBER")


def agree(side: Side, partner: str, category: str = "ict", **levels) -> None:
    side.agreements.add(partner, category, parse_duration(levels.pop("ack", "4h")), parse_duration(levels.pop("respond", "24h")), **levels)


def details(text: str = SECRET) -> Details:
    return read_content(json.dumps({"text": text, "place": "Moscow", "indicators": [INDICATOR]}).encode(), "test", Details)


def steps(side: Side, incident_id: str) -> list[tuple[str, str]]:
    return [(e.kind, e.by) for e in side.incidents.timeline(incident_id)]


def test_an_ict_incident_is_notified_acknowledged_responded_consulted_and_closed(nodes, clock, tmp_path):
    a, b = nodes["A"], nodes["B"]
    agree(a, "B", keep_in_loop=parse_duration("1d"))
    agree(b, "A", keep_in_loop=parse_duration("1d"))
    incident_id = a.incidents.notify(a.keys, "B", "ict", "high", "Gateway scan", details()).header.id
    assert "incident.notify" in carry(a, b, tmp_path)
    sent, got = a.incidents.get(incident_id), b.incidents.get(incident_id)
    assert (sent.role, got.role, got.partner, got.title, got.status) == ("notifier", "recipient", "A", "Gateway scan", "notified")
    assert sent.ack_due == got.ack_due == FRIDAY + timedelta(hours=4)

    clock.advance(hours=1)
    b.incidents.ack(b.keys, incident_id)
    carry(b, a, tmp_path)
    assert a.incidents.get(incident_id).status == "acknowledged"
    clock.advance(hours=2)
    b.incidents.respond(b.keys, incident_id, read_content(b"The scanner is a hosting customer; suspended.", "test"))
    carry(b, a, tmp_path)
    assert a.incidents.get(incident_id).update_due == clock.now + timedelta(days=1)
    clock.advance(hours=5)
    a.incidents.consult(a.keys, incident_id, Content(text="Please keep its logs for us."))
    carry(a, b, tmp_path)
    clock.advance(hours=1)
    b.incidents.close(b.keys, incident_id, "Customer suspended, logs preserved.")
    assert "incident.close" in carry(b, a, tmp_path)
    assert "incident.close" in carry(a, b, tmp_path)  # A's node countersigned the close

    course = [("notified", "A"), ("acknowledged", "B"), ("responded", "B"), ("consulted", "A"), ("closed", "B"), ("close confirmed", "A")]
    for side in (a, b):
        incident = side.incidents.get(incident_id)
        assert (incident.status, incident.overdue) == ("closed", ())
        assert steps(side, incident_id) == course
        for event in side.incidents.timeline(incident_id):
            message, _ = side.mailbox.envelope(event.message_id)  # each step provable from the exchange log
            assert message.type.startswith("incident.") and event.signed_at == message.created
            assert event.late in (None, False)
    acknowledged = a.incidents.timeline(incident_id)[1]
    assert acknowledged.at == FRIDAY + timedelta(hours=1) and acknowledged.due == FRIDAY + timedelta(hours=4)
    for name in "AB":  # what the incident says travels and stays encrypted
        assert SECRET.encode() not in b"".join(f.read_bytes() for f in tmp_path.glob(f"{name}.db*"))
    _, _, body = b.mailbox.read(incident_id, b.keys)
    assert json.loads(body)["text"] == SECRET and json.loads(body)["indicators"] == [INDICATOR]


def test_an_overdue_acknowledgement_raises_a_reminder_then_escalates_contact_by_contact(nodes, clock, tmp_path):
    a, b = nodes["A"], nodes["B"]
    agree(a, "B", escalation=["duty officer +7 495 000 00 00", "head of CERT", "deputy minister"])
    agree(b, "A")
    incident_id = a.incidents.notify(a.keys, "B", "ict", "high", "Gateway scan", details()).header.id
    carry(a, b, tmp_path)
    clock.advance(hours=3, minutes=59)
    assert a.incidents.check() == [] and a.incidents.get(incident_id).overdue == ()

    clock.advance(minutes=2)
    [reminder] = a.incidents.check()
    assert (reminder.obligation, reminder.owner, reminder.level, reminder.contact) == ("ack", "B", 1, "duty officer +7 495 000 00 00")
    assert a.incidents.check() == []  # raised once
    assert a.incidents.get(incident_id).overdue == ("ack",)
    [own] = b.incidents.check()  # B sees its own acknowledgement overdue
    assert (own.obligation, own.owner) == ("ack", "B")

    clock.advance(hours=4)
    [escalation] = a.incidents.check()
    assert (escalation.level, escalation.contact) == (2, "head of CERT")
    clock.advance(hours=22)  # 30 h in: the acknowledgement at its last level, the response overdue too
    raised = {(r.obligation, r.level, r.contact) for r in a.incidents.check()}
    assert raised == {("ack", 3, "deputy minister"), ("respond", 1, "duty officer +7 495 000 00 00")}
    clock.advance(hours=40)  # 70 h: nobody left above the acknowledgement's last level; the response escalates
    assert [(r.obligation, r.level, r.contact) for r in a.incidents.check()] == [("respond", 2, "head of CERT")]

    b.incidents.ack(b.keys, incident_id)
    carry(b, a, tmp_path)
    incident = a.incidents.get(incident_id)
    assert incident.status == "acknowledged" and incident.overdue == ("respond",)
    timeline = a.incidents.timeline(incident_id)
    acknowledged = next(e for e in timeline if e.kind == "acknowledged")
    assert acknowledged.late is True and acknowledged.message_id
    assert [(e.kind, e.obligation, e.level) for e in timeline if e.kind in ("reminder", "escalation")] == [
        ("reminder", "ack", 1), ("escalation", "ack", 2), ("escalation", "ack", 3), ("reminder", "respond", 1), ("escalation", "respond", 2)]
    assert all(r.obligation == "respond" for r in a.incidents.check())


def test_working_hours_count_in_the_partners_zone_across_a_weekend(nodes, clock, tmp_path):
    moscow = WorkingHours.parse("Mon-Fri 09:00-18:00 Europe/Moscow")
    friday_4pm = datetime(2026, 3, 6, 13, 0, tzinfo=UTC)
    assert moscow.add(friday_4pm, timedelta(hours=4)) == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # Monday 11:00 Moscow
    # New York moves to summer time on Sunday 8 March: Monday's 09:00 is 13:00 UTC, not 14:00.
    new_york = WorkingHours.parse("Mon-Fri 09:00-17:00 America/New_York")
    assert new_york.add(datetime(2026, 3, 6, 21, 0, tzinfo=UTC), timedelta(hours=4)) == datetime(2026, 3, 9, 16, 0, tzinfo=UTC)
    # Sunday to Thursday weeks: Thursday 14:00 in Jerusalem (UTC+2) runs on to Sunday 09:00.
    jerusalem = WorkingHours.parse("Sun-Thu 08:00-16:00 Asia/Jerusalem")
    assert str(jerusalem) == "Sun-Thu 08:00-16:00 Asia/Jerusalem"
    assert jerusalem.add(datetime(2026, 3, 5, 12, 0, tzinfo=UTC), timedelta(hours=3)) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)

    a, b = nodes["A"], nodes["B"]
    agree(a, "B", hours=moscow)
    agree(b, "A", hours=moscow)
    clock.now = friday_4pm
    incident_id = a.incidents.notify(a.keys, "B", "ict", "high", "Gateway scan", details()).header.id
    carry(a, b, tmp_path)
    for side in (a, b):
        incident = side.incidents.get(incident_id)
        assert incident.ack_due == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
        assert incident.respond_due == datetime(2026, 3, 11, 10, 0, tzinfo=UTC)  # 2 h Fri, 9 Mon, 9 Tue, 4 Wed
    clock.now = datetime(2026, 3, 8, 20, 0, tzinfo=UTC)  # Sunday evening: a calendar 4 h has long passed
    assert a.incidents.check() == [] and a.incidents.get(incident_id).overdue == ()
    clock.now = datetime(2026, 3, 9, 7, 59, tzinfo=UTC)
    assert a.incidents.get(incident_id).overdue == ()
    clock.now = datetime(2026, 3, 9, 8, 1, tzinfo=UTC)
    assert a.incidents.get(incident_id).overdue == ("ack",)


@pytest.mark.parametrize(("spec", "problem"), [
    ("Mon-Fri 18:00-09:00 Europe/Moscow", "must end after it starts"),
    ("Mon-Fry 09:00-18:00 Europe/Moscow", "'Fry' is not a day"),
    ("Mon-Fri 09:00-18:00 Mars/Olympus", "not a time zone"),
    ("Mon-Fri 9-18 Europe/Moscow", "DAYS HH:MM-HH:MM ZONE"),
    ("Mon-Fri 09:00-25:00 Europe/Moscow", "not a time of day"),
])
def test_bad_working_hours_are_named(spec, problem):
    with pytest.raises(CooperationError, match=problem):
        WorkingHours.parse(spec)


def test_durations():
    assert [parse_duration(t) for t in ("30m", "4h", "7d", "1d12h", "1w")] == [
        timedelta(minutes=30), timedelta(hours=4), timedelta(days=7), timedelta(hours=36), timedelta(days=7)]
    assert format_duration(timedelta(hours=36)) == "1d12h"
    for bad in ("", "4", "4x", "h4", "0h", "4h 2m", "-4h"):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(bad)


def test_agreements_refuse_what_cannot_be_agreed(nodes):
    a = nodes["A"]
    with pytest.raises(CooperationError, match="'boat' is not one of"):
        agree(a, "B", "boat")
    with pytest.raises(NodeError, match="no partner named 'Z'"):
        agree(a, "Z")
    with pytest.raises(CooperationError, match="cannot be due before the acknowledgement"):
        agree(a, "B", ack="1d", respond="4h")
    assert a.agreements.all() == []
    agree(a, "B", respond="1d", hours=WorkingHours.parse("Mon-Fri 09:00-18:00 Europe/Moscow"), escalation=["duty", "head"])
    agree(a, "B", respond="2d")  # agreed again: replaced
    [agreement] = a.agreements.all()
    assert agreement.to_dict() | {"updated_at": None} == {
        "partner": "B", "category": "ict", "ack": "4h", "respond": "2d", "resolve": None, "keep_in_loop": None,
        "hours": None, "escalation": [], "updated_at": None}


def test_a_category_no_agreement_covers_is_refused_on_sending_and_on_receipt(nodes, tmp_path):
    a, b = nodes["A"], nodes["B"]
    agree(a, "B")
    agree(b, "A")
    with pytest.raises(CooperationError, match="no agreement with 'B' covers category 'air'"):
        a.incidents.notify(a.keys, "B", "air", "high", "Close pass", details())
    assert a.incidents.all() == [] and a.mailbox.outbox() == []
    agree(a, "B", "air")  # A thinks air is covered; B never agreed to it
    incident_id = a.incidents.notify(a.keys, "B", "air", "high", "Close pass", details()).header.id
    with pytest.raises(EnvelopeError, match="no agreement with 'A' covers category 'air'"):
        carry(a, b, tmp_path)
    assert b.incidents.all() == [] and b.mailbox.inbox() == []
    assert incident_id in [r["envelope_id"] for r in b.mailbox.rejections()]


def test_acknowledgements_of_unknown_incidents_or_from_partners_not_notified_are_refused(tmp_path, clock):
    nodes = make_nodes(tmp_path, clock)
    a, b, c = nodes["A"], nodes["B"], nodes["C"]
    agree(a, "B")
    agree(b, "A")
    incident_id = a.incidents.notify(a.keys, "B", "ict", "high", "Gateway scan", details()).header.id
    carry(a, b, tmp_path)
    with pytest.raises(CooperationError, match="no incident"):
        c.incidents.ack(c.keys, incident_id)
    raw(c, "A", "incident.ack", {"incident": incident_id, "at": clock.now.isoformat()})
    with pytest.raises(EnvelopeError, match="'C' was not notified of incident"):
        carry(c, a, tmp_path)
    unknown = str(uuid.uuid4())
    raw(b, "A", "incident.ack", {"incident": unknown, "at": clock.now.isoformat()})
    with pytest.raises(EnvelopeError, match=f"incident {unknown} is not known here"):
        carry(b, a, tmp_path)
    with pytest.raises(CooperationError, match="this node notified incident .*; an acknowledgement comes only from the side notified"):
        a.incidents.ack(a.keys, incident_id)
    assert a.incidents.get(incident_id).status == "notified"
    assert steps(a, incident_id) == [("notified", "A")]
    assert [m.type for m in a.mailbox.inbox() if m.type.startswith("incident.")] == []


def test_steps_out_of_order_are_refused_on_sending_and_on_receipt(nodes, clock, tmp_path):
    a, b = nodes["A"], nodes["B"]
    agree(a, "B")
    agree(b, "A")
    incident_id = a.incidents.notify(a.keys, "B", "ict", "high", "Gateway scan", details()).header.id
    carry(a, b, tmp_path)
    answer = Content(text="blocked")
    with pytest.raises(CooperationError, match="is notified; a response comes only once it is acknowledged"):
        b.incidents.respond(b.keys, incident_id, answer)
    with pytest.raises(CooperationError, match="a consultation comes only once it is responded or in consultation"):
        a.incidents.consult(a.keys, incident_id, answer)
    with pytest.raises(CooperationError, match="needs a note"):
        b.incidents.close(b.keys, incident_id, " ")
    raw(b, "A", "incident.respond", {"incident": incident_id, "at": clock.now.isoformat(), "text": "blocked"})
    with pytest.raises(EnvelopeError, match="a response comes only once it is acknowledged"):
        carry(b, a, tmp_path)
    assert (a.incidents.get(incident_id).status, b.incidents.get(incident_id).status) == ("notified", "notified")
    b.incidents.ack(b.keys, incident_id)
    carry(b, a, tmp_path)
    with pytest.raises(CooperationError, match="is acknowledged; an acknowledgement comes only once it is notified"):
        b.incidents.ack(b.keys, incident_id)
    raw(b, "A", "incident.ack", {"incident": incident_id, "at": clock.now.isoformat()})
    with pytest.raises(EnvelopeError, match="an acknowledgement comes only once it is notified"):
        carry(b, a, tmp_path)
    assert steps(a, incident_id) == steps(b, incident_id) == [("notified", "A"), ("acknowledged", "B")]


@pytest.mark.parametrize(("change", "problem"), [
    ({"title": ""}, "title: String should have at least 1 character"),
    ({"severity": "apocalyptic"}, "severity: Input should be"),
    ({"priority": 1}, "priority: Extra inputs are not permitted"),
    ({"at": "2026-03-06T10:00:00"}, "at: Input should have timezone info"),
    ({"at": "2026-03-07T10:00:00+00:00"}, "dated in the future"),
    ({"indicators": [{"type": "indicator", "spec_version": "2.1"}]}, "indicator 0 is not a valid STIX 2.1 object"),
    ({"attachments": [{"name": "log.txt", "media_type": "text/plain", "data": "not base64!"}]}, "not valid base64"),
])
def test_malformed_notifications_are_refused_on_receipt(nodes, clock, tmp_path, change, problem):
    a, b = nodes["A"], nodes["B"]
    agree(b, "A")
    body = {"category": "ict", "severity": "high", "title": "Gateway scan", "at": clock.now.isoformat(), "text": SECRET, **change}
    raw(a, "B", "incident.notify", body)
    with pytest.raises(EnvelopeError, match=problem):
        carry(a, b, tmp_path)
    assert b.incidents.all() == []


def test_body_files_are_text_json_or_stix_and_bad_ones_are_named():
    assert read_content(b"plain words\n", "f").text == "plain words"
    bundle = {"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": [INDICATOR]}
    assert read_content(json.dumps(bundle).encode(), "f").indicators == [INDICATOR]
    assert read_content(json.dumps(INDICATOR).encode(), "f").indicators == [INDICATOR]
    assert read_content(b'{"text": "t", "place": "Baltic Sea"}', "f", Details).place == "Baltic Sea"
    with pytest.raises(CooperationError, match="f: place: Extra inputs"):
        read_content(b'{"text": "t", "place": "Baltic Sea"}', "f")
    with pytest.raises(CooperationError, match="empty"):
        read_content(b"   ", "f")
    with pytest.raises(CooperationError, match="not UTF-8"):
        read_content(b"\xff\xfe", "f")


def test_a_replayed_bundle_changes_nothing(nodes, tmp_path):
    a, b = nodes["A"], nodes["B"]
    agree(a, "B")
    agree(b, "A")
    incident_id = a.incidents.notify(a.keys, "B", "ict", "high", "Gateway scan", details()).header.id
    carry(a, b, tmp_path)
    b.incidents.ack(b.keys, incident_id)
    path = tmp_path / "ack.bundle"
    export_bundle(b.mailbox, "A", path)
    for data in read_bundle(path):
        a.mailbox.receive(data, "first", a.keys)
    for data in read_bundle(path):
        with pytest.raises(EnvelopeError, match="replay"):
            a.mailbox.receive(data, "again", a.keys)
    assert steps(a, incident_id) == [("notified", "A"), ("acknowledged", "B")]


def vigil(db: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "VIGIL_PASSPHRASE": PASSPHRASE, "COLUMNS": "200"}
    done = subprocess.run([VIGIL, "--db", f"sqlite:///{db}", *args], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert (done.returncode == 0) == ok, done.stderr
    return done


def test_the_commands_carry_an_incident_to_its_close(tmp_path):
    db = {name: tmp_path / f"{name}.db" for name in "AB"}
    for name in "AB":
        vigil(db[name], "node", "init", "--name", name)
        (tmp_path / f"{name}.json").write_text(vigil(db[name], "node", "id").stdout)
    vigil(db["A"], "partner", "add", str(tmp_path / "B.json"))
    vigil(db["B"], "partner", "add", str(tmp_path / "A.json"))
    vigil(db["A"], "agreement", "add", "--partner", "B", "--category", "ict", "--ack", "4h", "--respond", "24h", "--resolve", "7d",
          "--hours", "Mon-Fri 09:00-18:00 Europe/Moscow", "--escalate", "duty officer", "--escalate", "head of CERT")
    vigil(db["B"], "agreement", "add", "--partner", "A", "--category", "ict", "--ack", "4h", "--respond", "24h")
    [agreement] = json.loads(vigil(db["A"], "agreement", "list", "--json").stdout)
    assert (agreement["hours"], agreement["escalation"], agreement["resolve"]) == ("Mon-Fri 09:00-18:00 Europe/Moscow", ["duty officer", "head of CERT"], "7d")
    assert "--ack" in vigil(db["A"], "agreement", "add", "--partner", "B", "--category", "ict", "--ack", "4x", "--respond", "1d", ok=False).stderr

    body = tmp_path / "body.txt"
    body.write_text(SECRET)
    refused = vigil(db["A"], "incident", "notify", "--to", "B", "--category", "sea", "--severity", "high", "--title", "t",
                    "--body", str(body), "--bundle", str(tmp_path / "x.bundle"), ok=False)
    assert "no agreement with 'B' covers category 'sea'" in refused.stderr and not (tmp_path / "x.bundle").exists()
    notified = vigil(db["A"], "incident", "notify", "--to", "B", "--category", "ict", "--severity", "high", "--title", "Gateway scan",
                     "--body", str(body), "--bundle", str(tmp_path / "n.bundle"))
    incident_id = notified.stdout.strip().splitlines()[-1]
    assert str(uuid.UUID(incident_id)) == incident_id
    vigil(db["B"], "exchange", "import", str(tmp_path / "n.bundle"))

    def step(name: str, *args: str) -> None:
        vigil(db[name], "incident", *args, "--bundle", str(tmp_path / "s.bundle"))
        vigil(db["B" if name == "A" else "A"], "exchange", "import", str(tmp_path / "s.bundle"))

    step("B", "ack", incident_id)
    step("B", "respond", incident_id, "--body", str(body))
    step("A", "consult", incident_id, "--body", str(body))
    step("A", "close", incident_id, "--note", "resolved together")
    vigil(db["B"], "exchange", "export", "--to", "A", "--bundle", str(tmp_path / "back.bundle"))
    vigil(db["A"], "exchange", "import", str(tmp_path / "back.bundle"))

    [listed] = json.loads(vigil(db["A"], "incident", "list", "--json").stdout)
    assert {k: listed[k] for k in ("id", "title", "category", "status", "overdue")} == {
        "id": incident_id, "title": "Gateway scan", "category": "ict", "status": "closed", "overdue": []}
    assert listed["ack_due"] and listed["respond_due"]
    shown = json.loads(vigil(db["A"], "incident", "show", incident_id, "--json").stdout)
    assert [(s["step"], s["by"]) for s in shown["timeline"]] == [
        ("notified", "A"), ("acknowledged", "B"), ("responded", "B"), ("consulted", "A"), ("closed", "A"), ("close confirmed", "B")]
    assert all(s["message_id"] and s["signed_at"] for s in shown["timeline"])
    assert "closed" in vigil(db["B"], "incident", "show", incident_id).stdout
    assert json.loads(vigil(db["A"], "incident", "check", "--json").stdout) == []
    assert "no incident 'nope'" in vigil(db["B"], "incident", "ack", "nope", ok=False).stderr


def test_over_https_on_loopback_an_incident_is_acknowledged_and_a_ping_answered(tmp_path):
    """B notifies and pings A's node under `vigil serve`; A acknowledges with the command; B collects the answers."""
    from serving import running_server

    from vigil.cooperation.clock import system_clock
    from vigil.exchange.transport import deliver_pending

    a_url = f"sqlite:///{tmp_path / 'A.db'}"
    a = Node(make_engine(a_url, serialized=True))
    a.init(PASSPHRASE, "A")
    b = make_nodes(tmp_path, Clock(system_clock()), "B")["B"]  # dated as A's served node dates
    a.add_partner(b.mailbox.node.identity())
    Agreements(a).add("B", "ict", parse_duration("4h"), parse_duration("24h"))
    with running_server(a_url, tmp_path, env={"VIGIL_PASSPHRASE": PASSPHRASE}) as server:
        b.mailbox.node.add_partner(a.identity(), address=server.url)
        agree(b, "A")
        incident_id = b.incidents.notify(b.keys, "A", "ict", "high", "Gateway scan", details()).header.id
        b.pings.ping(b.keys, "A")
        assert deliver_pending(b.mailbox, b.keys).startswith("delivered 2 to A")
        acked = vigil(tmp_path / "A.db", "incident", "ack", incident_id)
        assert "waiting for B" in acked.stdout  # B has no address at A: B collects
        deliver_pending(b.mailbox, b.keys)
        assert b.incidents.get(incident_id).status == "acknowledged"
        assert [r.answered_in_time for r in b.pings.report()] == [1]
