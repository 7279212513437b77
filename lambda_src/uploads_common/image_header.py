"""Read an image's header without decoding its pixels, and refuse images too costly to decode.

Pure Python, so both functions use it (the `uploads` function has no imaging library). It walks the
container structure only: JPEG markers, PNG chunks, GIF blocks, WebP (RIFF) chunks. That gives the
figures that decide how much memory and CPU a decoder would need: width x height, the number of
frames (animated GIF, APNG, WebP), for JPEG the number of scans (a progressive JPEG's decoder works
through every scan, so repeated scans are a CPU bomb that costs a few bytes each), and the number
and size of the pieces that are not pixels (markers, chunks, extensions: a decoder keeps some of
them, so millions of empty ones are a memory bomb). The walk stops at the first limit passed, so a
hostile file costs no more to check than an ordinary one of its size.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from uploads_common.config import env_int
from uploads_common.images import GIF, JPEG, PNG, WEBP, ImageType, detect_image_type

MAX_SEGMENTS = 1000
"""Most pieces that are not pixel data: JPEG marker segments, PNG chunks other than image data and
frame controls, WebP chunks other than frames, GIF extensions other than one control per frame.
A camera JPEG has about 10, one with extended XMP (depth maps) a few hundred at most."""
MAX_METADATA_BYTES = 8 * 2**20
"""Most bytes in those pieces (EXIF is at most 64 KiB, an ICC profile rarely over 1 MiB)."""
DATA_PIECES_BASE = 4096
"""Pixel data pieces (PNG IDAT/fdAT chunks, GIF sub-blocks) allowed whatever their size; beyond
it they must average at least `_BYTES_PER_DATA_PIECE` bytes, so checking a file of tiny pieces
costs about what checking an ordinary file of its size does (`make bench-thumbnails`)."""


class InvalidImageError(ValueError):
    """The bytes are not a well-formed image of their type (truncated, or a broken structure)."""


@dataclass(frozen=True)
class ImageHeader:
    """What the header declares; `scans` counts JPEG start-of-scan segments (0 for other types).

    `unneeded` holds the (start, end) byte ranges of metadata that the thumbnail does not need but
    a decoder would keep in memory (`decoder_input`). `repairs` holds (start, end,
    replacement) edits that undo JPEG quirks libjpeg tolerates with a warning (`decoder_input`)."""

    image_type: ImageType
    width: int
    height: int
    frames: int = 1
    scans: int = 0
    progressive: bool = False
    segments: int = 0
    metadata_bytes: int = 0
    unneeded: tuple[tuple[int, int], ...] = ()
    repairs: tuple[tuple[int, int, bytes], ...] = ()

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
    max_segments: int = MAX_SEGMENTS
    """Most pieces that are not pixel data (`MAX_SEGMENTS`)."""
    max_metadata_bytes: int = MAX_METADATA_BYTES
    """Most bytes in those pieces."""

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
    """True for a size limit (pixels, frames, metadata: HTTP 413), False for a content problem
    (scans, pieces: 415)."""


class RefusedImageError(Exception):
    """The header passes a limit (`refusal` says which); the walk stopped there."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


def read_header(data: bytes, limits: ImageLimits) -> ImageHeader:
    """The header of an accepted image type. InvalidImageError if it is malformed or truncated,
    RefusedImageError as soon as it passes one of `limits`."""
    image_type = detect_image_type(data)
    if image_type is None:
        raise InvalidImageError("not a JPEG, PNG, GIF or WebP image")
    walk = _Walk(image_type, data, limits)
    try:
        _READERS[image_type](data, walk)
    except (struct.error, IndexError):
        raise InvalidImageError(f"truncated {image_type.ext.upper()} header") from None
    if walk.width < 1 or walk.height < 1:
        raise InvalidImageError(f"{image_type.ext.upper()} declares no pixels")
    return walk.header()


def decoder_input(data: bytes, header: ImageHeader) -> bytes:
    """What `on_upload` hands the decoder: `data` with the header's repairs made (a repaired quirk
    raises no decoder warning, so the first warning left is about the pixel data: thumbnailer.py),
    and without the metadata a decoder would keep but the thumbnail does not need, when there is
    enough of it to matter (a copy costs as much memory as the file)."""
    return _edited(data, sorted([*_worth_dropping(header), *header.repairs]))


def _worth_dropping(header: ImageHeader) -> list[tuple[int, int, bytes]]:
    if sum(end - start for start, end in header.unneeded) < UNNEEDED_WORTH_DROPPING:
        return []
    return [(start, end, b"") for start, end in header.unneeded]


