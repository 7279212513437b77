"""`make dev` as a user meets it: the dev stack over real HTTP, S3 on moto, thumbnails by on_upload.

One server for the module; the SIGINT test runs last and stops it.
"""

from __future__ import annotations

import base64
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from devserver import PROJECT_DIR, DevServer, http, image_bytes, multipart, wait_until

from offline.__main__ import USAGE_ERROR


def _upload_png(server: DevServer) -> dict:
    reply = server.request(
        "POST", "/uploads?filename=cat.png", image_bytes(), {"content-type": "image/png"}
    )
    assert reply.status == 201, reply.body
    return reply.json()


def _thumbnail_url(server: DevServer, upload_id: str) -> str:
    def ready() -> str | None:
        return server.request("GET", f"/uploads/{upload_id}").json().get("thumbnailUrl")

    return wait_until(ready, timeout=15)


def test_json_upload_then_list_then_get(dev_server):
    data = image_bytes("JPEG")
    body = json.dumps({"image": base64.b64encode(data).decode(), "filename": "cat.jpg"}).encode()

    created = dev_server.request("POST", "/uploads", body, {"content-type": "application/json"})

    assert created.status == 201, created.body
    upload = created.json()
    assert upload["contentType"] == "image/jpeg"
    assert upload["size"] == len(data)
    listed = dev_server.request("GET", "/uploads?limit=100").json()
    assert upload["id"] in [item["id"] for item in listed["items"]]
    fetched = dev_server.request("GET", f"/uploads/{upload['id']}")
    assert fetched.status == 200
    assert fetched.json()["filename"] == "cat.jpg"


def test_thumbnail_appears_and_download_url_returns_the_same_bytes(dev_server):
    data = image_bytes("PNG", (640, 480))
    reply = dev_server.request("POST", "/uploads", data, {"content-type": "image/png"})
    upload = reply.json()

    download = http("GET", upload["downloadUrl"])
    thumbnail = http("GET", _thumbnail_url(dev_server, upload["id"]))

    assert download.status == 200
    assert download.body == data
    assert thumbnail.status == 200
    assert thumbnail.body.startswith(b"\x89PNG")
    assert thumbnail.body != data
    dev_server.wait_for_log(rf"S3 +s3 ObjectCreated:Put .*{upload['id']}.* attempt 1/3: ok")


def test_delete_removes_original_and_thumbnail(dev_server):
    upload = _upload_png(dev_server)
    thumbnail_url = _thumbnail_url(dev_server, upload["id"])

    deleted = dev_server.request("DELETE", f"/uploads/{upload['id']}")

    assert deleted.status == 204
    assert dev_server.request("GET", f"/uploads/{upload['id']}").status == 404
    assert http("GET", upload["downloadUrl"]).status == 404
    assert http("GET", thumbnail_url).status == 404


def test_raw_binary_upload_is_stored_byte_for_byte(dev_server):
    data = image_bytes("GIF")

    reply = dev_server.request("POST", "/uploads", data, {"content-type": "image/gif"})

    assert reply.status == 201, reply.body
    assert http("GET", reply.json()["downloadUrl"]).body == data


def _presigned_post(server: DevServer, data: bytes, content_type: str) -> tuple[dict, object]:
    ticket_body = json.dumps({"contentType": content_type, "size": len(data)}).encode()
    ticket = server.request(
        "POST", "/uploads/presign", ticket_body, {"content-type": "application/json"}
    )
    assert ticket.status == 201, ticket.body
    ticket_json = ticket.json()
    form, form_type = multipart(ticket_json["fields"], data, content_type)
    return ticket_json, http("POST", ticket_json["url"], form, {"content-type": form_type})


def test_presigned_post_goes_straight_to_s3_and_gets_a_thumbnail(dev_server):
    data = image_bytes("JPEG", (800, 600))

    ticket, posted = _presigned_post(dev_server, data, "image/jpeg")

    assert posted.status in (200, 201, 204)
    assert ticket["url"].startswith(dev_server.s3_endpoint)
    assert http("GET", _thumbnail_url(dev_server, ticket["id"])).status == 200
    dev_server.wait_for_log(rf"s3 ObjectCreated:Post .*{ticket['id']}.* attempt 1/3: ok")


def test_non_image_sent_by_presigned_post_is_removed(dev_server):
    ticket, posted = _presigned_post(dev_server, b"not an image at all", "image/png")

    assert posted.status in (200, 201, 204)
    wait_until(lambda: dev_server.request("GET", f"/uploads/{ticket['id']}").status == 404)
    dev_server.wait_for_log(r"not_an_allowed_image")


