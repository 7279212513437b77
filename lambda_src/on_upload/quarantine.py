"""Uploads that could not be checked: out of sight under the quarantine prefix until a check
succeeds.

When checking an upload fails for a reason other than its content (a bug, a throttle, S3 failing),
`on_upload` moves it from `uploads/<rest>` to `quarantine/<rest>` before Lambda retries: the API
lists and serves only `uploads/`, so an unchecked upload is never offered as a valid image. A
retry or a redrive of the event finds it there and checks it again; if the check passes it is
moved back (the copy's own "object created" event then makes its thumbnail), if its content is
refused it is removed. What nobody redrives is deleted by the bucket's lifecycle rule on the
quarantine prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from thumbnail_sync import Original, ThumbnailStore


@dataclass(frozen=True)
class Quarantine:
    """Moves between the upload prefix and the quarantine prefix of one bucket."""

    store: ThumbnailStore
    upload_prefix: str
    prefix: str

    def key(self, upload_key: str) -> str:
        """`uploads/a/b.png` -> `quarantine/a/b.png`."""
        return self.prefix + upload_key.removeprefix(self.upload_prefix)

    def read(self, upload_key: str) -> Original | None:
        """The quarantined copy of an upload, or None if there is none."""
        return self.store.read(self.key(upload_key))

    def hold(self, upload_key: str) -> bool:
        """Move an upload into quarantine; False if it no longer exists (nothing to hide)."""
        return self._move(upload_key, self.key(upload_key))

    def release(self, upload_key: str) -> bool:
        """Move a quarantined upload back; False if its quarantined copy no longer exists."""
        return self._move(self.key(upload_key), upload_key)

    def discard(self, upload_key: str) -> None:
        self.store.delete(self.key(upload_key))

    def _move(self, source: str, target: str) -> bool:
        if self.store.source(source) is None:
            return False
        client: Any = self.store.client
        bucket = self.store.bucket
        client.copy_object(
            Bucket=bucket,
            Key=target,
            CopySource={"Bucket": bucket, "Key": source},
            MetadataDirective="COPY",
        )
        self.store.delete(source)
        return True
