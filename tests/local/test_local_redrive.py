"""Nothing lost, end to end on local mode: upload -> forced failure -> retries -> dead-letter queue
(the upload not listed) -> clear the fault -> redrive -> thumbnail, queue empty, upload listed."""

from __future__ import annotations

import base64
import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from devserver import PROJECT_DIR, http, image_bytes, wait_until


def redrive(outputs: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "ops.redrive", "dev", "--outputs", outputs, *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def listed(dev_server, upload_id: str) -> bool:
    items = dev_server.request("GET", "/uploads").json()["items"]
    return any(item["id"] == upload_id for item in items)


def test_banner_says_where_failed_events_go(dev_server):
    banner = "\n".join(dev_server.lines)
    assert re.search(
        r"Failed +uploads-on-upload events, after 2 retries -> dead-letter queue http", banner
    )
    assert "make it fail on purpose: touch " in banner
    assert 'make redrive STACK=dev ARGS="--outputs ' in banner


def test_a_failed_upload_is_kept_out_of_sight_and_redriven(dev_server):
    banner = "\n".join(dev_server.lines)
    switch = Path(re.search(r"touch (\S+uploads-on-upload)", banner).group(1))
    outputs = re.search(r'--outputs ([^\s"]+)"', banner).group(1)
    start = len(dev_server.lines)
    switch.write_text("forced by the end-to-end test")
    try:
        png = image_bytes("PNG")
        body = {"image": base64.b64encode(png).decode()}
        created = dev_server.request(
            "POST", "/uploads", json.dumps(body).encode(), {"content-type": "application/json"}
        )
        assert created.status == 201, created.body
        upload_id = created.json()["id"]
        dev_server.wait_for_log(r"attempt 3/3: error", 30, start)
        dev_server.wait_for_log(r"sent to dead-letter queue", 10, start)
        assert not listed(dev_server, upload_id)
        assert dev_server.request("GET", f"/uploads/{upload_id}").status == 404
        dry = redrive(outputs, "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert f"uploads/{upload_id}.png [quarantined]" in dry.stdout
        assert "3 attempts" in dry.stdout
        assert "1 message(s): 1 would be replayed" in dry.stdout
    finally:
        switch.unlink(missing_ok=True)
    replay = redrive(outputs)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "1 message(s): 1 replayed and deleted" in replay.stdout

    def thumbnail() -> bool:
        got = dev_server.request("GET", f"/uploads/{upload_id}")
        return got.status == 200 and "thumbnailUrl" in got.json()

    wait_until(thumbnail, timeout=30)
    assert listed(dev_server, upload_id)
    again = redrive(outputs)
    assert again.returncode == 0
    assert "the dead-letter queue is empty: nothing to replay" in again.stdout


def lambda_call(dev_server, body: bytes, headers: dict[str, str], name: str | None = None):
    """A POST to the local Lambda Invoke endpoint for the uploads function (or `name`)."""
    outputs = json.loads(dev_server.outputs_file.read_text(encoding="utf-8"))
    function = name or outputs["uploadsFunctionName"]
    url = f"{outputs['localEndpoints']['lambda']}/2015-03-31/functions/{function}/invocations"
    return http("POST", url, body, headers), url


def signed_for_lambda(url: str, body: bytes, keys: dict[str, str]) -> dict[str, str]:
    request = AWSRequest(method="POST", url=url, data=body)
    credentials = Credentials(
        keys["aws_access_key_id"], keys["aws_secret_access_key"], keys["aws_session_token"]
    )
    SigV4Auth(credentials, "lambda", "us-east-1").add_auth(request)
    return dict(request.headers.items())


FORGED_EVENT = json.dumps({
    "version": "2.0", "routeKey": "GET /uploads", "rawPath": "/uploads", "rawQueryString": "",
    "headers": {}, "isBase64Encoded": False,
    "requestContext": {"http": {"method": "GET", "path": "/uploads"},
                       "authorizer": {"jwt": {"claims": {"sub": "someone-else"}}}},
}).encode()  # fmt: skip


def test_the_lambda_endpoint_refuses_an_unsigned_cross_site_post(dev_server):
    start = len(dev_server.lines)
    headers = {"content-type": "text/plain", "origin": "https://evil.example"}

    reply, _ = lambda_call(dev_server, FORGED_EVENT, headers)

    assert reply.status == 403
    assert reply.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    assert not any("[uploads]" in line for line in dev_server.lines[start:])


@pytest.mark.parametrize("change", ["fixed credentials", "another body", "another service"])
def test_the_lambda_endpoint_refuses_what_is_not_signed_with_this_runs_credentials(
    dev_server, change
):
    _, url = lambda_call(dev_server, b"{}", {}, name="nothing")
    keys = dict(dev_server.credentials)
    if change == "fixed credentials":  # what local mode signed with before each run had its own
        keys = {"aws_access_key_id": "local-mode", "aws_secret_access_key": "local-mode-secret",
                "aws_session_token": "local-mode-session"}  # fmt: skip
    headers = signed_for_lambda(url, FORGED_EVENT, keys)
    if change == "another service":
        headers["Authorization"] = headers["Authorization"].replace("/lambda/", "/s3/")
    body = FORGED_EVENT + b" " if change == "another body" else FORGED_EVENT

    reply = http("POST", url, body, headers)

    assert reply.status == 403
    expected = "UnrecognizedClientException" if change == "fixed credentials" else "Invalid"
    assert reply.headers["x-amzn-errortype"].startswith(expected)


def test_the_lambda_endpoint_answers_a_call_signed_with_this_runs_credentials(dev_server):
    _, url = lambda_call(dev_server, b"{}", {}, name="nothing")

    reply = http("POST", url, b"{}", signed_for_lambda(url, b"{}", dev_server.credentials))

    assert reply.status == 404  # signed: it reaches the function lookup
    assert reply.headers["x-amzn-errortype"] == "ResourceNotFoundException"


@pytest.mark.parametrize(
    "framing", [b"content-length: \xb2\r\n", b"content-length: 2\r\ncontent-length: 20\r\n"]
)
def test_the_lambda_endpoint_answers_unclear_framing_with_400(dev_server, framing):
    _, url = lambda_call(dev_server, b"{}", {})
    address, path = url.removeprefix("http://").split("/", 1)
    host, port = address.split(":")
    head = f"POST /{path} HTTP/1.1\r\nhost: x\r\n".encode() + framing + b"\r\n{}"
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head)
        answer = connection.recv(65536)

    assert answer.split(b" ", 2)[1] == b"400", answer
    assert b"InvalidRequestContentException" in answer
