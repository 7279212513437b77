"""The distribution as its users get it: `make dist` builds the wheel, which is installed into a
fresh virtualenv outside the repository, and the example programs run from their own folders on
the offline engine with that virtualenv's Python.

The virtualenv holds the wheel alone (`pip install --no-deps`, offline and in about a second); its
dependencies come from the repository's .venv through a `.pth` line, and a test checks that every
module the run loaded from there belongs to a dependency the wheel declares. The offline engine
reaches it as a copy of `offline/` on PYTHONPATH: it is the repository's test tool, not part of the
package (docs/packaging-and-versions.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from components.packaging import default_cache_dir
from scripts import dependencies

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
VERSION = PYPROJECT["version"]
DEV_SITE = Path(sysconfig.get_path("purelib")).resolve()
"""The repository's .venv, where the dependencies (pulumi, pulumi-aws, ...) come from."""
LAMBDA_DEPS = default_cache_dir() / "deps"
"""Third-party packages installed for Lambda (pyvips), shared so that the run needs no pip."""
EXAMPLES = ("python", "minimal")


@dataclass(frozen=True)
class Installed:
    dist: Path
    rebuilt: Path
    venv: Path
    site: Path
    work: Path
    report: dict[str, Any]

    def program(self, example: str) -> dict[str, Any]:
        return self.report["programs"][str(self.work / example)]