def test_cors_preflight_from_a_configured_origin_is_allowed(dev_server):
    reply = dev_server.request(
        "OPTIONS",
        "/uploads",
        headers={
            "origin": "http://localhost:5173",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )

    assert reply.status == 204
    headers = {k.lower(): v for k, v in reply.headers.items()}
    assert headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "POST" in headers["access-control-allow-methods"]
    assert "content-type" in headers["access-control-allow-headers"]
    assert headers["access-control-max-age"] == "3600"


def test_cors_preflight_from_another_origin_gets_no_cors_headers(dev_server):
    reply = dev_server.request(
        "OPTIONS",
        "/uploads",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )

    assert not any(k.lower().startswith("access-control-") for k in reply.headers)
    simple = dev_server.request("GET", "/uploads", headers={"origin": "https://evil.example"})
    assert simple.status == 200
    assert not any(k.lower().startswith("access-control-") for k in simple.headers)


def test_bucket_cors_lets_the_pages_origin_post_straight_to_s3(dev_server):
    def preflight(origin: str) -> dict[str, str]:
        reply = http(
            "OPTIONS",
            f"{dev_server.s3_endpoint}/{dev_server.bucket}",
            headers={"origin": origin, "access-control-request-method": "POST"},
        )
        return {k.lower(): v for k, v in reply.headers.items()}

    # The program allows the API's own origin; locally that is the local API's URL.
    assert preflight(dev_server.url).get("access-control-allow-origin") == dev_server.url
    assert "access-control-allow-origin" not in preflight("https://evil.example")


def test_the_buckets_answer_to_the_pages_post_carries_cors_headers_too(dev_server):
    """A browser reads the POST's answer only with `Access-Control-Allow-Origin` on it (S3 sends
    it on actual requests as on preflights; moto alone only on preflights)."""
    png = image_bytes()
    ticket = dev_server.request(
        "POST",
        "/uploads/presign",
        json.dumps({"contentType": "image/png", "size": len(png)}).encode(),
        {"content-type": "application/json"},
    ).json()
    body, content_type = multipart(ticket["fields"], png, "image/png")

    def post(origin: str) -> dict[str, str]:
        reply = http("POST", ticket["url"], body, {"content-type": content_type, "origin": origin})
        assert reply.status == 204
        return {k.lower(): v for k, v in reply.headers.items()}

    assert post(dev_server.url)["access-control-allow-origin"] == dev_server.url
    assert "access-control-allow-origin" not in post("https://evil.example")


def test_unknown_route_gets_api_gateways_404(dev_server):
    reply = dev_server.request("GET", "/nothing/here")

    assert reply.status == 404
    assert reply.json() == {"message": "Not Found"}


def test_body_over_10_mb_is_refused_by_the_gateway(dev_server):
    reply = dev_server.request(
        "POST", "/uploads", b"\0" * (10 * 1024 * 1024 + 1), {"content-type": "image/png"}
    )

    assert reply.status == 413
    assert reply.json() == {"message": "Request Entity Too Large"}


def test_event_over_lambdas_6_mb_is_refused_before_the_function(dev_server):
    before = len(dev_server.lines)
    reply = dev_server.request(
        "POST", "/uploads", b"\x89PNG" + b"\0" * (5 * 1024 * 1024), {"content-type": "image/png"}
    )

    assert reply.status == 413
    assert reply.json() == {"message": "Request Entity Too Large"}
    line = dev_server.wait_for_log(r"API POST /uploads 413", start=before)
    assert line.endswith(" -")  # no function ran


def test_busy_port_fails_with_one_line_naming_the_port():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "offline", "dev", "dev", "--port", str(port)],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(port) in lines[0]
    assert "PORT=" in lines[0]


def offline_dev(*args: str) -> subprocess.CompletedProcess:
    """`python -m offline dev dev ARGS`, run to its end."""
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "offline", "dev", "dev", *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_port_outside_the_range_is_refused_by_name():
    result = offline_dev("--port", "99999")

    assert result.returncode == USAGE_ERROR
    assert "'99999' is not a port (0..65535); set PORT=<n>" in result.stderr


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def test_sigint_stops_everything_within_2_s_and_exits_0(dev_server):
    workers = _children(dev_server.process.pid)
    assert workers, "the functions' worker processes should be running"

    started = time.monotonic()
    dev_server.process.send_signal(signal.SIGINT)
    code = dev_server.process.wait(timeout=10)
    elapsed = time.monotonic() - started

    assert code == 0
    assert elapsed < 2.0, f"took {elapsed:.2f} s"
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


def make_dev(*args: str) -> str:
    """The command `make dev` would run (dry run)."""
    return subprocess.run(  # noqa: S603
        ["make", "-n", "--no-print-directory", "dev", *args],  # noqa: S607
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout


def test_make_dev_opens_only_the_dev_stack_and_only_on_this_machine():
    assert "-m offline dev dev --port 8000 --config auth=none" in make_dev()
    assert "--config" not in make_dev("STACK=prod")
    assert "--config" not in make_dev("AUTH=")
    assert "--config auth=jwt" in make_dev("AUTH=jwt")


def test_a_config_override_that_is_not_key_value_is_refused_by_name():
    result = offline_dev("--config", "auth")
    assert result.returncode == USAGE_ERROR
    assert "'auth' is not KEY=VALUE" in result.stderr
