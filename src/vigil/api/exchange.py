"""The node's side of the partner exchange in a running service: its keys,
opened once at start with VIGIL_PASSPHRASE, its mailbox, and a thread that
retries deliveries to partners that were offline and pings the points of
contact of partners it has agreements with."""

from __future__ import annotations

import logging
import os
import threading
from datetime import timedelta

from sqlalchemy import Engine

from vigil.cooperation.pings import Pings
from vigil.exchange.identity import IdentityError, NodeKeys
from vigil.exchange.mailbox import Mailbox
from vigil.exchange.node import Node, NodeError
from vigil.exchange.transport import deliver_pending
from vigil.handlers import all_handlers

log = logging.getLogger("vigil.exchange")


class NodeExchange:
    def __init__(self, engine: Engine, delivery_seconds: float, ping_every: timedelta | None, relay: bool) -> None:
        self.mailbox = Mailbox(Node(engine), all_handlers())
        self.delivery_seconds = delivery_seconds
        self.ping_every = ping_every
        self.relay = relay
        self.keys: NodeKeys | None = None
        self.problem = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        passphrase = os.environ.get("VIGIL_PASSPHRASE")
        try:
            if not passphrase:
                raise NodeError("the exchange is off: start `vigil serve` with VIGIL_PASSPHRASE set to the node's passphrase")
            self.keys = self.mailbox.node.keys(passphrase)
        except (NodeError, IdentityError) as error:
            self.problem = str(error)
            log.info("%s", error)
            return
        self._thread = threading.Thread(target=self._deliver_loop, name="vigil-delivery", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def required_keys(self) -> NodeKeys:
        if self.keys is None:
            raise NodeError(self.problem or "the exchange is not set up on this node")
        return self.keys

    def _deliver_loop(self) -> None:
        while not self._stop.wait(self.delivery_seconds):
            try:
                if self.ping_every:
                    Pings(self.mailbox).ping_due(self.required_keys(), self.ping_every)
                report = deliver_pending(self.mailbox, self.required_keys(), due_only=True)
                if report != "nothing waiting":
                    log.info("delivery: %s", report)
            except Exception:  # a failed round must not end the loop
                log.exception("delivery round failed")
