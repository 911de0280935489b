"""Running the real HTTP service for tests: `vigil serve` in its own process on
a free loopback port, with one API key per role."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from vigil.api.keys import ROLES, KeyRing
from vigil.api.tables import metadata
from vigil.exchange.node import Node
from vigil.store.database import make_engine

VIGIL = str(Path(sys.executable).parent / "vigil")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningServer:
    url: str
    db_url: str
    keys: dict[str, str]  # role -> secret
    process: subprocess.Popen
    log: Path

    def client(self, role: str | None = "screener", **options) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[role]}"} if role else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **options)


def create_keys(db_url: str) -> dict[str, str]:
    engine = make_engine(db_url)
    metadata.create_all(engine)
    keys = {role: KeyRing(engine).create(role, f"test {role}")[1] for role in ROLES}
    engine.dispose()
    return keys


@contextmanager
def running_server(db_url: str, folder: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[RunningServer]:
    """Start `vigil serve`, wait until /healthz answers, stop it afterwards."""
    keys = create_keys(db_url)
    port = free_port()
    log = folder / f"serve-{port}.log"
    environment = {**os.environ, "VIGIL_POLL_SECONDS": "0.5", **(env or {})}
    with log.open("w") as handle:
        process = subprocess.Popen(
            [VIGIL, "--db", db_url, "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", *args],
            stdout=handle, stderr=subprocess.STDOUT, env=environment,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"vigil serve exited with {process.returncode}: {log.read_text()[-2000:]}")
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"vigil serve did not answer /healthz within 60 s: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield RunningServer(url, db_url, keys, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


NODE_PASSPHRASE = "correct-horse-battery"


@contextmanager
def served_node_with_partner(folder: Path) -> Iterator[tuple[RunningServer, Node]]:
    """Node A served over HTTP with its keys open, and node B (for the test's own
    process) as its partner, knowing A's address."""
    a_url, b_url = f"sqlite:///{folder / 'A.db'}", f"sqlite:///{folder / 'B.db'}"
    a, b = Node(make_engine(a_url, serialized=True)), Node(make_engine(b_url, serialized=True))
    a.init(NODE_PASSPHRASE, "A")
    b.init(NODE_PASSPHRASE, "B")
    a.add_partner(b.identity())
    # No pings of its own: the tests count the messages exchanged.
    with running_server(a_url, folder, env={"VIGIL_PASSPHRASE": NODE_PASSPHRASE, "VIGIL_PING_HOURS": "0"}) as server:
        b.add_partner(a.identity(), address=server.url)
        yield server, b
