"""The `on_upload` function: thumbnails for S3 "object created" events, against moto's S3."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError
from PIL import Image

from scripts.hostile_images import (
    lossless_webp_bomb,
    padding_attack,
    png_bomb,
    repeat_last_scan,
    truncated_jpeg,
)

_PROGRESSIVE = io.BytesIO()
Image.new("RGB", (64, 64), "teal").save(_PROGRESSIVE, "JPEG", progressive=True)
SCANS_BOMB = repeat_last_scan(_PROGRESSIVE.getvalue(), 400)


@dataclass
class OnUpload:
    """The loaded `on_upload` function with the S3 it works on."""

    module: Any
    s3: Any
    bucket: str
    context: Any
    build_event: Callable[..., dict[str, Any]]

    def put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    def send(self, event: dict[str, Any]) -> dict[str, int]:
        return self.module.handler(event, self.context)

    def run(self, *keys: str) -> dict[str, int]:
        return self.send(self.build_event(*keys))

    def object_keys(self) -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        return sorted(obj["Key"] for obj in listing)

    def image(self, key: str) -> tuple[Image.Image, str]:
        obj = self.s3.get_object(Bucket=self.bucket, Key=key)
        image = Image.open(io.BytesIO(obj["Body"].read()))
        image.load()
        return image, obj["ContentType"]


@pytest.fixture
def make_on_upload(load_function, s3, bucket, build_s3_event, lambda_context) -> Any:
    def make(**env: object) -> OnUpload:
        module = load_function("on_upload", **env)
        return OnUpload(module, s3, bucket, lambda_context, build_s3_event)

    return make


@pytest.fixture
def fn(make_on_upload) -> OnUpload:
    return make_on_upload()


def test_thumbnail_fits_max_px_keeping_aspect_ratio(fn, make_image) -> None:
    fn.put("uploads/abc.jpg", make_image("JPEG", (1000, 500)))

    result = fn.run("uploads/abc.jpg")

    assert result == {"processed": 1, "skipped": 0, "removed": 0}
    thumbnail, content_type = fn.image("thumbnails/abc.jpg")
    assert thumbnail.size == (256, 128)
    assert thumbnail.format == "JPEG"
    assert content_type == "image/jpeg"


def test_thumbnail_applies_exif_orientation(fn, make_image) -> None:
    # Orientation 6: stored landscape, displayed rotated 90 degrees (portrait).
    fn.put("uploads/rot.jpg", make_image("JPEG", (1000, 500), orientation=6))

    fn.run("uploads/rot.jpg")

    thumbnail, _ = fn.image("thumbnails/rot.jpg")
    assert thumbnail.size == (128, 256)
    assert thumbnail.getexif().get(0x0112) in (None, 1)


def test_a_thumbnail_logs_no_libvips_progress_at_info(
    make_on_upload, make_image, monkeypatch, caplog
) -> None:
    # Lambda sets the root logger to the function's application log level (INFO by default);
    # libvips reports each decode's steps at INFO, six lines an image billed by CloudWatch.
    monkeypatch.setattr(logging.getLogger("pyvips"), "level", logging.NOTSET)
    caplog.set_level(logging.INFO)
    fn = make_on_upload()
    fn.put("uploads/quiet.png", make_image("PNG", (600, 300)))

    assert fn.run("uploads/quiet.png") == {"processed": 1, "skipped": 0, "removed": 0}

    assert "thumbnails/quiet.png" in fn.object_keys()
    assert [r.getMessage() for r in caplog.records if r.name == "pyvips"] == []


def test_small_image_is_not_upscaled(fn, make_image) -> None:
    fn.put("uploads/small.png", make_image("PNG", (40, 30)))

    fn.run("uploads/small.png")

    thumbnail, _ = fn.image("thumbnails/small.png")
    assert thumbnail.size == (40, 30)


@pytest.mark.parametrize(
    ("fmt", "ext", "content_type"),
    [("PNG", "png", "image/png"), ("GIF", "gif", "image/gif"), ("WEBP", "webp", "image/webp")],
)
def test_thumbnail_keeps_the_format_family(fn, make_image, fmt, ext, content_type) -> None:
    fn.put(f"uploads/pic.{ext}", make_image(fmt, (600, 300)))

    fn.run(f"uploads/pic.{ext}")

    thumbnail, stored_type = fn.image(f"thumbnails/pic.{ext}")
    assert thumbnail.format == fmt
    assert stored_type == content_type
    assert thumbnail.size == (256, 128)


def test_thumbnail_max_px_comes_from_the_environment(make_on_upload, make_image) -> None:
    fn = make_on_upload(THUMBNAIL_MAX_PX=64)
    fn.put("uploads/abc.png", make_image("PNG", (300, 150)))

    fn.run("uploads/abc.png")

    assert fn.image("thumbnails/abc.png")[0].size == (64, 32)


def test_url_encoded_key_with_space_is_decoded(fn, make_image, events_dir) -> None:
    event = json.loads((events_dir / "s3_object_created.json").read_text())
    assert event["Records"][0]["s3"]["object"]["key"] == "uploads/my+photo.jpg"
    fn.put("uploads/my photo.jpg", make_image("JPEG", (300, 300)))

    result = fn.send(event)

    assert result["processed"] == 1
    assert "thumbnails/my photo.jpg" in fn.object_keys()


def test_two_records_in_one_event_are_both_processed(fn, make_image) -> None:
    fn.put("uploads/a.png", make_image("PNG"))
    fn.put("uploads/b.jpg", make_image("JPEG"))

    result = fn.run("uploads/a.png", "uploads/b.jpg")

    assert result == {"processed": 2, "skipped": 0, "removed": 0}
    assert {"thumbnails/a.png", "thumbnails/b.jpg"} <= set(fn.object_keys())


def test_non_image_is_removed_and_logged(fn, caplog) -> None:
    fn.put("uploads/evil.png", b"<html>definitely not a png</html>")

    result = fn.run("uploads/evil.png")

    assert result == {"processed": 0, "skipped": 0, "removed": 1}
    assert fn.object_keys() == []
    [record] = [r for r in caplog.records if r.name == "on_upload"]
    assert (record.key, record.outcome, record.reason) == (
        "uploads/evil.png",
        "removed",
        "not_an_allowed_image",
    )


def test_image_whose_extension_disagrees_with_its_bytes_is_removed(fn, make_image) -> None:
    fn.put("uploads/liar.png", make_image("JPEG"))

    result = fn.run("uploads/liar.png")

    assert result["removed"] == 1
    assert fn.object_keys() == []


def test_corrupt_image_is_removed_and_other_record_still_processed(fn, make_image) -> None:
    fn.put("uploads/broken.jpg", make_image("JPEG", (200, 200))[:40])
    fn.put("uploads/good.png", make_image("PNG"))

    result = fn.send(fn.build_event("uploads/broken.jpg", "uploads/good.png"))

    assert result == {"processed": 1, "skipped": 0, "removed": 1}
    assert fn.object_keys() == ["thumbnails/good.png", "uploads/good.png"]


BOMBS = {
    "uploads/bomb.webp": (lossless_webp_bomb(9459, 9459), "too_many_pixels"),
    "uploads/bomb.png": (png_bomb(9459, 9459), "too_many_pixels"),
    "uploads/scans.jpg": (SCANS_BOMB, "too_many_jpeg_scans"),
    # 4 MiB of empty APP1 segments: libjpeg would keep every one (211 MB of memory).
    "uploads/app1.jpg": (padding_attack("jpeg-app1", 4 * 2**20), "too_many_segments"),
    "uploads/chunks.webp": (padding_attack("webp-chunks", 4 * 2**20), "too_many_segments"),
}


@pytest.mark.parametrize("key", BOMBS)
def test_bombs_are_refused_from_their_header_and_removed(fn, monkeypatch, caplog, key) -> None:
    bomb, reason = BOMBS[key]

    def never(*_args: Any) -> bytes:
        raise AssertionError("a refused image must not be decoded")

    monkeypatch.setattr(fn.module, "make_thumbnail", never)
    fn.put(key, bomb)

    result = fn.run(key)

    assert result == {"processed": 0, "skipped": 0, "removed": 1}
    assert fn.object_keys() == []
    [record] = [r for r in caplog.records if getattr(r, "outcome", None) == "removed"]
    assert record.reason == reason
    [why] = [r for r in caplog.records if r.getMessage() == "image refused before decoding"]
    assert "the limit is" in why.detail


def test_pixel_limit_comes_from_the_environment(make_on_upload, make_image) -> None:
    fn = make_on_upload(IMAGE_MAX_PIXELS=300 * 200 - 1)
    fn.put("uploads/big.png", make_image("PNG", (300, 200)))
    fn.put("uploads/ok.png", make_image("PNG", (299, 200)))

    result = fn.run("uploads/big.png", "uploads/ok.png")

    assert result == {"processed": 1, "skipped": 0, "removed": 1}
    assert fn.object_keys() == ["thumbnails/ok.png", "uploads/ok.png"]


def assert_kept_with_placeholder(fn: OnUpload, key: str, detail: str) -> None:
    """The upload is still there; at its thumbnail key, a line of text marked `unreadable`."""
    thumbnail = key.replace("uploads/", "thumbnails/", 1)
    assert fn.object_keys() == [thumbnail, key]
    placeholder = fn.s3.get_object(Bucket=fn.bucket, Key=thumbnail)
    assert placeholder["ContentType"].startswith("text/plain")
    assert placeholder["Metadata"]["unreadable"] == "unreadable_image"
    assert detail in placeholder["Body"].read().decode()


def test_png_whose_pixel_data_ends_after_10_of_300_rows_is_kept_without_thumbnail(fn) -> None:
    fn.put("uploads/cut.png", png_bomb(300, 300, rows=10))

    result = fn.run("uploads/cut.png")

    assert result == {"processed": 1, "skipped": 0, "removed": 0}
    assert_kept_with_placeholder(fn, "uploads/cut.png", "libpng read error")


def test_jpeg_declaring_5000x5000_whose_data_ends_after_677_bytes_is_kept_not_thumbnailed(
    fn, caplog
) -> None:
    fn.put("uploads/cut.jpg", truncated_jpeg())

    result = fn.run("uploads/cut.jpg")

    assert result == {"processed": 1, "skipped": 0, "removed": 0}
    assert_kept_with_placeholder(fn, "uploads/cut.jpg", "premature end of data segment")
    [record] = [r for r in caplog.records if getattr(r, "outcome", None) == "processed"]
    assert record.reason == "kept_unreadable"


def test_running_out_of_memory_while_decoding_keeps_the_image(fn, make_image, monkeypatch) -> None:
    vips = fn.module.make_thumbnail.__globals__["_vips"]()

    def exhausted(*_args: Any, **_kwargs: Any) -> None:
        raise MemoryError

    monkeypatch.setattr(vips.Image, "thumbnail_source", exhausted)
    fn.put("uploads/huge.png", make_image("PNG"))

    result = fn.run("uploads/huge.png")

    assert result == {"processed": 1, "skipped": 0, "removed": 0}
    assert_kept_with_placeholder(fn, "uploads/huge.png", "MemoryError")


def test_thumbnail_keys_are_ignored_so_it_never_triggers_itself(fn, make_image) -> None:
    fn.put("thumbnails/x.png", make_image("PNG", (600, 600)))

    result = fn.run("thumbnails/x.png")

    assert result == {"processed": 0, "skipped": 1, "removed": 0}
    assert fn.object_keys() == ["thumbnails/x.png"]
    assert fn.image("thumbnails/x.png")[0].size == (600, 600)


def test_records_for_another_bucket_or_event_type_are_ignored(fn, make_image) -> None:
    fn.put("uploads/a.png", make_image("PNG"))
    other_bucket = fn.build_event("uploads/a.png", bucket="someone-elses-bucket")
    removed = fn.build_event("uploads/a.png")
    removed["Records"][0]["eventName"] = "ObjectRemoved:Delete"

    assert fn.send(other_bucket)["skipped"] == 1
    assert fn.send(removed)["skipped"] == 1
    assert fn.send({"Event": "s3:TestEvent"}) == {
        "processed": 0,
        "skipped": 0,
        "removed": 0,
    }
    assert fn.object_keys() == ["uploads/a.png"]


def test_repeated_event_changes_nothing(fn, make_image) -> None:
    fn.put("uploads/abc.png", make_image("PNG", (500, 500)))
    event = fn.build_event("uploads/abc.png")
    fn.send(event)
    before = fn.s3.head_object(Bucket=fn.bucket, Key="thumbnails/abc.png")

    result = fn.send(event)

    after = fn.s3.head_object(Bucket=fn.bucket, Key="thumbnails/abc.png")
    assert result == {"processed": 0, "skipped": 1, "removed": 0}
    assert (after["ETag"], after["LastModified"]) == (before["ETag"], before["LastModified"])
    versions = fn.s3.list_object_versions(Bucket=fn.bucket, Prefix="thumbnails/").get(
        "Versions", []
    )
    assert len(versions) == 1


def test_record_for_an_object_deleted_meanwhile_is_skipped(fn) -> None:
    result = fn.run("uploads/gone.png")

    assert result == {"processed": 0, "skipped": 1, "removed": 0}
    assert fn.object_keys() == []


@pytest.mark.parametrize(
    "case",
    [
        ("get_object", ["quarantine/x.png"]),
        # Quarantine reads the object's version first: denied too, everything stays in place.
        ("head_object", ["thumbnails/x.png", "uploads/x.png"]),
        ("put_object", ["quarantine/x.png"]),
    ],
)
def test_access_denied_is_a_failure_not_a_missing_object(
    fn, make_image, monkeypatch, caplog, case
) -> None:
    operation, kept_as = case
    # With s3:ListBucket on the prefix a missing key is a 404; a 403 is a real denial (a KMS key
    # policy, IAM not yet propagated) and must reach Lambda's retries and dead-letter queue.
    fn.put("uploads/x.png", make_image("PNG"))

    def denied(**_kwargs: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}},
            operation,
        )

    monkeypatch.setattr(fn.module.s3, operation, denied)

    with pytest.raises(fn.module.RecordsFailedError, match=r"uploads/x\.png"):
        fn.run("uploads/x.png")

    assert fn.object_keys() == kept_as
    [failed] = [r for r in caplog.records if getattr(r, "outcome", None) == "failed"]
    assert "AccessDenied" in str(failed.exc_info[1])


def forbidden(operation: str) -> Callable[..., Any]:
    def call(**_kwargs: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}},
            operation,
        )

    return call


def test_403_for_a_key_a_listing_shows_gone_is_a_missing_object(fn, monkeypatch) -> None:
    # Should S3 answer 403 for a missing key despite the prefix-limited s3:ListBucket grant, a
    # listing of the key itself (which that grant allows) tells "gone" from "denied".
    monkeypatch.setattr(fn.module.s3, "get_object", forbidden("GetObject"))

    result = fn.run("uploads/gone.png")

    assert result == {"processed": 0, "skipped": 1, "removed": 0}


def test_403_with_the_listing_denied_too_is_a_failure(fn, monkeypatch) -> None:
    monkeypatch.setattr(fn.module.s3, "get_object", forbidden("GetObject"))
    monkeypatch.setattr(fn.module.s3, "list_objects_v2", forbidden("ListObjectsV2"))

    with pytest.raises(fn.module.RecordsFailedError):
        fn.run("uploads/gone.png")


def test_s3_error_raises_after_processing_the_other_records(
    fn, make_image, monkeypatch, caplog
) -> None:
    fn.put("uploads/ok.png", make_image("PNG"))
    real_get = fn.module.s3.get_object

    def flaky_get(**kwargs: Any) -> Any:
        if kwargs["Key"] == "uploads/fails.png":
            raise ClientError(
                {"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}},
                "GetObject",
            )
        return real_get(**kwargs)

    monkeypatch.setattr(fn.module.s3, "get_object", flaky_get)

    with pytest.raises(fn.module.RecordsFailedError, match=r"uploads/fails\.png"):
        fn.run("uploads/fails.png", "uploads/ok.png")

    assert "thumbnails/ok.png" in fn.object_keys()
    failed = [r for r in caplog.records if getattr(r, "outcome", None) == "failed"]
    assert len(failed) == 1
    assert failed[0].exc_info is not None
