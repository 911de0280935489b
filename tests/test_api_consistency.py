"""A new list version imported while /match requests stream in: no request
fails, and each answers from one consistent set of list versions."""

from __future__ import annotations

import subprocess
import threading
import time

import httpx
import pytest

from conftest import STORE_KINDS, UN_FILES, empty_store
from serving import VIGIL, running_server
from vigil.store import Store, import_path

QUERY = {"queries": [
    {"id": "a", "name": "Ayman al-Zawahiri", "kind": "person"},
    {"id": "b", "name": "Usama bin Ladin"},
    {"id": "c", "name": "Al Rashid Trust", "kind": "organisation"},
]}


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_import_during_a_stream_of_requests(kind, tmp_path):
    with empty_store(kind, tmp_path) as url:
        old = import_path(Store(url), UN_FILES[0]).version.id
        with running_server(url, tmp_path, "--workers", "2") as server:
            answers: list[tuple[int, list[int], set[int]]] = []
            failures: list[str] = []
            stop = threading.Event()

            def stream() -> None:
                with server.client("screener") as client:
                    while not stop.is_set():
                        try:
                            response = client.post("/match", json=QUERY)
                        except httpx.HTTPError as error:
                            failures.append(repr(error))
                            continue
                        if response.status_code != 200:
                            failures.append(f"{response.status_code}: {response.text[:200]}")
                            continue
                        data = response.json()
                        hit_versions = {h["version_id"] for r in data["results"] for h in r["hits"]}
                        answers.append((len(answers), [v["id"] for v in data["versions"]], hit_versions))

            threads = [threading.Thread(target=stream) for _ in range(4)]
            for thread in threads:
                thread.start()
            try:
                time.sleep(1.0)
                imported = subprocess.run([VIGIL, "--db", url, "import", str(UN_FILES[-1])], capture_output=True, text=True, timeout=120)
                assert imported.returncode == 0, imported.stderr
                new = Store(url).latest("un").id
                deadline = time.monotonic() + 60
                # Both workers poll the store; wait until a long run of answers comes from the new version.
                while time.monotonic() < deadline and not (len(answers) > 40 and all(a[1] == [new] for a in answers[-40:])):
                    time.sleep(0.2)
            finally:
                stop.set()
                for thread in threads:
                    thread.join()
    assert not failures, failures[:5]
    versions_seen = {tuple(a[1]) for a in answers}
    assert versions_seen == {(old,), (new,)}, versions_seen
    for _, versions, hit_versions in answers:
        assert hit_versions and hit_versions <= set(versions)
    assert all(a[1] == [new] for a in answers[-40:])
