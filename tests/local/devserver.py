"""Local mode under test: `python -m offline dev` as a subprocess, spoken to over real HTTP."""

from __future__ import annotations

import io
import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from PIL import Image

PROJECT_DIR = Path(__file__).resolve().parents[2]
ARTIFACTS = PROJECT_DIR / "artifacts" / "browser"
"""Where the browser tests' screenshots go."""
START_TIMEOUT_S = 120
"""The first start builds the archives (pip, for the Lambda platform) when the cache is cold."""


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


MAKE_DEV = {"auth": "none"}
"""What `make dev` overrides for the dev stack: no sign-in, on this machine only."""


class DevServer:
    """One `python -m offline dev` process; its output is collected line by line."""

    def __init__(
        self,
        cwd: Path,
        stack: str = "dev",
        env: Mapping[str, str] | None = None,
        config: Mapping[str, str] | None = None,
    ):
        overrides = [f"--config={key}={value}" for key, value in (config or {}).items()]
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "offline", "dev", stack, "--port", "0", *overrides],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=None if env is None else dict(env),
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._collector = threading.Thread(target=self._collect, daemon=True)
        self._collector.start()
        ready = self.wait_for_log(r"Serving on (http://127\.0\.0\.1:\d+)", START_TIMEOUT_S)
        self.url = re.search(r"http://127\.0\.0\.1:\d+", ready).group()
        banner = "\n".join(self.lines)
        self.s3_endpoint = re.search(r"on moto at (http://127\.0\.0\.1:\d+)", banner).group(1)
        self.bucket = re.search(r"S3 bucket +(\S+)", banner).group(1)
        self.outputs_file = Path(re.search(r"Outputs +(\S+)", banner).group(1))
        outputs = json.loads(self.outputs_file.read_text(encoding="utf-8"))
        self.credentials: dict[str, str] = outputs["localEndpoints"]["credentials"]
        """This run's credentials (new for every run), as boto3 takes them."""

    def _collect(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for_log(self, pattern: str, timeout: float = 10.0, start: int = 0) -> str:
        """The first output line from index `start` on that matches `pattern`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines[start:]:
                    if re.search(pattern, line):
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.process.poll() is not None:
                    output = "\n".join(self.lines[-40:])
                    raise AssertionError(
                        f"no log line matching {pattern!r}; last output:\n{output}"
                    )
                self._changed.wait(min(remaining, 0.2))

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        url = path if path.startswith("http") else self.url + path
        return http(method, url, body, headers)

    def aws_client(self, service: str) -> Any:
        """A boto3 client for moto behind this server, signing with this run's credentials
        (the only ones it accepts)."""
        return boto3.client(
            service,
            endpoint_url=self.s3_endpoint,
            region_name="us-east-1",
            config=Config(signature_version="s3v4") if service == "s3" else None,
            **self.credentials,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._collector.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def http(
    method: str, url: str, body: bytes | None = None, headers: Mapping[str, str] | None = None
) -> Reply:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"local-mode tests only talk to loopback, not {url}")
    request = urllib.request.Request(  # noqa: S310 - checked above: loopback HTTP only
        url, data=body, method=method, headers=dict(headers or {})
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return Reply(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, dict(error.headers.items()), error.read())


def wait_until(check, timeout: float = 15.0, interval: float = 0.2):
    """Call `check()` until it returns something truthy; that value, or an AssertionError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def multipart(fields: Mapping[str, str], file_bytes: bytes, content_type: str) -> tuple[bytes, str]:
    """A multipart/form-data body: the fields in order, then the file last (as S3 requires)."""
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(f"{value}\r\n".encode())
    out.write(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
    )
    out.write(file_bytes + f"\r\n--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def image_bytes(kind: str = "PNG", size: tuple[int, int] = (320, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (uuid.uuid4().int % 255, 90, 160)).save(out, kind)
    return out.getvalue()


def screenshot(page: Any, name: str) -> None:
    """A full-page screenshot of a playwright page in `ARTIFACTS`."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
