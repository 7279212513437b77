"""`POST /uploads` refuses from the header what on_upload could not decode: 413 or 415, with a
message that names the limit, and nothing stored."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image

from scripts.hostile_images import lossless_webp_bomb, padding_attack, png_bomb, repeat_last_scan


def post(api: Any, data: bytes, content_type: str) -> Any:
    return api.call("POST", "/uploads", body=data, headers={"content-type": content_type})


def assert_refused(response: Any, s3: Any, bucket: str, status: int, code: str) -> str:
    assert response.status == status, response.body
    assert response.body["error"]["code"] == code
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    return response.body["error"]["message"]


@pytest.mark.parametrize(
    ("bomb", "content_type"),
    [(lossless_webp_bomb(9459, 9459), "image/webp"), (png_bomb(9459, 9459), "image/png")],
    ids=["webp", "png"],
)
def test_decompression_bombs_are_413_naming_the_pixel_limit(
    api: Any, s3: Any, bucket: str, bomb: bytes, content_type: str
) -> None:
    message = assert_refused(post(api, bomb, content_type), s3, bucket, 413, "too_many_pixels")

    assert message.startswith("the image is 9459x9459 pixels (89.5 megapixels)")
    assert "the limit is 25585254 pixels" in message


def test_pixel_limit_comes_from_the_environment(make_api: Any, s3: Any, bucket: str) -> None:
    api = make_api(IMAGE_MAX_PIXELS=5000)
    image = io.BytesIO()
    Image.new("RGB", (100, 51), "red").save(image, "PNG")
    body = {"image": base64.b64encode(image.getvalue()).decode()}

    message = assert_refused(
        api.call("POST", "/uploads", body=body), s3, bucket, 413, "too_many_pixels"
    )

    assert "the limit is 5000 pixels" in message


def test_too_many_frames_is_413(make_api: Any, s3: Any, bucket: str) -> None:
    api = make_api(IMAGE_MAX_FRAMES=2)
    frames = [Image.new("RGB", (20, 20), c) for c in ("red", "green", "blue")]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])

    message = assert_refused(
        post(api, gif.getvalue(), "image/gif"), s3, bucket, 413, "too_many_frames"
    )

    assert message == "the animation has more than 2 frames; the limit is 2 frames"


def test_progressive_jpeg_with_400_repeated_scans_is_415(api: Any, s3: Any, bucket: str) -> None:
    progressive = io.BytesIO()
    Image.new("RGB", (64, 64), "teal").save(progressive, "JPEG", progressive=True)
    bomb = repeat_last_scan(progressive.getvalue(), 400)

    message = assert_refused(post(api, bomb, "image/jpeg"), s3, bucket, 415, "too_many_jpeg_scans")

    assert message == "the JPEG has more than 32 scans; the limit is 32 scans"


def test_truncated_image_is_415(api: Any, s3: Any, bucket: str, make_image: Any) -> None:
    jpeg = make_image("JPEG", (200, 200))

    message = assert_refused(
        post(api, jpeg[: len(jpeg) // 2], "image/jpeg"), s3, bucket, 415, "invalid_image"
    )

    assert "truncated" in message


@pytest.mark.parametrize(
    ("content_type", "attack"),
    [("image/jpeg", "jpeg-app1"), ("image/png", "png-text"), ("image/gif", "gif-comments")],
)
def test_millions_of_empty_segments_are_415(
    api: Any, s3: Any, bucket: str, content_type: str, attack: str
) -> None:
    data = padding_attack(attack, 3 * 2**20)

    message = assert_refused(post(api, data, content_type), s3, bucket, 415, "too_many_segments")

    assert message.endswith("besides its pixel data; the limit is 1000")
