"""The thumbnail benchmark's corpus: ordinary images of every kind on_upload must keep right, and
the bombs it must refuse. Generated afresh (seeded noise is not needed: sizes and shapes decide the
figures, not the exact pixels).

Also the decoder corpus (`decoder_corpus`): small JPEGs as real encoders write them (Pillow,
libjpeg-turbo's cjpeg and jpegtran, ImageMagick) and the quirks of `hostile_images.JPEG_QUIRKS`,
every one a file that Pillow and libvips display, so every one must get a thumbnail.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

try:  # run from scripts/ (the benchmarks), or imported as `scripts.thumbnail_corpus` (the tests)
    from hostile_images import JPEG_QUIRKS, lossless_webp_bomb, png_bomb, repeat_last_scan
except ModuleNotFoundError:
    from scripts.hostile_images import JPEG_QUIRKS, lossless_webp_bomb, png_bomb, repeat_last_scan


@dataclass(frozen=True)
class Sample:
    name: str
    description: str
    bomb: bool = False
    """A bomb must be refused from its header; every other sample must be accepted."""


CORPUS = (
    Sample("photo24.jpg", "24 MP photo-like JPEG, q90"),
    Sample("photo24.png", "24 MP photo-like PNG, RGB"),
    Sample("animated.gif", "animated GIF, 1600x1200, 40 frames"),
    Sample("bomb.webp", "30-byte lossless WebP declaring 9459x9459", bomb=True),
    Sample("bomb.png", "348 KB RGBA PNG, 9459x9459", bomb=True),
    Sample("scans400.jpg", "progressive JPEG, last scan repeated 400 times", bomb=True),
    Sample("rotated.jpg", "JPEG 3000x2000, EXIF orientation 6"),
    Sample("cmyk.jpg", "CMYK JPEG 3000x2000"),
    Sample("deep16.png", "16-bit RGB PNG 3000x2000"),
    Sample("palette.png", "palette PNG with transparency 2000x2000"),
)


def photo(width: int, height: int, grain: float = 8.0):
    """A photo-like RGB Pillow image: blotches of colour and gradients under fine grain (so it
    compresses as a photo does, unlike a flat test pattern)."""
    import pyvips  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415

    def blotches() -> pyvips.Image:
        small = pyvips.Image.gaussnoise(width // 32 + 1, height // 32 + 1, sigma=48, mean=128)
        return small.resize(32, kernel="cubic").crop(0, 0, width, height)

    ramp = pyvips.Image.grey(width, height) * 255
    base = blotches().bandjoin([blotches(), ramp]) * 0.8 + ramp * 0.2
    if grain:
        base += pyvips.Image.gaussnoise(width, height, sigma=grain, mean=0)
    return Image.frombytes("RGB", (width, height), base.cast("uchar").write_to_memory())


def make_corpus(folder: Path, scale: int = 1) -> None:
    """Write every CORPUS sample into `folder`; `scale` divides every side (a quick run's small
    corpus: the same kinds of image, far fewer pixels)."""
    import pyvips  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415

    def px(n: int) -> int:
        return max(n // scale, 16)

    folder.mkdir(parents=True, exist_ok=True)
    big = photo(px(6000), px(4000))
    big.save(folder / "photo24.jpg", quality=90)
    big.save(folder / "photo24.png", compress_level=6)
    mid = big.resize((px(3000), px(2000)))
    indexed = mid.resize((px(1600), px(1200))).quantize(256)  # rotating keeps the palette: fast
    frames = [indexed.rotate(angle * 9) for angle in range(40)]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:], duration=80)
    (folder / "bomb.webp").write_bytes(lossless_webp_bomb(px(9459), px(9459)))
    (folder / "bomb.png").write_bytes(png_bomb(px(9459), px(9459)))
    progressive = io.BytesIO()
    photo(px(1024), px(768), grain=0).save(progressive, "JPEG", quality=60, progressive=True)
    (folder / "scans400.jpg").write_bytes(repeat_last_scan(progressive.getvalue(), 400))
    exif = Image.Exif()
    exif[0x0112] = 6
    mid.save(folder / "rotated.jpg", quality=90, exif=exif)
    mid.convert("CMYK").save(folder / "cmyk.jpg", quality=90)
    deep = pyvips.Image.new_from_memory(mid.tobytes(), px(3000), px(2000), 3, "uchar")
    (deep.cast("ushort") * 257).copy(interpretation="rgb16").cast("ushort").pngsave(
        str(folder / "deep16.png")
    )
    palette = mid.resize((px(2000), px(2000))).quantize(64)
    palette.save(folder / "palette.png", transparency=0)


def make_limit_samples(folder: Path, pixels: int) -> list[str]:
    """Images of `pixels` pixels (square-ish) in the formats libvips must hold whole: the worst
    cases that a pixel limit still lets through. Returns their file names."""
    import pyvips  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415

    side = int(pixels**0.5)
    gif = Image.new("P", (side, pixels // side), 1)
    gif.putpalette([(i * 37) % 256 for i in range(768)])
    gif.paste(2, (0, 0, side // 2, pixels // side // 2))
    second = gif.copy()
    second.paste(3, (side // 4, side // 4, side // 2, side // 2))
    # Animated, "restore to previous" disposal: the decoder keeps a second full canvas.
    gif.save(folder / "limit.gif", save_all=True, append_images=[second, gif], disposal=3)
    (folder / "limit.webp").write_bytes(lossless_webp_bomb(side, pixels // side))
    deep = pyvips.Image.black(side, pixels // side, bands=4).cast("ushort")
    deep.copy(interpretation="rgb16").pngsave(str(folder / "limit16i.png"), interlace=True)
    return ["limit.gif", "limit.webp", "limit16i.png"]


CJPEG_OPTIONS = {
    "default": [],
    "progressive": ["-progressive"],
    "restart": ["-restart", "1"],
    "arithmetic": ["-arithmetic"],
    "grayscale": ["-grayscale"],
    "444-q95": ["-sample", "1x1", "-quality", "95"],
    "optimize-q40": ["-optimize", "-quality", "40"],
    "float-dct-smooth": ["-dct", "float", "-smooth", "20"],
}
JPEGTRAN_OPTIONS = {
    "progressive": ["-progressive"],
    "optimize-copy-none": ["-optimize", "-copy", "none"],
    "rotate-90": ["-rotate", "90"],
    "restart-rows": ["-restart", "2"],
    "arithmetic": ["-arithmetic"],
    "grayscale": ["-grayscale"],
}
MAGICK_OPTIONS = {
    "default": [],
    "progressive": ["-interlace", "Plane"],
    "422-q70": ["-sampling-factor", "2x1", "-quality", "70"],
    "cmyk": ["-colorspace", "CMYK"],
    "restart-comment": ["-define", "jpeg:restart-interval=2", "-set", "comment", "a comment"],
    "gray-16-bit-source": ["-colorspace", "Gray", "-depth", "16"],
}
JPEG_TOOLS = ("cjpeg", "jpegtran")
"""Debian's libjpeg-turbo-progs; ImageMagick is `magick` (7) or `convert-im6.q16` (Debian's 6)."""


def magick() -> str:
    """ImageMagick's command line tool, named directly (not through a `convert` on the PATH)."""
    found = shutil.which("magick") or shutil.which("convert-im6.q16")
    if found is None:
        raise RuntimeError("ImageMagick is not installed (Debian: apt-get install imagemagick)")
    return found


