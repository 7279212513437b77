"""The `uploads` function with sign-in: each caller sees and changes only their own uploads.

Events carry the claims API Gateway's JWT authorizer passes on
(`requestContext.authorizer.jwt.claims`), against moto's S3.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

import pytest

ALICE = "d8a909fc-4307-47ec-b5bf-c1f87c2ed924"  # fixed: parametrize ids must be stable
BOB = "022ffd03-4b19-46fe-89eb-666c9660dec7"


def claims(sub: Any) -> dict[str, Any]:
    """Claims of a Cognito access token."""
    return {
        "sub": sub,
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example",
        "client_id": "26charclientid00000000000a",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "auth_time": "1733011200",
        "exp": "1733014800",
        "iat": "1733011200",
        "username": "someone",
    }


class Caller:
    """One signed-in user calling the API."""

    def __init__(self, api: Any, sub: Any) -> None:
        self.api, self.sub = api, sub

    def call(self, method: str, route: str, **kwargs: Any) -> Any:
        return self.api.call(method, route, claims=claims(self.sub), **kwargs)

    def upload(self, data: bytes) -> dict[str, Any]:
        body = {"image": base64.b64encode(data).decode("ascii")}
        response = self.call("POST", "/uploads", body=body)
        assert response.status == 201, response.body
        return response.body

    def get(self, upload_id: str) -> Any:
        return self.call("GET", "/uploads/{id}", path_params={"id": upload_id})

    def delete(self, upload_id: str) -> Any:
        return self.call("DELETE", "/uploads/{id}", path_params={"id": upload_id})

    def listed(self, **query: str) -> Any:
        return self.call("GET", "/uploads", query=query or None)


@pytest.fixture
def api(make_api: Any) -> Any:
    return make_api(AUTH_MODE="cognito")


@pytest.fixture
def alice(api: Any) -> Caller:
    return Caller(api, ALICE)


@pytest.fixture
def bob(api: Any) -> Caller:
    return Caller(api, BOB)


@pytest.fixture
def stored(s3: Any, bucket: str) -> Callable[[], set[str]]:
    """The keys in the bucket now."""
    return lambda: {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


@pytest.fixture
def run_on_upload(
    load_function: Any, build_s3_event: Any, lambda_context: Any
) -> Callable[[str], dict[str, int]]:
    """Deliver an "object created" event for a key to the `on_upload` function."""
    module = load_function("on_upload")
    return lambda key: module.handler(build_s3_event(key), lambda_context)


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status == status, response.body
    assert response.body["error"]["code"] == code


def test_uploads_live_under_the_owners_prefix(alice: Caller, stored: Any, png: bytes):
    body = alice.upload(png)

    assert body["key"] == f"uploads/{ALICE}/{body['id']}.png"
    assert stored() == {body["key"]}
    assert len(body["id"]) == 32
    assert body["id"] != alice.upload(png)["id"]


def test_each_owner_lists_only_their_own(alice: Caller, bob: Caller, png: bytes, jpeg: bytes):
    mine = {alice.upload(png)["id"], alice.upload(jpeg)["id"]}
    theirs = bob.upload(png)["id"]

    alice_list = alice.listed()
    assert alice_list.status == 200
    assert {item["id"] for item in alice_list.body["items"]} == mine
    assert {item["id"] for item in bob.listed().body["items"]} == {theirs}


def test_another_owners_upload_is_404_for_get_and_delete_and_survives(
    alice: Caller, bob: Caller, stored: Any, png: bytes
):
    upload = alice.upload(png)

    assert_error(bob.get(upload["id"]), 404, "upload_not_found")
    assert_error(bob.delete(upload["id"]), 404, "upload_not_found")
    assert upload["key"] in stored()
    got = alice.get(upload["id"])
    assert got.status == 200
    assert got.body["key"] == upload["key"]
    assert alice.delete(upload["id"]).status == 204
    assert stored() == set()


def test_owner_gets_their_thumbnail_and_delete_removes_it(
    alice: Caller, bob: Caller, run_on_upload: Any, stored: Any, png: bytes
):
    upload = alice.upload(png)

    assert run_on_upload(upload["key"])["processed"] == 1
    thumbnail = f"thumbnails/{ALICE}/{upload['id']}.png"
    assert thumbnail in stored()
    got = alice.get(upload["id"])
    assert f"/{thumbnail}?" in got.body["thumbnailUrl"]
    assert_error(bob.get(upload["id"]), 404, "upload_not_found")
    assert alice.delete(upload["id"]).status == 204
    assert stored() == set()


def test_presigned_post_is_bound_to_the_callers_prefix(alice: Caller, bob: Caller):
    for caller in (alice, bob):
        response = caller.call(
            "POST", "/uploads/presign", body={"contentType": "image/png", "size": 100}
        )
        assert response.status == 201, response.body
        ticket = response.body
        assert ticket["key"] == f"uploads/{caller.sub}/{ticket['id']}.png"
        assert ticket["fields"]["key"] == ticket["key"]
        policy = json.loads(base64.b64decode(ticket["fields"]["policy"]))
        key_conditions = [
            c
            for c in policy["conditions"]
            if (isinstance(c, dict) and "key" in c) or (isinstance(c, list) and c[1] == "$key")
        ]
        # One exact key: not a starts-with that another owner's prefix could satisfy.
        assert key_conditions == [{"key": ticket["key"]}]


def test_a_cursor_from_another_owner_is_refused(alice: Caller, bob: Caller, png: bytes):
    alice.upload(png)
    alice.upload(png)
    cursor = alice.listed(limit="1").body["nextCursor"]
    assert cursor

    assert_error(bob.listed(cursor=cursor), 400, "invalid_cursor")
    assert alice.listed(cursor=cursor).status == 200


def test_claims_are_ignored_with_auth_off(make_api: Any, png: bytes):
    caller = Caller(make_api(), ALICE)

    body = caller.upload(png)

    assert body["key"] == f"uploads/{body['id']}.png"
    assert {i["id"] for i in Caller(make_api(), BOB).listed().body["items"]} == {body["id"]}


@pytest.mark.parametrize(
    "event_context",
    [
        {},
        {"authorizer": None},
        {"authorizer": {}},
        {"authorizer": {"jwt": {"claims": {}}}},
        {"authorizer": {"jwt": {"claims": {"username": "x"}, "scopes": None}}},
        {"authorizer": {"lambda": {"sub": ALICE}}},
    ],
    ids=["no-authorizer", "null-authorizer", "empty-authorizer", "no-claims", "no-sub", "lambda"],
)
def test_no_claims_with_auth_on_is_401_and_logged_as_misconfiguration(
    api: Any, build_event: Any, event_context: dict, caplog: Any, stored: Any
):
    event = build_event("POST", "/uploads", body={"image": "R0lGODlhAQABAAAAACw="})
    event["requestContext"] |= event_context

    response = api.send(event)

    assert_error(response, 401, "missing_token_claims")
    assert stored() == set()
    [record] = [r for r in caplog.records if r.getMessage().startswith("auth misconfiguration")]
    assert record.levelno == logging.ERROR


CRAFTED = [
    "../" + ALICE,
    "..",
    f"{ALICE}/../{BOB}",
    "*",
    "",
    " ",
    "a" * 300,
    "ünïcödé-" + ALICE[8:],
    ALICE.upper(),
    ALICE + "\n",
    ALICE + "/",
    "%2e%2e%2f",
    "\u0661" * 8 + ALICE[8:],  # Arabic-Indic digits: \d would match them
    5,
    None,
    [ALICE],
]


@pytest.mark.parametrize("sub", CRAFTED, ids=[repr(s)[:20] for s in CRAFTED])
def test_crafted_cognito_subjects_are_refused_and_never_reach_a_key(
    api: Any, sub: Any, stored: Any, png: bytes
):
    caller = Caller(api, sub)
    body = {"image": base64.b64encode(png).decode("ascii")}

    for response in (
        caller.call("POST", "/uploads", body=body),
        caller.call("POST", "/uploads/presign", body={"contentType": "image/png", "size": 9}),
        caller.listed(),
        caller.get(uuid.uuid4().hex),
        caller.delete(uuid.uuid4().hex),
    ):
        code = "missing_token_claims" if sub is None else "invalid_subject"
        assert_error(response, 401, code)
    assert stored() == set()


EXTERNAL_OK = [
    "auth0|5f7c8ec7c33c6c004bbafe82",
    "110169484474386276334",
    "00u1abcdEFGH2ij3k4l5",
    "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
    ALICE,
    "user@example.com",
]
EXTERNAL_BAD = ["../x", "a/b", "a..b", "*", "", "a" * 129, "ünï", "a b", "-x", ".hidden"]


@pytest.mark.parametrize("sub", EXTERNAL_OK)
def test_external_issuer_subjects_of_common_providers_are_accepted(
    make_api: Any, sub: str, png: bytes
):
    caller = Caller(make_api(AUTH_MODE="jwt"), sub)

    body = caller.upload(png)

    assert body["key"] == f"uploads/{sub}/{body['id']}.png"
    assert [i["id"] for i in caller.listed().body["items"]] == [body["id"]]


@pytest.mark.parametrize("sub", EXTERNAL_BAD)
def test_crafted_external_subjects_are_refused(make_api: Any, sub: str):
    response = Caller(make_api(AUTH_MODE="jwt"), sub).listed()

    assert_error(response, 401, "invalid_subject")


def test_request_log_names_the_caller(alice: Caller, caplog: pytest.LogCaptureFixture):
    alice.listed()

    [record] = [r for r in caplog.records if r.getMessage() == "request"]
    assert record.caller == ALICE


def test_function_refuses_to_start_without_an_auth_mode(load_function: Any):
    with pytest.raises(Exception, match="AUTH_MODE must be one of none, cognito, jwt"):
        load_function("uploads", AUTH_MODE="")
