"""Sign-in in local mode: the prod stack (`auth: cognito`) over real HTTP, its user pool on moto's
cognito-idp, tokens checked by the local gateway's JWT authorizer before the function runs."""

from __future__ import annotations

import base64
import gzip
import importlib.resources
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from devserver import PROJECT_DIR, DevServer, http, image_bytes, screenshot, wait_until
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

PASSWORD = "A-long-Passw0rd!"


class Cognito:
    """The local user pool as the banner names it."""

    def __init__(self, server: DevServer) -> None:
        self.server = server
        self.printed = server.wait_for_log(r"TOKEN=\$\(make -s dev-user ").strip()
        endpoint, self.pool, self.client, outputs = (
            re.search(rf"{name}=([^\s)]+)", self.printed).group(1)
            for name in ("ENDPOINT", "POOL", "CLIENT", "OUTPUTS")
        )
        self.arguments = ["--endpoint", endpoint, "--pool", self.pool, "--client", self.client,
                          "--outputs", outputs]  # fmt: skip

    def sign_in(self, email: str, password: str = PASSWORD) -> subprocess.CompletedProcess:
        """The documented command: create the user, sign in, print the access token."""
        return subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "offline", "dev-user", email, password, *self.arguments],
            cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    def token(self, email: str) -> str:
        done = self.sign_in(email)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()


@pytest.fixture(scope="module")
def prod_server() -> Iterator[DevServer]:
    server = DevServer(PROJECT_DIR, stack="prod")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def cognito(prod_server: DevServer) -> Cognito:
    return Cognito(prod_server)


@pytest.fixture(scope="module")
def alice(cognito: Cognito) -> str:
    return cognito.token("alice@example.com")


@pytest.fixture(scope="module")
def bob(cognito: Cognito) -> str:
    return cognito.token("bob@example.com")


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def call(server: DevServer, method: str, path: str, token: str | None, **kwargs) -> object:
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return server.request(method, path, headers=headers, **kwargs)


def test_signed_in_users_see_only_their_own_uploads(prod_server, alice, bob):
    png = {"body": image_bytes(), "headers": {"content-type": "image/png"}}
    created = call(prod_server, "POST", "/uploads", alice, **png)
    assert created.status == 201, created.body
    upload = created.json()
    alice_sub, bob_sub = claims_of(alice)["sub"], claims_of(bob)["sub"]
    assert alice_sub != bob_sub
    assert upload["key"] == f"uploads/{alice_sub}/{upload['id']}.png"

    assert call(prod_server, "GET", "/uploads", bob).json()["items"] == []
    assert call(prod_server, "GET", f"/uploads/{upload['id']}", bob).status == 404
    assert call(prod_server, "DELETE", f"/uploads/{upload['id']}", bob).status == 404
    presign = json.dumps({"contentType": "image/png", "size": 100}).encode()
    ticket = call(prod_server, "POST", "/uploads/presign", bob, body=presign,
                  headers={"content-type": "application/json"}).json()  # fmt: skip
    assert ticket["key"].startswith(f"uploads/{bob_sub}/")

    listed = call(prod_server, "GET", "/uploads", alice).json()["items"]
    assert [item["id"] for item in listed] == [upload["id"]]

    def thumbnail() -> str | None:
        return (
            call(prod_server, "GET", f"/uploads/{upload['id']}", alice).json().get("thumbnailUrl")
        )

    assert f"thumbnails/{alice_sub}/{upload['id']}.png" in wait_until(thumbnail, timeout=20)
    assert call(prod_server, "DELETE", f"/uploads/{upload['id']}", alice).status == 204
    assert call(prod_server, "GET", f"/uploads/{upload['id']}", alice).status == 404


def test_without_a_token_the_gateway_answers_401_before_the_function(prod_server):
    start = len(prod_server.lines)
    reply = call(prod_server, "GET", "/uploads", None)

    assert reply.status == 401
    assert reply.json() == {"message": "Unauthorized"}
    prod_server.wait_for_log(r"GET /uploads 401 .* -$", start=start)


def test_a_tampered_token_is_401(prod_server, alice, bob):
    header, _, signature = alice.split(".")
    forged = bob.split(".")[1]  # Bob's claims under Alice's signature

    assert call(prod_server, "GET", "/uploads", f"{header}.{forged}.{signature}").status == 401
    assert call(prod_server, "GET", "/uploads", alice + "x").status == 401