def _edited(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """`data` with each (start, end, replacement) made; the edits are sorted and do not overlap."""
    if not edits:
        return data
    kept, pos = [], 0
    for start, end, replacement in edits:
        kept += (data[pos:start], replacement)
        pos = end
    kept.append(data[pos:])
    return b"".join(kept)


UNNEEDED_WORTH_DROPPING = 64 * 2**10
"""Below this, dropping unneeded metadata saves less memory than copying the file costs."""


class _Walk:
    """What a reader has seen so far; raises RefusedImageError at the first limit passed."""

    def __init__(self, image_type: ImageType, data: bytes, limits: ImageLimits) -> None:
        self.image_type, self.limits = image_type, limits
        self.width = self.height = self.frames = self.scans = 0
        self.segments = self.metadata_bytes = self.data_pieces = 0
        self.max_data_pieces = DATA_PIECES_BASE + len(data) // _BYTES_PER_DATA_PIECE[image_type]
        self.progressive = self.sequential = False
        self.unneeded: list[tuple[int, int]] = []
        self.repairs: list[tuple[int, int, bytes]] = []

    def header(self) -> ImageHeader:
        return ImageHeader(
            self.image_type,
            self.width,
            self.height,
            frames=max(self.frames, 1),
            scans=self.scans,
            progressive=self.progressive,
            segments=self.segments,
            metadata_bytes=self.metadata_bytes,
            unneeded=tuple(self.unneeded),
            repairs=tuple(self.repairs),
        )

    def size(self, width: int, height: int) -> None:
        """A canvas or frame of this size (the largest extent counts)."""
        self.width, self.height = max(self.width, width), max(self.height, height)
        limit = self.limits.max_pixels
        if self.width * self.height > limit:
            raise RefusedImageError(
                Refusal(
                    "too_many_pixels",
                    f"the image is {self.width}x{self.height} pixels "
                    f"({self.width * self.height / 1e6:.1f} megapixels); the limit is {limit} "
                    f"pixels ({limit / 1e6:.1f} megapixels)",
                    too_large=True,
                )
            )

    def frame(self, count: int = 1) -> None:
        self.frames += count
        if self.frames > self.limits.max_frames:
            raise RefusedImageError(
                Refusal(
                    "too_many_frames",
                    f"the animation has more than {self.limits.max_frames} frames; the limit is "
                    f"{self.limits.max_frames} frames",
                    too_large=True,
                )
            )

    def scan(self) -> None:
        self.scans += 1
        if self.scans > self.limits.max_jpeg_scans:
            raise RefusedImageError(
                Refusal(
                    "too_many_jpeg_scans",
                    f"the JPEG has more than {self.limits.max_jpeg_scans} scans; the limit is "
                    f"{self.limits.max_jpeg_scans} scans",
                    too_large=False,
                )
            )

    def segment(self, size: int) -> None:
        """A piece that is not pixel data, of `size` bytes."""
        self.segments += 1
        self.metadata_bytes += size
        limits = self.limits
        if self.segments > limits.max_segments:
            raise RefusedImageError(
                Refusal(
                    "too_many_segments",
                    f"the image has more than {limits.max_segments} markers, chunks or extensions "
                    f"besides its pixel data; the limit is {limits.max_segments}",
                    too_large=False,
                )
            )
        if self.metadata_bytes > limits.max_metadata_bytes:
            raise RefusedImageError(
                Refusal(
                    "too_much_metadata",
                    f"the image has more than {limits.max_metadata_bytes} bytes besides its pixel "
                    f"data; the limit is {limits.max_metadata_bytes} bytes",
                    too_large=True,
                )
            )

    def data_pieces_left(self) -> int:
        return self.max_data_pieces - self.data_pieces

    def data_piece(self, count: int = 1) -> None:
        """Pieces of pixel data (their size needs no limit: the file's size bounds it)."""
        self.data_pieces += count
        if self.data_pieces > self.max_data_pieces:
            raise RefusedImageError(
                Refusal(
                    "too_many_pieces",
                    f"the image data is split into more than {self.max_data_pieces} pieces; the "
                    f"limit is {self.max_data_pieces} for a file of its size",
                    too_large=False,
                )
            )


# JPEG: a marker is 0xFF, any number of 0xFF fill bytes, then a code. In entropy-coded data 0xFF is
# followed by 0x00 (stuffing) or a restart marker 0xD0-0xD7; anything else ends the scan. Both
# patterns are possessive and `match`ed, never `search`ed: a search for `\xff+` would backtrack
# through a run of 0xFF bytes at every position of it (quadratic time).
_MARKER = re.compile(rb"\xff++([^\x00\xd0-\xd7\xff])")
_SCAN_DATA = re.compile(rb"(?:[^\xff]++|\xff[\x00\xd0-\xd7])*+")
_DISCARDED = re.compile(rb"(?:[^\xff]++|\xff\x00)*+")
"""Bytes before a marker that libjpeg skips with a warning ("extraneous bytes before marker"):
its `next_marker` (jdmarker.c) discards everything up to 0xFF and a code that is not 0x00. Zero
padding between segments is common in files from older cameras and editors."""
_SEQUENTIAL_SOF = frozenset({0xC0, 0xC1})
_SEQUENTIAL_SOS = b"\x00\x3f\x00"
"""Ss, Se and Ah/Al of a sequential (Huffman) scan. libjpeg warns "Invalid SOS parameters for
sequential JPEG" about any other values and then ignores them (jdhuff.c start_pass_huff_decoder:
"there are some baseline files out there with all zeroes in these bytes")."""
_APP0 = 0xE0
_SOF = frozenset({*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), *range(0xCD, 0xD0)})
_PROGRESSIVE_SOF = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
_SOS, _EOI, _APP1, _APP2, _APP13, _COM = 0xDA, 0xD9, 0xE1, 0xE2, 0xED, 0xFE
_KEPT_BY_DECODER = frozenset({_APP1, _APP2, _APP13, _COM})
"""The markers libjpeg keeps in memory for libvips (EXIF, XMP, ICC, IPTC, comments)."""


