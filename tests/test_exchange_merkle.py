"""RFC 9162 Merkle trees: roots, inclusion and consistency proofs, and that a
changed leaf, root or proof is caught."""

from __future__ import annotations

import hashlib

import pytest

from vigil.exchange.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [leaf_hash(f"entry {i}".encode()) for i in range(33)]


def test_roots_follow_the_rfc_definition():
    assert root([]) == hashlib.sha256(b"").digest()
    assert root(LEAVES[:1]) == LEAVES[0]
    a, b, c = LEAVES[:3]
    assert root([a, b, c]) == node_hash(node_hash(a, b), c)
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()  # leaves and nodes never collide


def test_rfc_9162_test_vector():
    # The seven-leaf example of RFC 6962/9162's reference code (the inputs: "", 0x00, 0x10, ...).
    inputs = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43", b"\x50\x51\x52\x53\x54\x55\x56\x57"]
    leaves = [leaf_hash(d) for d in inputs]
    assert root(leaves).hex() == "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"
    assert root(leaves[:2]).hex() == "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"


@pytest.mark.parametrize("size", range(1, 34))
def test_every_inclusion_proof_verifies_and_a_wrong_one_does_not(size):
    leaves, top = LEAVES[:size], root(LEAVES[:size])
    for index in range(size):
        proof = inclusion_proof(index, leaves)
        assert verify_inclusion(leaves[index], index, size, proof, top)
        assert not verify_inclusion(leaf_hash(b"forged"), index, size, proof, top)
        if size > 1:
            assert not verify_inclusion(leaves[index], (index + 1) % size, size, proof, top)


@pytest.mark.parametrize("second", range(1, 34))
def test_every_consistency_proof_verifies_and_a_rewritten_history_does_not(second):
    for first in range(1, second + 1):
        proof = consistency_proof(first, LEAVES[:second])
        assert verify_consistency(first, second, root(LEAVES[:first]), root(LEAVES[:second]), proof)
        rewritten = [leaf_hash(b"rewritten")] + LEAVES[1:first]
        if first < second:
            assert not verify_consistency(first, second, root(rewritten), root(LEAVES[:second]), proof)


def test_proofs_outside_the_tree_are_refused():
    with pytest.raises(ValueError):
        inclusion_proof(5, LEAVES[:5])
    with pytest.raises(ValueError):
        consistency_proof(0, LEAVES[:5])
    assert not verify_consistency(3, 2, root(LEAVES[:3]), root(LEAVES[:2]), [])
