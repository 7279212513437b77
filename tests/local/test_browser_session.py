"""The page's session and another site's page, in a real browser (issue 19, items 4 and 6).

Against the prod stack (`auth: cognito`): an access token close to its expiry is refreshed before
the next API call without asking, and once the user signed out the refresh fails and the page asks
to sign in again. Against the dev stack (`auth: none`): a page on another origin cannot store an
image with the requests a browser sends without a CORS preflight."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from devserver import DevServer, image_bytes
from playwright.sync_api import BrowserContext, Page, Request, expect
from test_browser import browser  # noqa: F401 - fixture
from test_local_auth import PASSWORD, Cognito, prod_server  # noqa: F401 - fixture

SESSION_KEY = "uploads.session"


@pytest.fixture(scope="module")
def other_site() -> Iterator[str]:
    """Another site on this machine (another port: another origin), serving one harmless page."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!doctype html><title>another site</title>"
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def signed_in(browser: BrowserContext, server: DevServer, email: str) -> Page:  # noqa: F811
    Cognito(server).sign_in(email)  # creates the user with PASSWORD
    tab = browser.new_page()
    tab.goto(server.url + "/")
    tab.get_by_label("Email").fill(email)
    tab.get_by_label("Password").fill(PASSWORD)
    with tab.expect_response(lambda r: r.url.startswith(f"{server.url}/uploads?")):
        tab.get_by_role("button", name="Sign in").click()  # then the page lists the uploads
    expect(tab.get_by_role("button", name="Sign out")).to_be_visible()
    return tab


def session(tab: Page) -> dict:
    return tab.evaluate(f"JSON.parse(sessionStorage.getItem('{SESSION_KEY}'))")


def expire_soon(tab: Page, saved: dict) -> None:
    """Put `saved` back with an access token that expires now, then reload the page."""
    tab.evaluate(
        "([key, s]) => sessionStorage.setItem(key, JSON.stringify({...s, expiresAt: Date.now()}))",
        [SESSION_KEY, saved],
    )
    tab.reload()


def auth_flows(tab: Page) -> list[str]:
    """The AuthFlow of every InitiateAuth the page sends from now on."""
    flows: list[str] = []

    def on_request(request: Request) -> None:
        if request.headers.get("x-amz-target", "").endswith(".InitiateAuth"):
            flows.append(json.loads(request.post_data or "{}").get("AuthFlow"))

    tab.on("request", on_request)
    return flows


def test_a_token_about_to_expire_is_refreshed_without_asking(browser, prod_server):  # noqa: F811
    tab = signed_in(browser, prod_server, "carol@example.com")
    before = session(tab)
    assert before["refreshToken"]
    flows = auth_flows(tab)

    with tab.expect_response(lambda r: r.url.startswith(f"{prod_server.url}/uploads?")) as listed:
        expire_soon(tab, before)

    assert listed.value.status == 200
    assert flows == ["REFRESH_TOKEN_AUTH"]
    after = session(tab)
    assert after["token"] != before["token"]
    assert after["refreshToken"] == before["refreshToken"]
    expect(tab.get_by_role("button", name="Sign out")).to_be_visible()
    tab.close()


def test_after_sign_out_the_refresh_fails_and_the_page_asks_to_sign_in(browser, prod_server):  # noqa: F811
    tab = signed_in(browser, prod_server, "dave@example.com")
    saved = session(tab)
    with tab.expect_response(
        lambda r: "GlobalSignOut" in (r.request.headers.get("x-amz-target") or "")
    ):
        tab.get_by_role("button", name="Sign out").click()

    expire_soon(tab, saved)  # as if the tab still held the tokens

    expect(tab.get_by_role("button", name="Sign in")).to_be_visible()
    expect(tab.locator("#announcer")).to_contain_text("Your session has ended")
    assert session(tab) is None
    tab.close()


@pytest.mark.parametrize("content_type", [None, "text/plain"])
def test_another_sites_page_cannot_store_an_image(
    browser,  # noqa: F811
    dev_server: DevServer,
    other_site: str,
    content_type: str | None,
) -> None:
    body = json.dumps({"image": base64.b64encode(image_bytes()).decode(), "filename": "x.png"})
    before = dev_server.request("GET", "/uploads?limit=100").json()["items"]
    tab = browser.new_page()
    tab.goto(other_site)

    with tab.expect_response(f"{dev_server.url}/uploads") as answered:
        tab.evaluate(
            """([url, body, type]) => fetch(url, {
                method: 'POST', mode: 'no-cors',
                body: type ? new Blob([body], {type}) : new Blob([body]),
            })""",
            [f"{dev_server.url}/uploads", body, content_type],
        )

    assert answered.value.request.headers.get("content-type") == content_type
    assert answered.value.status == 415
    assert dev_server.request("GET", "/uploads?limit=100").json()["items"] == before
    tab.close()
