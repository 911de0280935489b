"""Envelopes: only the recipients read them; any change is found."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest

from vigil.exchange.envelope import Envelope, EnvelopeError, open_envelope, seal
from vigil.exchange.identity import NodeKeys

A, B, C = (NodeKeys.generate(name) for name in "ABC")
SECRET = b"courier route via the northern crossing"


def sealed(*recipients: NodeKeys, tlp: str = "AMBER") -> Envelope:
    return seal(A, [r.public for r in recipients], "note", SECRET, tlp, "RESTRICTED")


def test_each_recipient_reads_it_and_no_one_else():
    envelope = sealed(B, C)
    assert open_envelope(envelope, B, A.public) == SECRET
    assert open_envelope(envelope, C, A.public) == SECRET
    only_b = sealed(B)
    with pytest.raises(EnvelopeError, match="not addressed to this node"):
        open_envelope(only_b, C, A.public)
    assert SECRET not in json.dumps(only_b.to_dict()).encode()
    assert base64.b64encode(SECRET) not in json.dumps(only_b.to_dict()).encode()


def test_round_trip_through_json():
    envelope = sealed(B)
    again = Envelope.from_dict(json.loads(json.dumps(envelope.to_dict())))
    assert again == envelope and open_envelope(again, B, A.public) == SECRET


@pytest.mark.parametrize(("change", "problem"), [
    (lambda e: replace(e, header=replace(e.header, tlp="CLEAR")), "signature"),
    (lambda e: replace(e, header=replace(e.header, type="case-file")), "signature"),
    (lambda e: replace(e, header=replace(e.header, created="2020-01-01T00:00:00+00:00")), "signature"),
    (lambda e: replace(e, body=base64.b64encode(b"\0" * 12 + b"x" * 60).decode()), "digest"),
])
def test_altered_envelopes_are_refused(change, problem):
    with pytest.raises(EnvelopeError, match=problem):
        open_envelope(change(sealed(B)), B, A.public)


def test_a_forged_sender_or_a_swapped_key_is_refused():
    envelope = sealed(B, C)
    with pytest.raises(EnvelopeError, match="another sender"):
        open_envelope(envelope, B, C.public)
    forged = seal(C, [B.public], "note", SECRET, "AMBER")
    forged = replace(forged, header=replace(forged.header, sender=A.public.signing_public))
    with pytest.raises(EnvelopeError, match="signature"):
        open_envelope(forged, B, A.public)
    keys = envelope.keys
    swapped = replace(envelope, keys={B.public.signing_public: keys[C.public.signing_public],
                                      C.public.signing_public: keys[B.public.signing_public]})
    with pytest.raises(EnvelopeError, match="cannot be decrypted"):
        open_envelope(swapped, B, A.public)


@pytest.mark.parametrize(("mutate", "problem"), [
    (lambda d: d.update(format="other"), "not a Vigil envelope"),
    (lambda d: d["header"].pop("tlp"), "missing or unexpected"),
    (lambda d: d["header"].update(tlp="WHITE"), "not a TLP 2.0 marking"),
    (lambda d: d["header"].update(recipients=[]), "recipients"),
    (lambda d: d.update(keys={}), "one sealed key per recipient"),
])
def test_malformed_envelopes_are_named(mutate, problem):
    data = sealed(B).to_dict()
    mutate(data)
    with pytest.raises(EnvelopeError, match=problem):
        Envelope.from_dict(data)


def test_bad_markings_and_sizes_are_refused_when_sealing():
    with pytest.raises(EnvelopeError, match="TLP"):
        sealed(B, tlp="WHITE")
    with pytest.raises(EnvelopeError, match="recipients"):
        seal(A, [], "note", SECRET, "GREEN")
    with pytest.raises(EnvelopeError, match="at most"):
        seal(A, [B.public], "note", b"x" * (16 * 2**20 + 1), "GREEN")
