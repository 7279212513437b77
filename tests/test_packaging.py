"""Tests for components.packaging: contents, determinism, hashing, pip for Lambda, cache, errors.

Most tests replace pip with a fake (``fake_pip``) that writes a small package into ``--target``;
two tests run the real pip against PyPI (Pillow for arm64, an sdist-only package), sharing one
session-wide cache so each install happens once per session.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from components import packaging
from components.packaging import (
    BuiltArchive,
    LambdaTarget,
    PackagingError,
    build_archive,
    default_cache_dir,
)

REPO = Path(__file__).resolve().parent.parent
LAMBDA_SRC = REPO / "lambda_src"
EM_AARCH64 = 183
EM_X86_64 = 62

HANDLER = "import json\n\n\ndef handler(event, context):\n    return json.dumps(event)\n"
JUNK = {
    "__pycache__/handler.cpython-311.pyc": b"\x00bytecode",
    "stale.pyc": b"\x00",
    "stale.pyo": b"\x00",
    ".env": b"SECRET=1\n",
    ".hidden/notes.py": b"x = 1\n",
    "tests/test_handler.py": b"def test_x():\n    pass\n",
    "test_local.py": b"def test_y():\n    pass\n",
    "local_test.py": b"def test_z():\n    pass\n",
    "conftest.py": b"import pytest\n",
    "requirements.txt": b"# nothing third-party\n",
    "lib/__pycache__/util.cpython-311.pyc": b"\x00",
}


def write_tree(root: Path, files: dict[str, str | bytes], *, reverse: bool = False) -> Path:
    """Create files under root (optionally in reverse order, to vary the listing order)."""
    for rel, content in sorted(files.items(), reverse=reverse):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
    return root


def function_files() -> dict[str, str | bytes]:
    return {
        "handler.py": HANDLER,
        "routes.py": "ROUTES = {'GET /uploads': 'list'}\n",
        "lib/__init__.py": "",
        "lib/util.py": "def util():\n    return 1\n",
        "templates/error.json": '{"error": {}}\n',
    }


def members(archive: BuiltArchive) -> list[str]:
    with zipfile.ZipFile(archive.path) as zf:
        return zf.namelist()


def read_member(archive: BuiltArchive, name: str) -> bytes:
    with zipfile.ZipFile(archive.path) as zf:
        return zf.read(name)


@pytest.fixture
def fn(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "src" / "fn", function_files())


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path / "src" / "common",
        {"__init__.py": "", "images.py": "MAGIC = b'\\x89PNG'\n", "__pycache__/x.pyc": b"\x00"},
    )


@pytest.fixture
def fake_pip(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Replace pip: write a package whose content reflects the target and requirements."""
    calls: list[list[str]] = []

    def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        assert command[1:4] == ["-m", "pip", "install"]
        target = Path(command[command.index("--target") + 1])
        requirements = Path(command[command.index("-r") + 1]).read_text(encoding="utf-8")
        python = command[command.index("--python-version") + 1]
        platform = command[command.index("--platform") + 1]
        write_tree(
            target,
            {
                "fakepkg/__init__.py": f"# {python} {platform}\n# {requirements}",
                "fakepkg/__pycache__/__init__.cpython-313.pyc": b"\x00",
                "fakepkg/native.so": b"\x00 stands in for native code (not ELF)",
                "fakepkg-1.0.dist-info/METADATA": "Name: fakepkg\n",
                "fakepkg-1.0.dist-info/licenses/LICENSE": "MIT\n",
                # what a dependency on boto3 and a console script would bring in
                "boto3/__init__.py": "",
                "boto3-1.43.11.dist-info/METADATA": "Name: boto3\n",
                "botocore/__init__.py": "",
                "botocore-1.43.127.dist-info/METADATA": "Name: botocore\n",
                "bin/fake": "#!/host/venv/bin/python\n",
            },
        )
        (target / "fakepkg" / "native.so").chmod(0o755)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(subprocess, "run", run)
    return calls


