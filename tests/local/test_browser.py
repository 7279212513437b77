"""The web page in a real headless browser: Debian's `chromium`, driven by playwright, against
`python -m offline dev` (what `make dev` runs). Screenshots go to `artifacts/browser/`."""

from __future__ import annotations

import base64
import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from devserver import DevServer, image_bytes, screenshot
from PIL import Image
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, expect, sync_playwright

from scripts.hostile_images import truncated_jpeg

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
THUMBNAIL_TIMEOUT_MS = 30_000
"""on_upload runs within a second or two here; the page itself polls for about 35 s at most."""


def chromium_path() -> str:
    """The system's Chromium: `UPLOADS_BROWSER`, Debian's `chromium`, or Google Chrome."""
    for candidate in (
        os.environ.get("UPLOADS_BROWSER"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("google-chrome"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.fail(
        "no Chromium: install Debian's `chromium` (apt-get install chromium), as .ci/run does"
    )


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """One browser for the module, on a fresh profile; never a downloaded browser."""
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=chromium_path(),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1200, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: BrowserContext, dev_server: DevServer) -> Iterator[Page]:
    """The app at `/`, failing the test on any script error or CSP violation."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        url = (message.location or {}).get("url", "")
        refused = "status of 415" in message.text  # a refused upload, which the page reports
        if message.type == "error" and "favicon.ico" not in url and not refused:
            problems.append(message.text)

    tab = browser.new_page()
    tab.bring_to_front()  # a file chooser opens only from the focused tab
    tab.on("console", on_console)
    tab.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    tab.goto(dev_server.url + "/")
    expect(tab.get_by_role("heading", name="Gallery")).to_be_visible()
    yield tab
    tab.close()
    assert problems == []


def png_file(tmp_path: Path, name: str, size: tuple[int, int] = (480, 320)) -> Path:
    path = tmp_path / name
    path.write_bytes(image_bytes("PNG", size))
    return path


def noise_png(tmp_path: Path, name: str, min_bytes: int) -> Path:
    """A PNG of random pixels (incompressible), just over `min_bytes`."""
    side = int((min_bytes / 3) ** 0.5) + 16
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
    path = tmp_path / name
    path.write_bytes(out.getvalue())
    assert path.stat().st_size > min_bytes
    return path


def card_for(page: Page, filename: str):
    return page.locator(".card").filter(has=page.locator(".card-title", has_text=filename))


def expect_thumbnail(page: Page, filename: str) -> str:
    """Wait for the upload's thumbnail to load in the gallery; its upload id."""
    card = card_for(page, filename)
    image = card.locator(".thumb img")
    expect(image).to_be_visible(timeout=THUMBNAIL_TIMEOUT_MS)
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    return card.get_attribute("data-id")


def test_upload_see_the_thumbnail_then_delete(page: Page, dev_server: DevServer, tmp_path: Path):
    path = png_file(tmp_path, "browser-upload.png")
    page.set_input_files("#file-input", str(path))

    upload_id = expect_thumbnail(page, "browser-upload.png")
    card = card_for(page, "browser-upload.png")
    assert page.locator(".card").first.get_attribute("data-id") == upload_id  # newest first
    assert card.locator(".thumb").get_attribute("href").startswith(dev_server.s3_endpoint)
    assert dev_server.request("GET", f"/uploads/{upload_id}").json()["filename"] == path.name
    screenshot(page, "gallery.png")

    delete = card.get_by_role("button", name="Delete browser-upload.png")
    delete.click()
    expect(delete).to_have_text("Confirm delete")
    delete.click()

    expect(card).to_have_count(0)
    assert dev_server.request("GET", f"/uploads/{upload_id}").status == 404


def test_an_image_that_cannot_be_decoded_is_kept_and_the_page_stops_waiting(
    page: Page, dev_server: DevServer, tmp_path: Path
):
    path = tmp_path / "cut-short.jpg"  # its pixel data ends early: kept, but no thumbnail
    path.write_bytes(truncated_jpeg())
    page.set_input_files("#file-input", str(path))

    card = card_for(page, "cut-short.jpg")
    # Well before the ~35 s the page polls for a thumbnail that may still come.
    expect(card.locator(".thumb")).to_have_text("No preview. Open the original.", timeout=15_000)
    got = dev_server.request("GET", f"/uploads/{card.get_attribute('data-id')}").json()
    assert got["thumbnailError"]["code"] == "unreadable_image"
    assert "thumbnailUrl" not in got


def test_a_file_over_max_upload_bytes_goes_straight_to_s3(
    page: Page, dev_server: DevServer, tmp_path: Path
):
    path = noise_png(tmp_path, "browser-large.png", 4 * 1024 * 1024)  # dev's maxUploadBytes
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)

    page.set_input_files("#file-input", str(path))

    upload_id = expect_thumbnail(page, "browser-large.png")
    assert any(url.startswith(dev_server.s3_endpoint) for url in posts)
    assert not any(url.startswith(f"{dev_server.url}/uploads?") for url in posts)
    assert dev_server.request("GET", f"/uploads/{upload_id}").json()["size"] == path.stat().st_size
    screenshot(page, "large-upload.png")


def test_dropping_a_file_uploads_it(page: Page, tmp_path: Path):
    data = base64.b64encode(png_file(tmp_path, "x.png").read_bytes()).decode()
    transfer = page.evaluate_handle(
        """(data) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], 'browser-dropped.png', { type: 'image/png' }));
            return transfer;
        }""",
        data,
    )
    page.dispatch_event("#upload-form", "drop", {"dataTransfer": transfer})

    expect_thumbnail(page, "browser-dropped.png")


@pytest.mark.parametrize("key", ["Enter", "Space"])
def test_the_drop_zone_works_from_the_keyboard(page: Page, tmp_path: Path, key: str):
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "file-input":
            break
    assert page.evaluate("document.activeElement.id") == "file-input"
    outline = page.eval_on_selector(
        "label[for=file-input]", "(label) => getComputedStyle(label).outlineStyle"
    )
    assert outline == "solid"  # the focus is visible on the drop zone's button

    # Playwright turns on file-chooser interception without waiting for it: do it first, and let
    # one round trip make sure it is on before the key is pressed.
    page.on("filechooser", lambda _: None)
    page.evaluate("0")
    with page.expect_file_chooser(timeout=5000) as chooser:
        page.keyboard.press(key)
    chooser.value.set_files(str(png_file(tmp_path, f"browser-{key}.png")))

    expect_thumbnail(page, f"browser-{key}.png")


def test_load_more_follows_the_cursor_newest_first(page: Page, dev_server: DevServer):
    created = []
    for _ in range(13):  # more than the page's 12 per request
        reply = dev_server.request(
            "POST", "/uploads", image_bytes("PNG", (40, 30)), {"content-type": "image/png"}
        )
        assert reply.status == 201
        created.append(reply.json()["id"])
    page.reload()
    more = page.get_by_role("button", name="Load more")
    expect(more).to_be_visible()
    expect(page.locator(".card")).to_have_count(12)

    more.click()

    expect(page.locator(".card")).not_to_have_count(12)
    shown = [card.get_attribute("data-id") for card in page.locator(".card").all()]
    assert [upload_id for upload_id in shown if upload_id in created] == created[::-1]


# -- layout at a desktop and a phone width: screenshots of each in artifacts/browser/ ----------

WIDTHS = [1280, 390]


def at_width(page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 844})