def moto_signing_key() -> RSAKey:
    """The private key moto signs its user pools' tokens with (kid "dummy")."""
    resource = importlib.resources.files("moto.cognitoidp") / "resources/jwks-private.json.gz"
    return RSAKey.import_key(json.loads(gzip.decompress(resource.read_bytes())))


@pytest.mark.parametrize(
    "change", [{}, {"sub": "someone-else"}, {"client_id": "someotherclient0000000000"}]
)
def test_a_token_signed_with_the_key_moto_ships_is_401(prod_server, alice, change):
    now = int(time.time())
    claims = claims_of(alice) | {"iat": now - 60, "exp": now + 600} | change
    forged = jwt.encode({"alg": "RS256", "kid": "dummy"}, claims, moto_signing_key())

    assert call(prod_server, "GET", "/uploads", alice).status == 200
    assert call(prod_server, "GET", "/uploads", forged).status == 401


def test_the_pools_jwks_is_this_runs_key_and_verifies_its_tokens(prod_server, cognito, alice):
    url = f"{prod_server.s3_endpoint}/{cognito.pool}/.well-known/jwks.json"
    keys = KeySet.import_key_set(http("GET", url).json())

    assert jwt.decode(alice, keys, algorithms=["RS256"]).claims["sub"] == claims_of(alice)["sub"]
    with pytest.raises(JoseError):
        jwt.decode(alice, KeySet([moto_signing_key()]), algorithms=["RS256"])


def test_dev_user_with_an_outputs_file_that_is_gone_is_one_line(cognito, tmp_path):
    gone = [*cognito.arguments[:-1], str(tmp_path / "stack-outputs.json")]
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "offline", "dev-user", "x@example.com", PASSWORD, *gone],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "holds no local-mode credentials" in done.stderr


def test_the_page_stays_public(prod_server):
    reply = call(prod_server, "GET", "/", None)

    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/html")


def test_a_weak_password_is_refused_by_the_pools_policy(cognito):
    done = cognito.sign_in("carol@example.com", "short")

    assert done.returncode == 1
    assert "password" in done.stderr.lower()
    assert cognito.token("carol@example.com")  # nothing half-made is left: a good one works


def test_the_printed_commands_work_as_printed_in_a_shell(prod_server, cognito):
    """The banner's `TOKEN=$(make -s dev-user ...)` and curl lines, pasted into a shell in the
    project's folder (outside any virtualenv), twice: the second run signs the user in again."""
    start = next(i for i, line in enumerate(prod_server.lines) if "TOKEN=$(" in line)
    commands = "\n".join(line.strip() for line in prod_server.lines[start : start + 2])
    assert commands.splitlines()[1].startswith('curl -H "authorization: Bearer $TOKEN" http')
    user_shell = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "VIRTUAL_ENV"))}
    user_shell["PATH"] = "/usr/local/bin:/usr/bin:/bin"

    for _ in range(2):
        done = subprocess.run(  # noqa: S603 - the banner's own commands, against loopback
            ["/bin/bash", "-c", f"set -e\n{commands}"], cwd=PROJECT_DIR, env=user_shell,
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["items"] == []


def test_dev_user_for_an_existing_user_with_another_password_is_one_line(cognito, alice):
    done = cognito.sign_in("alice@example.com", "Another-Passw0rd!")

    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: alice@example.com exists with another password: give that one, or restart "
        "`make dev` (its users live in memory)"
    ]


def test_dev_user_against_a_stale_endpoint_is_one_line(cognito):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # nothing listens once closed
    stale = ["--endpoint", f"http://127.0.0.1:{port}", *cognito.arguments[2:]]

    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "offline", "dev-user", "a@example.com", PASSWORD, *stale],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1
    assert f"nothing answers at http://127.0.0.1:{port}" in done.stderr


