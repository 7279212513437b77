"""`make test-arm64`: the dev stack's Lambda archives run on their target CPU.

The archives are the exact zips the dev stack deploys, read from the offline engine's graph
(offline.archives), for ``functionArchitecture`` arm64 (the stack's setting) and x86_64. Each is
unzipped as a task root and run by a python3.13 from Debian trixie's packages
(scripts/lambda_sysroot.py): on an emulated Graviton2-class CPU (``qemu-aarch64 -cpu
neoverse-n1``) for arm64, natively for x86_64, with boto3/botocore of the pinned versions on
``PYTHONPATH`` as the Lambda runtime provides them, and the function's environment from the graph.

Checked for each architecture (scripts/target_probe.py runs inside the target):
- both handlers import;
- ``uploads`` answers ``GET /`` (the page) and ``POST /uploads/presign`` (a ticket);
- ``on_upload`` processes a JPEG, a PNG with alpha, a WebP and an animated GIF (thumbnails
  written; their size and bands equal to the x86_64 ones), and removes a truncated JPEG and a
  hostile image (a PNG bomb); then its whole handler, on an S3 event, writes the thumbnail into
  the bucket. S3 is moto's server on loopback.

Prints each step's time and the total. Exit 1 with one line on the first failure.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import boto3  # noqa: E402
import pyvips  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402
from PIL import Image  # noqa: E402

from components.packaging import default_cache_dir  # noqa: E402
from offline.archives import LambdaArchive, lambda_archives  # noqa: E402
from offline.engine import run_stack  # noqa: E402
from scripts.hostile_images import png_bomb  # noqa: E402
from scripts.lambda_sysroot import SysrootError, sysroot  # noqa: E402

PROBE = Path(__file__).resolve().parent / "target_probe.py"
ARCHITECTURE_SETTING = "serverless-uploads:functionArchitecture"
DEBIAN_ARCH = {"arm64": "arm64", "x86_64": "amd64"}
MACHINE = {"arm64": "aarch64", "x86_64": "x86_64"}
REGION = "us-east-1"
PROBE_TIMEOUT_S = 300


class CheckFailedError(Exception):
    """One line saying what did not hold."""


@dataclass(frozen=True)
class Target:
    """Where an architecture's archives run: its Python, the runtime's SDK, S3 on loopback."""

    arch: str
    python: list[str]
    sdk: Path
    endpoint: str
    s3: Any
    work: Path


def _elapsed(started: float) -> str:
    return f"{time.perf_counter() - started:.1f}s"


def images() -> dict[str, bytes]:
    """The thumbnailer's cases: four that must work, two that must be refused."""

    def encoded(image: Image.Image, fmt: str, **options: Any) -> bytes:
        out = io.BytesIO()
        image.save(out, fmt, **options)
        return out.getvalue()

    photo = Image.linear_gradient("L").resize((1200, 800)).convert("RGB")
    alpha = Image.new("RGBA", (640, 480), (20, 120, 220, 255))
    alpha.paste((0, 0, 0, 0), (0, 0, 320, 480))
    frames = [Image.new("RGB", (400, 300), (40 * i, 90, 200)).convert("P") for i in range(3)]
    jpeg = encoded(photo, "JPEG", quality=85)
    return {
        "photo.jpg": jpeg,
        "alpha.png": encoded(alpha, "PNG"),
        "photo.webp": encoded(photo.resize((900, 600)), "WEBP"),
        "animated.gif": encoded(frames[0], "GIF", save_all=True, append_images=frames[1:]),
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "hostile.png": png_bomb(9459, 9459),
    }


REFUSED = {"truncated.jpg", "hostile.png"}


def python_command(arch: str, root: Path) -> list[str]:
    """How to run the root's python3.13 on this machine: natively when the CPU matches (through
    the root's own dynamic linker, so no host library is used), else under qemu-user."""
    python = str(root / "usr" / "bin" / "python3.13")
    if platform.machine() == MACHINE[arch]:
        linker = next((root / "usr").glob("lib*/ld-linux-*.so.*"))
        libraries = root / "usr" / "lib" / f"{MACHINE[arch]}-linux-gnu"
        return [str(linker), "--inhibit-cache", "--library-path", str(libraries), python]
    qemu = shutil.which(f"qemu-{MACHINE[arch]}")
    if qemu is None:
        raise CheckFailedError(
            f"qemu-{MACHINE[arch]} not found: apt-get install qemu-user (Debian's qemu-user)"
        )
    cpu = ["-cpu", "neoverse-n1"] if arch == "arm64" else []
    return [qemu, *cpu, "-L", str(root), python]