def forbid_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        raise AssertionError(f"pip must not run: {command}")

    monkeypatch.setattr(subprocess, "run", run)


# --- target --------------------------------------------------------------------------------


def test_default_target_is_python313_arm64() -> None:
    assert LambdaTarget() == LambdaTarget(runtime="python3.13", architecture="arm64")


@pytest.mark.parametrize(
    ("runtime", "architecture", "needle"),
    [("python3.10", "arm64", "python3.10"), ("python3.13", "aarch64", "aarch64")],
)
def test_bad_target_is_rejected(runtime: str, architecture: str, needle: str) -> None:
    with pytest.raises(PackagingError, match=needle):
        LambdaTarget(runtime=runtime, architecture=architecture)


def test_platform_tags_cover_every_glibc_the_runtime_has() -> None:
    arm = LambdaTarget().platform_tags
    for tag in ("manylinux2014", "manylinux_2_17", "manylinux_2_27", "manylinux_2_28"):
        assert f"{tag}_aarch64" in arm
    assert "manylinux_2_34_aarch64" in arm
    assert "manylinux_2_35_aarch64" not in arm
    assert all(tag.endswith("_aarch64") for tag in arm)
    assert arm.index("manylinux_2_28_aarch64") < arm.index("manylinux2014_aarch64")  # newest first

    x86 = LambdaTarget(architecture="x86_64").platform_tags
    assert {"manylinux_2_34_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64"} <= set(x86)


def test_runtimes_past_their_lambda_block_date_are_refused() -> None:
    with pytest.raises(PackagingError, match=r"unsupported Lambda runtime 'python3\.11'"):
        LambdaTarget(runtime="python3.11")


# --- contents ------------------------------------------------------------------------------


def test_archive_holds_sources_shared_package_and_no_junk(
    tmp_path: Path, fn: Path, shared: Path
) -> None:
    write_tree(fn, JUNK)
    archive = build_archive(fn, shared_packages=[shared], cache_dir=tmp_path / "cache")
    expected = sorted([*function_files(), "common/__init__.py", "common/images.py"])
    assert archive.files == tuple(expected)
    assert members(archive) == expected
    assert read_member(archive, "handler.py").decode() == HANDLER
    assert archive.path == tmp_path / "cache" / "archives" / f"{archive.sha256}.zip"
    assert archive.size == archive.path.stat().st_size


