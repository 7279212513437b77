"""Read an image's header without decoding its pixels, and refuse images too costly to decode.

Pure Python, so both functions use it (the `uploads` function has no imaging library). It walks the
container structure only: JPEG markers, PNG chunks, GIF blocks, WebP (RIFF) chunks. That gives the
figures that decide how much memory and CPU a decoder would need: width x height, the number of
frames (animated GIF, APNG, WebP) and, for JPEG, the number of scans (a progressive JPEG's decoder
works through every scan, so repeated scans are a CPU bomb that costs a few bytes each).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from uploads_common.config import env_int
from uploads_common.images import GIF, JPEG, PNG, WEBP, ImageType, detect_image_type


class InvalidImageError(ValueError):
    """The bytes are not a well-formed image of their type (truncated, or a broken structure)."""


@dataclass(frozen=True)
class ImageHeader:
    """What the header declares; `scans` counts JPEG start-of-scan segments (0 for other types)."""

    image_type: ImageType
    width: int
    height: int
    frames: int = 1
    scans: int = 0
    progressive: bool = False

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass(frozen=True)
class ImageLimits:
    """What one image may cost to decode; derived from `on_upload`'s memory by UploadService."""

    max_pixels: int
    """Largest width x height (of the canvas, or of the largest frame if bigger)."""
    max_frames: int
    """Most frames in an animation (only the first is decoded, but every frame is parsed)."""
    max_jpeg_scans: int
    """Most scans in a JPEG (a baseline JPEG has 1 to 4, a progressive one about 10)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ImageLimits:
        """IMAGE_MAX_PIXELS, IMAGE_MAX_FRAMES and JPEG_MAX_SCANS, as UploadService sets them from
        `on_upload`'s memory; the defaults are what it sets for its default 512 MB."""
        return cls(
            env_int("IMAGE_MAX_PIXELS", 25_585_254, environ=environ),
            env_int("IMAGE_MAX_FRAMES", 1000, environ=environ),
            env_int("JPEG_MAX_SCANS", 32, environ=environ),
        )


@dataclass(frozen=True)
class Refusal:
    """Why an image is refused before decoding: `code` for logs and the API, `message` to read."""

    code: str
    message: str
    too_large: bool
    """True for a size limit (pixels, frames: HTTP 413), False for a content problem (415)."""


def refusal(header: ImageHeader, limits: ImageLimits) -> Refusal | None:
    """The first limit `header` exceeds, or None if decoding it stays within the budget."""
    if header.pixels > limits.max_pixels:
        return Refusal(
            "too_many_pixels",
            f"the image is {header.width}x{header.height} pixels "
            f"({header.pixels / 1e6:.1f} megapixels); the limit is {limits.max_pixels} pixels "
            f"({limits.max_pixels / 1e6:.1f} megapixels)",
            too_large=True,
        )
    if header.frames > limits.max_frames:
        return Refusal(
            "too_many_frames",
            f"the animation has {header.frames} frames; the limit is {limits.max_frames} frames",
            too_large=True,
        )
    if header.scans > limits.max_jpeg_scans:
        return Refusal(
            "too_many_jpeg_scans",
            f"the JPEG has {header.scans} scans; the limit is {limits.max_jpeg_scans} scans",
            too_large=False,
        )
    return None


def read_header(data: bytes) -> ImageHeader:
    """The header of an accepted image type; InvalidImageError if it is malformed or truncated."""
    image_type = detect_image_type(data)
    if image_type is None:
        raise InvalidImageError("not a JPEG, PNG, GIF or WebP image")
    try:
        header = _READERS[image_type](data)
    except (struct.error, IndexError):
        raise InvalidImageError(f"truncated {image_type.ext.upper()} header") from None
    if header.width < 1 or header.height < 1:
        raise InvalidImageError(f"{image_type.ext.upper()} declares no pixels")
    return header


# JPEG: a marker is 0xFF, any number of 0xFF fill bytes, then a code. In entropy-coded data 0xFF is
# followed by 0x00 (stuffing) or a restart marker 0xD0-0xD7; anything else ends the scan.
_NEXT_MARKER = re.compile(rb"\xff+([^\x00\xd0-\xd7\xff])")
_SOF = frozenset({*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), *range(0xCD, 0xD0)})
_PROGRESSIVE_SOF = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
_SOS, _EOI = 0xDA, 0xD9


