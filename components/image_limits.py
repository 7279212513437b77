"""How large an image `on_upload` may decode, derived from its memory and timeout.

Both functions read the limits from their environment (IMAGE_MAX_PIXELS, IMAGE_MAX_FRAMES,
JPEG_MAX_SCANS) and refuse an image whose header exceeds them before anything decodes it: the API
with 413/415, `on_upload` by removing the object. The constants below come from
`make bench-thumbnails` (scripts/bench_thumbnails.py), which checks them against measured peak RSS
and CPU time of every corpus image in a fresh process.
"""

from __future__ import annotations

from dataclasses import dataclass

BASE_MB = 96
"""Peak RSS of `on_upload` before it decodes: Python, boto3, libvips and a thread pool (measured
about 60 MB), with room to spare."""
BYTES_PER_PIXEL = 10
"""Worst case of what libvips holds per pixel for an image it cannot stream or shrink while
decoding: a 16-bit RGBA interlaced PNG (measured 9.2 bytes: 8 for the pixels, and buffers);
lossless WebP and GIF need about 4 and 5."""
MEMORY_MARGIN = 1.5
"""The decoded image may use at most 1/1.5 of the memory left after BASE_MB and the object."""
CPU_SECONDS_PER_MEGAPIXEL = 0.05
"""Worst measured decode + resize cost per megapixel on one full vCPU (a full 16-bit PNG decode),
with a 2x margin. Lambda gives memory/1769 MB of a vCPU."""
FULL_VCPU_MB = 1769
TIME_MARGIN = 3.0
"""Decoding may use at most a third of the function's timeout."""
MAX_FRAMES = 1000
"""Most frames in an animation: only the first is decoded, but every frame is parsed."""
MAX_JPEG_SCANS = 32
"""libjpeg's progressive script has 10 scans (6 per component for CMYK: 24); a decoder works
through every scan over the whole image, so repeated scans multiply the CPU time."""


@dataclass(frozen=True)
class ImageLimitSettings:
    """The limits as they reach the functions' environment."""

    max_pixels: int
    max_frames: int
    max_jpeg_scans: int

    def environment(self) -> dict[str, str]:
        return {
            "IMAGE_MAX_PIXELS": str(self.max_pixels),
            "IMAGE_MAX_FRAMES": str(self.max_frames),
            "JPEG_MAX_SCANS": str(self.max_jpeg_scans),
        }


def image_limits(memory_mb: int, timeout_seconds: int, max_object_bytes: int) -> ImageLimitSettings:
    """The limits for an `on_upload` with this memory and timeout that reads objects up to
    `max_object_bytes` into memory. Raises ValueError when no image would fit at all."""
    free_mb = memory_mb - BASE_MB - max_object_bytes / 2**20
    by_memory = int(free_mb * 2**20 / BYTES_PER_PIXEL / MEMORY_MARGIN)
    vcpu = min(memory_mb / FULL_VCPU_MB, 1.0)
    by_time = int(timeout_seconds / TIME_MARGIN * vcpu / CPU_SECONDS_PER_MEGAPIXEL * 1e6)
    max_pixels = min(by_memory, by_time)
    if max_pixels < 1_000_000:
        raise ValueError(
            f"on_upload with {memory_mb} MB and {timeout_seconds} s, reading objects up to "
            f"{max_object_bytes} bytes, could not decode even a 1-megapixel image: give it more "
            "memory or time, or lower the largest upload"
        )
    return ImageLimitSettings(max_pixels, MAX_FRAMES, MAX_JPEG_SCANS)