def _jpeg(data: bytes, walk: _Walk) -> None:
    pos, seen_exif = 2, False
    while True:
        match = _jpeg_marker(data, pos, walk)
        code, start, pos = match.group(1)[0], match.start(), match.end()
        if code == _EOI:
            break
        if 0xD0 <= code <= 0xD8 or code == 0x01:  # markers without a length
            walk.segment(0)
            continue
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2 or pos + length > len(data):
            raise InvalidImageError("JPEG: a segment runs past the end of the file (truncated)")
        body = data[pos + 2 : pos + min(length, 16)]
        if code == _SOS:
            pos = _jpeg_scan(data, pos + length, walk)
            continue
        walk.segment(length)
        if code in _SOF and not walk.width:
            height, width = struct.unpack_from(">HH", data, pos + 3)
            walk.progressive = code in _PROGRESSIVE_SOF
            walk.sequential = code in _SEQUENTIAL_SOF
            walk.size(width, height)
        elif code == _APP0 and body.startswith(b"JFIF\0") and length >= 16 and body[5] != 1:
            # libjpeg warns "unknown JFIF revision number" and reads on: the version decides
            # nothing.
            walk.repairs.append((pos + 7, pos + 8, b"\x01"))
        elif code in _KEPT_BY_DECODER:
            # The thumbnail needs the first EXIF block (orientation) and the ICC profile (colour).
            needed = (code == _APP1 and body.startswith(b"Exif\0") and not seen_exif) or (
                code == _APP2 and body.startswith(b"ICC_PROFILE\0")
            )
            seen_exif = seen_exif or (code == _APP1 and body.startswith(b"Exif\0"))
            if not needed:
                walk.unneeded.append((start, pos + length))
        pos += length
    if walk.scans == 0:
        raise InvalidImageError("JPEG: no image data")


def _jpeg_marker(data: bytes, pos: int, walk: _Walk) -> re.Match[bytes]:
    """The next marker at or after `pos`; the bytes libjpeg would skip before it become a repair."""
    skipped = _DISCARDED.match(data, pos).end()
    if skipped > pos:
        walk.repairs.append((pos, skipped, b""))
    match = _MARKER.match(data, skipped)
    if match is None:
        raise InvalidImageError("JPEG: expected a marker; the file is truncated or corrupt")
    return match


def _jpeg_scan(data: bytes, end: int, walk: _Walk) -> int:
    """A scan whose SOS segment ends at `end`: the position after its entropy-coded data."""
    if not walk.width:
        raise InvalidImageError("JPEG: scan before the frame header")
    walk.scan()
    if walk.sequential and data[end - 3 : end] != _SEQUENTIAL_SOS:
        walk.repairs.append((end - 3, end, _SEQUENTIAL_SOS))
    pos = _SCAN_DATA.match(data, end).end()
    if pos == len(data):
        raise InvalidImageError("JPEG: the image data is truncated (no end marker)")
    return pos


_PNG_DATA = frozenset({b"IDAT", b"fdAT"})
_PNG_TEXT = frozenset({b"tEXt", b"zTXt", b"iTXt"})
"""Text chunks, which libvips keeps (and inflates); the thumbnail needs none of them."""