def _run(*command: str | Path, **kwargs: Any) -> str:
    # The tests' own commands, never a shell.
    result = subprocess.run(  # noqa: S603
        [str(c) for c in command], capture_output=True, text=True, check=False, **kwargs
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _make_dist(out: Path) -> None:
    """`make dist` into `out` (the virtualenv is there already: -o keeps make from updating it)."""
    make = shutil.which("make") or "make"
    _run(
        make,
        "--no-print-directory",
        "-s",
        "-o",
        ".venv/.installed",
        "dist",
        f"DIST={out}",
        cwd=REPO,
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("installed")
    assert not root.is_relative_to(REPO)
    _make_dist(root / "dist")
    _make_dist(root / "rebuilt")
    venv = root / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps",
         "--no-index", "--disable-pip-version-check", *(root / "dist").glob("*.whl"))  # fmt: skip
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"))
    site = Path(str(site).strip()).resolve()
    (site / "zz_dependencies.pth").write_text(f"{DEV_SITE}\n", encoding="utf-8")

    engine = root / "engine"
    shutil.copytree(
        REPO / "offline", engine / "offline", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(REPO / "tests" / "installed_driver.py", engine)
    work = root / "work"
    LAMBDA_DEPS.mkdir(parents=True, exist_ok=True)
    for example in EXAMPLES:
        copy = work / example
        shutil.copytree(
            REPO / "examples" / example,
            copy,
            ignore=shutil.ignore_patterns("venv", ".build", "__pycache__"),
        )
        (copy / ".build").mkdir()
        (copy / ".build" / "deps").symlink_to(LAMBDA_DEPS, target_is_directory=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "UPLOADS_BUILD_CACHE"}
    }
    report_path = root / "report.json"
    _run(
        python, engine / "installed_driver.py", report_path, *(work / e for e in EXAMPLES),
        cwd=work, env={**env, "PYTHONPATH": str(engine)},
    )  # fmt: skip
    report = json.loads(report_path.read_text(encoding="utf-8"))
    return Installed(root / "dist", root / "rebuilt", venv, site, work, report)


def _one(folder: Path, pattern: str) -> Path:
    (found,) = folder.glob(pattern)
    return found


# -- the distribution -------------------------------------------------------------------------


def test_make_dist_builds_the_same_bytes_twice(installed: Installed) -> None:
    for pattern in ("*.whl", "*.tar.gz"):
        first, second = _one(installed.dist, pattern), _one(installed.rebuilt, pattern)
        assert first.name == second.name
        assert first.read_bytes() == second.read_bytes(), f"{first.name} differs between builds"


def test_the_wheel_maps_the_repository_onto_one_import_name(installed: Installed) -> None:
    wheel = _one(installed.dist, "*.whl")
    assert wheel.name == f"serverless_uploads-{VERSION}-py3-none-any.whl"
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = f"serverless_uploads-{VERSION}.dist-info/"
    assert {n.split("/")[0] + "/" for n in names} == {"serverless_uploads/", dist_info}
    modules = {p.name for p in (REPO / "components").glob("*.py")} | {"py.typed"}  # PEP 561
    top = {n.removeprefix("serverless_uploads/") for n in names if n.count("/") == 1}
    assert top - {dist_info + f for f in ("METADATA", "WHEEL", "RECORD")} == modules
    tracked = _run("git", "ls-files", "lambda_src", cwd=REPO).split()
    sources = {f"serverless_uploads/{name}" for name in tracked}
    assert {n for n in names if n.startswith("serverless_uploads/lambda_src/")} == sources
    for page in ("index.html", "app.js", "app.css"):  # the web page ships too
        assert f"serverless_uploads/lambda_src/uploads/web/{page}" in names
    assert not [n for n in names if "__pycache__" in n or "/tests/" in n]


def test_the_wheel_declares_the_runtime_dependencies_only(installed: Installed) -> None:
    wheel = zipfile.ZipFile(_one(installed.dist, "*.whl"))
    meta = wheel.read(f"serverless_uploads-{VERSION}.dist-info/METADATA").decode()
    assert re.search(rf"^Version: {re.escape(VERSION)}$", meta, re.M)
    requires = sorted(re.findall(r"^Requires-Dist: (.+)$", meta, re.M))
    assert sorted(map(str, map(Requirement, requires))) == sorted(
        str(Requirement(r)) for r in dependencies.declared()
    )
    assert {Requirement(r).name for r in requires} == {
        "pulumi",
        "pulumi-aws",
        "pip",
        "pyelftools",
        "boto3",
    }


def test_the_sdist_builds_the_same_wheel(installed: Installed, tmp_path: Path) -> None:
    with tarfile.open(_one(installed.dist, "*.tar.gz")) as sdist:
        sdist.extractall(tmp_path, filter="data")
    tree = _one(tmp_path, "serverless_uploads-*")
    epoch = _run("git", "log", "-1", "--format=%ct", cwd=REPO).strip()
    _run(sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", tmp_path / "out",
         cwd=tree, env={**os.environ, "SOURCE_DATE_EPOCH": epoch})  # fmt: skip
    rebuilt = _one(tmp_path / "out", "*.whl")
    assert rebuilt.read_bytes() == _one(installed.dist, "*.whl").read_bytes()


# -- the installed package at work ------------------------------------------------------------


def test_the_programs_ran_the_installed_package(installed: Installed) -> None:
    modules = {k: v for k, v in installed.report["modules"].items() if v}
    ours = {k: Path(v) for k, v in modules.items() if k.split(".")[0] == "serverless_uploads"}
    assert {"serverless_uploads.upload_service", "serverless_uploads.function"} <= set(ours)
    assert all(path.is_relative_to(installed.site / "serverless_uploads") for path in ours.values())
    assert "components" not in modules
    assert installed.report["version"] == VERSION
    assert str(REPO) not in installed.report["sys_path"]


def _under_checkout(path: Path) -> bool:
    """In the repository, but neither the dependencies' .venv nor the Lambda packages' cache."""
    return (
        path.is_relative_to(REPO)
        and not path.is_relative_to(DEV_SITE.parent.parent.parent)
        and not path.is_relative_to(LAMBDA_DEPS)
    )


def test_nothing_was_read_from_the_checkout(installed: Installed) -> None:
    read = [Path(p).resolve() for p in installed.report["accessed"]]
    assert read, "the audit hook recorded nothing"
    assert [p for p in read if _under_checkout(p)] == []


def test_the_cache_is_the_projects_never_the_virtualenv(installed: Installed) -> None:
    written = [Path(p) for p in installed.report["written"]]
    assert [p for p in written if p.is_relative_to(installed.venv) or _under_checkout(p)] == []
    for example in EXAMPLES:
        cache = installed.work / example / ".build" / "archives"
        assert [p for p in written if p.parent == cache and p.suffix == ".zip"], example


def _owners(files: set[str]) -> dict[str, str]:
    """The distribution (canonical name) in .venv that installed each of `files`."""
    owner = {}
    for dist in metadata.distributions(path=[str(DEV_SITE)]):
        for file in dist.files or ():
            path = os.path.normpath(DEV_SITE / file)
            if path in files:
                owner[path] = dependencies.canonical(dist.metadata["Name"])
    return owner


def test_the_declared_dependencies_cover_every_module_that_ran(installed: Installed) -> None:
    loaded = {
        os.path.normpath(Path(f).resolve())
        for f in installed.report["modules"].values()
        if f and Path(f).resolve().is_relative_to(DEV_SITE)
    }
    owner = _owners(loaded)
    assert loaded - set(owner) == set(), "modules no distribution installed"
    used = set(owner.values())
    assert {"pulumi", "pulumi-aws"} <= used
    assert used - dependencies.closure() == set()


# -- the consumer program ---------------------------------------------------------------------


def _by_name(program: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in program["resources"]}


def test_the_consumer_program_builds_its_own_function_bucket_and_the_service(
    installed: Installed,
) -> None:
    program = installed.program("python")
    resources = _by_name(program)
    assert resources["uploads"]["type"] == "uploads:index:UploadService"
    assert resources["catalogs"]["type"] == "uploads:index:StorageBucket"
    assert resources["catalog"]["type"] == "uploads:index:PythonFunction"
    assert all(resources[n]["parent"] is None for n in ("uploads", "catalogs", "catalog"))
    functions = {
        r["name"]: r for r in program["resources"] if r["type"] == "aws:lambda/function:Function"
    }
    assert set(functions) == {
        "catalog-function", "uploads-uploads-function", "uploads-on-upload-function"
    }  # fmt: skip
    service_bucket = resources["uploads-bucket-bucket"]["outputs"]["bucket"]
    catalog_bucket = resources["catalogs-bucket"]["outputs"]["bucket"]
    assert functions["catalog-function"]["inputs"]["environment"]["variables"] == {
        "UPLOADS_BUCKET": service_bucket,
        "THUMBNAIL_PREFIX": "thumbnails/",
        "CATALOG_BUCKET": catalog_bucket,
    }
    policy = json.loads(resources["catalog-policy"]["inputs"]["policy"])
    granted = {
        (action, resource)
        for statement in policy["Statement"]
        for action in _list(statement["Action"])
        for resource in _list(statement["Resource"])
    }
    assert ("s3:PutObject", f"arn:aws:s3:::{catalog_bucket}/catalogs/*") in granted
    assert ("s3:ListBucket", f"arn:aws:s3:::{service_bucket}") in granted
    assert program["outputs"]["catalogBucketName"] == catalog_bucket
    assert program["outputs"]["url"] == resources["uploads-api-api"]["outputs"]["apiEndpoint"]


def _list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _archive_members(installed: Installed, example: str) -> Iterator[tuple[str, str, bytes]]:
    """(function, member, bytes) of every archive a program's functions were given."""
    archives = installed.work / example / ".build" / "archives"
    for resource in installed.program(example)["resources"]:
        if resource["type"] == "aws:lambda/function:Function":
            path = Path(resource["inputs"]["code"]["fileArchive"])
            assert path.parent == archives, path
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    yield resource["name"], member, archive.read(member)


def test_every_archive_comes_from_the_consumer_or_the_installed_package(
    installed: Installed,
) -> None:
    packaged = installed.site / "serverless_uploads" / "lambda_src"
    origins = {
        "catalog-function": [installed.work / "python" / "catalog"],
        "uploads-uploads-function": [packaged / "uploads", packaged],
        "uploads-on-upload-function": [packaged / "on_upload", packaged, *LAMBDA_DEPS.glob("*")],
    }
    checked = dict.fromkeys(origins, 0)
    for function, member, data in _archive_members(installed, "python"):
        sources = [root / member for root in origins[function] if (root / member).is_file()]
        assert sources, f"{function}: {member} is in neither the consumer nor the package"
        # The shared deps cache may hold installs of older packaging formats: one must match.
        assert any(s.read_bytes() == data for s in sources), f"{function}: {member} differs"
        checked[function] += 1
    assert checked["catalog-function"] == 1  # handler.py
    assert all(checked.values()), checked


def test_the_minimal_example_wires_bucket_function_and_route(installed: Installed) -> None:
    program = installed.program("minimal")
    resources = {r["type"]: r for r in program["resources"]}
    bucket = resources["aws:s3/bucket:Bucket"]
    function = resources["aws:lambda/function:Function"]
    route = resources["aws:apigatewayv2/route:Route"]
    integration = resources["aws:apigatewayv2/integration:Integration"]
    api = resources["aws:apigatewayv2/api:Api"]
    assert route["inputs"]["routeKey"] == "GET /hello"
    assert route["inputs"]["target"] == f"integrations/{integration['outputs']['id']}"
    assert integration["inputs"]["integrationUri"] == function["outputs"]["invokeArn"]
    assert function["inputs"]["environment"] == {
        "variables": {"BUCKET_NAME": bucket["outputs"]["bucket"]}
    }
    assert program["outputs"] == {
        "url": f"{api['outputs']['apiEndpoint']}/hello",
        "bucketName": bucket["outputs"]["bucket"],
    }
    (member,) = [m for _, m, _ in _archive_members(installed, "minimal")]
    assert member == "handler.py"
