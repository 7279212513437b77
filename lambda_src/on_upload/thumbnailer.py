"""Make a thumbnail with Pillow (imported on first use: it is the slow part of a cold start)."""

from __future__ import annotations

import warnings
from io import BytesIO

from uploads_common.images import GIF, JPEG, ImageType


class UnreadableImageError(Exception):
    """The bytes look like an image (magic bytes) but Pillow cannot decode them safely."""


def make_thumbnail(data: bytes, image_type: ImageType, max_px: int) -> bytes:
    """A copy at most `max_px` on its longest side (never upscaled), upright, in the same format.

    Raises UnreadableImageError for a corrupt image or one over Pillow's decompression-bomb limit
    (`PIL.Image.MAX_IMAGE_PIXELS`; its warning threshold counts as over the limit here).
    """
    from PIL import Image, ImageOps  # noqa: PLC0415 - lazy on purpose

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(data), formats=[image_type.pillow_format]) as original:
                if image_type is JPEG:
                    original.draft("RGB", (max_px, max_px))  # decode at a reduced scale
                image = ImageOps.exif_transpose(original)
                if image_type is GIF:
                    image = image.convert("RGBA")  # resize in full colour; saving re-quantizes
                image.thumbnail((max_px, max_px))
                return _encode(image, image_type)
    except (
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
    ) as error:
        raise UnreadableImageError(f"{type(error).__name__}: {error}") from error


def _encode(image, image_type: ImageType) -> bytes:
    out = BytesIO()
    if image_type is JPEG:
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=85, optimize=True)
    elif image_type.pillow_format == "WEBP":
        image.save(out, "WEBP", quality=80)
    else:
        image.save(out, image_type.pillow_format, optimize=True)
    return out.getvalue()
