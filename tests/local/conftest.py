"""Fixtures for the local-mode tests (helpers live in devserver.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from devserver import MAKE_DEV, PROJECT_DIR, DevServer


@pytest.fixture(scope="module")
def dev_server() -> Iterator[DevServer]:
    """The dev stack of this repository as `make dev` serves it, once per test module."""
    server = DevServer(PROJECT_DIR, config=MAKE_DEV)
    try:
        yield server
    finally:
        server.stop()
