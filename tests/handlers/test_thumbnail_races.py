"""No orphaned or stale thumbnail: both real handlers on one moto bucket, driven step by step.

The bucket is versioned, as the service's is. A step "between on_upload's read and its write" is
taken inside `make_thumbnail`, which on_upload calls after reading the original and before writing.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from PIL import Image


@dataclass
class Service:
    """The `uploads` API and the `on_upload` function on one versioned bucket."""

    api: Any
    on_upload: Any
    s3: Any
    bucket: str
    build_s3_event: Callable[..., dict[str, Any]]

    def notify(self, key: str) -> dict[str, int]:
        """Deliver S3's "object created" event for `key` to on_upload."""
        return self.on_upload.handler(self.build_s3_event(key), self.api.context)

    def object_keys(self) -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        return sorted(obj["Key"] for obj in listing)

    def thumbnail(self, key: str) -> tuple[tuple[int, int], dict[str, str]]:
        obj = self.s3.get_object(Bucket=self.bucket, Key=key)
        return Image.open(io.BytesIO(obj["Body"].read())).size, obj["Metadata"]

    def presign(self, size: int = 100_000) -> dict[str, Any]:
        body = {"contentType": "image/png", "size": size}
        ticket = self.api.call("POST", "/uploads/presign", body=body)
        assert ticket.status == 201, ticket.body
        return ticket.body

    def post_with(self, ticket: dict[str, Any], data: bytes) -> None:
        """Send `data` to S3 with a presigned POST ticket (again, if it was used before)."""
        files = {"file": ("f.png", data, "image/png")}
        result = requests.post(ticket["url"], data=ticket["fields"], files=files, timeout=5)
        assert result.status_code == 204, result.text

    def between_read_and_write(self, monkeypatch: pytest.MonkeyPatch, step: Callable[[], Any]):
        """Run `step` once, after on_upload has read the original and before it writes."""
        real = self.on_upload.make_thumbnail
        pending = [step]

        def make_thumbnail(*args: Any) -> bytes:
            if pending:
                pending.pop()()
            return real(*args)

        monkeypatch.setattr(self.on_upload, "make_thumbnail", make_thumbnail)


@pytest.fixture
def service(api, load_function, s3, bucket, build_s3_event) -> Service:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return Service(api, load_function("on_upload"), s3, bucket, build_s3_event)


def png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 10)).save(out, "PNG")
    return out.getvalue()


def thumbnail_of(key: str) -> str:
    return key.replace("uploads/", "thumbnails/", 1)


# --- the three races and reuses --------------------------------------------------------------


def test_delete_between_read_and_write_leaves_no_orphan(service, monkeypatch) -> None:
    ticket = service.presign()
    service.post_with(ticket, png((600, 300)))
    deleted = []
    service.between_read_and_write(
        monkeypatch,
        lambda: deleted.append(
            service.api.call("DELETE", "/uploads/{id}", path_params={"id": ticket["id"]})
        ),
    )

    result = service.notify(ticket["key"])

    assert deleted[0].status == 204
    assert result == {"processed": 0, "skipped": 1, "removed": 0}
    assert service.object_keys() == []  # the thumbnail written after the DELETE was removed again
    again = service.api.call("DELETE", "/uploads/{id}", path_params={"id": ticket["id"]})
    assert again.status == 404  # gone, with nothing left behind for a route to reach
    got = service.api.call("GET", "/uploads/{id}", path_params={"id": ticket["id"]})
    assert got.status == 404


def test_ticket_reused_with_a_non_image_removes_the_old_thumbnail(service) -> None:
    ticket = service.presign()
    service.post_with(ticket, png((600, 300)))
    assert service.notify(ticket["key"])["processed"] == 1
    assert thumbnail_of(ticket["key"]) in service.object_keys()

    service.post_with(ticket, b"<html>not an image</html>")
    result = service.notify(ticket["key"])

    assert result == {"processed": 0, "skipped": 0, "removed": 1}
    assert service.object_keys() == []
    got = service.api.call("GET", "/uploads/{id}", path_params={"id": ticket["id"]})
    assert got.status == 404


def test_ticket_reused_with_another_image_regenerates_the_thumbnail(service) -> None:
    ticket = service.presign()
    service.post_with(ticket, png((600, 300)))
    service.notify(ticket["key"])
    assert service.thumbnail(thumbnail_of(ticket["key"]))[0] == (256, 128)

    service.post_with(ticket, png((300, 600)))
    result = service.notify(ticket["key"])

    assert result == {"processed": 1, "skipped": 0, "removed": 0}
    size, metadata = service.thumbnail(thumbnail_of(ticket["key"]))
    assert size == (128, 256)
    current = service.s3.head_object(Bucket=service.bucket, Key=ticket["key"])
    assert metadata == {"source-version-id": current["VersionId"], "source-etag": current["ETag"]}


