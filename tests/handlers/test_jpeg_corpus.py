"""Photos that decoders display are kept (issue 27 item 2): a corpus of JPEGs as Pillow, cjpeg,
jpegtran and ImageMagick write them, and the quirks real files carry, each accepted by the API,
thumbnailed by on_upload and looking like what Pillow shows. A JPEG whose pixel data ends early is
still not thumbnailed, whatever quirk comes before it, and it is kept, marked, never removed.

Pillow and libvips in their default modes are the oracle: the test first checks that both display
every file of the corpus, so a corpus file that stopped being displayable fails here too.
"""

from __future__ import annotations

import base64
import importlib
import io
import tempfile
from pathlib import Path
from typing import Any

import pytest
import pyvips
from PIL import Image, ImageChops, ImageStat

from scripts.hostile_images import (
    JPEG_QUIRKS,
    jfif_revision,
    sequential_sos_zeroed,
    truncated_jpeg,
    zeros_between_segments,
)
from scripts.thumbnail_corpus import decoder_corpus

with tempfile.TemporaryDirectory() as _workdir:
    CORPUS = decoder_corpus(Path(_workdir))


@pytest.fixture
def modules(lambda_modules: Any) -> Any:
    lambda_modules("on_upload")
    return type(
        "Modules",
        (),
        {
            "header": importlib.import_module("uploads_common.image_header"),
            "thumbnailer": importlib.import_module("thumbnailer"),
            "jpeg": importlib.import_module("uploads_common.images").JPEG,
        },
    )


def thumbnail(modules: Any, data: bytes) -> Image.Image:
    """What on_upload makes of `data`: its header checked, repaired, then thumbnailed (64 px)."""
    header = modules.header.read_header(data, modules.header.ImageLimits.from_env({}))
    made = modules.thumbnailer.make_thumbnail(
        modules.header.decoder_input(data, header), modules.jpeg, 64
    )
    return Image.open(io.BytesIO(made)).convert("RGB")


def test_the_corpus_covers_every_encoder_and_quirk() -> None:
    prefixes = {name.split("-")[0] for name in CORPUS}
    assert prefixes == {"pillow", "cjpeg", "jpegtran", "magick", "quirk"}
    assert {f"quirk-{name}" for name in JPEG_QUIRKS} <= set(CORPUS)


@pytest.mark.parametrize("name", CORPUS)
def test_every_displayable_jpeg_gets_a_thumbnail_as_libvips_displays_it(modules, name: str) -> None:
    data = CORPUS[name]
    shown = Image.open(io.BytesIO(data))
    shown.load()  # the oracle: Pillow displays it, and so does libvips in its default mode
    displayed = pyvips.Image.thumbnail_buffer(data, 64, height=64).colourspace("srgb")

    made = thumbnail(modules, data)

    assert made.size == (displayed.width, displayed.height)
    assert made.size == ((64, 43) if shown.width > shown.height else (43, 64))
    expected = Image.open(io.BytesIO(displayed.pngsave_buffer())).convert("RGB")
    difference = ImageStat.Stat(ImageChops.difference(made, expected)).mean
    assert max(difference) < 10, difference  # the same picture, JPEG-encoded once more


@pytest.mark.parametrize("quirk", ["jfif-2.01", "sos-params-zero", "progressive-padded-end"])
def test_quirks_stop_libvips_in_its_strict_mode(modules, quirk: str) -> None:
    """Why the per-warning decision is needed: each quirk is a libjpeg warning, which a strict
    decode (on_upload's first) turns into an error."""
    strict = pyvips.Image.thumbnail_buffer(
        CORPUS[f"quirk-{quirk}"], 64, option_string="fail_on=warning"
    )
    with pytest.raises(pyvips.Error, match="VipsJpeg"):
        strict.avg()


@pytest.mark.parametrize("quirk", ["zeros-between-segments", "junk-before-scan-tables"])
def test_api_accepts_bytes_libjpeg_skips_between_segments(api: Any, quirk: str) -> None:
    data = CORPUS[f"quirk-{quirk}"]

    response = api.call("POST", "/uploads", body={"image": base64.b64encode(data).decode()})

    assert response.status == 201, response.body


def test_a_header_that_breaks_off_inside_a_segment_is_still_415(api: Any) -> None:
    data = CORPUS["pillow-baseline"]
    response = api.call("POST", "/uploads", body={"image": base64.b64encode(data[:30]).decode()})

    assert (response.status, response.body["error"]["code"]) == (415, "invalid_image")


DAMAGED = {
    "data-ends-early": truncated_jpeg(),
    "jfif-2.01-then-data-ends-early": jfif_revision(truncated_jpeg()),
    "zeros-then-data-ends-early": zeros_between_segments(truncated_jpeg()),
    "sos-params-then-data-ends-early": sequential_sos_zeroed(truncated_jpeg()),
}


@pytest.mark.parametrize("name", DAMAGED)
def test_pixel_data_that_ends_early_gets_no_thumbnail_whatever_quirk_comes_first(
    modules, name: str
) -> None:
    with pytest.raises(modules.thumbnailer.UnreadableImageError, match="premature end of data"):
        thumbnail(modules, DAMAGED[name])


def test_a_damaged_upload_is_kept_marked_and_reported_by_the_api(
    api: Any, load_function: Any, s3: Any, bucket: str, build_s3_event: Any
) -> None:
    data = DAMAGED["jfif-2.01-then-data-ends-early"]
    created = api.call("POST", "/uploads", body={"image": base64.b64encode(data).decode()})
    assert created.status == 201, created.body
    on_upload = load_function("on_upload")

    result = on_upload.handler(build_s3_event(created.body["key"]), api.context)

    assert result == {"processed": 1, "skipped": 0, "removed": 0}
    kept = s3.get_object(Bucket=bucket, Key=created.body["key"])["Body"].read()
    assert kept == data
    marker = s3.get_object(Bucket=bucket, Key=f"thumbnails/{created.body['id']}.jpg")
    assert marker["Metadata"]["unreadable"] == "unreadable_image"
    assert b"premature end of data segment" in marker["Body"].read()
    got = api.call("GET", "/uploads/{id}", path_params={"id": created.body["id"]}).body
    assert "thumbnailUrl" not in got
    assert got["thumbnailError"]["code"] == "unreadable_image"
    assert on_upload.handler(build_s3_event(created.body["key"]), api.context) == {
        "processed": 0,
        "skipped": 1,
        "removed": 0,
    }  # a repeated event changes nothing
