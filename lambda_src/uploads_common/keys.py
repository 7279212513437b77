"""Where an upload's thumbnail lives: the upload's key with its prefix swapped.

Derived from the key alone (whatever lies under the upload prefix: `<id>.<ext>`, or
`<owner>/<id>.<ext>`), so both functions agree without sharing any other naming rule.
"""

from __future__ import annotations


def thumbnail_key(upload_key: str, upload_prefix: str, thumbnail_prefix: str) -> str:
    """`uploads/a/b.png` -> `thumbnails/a/b.png` (for prefixes `uploads/` and `thumbnails/`)."""
    if not upload_key.startswith(upload_prefix):
        raise ValueError(f"{upload_key!r} is not under {upload_prefix!r}")
    return thumbnail_prefix + upload_key[len(upload_prefix) :]
