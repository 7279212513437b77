"""Property: whatever event reaches a function, it answers without a 5xx and nothing escapes.

Hypothesis draws events around the shapes AWS sends (API Gateway HTTP API payload 2.0 and S3
notifications): real route keys, headers, query strings, bodies and records, each field also
replaced by any JSON value (lone surrogates included), plus events that are no object at all. S3
is moto's and works, so the only allowed failure (S3 failing: 502, or on_upload raising for a
retry) cannot occur. Derandomized, so CI runs the same examples every time.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.handlers.conftest import BUCKET, LambdaContext, image_bytes

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ROUTES = [
    "POST /uploads",
    "POST /uploads/presign",
    "GET /uploads",
    "GET /uploads/{id}",
    "DELETE /uploads/{id}",
]
PNG = image_bytes("PNG", (40, 30))

text = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)


def field(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field's plausible values, or now and then any JSON value."""
    return st.one_of(strategy, strategy, strategy, json_values)


image_json = st.fixed_dictionaries(
    {},
    optional={
        "image": field(st.sampled_from([base64.b64encode(PNG).decode(), "AA==", ""])),
        "filename": field(st.sampled_from(["a.png", "\ud800.png", "../x", ""]) | text),
        "contentType": field(st.sampled_from(["image/png", "image/gif", "text/plain"])),
        "size": field(st.integers(min_value=-5, max_value=10**9)),
    },
)
bodies = st.one_of(
    image_json.map(json.dumps),
    st.just(base64.b64encode(PNG).decode()),
    text,
    json_values,
)
claims = st.fixed_dictionaries(
    {"sub": st.sampled_from(["0b7c2a6e-1f5d-4c8e-9a3b-2d4e6f8a0c1e", "../x", ""]) | text}
)
api_events = st.fixed_dictionaries(
    {"version": st.just("2.0")},
    optional={
        "routeKey": field(st.sampled_from([*ROUTES, "GET /nope"])),
        "rawPath": field(text),
        "headers": field(
            st.dictionaries(
                st.sampled_from(["content-type", "Content-Type", "accept"]),
                st.sampled_from(["application/json", "image/png", "text/plain", ""]) | text,
                max_size=2,
            )
        ),
        "queryStringParameters": field(
            st.dictionaries(
                st.sampled_from(["limit", "cursor", "filename"]),
                st.sampled_from(["5", "0", "9" * 5000, "dXBsb2Fkcy8"]) | text,
                max_size=3,
            )
        ),
        "pathParameters": field(
            st.fixed_dictionaries({"id": st.sampled_from(["0" * 32, "f" * 32]) | text})
        ),
        "body": field(bodies),
        "isBase64Encoded": field(st.booleans()),
        "requestContext": field(
            st.fixed_dictionaries(
                {},
                optional={
                    "http": field(st.fixed_dictionaries({"method": text})),
                    "authorizer": field(
                        st.fixed_dictionaries(
                            {"jwt": field(st.fixed_dictionaries({"claims": field(claims)}))}
                        )
                    ),
                },
            )
        ),
    },
)


@pytest.fixture(params=["none", "cognito"])
def any_auth_api(make_api, request) -> Any:
    return make_api(AUTH_MODE=request.param)


@given(event=st.one_of(api_events, api_events, json_values))
@PROPERTY
def test_uploads_answers_every_event_without_a_5xx(any_auth_api, event) -> None:
    response = any_auth_api.module.handler(event, LambdaContext())

    assert 200 <= response["statusCode"] < 500, response
    assert "Traceback" not in response["body"]


KEYS = ["uploads/a.png", "uploads/b.png", "uploads/missing.jpg", "thumbnails/a.png", "x"]
records = st.fixed_dictionaries(
    {},
    optional={
        "eventName": field(st.sampled_from(["ObjectCreated:Put", "ObjectRemoved:Delete"])),
        "s3": field(
            st.fixed_dictionaries(
                {},
                optional={
                    "bucket": field(
                        st.fixed_dictionaries({"name": st.sampled_from([BUCKET, "other"])})
                    ),
                    "object": field(
                        st.fixed_dictionaries(
                            {"key": st.sampled_from(KEYS) | text.map(lambda t: "uploads/" + t)}
                        )
                    ),
                },
            )
        ),
    },
)
s3_events = st.fixed_dictionaries({"Records": field(st.lists(field(records), max_size=3))})


@given(event=st.one_of(s3_events, s3_events, json_values))
@PROPERTY
def test_on_upload_handles_every_event_without_raising(on_upload, event) -> None:
    counts = on_upload.handler(event, LambdaContext())

    assert set(counts) == {"processed", "skipped", "removed"}


@pytest.fixture
def on_upload(load_function, s3) -> Any:
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=BUCKET, Key="uploads/a.png", Body=PNG)
    s3.put_object(Bucket=BUCKET, Key="uploads/b.png", Body=b"not an image")
    return load_function("on_upload")


# --- the shapes on_upload skips, each with its reason logged ---------------------------------


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ("uploads/a.png", "record_not_an_object"),
        ({"eventName": 5}, "not_an_object_created_record"),
        ({"eventName": "ObjectCreated:Put", "s3": "x"}, "not_for_this_bucket"),
        (
            {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": BUCKET}, "object": []}},
            "record_without_key",
        ),
        (
            {
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": BUCKET}, "object": {"key": "uploads/" + "k" * 1100}},
            },
            "invalid_key",
        ),
        (
            {
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": BUCKET}, "object": {"key": "uploads/\ud800.png"}},
            },
            "invalid_key",
        ),
    ],
)
def test_malformed_record_is_skipped_with_its_reason(on_upload, caplog, record, reason) -> None:
    with caplog.at_level(logging.INFO):
        counts = on_upload.handler({"Records": [record]}, LambdaContext())

    assert counts == {"processed": 0, "skipped": 1, "removed": 0}
    [logged] = [r for r in caplog.records if r.name == "on_upload"]
    assert (logged.levelno, logged.outcome, logged.reason) == (logging.WARNING, "skipped", reason)


@pytest.mark.parametrize("event", [None, "x", [], {"Records": "x"}, {"Records": {"a": 1}}])
def test_event_without_a_records_list_is_skipped(on_upload, event) -> None:
    assert on_upload.handler(event, LambdaContext()) == {"processed": 0, "skipped": 0, "removed": 0}
