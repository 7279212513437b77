"""The hostile part of `make bench-thumbnails`: what the padding attacks cost. Figures only.

For each attack of scripts/hostile_images.py at 4 and 48 MiB (the API's raw-body limit is 4 MiB,
a presigned POST allows up to 50 MiB): the header check's CPU time (best of 5) against the header
check of an ordinary photo JPEG of about the same size, scaled to the attack's exact size (target:
at most 2x), the refusal, and the peak RSS of on_upload's path (header check, then the thumbnail
only if accepted) in a fresh process. At 4 MiB also the peak RSS of libvips alone, without the
header check: what the attack would cost if nothing refused it. Then a photo carrying 8 MiB of XMP
(allowed metadata the thumbnail does not need), decoded as it is and as on_upload hands it over.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path

from hostile_images import PADDING_ATTACKS, padding_attack
from thumbnail_corpus import photo

from uploads_common.image_header import (
    ImageLimits,
    InvalidImageError,
    RefusedImageError,
    read_header,
)

MiB = 2**20
SIZES_MB = (4, 48)
TARGET_RATIO = 2.0
Measure = Callable[[str, Path], dict]
"""bench_thumbnails.measure: (engine, file) -> figures from a fresh process."""


def ordinary_photo(size_mb: int) -> bytes:
    """A photo-like JPEG of about `size_mb` MiB: 12 MP at quality 90 for 4 MiB, 24 MP of heavy
    grain at quality 100 without chroma subsampling for 48 MiB."""
    out = io.BytesIO()
    if size_mb <= 8:
        photo(4000, 3000).save(out, "JPEG", quality=90)
    else:
        photo(6000, 4000, grain=34).save(out, "JPEG", quality=100, subsampling=0)
    return out.getvalue()


def header_check(data: bytes) -> tuple[float, str]:
    """The best CPU time of 5 header checks under the default limits, and the outcome."""
    limits, best, outcome = ImageLimits.from_env({}), float("inf"), "accepted"
    for _ in range(5):
        started = time.process_time()
        try:
            read_header(data, limits)
        except RefusedImageError as error:
            outcome = error.refusal.code
        except InvalidImageError:
            outcome = "invalid_image"
        best = min(best, time.process_time() - started)
    return best, outcome


def report_attacks(folder: Path, measure: Measure, sizes_mb: tuple[int, ...]) -> None:
    print(
        "\nhostile inputs: header check CPU ms (best of 5) vs an ordinary photo JPEG of the same"
        f" size (target <= {TARGET_RATIO:g}x); peak RSS of on_upload's path (check, then thumbnail)"
    )
    worst = 0.0
    for size_mb in sizes_mb:
        normal = ordinary_photo(size_mb)
        normal_seconds, normal_outcome = header_check(normal)
        per_byte = normal_seconds / len(normal)
        print(
            f"{size_mb} MiB: ordinary photo {len(normal) / MiB:.1f} MiB, {normal_outcome}, check"
            f" {normal_seconds * 1e3:.2f} ms ({per_byte * MiB * 1e3:.3f} ms per MiB)"
        )
        print(
            f"  {'attack':<15} {'MiB':>5} {'check ms':>9} {'x photo':>8} {'refused as':<20}"
            f" {'peak MB':>8} {'unchecked MB':>12}"
        )
        for name, (_, expected) in PADDING_ATTACKS.items():
            data = padding_attack(name, size_mb * MiB)
            seconds, outcome = header_check(data)
            ratio = seconds / (per_byte * len(data))
            worst = max(worst, ratio)
            path = folder / f"{name}-{size_mb}"
            path.write_bytes(data)
            checked = measure("checked", path)
            # libvips alone at 48 MiB would need gigabytes (47 bytes per byte for APP1 padding).
            unchecked = measure("vips", path)["rss_mb"] if size_mb <= 4 else float("nan")
            path.unlink()
            flag = "" if outcome == expected else f"  UNEXPECTED (wanted {expected})"
            print(
                f"  {name:<15} {len(data) / MiB:>5.1f} {seconds * 1e3:>9.2f} {ratio:>7.2f}x"
                f" {outcome:<20} {checked['rss_mb']:>8.0f} {unchecked:>12.0f}{flag}"
            )
    verdict = "meets" if worst <= TARGET_RATIO else "MISSES"
    print(f"worst header check: {worst:.2f}x an ordinary photo's ({verdict} the target)")


def report_metadata(folder: Path, measure: Measure) -> None:
    """Peak RSS for an allowed but useless 8 MiB of XMP: decoded whole vs on_upload's lean copy."""
    jpeg = io.BytesIO()
    photo(4000, 3000).save(jpeg, "JPEG", quality=90)
    xmp = b"http://ns.adobe.com/xap/1.0/\0" + b"<x/>" * 16_000
    segment = b"\xff\xe1" + (len(xmp) + 2).to_bytes(2, "big") + xmp
    whole = jpeg.getvalue()
    data = whole[:2] + segment * (8 * MiB // len(segment) - 1) + whole[2:]
    path = folder / "xmp.jpg"
    path.write_bytes(data)
    as_is, lean = measure("vips", path), measure("checked", path)
    path.unlink()
    print(
        f"\n12 MP photo with {(len(data) - len(whole)) / MiB:.1f} MiB of XMP: peak RSS"
        f" {as_is['rss_mb']:.0f} MB decoded as it is, {lean['rss_mb']:.0f} MB as on_upload"
        f" decodes it (without metadata the thumbnail does not need){lean['error'] or ''}"
    )


def report(folder: Path, measure: Measure, sizes_mb: tuple[int, ...] = SIZES_MB) -> None:
    report_attacks(folder, measure, sizes_mb)
    report_metadata(folder, measure)
