"""Joint designation proposals: drafted by one node, shared with and signed by
another through bundle files, submitted, and linked when a real UN list that
lists the group is imported; and every refusal the issue names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import inspect

from conftest import DATA
from serving import running_server
from vigil.cooperation import listing
from vigil.cooperation.listing import LINK_THRESHOLD, link_new_entries
from vigil.cooperation.proposal_drafts import Draft, ProposalError
from vigil.cooperation.proposal_tables import proposals as proposal_rows
from vigil.cooperation.proposals import Outcome, Proposals, sign_version
from vigil.exchange.bundle import read_bundle
from vigil.exchange.envelope import Envelope, EnvelopeError, canonical
from vigil.exchange.mailbox import Mailbox
from vigil.exchange.node import Node
from vigil.exchange.outbound import dispatch
from vigil.handlers import all_handlers
from vigil.store import Store, import_path
from vigil.store.database import make_engine

PASSPHRASE = "correct-horse-battery"
VIGIL = str(Path(sys.executable).parent / "vigil")
UN_2018 = DATA / "un" / "consolidated-2018-10-29.xml"  # before ISIL-Khorasan was listed
UN_2024 = DATA / "un" / "consolidated-2024-09-26.xml"  # lists it as QDe.161 (2019-05-14)

# Spelled otherwise than the UN spells any of its names for QDe.161.
KHORASAN = {
    "kind": "organisation",
    "regime": "1267",
    "names": ["Islamic State in Khurasan", "Islamic State (Khurasan Province)", "Wilayat-e-Khorasan"],
    "reasons": "Formed in January 2015 by former TTP commanders pledging allegiance to ISIL.",
}


@pytest.fixture
def nodes(tmp_path) -> dict[str, Proposals]:
    """Nodes A, B and C in their own SQLite files; A is partner of B and of C, B and C do not know each other."""
    made = {}
    for name in "ABC":
        node = Node(make_engine(f"sqlite:///{tmp_path / (name + '.db')}", serialized=True))
        node.init(PASSPHRASE, name)
        made[name] = Proposals(Mailbox(node, all_handlers()))
    for one, other in (("A", "B"), ("B", "A"), ("A", "C"), ("C", "A")):
        made[one].mailbox.node.add_partner(made[other].mailbox.node.identity())
    return made


def keys(proposals: Proposals):
    return proposals.mailbox.node.keys(PASSPHRASE)


def carry(sender: Proposals, sent: Outcome | Envelope, receiver: Proposals, folder: Path) -> list:
    """Write the message (and whatever else waits for the partner) to a bundle file, and import it on the other side."""
    envelope = sent.envelope if isinstance(sent, Outcome) else sent
    assert envelope is not None
    path = folder / f"{uuid.uuid4()}.bundle"
    dispatch(sender.mailbox, keys(sender), envelope, path)
    return receive(receiver, path)


def receive(receiver: Proposals, path: Path) -> list:
    received = []
    for data in read_bundle(path):
        received.append(receiver.mailbox.receive(data, str(path), keys(receiver)))
    return received


def draft(**changes) -> Draft:
    return Draft.of({**KHORASAN, **changes}, "test")


def store_of(proposals: Proposals) -> Store:
    return Store(str(proposals.engine.url))


def test_drafted_shared_signed_submitted_and_linked_once_listed(nodes, tmp_path):
    a, b = nodes["A"], nodes["B"]
    proposal = a.create(draft())
    a.comment(keys(a), proposal.id, "Add the 2015 pledge date to the reasons?")  # nobody to tell yet: kept here
    shared = a.share(keys(a), proposal.id, "B")
    carry(a, shared, b, tmp_path)
    held = b.get(proposal.id)  # the same id on every node
    assert held.status == "draft" and held.current.content == proposal.current.content
    assert [(s.name, s.lead) for s in held.sponsors] == [("A", True), ("B", False)]
    assert [c.text for c in held.comments] == ["Add the 2015 pledge date to the reasons?"]

    with pytest.raises(ProposalError, match="not signed by A, B"):
        a.submit(keys(a), proposal.id)
    carry(b, b.comment(keys(b), proposal.id, "Agreed; we co-sponsor."), a, tmp_path)
    carry(b, b.sign(keys(b), proposal.id), a, tmp_path)
    with pytest.raises(ProposalError, match="only the lead sponsor"):
        b.submit(keys(b), proposal.id)
    assert a.sign(keys(a), proposal.id).envelope is not None  # B is told of A's signature
    submitted = a.submit(keys(a), proposal.id)
    carry(a, submitted, b, tmp_path)  # the bundle holds A's signature, then the submission
    for node in (a, b):
        shown = node.get(proposal.id).to_dict()
        assert shown["status"] == "submitted" and shown["submitted_version"] == 1
        assert {s["name"]: s["signed"] for s in shown["sponsors"]} == {"A": True, "B": True}
        assert [c["author"] for c in shown["comments"]] == ["A", "B"]
        assert all(s["valid"] for s in shown["signatures"])

    store = store_of(a)
    older = import_path(store, UN_2018).version
    assert link_new_entries(store, older) == []  # ISIL (QDe.115) and the like are there, not ISIL-Khorasan
    assert a.get(proposal.id).status == "submitted"
    newer = import_path(store, UN_2024).version
    [link] = link_new_entries(store, newer)
    shown = a.get(proposal.id).to_dict()
    assert shown["status"] == "listed"
    listed = shown["listed_as"]
    assert (listed["reference"], listed["listed_on"], listed["entry_id"]) == ("QDe.161", "2019-05-14", "un:QDe.161")
    assert listed["version"] == newer.id and listed["score"] == link.score >= LINK_THRESHOLD
    assert {n["proposed"] for n in listed["names"]} <= set(KHORASAN["names"])
    assert not {n["proposed"] for n in listed["names"]} & {n["listed"] for n in listed["names"]}  # no name spelled as the UN does
    assert shown["events"][-1]["event"] == "listed" and "QDe.161" in shown["events"][-1]["detail"]

    # B imports only the 2024 release: its first version, where every entry is new, QDe.115 included.
    store_b = store_of(b)
    [link_b] = link_new_entries(store_b, import_path(store_b, UN_2024).version)
    assert link_b.reference == "QDe.161" and b.get(proposal.id).status == "listed"


def test_a_revision_needs_every_signature_again(nodes, tmp_path):
    a, b = nodes["A"], nodes["B"]
    proposal = a.create(draft())
    carry(a, a.share(keys(a), proposal.id, "B"), b, tmp_path)
    carry(b, b.sign(keys(b), proposal.id), a, tmp_path)
    a.sign(keys(a), proposal.id)
    revised = a.revise(keys(a), proposal.id, draft(reasons="Formed on 10 January 2015; attacks in Afghanistan and Pakistan."))
    carry(a, revised, b, tmp_path)
    assert b.get(proposal.id).current_version == 2
    with pytest.raises(ProposalError, match="version 2 is not signed by A, B"):
        a.submit(keys(a), proposal.id)
    with pytest.raises(ProposalError, match="only the lead sponsor"):
        b.revise(keys(b), proposal.id, draft())
    with pytest.raises(ProposalError, match="the same as version 2"):
        a.revise(keys(a), proposal.id, Draft.of(a.get(proposal.id).current.content, "same"))
    assert [v.number for v in a.get(proposal.id).versions] == [1, 2]  # history kept
    assert {s.version for s in a.get(proposal.id).signatures} == {1}


@pytest.mark.parametrize(("changes", "problem"), [
    ({"names": None}, "names: missing (required)"),
    ({"names": []}, "names: empty"),
    ({"regime": None}, "regime: missing (required)"),
    ({"regime": "2231"}, "'2231' is not a regime proposals are made under (allowed: 1267, 1988)"),
    ({"kind": "entity"}, "kind: 'entity' is not one of 'person' or 'organisation'"),
    ({"nationalities": ["XX"]}, "nationalities[0]: 'XX' is not an ISO 3166-1 alpha-2 country code"),
    ({"birth_dates": ["1980"]}, "describe a person, not an organisation"),
    ({"nmaes": ["typo"]}, "nmaes: unexpected field"),
])
def test_a_bad_draft_is_refused_naming_the_file_and_the_field(tmp_path, changes, problem):
    data = {k: v for k, v in {**KHORASAN, **changes}.items() if v is not None}
    path = tmp_path / "draft.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ProposalError) as refused:
        Draft.read(path)
    assert str(refused.value).startswith(f"{path}: ") and problem in str(refused.value)


def test_the_regime_may_be_a_number_and_a_person_carries_birth_facts():
    person = Draft.of({"kind": "person", "regime": 1988, "names": ["Abdul Rahman"], "birth_dates": ["1976"],
                       "nationalities": ["AF"], "documents": [{"type": "passport", "number": "OR123456", "country": "AF"}]}, "x")
    assert person.regime == "1988" and person.content()["documents"][0]["number"] == "OR123456"


def test_a_signature_by_a_node_that_is_not_a_co_sponsor_is_refused_and_recorded(nodes, tmp_path):
    a, b, c = nodes["A"], nodes["B"], nodes["C"]
    proposal = a.create(draft())
    carry(a, a.share(keys(a), proposal.id, "B"), b, tmp_path)
    before = a.get(proposal.id)
    # C knows the draft (say, from a leak) and signs it: a valid signature by C's key, but C is no sponsor.
    signature = sign_version(keys(c), proposal.id, 1, proposal.current.content)
    body = canonical({"format": "vigil-proposal/1", "proposal": proposal.id, "version": 1, "signature": signature})
    envelope = c.mailbox.send(keys(c), ["A"], "proposal.sign", body, "AMBER")
    with pytest.raises(EnvelopeError, match="C is not a co-sponsor of proposal"):
        carry(c, envelope, a, tmp_path)
    after = a.get(proposal.id)
    assert after.signatures == before.signatures and after.revision == before.revision
    assert "not a co-sponsor" in a.mailbox.rejections()[-1]["reason"]
    assert envelope.header.id not in {m.id for m in a.mailbox.inbox()}


def test_unknown_proposals_forged_signatures_and_replayed_bundles_change_nothing(nodes, tmp_path):
    a, b = nodes["A"], nodes["B"]
    proposal = a.create(draft())
    carry(a, a.share(keys(a), proposal.id, "B"), b, tmp_path)

    unknown = str(uuid.uuid4())
    body = canonical({"format": "vigil-proposal/1", "proposal": unknown, "comment": {"id": str(uuid.uuid4()), "version": 1, "text": "?"}})
    with pytest.raises(EnvelopeError, match=f"no proposal {unknown} here"):
        carry(b, b.mailbox.send(keys(b), ["A"], "proposal.comment", body, "AMBER"), a, tmp_path)

    # B's signature over another text than the version A holds.
    other = sign_version(keys(b), proposal.id, 1, {**proposal.current.content, "reasons": "something else"})
    body = canonical({"format": "vigil-proposal/1", "proposal": proposal.id, "version": 1, "signature": other})
    with pytest.raises(EnvelopeError, match="signature does not verify over version 1"):
        carry(b, b.mailbox.send(keys(b), ["A"], "proposal.sign", body, "AMBER"), a, tmp_path)

    signed = b.sign(keys(b), proposal.id)
    path = tmp_path / "signature.bundle"
    dispatch(b.mailbox, keys(b), signed.envelope, path)
    receive(a, path)
    held = a.get(proposal.id)
    assert held.unsigned()[0].name == "A"  # B's signature taken
    with pytest.raises(EnvelopeError, match="replay"):
        receive(a, path)
    again = a.get(proposal.id)
    assert (again.signatures, again.revision, again.events) == (held.signatures, held.revision, held.events)
    assert [r["reason"] for r in a.mailbox.rejections()][-1].endswith("refused as a replay")


def test_only_the_lead_shares_submits_withdraws_and_the_outcome_reaches_co_sponsors(nodes, tmp_path):
    a, b, c = nodes["A"], nodes["B"], nodes["C"]
    proposal = a.create(draft())
    carry(a, a.share(keys(a), proposal.id, "B"), b, tmp_path)
    with pytest.raises(ProposalError, match="only the lead sponsor"):
        b.share(keys(b), proposal.id, "A")
    with pytest.raises(ProposalError, match="only the lead sponsor"):
        b.withdraw(keys(b), proposal.id)
    # C joins later: it receives the whole proposal, B's signature included, and B learns of the new sponsor.
    carry(b, b.sign(keys(b), proposal.id), a, tmp_path)
    third = a.share(keys(a), proposal.id, "C")
    path = tmp_path / "third.bundle"
    dispatch(a.mailbox, keys(a), third.envelope, path)  # one envelope for B and C
    receive(c, path)
    receive(b, path)
    assert [s.name for s in b.get(proposal.id).sponsors][:2] == ["A", "B"] and len(b.get(proposal.id).sponsors) == 3
    assert {s.signer for s in c.get(proposal.id).signatures} == {b.mailbox.node.identity().signing_public}
    # C signs: A hears of it; B cannot (C is not B's partner), and is told by the submission.
    c_signed = c.sign(keys(c), proposal.id)
    assert c_signed.unreached == ("B",)
    carry(c, c_signed, a, tmp_path)
    a.sign(keys(a), proposal.id)
    outcome = a.submit(keys(a), proposal.id)
    path = tmp_path / "submitted.bundle"
    dispatch(a.mailbox, keys(a), outcome.envelope, path)
    receive(b, path)
    assert b.get(proposal.id).status == "submitted" and not b.get(proposal.id).unsigned()
    with pytest.raises(ProposalError, match="say why"):
        a.reject(keys(a), proposal.id, " ")
    rejected = a.reject(keys(a), proposal.id, "A committee member placed a hold, then objected.")
    path = tmp_path / "rejected.bundle"
    dispatch(a.mailbox, keys(a), rejected.envelope, path)
    receive(b, path)
    for node in (a, b):
        assert node.get(proposal.id).status == "rejected" and "objected" in node.get(proposal.id).note
    with pytest.raises(ProposalError, match="is rejected"):
        a.withdraw(keys(a), proposal.id)


def test_only_a_new_entry_of_the_same_kind_and_regime_is_linked(nodes):
    a = nodes["A"]
    ids = {}
    for label, changes in {"person": {"kind": "person"}, "taliban": {"regime": "1988"}, "right": {}}.items():
        ids[label] = a.create(draft(**changes)).id
        a.sign(keys(a), ids[label])
        a.submit(keys(a), ids[label])
    store = store_of(a)
    import_path(store, UN_2018)
    links = link_new_entries(store, import_path(store, UN_2024).version)
    assert [link.proposal_id for link in links] == [ids["right"]]
    assert [a.get(ids[label]).status for label in ("person", "taliban", "right")] == ["submitted", "submitted", "listed"]
    # An entry already in the previous version is not news: importing the 2024 list again as a new file links nothing.
    second = a.create(draft()).id
    a.sign(keys(a), second)
    a.submit(keys(a), second)
    again = Path(store.url.split("///", 1)[1]).with_name("consolidated-again.xml")
    again.write_bytes(UN_2024.read_bytes() + b"\n")
    assert link_new_entries(store, import_path(store, again, "un").version) == []
    assert a.get(second).status == "submitted"


def test_linking_builds_nothing_when_no_proposal_is_submitted(nodes, tmp_path, monkeypatch):
    class NoIndex:
        def __init__(self, *_):
            raise AssertionError("a screening index was built with no proposal waiting")

    monkeypatch.setattr(listing, "Screener", NoIndex)
    lists_only = Store(f"sqlite:///{tmp_path / 'lists.db'}")
    assert link_new_entries(lists_only, import_path(lists_only, UN_2018).version) == []
    assert not inspect(lists_only.engine).has_table(proposal_rows.name)  # a store without proposals stays without
    a = nodes["A"]
    a.create(draft())  # a draft is not waiting for the committee
    store = store_of(a)
    assert link_new_entries(store, import_path(store, UN_2024).version) == []


# -- the command line, two nodes, bundles carried as files ------------------------------------------------------------


def vigil(db: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([VIGIL, "--db", f"sqlite:///{db}", *args], capture_output=True, text=True,
                            env={**os.environ, "VIGIL_PASSPHRASE": PASSPHRASE, "COLUMNS": "200"}, timeout=120)
    if check:
        assert result.returncode == 0, f"vigil {' '.join(args)}: {result.stderr}"
    return result


def test_the_commands_carry_a_proposal_between_two_nodes(tmp_path):
    a, b = tmp_path / "A.db", tmp_path / "B.db"
    for db, name in ((a, "A"), (b, "B")):
        vigil(db, "node", "init", "--name", name)
        (tmp_path / f"{name}.json").write_text(vigil(db, "node", "id").stdout)
    vigil(a, "partner", "add", str(tmp_path / "B.json"))
    vigil(b, "partner", "add", str(tmp_path / "A.json"))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"kind": "organisation", "names": ["ISIS-K"]}))
    refused = vigil(a, "proposal", "create", str(bad), check=False)
    assert refused.returncode == 1 and f"{bad}: regime: missing (required)" in " ".join(refused.stderr.split())
    good = tmp_path / "p.json"
    good.write_text(json.dumps(KHORASAN))
    proposal = vigil(a, "proposal", "create", str(good)).stdout.splitlines()[-1]
    assert str(uuid.UUID(proposal)) == proposal
    assert [p["id"] for p in json.loads(vigil(a, "proposal", "list", "--json").stdout)] == [proposal]

    vigil(a, "proposal", "share", proposal, "--with", "B", "--bundle", str(tmp_path / "share.bundle"))
    vigil(b, "exchange", "import", str(tmp_path / "share.bundle"))
    vigil(b, "proposal", "comment", proposal[:8], "--text", "We co-sponsor.", "--bundle", str(tmp_path / "comment.bundle"))
    vigil(b, "proposal", "sign", proposal, "--bundle", str(tmp_path / "sign.bundle"))
    for bundle in ("comment", "sign"):
        vigil(a, "exchange", "import", str(tmp_path / f"{bundle}.bundle"))
    replayed = vigil(a, "exchange", "import", str(tmp_path / "sign.bundle"), check=False)
    assert replayed.returncode == 1 and "replay" in replayed.stderr
    vigil(a, "proposal", "sign", proposal, "--bundle", str(tmp_path / "a-sign.bundle"))
    vigil(a, "proposal", "submit", proposal, "--bundle", str(tmp_path / "submit.bundle"))
    vigil(b, "exchange", "import", str(tmp_path / "submit.bundle"))
    shown_b = json.loads(vigil(b, "proposal", "show", proposal, "--json").stdout)
    assert shown_b["status"] == "submitted" and shown_b["lead"] == "A"
    assert [(s["name"], s["signed"]) for s in shown_b["sponsors"]] == [("A", True), ("B", True)]

    assert "is listed" not in vigil(a, "import", str(UN_2018)).stdout
    assert "QDe.161" not in vigil(a, "proposal", "show", proposal, "--json").stdout
    assert "QDe.161 on 2019-05-14" in " ".join(vigil(a, "import", str(UN_2024)).stdout.split())
    shown = json.loads(vigil(a, "proposal", "show", proposal, "--json").stdout)
    assert shown["status"] == "listed"
    assert (shown["listed_as"]["reference"], shown["listed_as"]["listed_on"]) == ("QDe.161", "2019-05-14")
    assert [c["text"] for c in shown["comments"]] == ["We co-sponsor."] and len(shown["signatures"]) == 2
    assert "listed as QDe.161 on 2019-05-14" in " ".join(vigil(a, "proposal", "show", proposal).stdout.split())


def test_over_the_network_a_served_node_co_sponsors(tmp_path):
    """B (here) leads and delivers to A's `vigil serve`; A signs with the command line, and B collects A's
    signature in the answer to its next delivery (A has no address for B)."""
    a_url = f"sqlite:///{tmp_path / 'A.db'}"
    a_node = Node(make_engine(a_url, serialized=True))
    a_node.init(PASSPHRASE, "A")
    b = Proposals(Mailbox(Node(make_engine(f"sqlite:///{tmp_path / 'B.db'}", serialized=True)), all_handlers()))
    b.mailbox.node.init(PASSPHRASE, "B")
    a_node.add_partner(b.mailbox.node.identity())
    with running_server(a_url, tmp_path, env={"VIGIL_PASSPHRASE": PASSPHRASE}) as server:
        b.mailbox.node.add_partner(a_node.identity(), address=server.url)
        proposal = b.create(draft())
        shared = b.share(keys(b), proposal.id, "A")
        assert dispatch(b.mailbox, keys(b), shared.envelope, None).startswith("delivered 1 to A")
        a_db = Path(a_url.split("///", 1)[1])
        assert json.loads(vigil(a_db, "proposal", "show", proposal.id, "--json").stdout)["lead"] == "B"
        signed = vigil(a_db, "proposal", "sign", proposal.id)
        assert "no address" in signed.stdout  # kept queued for B to collect
        answered = dispatch(b.mailbox, keys(b), b.sign(keys(b), proposal.id).envelope, None)
        assert "took" in answered  # A's signature came back in the answer
        assert not b.get(proposal.id).unsigned()
        submitted = b.submit(keys(b), proposal.id)
        assert "delivered" in dispatch(b.mailbox, keys(b), submitted.envelope, None)
        assert json.loads(vigil(a_db, "proposal", "show", proposal.id, "--json").stdout)["status"] == "submitted"
