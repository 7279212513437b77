"""Benchmark the thumbnail engines on one corpus and pick on_upload's memory. Figures only.

Generates the corpus (a 24-megapixel photo-like JPEG and PNG, a large animated GIF, two
decompression bombs, a progressive JPEG whose last scan is repeated 400 times, EXIF-rotated, CMYK,
16-bit and palette-with-transparency images), then makes each image's thumbnail in a fresh process
with each engine, and prints CPU seconds and peak RSS:

- ``pillow``: Pillow as on_upload used it before (draft, exif_transpose, thumbnail);
- ``vips``: lambda_src/on_upload/thumbnailer.py as shipped (libvips through pyvips);
- ``baseline``: Pillow's plain ``Image.open(...).thumbnail()``, on the 24 MP JPEG, for the targets
  (the chosen engine at most 0.5x its time and 0.35x its peak memory).

Then, for each candidate memory size, the limits components/image_limits.py derives: every corpus
image must either be refused from its header alone, or fit in that memory (with the model's
margin) and finish within the timeout at that memory's share of a vCPU (CPU s x 1769 / MB).
The cheapest passing memory where every ordinary image (not a bomb) is still accepted is the
setting; the cost per 1,000 thumbnails is printed next to the previous 1024 MB. Last, the padding
attacks at 4 and 48 MiB (scripts/bench_hostile.py): the header check's time against an ordinary
photo's, and on_upload's peak memory for each.
Run: make bench-thumbnails (or scripts/bench_thumbnails.py --quick: the corpus at a tenth of its
sides, one memory size and its limit samples at a hundredth of the pixels, the attacks at 4 MiB
only; the tests run it).
"""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "lambda_src"), str(REPO / "lambda_src" / "on_upload")]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_hostile  # noqa: E402
from thumbnail_corpus import CORPUS, make_corpus, make_limit_samples  # noqa: E402

from components.image_limits import BYTES_PER_PIXEL, image_limits  # noqa: E402
from uploads_common.image_header import (  # noqa: E402
    ImageHeader,
    ImageLimits,
    RefusedImageError,
    read_header,
)

THUMBNAIL_PX = 256
TIMEOUT_SECONDS = 30
MAX_OBJECT_BYTES = 52428800  # presignMaxBytes default: on_upload holds the object in memory
QUICK = "--quick" in sys.argv[1:]
SCALE = 10 if QUICK else 1
"""The quick run divides every image side by this (and the pixels at the limit by its square)."""
CANDIDATE_MB = (512,) if QUICK else (384, 448, 512, 640, 768, 1024, 1536)
TODAY_MB = 1024
# AWS Lambda pricing, arm64, US East (N. Virginia), first 6 billion GB-seconds a month:
# https://aws.amazon.com/lambda/pricing/ (checked 2026-12)
PRICE_PER_GB_SECOND = 0.0000133334
PRICE_PER_REQUEST = 0.20 / 1_000_000
NO_LIMITS = ImageLimits(2**62, 2**62, 2**62, 2**62, 2**62)
"""For reporting what each corpus file declares (the bombs included)."""
S3_ROUND_TRIPS_SECONDS = 0.1
"""Wall time of on_upload's S3 calls (get, put, head) per image, not CPU-bound."""


# --- one measurement, in a fresh process ------------------------------------------------------


def _pillow_today(data: bytes) -> bytes:
    """on_upload's thumbnail code before libvips: draft, exif_transpose, convert, thumbnail."""
    from PIL import Image, ImageOps  # noqa: PLC0415

    with Image.open(io.BytesIO(data)) as original:
        kind = original.format
        if kind == "JPEG":
            original.draft("RGB", (THUMBNAIL_PX, THUMBNAIL_PX))
        image = ImageOps.exif_transpose(original)
        if kind == "GIF":
            image = image.convert("RGBA")
        image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
        if kind == "JPEG" and image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        out = io.BytesIO()
        image.save(out, kind)
        return out.getvalue()


def _pillow_baseline(data: bytes) -> bytes:
    from PIL import Image  # noqa: PLC0415

    image = Image.open(io.BytesIO(data))
    kind = image.format
    image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    out = io.BytesIO()
    image.save(out, kind)
    return out.getvalue()


def _vips(data: bytes) -> bytes:
    from thumbnailer import make_thumbnail  # noqa: PLC0415
    from uploads_common.images import detect_image_type  # noqa: PLC0415

    return make_thumbnail(data, detect_image_type(data), THUMBNAIL_PX)


def _checked(data: bytes) -> bytes:
    """on_upload's path: the header check, then the thumbnail of the repaired, lean copy."""
    from thumbnailer import make_thumbnail  # noqa: PLC0415
    from uploads_common.image_header import (  # noqa: PLC0415
        ImageLimits,
        decoder_input,
        read_header,
    )

    header = read_header(data, ImageLimits.from_env({}))
    lean = decoder_input(data, header)
    return make_thumbnail(lean, header.image_type, THUMBNAIL_PX)


