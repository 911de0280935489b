"""Screening parties against the stored lists: one query, a batch, a delta."""

from vigil.screening.query import Feature, Hit, Query
from vigil.screening.screener import DEFAULT_THRESHOLD, Screener

__all__ = ["DEFAULT_THRESHOLD", "Feature", "Hit", "Query", "Screener"]
