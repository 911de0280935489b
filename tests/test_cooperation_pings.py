"""Points of contact tested with pings carried in bundle files: answered in
time, late, or not at all, as the reachability report shows."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from test_cooperation_incidents import (
    FRIDAY,
    Clock,
    agree,
    carry,
    make_nodes,
    raw,
    vigil,
)

from vigil.cooperation.agreements import WorkingHours
from vigil.cooperation.pings import DEFAULT_WINDOW
from vigil.exchange.envelope import EnvelopeError


@pytest.fixture
def clock() -> Clock:
    return Clock(FRIDAY)


@pytest.fixture
def nodes(tmp_path, clock):
    return make_nodes(tmp_path, clock)


def reachability(side, partner: str) -> dict:
    return next(r.to_dict() for r in side.pings.report() if r.partner == partner)


def test_a_ping_answered_in_time_and_one_never_answered(nodes, clock, tmp_path):
    a, b, c = nodes["A"], nodes["B"], nodes["C"]
    agree(a, "B", ack="1h")
    a.pings.ping(a.keys, "B")
    a.pings.ping(a.keys, "C")  # its bundle is never carried
    clock.advance(minutes=20)
    assert "ping" in carry(a, b, tmp_path)
    assert "pong" in carry(b, a, tmp_path)  # B's node answered by itself
    assert reachability(a, "B") == {
        "partner": "B", "sent": 1, "answered_in_time": 1, "late": 0, "unanswered": 0, "waiting": 0,
        "last_answer_at": (FRIDAY + timedelta(minutes=20)).isoformat()}
    assert reachability(a, "C")["waiting"] == 1  # no agreement with C: the default window
    clock.now = FRIDAY + DEFAULT_WINDOW + timedelta(minutes=1)
    assert reachability(a, "C") == {
        "partner": "C", "sent": 1, "answered_in_time": 0, "late": 0, "unanswered": 1, "waiting": 0, "last_answer_at": None}
    assert c.pings.report()[0].sent == 0


def test_a_late_answer_is_counted_late_by_the_agreed_working_hours(nodes, clock, tmp_path):
    a, b = nodes["A"], nodes["B"]
    agree(a, "B", ack="2h", hours=WorkingHours.parse("Mon-Fri 09:00-18:00 Europe/Moscow"))
    clock.now = datetime(2026, 3, 6, 14, 30, tzinfo=UTC)  # Friday 17:30 in Moscow: due Monday 10:30 there
    a.pings.ping(a.keys, "B")
    clock.now = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)  # Monday 10:00 Moscow
    assert reachability(a, "B")["waiting"] == 1
    a.pings.ping(a.keys, "B")
    clock.now = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # 11:00: the first ping is late, the second in time
    carry(a, b, tmp_path)
    carry(b, a, tmp_path)
    report = reachability(a, "B")
    assert (report["sent"], report["answered_in_time"], report["late"], report["unanswered"]) == (2, 1, 1, 0)


def test_pongs_that_answer_no_ping_of_ours_are_refused(nodes, clock, tmp_path):
    a, b, c = nodes["A"], nodes["B"], nodes["C"]
    ping = a.pings.ping(a.keys, "B")
    raw(c, "A", "pong", {"at": clock.now.isoformat(), "ping": ping.header.id})
    with pytest.raises(EnvelopeError, match="answers no ping sent from here"):  # not in reply to it
        carry(c, a, tmp_path)
    raw(b, "A", "pong", {"at": clock.now.isoformat(), "ping": str(uuid.uuid4())})
    with pytest.raises(EnvelopeError, match="answers no ping sent from here"):
        carry(b, a, tmp_path)
    raw(b, "A", "pong", {"at": clock.now.isoformat(), "ping": ping.header.id, "extra": 1})
    with pytest.raises(EnvelopeError, match="extra: Extra inputs are not permitted"):
        carry(b, a, tmp_path)
    assert reachability(a, "B")["waiting"] == 1 and reachability(a, "B")["last_answer_at"] is None


def test_vigil_ping_and_ping_report(tmp_path):
    db = {name: tmp_path / f"{name}.db" for name in "AB"}
    for name in "AB":
        vigil(db[name], "node", "init", "--name", name)
        (tmp_path / f"{name}.json").write_text(vigil(db[name], "node", "id").stdout)
    vigil(db["A"], "partner", "add", str(tmp_path / "B.json"))
    vigil(db["B"], "partner", "add", str(tmp_path / "A.json"))
    vigil(db["A"], "ping", "B", "--bundle", str(tmp_path / "ping.bundle"))
    [waiting] = json.loads(vigil(db["A"], "ping", "report", "--json").stdout)
    assert (waiting["partner"], waiting["sent"], waiting["waiting"]) == ("B", 1, 1)
    vigil(db["B"], "exchange", "import", str(tmp_path / "ping.bundle"))
    vigil(db["B"], "exchange", "export", "--to", "A", "--bundle", str(tmp_path / "pong.bundle"))
    vigil(db["A"], "exchange", "import", str(tmp_path / "pong.bundle"))
    [answered] = json.loads(vigil(db["A"], "ping", "report", "--json").stdout)
    assert (answered["answered_in_time"], answered["waiting"]) == (1, 0) and answered["last_answer_at"]
    assert "no partner named 'Z'" in vigil(db["A"], "ping", "Z", ok=False).stderr


def test_a_running_node_pings_partners_it_has_agreements_with_once_per_interval(nodes, clock):
    a = nodes["A"]
    agree(a, "B", ack="1h")
    every = timedelta(hours=24)
    assert [e.header.recipients for e in a.pings.ping_due(a.keys, every)] == [(nodes["B"].keys.public.signing_public,)]
    clock.advance(hours=23)
    assert a.pings.ping_due(a.keys, every) == []  # C has no agreement; B was pinged 23 hours ago
    clock.advance(hours=1)
    assert len(a.pings.ping_due(a.keys, every)) == 1
    assert reachability(a, "B")["sent"] == 2 and reachability(a, "C")["sent"] == 0

