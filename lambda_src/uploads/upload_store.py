"""Uploads in S3: plain functions over a boto3 client, with no Lambda or HTTP types.

An upload with id `<id>` is the object `<upload_prefix><id>.<ext>`; its thumbnail (written by the
`on_upload` function) is `<thumbnail_prefix><id>.<ext>`. With sign-in, each owner has a store of
their own (`for_owner`): `uploads/<owner>/<id>.<ext>` and `thumbnails/<owner>/<id>.<ext>`, and
every read, list, presign and delete stays inside those prefixes. An upload `on_upload` could not
check is held under the quarantine prefix (`quarantine/<owner>/<id>.<ext>`): never listed or
served, but its owner can delete it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from botocore.exceptions import ClientError

from uploads_common.images import ImageType, type_for_key
from uploads_common.keys import SOURCE_ETAG, thumbnail_key
from uploads_common.s3errors import is_missing

_FILENAME_METADATA = "filename"
_CLOCK_MAX = 16**12 - 1
"""The largest 12-hex-digit count of milliseconds (the year 10889)."""


def new_upload_id() -> str:
    """32 lowercase hex digits: 12 counting down with the clock (milliseconds since the epoch),
    so that S3 lists the newest upload first and a page cursor walks back in time, then 80
    random bits."""
    millis = time.time_ns() // 1_000_000
    return f"{_CLOCK_MAX - millis:012x}{secrets.token_hex(10)}"


def _metadata(filename: str | None) -> dict[str, str]:
    """User metadata for a client's file name: percent-encoded, as S3 metadata is ASCII."""
    return {} if filename is None else {_FILENAME_METADATA: quote(filename, safe=" ")}


def _metadata_fields(filename: str | None) -> dict[str, str]:
    """The same metadata as form fields of a presigned POST."""
    return {f"x-amz-meta-{name}": value for name, value in _metadata(filename).items()}


@dataclass(frozen=True)
class Upload:
    id: str
    key: str
    size: int
    content_type: str
    last_modified: datetime | None = None
    filename: str | None = None
    etag: str | None = None
    """The stored object's ETag, when it was read (`find`)."""


