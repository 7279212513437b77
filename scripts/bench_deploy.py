"""Benchmark what a deploy and a first run cost: figures only, no thresholds (targets in the
comments are for the reader).

1. The virtualenv made from requirements.txt alone (`make .venv/.deploy-installed`, what CI's
   deploy jobs and `pulumi up` get): its size on disk (target: <= 25 % of the 906 MB that the
   single requirements file used to install), and proof that the program needs nothing more:
   the offline engine runs every stack in it, where the test and local-mode tools are absent.
2. A fresh clone's time to its first page with `make dev` on a machine without uv, in one run,
   each in its own clone: as `make dev` does it there (uv bootstrapped from PyPI into .venv, with
   an empty uv cache, as such a machine has), against `python -m venv` plus `pip install` of the
   same files (`make UV=`, with this machine's pip cache as it is). Target: <= 0.5x pip.
Run: .venv/bin/python scripts/bench_deploy.py [--quick] [--write-docs] (needs network or warm
caches, a few minutes; --quick: the deploy virtualenv and the dev stack in it only, as the tests
run it; --write-docs: put the first-page figures into docs/benchmarks.md).
"""

from __future__ import annotations

import os
import re
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
WRITE_DOCS = "--write-docs" in sys.argv[1:]
BENCHMARKS = REPO / "docs" / "benchmarks.md"
FIRST_PAGE_TABLE = re.compile(
    r"(<!-- first-page: scripts/bench_deploy.py --write-docs -->\n)"
    r"(?:.*?\n)?(<!-- /first-page -->)",
    re.DOTALL,
)
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


def fresh_clone(parent: Path, name: str) -> Path:
    clone = parent / name
    subprocess.run(  # noqa: S603 - git on our own repository
        ["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(clone)],  # noqa: S607
        check=True,
    )
    return clone


def clean_env() -> dict[str, str]:
    """This environment without what would leak the caller's virtualenv or make into a fresh
    clone: PYTHONPATH (its site-packages), and the variables of a `make` this runs under, whose
    MAKEFLAGS carry its command-line variables (VENV=..., BIN=...) into every sub-make."""
    leaking = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    return {k: v for k, v in os.environ.items() if k not in leaking}


def make_env(how: str, scratch: Path) -> dict[str, str]:
    """The environment of `make` on a machine without uv: `pip` (make UV=), `default` (what `make`
    does there by itself: bootstrap uv into .venv, with a uv cache as empty as such a machine's),
    or `deploy` (the same with this machine's uv cache)."""
    env = clean_env()
    env.pop("UV", None)
    path = env.get("PATH", "").split(os.pathsep)
    env["PATH"] = os.pathsep.join(d for d in path if d and not Path(d, "uv").exists())
    if how == "pip":
        env["UV"] = ""
    elif how == "default":
        env["UV_CACHE_DIR"] = str(scratch / "uv-cache")
    return env


def make_command(*targets: str) -> list[str]:
    """`make` with this interpreter's base Python, which PATH without uv may not hold."""
    return ["make", "--no-print-directory", f"PYTHON={sys._base_executable}", *targets]


def size_mb(path: Path) -> float:
    total = sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())
    return total / 1e6


def deploy_venv(parent: Path) -> float:
    """The deploy virtualenv's size in MB, after proving the offline engine runs in it."""
    clone = fresh_clone(parent, "deploy")
    subprocess.run(  # noqa: S603
        make_command(".venv/.deploy-installed"),
        cwd=clone,
        env=make_env("deploy", parent),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    venv = size_mb(clone / ".venv")
    print(f"deploy virtualenv (requirements.txt only, made by make): {venv:.1f} MB", end="")
    print(f" = {venv / BEFORE_MB:.0%} of the {BEFORE_MB} MB before the split (target <= 25 %)")
    check = ENGINE_CHECK.format(absent=ABSENT, stacks=["dev"] if QUICK else [])
    ran = subprocess.run(  # noqa: S603 - the clone's interpreter, our own snippet
        [str(clone / ".venv/bin/python"), "-c", check],
        cwd=clone,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if ran.returncode != 0:
        raise SystemExit(f"the offline engine failed in the deploy virtualenv:\n{ran.stderr}")
    counts = (line.split() for line in ran.stdout.splitlines())
    stacks = ", ".join(f"{stack} ({n} resources)" for stack, n in counts)
    print(f"  offline engine in it, without {', '.join(ABSENT)}: {stacks}")
    return venv


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def time_to_first_page(parent: Path, how: str) -> float:
    """Seconds from `make dev` in a fresh clone to the first 200 of its page."""
    clone = fresh_clone(parent, how)
    port = free_port()
    start = time.perf_counter()
    server = subprocess.Popen(  # noqa: S603
        make_command("dev", f"PORT={port}"),
        cwd=clone,
        env=make_env(how, parent),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while time.perf_counter() - start < PAGE_TIMEOUT_S:
            if server.poll() is not None:
                raise SystemExit(f"make dev ({how}) exited with {server.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as page:
                    if page.status == 200:
                        return time.perf_counter() - start
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"make dev ({how}) served no page within {PAGE_TIMEOUT_S} s")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def figures_table(venv_mb: float, pip_s: float, default_s: float) -> str:
    """The rows docs/benchmarks.md quotes, as this run measured them."""
    return "\n".join([
        "| figure (no uv on the machine) | value | against |",
        "| --- | --- | --- |",
        f"| deploy virtualenv (`requirements.txt` alone) | {venv_mb:.0f} MB "
        f"| {venv_mb / BEFORE_MB:.0%} of the {BEFORE_MB} MB before (target <= 25 %) |",
        f"| fresh clone to first page, `make UV= dev` (`python -m venv` + pip) | {pip_s:.1f} s | |",
        f"| fresh clone to first page, `make dev` (uv from PyPI, empty uv cache) "
        f"| {default_s:.1f} s | {default_s / pip_s:.2f}x pip (target <= 0.5x) |",
    ])  # fmt: skip


def write_docs(table: str) -> None:
    text = BENCHMARKS.read_text(encoding="utf-8")
    if not FIRST_PAGE_TABLE.search(text):
        raise SystemExit(f"{BENCHMARKS}: no first-page table markers to write between")
    BENCHMARKS.write_text(FIRST_PAGE_TABLE.sub(lambda m: f"{m[1]}{table}\n{m[2]}", text), "utf-8")
    print(f"wrote the figures into {BENCHMARKS.relative_to(REPO)}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
        parent = Path(tmp)
        venv_mb = deploy_venv(parent)
        if QUICK:
            print("fresh clone to first page: not timed in --quick mode")
            return
        pip_s = time_to_first_page(parent, "pip")
        print(f"fresh clone to first page, python -m venv + pip: {pip_s:6.1f} s")
        default_s = time_to_first_page(parent, "default")
        print(f"fresh clone to first page, make dev (uv from PyPI): {default_s:6.1f} s", end="")
        print(f" = {default_s / pip_s:.2f}x pip (target <= 0.5x)")
        if WRITE_DOCS:
            write_docs(figures_table(venv_mb, pip_s, default_s))


if __name__ == "__main__":
    main()