def test_real_uploads_function_contents(tmp_path: Path) -> None:
    """The real lambda_src/uploads plus uploads_common, copied and salted with junk."""
    source = LAMBDA_SRC / "uploads"
    assert (source / "handler.py").is_file(), "lambda_src/uploads/handler.py is missing"
    fn = tmp_path / "uploads"
    shutil.copytree(source, fn, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shared = LAMBDA_SRC / "uploads_common"
    original = {
        p.relative_to(fn).as_posix()
        for p in fn.rglob("*")
        if p.is_file() and p.name != "requirements.txt" and "tests" not in p.parts
    }
    write_tree(fn, JUNK)

    archive = build_archive(fn, shared_packages=[shared], cache_dir=tmp_path / "cache")

    assert "handler.py" in archive.files
    assert "uploads_common/__init__.py" in archive.files
    assert original <= set(archive.files)
    for junk in JUNK:
        assert junk not in archive.files
    for name in archive.files:
        assert "__pycache__" not in name
        assert not name.endswith((".pyc", ".pyo"))
        assert not any(part.startswith(".") for part in name.split("/"))
    shared_files = {
        f"uploads_common/{p.relative_to(shared).as_posix()}"
        for p in shared.rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert shared_files <= set(archive.files)


def test_zip_metadata_is_fixed(tmp_path: Path, fn: Path, fake_pip: list[list[str]]) -> None:
    (fn / "handler.py").chmod(0o755)  # a source file's exec bit depends on the checkout
    (fn / "requirements.txt").write_text("fakepkg==1.0\n", encoding="utf-8")
    archive = build_archive(fn, cache_dir=tmp_path / "cache")
    with zipfile.ZipFile(archive.path) as zf:
        infos = zf.infolist()
        assert zf.comment == b"python3.13 arm64"
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert info.extra == b""
        assert not info.is_dir()
        assert "\\" not in info.filename
        mode = info.external_attr >> 16
        expected = 0o100755 if info.filename == "fakepkg/native.so" else 0o100644
        assert mode == expected, info.filename


# --- determinism ---------------------------------------------------------------------------


class _ReversedScandir:
    """os.scandir, but listing entries in reverse order."""

    real = os.scandir

    def __init__(self, path: Any = ".") -> None:
        with _ReversedScandir.real(path) as it:
            self._entries = iter(sorted(it, key=lambda e: e.name, reverse=True))

    def __iter__(self) -> _ReversedScandir:
        return self

    def __next__(self) -> os.DirEntry[str]:
        return next(self._entries)

    def __enter__(self) -> _ReversedScandir:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def close(self) -> None:
        return None


def test_same_inputs_give_identical_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_pip: list[list[str]]
) -> None:
    files = {**function_files(), "requirements.txt": "fakepkg==1.0\n"}
    common = {"__init__.py": "", "images.py": "X = 1\n"}
    one = write_tree(tmp_path / "one" / "fn", files)
    common_one = write_tree(tmp_path / "one" / "common", common)
    first = build_archive(one, shared_packages=[common_one], cache_dir=tmp_path / "cache1")

    # Second copy: created in the opposite order under another umask, other mtimes and exec
    # bits, built from another cwd with reversed directory listings and a fresh cache.
    old_umask = os.umask(0o077)
    try:
        two = write_tree(tmp_path / "two" / "fn", files, reverse=True)
        common_two = write_tree(tmp_path / "two" / "common", common, reverse=True)
    finally:
        os.umask(old_umask)
    (two / "routes.py").chmod(0o700)
    for i, path in enumerate(sorted(p for p in (tmp_path / "two").rglob("*") if p.is_file())):
        os.utime(path, (1_000_000_000 + i * 3600, 1_700_000_000 - i * 7200))
    monkeypatch.setattr(os, "scandir", _ReversedScandir)
    monkeypatch.chdir(two / "lib")
    second = build_archive(
        Path("..").resolve(), shared_packages=[common_two], cache_dir=tmp_path / "cache2"
    )

    assert len(fake_pip) == 2  # two caches, two installs
    assert second.sha256 == first.sha256
    assert second.path.read_bytes() == first.path.read_bytes()
    assert second.files == first.files


def test_rebuild_after_touching_files_is_identical(tmp_path: Path, fn: Path) -> None:
    first = build_archive(fn, cache_dir=tmp_path / "cache")
    first_bytes = first.path.read_bytes()
    for path in fn.rglob("*"):
        os.utime(path, (2_000_000_000, 2_000_000_000))
    second = build_archive(fn, cache_dir=tmp_path / "cache")
    assert second == first
    assert second.path.read_bytes() == first_bytes


# --- each input changes the hash -----------------------------------------------------------


def _change_content(fn: Path) -> LambdaTarget:
    (fn / "lib" / "util.py").write_text("def util():\n    return 2\n", encoding="utf-8")
    return LambdaTarget()


def _add_file(fn: Path) -> LambdaTarget:
    (fn / "lib" / "extra.py").write_text("", encoding="utf-8")
    return LambdaTarget()


def _rename_file(fn: Path) -> LambdaTarget:
    (fn / "routes.py").rename(fn / "routing.py")
    return LambdaTarget()


def _change_requirements(fn: Path) -> LambdaTarget:
    (fn / "requirements.txt").write_text("fakepkg==2.0\n", encoding="utf-8")
    return LambdaTarget()


def _change_runtime(fn: Path) -> LambdaTarget:
    return LambdaTarget(runtime="python3.12")


def _change_architecture(fn: Path) -> LambdaTarget:
    return LambdaTarget(architecture="x86_64")


@pytest.mark.parametrize(
    "change",
    [
        _change_content,
        _add_file,
        _rename_file,
        _change_requirements,
        _change_runtime,
        _change_architecture,
    ],
)
def test_any_input_change_changes_the_hash(
    tmp_path: Path, fn: Path, fake_pip: list[list[str]], change: Callable[[Path], LambdaTarget]
) -> None:
    (fn / "requirements.txt").write_text("fakepkg==1.0\n", encoding="utf-8")
    before = build_archive(fn, cache_dir=tmp_path / "cache")
    target = change(fn)
    after = build_archive(fn, target=target, cache_dir=tmp_path / "cache")
    assert after.sha256 != before.sha256
    assert after.path != before.path
    assert before.path.exists()  # archives are content-addressed: the old one stays valid


@pytest.mark.parametrize(
    "target",
    [LambdaTarget(runtime="python3.12"), LambdaTarget(architecture="x86_64")],
)
def test_dependency_cache_is_keyed_by_target(
    tmp_path: Path, fn: Path, fake_pip: list[list[str]], target: LambdaTarget
) -> None:
    (fn / "requirements.txt").write_text("fakepkg==1.0\n", encoding="utf-8")
    build_archive(fn, cache_dir=tmp_path / "cache")
    other = build_archive(fn, target=target, cache_dir=tmp_path / "cache")
    assert len(fake_pip) == 2
    init = read_member(other, "fakepkg/__init__.py").decode()
    assert target.python_version in init
    assert target.platform_tags[0] in init


def test_comments_and_blank_lines_do_not_change_the_cache_key(
    tmp_path: Path, fn: Path, fake_pip: list[list[str]]
) -> None:
    (fn / "requirements.txt").write_text("fakepkg==1.0\n", encoding="utf-8")
    build_archive(fn, cache_dir=tmp_path / "cache")
    (fn / "requirements.txt").write_text("# thumbnails\n\nfakepkg==1.0  # pinned\n", "utf-8")
    build_archive(fn, cache_dir=tmp_path / "cache")
    assert len(fake_pip) == 1


# --- third-party packages (fake pip) ---------------------------------------------------------


def test_pip_command_targets_lambda_and_ignores_host_config(
    tmp_path: Path, fn: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        seen.update(command=command, env=kwargs["env"])
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setenv("PIP_USER", "1")  # would clash with --target
    monkeypatch.setenv("PIP_CONSTRAINT", "/etc/host-constraints.txt")
    monkeypatch.setenv("PIP_INDEX_URL", "https://mirror.example/simple")
    (fn / "requirements.txt").write_text("fakepkg==1.0\n", encoding="utf-8")

    build_archive(fn, cache_dir=tmp_path / "cache")

    command, env = seen["command"], seen["env"]
    assert command[:4] == [packaging.sys.executable, "-m", "pip", "install"]
    for flag in ("--only-binary=:all:", "--no-input", "--disable-pip-version-check", "--quiet"):
        assert flag in command
    assert command[command.index("--implementation") + 1] == "cp"
    assert command[command.index("--python-version") + 1] == "3.13"
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    assert platforms == list(LambdaTarget().platform_tags)
    assert command[command.index("-r") + 1] == str(fn / "requirements.txt")
    assert env["PIP_CONFIG_FILE"] == os.devnull
    assert env["PIP_INDEX_URL"] == "https://mirror.example/simple"
    assert "PIP_USER" not in env
    assert "PIP_CONSTRAINT" not in env


def test_installed_packages_are_cleaned(
    tmp_path: Path, fn: Path, fake_pip: list[list[str]]
) -> None:
    (fn / "requirements.txt").write_text("fakepkg==1.0\n", encoding="utf-8")
    archive = build_archive(fn, cache_dir=tmp_path / "cache")
    assert "fakepkg/__init__.py" in archive.files
    assert "fakepkg-1.0.dist-info/licenses/LICENSE" in archive.files  # licenses ship
    assert "requirements.txt" not in archive.files
    for name in archive.files:
        top = name.split("/", 1)[0]
        assert not top.startswith(("boto3", "botocore", "bin")), name
        assert "__pycache__" not in name


def test_cache_hit_does_not_run_pip(
    tmp_path: Path, fn: Path, fake_pip: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    (fn / "requirements.txt").write_text("fakepkg==1.0\n", encoding="utf-8")
    first = build_archive(fn, cache_dir=tmp_path / "cache")
    assert len(fake_pip) == 1
    forbid_pip(monkeypatch)
    second = build_archive(fn, cache_dir=tmp_path / "cache")
    assert second == first
    deps = [p.name for p in (tmp_path / "cache" / "deps").iterdir()]
    assert len(deps) == 1
    assert re.fullmatch(r"[0-9a-f]{64}", deps[0])


def forbid_zipping(monkeypatch: pytest.MonkeyPatch) -> None:
    def write(*args: Any, **kwargs: Any) -> BuiltArchive:
        raise AssertionError("the archive must not be zipped again")

    monkeypatch.setattr(packaging, "_write_zip", write)


def test_warm_run_reuses_the_archive_without_zipping(
    tmp_path: Path,
    fn: Path,
    shared: Path,
    fake_pip: list[list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (fn / "requirements.txt").write_text("fakepkg==1.0\n", encoding="utf-8")
    first = build_archive(fn, shared_packages=[shared], cache_dir=tmp_path / "cache")
    first_bytes = first.path.read_bytes()
    for path in fn.rglob("*"):
        os.utime(path, (2_000_000_000, 2_000_000_000))  # a fresh checkout: new mtimes only
    forbid_zipping(monkeypatch)
    forbid_pip(monkeypatch)
    second = build_archive(fn, shared_packages=[shared], cache_dir=tmp_path / "cache")
    assert second == first
    assert second.path.read_bytes() == first_bytes


@pytest.mark.parametrize("edit", ["function", "shared", "requirements"])
def test_a_source_change_invalidates_the_warm_archive(
    tmp_path: Path, fn: Path, shared: Path, fake_pip: list[list[str]], edit: str
) -> None:
    (fn / "requirements.txt").write_text("fakepkg==1.0\n", encoding="utf-8")
    first = build_archive(fn, shared_packages=[shared], cache_dir=tmp_path / "cache")
    changed = {
        "function": (fn / "lib" / "util.py", "def util():\n    return 2\n"),
        "shared": (shared / "images.py", "MAGIC = b'GIF8'\n"),
        "requirements": (fn / "requirements.txt", "fakepkg==2.0\n"),
    }[edit]
    changed[0].write_text(changed[1], encoding="utf-8")
    second = build_archive(fn, shared_packages=[shared], cache_dir=tmp_path / "cache")
    assert second.sha256 != first.sha256
    fresh = build_archive(fn, shared_packages=[shared], cache_dir=tmp_path / "fresh-cache")
    assert second.path.read_bytes() == fresh.path.read_bytes(), "cached == built from scratch"


def test_a_damaged_cached_zip_is_rebuilt(tmp_path: Path, fn: Path) -> None:
    first = build_archive(fn, cache_dir=tmp_path / "cache")
    good = first.path.read_bytes()
    first.path.write_bytes(b"truncated")
    second = build_archive(fn, cache_dir=tmp_path / "cache")
    assert second.path.read_bytes() == good


@pytest.mark.parametrize("failure", ["exit", "interrupt"])
def test_failed_install_does_not_poison_the_cache(
    tmp_path: Path, fn: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        target = Path(command[command.index("--target") + 1])
        write_tree(target, {"fakepkg/__init__.py": "# half-installed\n"})
        if failure == "interrupt":
            raise KeyboardInterrupt
        return subprocess.CompletedProcess(command, 1, "", "ERROR: disk full\n")

    monkeypatch.setattr(subprocess, "run", run)
    (fn / "requirements.txt").write_text("fakepkg==1.0\n", encoding="utf-8")
    expected = KeyboardInterrupt if failure == "interrupt" else PackagingError
    with pytest.raises(expected):
        build_archive(fn, cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache" / "deps").iterdir()) == []


def test_other_pip_failures_report_pips_error(
    tmp_path: Path, fn: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        stderr = "some progress\nERROR: ResolutionImpossible: conflicting pins\n"
        return subprocess.CompletedProcess(command, 1, "", stderr)

    monkeypatch.setattr(subprocess, "run", run)
    (fn / "requirements.txt").write_text("fakepkg==1.0\n", encoding="utf-8")
    with pytest.raises(PackagingError, match=r"ResolutionImpossible") as info:
        build_archive(fn, cache_dir=tmp_path / "cache")
    assert "python3.13 on arm64" in str(info.value)
    assert "\n" not in str(info.value)


def test_requirements_with_only_comments_need_no_pip(
    tmp_path: Path, fn: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forbid_pip(monkeypatch)
    (fn / "requirements.txt").write_text("# nothing yet\n\n", encoding="utf-8")
    archive = build_archive(fn, cache_dir=tmp_path / "cache")
    assert "requirements.txt" not in archive.files


@pytest.mark.parametrize(
    "line",
    ["boto3", "boto3==1.43.11", "Botocore>=1.40", "boto3[crt]", "BOTO3 ; python_version>'3'"],
)
def test_boto3_in_requirements_is_rejected(
    tmp_path: Path, fn: Path, monkeypatch: pytest.MonkeyPatch, line: str
) -> None:
    forbid_pip(monkeypatch)
    (fn / "requirements.txt").write_text(f"fakepkg==1.0\n{line}\n", encoding="utf-8")
    with pytest.raises(PackagingError, match=r"boto3/botocore come with the Lambda runtime"):
        build_archive(fn, cache_dir=tmp_path / "cache")


def test_nested_requirement_files_are_rejected(
    tmp_path: Path, fn: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forbid_pip(monkeypatch)
    (fn / "requirements.txt").write_text("-r../common.txt\n", encoding="utf-8")
    with pytest.raises(PackagingError, match=r"-r is not supported"):
        build_archive(fn, cache_dir=tmp_path / "cache")


# --- real pip against PyPI -------------------------------------------------------------------


@pytest.fixture(scope="session")
def pypi_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pypi-cache")


def _elf_machine(data: bytes) -> int:
    assert data[:4] == b"\x7fELF"
    assert data[4] == 2  # ELFCLASS64
    assert data[5] == 1  # little-endian
    return struct.unpack_from("<H", data, 18)[0]


def test_pillow_is_installed_for_lambda_arm64_not_the_host(
    tmp_path: Path, pypi_cache: Path
) -> None:
    fn = write_tree(
        tmp_path / "thumbs", {"handler.py": HANDLER, "requirements.txt": "pillow==13.0.0\n"}
    )
    archive = build_archive(fn, cache_dir=pypi_cache)

    imaging = "PIL/_imaging.cpython-313-aarch64-linux-gnu.so"
    assert imaging in archive.files
    assert _elf_machine(read_member(archive, imaging)) == EM_AARCH64
    assert _elf_machine(read_member(archive, imaging)) != EM_X86_64
    # Pillow 13 for aarch64 exists only as manylinux_2_28: an older Pillow would mean a
    # platform list that stops at manylinux2014.
    wheel = read_member(archive, "pillow-13.0.0.dist-info/WHEEL").decode()
    assert re.search(r"^Tag: cp313-cp313-manylinux_2_\d+_aarch64$", wheel, re.MULTILINE)
    assert "pillow-13.0.0.dist-info/licenses/LICENSE" in archive.files
    assert not [n for n in archive.files if "cpython-311" in n or "x86_64" in n]
    assert not [n for n in archive.files if n.endswith(".pyc") or n.startswith("bin/")]
    assert "handler.py" in archive.files


@pytest.mark.parametrize(
    ("architecture", "machine", "platform"),
    [("arm64", EM_AARCH64, "aarch64"), ("x86_64", EM_X86_64, "x86_64")],
)
def test_on_upload_ships_libvips_for_its_architecture(
    pypi_cache: Path, architecture: str, machine: int, platform: str
) -> None:
    archive = build_archive(
        LAMBDA_SRC / "on_upload",
        target=LambdaTarget(architecture=architecture),
        shared_packages=[LAMBDA_SRC / "uploads_common"],
        cache_dir=pypi_cache,
    )

    libvips = [
        n for n in archive.files if re.fullmatch(r"pyvips_binary\.libs/libvips-.*\.so\.42", n)
    ]
    assert len(libvips) == 1
    assert _elf_machine(read_member(archive, libvips[0])) == machine
    assert _elf_machine(read_member(archive, "_libvips.abi3.so")) == machine
    cffi = f"_cffi_backend.cpython-313-{platform}-linux-gnu.so"
    assert _elf_machine(read_member(archive, cffi)) == machine
    # pyvips is published as a source distribution only: built on the host, pure Python.
    wheel = read_member(archive, "pyvips-3.2.0.dist-info/WHEEL").decode()
    assert "Tag: py3-none-any" in wheel
    assert {"pyvips/__init__.py", "thumbnailer.py", "uploads_common/image_header.py"} <= set(
        archive.files
    )
    assert not [n for n in archive.files if n.startswith(("PIL/", "pillow"))]


def test_pure_python_source_distribution_is_built_into_a_wheel(
    tmp_path: Path, pypi_cache: Path
) -> None:
    # docopt 0.6.2 is published as an sdist only, and is pure Python
    fn = write_tree(
        tmp_path / "legacy", {"handler.py": HANDLER, "requirements.txt": "docopt==0.6.2\n"}
    )

    archive = build_archive(fn, cache_dir=pypi_cache)

    assert "docopt.py" in archive.files
    assert "Tag: py3-none-any" in read_member(archive, "docopt-0.6.2.dist-info/WHEEL").decode()


def test_source_distribution_with_platform_code_gives_one_clear_error(
    tmp_path: Path, fn: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (fn / "requirements.txt").write_text("native-only==1.0\n", encoding="utf-8")
    calls: list[list[str]] = []

    def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        if command[3] == "wheel":  # the host build yields a platform wheel
            out = Path(command[command.index("--wheel-dir") + 1])
            (out / "native_only-1.0-cp311-cp311-linux_x86_64.whl").write_bytes(b"PK")
            return subprocess.CompletedProcess(command, 0, "", "")
        error = "ERROR: No matching distribution found for native-only==1.0\n"
        return subprocess.CompletedProcess(command, 1, "", error)

    monkeypatch.setattr(subprocess, "run", run)

    with pytest.raises(PackagingError) as info:
        build_archive(fn, cache_dir=tmp_path / "cache")

    message = str(info.value)
    assert "no binary wheel of 'native-only' (native-only==1.0)" in message
    assert "python3.13 on arm64 (manylinux aarch64" in message
    assert "its source distribution is not pure Python" in message
    assert "\n" not in message
    assert [c[3] for c in calls] == ["install", "wheel"]
    assert not [p for p in (tmp_path / "cache" / "deps").iterdir() if p.name.startswith(".tmp-")]


# --- input validation and cache location -----------------------------------------------------


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PackagingError, match=r"function source folder .*nope does not exist"):
        build_archive(tmp_path / "nope", cache_dir=tmp_path / "cache")


@pytest.mark.parametrize(
    "files",
    [{"README.md": "# fn\n"}, {"tests/test_handler.py": "", "__pycache__/handler.pyc": ""}],
)
def test_folder_without_python_source_is_a_clear_error(
    tmp_path: Path, files: dict[str, str | bytes]
) -> None:
    fn = write_tree(tmp_path / "empty", files)
    with pytest.raises(PackagingError, match=r"empty contains no \.py file"):
        build_archive(fn, cache_dir=tmp_path / "cache")


def test_bad_shared_package_is_a_clear_error(tmp_path: Path, fn: Path) -> None:
    with pytest.raises(PackagingError, match=r"shared package folder .*missing does not exist"):
        build_archive(fn, shared_packages=[tmp_path / "missing"], cache_dir=tmp_path / "cache")


def test_clashing_names_are_a_clear_error(tmp_path: Path, fn: Path) -> None:
    lib = write_tree(tmp_path / "other" / "lib", {"util.py": "# another util\n"})
    with pytest.raises(PackagingError, match=r"'lib/util.py'"):
        build_archive(fn, shared_packages=[lib], cache_dir=tmp_path / "cache")


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("UPLOADS_BUILD_CACHE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_cache_dir() == tmp_path / ".build"  # the project's folder, not the package's
    monkeypatch.setenv("UPLOADS_BUILD_CACHE", str(tmp_path / "elsewhere"))
    assert default_cache_dir() == tmp_path / "elsewhere"


def test_build_uses_default_cache_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fn: Path
) -> None:
    monkeypatch.setenv("UPLOADS_BUILD_CACHE", str(tmp_path / "env-cache"))
    archive = build_archive(fn)
    assert archive.path.parent == tmp_path / "env-cache" / "archives"


# --- what a path may reach (issue 27 item 12) ------------------------------------------------


def test_a_link_inside_the_folder_ships_its_target(tmp_path: Path, fn: Path) -> None:
    (fn / "alias.py").symlink_to(fn / "routes.py")
    archive = build_archive(fn, cache_dir=tmp_path / "cache")
    with zipfile.ZipFile(archive.path) as zf:
        assert zf.read("alias.py") == zf.read("routes.py")


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda fn, outside: (fn / "host.txt").symlink_to(outside), "links outside its folder"),
        (lambda fn, _: (fn / "zero.bin").symlink_to("/dev/zero"), "links outside its folder"),
        (lambda fn, _: os.mkfifo(fn / "pipe"), "is not a regular file"),
        (lambda fn, _: (fn / "more").symlink_to(fn / "lib"), "is not a regular file"),
        (lambda fn, outside: (fn / "etc").symlink_to(outside.parent), "links outside its folder"),
    ],
    ids=["file-link-out", "dev-zero", "fifo", "folder-link-in", "folder-link-out"],
)
def test_packaging_reads_only_the_folders_own_files(
    tmp_path: Path, fn: Path, make: Any, reason: str
) -> None:
    outside = tmp_path / "secret" / "hostname"
    outside.parent.mkdir()
    outside.write_text("build-host-secret\n")
    make(fn, outside)
    with pytest.raises(PackagingError, match=reason):
        build_archive(fn, cache_dir=tmp_path / "cache")  # a FIFO read would block here


def test_a_shared_package_is_a_folder_of_python_code(tmp_path: Path, fn: Path) -> None:
    """`/etc` (no .py at its top) is refused before it is walked."""
    walked: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "walk", lambda *a, **k: walked.append(str(a[0])) or iter(()))
        with pytest.raises(PackagingError, match=r"shared package folder /etc contains no \.py"):
            build_archive(fn, shared_packages=[Path("/etc")], cache_dir=tmp_path / "cache")
    assert "/etc" not in walked
