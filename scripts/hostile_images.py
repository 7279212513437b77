"""Hostile images, made to order: decompression bombs and a progressive-JPEG CPU bomb.

Shared by the thumbnail benchmark (scripts/bench_thumbnails.py) and the tests, so both attack the
code with the same bytes. Pure Python (zlib, struct): no imaging library needed.
"""

from __future__ import annotations

import re
import struct
import zlib

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


def jpeg_scans(jpeg: bytes) -> list[tuple[int, int]]:
    """(start, end) of each scan (SOS segment and its entropy-coded data) of a well-formed JPEG."""
    pos, scans = 2, []
    while True:
        found = _JPEG_MARKER.match(jpeg, pos)
        if found is None or found.group(1)[0] == 0xD9:
            return scans
        start, pos = found.start(), found.end()
        pos += struct.unpack_from(">H", jpeg, pos)[0]
        if found.group(1)[0] == 0xDA:
            pos = _JPEG_MARKER.search(jpeg, pos).start()
            scans.append((start, pos))


def repeat_last_scan(jpeg: bytes, times: int) -> bytes:
    """The JPEG with its last scan repeated `times` times (a CPU bomb when progressive)."""
    start, end = jpeg_scans(jpeg)[-1]
    return jpeg[:end] + jpeg[start:end] * (times - 1) + jpeg[end:]
