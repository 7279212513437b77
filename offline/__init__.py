"""Offline engine: runs the Pulumi program under the SDK's mock runtime and returns its graph."""

from offline.engine import DeprecatedApiError, ProgramError, run_program, run_stack
from offline.graph import Resource, ResourceGraph

__all__ = [
    "DeprecatedApiError",
    "ProgramError",
    "Resource",
    "ResourceGraph",
    "run_program",
    "run_stack",
]
