"""Fixtures for the local-mode tests (helpers live in devserver.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from devserver import PROJECT_DIR, DevServer


@pytest.fixture(scope="module")
def dev_server() -> Iterator[DevServer]:
    """The dev stack of this repository, served once per test module."""
    server = DevServer(PROJECT_DIR)
    try:
        yield server
    finally:
        server.stop()
