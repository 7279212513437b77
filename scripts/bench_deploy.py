"""Benchmark what a deploy and a first run cost: figures only, no thresholds (targets in the
comments are for the reader).

1. The virtualenv made from requirements.txt alone (`make .venv/.deploy-installed`, what CI's
   deploy jobs and `pulumi up` get): its size on disk (target: <= 25 % of the 906 MB that the
   single requirements file used to install), and proof that the program needs nothing more:
   the offline engine runs every stack in it, where the test and local-mode tools are absent.
2. A fresh clone's time to its first page with `make dev`: uv against `python -m venv` plus
   `pip install` of the same files (make UV=), each in its own clone, in one run (target: uv
   <= 0.5x pip). Both use this machine's package caches as they are.
Run: .venv/bin/python scripts/bench_deploy.py [--quick] (needs network or warm caches, a few
minutes; --quick: the deploy virtualenv and the dev stack in it only, as the tests run it).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BEFORE_MB = 906
"""The virtualenv of the single requirements.txt, before the split (issue 16)."""
PAGE_TIMEOUT_S = 600
QUICK = "--quick" in sys.argv[1:]
ABSENT = ("moto", "pytest", "playwright", "rich", "pulumi_policy")
"""Test and local-mode tools that must not be in the deploy virtualenv."""
ENGINE_CHECK = """
import importlib.util, sys
from pathlib import Path
from offline.engine import run_stack
from offline.project import stack_names
present = [m for m in {absent!r} if importlib.util.find_spec(m)]
if present:
    sys.exit(f"not a deploy-only virtualenv: {{present}} installed")
for stack in {stacks!r} or stack_names(Path(".")):
    print(stack, len(list(run_stack(stack, Path(".")))))
"""


def uv_path() -> str | None:
    """uv on PATH, or the one requirements-dev.txt installs next to this interpreter."""
    beside = Path(sys.executable).parent / "uv"
    return shutil.which("uv") or (str(beside) if beside.exists() else None)


def fresh_clone(parent: Path, name: str) -> Path:
    clone = parent / name
    subprocess.run(  # noqa: S603 - git on our own repository
        ["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(clone)],  # noqa: S607
        check=True,
    )
    return clone


def make_env(uv: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["UV"] = uv or ""
    return env


def size_mb(path: Path) -> float:
    total = sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())
    return total / 1e6


def deploy_venv(parent: Path, uv: str | None) -> None:
    clone = fresh_clone(parent, "deploy")
    subprocess.run(  # noqa: S603
        ["make", "--no-print-directory", f"UV={uv or ''}", ".venv/.deploy-installed"],  # noqa: S607
        cwd=clone,
        env=make_env(uv),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    venv = size_mb(clone / ".venv")
    made = "uv" if uv else "pip"
    print(f"deploy virtualenv (requirements.txt only, made with {made}): {venv:.1f} MB", end="")
    print(f" = {venv / BEFORE_MB:.0%} of the {BEFORE_MB} MB before the split (target <= 25 %)")
    check = ENGINE_CHECK.format(absent=ABSENT, stacks=["dev"] if QUICK else [])
    ran = subprocess.run(  # noqa: S603 - the clone's interpreter, our own snippet
        [str(clone / ".venv/bin/python"), "-c", check],
        cwd=clone,
        capture_output=True,
        text=True,
        check=False,
    )
    if ran.returncode != 0:
        raise SystemExit(f"the offline engine failed in the deploy virtualenv:\n{ran.stderr}")
    counts = (line.split() for line in ran.stdout.splitlines())
    stacks = ", ".join(f"{stack} ({n} resources)" for stack, n in counts)
    print(f"  offline engine in it, without {', '.join(ABSENT)}: {stacks}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def time_to_first_page(parent: Path, name: str, uv: str | None) -> float:
    """Seconds from `make dev` in a fresh clone to the first 200 of its page."""
    clone = fresh_clone(parent, name)
    port = free_port()
    start = time.perf_counter()
    server = subprocess.Popen(  # noqa: S603
        ["make", "--no-print-directory", f"UV={uv or ''}", "dev", f"PORT={port}"],  # noqa: S607
        cwd=clone,
        env=make_env(uv),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while time.perf_counter() - start < PAGE_TIMEOUT_S:
            if server.poll() is not None:
                raise SystemExit(f"make dev ({name}) exited with {server.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as page:
                    if page.status == 200:
                        return time.perf_counter() - start
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"make dev ({name}) served no page within {PAGE_TIMEOUT_S} s")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def main() -> None:
    uv = uv_path()
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
        parent = Path(tmp)
        deploy_venv(parent, uv)
        if QUICK:
            print("fresh clone to first page: not timed in --quick mode")
            return
        if uv is None:
            print("first page: uv not found (on PATH or beside this Python); pip only")
        pip_s = time_to_first_page(parent, "pip", None)
        print(f"fresh clone to first page, python -m venv + pip: {pip_s:6.1f} s")
        if uv is not None:
            uv_s = time_to_first_page(parent, "uv", uv)
            print(f"fresh clone to first page, uv:                   {uv_s:6.1f} s", end="")
            print(f" = {uv_s / pip_s:.2f}x pip (target <= 0.5x)")


if __name__ == "__main__":
    main()
