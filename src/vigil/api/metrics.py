"""Prometheus metrics: requests by route and status, latency, queries screened,
the list versions served. With several worker processes, `vigil serve` sets
PROMETHEUS_MULTIPROC_DIR and /metrics adds up every worker's numbers."""

from __future__ import annotations

import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("vigil_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "vigil_http_request_seconds", "Time to answer an HTTP request", ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)
QUERIES = Counter("vigil_queries_screened_total", "Parties screened")
HITS = Counter("vigil_hits_total", "Hits returned")
LIST_VERSION = Gauge("vigil_list_version", "List version being screened against", ["source"], multiprocess_mode="max")
INDEX_BUILD = Gauge("vigil_index_build_seconds", "Seconds the newest screening index took to build", multiprocess_mode="max")


def exposition() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(route).observe(time.perf_counter() - started)
