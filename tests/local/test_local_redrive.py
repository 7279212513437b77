"""Nothing lost, end to end on local mode: upload -> forced failure -> retries -> dead-letter queue
(the upload not listed) -> clear the fault -> redrive -> thumbnail, queue empty, upload listed."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

from devserver import PROJECT_DIR, image_bytes, wait_until


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
