"""The screener a running service answers with, replaced whole when the store changes.

A request takes ``LiveScreener.current`` once and uses that screener to the
end, so it sees one consistent set of list versions. A new screener is built
beside the old one (on a background thread, or at once after an import made
by this process) and swapped in by one assignment: no request waits for a
build or sees a half-built index. Every worker process polls the store, so an
import made by any process or by `vigil import` reaches them all.
"""

from __future__ import annotations

import gc
import logging
import threading
import time

from vigil.api import metrics
from vigil.screening import Screener
from vigil.store import Store

log = logging.getLogger("vigil.api")


def newest_version_ids(store: Store) -> tuple[int, ...]:
    newest: dict[str, int] = {}
    for version in store.versions():  # ordered by publication within each source
        newest[version.source] = version.id
    return tuple(sorted(newest.values()))


class LiveScreener:
    def __init__(self, store: Store, poll_seconds: float = 2.0) -> None:
        self.store = store
        self.poll_seconds = poll_seconds
        self.current: Screener | None = None
        self.version_ids: tuple[int, ...] = ()
        self.build_seconds = 0.0
        self._build_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> bool:
        """Build a screener over the newest versions if they changed; True if swapped."""
        with self._build_lock:
            wanted = newest_version_ids(self.store)
            if wanted == self.version_ids and self.current is not None:
                return False
            if not wanted:
                return False
            started = time.perf_counter()
            gc.unfreeze()  # the index being replaced may be collected once unused
            screener = Screener.from_store(self.store)
            # The index is hundreds of thousands of long-lived objects: kept out
            # of the collector's way, full collections no longer pause requests.
            gc.collect()
            gc.freeze()
            self.build_seconds = time.perf_counter() - started
            built = tuple(sorted(v.id for v in screener.versions))
            self.current, self.version_ids = screener, built
            metrics.INDEX_BUILD.set(self.build_seconds)
            for version in screener.versions:
                metrics.LIST_VERSION.labels(version.source).set(version.id)
            log.info("screening against list versions %s (index built in %.1f s)", built, self.build_seconds)
            return True

    def start(self) -> None:
        """Build now, then keep polling the store in the background."""
        self.refresh()
        self._thread = threading.Thread(target=self._poll, name="vigil-index-refresh", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except Exception:  # a store hiccup must not end polling; the old index keeps serving
                log.exception("refreshing the screening index failed; still serving versions %s", self.version_ids)
