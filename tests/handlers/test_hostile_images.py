"""The attacks on the header check and the thumbnailer (issue 19, items 1-3), each reproduced and
refused: pieces that are not pixels by the million, pixel data in tiny pieces, a run of fill bytes,
metadata a decoder would keep, and a JPEG whose pixel data ends early. Their CPU time and memory are
measured by `make bench-thumbnails`, not here."""

from __future__ import annotations

import importlib
import io
from typing import Any

import pytest
from PIL import Image

from scripts.hostile_images import (
    PADDING_ATTACKS,
    padding_attack,
    png_chunk,
    truncated_jpeg,
)

MB = 2**20


@pytest.fixture
def hdr(lambda_modules: Any) -> Any:
    return importlib.import_module("uploads_common.image_header")


@pytest.fixture
def thumbnailer(lambda_modules: Any) -> Any:
    lambda_modules("on_upload")
    return importlib.import_module("thumbnailer")


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


SMALL = Image.new("RGB", (64, 48), "teal")
JPEG, PNG = encode(SMALL, "JPEG"), encode(SMALL, "PNG")


REFUSED = [name for name, (_, code) in PADDING_ATTACKS.items() if code != "invalid_image"]


@pytest.mark.parametrize("attack", REFUSED)
def test_millions_of_tiny_pieces_are_refused_at_the_first_limit(hdr, attack: str) -> None:
    with pytest.raises(hdr.RefusedImageError) as raised:
        hdr.read_header(padding_attack(attack, 4 * MB), hdr.ImageLimits.from_env({}))

    refusal = raised.value.refusal
    assert (refusal.code, refusal.too_large) == (PADDING_ATTACKS[attack][1], False)
    assert "more than" in refusal.message  # counted up to the limit, not to the end of the file


def test_metadata_over_its_byte_limit_is_413(hdr) -> None:
    xmp = b"http://ns.adobe.com/xap/1.0/\0" + b"x" * 65000
    segment = b"\xff\xe1" + (len(xmp) + 2).to_bytes(2, "big") + xmp
    data = JPEG[:2] + segment * 130 + JPEG[2:]  # 8.1 MiB in 130 segments

    with pytest.raises(hdr.RefusedImageError) as raised:
        hdr.read_header(data, hdr.ImageLimits.from_env({}))

    assert (raised.value.refusal.code, raised.value.refusal.too_large) == (
        "too_much_metadata",
        True,
    )
    assert hdr.read_header(JPEG[:2] + segment * 120 + JPEG[2:], hdr.ImageLimits.from_env({}))


def test_segment_limit_is_inclusive(hdr) -> None:
    base = hdr.read_header(JPEG, hdr.ImageLimits.from_env({})).segments
    padded = JPEG[:2] + b"\xff\xfe\x00\x02" * (hdr.MAX_SEGMENTS - base) + JPEG[2:]

    assert hdr.read_header(padded, hdr.ImageLimits.from_env({})).segments == hdr.MAX_SEGMENTS
    with pytest.raises(hdr.RefusedImageError, match="more than 1000 markers"):
        hdr.read_header(padded[:2] + b"\xff\xfe\x00\x02" + padded[2:], hdr.ImageLimits.from_env({}))


def test_a_run_of_fill_bytes_in_the_scan_is_invalid(hdr) -> None:
    with pytest.raises(hdr.InvalidImageError, match="expected a marker"):
        hdr.read_header(padding_attack("jpeg-fill-run", 4 * MB), hdr.ImageLimits.from_env({}))


def test_ordinary_animations_stay_within_the_piece_limits(hdr) -> None:
    frames = [Image.new("L", (32, 32), 0) for _ in range(1000)]
    for i, frame in enumerate(frames):
        frame.putpixel((i % 32, i // 32), 255)  # each frame differs, so none is merged
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=20)
    apng = encode(SMALL, "PNG", save_all=True, append_images=[SMALL.rotate(90)] * 99)

    assert hdr.read_header(gif, hdr.ImageLimits.from_env({})).frames == 1000
    assert hdr.read_header(apng, hdr.ImageLimits.from_env({})).frames == 100


# --- metadata the decoder would keep ----------------------------------------------------------


def with_metadata(orientation: int) -> bytes:
    """A JPEG with EXIF orientation, an ICC profile, 256 KiB of XMP, IPTC and a comment."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    image = Image.new("RGB", (80, 40), (200, 20, 20))
    image.paste((20, 200, 20), (0, 0, 12, 12))
    data = encode(image, "JPEG", exif=exif, icc_profile=b"\0" * 600)
    xmp = b"http://ns.adobe.com/xap/1.0/\0" + b"<x/>" * 16000
    extra = b"".join(
        b"\xff" + bytes([code]) + (len(body) + 2).to_bytes(2, "big") + body
        for code, body in [(0xE1, xmp)] * 4 + [(0xED, b"Photoshop 3.0\0"), (0xFE, b"hello")]
    )
    return data[:2] + extra + data[2:]


def test_unneeded_metadata_is_not_handed_to_the_decoder(hdr) -> None:
    data = with_metadata(orientation=6)
    header = hdr.read_header(data, hdr.ImageLimits.from_env({}))

    lean = hdr.decoder_input(data, header)

    assert len(data) - len(lean) > 4 * 64000
    for dropped in (b"http://ns.adobe.com", b"Photoshop", b"hello"):
        assert dropped not in lean
    kept = Image.open(io.BytesIO(lean))
    assert kept.getexif()[0x0112] == 6
    assert kept.info["icc_profile"] == b"\0" * 600
    assert kept.size == (80, 40)


def test_a_little_unneeded_metadata_is_not_worth_a_copy(hdr) -> None:
    data = encode(SMALL, "JPEG", comment=b"a comment")
    header = hdr.read_header(data, hdr.ImageLimits.from_env({}))

    assert header.unneeded
    assert hdr.decoder_input(data, header) is data


def test_png_text_chunks_are_dropped(hdr) -> None:
    text = png_chunk(b"tEXt", b"Comment\0" + b"x" * 70000)
    data = PNG[:33] + text + PNG[33:]
    header = hdr.read_header(data, hdr.ImageLimits.from_env({}))

    lean = hdr.decoder_input(data, header)

    assert lean == PNG
    assert Image.open(io.BytesIO(lean)).size == (64, 48)


def test_thumbnail_of_the_lean_copy_is_still_upright(hdr, thumbnailer) -> None:
    images = importlib.import_module("uploads_common.images")
    data = with_metadata(orientation=6)
    lean = hdr.decoder_input(data, hdr.read_header(data, hdr.ImageLimits.from_env({})))

    thumbnail = Image.open(io.BytesIO(thumbnailer.make_thumbnail(lean, images.JPEG, 256)))

    assert thumbnail.size == (40, 80)


# --- a JPEG whose pixel data ends early -------------------------------------------------------


def test_jpeg_whose_pixel_data_ends_early_is_refused_not_thumbnailed(hdr, thumbnailer) -> None:
    images = importlib.import_module("uploads_common.images")
    data = truncated_jpeg()
    header = hdr.read_header(data, hdr.ImageLimits.from_env({}))
    assert (len(data), header.width, header.height) == (677, 5000, 5000)  # the header is intact

    with pytest.raises(thumbnailer.UnreadableImageError, match="premature end of data segment"):
        thumbnailer.make_thumbnail(data, images.JPEG, 256)
