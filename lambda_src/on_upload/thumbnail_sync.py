"""The S3 side of keeping a thumbnail in step with its original.

A thumbnail records which version of the original it was made from (object metadata
`source-version-id` and `source-etag`). Writes are conditional: a new thumbnail only if none
exists (`IfNoneMatch="*"`), a replacement only over the thumbnail that was read (`IfMatch`), so two
invocations never overwrite each other blindly; the caller re-reads and retries when one loses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from uploads_common.keys import SOURCE_ETAG, SOURCE_VERSION_ID, UNREADABLE
from uploads_common.s3errors import is_denied, is_missing, lost_conditional_write


@dataclass(frozen=True)
class Source:
    """One version of an original: its version id ("" in an unversioned bucket) and ETag."""

    version_id: str
    etag: str

    @classmethod
    def of(cls, response: dict[str, Any]) -> Source:
        """From a GetObject or HeadObject response."""
        version_id = response.get("VersionId") or ""
        return cls("" if version_id == "null" else version_id, response.get("ETag") or "")

    def metadata(self) -> dict[str, str]:
        return {SOURCE_VERSION_ID: self.version_id, SOURCE_ETAG: self.etag}

    @classmethod
    def from_metadata(cls, metadata: dict[str, str]) -> Source | None:
        if SOURCE_ETAG not in metadata:
            return None  # made before thumbnails recorded their source
        return cls(metadata.get(SOURCE_VERSION_ID, ""), metadata[SOURCE_ETAG])


@dataclass(frozen=True)
class Original:
    data: bytes
    source: Source


@dataclass(frozen=True)
class Thumbnail:
    """What is stored at an original's thumbnail key: its thumbnail, or (`placeholder`) a line of
    text saying why an image that passed the header check has none, `unreadable` naming it."""

    body: bytes
    content_type: str
    unreadable: str = ""

    @classmethod
    def placeholder(cls, reason: str, detail: str) -> Thumbnail:
        line = " ".join(detail.split())
        return cls(f"no thumbnail: {line}\n".encode(), "text/plain; charset=utf-8", reason)


WRITTEN, REPLACED, CURRENT, LOST = "written", "replaced", "current", "lost"


@dataclass(frozen=True)
class ThumbnailStore:
    """The bucket's originals and thumbnails, as `on_upload` reads and writes them."""

    client: Any
    bucket: str

    def read(self, key: str) -> Original | None:
        """The original's bytes and version, or None if it no longer exists."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            self.missing_or_raise(key, error)
            return None
        return Original(response["Body"].read(), Source.of(response))

    def source(self, key: str) -> Source | None:
        """The version the original holds now, or None if it no longer exists."""
        try:
            return Source.of(self.client.head_object(Bucket=self.bucket, Key=key))
        except ClientError as error:
            self.missing_or_raise(key, error)
            return None

    def missing_or_raise(self, key: str, error: ClientError) -> None:
        """Return if `error` means the original is gone; raise it otherwise.

        A 404 is gone. A 403 is a denial unless a listing of the key itself (which the
        prefix-limited `s3:ListBucket` grant always allows) shows it is gone: S3 decides 403 or
        404 for a missing key by an implicit `s3:ListBucket` check, and AWS does not document how
        a `s3:prefix` condition is evaluated there. Whatever it does, a denial is never "gone".
        """
        if is_missing(error):
            return
        if not is_denied(error):
            raise error
        listed = self.client.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1)
        if any(item["Key"] == key for item in listed.get("Contents", [])):
            raise error

    def write(self, key: str, thumbnail: Thumbnail, source: Source) -> str:
        """Store a thumbnail of `source`: WRITTEN (new), REPLACED (it was of another version),
        CURRENT (one of this version is already there) or LOST (a concurrent change won)."""
        marked = {UNREADABLE: thumbnail.unreadable} if thumbnail.unreadable else {}
        params = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": thumbnail.body,
            "ContentType": thumbnail.content_type,
            "Metadata": source.metadata() | marked,
        }
        if self._put(params | {"IfNoneMatch": "*"}):
            return WRITTEN
        try:
            existing = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if is_missing(error):
                return LOST  # removed since: start again
            raise
        if Source.from_metadata(existing.get("Metadata") or {}) == source:
            return CURRENT
        return REPLACED if self._put(params | {"IfMatch": existing["ETag"]}) else LOST

    def _put(self, params: dict[str, Any]) -> bool:
        try:
            self.client.put_object(**params)
        except ClientError as error:
            # 412/409: the condition failed or a concurrent write won; 404: an If-Match target
            # was removed meanwhile.
            if lost_conditional_write(error) or is_missing(error):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        """Remove the key's current version. A key that does not exist gets a delete marker in a
        versioned bucket; the bucket's lifecycle expires such lone markers."""
        self.client.delete_object(Bucket=self.bucket, Key=key)
