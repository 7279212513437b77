"""The upload panel on a phone (a touch screen, no hover, 390 px wide): nothing to drag from, so
no "Drag and drop"; and on a desktop, the drop zone still says it. The page is the one the
uploads function serves (`web_page.build_page`), loaded without a server: only its markup and
style matter here."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator

import pytest
from devserver import PROJECT_DIR
from playwright.sync_api import Browser, expect, sync_playwright
from test_browser import CHROMIUM_ARGS, chromium_path

WEB_PAGE = PROJECT_DIR / "lambda_src" / "uploads" / "web_page.py"


def page_html() -> str:
    spec = importlib.util.spec_from_file_location("web_page_under_test", WEB_PAGE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.build_page({}, []).html


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.mark.parametrize(
    ("device", "drag_shown"),
    [
        ({"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}, False),
        ({"viewport": {"width": 1280, "height": 900}}, True),
    ],
    ids=["phone", "desktop"],
)
def test_drag_and_drop_is_offered_only_where_there_is_something_to_drag(
    browser: Browser, device: dict, drag_shown: bool
) -> None:
    context = browser.new_context(**device)
    try:
        page = context.new_page()
        page.set_content(page_html())
        zone = page.locator("#upload-form")
        expect(zone.get_by_text("Choose images")).to_be_visible()
        drag = zone.get_by_text("Drag and drop images here")
        if drag_shown:
            expect(drag).to_be_visible()
        else:
            expect(drag).to_be_hidden()
            assert "Drag and drop" not in zone.inner_text()
    finally:
        context.close()
