"""The audit trail's hash chain, and the `vigil keys` / `vigil audit` commands."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ProcessPoolExecutor

import pytest
from sqlalchemy import delete, text, update

from serving import VIGIL
from vigil.api.audit import AuditTrail, canonical, chain_hash
from vigil.api.keys import KeyRing, KeyRingError
from vigil.api.tables import audit_log, metadata
from vigil.store.database import make_engine


def trail(url: str, queries: str = "full") -> AuditTrail:
    engine = make_engine(url, serialized=True)
    metadata.create_all(engine)
    return AuditTrail(engine, queries)


def fill(audit: AuditTrail, count: int, key_id: int = 1) -> None:
    for i in range(count):
        audit.append("match", key_id, {"queries": audit.record_queries([{"id": f"q{i}", "name": f"Name {i}"}]), "hits": []})


def vigil(db: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([VIGIL, "--db", db, *args], capture_output=True, text=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_an_untouched_chain_verifies(store_url):
    audit = trail(store_url)
    assert audit.verify().ok and audit.verify().records == 0
    fill(audit, 5)
    result = audit.verify()
    assert result.ok and result.records == 5
    assert result.head == list(audit.records())[-1].hash
    assert [r.seq for r in audit.records(after=2, limit=2)] == [3, 4]


@pytest.mark.parametrize(("tamper", "broken_at"), [
    (update(audit_log).where(audit_log.c.seq == 3).values(record=text("replace(record, 'Name 2', 'Name X')")), 3),
    (delete(audit_log).where(audit_log.c.seq == 2), 2),
    (update(audit_log).where(audit_log.c.seq == 4).values(key_id=99), 4),
    (update(audit_log).where(audit_log.c.seq == 5).values(action="login"), 5),
])
def test_changing_or_removing_a_record_is_found(store_url, tamper, broken_at):
    audit = trail(store_url)
    fill(audit, 6)
    with audit.engine.begin() as conn:
        conn.execute(tamper)
    result = audit.verify()
    assert not result.ok and result.broken_at == broken_at
    assert str(broken_at) in result.problem
    assert result.records == broken_at - 1


def test_rewriting_a_record_and_its_hash_breaks_the_next_link(store_url):
    audit = trail(store_url)
    fill(audit, 4)
    second = list(audit.records(after=1, limit=1))[0]
    forged = second.to_dict()["record"] | {"hits": [{"entry_id": "un:QDi.006", "score": 0.99}]}
    body = canonical(forged)
    with audit.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(record=body, hash=chain_hash(2, second.prev_hash, body)))
    result = audit.verify()
    assert not result.ok and result.broken_at == 3


def _append_many(url: str) -> None:
    fill(trail(url), 25)


def test_appends_from_several_processes_keep_one_chain(store_url):
    trail(store_url)  # tables exist before the writers start
    with ProcessPoolExecutor(3) as pool:
        list(pool.map(_append_many, [store_url] * 3))
    result = trail(store_url).verify()
    assert result.ok and result.records == 75


def test_hash_mode_keeps_no_names(store_url):
    audit = trail(store_url, "hash")
    fill(audit, 1)
    [record] = audit.records()
    assert "Name 0" not in json.dumps(record.to_dict())
    assert record.record["queries"][0]["id"] == "q0" and len(record.record["queries"][0]["sha256"]) == 64


def test_keys_and_audit_commands(tmp_path):
    db = f"sqlite:///{tmp_path / 'v.db'}"
    created = vigil(db, "keys", "create", "--role", "auditor", "--label", "supervisor")
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("vgl_") and len(secret) > 40
    assert "auditor" in created.stderr
    listed = vigil(db, "keys", "list", "--json")
    [key] = json.loads(listed.stdout)
    assert key["role"] == "auditor" and key["label"] == "supervisor" and secret not in listed.stdout
    engine = make_engine(db)
    assert KeyRing(engine).authenticate(secret).id == key["id"]
    assert "revoked" in vigil(db, "keys", "revoke", str(key["id"])).stdout
    assert KeyRing(engine).authenticate(secret) is None
    refused = vigil(db, "keys", "create", "--role", "root", check=False)
    assert refused.returncode == 1 and "unknown role 'root'" in refused.stderr
    with pytest.raises(KeyRingError):
        KeyRing(engine).revoke(42)

    audit = trail(db)
    fill(audit, 3)
    exported = vigil(db, "audit", "export")
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [r["seq"] for r in lines] == [1, 2, 3] and lines[0]["record"]["queries"][0]["name"] == "Name 0"
    assert "ok: 3 audit records" in vigil(db, "audit", "verify").stdout
    with audit.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(record="{}"))
    broken = vigil(db, "audit", "verify", check=False)
    assert broken.returncode == 1 and "record 2" in broken.stderr
