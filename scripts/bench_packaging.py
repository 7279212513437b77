"""Benchmark the Lambda packaging and the handlers' import time. Figures only, no thresholds.

For each function folder under lambda_src/ (a folder with a handler.py): archive size and file
count, build time with a fresh cache (cold: pip runs) and with that cache again (warm), and the
import time of ``handler`` in a fresh interpreter next to the import time of ``boto3`` alone.

The handler is imported from a clean copy of its sources (function folder + the shared packages
it imports) with bytecode writing off, so its own modules are compiled on every import, as on
Lambda, where the archive ships no .pyc. Third-party packages come from the host's venv (Pillow is
imported lazily by on_upload anyway). Run: .venv/bin/python scripts/bench_packaging.py
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from components.packaging import LambdaTarget, build_archive  # noqa: E402

LAMBDA_SRC = REPO / "lambda_src"
RUNS = 5
ENV = {"BUCKET_NAME": "bench", "AWS_DEFAULT_REGION": "us-east-1"}


def shared_packages_of(function: Path) -> list[Path]:
    """The non-function folders of lambda_src that the function's code imports."""
    code = "\n".join(p.read_text(encoding="utf-8") for p in function.rglob("*.py"))
    return [
        folder
        for folder in sorted(LAMBDA_SRC.iterdir())
        if folder.is_dir()
        and not (folder / "handler.py").exists()
        and re.search(rf"^\s*(from|import)\s+{re.escape(folder.name)}\b", code, re.MULTILINE)
    ]


def import_time_ms(module: str, cwd: Path) -> float:
    """Median cumulative import time of ``module`` (-X importtime) in fresh interpreters."""
    env = {**os.environ, **ENV, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    samples = []
    for _ in range(RUNS):
        result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        lines = [ln for ln in result.stderr.splitlines() if ln.rstrip().endswith(f"| {module}")]
        samples.append(int(lines[-1].split("|")[1]) / 1000)
    return statistics.median(samples)


def main() -> None:
    functions = sorted(p.parent for p in LAMBDA_SRC.glob("*/handler.py"))
    target = LambdaTarget()
    print(f"target {target.runtime} {target.architecture}; import times: median of {RUNS} runs")
    with tempfile.TemporaryDirectory() as tmp:
        boto3_ms = import_time_ms("boto3", Path(tmp))
        header = (
            f"{'function':<12} {'size KiB':>9} {'files':>6} {'cold s':>7} {'warm s':>7}"
            f" {'import ms':>10} {'boto3 ms':>9} {'ratio':>6}"
        )
        print(header)
        for function in functions:
            shared = shared_packages_of(function)
            cache = Path(tmp) / f"cache-{function.name}"
            build = partial(
                build_archive, function, target=target, shared_packages=shared, cache_dir=cache
            )
            start = time.perf_counter()
            build()
            cold = time.perf_counter() - start
            start = time.perf_counter()
            archive = build()
            warm = time.perf_counter() - start

            copy = Path(tmp) / f"src-{function.name}"
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "tests")
            shutil.copytree(function, copy, ignore=ignore)
            for package in shared:
                shutil.copytree(package, copy / package.name, ignore=ignore)
            handler_ms = import_time_ms("handler", copy)
            print(
                f"{function.name:<12} {archive.size / 1024:>9.1f} {len(archive.files):>6}"
                f" {cold:>7.2f} {warm:>7.2f} {handler_ms:>10.1f} {boto3_ms:>9.1f}"
                f" {handler_ms / boto3_ms:>6.2f}"
            )


if __name__ == "__main__":
    main()
