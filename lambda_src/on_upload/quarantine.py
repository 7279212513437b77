"""Uploads that could not be checked: out of sight under the quarantine prefix until a check
succeeds.

When checking an upload fails for a reason other than its content (a bug, a throttle, S3 failing,
a timeout near), `on_upload` moves it from `uploads/<rest>` to `quarantine/<rest>`: the API lists
and serves only `uploads/`, so an unchecked upload is never offered as a valid image. A retry or a
redrive of the event checks it there again; if the check passes it is moved back (the copy's own
"object created" event then makes its thumbnail), if its content is refused it is removed. What
nobody redrives is deleted by the bucket's lifecycle rule on the quarantine prefix.

Each move is made safe against everything else that touches the key (the owner's DELETE, a new
upload under the same key, a retried request, a kill) by naming exact versions and by S3's
conditional writes; docs/operations.md ("The quarantine state machine") walks through every
interleaving:

- the copy names the source version (`CopySource.VersionId`) and never overwrites a current object
  at the target (`IfNoneMatch="*"`, which S3 honours on CopyObject: API_CopyObject, request header
  `If-None-Match`);
- a hold hides the original with a delete marker only while its current version still has the
  ETag that was copied (`DeleteObject` `IfMatch`; conditional-deletes.html): its older versions
  stay below the marker, and nothing older is ever promoted to current;
- a release takes effect only if the quarantined version is still current after the copy (the
  owner's DELETE puts a delete marker on it); otherwise the copy it made is removed again;
- every removal of a version names it (`DeleteObject` `VersionId`), so a request botocore retries
  removes that version again or nothing, never one written since.

The quarantined copy counts the holds since the last check that finished in time (metadata
`quarantine-holds`), which bounds how often the timeout guard may hold and release one upload.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from thumbnail_sync import ThumbnailStore
from uploads_common.s3errors import is_missing, lost_conditional_write

HOLDS = "quarantine-holds"
"""Metadata: holds since the last check that finished in time (kept across a release after the
timeout guard, dropped by a release after a check in time)."""
HELD_FROM = "quarantine-held-from"
"""Metadata of a quarantined copy: the upload version it was copied from."""
RELEASED_FROM = "quarantine-released-from"
"""Metadata of a released upload: the quarantined version it was copied from."""

RELEASED, SUPERSEDED, GONE = "released", "superseded", "gone"
UNVERSIONED = "null"
"""The version id S3 gives objects in a bucket without versioning (moves then work as before)."""


@dataclass(frozen=True)
class Version:
    """One version of an object, as a move needs it: what to copy, compare and keep."""

    key: str
    version_id: str
    etag: str
    content_type: str
    metadata: dict[str, str]

    @property
    def holds(self) -> int:
        value = self.metadata.get(HOLDS, "0")
        return int(value) if value.isdigit() else 0


class QuarantineBusyError(RuntimeError):
    """Another invocation moved the same upload at the same moment: nothing was moved by this
    one; the record fails and a retry settles it."""


@dataclass(frozen=True)
class Quarantine:
    """Moves between the upload prefix and the quarantine prefix of one versioned bucket."""

    store: ThumbnailStore
    upload_prefix: str
    prefix: str

    def key(self, upload_key: str) -> str:
        """`uploads/a/b.png` -> `quarantine/a/b.png`."""
        return self.prefix + upload_key.removeprefix(self.upload_prefix)

    def held(self, upload_key: str) -> Version | None:
        """The quarantined copy's current version, or None if there is none."""
        return self._current(self.key(upload_key))

    def read(self, upload_key: str) -> tuple[Version, bytes] | None:
        """The quarantined copy's current version and its bytes, or None if there is none."""
        key = self.key(upload_key)
        client: Any = self.store.client
        try:
            response = client.get_object(Bucket=self.store.bucket, Key=key)
        except ClientError as error:
            self.store.missing_or_raise(key, error)
            return None
        return _version(key, response), response["Body"].read()

    def hold(self, upload_key: str) -> bool:
        """Move an upload into quarantine; False if it no longer exists (nothing to hide), or
        was deleted or replaced while it was being moved (what is there now is not ours).

        QuarantineBusyError if the quarantine key keeps being taken by someone else."""
        original = self._current(upload_key)
        if original is None:
            return False
        target = self.key(upload_key)
        kept = {k: v for k, v in original.metadata.items() if k != RELEASED_FROM}
        metadata = kept | {HOLDS: str(original.holds + 1), HELD_FROM: original.version_id}
        copied = self._copy(original, target, metadata)
        if copied is None:
            there = self._current(target)
            if there is not None and there.metadata.get(HELD_FROM) == original.version_id:
                # An earlier hold of this very version copied it and stopped (a kill): finish it.
                return self._hide(original)
            if there is not None:
                # A copy of an older version, or the source of a release already copied back:
                # what is in place now supersedes it.
                self._delete_version(target, there.version_id)
            copied = self._copy(original, target, metadata)
            if copied is None:
                raise QuarantineBusyError(f"{target} keeps being written by someone else")
        if self._hide(original):
            return True
        # Deleted or replaced since it was read (the owner's DELETE, a new upload): the copy
        # must not outlive the owner's delete, nor stand for a version that is not current.
        self._delete_version(target, copied)
        return False

    def release(self, held: Version, *, keep_holds: bool) -> str:
        """Move a quarantined copy back: RELEASED; SUPERSEDED when an upload is in place now
        (a newer one, or this one released by another invocation); GONE when the owner deleted
        it meanwhile. `keep_holds` carries the hold count along (a release after the timeout
        guard), else it starts again from zero (a check that finished in time)."""
        upload_key = self.upload_prefix + held.key.removeprefix(self.prefix)
        metadata = {k: v for k, v in held.metadata.items() if k not in (HOLDS, HELD_FROM)}
        metadata[RELEASED_FROM] = held.version_id
        if keep_holds:
            metadata[HOLDS] = str(held.holds)
        copied = self._copy(held, upload_key, metadata)
        if copied is None:
            in_place = self._current(upload_key)
            if in_place is None:  # there a moment ago: moved by someone else; a retry settles it
                raise QuarantineBusyError(f"{upload_key} changed while it was being released")
            if in_place.metadata.get(RELEASED_FROM) != held.version_id:
                self._delete_version(held.key, held.version_id)  # older than what is in place
            return SUPERSEDED
        now = self._current(held.key)
        if now is not None and now.version_id == held.version_id:
            self._delete_version(held.key, held.version_id)
        elif self._exists(held):
            # Still there, but no longer current: the owner's DELETE put a marker on it.
            self._delete_version(upload_key, copied)
            return GONE
        # Else it is gone for good: another invocation finished this move (or held the copy).
        return RELEASED

    def discard(self, held: Version) -> None:
        """Remove exactly this quarantined version (its content was refused)."""
        self._delete_version(held.key, held.version_id)

    def _exists(self, version: Version) -> bool:
        """Whether this exact version still exists (current or not)."""
        client: Any = self.store.client
        try:
            client.head_object(
                Bucket=self.store.bucket, Key=version.key, VersionId=version.version_id
            )
        except ClientError as error:
            if is_missing(error):
                return False
            raise
        return True

    def _current(self, key: str) -> Version | None:
        client: Any = self.store.client
        try:
            return _version(key, client.head_object(Bucket=self.store.bucket, Key=key))
        except ClientError as error:
            self.store.missing_or_raise(key, error)
            return None

    def _copy(self, source: Version, target: str, metadata: dict[str, str]) -> str | None:
        """Copy exactly `source` to `target` if nothing is current there: the new version's id,
        or None if something is."""
        client: Any = self.store.client
        bucket = self.store.bucket
        try:
            response = client.copy_object(
                Bucket=bucket,
                Key=target,
                CopySource={"Bucket": bucket, "Key": source.key, "VersionId": source.version_id},
                MetadataDirective="REPLACE",
                ContentType=source.content_type,
                Metadata=metadata,
                IfNoneMatch="*",
            )
        except ClientError as error:
            if lost_conditional_write(error):
                return None
            raise
        return response.get("VersionId") or UNVERSIONED

    def _hide(self, version: Version) -> bool:
        """Hide `version` behind a delete marker if it is still the current one (same ETag)."""
        client: Any = self.store.client
        try:
            client.delete_object(Bucket=self.store.bucket, Key=version.key, IfMatch=version.etag)
        except ClientError as error:
            if lost_conditional_write(error) or is_missing(error):
                return False
            raise
        return True

    def _delete_version(self, key: str, version_id: str) -> None:
        """Remove one version for good; the key's other versions are untouched, so a retried
        request never removes what was written since."""
        client: Any = self.store.client
        client.delete_object(Bucket=self.store.bucket, Key=key, VersionId=version_id)


def _version(key: str, response: dict[str, Any]) -> Version:
    """From a HeadObject or GetObject response."""
    return Version(
        key,
        response.get("VersionId") or UNVERSIONED,
        response.get("ETag") or "",
        response.get("ContentType") or "binary/octet-stream",
        dict(response.get("Metadata") or {}),
    )