def _png(data: bytes, walk: _Walk) -> None:
    pos, seen_data = 8, False
    while True:
        length, kind = struct.unpack_from(">I4s", data, pos)
        body = pos + 8
        end = body + length + 4
        if end > len(data):
            raise InvalidImageError(f"PNG: chunk {kind!r} runs past the end of the file")
        if kind in _PNG_DATA:
            walk.data_piece()
            seen_data = True
        elif kind == b"fcTL":
            walk.data_piece()  # one per frame, which acTL counts
        else:
            walk.segment(length)
            if pos == 8:
                if kind != b"IHDR":
                    raise InvalidImageError("PNG: the first chunk is not IHDR")
                walk.size(*struct.unpack_from(">II", data, body))
            elif kind == b"acTL":
                walk.frame(struct.unpack_from(">I", data, body)[0])
            elif kind == b"IEND":
                break
            elif kind in _PNG_TEXT:
                walk.unneeded.append((pos, end))
        pos = end
    if not seen_data:
        raise InvalidImageError("PNG: no image data")


def _gif(data: bytes, walk: _Walk) -> None:
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    walk.size(width, height)
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    controls = 0  # graphic control extensions since the last image
    while True:
        block = data[pos]
        if block == 0x3B:  # trailer
            break
        if block == 0x21:  # extension: label, then sub-blocks
            start = pos
            controls += data[pos + 1] == 0xF9
            pos = _skip_sub_blocks(data, pos + 2, walk)
            if data[start + 1] != 0xF9 or controls > 1:
                walk.segment(pos - start)
        elif block == 0x2C:  # image descriptor
            left, top, w, h, flags = struct.unpack_from("<HHHHB", data, pos + 1)
            # A frame may reach past the logical screen; decoders grow the canvas to fit it.
            walk.size(left + w, top + h)
            walk.frame()
            controls = 0
            pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
            pos = _skip_sub_blocks(data, pos + 1, walk)  # after the LZW minimum code size
        else:
            raise InvalidImageError(f"GIF: unknown block 0x{block:02x} (corrupt or truncated)")
    if walk.frames == 0:
        raise InvalidImageError("GIF: no image data")


def _skip_sub_blocks(data: bytes, pos: int, walk: _Walk) -> int:
    """The position after a chain of GIF data sub-blocks ending with a zero-length block."""
    count, allowed = 0, walk.data_pieces_left()
    while (size := data[pos]) != 0:
        count += 1
        if count > allowed:
            break
        pos += size + 1
    walk.data_piece(count)
    return pos + 1


def _webp(data: bytes, walk: _Walk) -> None:
    (riff_size,) = struct.unpack_from("<I", data, 4)
    end = riff_size + 8
    if end > len(data):
        raise InvalidImageError("WebP: the file is shorter than its RIFF header says (truncated)")
    pos, seen_data = 12, False
    while pos + 8 <= end:
        kind, size = struct.unpack_from("<4sI", data, pos)
        body = pos + 8
        if body + size > end:
            raise InvalidImageError(f"WebP: chunk {kind!r} runs past the end of the file")
        if kind == b"ANMF":
            walk.frame()
            walk.size(_uint24(data, body + 6) + 1, _uint24(data, body + 9) + 1)
            seen_data = True
        elif kind in _WEBP_DATA:
            walk.data_piece()
        else:
            walk.segment(size)
        if kind == b"VP8X":
            walk.size(_uint24(data, body + 4) + 1, _uint24(data, body + 7) + 1)
        elif kind == b"VP8 ":
            if data[body + 3 : body + 6] != b"\x9d\x01\x2a":
                raise InvalidImageError("WebP: bad lossy (VP8) frame header")
            walk.size(*(v & 0x3FFF for v in struct.unpack_from("<HH", data, body + 6)))
            seen_data = True
        elif kind == b"VP8L":
            if data[body] != 0x2F:
                raise InvalidImageError("WebP: bad lossless (VP8L) signature")
            (bits,) = struct.unpack_from("<I", data, body + 1)
            walk.size((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
            seen_data = True
        pos = body + size + (size & 1)  # chunks are padded to an even size
    if not seen_data:
        raise InvalidImageError("WebP: no image data")


_WEBP_DATA = frozenset({b"VP8 ", b"VP8L", b"ALPH"})


def _uint24(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 3], "little")


_READERS = {JPEG: _jpeg, PNG: _png, GIF: _gif, WEBP: _webp}
_BYTES_PER_DATA_PIECE = {JPEG: 1024, PNG: 1024, GIF: 128, WEBP: 1024}
"""GIF sub-blocks hold at most 255 bytes (encoders fill them); PNG encoders write IDAT chunks of
8 KiB or more; a WebP has one image chunk per frame. JPEG scans have their own limit."""