def test_api_offers_no_thumbnail_of_a_replaced_image_until_it_is_regenerated(service) -> None:
    ticket = service.presign()
    service.post_with(ticket, png((600, 300)))
    service.notify(ticket["key"])

    def get() -> dict[str, Any]:
        return service.api.call("GET", "/uploads/{id}", path_params={"id": ticket["id"]}).body

    assert "thumbnailUrl" in get()

    service.post_with(ticket, png((300, 600)))  # the ticket used again; its event not yet handled

    assert "thumbnailUrl" not in get()
    service.notify(ticket["key"])
    assert "thumbnailUrl" in get()


def test_late_event_for_the_first_image_leaves_the_current_thumbnail(service) -> None:
    ticket = service.presign()
    service.post_with(ticket, png((600, 300)))
    service.post_with(ticket, png((300, 600)))

    # Both events arrive after both uploads (S3 does not order its notifications).
    first, second = service.notify(ticket["key"]), service.notify(ticket["key"])

    assert first["processed"] == 1
    assert second == {"processed": 0, "skipped": 1, "removed": 0}
    assert service.thumbnail(thumbnail_of(ticket["key"]))[0] == (128, 256)


def test_original_replaced_between_read_and_write_ends_with_its_thumbnail(
    service, monkeypatch
) -> None:
    ticket = service.presign()
    service.post_with(ticket, png((600, 300)))
    service.between_read_and_write(monkeypatch, lambda: service.post_with(ticket, png((300, 600))))

    result = service.notify(ticket["key"])

    assert result["processed"] == 1
    assert service.thumbnail(thumbnail_of(ticket["key"]))[0] == (128, 256)


def test_thumbnail_without_a_recorded_source_is_regenerated(service) -> None:
    ticket = service.presign()
    service.post_with(ticket, png((600, 300)))
    old = thumbnail_of(ticket["key"])
    service.s3.put_object(Bucket=service.bucket, Key=old, Body=png((10, 10)))  # an older release's

    result = service.notify(ticket["key"])

    assert result["processed"] == 1
    assert service.thumbnail(old)[0] == (256, 128)


def test_invalid_original_takes_its_thumbnail_along(service, monkeypatch) -> None:
    ticket = service.presign()
    service.post_with(ticket, png((600, 300)))
    service.notify(ticket["key"])
    service.post_with(ticket, png((600, 300))[:60])  # truncated: magic bytes right, data not

    result = service.notify(ticket["key"])

    assert result == {"processed": 0, "skipped": 0, "removed": 1}
    assert service.object_keys() == []


# --- concurrent writes of the thumbnail ------------------------------------------------------


def test_conflict_409_on_the_thumbnail_counts_as_already_written(service, monkeypatch) -> None:
    # Two invocations for the same version: the other one's write wins while S3 answers this one
    # 409 ConditionalRequestConflict.
    ticket = service.presign()
    service.post_with(ticket, png((600, 300)))
    real_put = service.on_upload.s3.put_object

    def put_object(**params: Any) -> Any:
        if params.get("IfNoneMatch") == "*":
            real_put(**params)  # the concurrent writer, same version
            raise ClientError(
                {
                    "Error": {"Code": "ConditionalRequestConflict"},
                    "ResponseMetadata": {"HTTPStatusCode": 409},
                },
                "PutObject",
            )
        return real_put(**params)

    monkeypatch.setattr(service.on_upload.s3, "put_object", put_object)

    result = service.notify(ticket["key"])

    assert result == {"processed": 0, "skipped": 1, "removed": 0}
    assert service.thumbnail(thumbnail_of(ticket["key"]))[0] == (256, 128)


def test_original_that_keeps_changing_is_retried_by_lambda(service, monkeypatch) -> None:
    ticket = service.presign()
    service.post_with(ticket, png((600, 300)))
    real = service.on_upload.make_thumbnail

    def replace_every_time(*args: Any) -> bytes:
        service.post_with(ticket, png((600, 300 + len(service.object_keys()))))
        return real(*args)

    monkeypatch.setattr(service.on_upload, "make_thumbnail", replace_every_time)

    with pytest.raises(service.on_upload.RecordsFailedError):
        service.notify(ticket["key"])
