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
from vigil.screening.screener import newest_versions
from vigil.store import ListVersion, Store

log = logging.getLogger("vigil.api")


def _ids(versions: list[ListVersion]) -> tuple[int, ...]:
    return tuple(sorted(v.id for v in versions))


class LiveScreener:
    def __init__(self, store: Store, poll_seconds: float = 2.0) -> None:
        self.store = store
        self.poll_seconds = poll_seconds
        self.current: Screener | None = None
        self._build_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> bool:
        """Build a screener over the newest versions if they changed; True if swapped."""
        with self._build_lock:
            wanted = _ids(newest_versions(self.store.versions()))
            if not wanted or (self.current is not None and wanted == _ids(self.current.versions)):
                return False
            started = time.perf_counter()
            gc.unfreeze()  # the index being replaced may be collected once unused
            screener = Screener.from_store(self.store)
            # The index is hundreds of thousands of long-lived objects: kept out
            # of the collector's way, full collections no longer pause requests.
            gc.collect()
            gc.freeze()
            seconds = time.perf_counter() - started
            self.current = screener
            metrics.INDEX_BUILD.set(seconds)
            for version in screener.versions:
                metrics.LIST_VERSION.labels(version.source).set(version.id)
            log.info("screening against list versions %s (index built in %.1f s)", _ids(screener.versions), seconds)
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
                served = _ids(self.current.versions) if self.current else ()
                log.exception("refreshing the screening index failed; still serving versions %s", served)