# -- the page: sign-in form and sign-out in a real browser (Debian's chromium) -----------------

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser_page(prod_server: DevServer, tmp_path_factory: pytest.TempPathFactory):
    """The page of the prod stack in headless chromium; fails on any script error or CSP
    violation (the sign-in calls moto's Cognito from the page)."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")), executable_path=CHROMIUM, headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
        )  # fmt: skip
        tab = context.new_page()
        tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
        tab.goto(prod_server.url + "/")
        try:
            yield tab, problems
        finally:
            context.close()


def sign_in_through_the_page(tab, email: str) -> None:
    from playwright.sync_api import expect

    tab.get_by_label("Email").fill(email)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("button", name="Sign out")).to_be_visible(timeout=15_000)
    expect(tab.locator(".account-name")).to_have_text(email)


def test_the_page_signs_in_uploads_and_signs_out(browser_page, cognito, tmp_path):
    from playwright.sync_api import expect

    tab, problems = browser_page
    cognito.token("page-alice@example.com")
    cognito.token("page-bob@example.com")
    expect(tab.locator("#upload-form")).to_be_hidden()
    expect(tab.locator("#gallery-status")).to_contain_text("Sign in")

    sign_in_through_the_page(tab, "page-alice@example.com")
    path = tmp_path / "from-the-page.png"
    path.write_bytes(image_bytes())
    tab.set_input_files("#file-input", str(path))
    expect(tab.locator(".card")).to_have_count(1, timeout=15_000)

    tab.get_by_role("button", name="Sign out").click()
    expect(tab.get_by_role("button", name="Sign in")).to_be_visible()
    expect(tab.locator(".card")).to_have_count(0)
    assert tab.evaluate("sessionStorage.length") == 0

    sign_in_through_the_page(tab, "page-bob@example.com")
    expect(tab.locator("#gallery-status")).to_contain_text("No images yet")
    expect(tab.locator(".card")).to_have_count(0)
    tab.reload()  # the session lasts for the tab
    expect(tab.get_by_role("button", name="Sign out")).to_be_visible()
    assert problems == []


@pytest.mark.parametrize("width", [1280, 390])
def test_sign_in_errors_read_as_one_sentence_and_hide_who_exists(browser_page, cognito, width):
    """A wrong password and an unknown user get the same words (the pool prevents user
    existence errors), ending in one period; the header fits the sign-in form at both widths."""
    from playwright.sync_api import expect

    tab, _ = browser_page
    tab.set_viewport_size({"width": width, "height": 844})
    cognito.token("page-alice@example.com")
    if tab.get_by_role("button", name="Sign out").is_visible():
        tab.get_by_role("button", name="Sign out").click()
    answer = "Could not sign in: Incorrect username or password."
    for email, shot in [("page-alice@example.com", "wrong-password"),
                        ("nobody@example.com", "unknown-user")]:  # fmt: skip
        tab.reload()  # a fresh form: the answer below is this attempt's
        tab.get_by_label("Email").fill(email)
        tab.get_by_label("Password").fill("Wrong-Passw0rd!")
        tab.get_by_role("button", name="Sign in").click()
        expect(tab.locator(".sign-in-status")).to_have_text(answer)
        screenshot(tab, f"sign-in-{shot}-{width}.png")
        expect(tab.locator("#upload-form")).to_be_hidden()

    header = tab.locator(".topbar").bounding_box()
    brand = tab.locator(".brand").bounding_box()
    assert brand["y"] - header["y"] >= 12
    for label in ("Email", "Password"):
        assert tab.get_by_label(label).bounding_box()["width"] >= 140  # not cramped
    assert tab.evaluate("document.documentElement.scrollWidth") <= width


def test_an_invited_user_sets_a_new_password_on_the_page(browser_page, cognito):
    """An administrator's invitation (temporary password) ends in Cognito's
    NEW_PASSWORD_REQUIRED challenge, which the page answers with one more field."""
    from playwright.sync_api import expect

    admin = cognito.server.aws_client("cognito-idp")
    admin.admin_create_user(
        UserPoolId=cognito.pool, Username="invited@example.com",
        TemporaryPassword="Temp-Passw0rd!1", MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": "invited@example.com"}],
    )  # fmt: skip
    tab, problems = browser_page
    problems.clear()  # the wrong-password test's 400 from Cognito is expected there
    if tab.get_by_role("button", name="Sign out").is_visible():
        tab.get_by_role("button", name="Sign out").click()

    tab.get_by_label("Email").fill("invited@example.com")
    tab.get_by_label("Password", exact=True).fill("Temp-Passw0rd!1")
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_label("New password")).to_be_visible(timeout=15_000)
    tab.get_by_label("New password").fill("Brand-New-Passw0rd!")
    tab.get_by_role("button", name="Sign in").click()

    expect(tab.get_by_role("button", name="Sign out")).to_be_visible(timeout=15_000)
    expect(tab.locator(".account-name")).to_have_text("invited@example.com")
    assert problems == []


# -- the page's Cognito endpoint: the page's operations, for the page's origin only -----------


def sign_in_endpoint(server: DevServer) -> str:
    """Where the page signs in (its config): local mode's Cognito endpoint."""
    html = call(server, "GET", "/", None).body.decode()
    config = re.search(r'<script type="application/json" id="page-config">(.*?)</script>', html)
    return json.loads(config.group(1))["auth"]["endpoint"]


