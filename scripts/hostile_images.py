"""Hostile images, made to order: decompression bombs, a progressive-JPEG CPU bomb, padding
attacks (millions of pieces that are not pixels) and a JPEG whose pixel data ends early.

Shared by the thumbnail benchmark (scripts/bench_thumbnails.py) and the tests, so both attack the
code with the same bytes. Pure Python (zlib, struct), except where Pillow makes a small image.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from functools import cache

_JPEG_MARKER = re.compile(rb"\xff+([^\x00\xd0-\xd7\xff])")


def lossless_webp_bomb(width: int, height: int) -> bytes:
    """A lossless (VP8L) WebP of one colour in 30 bytes: every prefix code has a single symbol,
    so each pixel takes zero bits, and the header may declare up to 16384x16384."""
    bits = count = 0

    def put(value: int, size: int) -> None:
        nonlocal bits, count
        bits |= value << count
        count += size

    put(0x2F, 8)
    put(width - 1, 14)
    put(height - 1, 14)
    put(1, 1)  # alpha used
    put(0, 3)  # version
    put(0, 3)  # no transform, no colour cache, no meta prefix codes
    for symbol in (0, 0, 0, 255, 0):  # green, red, blue, alpha, distance
        put(0b01, 2)  # a simple code with one symbol
        wide = symbol > 1
        put(int(wide), 1)
        put(symbol, 8 if wide else 1)
    payload = bits.to_bytes((count + 7) // 8, "little")
    payload += b"\0" * (len(payload) & 1)
    chunk = b"VP8L" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int, height: int, rows: int | None = None) -> bytes:
    """An 8-bit RGBA PNG, all transparent black, about 1000 times smaller than its pixels. With
    `rows`, the pixel data ends after that many rows although every chunk is intact."""
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib_zeros((1 + 4 * width) * (height if rows is None else rows)))
        + png_chunk(b"IEND", b"")
    )


def zlib_zeros(size: int, block: int = 1 << 20) -> bytes:
    """A zlib stream of `size` zero bytes, built without compressing them all: a raw deflate
    block of `block` zeros ended by a full flush stands alone (byte-aligned, no back-references
    past it), so it can be repeated; the Adler-32 of n zeros is ((n % 65521) << 16) | 1."""

    def deflate(length: int) -> bytes:
        squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
        return squeeze.compress(bytes(length)) + squeeze.flush(zlib.Z_FULL_FLUSH)

    whole, rest = divmod(size, block)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty last block
    body = deflate(block) * whole + (deflate(rest) if rest else b"") + final
    return b"\x78\xda" + body + struct.pack(">I", ((size % 65521) << 16) | 1)


def jpeg_segments(jpeg: bytes) -> Iterator[tuple[int, int, int, int]]:
    """(code, start, end of the segment, end with a scan's entropy-coded data) of each marker
    segment of a well-formed JPEG, up to its end marker."""
    pos = 2
    while True:
        found = _JPEG_MARKER.match(jpeg, pos)
        if found is None or found.group(1)[0] == 0xD9:
            return
        code, start = found.group(1)[0], found.start()
        end = found.end() + struct.unpack_from(">H", jpeg, found.end())[0]
        pos = _JPEG_MARKER.search(jpeg, end).start() if code == 0xDA else end
        yield code, start, end, pos


def jpeg_scans(jpeg: bytes) -> list[tuple[int, int]]:
    """(start, end) of each scan (SOS segment and its entropy-coded data) of a well-formed JPEG."""
    return [(start, data_end) for code, start, _, data_end in jpeg_segments(jpeg) if code == 0xDA]


def repeat_last_scan(jpeg: bytes, times: int) -> bytes:
    """The JPEG with its last scan repeated `times` times (a CPU bomb when progressive)."""
    start, end = jpeg_scans(jpeg)[-1]
    return jpeg[:end] + jpeg[start:end] * (times - 1) + jpeg[end:]


# --- padding bombs: millions of pieces that are not pixels, or pixel data in tiny pieces --------


def _pad_to(size: int, head: bytes, piece: bytes, tail: bytes) -> bytes:
    """`head`, then `piece` repeated until the whole is about `size` bytes, then `tail`."""
    return head + piece * max((size - len(head) - len(tail)) // len(piece), 1) + tail


def jpeg_with_empty_segments(jpeg: bytes, size: int, marker: int = 0xE1) -> bytes:
    """The JPEG with empty APPn segments (`ff e1 00 02`, ...) after SOI, `size` bytes in all:
    libjpeg keeps every APP1, APP2 and APP13 segment for libvips (about 47 bytes per file byte)."""
    return _pad_to(size, jpeg[:2], bytes([0xFF, marker, 0, 2]), jpeg[2:])


def jpeg_with_many_scans(progressive: bytes, size: int) -> bytes:
    """A progressive JPEG whose last scan is repeated until the file is about `size` bytes."""
    start, end = jpeg_scans(progressive)[-1]
    return _pad_to(size, progressive[:end], progressive[start:end], progressive[end:])


def jpeg_with_fill_run(jpeg: bytes, size: int) -> bytes:
    """The JPEG with a run of 0xFF bytes inside its first scan's data, followed by a stuffed zero:
    the shape that made the old scan search backtrack in quadratic time."""
    _, end = jpeg_scans(jpeg)[0]
    run = max(size - len(jpeg) - 1, 1)
    return jpeg[:end] + b"\xff" * run + b"\x00" + jpeg[end:]


def png_with_chunks(png: bytes, size: int, kind: bytes = b"tEXt") -> bytes:
    """The PNG with empty `kind` chunks (tEXt, or IDAT: pixel data in 12-byte pieces) after IHDR."""
    ihdr_end = 8 + 25
    return _pad_to(size, png[:ihdr_end], png_chunk(kind, b""), png[ihdr_end:])


def webp_with_empty_chunks(webp: bytes, size: int) -> bytes:
    """The WebP with empty unknown chunks before its image data (a RIFF file may hold any)."""
    body = _pad_to(size - 12, b"", b"JUNK\0\0\0\0", webp[12:])
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def gif_with_comments(gif: bytes, size: int) -> bytes:
    """The GIF with empty comment extensions (`21 fe 00`) before its trailer."""
    return _pad_to(size, gif[:-1], b"\x21\xfe\x00", gif[-1:])


def gif_with_tiny_sub_blocks(size: int) -> bytes:
    """A 1x1 GIF whose image data comes in one-byte sub-blocks (each a clear code's bits)."""
    head = b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + b"\0\0\0\xff\xff\xff"
    image = b"\x2c\0\0\0\0\x01\x00\x01\x00\x00\x02"
    return _pad_to(size, head + image, b"\x01\x00", b"\x00\x3b")


def truncated_jpeg(width: int = 5000, height: int = 5000, size: int = 677) -> bytes:
    """A baseline JPEG declaring `width` x `height` whose scan data stops after a few hundred
    bytes, then ends properly (EOI): every structure is intact, only the pixels are missing."""
    from PIL import Image  # noqa: PLC0415

    out = io.BytesIO()
    Image.new("RGB", (width, height), (120, 30, 200)).save(out, "JPEG", quality=50)
    whole = out.getvalue()
    start, _ = jpeg_scans(whole)[0]
    scan_data = start + 2 + struct.unpack_from(">H", whole, start + 2)[0]
    return whole[: max(size - 2, scan_data + 1)] + b"\xff\xd9"


@cache
def small_images() -> dict[str, bytes]:
    """A 64x48 image in each format (and a progressive JPEG): what the padding attacks pad."""
    from PIL import Image  # noqa: PLC0415

    image = Image.new("RGB", (64, 48), "teal")

    def encode(fmt: str, **params: object) -> bytes:
        out = io.BytesIO()
        image.save(out, fmt, **params)
        return out.getvalue()

    return {
        "jpeg": encode("JPEG"),
        "progressive": encode("JPEG", progressive=True),
        "png": encode("PNG"),
        "gif": encode("GIF"),
        "webp": encode("WEBP"),
    }


PADDING_ATTACKS: dict[str, tuple[Callable[[dict[str, bytes], int], bytes], str]] = {
    "jpeg-app1": (lambda i, size: jpeg_with_empty_segments(i["jpeg"], size), "too_many_segments"),
    "jpeg-app2": (
        lambda i, size: jpeg_with_empty_segments(i["jpeg"], size, 0xE2),
        "too_many_segments",
    ),
    "jpeg-app13": (
        lambda i, size: jpeg_with_empty_segments(i["jpeg"], size, 0xED),
        "too_many_segments",
    ),
    "jpeg-scans": (
        lambda i, size: jpeg_with_many_scans(i["progressive"], size),
        "too_many_jpeg_scans",
    ),
    "jpeg-fill-run": (lambda i, size: jpeg_with_fill_run(i["jpeg"], size), "invalid_image"),
    "png-text": (lambda i, size: png_with_chunks(i["png"], size), "too_many_segments"),
    "png-idat": (lambda i, size: png_with_chunks(i["png"], size, b"IDAT"), "too_many_pieces"),
    "webp-chunks": (lambda i, size: webp_with_empty_chunks(i["webp"], size), "too_many_segments"),
    "gif-comments": (lambda i, size: gif_with_comments(i["gif"], size), "too_many_segments"),
    "gif-sub-blocks": (lambda _i, size: gif_with_tiny_sub_blocks(size), "too_many_pieces"),
}
"""Name -> (make(small_images(), size), the refusal code): each pads a tiny image to `size` bytes
with pieces the header check must count (or, for the fill run, walk in linear time)."""


def padding_attack(name: str, size: int) -> bytes:
    return PADDING_ATTACKS[name][0](small_images(), size)


# --- quirks: files every decoder displays although libjpeg warns about them ---------------------


def _segments(jpeg: bytes, code: int) -> list[tuple[int, int]]:
    """(start, end) of each marker segment with this code (a scan's without its data)."""
    return [(start, end) for found, start, end, _ in jpeg_segments(jpeg) if found == code]


def jfif_revision(jpeg: bytes, major: int = 2, minor: int = 1) -> bytes:
    """The JPEG with its JFIF APP0 claiming version major.minor ("unknown JFIF revision number")."""
    start, _ = _segments(jpeg, 0xE0)[0]
    return jpeg[: start + 9] + bytes([major, minor]) + jpeg[start + 11 :]


def sequential_sos_zeroed(jpeg: bytes) -> bytes:
    """The baseline JPEG with Ss, Se and Ah/Al zero in every scan header, as some encoders write
    them ("Invalid SOS parameters for sequential JPEG")."""
    out = bytearray(jpeg)
    for _, end in _segments(jpeg, 0xDA):
        out[end - 3 : end] = b"\0\0\0"
    return bytes(out)


def padded_before_end_marker(jpeg: bytes, padding: bytes = b"\0" * 16) -> bytes:
    """The JPEG with `padding` before its end marker ("extraneous bytes before marker 0xd9")."""
    end = jpeg.rindex(b"\xff\xd9")
    return jpeg[:end] + padding + jpeg[end:]


def junk_before_restart_marker(jpeg: bytes, junk: bytes = b"\x12\x34\x56") -> bytes:
    """A JPEG with restart markers, with `junk` before its first one ("extraneous bytes before
    marker 0xd0")."""
    first = jpeg.index(b"\xff\xd0", jpeg_scans(jpeg)[0][0])
    return jpeg[:first] + junk + jpeg[first:]


def zeros_between_segments(jpeg: bytes, zeros: int = 4) -> bytes:
    """The JPEG with zero bytes after its JFIF segment: libjpeg skips them with a warning."""
    _, end = _segments(jpeg, 0xE0)[0]
    return jpeg[:end] + bytes(zeros) + jpeg[end:]


def junk_before_scan_tables(progressive: bytes, junk: bytes = b"\0junk\0") -> bytes:
    """The progressive JPEG with `junk` before every Huffman table segment: the first follows the
    frame header, the later ones a scan's data."""
    out, pos = [], 0
    for start, _ in _segments(progressive, 0xC4):
        out += (progressive[pos:start], junk)
        pos = start
    return b"".join([*out, progressive[pos:]])


JPEG_QUIRKS: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "jfif-2.01": ("baseline", jfif_revision),
    "sos-params-zero": ("baseline", sequential_sos_zeroed),
    "progressive-padded-end": ("progressive", padded_before_end_marker),
    "junk-before-restart": ("restart", junk_before_restart_marker),
    "zeros-between-segments": ("baseline", zeros_between_segments),
    "junk-before-scan-tables": ("progressive", junk_before_scan_tables),
}
"""Name -> (which kind of JPEG it changes: baseline, progressive, or baseline with restart
markers; the change). Pillow and libvips (default fail mode) display every one."""