def _run(command: list[str], what: str, **kwargs: Any) -> str:
    try:
        result = subprocess.run(  # noqa: S603 (our own arguments, no shell)
            command, capture_output=True, text=True, check=False, timeout=PROBE_TIMEOUT_S, **kwargs
        )
    except subprocess.TimeoutExpired as exc:
        raise CheckFailedError(f"{what}: no answer within {PROBE_TIMEOUT_S}s") from exc
    if result.returncode != 0:
        lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
        raise CheckFailedError(f"{what}: exit {result.returncode}: {lines[-1] if lines else ''}")
    return result.stdout


def target_python(arch: str, cache: Path) -> list[str]:
    def compile_stdlib(root: Path) -> None:
        stdlib = root / "usr" / "lib" / "python3.13"
        # Serially: `compileall -j0` crashes under qemu.
        command = [*python_command(arch, root), "-m", "compileall", "-q", "-j1", str(stdlib)]
        _run(command, f"compiling {arch}'s standard library")

    return python_command(arch, sysroot(DEBIAN_ARCH[arch], cache, compile_stdlib))


def runtime_sdk(cache: Path, python: list[str]) -> Path:
    """boto3/botocore at the versions requirements.txt pins (the preflight's, which the tests use
    too), compiled once by the target Python: bytecode does not depend on the CPU."""
    text = (REPO / "requirements.txt").read_text(encoding="utf-8")
    pins = re.findall(r"^((?:boto3|botocore)==\S+)", text, re.MULTILINE)
    if len(pins) != 2:
        raise CheckFailedError("requirements.txt pins no boto3==… and botocore==…")
    folder = cache / f"sdk-{hashlib.sha256(' '.join(pins).encode()).hexdigest()[:16]}"
    if (folder / ".complete").is_file():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    _run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-compile", "--only-binary=:all:", "--python-version", "3.13",
         "--target", str(folder), *pins],
        f"installing {' '.join(pins)}",
    )  # fmt: skip
    _run([*python, "-m", "compileall", "-q", str(folder)], "compiling boto3/botocore")
    (folder / ".complete").touch()
    return folder