def cognito_call(server: DevServer, operation: str, body: dict, origin: str | None = None):
    headers = {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": f"AWSCognitoIdentityProviderService.{operation}",
    }
    if origin:
        headers["origin"] = origin
    return http("POST", sign_in_endpoint(server) + "/", json.dumps(body).encode(), headers)


def sign_in_call(server: DevServer, cognito: Cognito, email: str, password: str, **kwargs):
    parameters = {"USERNAME": email, "PASSWORD": password}
    body = {"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": cognito.client,
            "AuthParameters": parameters}  # fmt: skip
    return cognito_call(server, "InitiateAuth", body, **kwargs)


def test_the_sign_in_endpoint_allows_cors_for_the_pages_origin_only(prod_server):
    def preflight(origin: str):
        return http("OPTIONS", sign_in_endpoint(prod_server) + "/", headers={
            "origin": origin, "access-control-request-method": "POST",
            "access-control-request-headers": "content-type,x-amz-target"})  # fmt: skip

    page = preflight(prod_server.url)
    assert page.headers["access-control-allow-origin"] == prod_server.url
    other = preflight("https://evil.example")
    assert other.status == 403
    assert not any(k.lower().startswith("access-control-") for k in other.headers)


def test_the_sign_in_endpoint_forwards_only_the_pages_operations(prod_server, cognito, alice):
    admin_calls = {
        "ListUsers": {"UserPoolId": cognito.pool},
        "AdminSetUserPassword": {"UserPoolId": cognito.pool, "Username": "alice@example.com",
                                 "Password": "Ev1l-Passw0rd!!", "Permanent": True},
        "AdminCreateUser": {"UserPoolId": cognito.pool, "Username": "mallory@example.com"},
    }  # fmt: skip
    for operation, body in admin_calls.items():
        for origin in (None, prod_server.url):
            reply = cognito_call(prod_server, operation, body, origin)
            assert reply.status == 400, operation
            assert reply.json()["__type"] == "MissingAuthenticationTokenException"
            assert b"alice@example.com" not in reply.body

    # The password is unchanged; the same sign-in from another origin is refused.
    assert sign_in_call(prod_server, cognito, "alice@example.com", PASSWORD).status == 200
    evil = sign_in_call(prod_server, cognito, "alice@example.com", PASSWORD,
                        origin="https://evil.example")  # fmt: skip
    assert evil.status == 403
    assert b"AccessToken" not in evil.body


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(prod_server, cognito, alice):
    wrong = sign_in_call(prod_server, cognito, "alice@example.com", "Wrong-Passw0rd!")
    unknown = sign_in_call(prod_server, cognito, "nobody@example.com", "Wrong-Passw0rd!")

    assert (unknown.status, unknown.json()) == (wrong.status, wrong.json())
    assert wrong.json() == {
        "__type": "NotAuthorizedException",
        "message": "Incorrect username or password.",
    }


@pytest.mark.parametrize(
    "framing", [b"content-length: \xb2\r\n", b"content-length: 2\r\ncontent-length: 20\r\n"]
)
def test_the_sign_in_endpoint_answers_unclear_framing_with_400(prod_server, framing):
    host, port = sign_in_endpoint(prod_server).removeprefix("http://").split(":")
    head = b"POST / HTTP/1.1\r\nhost: x\r\n" + framing + b"\r\n{}"
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head)
        answer = connection.recv(65536)

    assert answer.startswith(b"HTTP/1.0 400 ") or answer.startswith(b"HTTP/1.1 400 "), answer


def test_moto_takes_no_anonymous_sign_in_only_the_sign_in_endpoint_does(prod_server, cognito):
    cognito.token("dana@example.com")
    body = {"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": cognito.client,
            "AuthParameters": {"USERNAME": "dana@example.com", "PASSWORD": PASSWORD}}  # fmt: skip
    headers = {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "AWSCognitoIdentityProviderService.InitiateAuth",
    }

    direct = http("POST", prod_server.s3_endpoint + "/", json.dumps(body).encode(), headers)
    proxied = sign_in_call(prod_server, cognito, "dana@example.com", PASSWORD)

    assert direct.status == 403
    assert b"<Code>AccessDenied</Code>" in direct.body
    assert proxied.status == 200
    assert "AccessToken" in proxied.json()["AuthenticationResult"]
