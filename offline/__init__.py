"""Offline engine: runs the Pulumi program under the SDK's mock runtime and returns its graph.

The names below load on first use (PEP 562), so `python -m offline` reaches its own `__main__`
before anything imports pulumi: outside the virtualenv it can then say so in one line.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "DeprecatedApiError": "offline.engine",
    "ProgramError": "offline.engine",
    "run_program": "offline.engine",
    "run_stack": "offline.engine",
    "Resource": "offline.graph",
    "ResourceGraph": "offline.graph",
}

__all__ = [
    "DeprecatedApiError",
    "ProgramError",
    "Resource",
    "ResourceGraph",
    "run_program",
    "run_stack",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'offline' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
