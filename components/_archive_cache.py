"""The warm-run cache of finished Lambda archives: input key -> the content-addressed zip.

Zipping is the slow part of packaging (deflating Pillow takes most of a second), and every
`pulumi preview` runs the program, so a run whose inputs are unchanged must reuse the zip it
built last time. The key is a hash of everything that determines the archive's bytes: each
member's name, mode and content hash, the installed-dependencies folder (itself keyed by the
requirements and the target), the target, the zlib that deflates, and the packaging code
itself, so that a change to how archives are laid out invalidates every entry.

An index entry only points at `<archives>/<sha256>.zip`; it is trusted only while that file
still has the size and modification time recorded when it was written (re-hashing a 6 MB zip
would cost more than the rest of the lookup), so a deleted, replaced or edited zip is rebuilt
rather than shipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_CODE = tuple(
    Path(__file__).parent / name
    for name in ("packaging.py", "_archive_cache.py", "_dist_info.py", "_elf_check.py")
)


@dataclass(frozen=True)
class CachedZip:
    sha256: str
    files: tuple[str, ...]
    size: int


def _file_digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def input_key(
    sources: Mapping[str, tuple[Path, int]], dependencies: Path | None, target: str
) -> str:
    """Hash of the archive's inputs. `sources` maps member name -> (file, mode); `dependencies`
    is the installed-packages folder, whose name is already the hash of what it holds."""
    material = {
        "code": [_file_digest(path) for path in _CODE],
        "zlib": zlib.ZLIB_RUNTIME_VERSION,
        "target": target,
        "dependencies": dependencies.name if dependencies is not None else None,
        "sources": [
            [name, mode, _file_digest(path)] for name, (path, mode) in sorted(sources.items())
        ],
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def _stamp(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def lookup(archives: Path, key: str) -> CachedZip | None:
    """The zip recorded for `key`, if it is still there, untouched."""
    try:
        entry = json.loads((archives / "by-input" / f"{key}.json").read_text(encoding="utf-8"))
        cached = CachedZip(entry["sha256"], tuple(entry["files"]), entry["stamp"][0])
        untouched = _stamp(archives / f"{cached.sha256}.zip") == entry["stamp"]
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
    return cached if untouched else None


def record(archives: Path, key: str, sha256: str, files: tuple[str, ...]) -> None:
    """Point `key` at a finished zip; written atomically, so readers never see half an entry."""
    index = archives / "by-input"
    index.mkdir(parents=True, exist_ok=True)
    stamp = _stamp(archives / f"{sha256}.zip")
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=index)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"sha256": sha256, "files": list(files), "stamp": stamp}, handle)
    Path(tmp).replace(index / f"{key}.json")