@dataclass(frozen=True)
class UploadStore:
    client: Any
    bucket: str
    upload_prefix: str
    thumbnail_prefix: str
    url_expiry: int
    quarantine_prefix: str = "quarantine/"

    def for_owner(self, owner: str) -> UploadStore:
        """The same store, narrowed to one owner's prefixes. `owner` must be a validated id (no
        `/`): it becomes one key segment."""
        if not owner or "/" in owner or owner in (".", ".."):
            raise ValueError("owner must be a single, validated key segment")
        return replace(
            self,
            upload_prefix=f"{self.upload_prefix}{owner}/",
            thumbnail_prefix=f"{self.thumbnail_prefix}{owner}/",
            quarantine_prefix=f"{self.quarantine_prefix}{owner}/",
        )

    def _key(self, upload_id: str, image_type: ImageType) -> str:
        return f"{self.upload_prefix}{upload_id}.{image_type.ext}"

    def _upload(self, obj: dict[str, Any], prefix: str | None = None) -> Upload | None:
        """The upload a listed object (under `prefix`, the upload prefix by default) is, or None
        for a key we did not create."""
        name = obj["Key"][len(prefix or self.upload_prefix) :]
        image_type = type_for_key(name)
        if image_type is None or "/" in name:
            return None
        upload_id = name.rsplit(".", 1)[0]
        key = self.upload_prefix + name
        return Upload(upload_id, key, obj["Size"], image_type.content_type, obj["LastModified"])

    def thumbnail_key(self, upload: Upload) -> str:
        return thumbnail_key(upload.key, self.upload_prefix, self.thumbnail_prefix)

    def put(self, data: bytes, image_type: ImageType, filename: str | None) -> Upload:
        """Store a new upload; a conditional write, so an existing object is never replaced."""
        upload_id = new_upload_id()
        key = self._key(upload_id, image_type)
        metadata = _metadata(filename)
        self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=image_type.content_type,
            Metadata=metadata,
            IfNoneMatch="*",
        )
        return Upload(upload_id, key, len(data), image_type.content_type, filename=filename)

    def download_url(self, key: str) -> str:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self.url_expiry
        )

    def origins(self) -> set[str]:
        """Where presigned GETs and POSTs for this bucket point (S3's endpoint for the bucket,
        or `AWS_ENDPOINT_URL`), as `scheme://host[:port]`. Signing is local: no call to S3."""
        key = f"{self.upload_prefix}origin-probe"
        urls = (
            self.download_url(key),
            self.client.generate_presigned_post(Bucket=self.bucket, Key=key)["url"],
        )
        return {f"{part.scheme}://{part.netloc}" for part in map(urlsplit, urls)}

    def presign_post(
        self, image_type: ImageType, max_size: int, filename: str | None = None
    ) -> dict[str, Any]:
        """A presigned POST for one new upload of exactly this type and at most `max_size` bytes;
        the policy also pins the file name the client will send as metadata, if any."""
        upload_id = new_upload_id()
        key = self._key(upload_id, image_type)
        fields = {"Content-Type": image_type.content_type} | _metadata_fields(filename)
        post = self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields=fields,
            Conditions=[
                *({name: value} for name, value in fields.items()),
                ["content-length-range", 1, max_size],
            ],
            ExpiresIn=self.url_expiry,
        )
        return {"id": upload_id, "key": key, "url": post["url"], "fields": post["fields"]}

    def list_page(self, limit: int, start_after: str | None) -> tuple[list[Upload], str | None]:
        """One page of uploads in key order, and the key the next page starts after (if any)."""
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Prefix": self.upload_prefix,
            "MaxKeys": limit,
        }
        if start_after:
            params["StartAfter"] = start_after
        page = self.client.list_objects_v2(**params)
        contents = page.get("Contents", [])
        uploads = [upload for obj in contents if (upload := self._upload(obj))]
        more = page.get("IsTruncated") and contents
        return uploads, contents[-1]["Key"] if more else None

    def find(self, upload_id: str) -> Upload | None:
        """The upload with this id, with its stored metadata, or None."""
        page = self.client.list_objects_v2(
            Bucket=self.bucket, Prefix=f"{self.upload_prefix}{upload_id}.", MaxKeys=10
        )
        for obj in page.get("Contents", []):
            found = self._upload(obj)
            if found is None or found.id != upload_id:
                continue
            head = self._head(found.key)
            if head is None:
                return None  # deleted in between
            filename = head.get("Metadata", {}).get(_FILENAME_METADATA)
            return Upload(
                found.id,
                found.key,
                head["ContentLength"],
                head.get("ContentType") or found.content_type,
                head["LastModified"],
                unquote(filename) if filename else None,
                head.get("ETag"),
            )
        return None

    def find_quarantined(self, upload_id: str) -> Upload | None:
        """The upload with this id if `on_upload` holds it in quarantine (not served, but its
        owner may delete it), else None."""
        page = self.client.list_objects_v2(
            Bucket=self.bucket, Prefix=f"{self.quarantine_prefix}{upload_id}.", MaxKeys=10
        )
        found = (self._upload(obj, self.quarantine_prefix) for obj in page.get("Contents", []))
        return next((upload for upload in found if upload and upload.id == upload_id), None)

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if is_missing(error):
                return None
            raise

    def current_thumbnail(self, upload: Upload) -> dict[str, str] | None:
        """The metadata of the upload's thumbnail if it exists and was made from the upload's
        current bytes: after a presigned ticket was used again, the old one is not offered until
        on_upload replaced it. A thumbnail that records no source (made before thumbnails did)
        counts as current. With `UNREADABLE` set it is on_upload's placeholder for an image it
        kept but cannot decode, not an image."""
        head = self._head(self.thumbnail_key(upload))
        if head is None:
            return None
        metadata = head.get("Metadata") or {}
        made_from = metadata.get(SOURCE_ETAG)
        current = made_from is None or upload.etag is None or made_from == upload.etag
        return metadata if current else None

    def delete(self, upload: Upload) -> None:
        """Remove the thumbnail, then the original and its quarantined copy (so a failure leaves
        nothing orphaned). The original is deleted before and after the copy: whichever of its
        steps a move of `on_upload` is at meanwhile, neither place keeps the upload
        (docs/operations.md, "The quarantine state machine")."""
        held = self.quarantine_prefix + upload.key.removeprefix(self.upload_prefix)
        for key in (self.thumbnail_key(upload), upload.key, held, upload.key):
            self.client.delete_object(Bucket=self.bucket, Key=key)
