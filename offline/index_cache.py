"""Indexes read from an installed package, cached on disk per version of that package.

Reading pulumi_aws's sources for deprecations, or botocore's endpoint data for regions, costs
more than the rest of a warm `plan`; the answer only changes with the package (or with the code
that reads it). Entries live under the build cache (`$UPLOADS_BUILD_CACHE`, else `.build/`) as
`offline/<name>-<key>.json`, written atomically; an unreadable entry is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any


def _cache_dir() -> Path:
    """The build cache the archives use too (components/packaging.py)."""
    configured = os.environ.get("UPLOADS_BUILD_CACHE")
    root = Path(configured).expanduser() if configured else Path(__file__).parent.parent / ".build"
    return root / "offline"


def cached_index(name: str, package: str, reader: Path, build: Callable[[], Any]) -> Any:
    """`build()`'s JSON value, computed once per version of `package` and of the `reader`
    module that computes it."""
    code = hashlib.sha256(reader.read_bytes()).hexdigest()[:12]
    path = _cache_dir() / f"{name}-{version(package)}-{code}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    value = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8") as tmp:
        json.dump(value, tmp)
    os.replace(tmp.name, path)
    return value
