"""Stack settings for tests: UploadService's arguments from keys given as Python values."""

from __future__ import annotations

import json
from typing import Any

from components.config import parse_settings
from components.upload_service import UploadServiceArgs


def wire(value: Any) -> str:
    """A value as the Pulumi CLI hands it to the program (lists as JSON)."""
    if isinstance(value, tuple | list | bool):
        return json.dumps(list(value) if isinstance(value, tuple) else value)
    return str(value)


def stack(**keys: Any) -> UploadServiceArgs:
    """`stack(functionMemoryMb=512)`: the arguments the stack program builds from these keys."""
    return parse_settings({f"serverless-uploads:{k}": wire(v) for k, v in keys.items()})