def decoder_corpus(workdir: Path, size: tuple[int, int] = (96, 64)) -> dict[str, bytes]:
    """Name -> JPEG bytes: each encoder's ordinary variants of one small picture, then each quirk.
    RuntimeError if one of the encoders is missing."""
    from PIL import Image, ImageDraw  # noqa: PLC0415

    missing = [tool for tool in JPEG_TOOLS if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} not installed (Debian: libjpeg-turbo-progs)")
    picture = Image.linear_gradient("L").resize(size).convert("RGB")
    ImageDraw.Draw(picture).ellipse((8, 8, size[0] // 2, size[1] - 8), fill=(200, 40, 30))
    ImageDraw.Draw(picture).rectangle((size[0] // 2, 4, size[0] - 6, 20), fill=(20, 60, 210))
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "source.ppm"
    picture.save(source)

    def run(*command: str) -> bytes:
        return subprocess.run(command, check=True, capture_output=True).stdout  # noqa: S603

    def pillow(**params: object) -> bytes:
        out = io.BytesIO()
        picture.save(out, "JPEG", **params)
        return out.getvalue()

    corpus = {
        "pillow-baseline": pillow(quality=85),
        "pillow-progressive": pillow(quality=85, progressive=True),
        "pillow-restart": pillow(quality=85, restart_marker_blocks=4),
        "pillow-444-optimized": pillow(quality=95, subsampling=0, optimize=True),
    }
    corpus |= {f"cjpeg-{name}": run("cjpeg", *o, str(source)) for name, o in CJPEG_OPTIONS.items()}
    (workdir / "plain.jpg").write_bytes(corpus["cjpeg-default"])
    corpus |= {
        f"jpegtran-{name}": run("jpegtran", *options, str(workdir / "plain.jpg"))
        for name, options in JPEGTRAN_OPTIONS.items()
    }
    corpus |= {
        f"magick-{name}": run(magick(), str(source), *options, "jpg:-")
        for name, options in MAGICK_OPTIONS.items()
    }
    bases = {
        "baseline": corpus["pillow-baseline"],
        "progressive": corpus["pillow-progressive"],
        "restart": corpus["pillow-restart"],
    }
    return corpus | {
        f"quirk-{name}": change(bases[base]) for name, (base, change) in JPEG_QUIRKS.items()
    }