@pytest.mark.parametrize("width", WIDTHS)
def test_the_header_keeps_its_spacing_and_the_page_fits(page: Page, width: int):
    at_width(page, width)

    header = page.locator(".topbar").bounding_box()
    brand = page.locator(".brand").bounding_box()
    panel = page.locator("main .panel").first.bounding_box()
    screenshot(page, f"header-{width}.png")
    assert brand["y"] - header["y"] >= 12  # not touching the top edge
    assert header["y"] + header["height"] - (brand["y"] + brand["height"]) >= 12
    assert panel["y"] - (header["y"] + header["height"]) >= 20
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_a_1x1_images_card_is_as_tall_as_a_wide_images(page: Page, tmp_path: Path, width: int):
    at_width(page, width)
    tiny, wide = f"tiny-{width}.png", f"wide-{width}.png"
    page.set_input_files("#file-input", [str(png_file(tmp_path, tiny, (1, 1))),
                                         str(png_file(tmp_path, wide, (480, 320)))])  # fmt: skip
    expect_thumbnail(page, tiny)
    expect_thumbnail(page, wide)

    tiny_card = card_for(page, tiny).bounding_box()
    thumb = card_for(page, tiny).locator(".thumb").bounding_box()
    screenshot(page, f"tiny-image-{width}.png")
    assert abs(tiny_card["height"] - card_for(page, wide).bounding_box()["height"]) <= 1
    assert abs(thumb["height"] - thumb["width"] * 3 / 4) <= 1.5  # the 4:3 frame, not 1:1


@pytest.mark.parametrize("width", WIDTHS)
def test_a_non_image_gets_one_wording_from_the_page_and_the_server(
    page: Page, tmp_path: Path, width: int
):
    at_width(page, width)
    text = tmp_path / f"notes-{width}.txt"  # refused by the page: not an image type
    text.write_text("hello")
    fake = tmp_path / f"fake-{width}.png"  # sent as image/png, refused by the server
    fake.write_bytes(b"not an image at all")

    page.set_input_files("#file-input", [str(text), str(fake)])

    statuses = page.locator(".job.is-error .job-status")
    expect(statuses).to_have_text(["Not a JPEG, PNG, GIF, or WebP image"] * 2)
    screenshot(page, f"not-an-image-{width}.png")