ENGINES = {
    "pillow": _pillow_today,
    "vips": _vips,
    "baseline": _pillow_baseline,
    "checked": _checked,
}


def rss_mb(field: str = "VmHWM") -> float:
    """This process's peak (VmHWM) or current (VmRSS) resident memory. VmHWM starts afresh at
    exec, unlike ru_maxrss, which keeps the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_here(engine: str, path: str) -> None:
    """Runs in the child: import the engine, read the file, make the thumbnail; print JSON."""
    run = ENGINES[engine]
    if engine in ("vips", "checked"):
        from thumbnailer import _vips  # noqa: PLC0415

        _vips()  # import libvips before timing, as the Pillow engines import Pillow below
    else:
        import PIL.Image  # noqa: F401, PLC0415
    data = Path(path).read_bytes()
    before = rss_mb("VmRSS")
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        size, error = len(run(data)), None
    except Exception as exc:
        size, error = 0, f"{type(exc).__name__}: {str(exc).splitlines()[0][:60]}"
    result = {
        "cpu": time.process_time() - cpu,
        "wall": time.perf_counter() - wall,
        "rss_mb": rss_mb(),
        "before_mb": before,
        "size": size,
        "error": error,
    }
    print(json.dumps(result))


def measure(engine: str, path: Path) -> dict:
    """Run one engine on one file in a fresh interpreter (a killed or crashed child is reported)."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and script
            [sys.executable, __file__, "--measure", engine, str(path)],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"cpu": 300.0, "rss_mb": float("nan"), "error": "timed out after 300 s"}
    if done.returncode != 0:
        return {"cpu": float("nan"), "rss_mb": float("nan"), "error": f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the report -------------------------------------------------------------------------------


def lambda_seconds(cpu: float, memory_mb: int) -> float:
    return cpu * max(1769 / memory_mb, 1.0)


def decode_bytes_per_pixel(result: dict, pixels: int) -> float:
    """What decoding added to the process, per pixel of the image."""
    return (result["rss_mb"] - result["before_mb"]) * 2**20 / pixels


def header_of(path: Path) -> ImageHeader:
    return read_header(path.read_bytes(), NO_LIMITS)


def verdict(path: Path, vips: dict, memory_mb: int) -> str:
    """At this memory: "refused (...)", "fits (...)" or "FAILS: ..."."""
    settings = image_limits(memory_mb, TIMEOUT_SECONDS, MAX_OBJECT_BYTES)
    limits = ImageLimits(settings.max_pixels, settings.max_frames, settings.max_jpeg_scans)
    try:
        read_header(path.read_bytes(), limits)
    except RefusedImageError as refused:
        return f"refused ({refused.refusal.code})"
    seconds = lambda_seconds(vips["cpu"], memory_mb)
    if vips["error"] or vips["rss_mb"] * 1.2 > memory_mb:
        return f"FAILS: {vips['error'] or 'memory'}"
    if seconds * 2 > TIMEOUT_SECONDS:
        return f"FAILS: {seconds:.1f} s"
    return f"fits ({seconds:.2f} s, {vips['rss_mb']:.0f} MB)"


def cost_per_1000(cpu: float, memory_mb: int) -> float:
    seconds = lambda_seconds(cpu, memory_mb) + S3_ROUND_TRIPS_SECONDS
    return 1000 * (memory_mb / 1024 * seconds * PRICE_PER_GB_SECOND + PRICE_PER_REQUEST)


def print_table(corpus: Path, results: dict, headers: dict) -> None:
    print(
        f"{'image':<13} {'bytes':>9} {'size':>11} {'fr':>3} {'scans':>5}"
        f" | {'Pillow s':>8} {'peak MB':>7} | {'vips s':>7} {'peak MB':>7} | notes"
    )
    for sample in CORPUS:
        pil, vips, header = (
            results[sample.name]["pillow"],
            results[sample.name]["vips"],
            headers[sample.name],
        )
        notes = "; ".join(
            f"{engine}: {r['error']}"
            for engine, r in (("Pillow", pil), ("vips", vips))
            if r["error"]
        )
        print(
            f"{sample.name:<13} {(corpus / sample.name).stat().st_size:>9}"
            f" {header.width:>5}x{header.height:<5} {header.frames:>3} {header.scans:>5}"
            f" | {pil['cpu']:>8.3f} {pil['rss_mb']:>7.0f} | {vips['cpu']:>7.3f}"
            f" {vips['rss_mb']:>7.0f} | {notes}"
        )


def print_targets(corpus: Path, results: dict) -> None:
    base, vips = measure("baseline", corpus / "photo24.jpg"), results["photo24.jpg"]["vips"]
    decode = (vips["rss_mb"] - vips["before_mb"]) / max(base["rss_mb"] - base["before_mb"], 0.1)
    print(
        f"\n24 MP JPEG vs Pillow's Image.open().thumbnail() ({base['cpu']:.3f} CPU s,"
        f" {base['rss_mb']:.0f} MB peak): vips {vips['cpu'] / base['cpu']:.2f}x the time"
        f" (target <= 0.5), {vips['rss_mb'] / base['rss_mb']:.2f}x the peak RSS (target <= 0.35),"
        f" {decode:.2f}x the memory added by decoding"
    )


def print_model_check(results: dict, headers: dict) -> None:
    """The worst decode memory per pixel each engine needed, bombs included (they are refused in
    production, but they are the images each engine has to hold whole)."""
    for engine in ("pillow", "vips"):
        worst = max(
            (decode_bytes_per_pixel(results[s.name][engine], headers[s.name].pixels), s.name)
            for s in CORPUS
            if not results[s.name][engine]["error"]
        )
        print(f"{engine}: decoding needed up to {worst[0]:.1f} bytes per pixel ({worst[1]})")
    print(f"the limits assume {BYTES_PER_PIXEL} bytes per pixel (checked at the limit below)")


def limits_hold(corpus: Path, memory_mb: int) -> bool:
    """Decode, at this memory's pixel limit, the formats libvips must hold whole: each must fit."""
    limit = image_limits(memory_mb, TIMEOUT_SECONDS, MAX_OBJECT_BYTES).max_pixels // SCALE**2
    folder = corpus / f"limit-{memory_mb}"
    folder.mkdir()
    holds = True
    for name in make_limit_samples(folder, limit):
        vips = measure("vips", folder / name)
        header = header_of(folder / name)
        text = verdict(folder / name, vips, memory_mb)
        per_pixel = decode_bytes_per_pixel(vips, header.pixels)
        print(f"  at the limit: {name:<13} {text}; decoding {per_pixel:.1f} bytes per pixel")
        holds = holds and text.startswith("fits")
    return holds


def choose_memory(corpus: Path, results: dict) -> int | None:
    """The smallest candidate where every ordinary image fits, every bomb is refused, and the
    worst formats at the pixel limit fit too."""
    print(f"\nper memory size (timeout {TIMEOUT_SECONDS} s; objects up to {MAX_OBJECT_BYTES} B):")
    for memory_mb in CANDIDATE_MB:
        try:
            limit = image_limits(memory_mb, TIMEOUT_SECONDS, MAX_OBJECT_BYTES).max_pixels
        except ValueError as error:
            print(f"{memory_mb:>5} MB: {error}")
            continue
        verdicts = {s: verdict(corpus / s.name, results[s.name]["vips"], memory_mb) for s in CORPUS}
        safe = not any(v.startswith("FAILS") for v in verdicts.values())
        accepts = all(verdicts[s].startswith("fits") for s in CORPUS if not s.bomb)
        refuses = all(verdicts[s].startswith("refused") for s in CORPUS if s.bomb)
        print(
            f"{memory_mb:>5} MB: up to {limit / 1e6:.1f} MP; all fit or refused: {safe};"
            f" ordinary images accepted: {accepts}; bombs refused: {refuses}"
        )
        if safe and accepts and refuses and limits_hold(corpus, memory_mb):
            for sample, text in verdicts.items():
                print(f"  at {memory_mb} MB  {sample.name:<13} {text}")
            return memory_mb
    return None


def report(corpus: Path) -> None:
    print(f"{sys.executable} (Python {sys.version.split()[0]}); thumbnails {THUMBNAIL_PX} px")
    headers = {s.name: header_of(corpus / s.name) for s in CORPUS}
    results = {s.name: {e: measure(e, corpus / s.name) for e in ("pillow", "vips")} for s in CORPUS}
    print_table(corpus, results, headers)
    print_targets(corpus, results)
    print_model_check(results, headers)
    chosen = choose_memory(corpus, results)
    if chosen is None:
        print("no candidate memory size passes")
        return
    cpu = results["photo24.jpg"]["vips"]["cpu"]
    print(
        f"\nchosen onUploadMemoryMb: {chosen}. Cost per 1,000 thumbnails of the 24 MP JPEG"
        f" (+{S3_ROUND_TRIPS_SECONDS} s of S3 calls each): ${cost_per_1000(cpu, chosen):.5f}"
        f" at {chosen} MB vs ${cost_per_1000(cpu, TODAY_MB):.5f} at {TODAY_MB} MB"
        f" (arm64: ${PRICE_PER_GB_SECOND}/GB-s, ${PRICE_PER_REQUEST * 1e6:.2f} per 1M requests)"
    )


def main() -> None:
    if sys.argv[1:2] == ["--measure"]:
        measure_here(sys.argv[2], sys.argv[3])
        return
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp)
        started = time.perf_counter()
        make_corpus(corpus, SCALE)
        print(f"corpus generated in {time.perf_counter() - started:.1f} s", flush=True)
        report(corpus)
        bench_hostile.report(corpus, measure, (4,) if QUICK else bench_hostile.SIZES_MB)


if __name__ == "__main__":
    main()
