"""Resource inputs as plain JSON values, safe to print: what `plan` shows, diffs and serialises."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pulumi import asset
from pulumi.runtime import rpc

SECRET = "[secret]"
"""How a secret value is shown: never its content."""


def plain(value: Any, root: Path | None = None) -> Any:
    """`value` with secrets masked, assets and archives as `{"fileArchive": path}` (relative to
    `root` when inside it) and whole floats as ints (the wire protocol sends numbers as floats)."""
    if rpc.is_rpc_secret(value):
        return SECRET
    if isinstance(value, dict):
        return {str(k): plain(v, root) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, root) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, asset.Asset | asset.Archive):
        return _asset(value, root)
    return value


def _asset(value: asset.Asset | asset.Archive, root: Path | None) -> dict[str, Any]:
    if isinstance(value, asset.FileArchive | asset.FileAsset):
        kind = "fileArchive" if isinstance(value, asset.Archive) else "fileAsset"
        return {kind: _relative(Path(value.path), root)}
    if isinstance(value, asset.RemoteArchive | asset.RemoteAsset):
        return {"remote": value.uri}
    if isinstance(value, asset.StringAsset):
        return {"text": value.text}
    if isinstance(value, asset.AssetArchive):
        return {"assets": {k: plain(v, root) for k, v in value.assets.items()}}
    return {"asset": type(value).__name__}


def _relative(path: Path, root: Path | None) -> str:
    if root is not None and path.is_absolute() and path.is_relative_to(root):
        return path.relative_to(root).as_posix()
    return os.fspath(path)
