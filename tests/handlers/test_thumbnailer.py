"""on_upload's thumbnailer (libvips): what users see in a thumbnail stays right, broken images fail.

Pillow is the oracle here: it makes the inputs and reads the outputs.
"""

from __future__ import annotations

import importlib
import io
from typing import Any

import pytest
from PIL import Image, ImageOps

from scripts.hostile_images import png_bomb

RED, GREEN, BLUE = (220, 20, 20), (20, 200, 20), (20, 20, 220)
# Pillow's transpose for each EXIF orientation, and the inverse that makes the stored image.
DISPLAY = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
STORE = DISPLAY | {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


@pytest.fixture
def thumbs(lambda_modules: Any) -> Any:
    lambda_modules("on_upload")
    module = importlib.import_module("thumbnailer")
    images = importlib.import_module("uploads_common.images")
    by_format = {t.pillow_format: t for t in images.IMAGE_TYPES}

    def make(data: bytes, fmt: str, max_px: int = 256) -> Image.Image:
        out = module.make_thumbnail(data, by_format[fmt], max_px)
        image = Image.open(io.BytesIO(out))
        image.load()
        return image

    return type("Thumbs", (), {"make": staticmethod(make), "module": module, "by": by_format})


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def upright() -> Image.Image:
    """80x40: red left half, blue right half, a green square in the top-left corner."""
    image = Image.new("RGB", (80, 40), BLUE)
    image.paste(RED, (0, 0, 40, 40))
    image.paste(GREEN, (0, 0, 12, 12))
    return image


def close(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 50) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_comes_out_upright(thumbs, orientation: int) -> None:
    stored = upright() if orientation == 1 else upright().transpose(STORE[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(stored, "JPEG", quality=95, exif=exif)
    oracle = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    assert close(oracle.getpixel((3, 3)), GREEN)  # the test's own construction is right

    thumbnail = thumbs.make(data, "JPEG").convert("RGB")

    assert thumbnail.size == (80, 40)
    assert close(thumbnail.getpixel((3, 3)), GREEN)
    assert close(thumbnail.getpixel((30, 30)), RED)
    assert close(thumbnail.getpixel((70, 30)), BLUE)
    assert thumbnail.getexif().get(0x0112) in (None, 1)


def test_cmyk_jpeg_keeps_its_colours(thumbs) -> None:
    cmyk = Image.new("CMYK", (400, 200), (0, 255, 255, 0))  # red ink: magenta + yellow
    cmyk.paste((255, 255, 0, 0), (200, 0, 400, 200))  # blue ink: cyan + magenta
    data = encode(cmyk, "JPEG", quality=95)

    thumbnail = thumbs.make(data, "JPEG")

    assert thumbnail.mode == "RGB"
    assert close(thumbnail.getpixel((30, 60)), (230, 30, 40), tolerance=60)
    assert close(thumbnail.getpixel((220, 60)), (40, 50, 150), tolerance=70)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_alpha_channel_is_kept(thumbs, fmt: str) -> None:
    image = Image.new("RGBA", (600, 300), (0, 0, 0, 0))
    image.paste((*RED, 255), (300, 0, 600, 300))
    data = encode(image, fmt, lossless=True) if fmt == "WEBP" else encode(image, fmt)

    thumbnail = thumbs.make(data, fmt).convert("RGBA")

    assert thumbnail.size == (256, 128)
    assert thumbnail.getpixel((20, 60))[3] == 0
    assert close(thumbnail.getpixel((230, 60)), RED, tolerance=5)
    assert thumbnail.getpixel((230, 60))[3] == 255


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_transparency_is_kept(thumbs, fmt: str) -> None:
    image = Image.new("P", (400, 200), 0)
    image.putpalette([0, 0, 0, *RED, *BLUE])
    image.paste(1, (200, 0, 300, 200))
    image.paste(2, (300, 0, 400, 200))
    data = encode(image, fmt, transparency=0)

    thumbnail = thumbs.make(data, fmt).convert("RGBA")

    assert thumbnail.getpixel((20, 60))[3] == 0
    assert close(thumbnail.getpixel((170, 60)), RED, tolerance=30)
    assert thumbnail.getpixel((170, 60))[3] == 255
    assert close(thumbnail.getpixel((240, 60)), BLUE, tolerance=30)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animation_gives_its_first_frame_only(thumbs, fmt: str) -> None:
    frames = [Image.new("RGB", (300, 300), colour) for colour in (RED, GREEN, BLUE)]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)

    thumbnail = thumbs.make(data, fmt)

    assert thumbnail.format == fmt
    assert getattr(thumbnail, "n_frames", 1) == 1
    assert thumbnail.size == (256, 256)
    assert close(thumbnail.convert("RGB").getpixel((128, 128)), RED, tolerance=30)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_same_format_out_as_in_never_upscaled(thumbs, make_image, fmt: str) -> None:
    assert thumbs.make(make_image(fmt, (1000, 500)), fmt).format == fmt
    assert thumbs.make(make_image(fmt, (100, 50)), fmt).size == (100, 50)


def test_16_bit_png_becomes_an_8_bit_thumbnail(thumbs) -> None:
    deep = Image.new("I;16", (600, 300), 40000)
    data = encode(deep, "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")

    thumbnail = thumbs.make(data, "PNG")

    assert thumbnail.mode in ("L", "RGB")
    assert abs(thumbnail.convert("L").getpixel((100, 50)) - 40000 * 255 // 65535) <= 2


def test_png_whose_pixel_data_ends_after_10_of_300_rows_is_unreadable(thumbs) -> None:
    truncated = png_bomb(300, 300, rows=10)
    Image.open(io.BytesIO(truncated)).load()  # Pillow would decode it, making up the rest

    with pytest.raises(thumbs.module.UnreadableImageError):
        thumbs.make(truncated, "PNG")


@pytest.mark.parametrize("fmt", ["JPEG", "GIF", "WEBP"])
def test_truncated_pixel_data_is_unreadable(thumbs, make_image, fmt: str) -> None:
    data = make_image(fmt, (300, 300))

    with pytest.raises(thumbs.module.UnreadableImageError):
        thumbs.make(data[: len(data) - 40], fmt)


def test_out_of_memory_is_reported_as_unreadable(thumbs, make_image, monkeypatch) -> None:
    vips = thumbs.module._vips()

    def exhausted(*_args: Any, **_kwargs: Any) -> None:
        raise MemoryError

    monkeypatch.setattr(vips.Image, "thumbnail_source", exhausted)

    with pytest.raises(thumbs.module.UnreadableImageError, match="MemoryError"):
        thumbs.make(make_image("PNG"), "PNG")


def test_only_the_four_accepted_loaders_may_run(thumbs, tmp_path) -> None:
    vips = thumbs.module._vips()
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'

    with pytest.raises(vips.Error):
        vips.Image.new_from_buffer(svg, "").avg()
