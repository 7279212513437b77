"""Every benchmark script still runs: each one, in its quick mode (one run, small inputs),
completes and prints its figures. Nothing here is timed; the figures are for people."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(
    path
    for path in (PROJECT_DIR / "scripts").glob("bench_*.py")
    if 'if __name__ == "__main__":' in path.read_text(encoding="utf-8")
)
"""The benchmark scripts (bench_hostile.py is a part of bench_thumbnails.py, not a script)."""

FIGURES = {
    "bench_deploy.py": [
        r"^deploy virtualenv \(requirements\.txt only, made by make\): \d+\.\d MB = \d+% ",
        r"^  offline engine in it, without moto, .*: dev \(\d+ resources\)$",
    ],
    "bench_multilang.py": [
        r"direct in Python .* +\d+\.\d ms",
        r"Construct over gRPC .* +\d+\.\d ms",
        r"ratio Construct / direct +\d+\.\d+x +\(target <= 1\.5x\)",
    ],
    "bench_packaging.py": [r"^uploads +\d+\.\d +\d+ ", r"^on_upload +\d+\.\d +\d+ "],
    "bench_plan.py": [
        r"ratio +\d+\.\d+x +\(target <= 1\.3x\)",
        r"plan dev +\d+\.\d+ s",
        r"import floor: pulumi \+ pulumi_aws packages +\d+\.\d+ s +plan \d+\.\d+x",
        r"import floor: pulumi \+ pulumi_aws resource modules +\d+\.\d+ s +plan \d+\.\d+x",
    ],
    "bench_thumbnails.py": [
        r"^photo24\.jpg +\d+ +\d+x\d+",
        r"^ +512 MB: up to \d+\.\d MP",
        r"^4 MiB: ordinary photo \d+\.\d MiB",
    ],
    "bench_wheel.py": [r"make dist \(wheel \+ sdist\) +\d+\.\d+ s", r"wheel +\d+\.\d KiB"],
}
"""Per script, lines its figures must appear on; a script missing here still has to print."""


def test_make_bench_runs_every_benchmark_but_the_thumbnails():
    """`make bench` names each script (bench-thumbnails takes minutes: its own target)."""
    dry_run = subprocess.run(
        ["make", "-n", "--no-print-directory", "-o", ".venv/.installed", "bench"],  # noqa: S607
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    listed = {p.name for p in SCRIPTS if p.name in dry_run}
    assert listed == {p.name for p in SCRIPTS} - {"bench_thumbnails.py"}


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_benchmark_completes_in_quick_mode_and_prints_its_figures(script: Path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(  # noqa: S603  (our own interpreter and script)
        [sys.executable, script, "--quick"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"\d+\.\d+", result.stdout), result.stdout
    for figure in FIGURES.get(script.name, []):
        assert re.search(figure, result.stdout, re.MULTILINE), (figure, result.stdout)
