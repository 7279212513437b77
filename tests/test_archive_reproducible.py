"""The archives `pulumi up` uploads are byte-identical whatever builds them.

Each test runs `python -m offline plan dev --json` in a fresh process with its own empty build
cache (so pip installs the functions' packages again) and compares the `archives` hashes with
this session's plan of the same stack: from the project's virtualenv reached through another
path (pip writes that path into console-script shebangs), under another umask and working
directory, and from a `git archive` export of the working tree (no `.git`, every file
executable).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from offline.archives import lambda_archives
from offline.preview import Plan

REPO = Path(__file__).resolve().parent.parent


def _plan_archives(python: Path, root: Path, cache: Path, cwd: Path, umask: str) -> dict:
    env = {**os.environ, "UPLOADS_BUILD_CACHE": str(cache), "PYTHONPATH": str(root)}
    script = f'umask {umask} && exec "$@"'
    command = ["sh", "-c", script, "sh", str(python), "-m", "offline", "plan", "dev", "--json"]
    result = subprocess.run(  # noqa: S603
        [*command, "--cwd", str(root)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    archives = json.loads(result.stdout)["archives"]
    return {
        a["function"]: (a["sha256"], cache / "archives" / f"{a['sha256']}.zip") for a in archives
    }


def _differing_members(first: Path, second: Path) -> list[str]:
    with zipfile.ZipFile(first) as a, zipfile.ZipFile(second) as b:
        left = {i.filename: (i.CRC, i.external_attr) for i in a.infolist()}
        right = {i.filename: (i.CRC, i.external_attr) for i in b.infolist()}
    return sorted(n for n in left.keys() | right.keys() if left.get(n) != right.get(n))


def _assert_same_archives(plan: Plan, built: dict) -> None:
    expected = {a.function: (a.sha256, a.path) for a in lambda_archives(plan.graph)}
    assert set(built) == set(expected)
    for function, (sha256, path) in built.items():
        want, want_path = expected[function]
        assert sha256 == want, f"{function}: members differ: {_differing_members(want_path, path)}"


def test_another_interpreter_path_cache_umask_and_cwd_give_the_same_archives(
    tmp_path: Path, stack_plans: Callable[[str], Plan]
) -> None:
    elsewhere = tmp_path / "elsewhere" / "venv"
    elsewhere.parent.mkdir()
    elsewhere.symlink_to(Path(sys.prefix), target_is_directory=True)
    python = elsewhere / "bin" / Path(sys.executable).name
    built = _plan_archives(python, REPO, tmp_path / "cache", tmp_path, umask="077")
    _assert_same_archives(stack_plans("dev"), built)


def test_a_git_archive_export_gives_the_same_archives(
    tmp_path: Path, stack_plans: Callable[[str], Plan]
) -> None:
    ident = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    ident |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    git = ["git", "-C", str(REPO)]
    stash = subprocess.run(  # noqa: S603 (the working tree's tracked changes, as a commit)
        [*git, "stash", "create"], env={**os.environ, **ident}, capture_output=True, text=True,
        check=True,
    ).stdout.strip()  # fmt: skip
    export = tmp_path / "export"
    export.mkdir()
    tree = subprocess.run(  # noqa: S603
        [*git, "archive", "--format=tar", stash or "HEAD"], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(tree)) as tar:
        tar.extractall(export, filter="data")
    for path in export.rglob("*"):  # a checkout that marks every file executable
        path.chmod(0o750 if path.is_dir() else 0o755)
    assert not (export / ".git").exists()
    built = _plan_archives(Path(sys.executable), export, tmp_path / "cache", export, umask="027")
    _assert_same_archives(stack_plans("dev"), built)


def test_each_record_lists_exactly_the_files_that_ship(
    tmp_path: Path, stack_plans: Callable[[str], Plan]
) -> None:
    (on_upload,) = [
        a for a in lambda_archives(stack_plans("dev").graph) if "on-upload" in a.function
    ]
    with zipfile.ZipFile(on_upload.path) as zf:
        zf.extractall(tmp_path)  # noqa: S202 (the archive this project built)
        members = set(zf.namelist())
    distributions = list(importlib.metadata.distributions(path=[str(tmp_path)]))
    assert {d.metadata["Name"] for d in distributions} >= {"cffi", "pyvips", "pyvips-binary"}
    listed: set[str] = set()
    for dist in distributions:
        for file in dist.files or ():
            listed.add(file.as_posix())
            if file.hash is None:  # RECORD itself
                assert file.name == "RECORD"
                continue
            data = file.read_binary()
            assert file.size == len(data), file
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert file.hash.value == digest.decode(), file
    assert listed <= members, sorted(listed - members)
    packages = {name.split("/", 1)[0] for name in listed if "/" in name}
    unlisted = [n for n in members - listed if n.split("/", 1)[0] in packages or n.endswith(".so")]
    assert not unlisted, unlisted
