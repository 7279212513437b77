"""Benchmark the distribution: figures only, no thresholds.

1. Build time of `make dist`'s command (hatchling, wheel and sdist): wall seconds, median.
2. Wheel and sdist size, the wheel's file count and its installed size.
3. Install time into a fresh virtualenv: `python -m venv --without-pip`, then
   `pip install --no-deps` of the wheel (offline), wall seconds each, median.
4. What the declared dependencies add once installed (pulumi, pulumi-aws, pip and what they pull
   in, as resolved in the repository's .venv): every Pulumi AWS program installs these anyway, so
   they are sized, not timed (that would time the network).

Run: .venv/bin/python scripts/bench_wheel.py [--quick]  (--quick: one run; the tests run it)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scripts.dependencies import closure  # noqa: E402

RUNS = 1 if "--quick" in sys.argv[1:] else 5


def _timed(*command: str | Path, **kwargs: object) -> float:
    start = time.perf_counter()
    # Our own fixed commands, never a shell.
    subprocess.run([str(c) for c in command], check=True, capture_output=True, **kwargs)  # noqa: S603
    return time.perf_counter() - start


def _build(out: Path) -> float:
    epoch = subprocess.run(
        ["git", "log", "-1", "--format=%ct"],  # noqa: S607  (git from PATH, as make dist)
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    env = {**os.environ, "SOURCE_DATE_EPOCH": epoch}
    return _timed(sys.executable, "-m", "hatchling", "build", "-d", out, cwd=REPO, env=env)


def _install(wheel: Path, venv: Path) -> tuple[float, float]:
    """(seconds to create the virtualenv, seconds to install the wheel into it)."""
    create = _timed(sys.executable, "-m", "venv", "--without-pip", venv)
    install = _timed(
        sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--quiet",
        "--no-deps", "--no-index", "--disable-pip-version-check", wheel,
    )  # fmt: skip
    return create, install


def _installed_size(names: set[str]) -> tuple[int, int]:
    """(bytes, files) of the installed distributions `names`, from their RECORD."""
    size = files = 0
    for name in names:
        for file in metadata.distribution(name).files or ():
            path = Path(file.locate())
            if path.is_file():
                size += path.stat().st_size
                files += 1
    return size, files


def _mib(size: int) -> str:
    return f"{size / 2**20:.2f} MiB"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-wheel-") as tmp:
        root = Path(tmp)
        builds = [_build(root / f"dist{i}") for i in range(RUNS)]
        wheel = next((root / "dist0").glob("*.whl"))
        sdist_size = next((root / "dist0").glob("*.tar.gz")).stat().st_size
        wheel_size = wheel.stat().st_size
        with zipfile.ZipFile(wheel) as archive:
            infos = archive.infolist()
        installs = [_install(wheel, root / f"venv{i}") for i in range(RUNS)]
    unpacked = sum(i.file_size for i in infos)
    print(f"distribution {wheel.name} (median of {RUNS} runs)")
    print(f"  make dist (wheel + sdist)      {statistics.median(builds):6.2f} s")
    print(f"  wheel                          {wheel_size / 1024:6.1f} KiB, {len(infos)} files")
    print(f"  wheel unpacked                 {unpacked / 1024:6.1f} KiB")
    print(f"  sdist                          {sdist_size / 1024:6.1f} KiB")
    print(f"  fresh virtualenv               {statistics.median(c for c, _ in installs):6.2f} s")
    print(f"  pip install --no-deps (wheel)  {statistics.median(i for _, i in installs):6.2f} s")
    dependencies = closure()
    size, files = _installed_size(dependencies)
    print(f"dependencies {len(dependencies)} distributions: {_mib(size)} installed, {files} files")
    for name in ("pulumi-aws", "pulumi"):
        print(f"  of which {name:<20} {_mib(_installed_size({name})[0])}")


if __name__ == "__main__":
    main()
