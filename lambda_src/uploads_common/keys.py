"""Where an upload's thumbnail lives (the upload's key with its prefix swapped), and the metadata
by which a thumbnail records the version of the original it was made from.

Derived from the key alone (whatever lies under the upload prefix: `<id>.<ext>`, or
`<owner>/<id>.<ext>`), so both functions agree without sharing any other naming rule.
"""

from __future__ import annotations

SOURCE_VERSION_ID = "source-version-id"
"""Thumbnail metadata: the original's version id ("" in an unversioned bucket)."""
SOURCE_ETAG = "source-etag"
"""Thumbnail metadata: the original's ETag."""
UNREADABLE = "unreadable"
"""Thumbnail metadata, set only on the placeholder `on_upload` stores instead of a thumbnail for an
image that passed the header check but cannot be decoded (it is kept): the reason, as logged."""


def thumbnail_key(upload_key: str, upload_prefix: str, thumbnail_prefix: str) -> str:
    """`uploads/a/b.png` -> `thumbnails/a/b.png` (for prefixes `uploads/` and `thumbnails/`)."""
    if not upload_key.startswith(upload_prefix):
        raise ValueError(f"{upload_key!r} is not under {upload_prefix!r}")
    return thumbnail_prefix + upload_key[len(upload_prefix) :]
