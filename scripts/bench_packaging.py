"""Benchmark the Lambda packaging and the handlers' import time. Figures only, no thresholds.

For each function folder under lambda_src/ (a folder with a handler.py): archive size and file
count, build time with a fresh cache (cold: pip runs) and with that cache again (warm), and the
time to import ``handler`` in a fresh interpreter next to the baseline every handler pays:
``import boto3; boto3.client("s3")`` (the handlers create their client at import).

Both are timed with the runtime's Python (python3.13 for the default target) when it is
installed, on PATH or under pyenv, else with the host's, and the table says which. That
interpreter gets its own virtualenv under .build/ with the boto3 and botocore pinned in
requirements-dev.txt (the host venv's packages are built for the host's Python). The handler is
imported from a clean copy of its sources (function folder + the shared packages it imports)
with bytecode writing off, so its own modules are compiled on every import, as on Lambda, where
the archive ships no .pyc; on_upload imports libvips lazily, on its first image. Each handler
is imported with the environment the `dev` stack gives its function (a handler refuses to start
without its required settings, such as AUTH_MODE).

Then the cost of CloudWatch metrics (EMF) at import, after boto3 and its client, the same way:
aws-lambda-powertools' `Metrics` (installed without .pyc under .build/) against the handlers' own
emitter, `uploads_common.metrics`. Powertools is used only if it adds at most 10 ms. Not with
--quick (it installs powertools from PyPI).
Run: .venv/bin/python scripts/bench_packaging.py [--quick]
(--quick: one run, the project's warm build cache and the host's Python; the tests run it.)
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

from components.packaging import LambdaTarget, build_archive, default_cache_dir  # noqa: E402
from offline import run_stack  # noqa: E402

LAMBDA_SRC = REPO / "lambda_src"
QUICK = "--quick" in sys.argv[1:]
RUNS = 1 if QUICK else 5
ENV = {"AWS_DEFAULT_REGION": "us-east-1"}
POWERTOOLS = "aws-lambda-powertools==3.37.0"
"""The release whose `Metrics` import is measured against our EMF emitter."""
_TIMED_AFTER = (
    "import boto3, time\nboto3.client('s3')\nt = time.perf_counter()\n{code}\n"
    "print(time.perf_counter() - t)"
)


def function_environments() -> dict[str, dict[str, str]]:
    """Function folder -> the environment variables the `dev` stack sets on its function
    (`uploads-on-upload-function` belongs to lambda_src/on_upload)."""
    graph = run_stack("dev", REPO)
    environments = {}
    for function in graph.of_type("aws:lambda/function:Function"):
        folder = function.name.removeprefix("uploads-").removesuffix("-function").replace("-", "_")
        variables = (function.inputs.get("environment") or {}).get("variables") or {}
        environments[folder] = {key: str(value) for key, value in variables.items()}
    return environments


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


def runtime_python(target: LambdaTarget) -> Path | None:
    """The target runtime's interpreter (python3.13 ...) if one runs: on PATH or under pyenv (a
    pyenv shim on PATH fails unless that version is selected, so each candidate is tried)."""
    name = target.runtime  # "python3.13"
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [shutil.which(name), *sorted(pyenv.glob(f"{target.python_version}.*/bin/{name}"))]
    for candidate in filter(None, candidates):
        check = "import sys; print('%d.%d' % sys.version_info[:2])"
        ran = subprocess.run(  # noqa: S603 - an interpreter we found, a fixed snippet
            [str(candidate), "-c", check], capture_output=True, text=True, check=False
        )
        if ran.returncode == 0 and ran.stdout.strip() == target.python_version:
            return Path(candidate)
    return None


def boto3_pins() -> list[str]:
    """The boto3/botocore lines of requirements.txt (exact pins)."""
    lines = (REPO / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if re.match(r"^(boto3|botocore)==", ln.strip())]


def bench_interpreter(target: LambdaTarget) -> tuple[str, str]:
    """(interpreter, what it is): a .build/ virtualenv of the runtime's Python with the pinned
    boto3, or the host's own interpreter when the runtime's Python is not installed."""
    python = None if QUICK else runtime_python(target)
    if python is None:
        why = "--quick" if QUICK else f"{target.runtime} not found"
        return sys.executable, f"host Python {sys.version.split()[0]} ({why})"
    pins = boto3_pins()
    venv = REPO / ".build" / f"bench-{target.runtime}-{'-'.join(p.split('==')[1] for p in pins)}"
    bin_python = venv / "bin" / "python"
    if not (venv / ".installed").exists():
        subprocess.run([str(python), "-m", "venv", "--clear", str(venv)], check=True)  # noqa: S603
        subprocess.run(  # noqa: S603 - our own interpreter and pinned requirements
            [
                str(bin_python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *pins,
            ],
            check=True,
        )
        (venv / ".installed").touch()
    return str(bin_python), f"{target.runtime} ({python}) with {', '.join(pins)}"


_TIMED = "import time\nt = time.perf_counter()\n{code}\nprint(time.perf_counter() - t)"


def time_ms(
    python: str,
    code: str,
    cwd: Path,
    environment: dict[str, str] | None = None,
    template: str = _TIMED,
) -> float:
    """Median wall time of running `code` in fresh interpreters (`template` says what is timed:
    by default, `code` first thing)."""
    env = {**os.environ, **ENV, **(environment or {}), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    samples = []
    for _ in range(RUNS):
        result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [python, "-c", template.format(code=code)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        samples.append(float(result.stdout.strip().splitlines()[-1]) * 1000)
    return statistics.median(samples)


def powertools_folder(python: str) -> Path:
    """aws-lambda-powertools installed for `python` under .build/, without .pyc (as in an
    archive)."""
    folder = REPO / ".build" / f"bench-{POWERTOOLS.replace('==', '-')}"
    if not (folder / ".installed").exists():
        subprocess.run(  # noqa: S603 - our own interpreter, a pinned package
            [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--no-compile", "--target", str(folder), POWERTOOLS],
            check=True,
        )  # fmt: skip
        (folder / ".installed").touch()
    return folder


def emf_import_costs(python: str, tmp: Path) -> None:
    """What each EMF emitter adds to a handler's import, after boto3 and its client."""
    ours = tmp / "emf-ours"
    shutil.copytree(LAMBDA_SRC / "uploads_common", ours / "uploads_common")
    folder = powertools_folder(python)
    costs = {
        POWERTOOLS: time_ms(
            python, "from aws_lambda_powertools import Metrics", folder, template=_TIMED_AFTER
        ),
        "uploads_common.metrics": time_ms(
            python, "import uploads_common.metrics", ours, template=_TIMED_AFTER
        ),
    }
    for what, ms in costs.items():
        print(f"EMF metrics at import, after boto3: {what:<36} {ms:>7.1f} ms")


