"""The image types we accept, recognised by their magic bytes (never by name or declared type)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageType:
    """An accepted image format: the extension we store it under and its MIME type."""

    ext: str
    content_type: str
    pillow_format: str


JPEG = ImageType("jpg", "image/jpeg", "JPEG")
PNG = ImageType("png", "image/png", "PNG")
GIF = ImageType("gif", "image/gif", "GIF")
WEBP = ImageType("webp", "image/webp", "WEBP")
IMAGE_TYPES = (JPEG, PNG, GIF, WEBP)

_BY_CONTENT_TYPE = {t.content_type: t for t in IMAGE_TYPES}
_BY_EXT = {t.ext: t for t in IMAGE_TYPES} | {"jpeg": JPEG}
MAGIC_BYTES_NEEDED = 12
"""How many leading bytes `detect_image_type` looks at."""


def detect_image_type(data: bytes) -> ImageType | None:
    """The type that the leading bytes of `data` announce, or None if it is not one we accept."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def type_for_content_type(value: str) -> ImageType | None:
    """The accepted type for a MIME type such as `image/png; charset=x` (case-insensitive)."""
    media_type = value.split(";", 1)[0].strip().lower()
    return _BY_CONTENT_TYPE.get(media_type)


def type_for_key(key: str) -> ImageType | None:
    """The accepted type that a key's extension names (`.jpg`, `.jpeg`, `.png`, ...), or None."""
    name = key.rsplit("/", 1)[-1]
    if "." not in name:
        return None
    return _BY_EXT.get(name.rsplit(".", 1)[1].lower())
