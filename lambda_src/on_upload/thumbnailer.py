"""Make a thumbnail with libvips (pyvips), imported on first use: the slow part of a cold start.

libvips was chosen by measurement (`make bench-thumbnails`, docs/thumbnails.md): it shrinks
JPEG and WebP while decoding and streams PNG row by row, so memory follows the thumbnail, not the
original, for most images. The image's header has been checked against the limits before this runs
(uploads_common.image_header), which bounds the formats that must be decoded whole (GIF, interlaced
PNG, progressive JPEG).

A decoder warning is judged one by one (docs/thumbnails.md, "Decoder warnings"): libvips decodes
with `fail_on=warning`, so the first warning stops it, and the warnings libjpeg itself ignores
(`HARMLESS_JPEG_WARNINGS`) get a second decode in libvips' default mode, which displays the image
as every browser does. Any other warning means pixels that are missing or wrong: no thumbnail.
"""

from __future__ import annotations

import re
from functools import cache

from uploads_common.images import GIF, JPEG, WEBP, ImageType


class UnreadableImageError(Exception):
    """The bytes look like an image (magic bytes) but cannot be decoded safely; `reason` says
    why, for the logs (a refused header names the limit it exceeds)."""

    def __init__(self, message: str, reason: str = "unreadable_image") -> None:
        super().__init__(message)
        self.reason = reason


HARMLESS_JPEG_WARNINGS = re.compile(
    r"VipsJpeg: (?:Corrupt JPEG data: \d+ extraneous bytes before marker 0x[0-9a-f]{2}"
    r"|Warning: unknown JFIF revision number \d+\.\d+"
    r"|Invalid SOS parameters for sequential JPEG)",
)
"""libjpeg's warnings about bytes it skips or fields it ignores, every pixel then decoded as
encoded (jerror.h: JWRN_EXTRANEOUS_DATA, JWRN_JFIF_MAJOR, JWRN_NOT_SEQUENTIAL). The header check
repairs the last two and the bytes between segments before decoding (`decoder_input`), so only
bytes inside the pixel data (junk before a restart or end marker) reach the second decode.
libvips reports only the first warning of a decode (jpeg2vips.c, readjpeg_emit_message), hence
those repairs: a quirk in the header would otherwise hide a warning about the pixel data."""


@cache
def _vips():
    """pyvips, set up for a long-lived process that decodes untrusted images one at a time."""
    import pyvips  # noqa: PLC0415 - lazy on purpose

    # Only the four loaders we accept (and none of libvips' "untrusted" ones) may ever run.
    pyvips.block_untrusted_set(True)
    pyvips.operation_block_set("VipsForeignLoad", True)
    for loader in ("VipsForeignLoadJpeg", "VipsForeignLoadPng", "VipsForeignLoadNsgif"):
        pyvips.operation_block_set(loader, False)
    pyvips.operation_block_set("VipsForeignLoadWebp", False)
    # No operation cache: a warm Lambda container would keep earlier images alive in it.
    pyvips.cache_set_max(0)
    return pyvips


def make_thumbnail(data: bytes, image_type: ImageType, max_px: int) -> bytes:
    """A copy at most `max_px` on its longest side (never upscaled), upright, in the same format.

    The first frame of an animation; transparency kept; CMYK and 16-bit images end up 8-bit sRGB.
    Raises UnreadableImageError for a corrupt or truncated image (any decoder warning but the
    harmless ones: a JPEG whose data ends early would otherwise come out grey), or one that runs
    out of memory.
    """
    try:
        return _thumbnail(data, image_type, max_px, "warning")
    except UnreadableImageError as error:
        if image_type is not JPEG or not _first_warning_is_harmless(error):
            raise
    return _thumbnail(data, image_type, max_px, "none")


def _first_warning_is_harmless(error: UnreadableImageError) -> bool:
    first = re.search(r"VipsJpeg: .*$", str(error), re.MULTILINE)
    return first is not None and HARMLESS_JPEG_WARNINGS.fullmatch(first.group()) is not None


def _thumbnail(data: bytes, image_type: ImageType, max_px: int, fail_on: str) -> bytes:
    vips = _vips()
    # libvips' error buffer is global: what an earlier decode left there must not be read as
    # this one's first warning.
    vips.vips_lib.vips_error_clear()
    try:
        # From a source, not a buffer: libvips then streams a PNG instead of decoding it whole.
        source = vips.Source.new_from_memory(data)
        image = vips.Image.thumbnail_source(
            source, max_px, height=max_px, size="down", option_string=f"fail_on={fail_on}"
        )
        return _encode(image, image_type)
    except (vips.Error, MemoryError) as error:
        raise UnreadableImageError(f"{type(error).__name__}: {error}") from error


def _encode(image, image_type: ImageType) -> bytes:
    if image.format != "uchar":  # 16-bit sources: thumbnails are 8-bit
        image = image.colourspace("srgb" if image.bands >= 3 else "b-w")
    if image_type is JPEG:
        return image.jpegsave_buffer(Q=85, optimize_coding=True, keep="none")
    if image_type is WEBP:
        return image.webpsave_buffer(Q=80, keep="none")
    if image_type is GIF:
        return image.gifsave_buffer(keep="none")
    return image.pngsave_buffer(compression=9, keep="none")