def main() -> None:
    functions = sorted(p.parent for p in LAMBDA_SRC.glob("*/handler.py"))
    environments = function_environments()
    target = LambdaTarget()
    python, described = bench_interpreter(target)
    print(f"target {target.runtime} {target.architecture}; times: median of {RUNS} runs")
    print(f"imports measured with {described}")
    if QUICK:
        print("quick: 'cold' builds reuse the project's build cache (pip does not run)")
    with tempfile.TemporaryDirectory() as tmp:
        boto3_ms = time_ms(python, 'import boto3\nboto3.client("s3")', Path(tmp))
        header = (
            f"{'function':<12} {'size KiB':>9} {'files':>6} {'cold s':>7} {'warm s':>7}"
            f" {'import ms':>10} {'boto3+client ms':>15} {'ratio':>6}"
        )
        print(header)
        for function in functions:
            shared = shared_packages_of(function)
            cache = default_cache_dir() if QUICK else Path(tmp) / f"cache-{function.name}"
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
            handler_ms = time_ms(python, "import handler", copy, environments.get(function.name))
            print(
                f"{function.name:<12} {archive.size / 1024:>9.1f} {len(archive.files):>6}"
                f" {cold:>7.2f} {warm:>7.2f} {handler_ms:>10.1f} {boto3_ms:>15.1f}"
                f" {handler_ms / boto3_ms:>6.2f}"
            )
        if not QUICK:
            emf_import_costs(python, Path(tmp))


if __name__ == "__main__":
    main()
