"""uploads_common.image_header: the header of every accepted format, read without decoding, and
the limits that refuse bombs before anything decodes them."""

from __future__ import annotations

import importlib
import io
from typing import Any

import pytest
from PIL import Image

from components.upload_service import UploadServiceArgs
from scripts.hostile_images import jpeg_scans, lossless_webp_bomb, png_bomb, repeat_last_scan


@pytest.fixture
def hdr(lambda_modules: Any) -> Any:
    return importlib.import_module("uploads_common.image_header")


def read(hdr: Any, data: bytes, limits: Any = None) -> Any:
    """The header under generous limits (or `limits`)."""
    return hdr.read_header(data, limits or hdr.ImageLimits(10**9, 10**6, 10**6))


def refused(hdr: Any, data: bytes, limits: Any) -> Any:
    """The refusal that reading `data` under `limits` raises."""
    with pytest.raises(hdr.RefusedImageError) as raised:
        hdr.read_header(data, limits)
    return raised.value.refusal


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def animation(fmt: str, frames: int, size: tuple[int, int] = (60, 40)) -> bytes:
    images = [Image.new("RGB", size, (i * 40 % 256, 90, 200)) for i in range(frames)]
    return encode(images[0], fmt, save_all=True, append_images=images[1:], duration=50)


@pytest.mark.parametrize(
    ("fmt", "params"),
    [
        ("JPEG", {}),
        ("PNG", {}),
        ("GIF", {}),
        ("WEBP", {}),
        ("WEBP", {"lossless": True}),
    ],
)
def test_width_and_height_of_every_format(hdr, fmt: str, params: dict[str, Any]) -> None:
    header = read(hdr, encode(Image.new("RGB", (321, 123), "red"), fmt, **params))

    assert (header.image_type.ext, header.width, header.height, header.frames) == (
        {"JPEG": "jpg"}.get(fmt, fmt.lower()),
        321,
        123,
        1,
    )


def test_webp_with_alpha_uses_the_extended_header(hdr) -> None:
    data = encode(Image.new("RGBA", (500, 20), (1, 2, 3, 4)), "WEBP")
    assert data[12:16] == b"VP8X"

    assert (read(hdr, data).width, read(hdr, data).height) == (500, 20)


@pytest.mark.parametrize(("fmt", "frames"), [("GIF", 7), ("WEBP", 5), ("PNG", 4)])
def test_animations_count_their_frames(hdr, fmt: str, frames: int) -> None:
    header = read(hdr, animation(fmt, frames))

    assert (header.frames, header.width, header.height) == (frames, 60, 40)


def test_gif_frame_larger_than_the_screen_counts_at_its_full_extent(hdr) -> None:
    data = bytearray(encode(Image.new("RGB", (50, 50), "blue"), "GIF"))
    descriptor = data.index(b"\x2c")
    data[descriptor + 1 : descriptor + 5] = (3000).to_bytes(2, "little") * 2  # left, top

    header = read(hdr, bytes(data))

    assert (header.width, header.height) == (3050, 3050)


def test_jpeg_scans_baseline_and_progressive(hdr) -> None:
    photo = Image.radial_gradient("L").convert("RGB").resize((200, 150))

    baseline = read(hdr, encode(photo, "JPEG"))
    progressive = read(hdr, encode(photo, "JPEG", progressive=True))

    assert (baseline.scans, baseline.progressive) == (1, False)
    assert progressive.progressive
    assert progressive.scans == len(jpeg_scans(encode(photo, "JPEG", progressive=True))) > 5


def test_repeated_scans_are_counted_and_refused(hdr) -> None:
    progressive = encode(Image.new("RGB", (64, 64), "green"), "JPEG", progressive=True)
    bomb = repeat_last_scan(progressive, 400)

    refusal = refused(hdr, bomb, hdr.ImageLimits(10**8, 1000, 32))

    assert read(hdr, bomb).scans == len(jpeg_scans(progressive)) + 399
    assert (refusal.code, refusal.too_large) == ("too_many_jpeg_scans", False)
    assert refusal.message == "the JPEG has more than 32 scans; the limit is 32 scans"


@pytest.mark.parametrize(
    "bomb", [lossless_webp_bomb(9459, 9459), png_bomb(9459, 9459)], ids=["webp", "png"]
)
def test_bombs_are_read_from_a_few_bytes_and_refused(hdr, bomb: bytes) -> None:
    header = read(hdr, bomb)

    refusal = refused(hdr, bomb, hdr.ImageLimits(32_000_000, 1000, 32))

    assert (header.width, header.height) == (9459, 9459)
    assert (refusal.code, refusal.too_large) == ("too_many_pixels", True)
    assert "9459x9459 pixels (89.5 megapixels); the limit is 32000000 pixels" in refusal.message


def test_limits_are_inclusive_and_frames_have_their_own(hdr) -> None:
    data = animation("GIF", 3, (100, 10))

    assert hdr.read_header(data, hdr.ImageLimits(1000, 3, 32)).frames == 3
    assert refused(hdr, data, hdr.ImageLimits(999, 3, 32)).code == "too_many_pixels"
    assert refused(hdr, data, hdr.ImageLimits(1000, 2, 32)).code == "too_many_frames"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_truncated_files_are_invalid(hdr, make_image, fmt: str) -> None:
    data = make_image(fmt, (200, 100))

    with pytest.raises(hdr.InvalidImageError):
        read(hdr, data[: len(data) * 2 // 3])


@pytest.mark.parametrize("cut", [9, 14, 20, 30])
def test_cut_inside_the_first_structures_is_invalid_not_a_crash(hdr, make_image, cut: int) -> None:
    for fmt in ("JPEG", "PNG", "GIF", "WEBP"):
        with pytest.raises(hdr.InvalidImageError):
            read(hdr, make_image(fmt)[:cut])


def test_non_image_and_zero_size_are_invalid(hdr) -> None:
    zero_width = png_bomb(1, 1).replace(b"IHDR\x00\x00\x00\x01", b"IHDR\x00\x00\x00\x00", 1)

    with pytest.raises(hdr.InvalidImageError, match="not a JPEG, PNG, GIF or WebP"):
        read(hdr, b"hello")
    with pytest.raises(hdr.InvalidImageError, match="declares no pixels"):
        read(hdr, zero_width)


def test_default_limits_are_what_upload_service_sets_by_default(hdr) -> None:
    derived = UploadServiceArgs().image_limits()

    assert hdr.ImageLimits.from_env({}) == hdr.ImageLimits(
        derived.max_pixels, derived.max_frames, derived.max_jpeg_scans
    )


def test_limits_from_the_environment(hdr) -> None:
    env = {"IMAGE_MAX_PIXELS": "5000", "IMAGE_MAX_FRAMES": "7", "JPEG_MAX_SCANS": "12"}

    assert hdr.ImageLimits.from_env(env) == hdr.ImageLimits(5000, 7, 12)
    with pytest.raises(Exception, match="IMAGE_MAX_PIXELS must be at least 1"):
        hdr.ImageLimits.from_env({"IMAGE_MAX_PIXELS": "0"})