def _jpeg(data: bytes) -> ImageHeader:
    pos, width, height, scans, progressive = 2, 0, 0, 0, False
    while True:
        match = _NEXT_MARKER.match(data, pos)
        if match is None:
            raise InvalidImageError("JPEG: expected a marker; the file is truncated or corrupt")
        code, pos = match.group(1)[0], match.end()
        if code == _EOI:
            break
        if 0xD0 <= code <= 0xD8 or code == 0x01:  # markers without a length
            continue
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2 or pos + length > len(data):
            raise InvalidImageError("JPEG: a segment runs past the end of the file (truncated)")
        if code in _SOF and not width:
            height, width = struct.unpack_from(">HH", data, pos + 3)
            progressive = code in _PROGRESSIVE_SOF
        pos += length
        if code == _SOS:
            if not width:
                raise InvalidImageError("JPEG: scan before the frame header")
            scans += 1
            scan_end = _NEXT_MARKER.search(data, pos)
            if scan_end is None:
                raise InvalidImageError("JPEG: the image data is truncated (no end marker)")
            pos = scan_end.start()
    if scans == 0:
        raise InvalidImageError("JPEG: no image data")
    return ImageHeader(JPEG, width, height, scans=scans, progressive=progressive)


def _png(data: bytes) -> ImageHeader:
    pos, width, height, frames, seen_data = 8, 0, 0, 1, False
    while True:
        length, kind = struct.unpack_from(">I4s", data, pos)
        body = pos + 8
        if body + length + 4 > len(data):
            raise InvalidImageError(f"PNG: chunk {kind!r} runs past the end of the file")
        if pos == 8:
            if kind != b"IHDR":
                raise InvalidImageError("PNG: the first chunk is not IHDR")
            width, height = struct.unpack_from(">II", data, body)
        elif kind == b"acTL":
            (frames,) = struct.unpack_from(">I", data, body)
        elif kind == b"IDAT":
            seen_data = True
        elif kind == b"IEND":
            break
        pos = body + length + 4
    if not seen_data:
        raise InvalidImageError("PNG: no image data")
    return ImageHeader(PNG, width, height, frames=max(frames, 1))


def _gif(data: bytes) -> ImageHeader:
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    frames = 0
    while True:
        block = data[pos]
        if block == 0x3B:  # trailer
            break
        if block == 0x21:  # extension: label, then sub-blocks
            pos = _skip_sub_blocks(data, pos + 2)
        elif block == 0x2C:  # image descriptor
            left, top, w, h, flags = struct.unpack_from("<HHHHB", data, pos + 1)
            # A frame may reach past the logical screen; decoders grow the canvas to fit it.
            width, height = max(width, left + w), max(height, top + h)
            pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
            pos = _skip_sub_blocks(data, pos + 1)  # after the LZW minimum code size
            frames += 1
        else:
            raise InvalidImageError(f"GIF: unknown block 0x{block:02x} (corrupt or truncated)")
    if frames == 0:
        raise InvalidImageError("GIF: no image data")
    return ImageHeader(GIF, width, height, frames=frames)


def _skip_sub_blocks(data: bytes, pos: int) -> int:
    """The position after a chain of GIF data sub-blocks ending with a zero-length block."""
    while (size := data[pos]) != 0:
        pos += size + 1
    return pos + 1


def _webp(data: bytes) -> ImageHeader:
    (riff_size,) = struct.unpack_from("<I", data, 4)
    end = riff_size + 8
    if end > len(data):
        raise InvalidImageError("WebP: the file is shorter than its RIFF header says (truncated)")
    pos, width, height, frames = 12, 0, 0, 0
    while pos + 8 <= end:
        kind, size = struct.unpack_from("<4sI", data, pos)
        body = pos + 8
        if body + size > end:
            raise InvalidImageError(f"WebP: chunk {kind!r} runs past the end of the file")
        if kind == b"VP8X":
            w, h = _uint24(data, body + 4) + 1, _uint24(data, body + 7) + 1
        elif kind == b"VP8 ":
            if data[body + 3 : body + 6] != b"\x9d\x01\x2a":
                raise InvalidImageError("WebP: bad lossy (VP8) frame header")
            w, h = (v & 0x3FFF for v in struct.unpack_from("<HH", data, body + 6))
        elif kind == b"VP8L":
            if data[body] != 0x2F:
                raise InvalidImageError("WebP: bad lossless (VP8L) signature")
            (bits,) = struct.unpack_from("<I", data, body + 1)
            w, h = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        elif kind == b"ANMF":
            w, h = _uint24(data, body + 6) + 1, _uint24(data, body + 9) + 1
            frames += 1
        else:
            w = h = 0
        width, height = max(width, w), max(height, h)
        pos = body + size + (size & 1)  # chunks are padded to an even size
    if width == 0:
        raise InvalidImageError("WebP: no image data")
    return ImageHeader(WEBP, width, height, frames=max(frames, 1))


def _uint24(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 3], "little")


_READERS = {JPEG: _jpeg, PNG: _png, GIF: _gif, WEBP: _webp}