@contextmanager
def moto_s3() -> Iterator[tuple[str, Any]]:
    """moto's server on a free loopback port, and a host client for it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        yield endpoint, boto3.client(
            "s3", endpoint_url=endpoint, region_name=REGION,
            aws_access_key_id="testing", aws_secret_access_key="testing",  # noqa: S106 (moto)
        )  # fmt: skip
    finally:
        server.stop()


def run_probe(target: Target, archive: LambdaArchive, *args: str) -> dict[str, Any]:
    task = target.work / target.arch / archive.function
    task.mkdir(parents=True)
    with zipfile.ZipFile(archive.path) as zf:
        zf.extractall(task)
    env = {
        "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(task.parent),
        # No bytecode written: /var/task is read-only on Lambda.
        "PYTHONPATH": f"{task}:{target.sdk}", "PYTHONDONTWRITEBYTECODE": "1",
        "LAMBDA_TASK_ROOT": str(task), "AWS_LAMBDA_FUNCTION_NAME": archive.function,
        "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing", "AWS_ENDPOINT_URL": target.endpoint,
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        **archive.environment,
    }  # fmt: skip
    what = f"{archive.function} on {archive.architecture}"
    out = _run([*target.python, str(PROBE), *args], what, env=env, cwd=task)
    return json.loads(out.strip().splitlines()[-1])


def thumbnail_shape(data: bytes) -> list[int]:
    image = pyvips.Image.new_from_buffer(data, "")
    pages = image.get("n-pages") if image.get_typeof("n-pages") else 1
    return [image.width, image.height, image.bands, pages]


def check_uploads(result: dict[str, Any], what: str) -> None:
    page, ticket = result["page"], result["presign"]
    if page["status"] != 200 or not page["type"].startswith("text/html") or not page["html"]:
        raise CheckFailedError(f"{what}: GET / did not answer the page: {page}")
    if ticket["status"] != 201 or not {"url", "fields", "key"} <= set(ticket["keys"]):
        raise CheckFailedError(f"{what}: POST /uploads/presign gave no ticket: {ticket}")


def check_on_upload(
    target: Target, archive: LambdaArchive
) -> tuple[dict[str, Any], dict[str, list[int]]]:
    s3 = target.s3
    env = archive.environment
    bucket, uploads, thumbs = env["BUCKET_NAME"], env["UPLOAD_PREFIX"], env["THUMBNAIL_PREFIX"]
    folder = f"{uploads}{archive.architecture}/"
    cases = images()
    for name, data in cases.items():
        s3.put_object(Bucket=bucket, Key=folder + name, Body=data)
    whole = f"{folder}whole-handler.jpg"
    s3.put_object(Bucket=bucket, Key=whole, Body=cases["photo.jpg"])
    spec = json.dumps({"keys": [folder + n for n in cases], "event_key": whole})
    result = run_probe(target, archive, "on_upload", archive.handler, spec)
    what = f"{archive.function} on {archive.architecture}"
    shapes = {}
    for name in cases:
        outcome, reason = result["outcomes"][folder + name]
        if (outcome == "removed") != (name in REFUSED):
            raise CheckFailedError(f"{what}: {name} was {outcome} ({reason})")
        if name not in REFUSED:
            body = s3.get_object(Bucket=bucket, Key=thumbs + (folder + name)[len(uploads) :])
            shapes[name] = thumbnail_shape(body["Body"].read())
    if result["counts"].get("processed") != 1:
        raise CheckFailedError(f"{what}: the whole handler on an S3 event gave {result['counts']}")
    s3.head_object(Bucket=bucket, Key=thumbs + whole[len(uploads) :])  # the thumbnail landed
    return result, shapes


def dev_archives(arch: str) -> list[LambdaArchive]:
    """The archives the dev stack deploys, with ``functionArchitecture`` set to ``arch``, and
    without sign-in as `make dev` serves it: the probes call the API without a token."""
    overrides = {"serverless-uploads:auth": "none"}
    if arch != "arm64":  # dev's own is arm64
        overrides[ARCHITECTURE_SETTING] = arch
    archives = lambda_archives(run_stack("dev", REPO, overrides=overrides))
    for archive in archives:
        if archive.architecture != arch:
            raise CheckFailedError(f"{archive.function} is built for {archive.architecture}")
    return archives


def run_architecture(target: Target, archives: list[LambdaArchive]) -> dict[str, list[int]]:
    shapes: dict[str, list[int]] = {}
    for archive in archives:
        started = time.perf_counter()
        what = f"{archive.function} on {target.arch}"
        with zipfile.ZipFile(archive.path) as zf:
            is_on_upload = "thumbnailer.py" in zf.namelist()
        if is_on_upload:
            result, shapes = check_on_upload(target, archive)
        else:
            result = run_probe(target, archive, "uploads", archive.handler)
            check_uploads(result, what)
        if result["machine"] != MACHINE[target.arch]:
            raise CheckFailedError(f"{what}: ran on {result['machine']}")
        print(
            f"{what}: ok (handler import {result['import_seconds']}s, "
            f"python {result['python']}, {_elapsed(started)})",
            flush=True,
        )
    return shapes


def main() -> int:
    started = time.perf_counter()
    cache = default_cache_dir() / "target"
    arches = ("x86_64", "arm64")
    try:
        step = time.perf_counter()
        archives = {arch: dev_archives(arch) for arch in arches}
        print(f"the dev stack's archives, arm64 and x86_64 ({_elapsed(step)})", flush=True)
        step = time.perf_counter()
        pythons = {arch: target_python(arch, cache) for arch in arches}
        sdk = runtime_sdk(cache, pythons["x86_64"])
        print(f"python3.13 sysroots and boto3/botocore ({_elapsed(step)})", flush=True)
        with moto_s3() as (endpoint, s3), tempfile.TemporaryDirectory() as tmp:
            s3.create_bucket(Bucket=archives["arm64"][0].environment["BUCKET_NAME"])
            shapes = {
                arch: run_architecture(
                    Target(arch, pythons[arch], sdk, endpoint, s3, Path(tmp)), archives[arch]
                )
                for arch in arches
            }
        if shapes["arm64"] != shapes["x86_64"]:
            raise CheckFailedError(
                f"arm64 thumbnails differ from x86_64's: {shapes['arm64']} != {shapes['x86_64']}"
            )
    except (CheckFailedError, SysrootError) as exc:
        print(f"error: test-arm64: {exc}", file=sys.stderr)
        return 1
    print(f"thumbnails (width, height, bands, pages), equal on both: {shapes['arm64']}")
    print(f"test-arm64: passed in {_elapsed(started)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
