"""Shared fixtures: the real official list files, and stores to import them into."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(os.environ.get("VIGIL_TEST_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
UN_FILES = sorted((DATA / "un").glob("consolidated-*.xml"))
OFAC_SDN_FOLDERS = sorted(p for p in (DATA / "ofac-sdn").iterdir() if p.is_dir()) if DATA.exists() else []
OFAC_CONS_FILES = sorted((DATA / "ofac-consolidated").glob("consolidated-*.xml"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.exists():
        pytest.fail(f"the real list files are missing: {DATA} (set VIGIL_TEST_DATA)")
    return DATA
