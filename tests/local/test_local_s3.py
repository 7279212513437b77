"""Local S3 refuses what real S3 refuses: presigned POSTs that break their policy, anonymous
reads and lists, changed or expired presigned URLs, other credentials; with S3's status and XML
error code. Each presigned POST here is the API's own ticket (`POST /uploads/presign`)."""

from __future__ import annotations

import base64
import io
import json
import re
import socket
import time
import uuid

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from botocore.exceptions import ClientError
from devserver import PROJECT_DIR, DevServer, Reply, http, image_bytes, multipart


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


def raw_exchange(endpoint: str, head: bytes, wait_s: float = 5.0) -> bytes:
    """Send `head` (a request's head and perhaps part of its body) and read what the server
    answers within `wait_s` without sending more: b"" if it waits for the rest."""
    host, port = endpoint.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait_s) as connection:
        connection.sendall(head)
        received = b""
        try:
            while chunk := connection.recv(65536):
                received += chunk
                if b"</Error>" in received:
                    break
        except TimeoutError:
            pass
        return received


def signed(
    server: DevServer, method: str, url: str, body: bytes, headers: dict[str, str]
) -> dict[str, str]:
    """The headers botocore signs for this S3 request with the run's credentials."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    keys = server.credentials
    credentials = BotoCredentials(
        keys["aws_access_key_id"], keys["aws_secret_access_key"], keys["aws_session_token"]
    )
    S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    return dict(request.headers.items())


_SIGNED_MOTO_API = "signed"


@pytest.mark.parametrize(
    "path", ["/moto-api/data.json", "/moto-api/reset", "/moto-api/recorder/start-recording"]
)
@pytest.mark.parametrize(
    ("method", "headers"),
    [
        ("OPTIONS", {}),
        ("OPTIONS", {"Origin": "http://127.0.0.1", "Access-Control-Request-Method": "GET"}),
        ("GET", {"X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"}),
        ("POST", {"X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"}),
        ("POST", {_SIGNED_MOTO_API: ""}),  # signed with local mode's own credentials
    ],
)
def test_motos_own_api_answers_no_one(dev_server, path, method, headers):
    url = f"{dev_server.s3_endpoint}{path}"
    if _SIGNED_MOTO_API in headers:
        headers = signed(dev_server, method, url, b"", {})

    reply = http(method, url, b"" if method == "POST" else None, headers)

    assert s3_error(reply) == (403, "AccessDenied")


def test_nothing_records_requests_into_the_project_folder(dev_server):
    recording = PROJECT_DIR / "moto_recording"
    recording.unlink(missing_ok=True)
    for method in ("OPTIONS", "POST"):
        http(method, f"{dev_server.s3_endpoint}/moto-api/recorder/start-recording", None,
             {"X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"})  # fmt: skip
    dev_server.aws_client("s3").list_objects_v2(Bucket=dev_server.bucket)

    assert dev_server.request("GET", "/uploads").status == 200
    assert not recording.exists()


def form(parts: list[tuple[str, bytes, bool]]) -> tuple[bytes, str]:
    """A multipart body of (name, value, is_file) parts, in order."""
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value, is_file in parts:
        filename = '; filename="f.png"' if is_file else ""
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"{filename}\r\n'
                  f"\r\n".encode() + value + b"\r\n")  # fmt: skip
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def post_parts(granted: dict, parts: list[tuple[str, bytes, bool]]) -> Reply:
    body, content_type = form(parts)
    return http("POST", granted["url"], body, {"content-type": content_type})


def fields_of(granted: dict) -> list[tuple[str, bytes, bool]]:
    return [(name, value.encode(), False) for name, value in granted["fields"].items()]


def stored(server: DevServer, key: str) -> bytes | None:
    try:
        return server.aws_client("s3").get_object(Bucket=server.bucket, Key=key)["Body"].read()
    except ClientError:
        return None


def test_a_second_key_field_in_another_case_is_refused_not_stored(dev_server, png):
    victim = ticket(dev_server, size=len(png))
    mine = ticket(dev_server, size=len(png))
    other_key = victim["fields"]["key"]
    # moto stores under `key`; a check that reads the last of `key`/`Key` sees the ticket's own
    parts = [("key", other_key.encode(), False)]
    parts += [(("Key" if n == "key" else n), v, f) for n, v, f in fields_of(mine)]

    reply = post_parts(mine, [*parts, ("file", png, True)])

    assert s3_error(reply) == (400, "InvalidArgument")
    assert stored(dev_server, other_key) is None
    assert stored(dev_server, mine["fields"]["key"]) is None


def test_two_file_parts_are_refused_and_nothing_is_stored(dev_server, png):
    granted = ticket(dev_server, size=len(png))
    large = b"\0" * (3 * 1024 * 1024)

    reply = post_parts(granted, [*fields_of(granted), ("file", png, True), ("file", large, True)])

    assert s3_error(reply) == (400, "IncorrectNumberOfFilesInPostRequest")
    assert stored(dev_server, granted["fields"]["key"]) is None


def test_field_names_are_case_insensitive_and_the_checked_form_is_what_is_stored(dev_server, png):
    granted = ticket(dev_server, size=len(png))
    renamed = [(n.upper() if n in ("key", "policy") else n, v, f) for n, v, f in fields_of(granted)]
    after_file = [("x-amz-meta-ignored", b"1", False)]  # S3: fields after the file are ignored

    reply = post_parts(granted, [*renamed, ("file", png, True), *after_file])

    assert reply.status == 204, reply.body
    head = dev_server.aws_client("s3").head_object(Bucket=dev_server.bucket,
                                                   Key=granted["fields"]["key"])  # fmt: skip
    assert stored(dev_server, granted["fields"]["key"]) == png
    assert head["ContentType"] == "image/png"
    assert "ignored" not in head["Metadata"]


def test_a_file_over_the_range_is_refused_before_the_rest_is_sent(dev_server, png):
    granted = ticket(dev_server, size=len(png))
    body, content_type = form([*fields_of(granted), ("file", png * 4, True)])
    host = dev_server.s3_endpoint.removeprefix("http://")
    head = (f"POST /{dev_server.bucket} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}"
            f"\r\nContent-Length: {len(body) + 100 * 1024 * 1024}\r\n\r\n").encode()  # fmt: skip

    answer = raw_exchange(dev_server.s3_endpoint, head + body[:-40])

    assert b" 400 " in answer.split(b"\r\n", 1)[0]
    assert b"<Code>EntityTooLarge</Code>" in answer


def test_a_forged_policy_is_refused_before_the_file_is_sent(dev_server, png):
    granted = ticket(dev_server, size=len(png))
    forged = fields_of(granted)
    forged = [(n, b"0" * 64 if n == "x-amz-signature" else v, f) for n, v, f in forged]
    body, content_type = form([*forged, ("file", png, True)])
    head = (f"POST /{dev_server.bucket} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body) + 100 * 1024 * 1024}\r\n\r\n").encode()  # fmt: skip

    answer = raw_exchange(dev_server.s3_endpoint, head + body[: body.index(png)])

    assert b"<Code>SignatureDoesNotMatch</Code>" in answer


def test_a_put_with_a_bad_signature_is_refused_before_its_body_is_sent(dev_server):
    url = f"{dev_server.s3_endpoint}/{dev_server.bucket}/uploads/unsigned.png"
    headers = signed(dev_server, "PUT", url, b"x", {"Content-Length": str(100 * 1024 * 1024)})
    headers["Authorization"] = headers["Authorization"][:-8] + "00000000"
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    head = f"PUT /{dev_server.bucket}/uploads/unsigned.png HTTP/1.1\r\n{lines}\r\n".encode()

    answer = raw_exchange(dev_server.s3_endpoint, head)

    assert b"<Code>SignatureDoesNotMatch</Code>" in answer


def test_a_body_that_is_not_the_signed_one_is_refused_and_not_stored(dev_server):
    url = f"{dev_server.s3_endpoint}/{dev_server.bucket}/notes/swapped.txt"
    headers = signed(dev_server, "PUT", url, b"the signed body", {})

    reply = http("PUT", url, b"another body", headers)

    assert s3_error(reply) == (400, "XAmzContentSHA256Mismatch")
    assert stored(dev_server, "notes/swapped.txt") is None


@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: \xb2\r\n",
        b"Content-Length: " + b"9" * 5000 + b"\r\n",
        b"Content-Length: 3\r\nContent-Length: 30\r\n",
        b"Transfer-Encoding: xchunked\r\n",
    ],
)
def test_the_s3_front_answers_unclear_framing_with_400_not_500(dev_server, framing):
    head = f"PUT /{dev_server.bucket}/notes/framing.txt HTTP/1.1\r\nHost: x\r\n".encode()

    answer = raw_exchange(dev_server.s3_endpoint, head + framing + b"\r\nabc")

    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert b"<Code>InvalidRequest</Code>" in answer


def test_the_fixed_credentials_of_earlier_versions_sign_nothing(dev_server):
    import boto3

    fixed = boto3.client("s3", endpoint_url=dev_server.s3_endpoint, region_name="us-east-1",
                         aws_access_key_id="local-mode",
                         aws_secret_access_key="local-mode-secret")  # fmt: skip
    with pytest.raises(ClientError) as refused:
        fixed.list_objects_v2(Bucket=dev_server.bucket)

    assert refused.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    assert dev_server.credentials["aws_access_key_id"] != "local-mode"
