"""Local S3 refuses what real S3 refuses: presigned POSTs that break their policy, anonymous
reads and lists, changed or expired presigned URLs, other credentials; with S3's status and XML
error code. Each presigned POST here is the API's own ticket (`POST /uploads/presign`)."""

from __future__ import annotations

import base64
import json
import re
import time

import pytest
from devserver import DevServer, Reply, http, image_bytes, multipart


def s3_error(reply: Reply) -> tuple[int, str]:
    """(status, S3's error code) of an XML error answer."""
    code = re.search(rb"<Code>([^<]+)</Code>", reply.body)
    return reply.status, code.group(1).decode() if code else ""


def ticket(server: DevServer, content_type: str = "image/png", size: int = 1000) -> dict:
    body = json.dumps({"contentType": content_type, "size": size}).encode()
    reply = server.request("POST", "/uploads/presign", body, {"content-type": "application/json"})
    assert reply.status == 201, reply.body
    return reply.json()


def post(ticket: dict, fields: dict, data: bytes, content_type: str = "image/png") -> Reply:
    body, form_type = multipart(fields, data, content_type)
    return http("POST", ticket["url"], body, {"content-type": form_type})


@pytest.fixture(scope="module")
def png() -> bytes:
    return image_bytes("PNG", (40, 30))


def test_the_tickets_own_post_is_accepted(dev_server, png):
    granted = ticket(dev_server, size=len(png))

    assert post(granted, granted["fields"], png).status == 204


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"Content-Type": "text/html"}, "Policy Condition failed"),  # another content type
        ({"key": "uploads/another-owner/x.png"}, "Policy Condition failed"),  # another key
        ({"key": "thumbnails/x.png"}, "Policy Condition failed"),  # the thumbnails' prefix
        ({"x-amz-meta-extra": "1"}, "Extra input fields: x-amz-meta-extra"),  # an extra field
        ({"success_action_redirect": "https://evil.example"}, "Extra input fields"),
    ],
)
def test_a_post_that_breaks_its_policy_is_403(dev_server, png, change, expected):
    granted = ticket(dev_server, size=len(png))

    reply = post(granted, granted["fields"] | change, png)

    assert s3_error(reply) == (403, "AccessDenied")
    assert expected in reply.body.decode()


def test_a_body_over_the_content_length_range_is_400_entity_too_large(dev_server, png):
    granted = ticket(dev_server, size=len(png) - 1)

    assert s3_error(post(granted, granted["fields"], png)) == (400, "EntityTooLarge")


def test_an_unsigned_post_is_403(dev_server, png):
    granted = ticket(dev_server, size=len(png))
    key_only = {"key": granted["fields"]["key"], "Content-Type": "image/png"}
    unsigned = {k: v for k, v in granted["fields"].items() if k != "x-amz-signature"}

    assert s3_error(post(granted, key_only, png)) == (403, "AccessDenied")
    assert s3_error(post(granted, unsigned, png)) == (403, "AccessDenied")


def test_a_rewritten_policy_does_not_match_its_signature(dev_server, png):
    granted = ticket(dev_server, size=10)
    policy = json.loads(base64.b64decode(granted["fields"]["policy"]))
    policy["conditions"] = [c for c in policy["conditions"] if "content-length-range" not in c]
    forged = base64.b64encode(json.dumps(policy).encode()).decode()

    reply = post(granted, granted["fields"] | {"policy": forged}, png)

    assert s3_error(reply) == (403, "SignatureDoesNotMatch")


def test_an_expired_post_policy_is_403(dev_server, png):
    s3 = dev_server.aws_client("s3")
    short = s3.generate_presigned_post(Bucket=dev_server.bucket, Key="uploads/late.png",
                                       ExpiresIn=1)  # fmt: skip
    time.sleep(2.1)

    reply = post(short, short["fields"], png)

    assert s3_error(reply) == (403, "AccessDenied")
    assert "Policy expired" in reply.body.decode()


def test_anonymous_list_and_get_are_403(dev_server, png):
    created = dev_server.request("POST", "/uploads", png, {"content-type": "image/png"}).json()
    bucket = f"{dev_server.s3_endpoint}/{dev_server.bucket}"

    assert s3_error(http("GET", bucket)) == (403, "AccessDenied")
    assert s3_error(http("GET", f"{bucket}?list-type=2&prefix=uploads/")) == (403, "AccessDenied")
    assert s3_error(http("GET", f"{bucket}/{created['key']}")) == (403, "AccessDenied")
    assert http("HEAD", f"{bucket}/{created['key']}").status == 403
    assert s3_error(http("GET", f"{dev_server.s3_endpoint}/moto-api/data.json")) == (
        403,
        "AccessDenied",
    )
    assert http("GET", created["downloadUrl"]).body == png  # the presigned URL works


def test_a_presigned_get_with_response_content_type_added_is_refused(dev_server, png):
    created = dev_server.request("POST", "/uploads", png, {"content-type": "image/png"}).json()
    url = created["downloadUrl"]
    anonymous = f"{dev_server.s3_endpoint}/{dev_server.bucket}/{created['key']}"

    changed = http("GET", f"{url}&response-content-type=text/html")
    unsigned = http("GET", f"{anonymous}?response-content-type=text/html")

    assert s3_error(changed) == (403, "SignatureDoesNotMatch")
    assert s3_error(unsigned) == (403, "AccessDenied")
    assert "text/html" not in changed.headers.get("Content-Type", "")


def test_an_expired_presigned_get_is_403(dev_server):
    s3 = dev_server.aws_client("s3")
    s3.put_object(Bucket=dev_server.bucket, Key="notes/expiring.txt", Body=b"x")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": dev_server.bucket, "Key": "notes/expiring.txt"},
        ExpiresIn=1,
    )  # fmt: skip
    assert http("GET", url).status == 200
    time.sleep(2.1)

    reply = http("GET", url)

    assert s3_error(reply) == (403, "AccessDenied")
    assert b"Request has expired" in reply.body


def test_other_credentials_are_403_invalid_access_key(dev_server):
    import boto3
    from botocore.exceptions import ClientError

    foreign = boto3.client("s3", endpoint_url=dev_server.s3_endpoint, region_name="us-east-1",
                           aws_access_key_id="AKIAOTHER", aws_secret_access_key="x")  # fmt: skip
    with pytest.raises(ClientError) as refused:
        foreign.list_objects_v2(Bucket=dev_server.bucket)

    assert refused.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
