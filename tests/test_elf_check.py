"""The archives' native code is checked against Lambda's runtime at build time (_elf_check).

Each rule passes on the archives the project ships today (on_upload's libvips, cffi and pyvips
extension, for both architectures) and fails the build, in one line naming the wheel, the file
and the symbol or library, on a crafted wheel that breaks it. The crafted wheels are real
``.whl`` files installed by the real pip (``PIP_FIND_LINKS``, no index); their shared objects
are today's, with one string of their dynamic section patched.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from components import _elf_check
from components.packaging import BuiltArchive, LambdaTarget, PackagingError, build_archive

LAMBDA_SRC = Path(__file__).resolve().parent.parent / "lambda_src"
CFFI = "_cffi_backend.cpython-313-aarch64-linux-gnu.so"
EXTENSION = "_libvips.abi3.so"  # RPATH $ORIGIN/pyvips_binary.libs
LIBVIPS = "libvips-9fe855f7.so.42"  # needs GLIBCXX_3.4.22 and CXXABI_1.3.11 from libstdc++
VIPS = f"pyvips_binary.libs/{LIBVIPS}"


def on_upload(architecture: str) -> BuiltArchive:
    return build_archive(
        LAMBDA_SRC / "on_upload",
        target=LambdaTarget(architecture=architecture),
        shared_packages=[LAMBDA_SRC / "uploads_common"],
    )


@pytest.fixture(scope="module")
def arm64_members() -> dict[str, bytes]:
    with zipfile.ZipFile(on_upload("arm64").path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.parametrize(("architecture", "machine"), [("arm64", "aarch64"), ("x86_64", "x86_64")])
def test_todays_on_upload_archive_passes_every_rule(
    tmp_path: Path, architecture: str, machine: str
) -> None:
    with zipfile.ZipFile(on_upload(architecture).path) as archive:
        archive.extractall(tmp_path)
        names = archive.namelist()
    members = {name: tmp_path / name for name in names}
    elves = [n for n in names if members[n].read_bytes()[:4] == b"\x7fELF"]
    assert len(elves) == 3, elves  # cffi's backend, pyvips' extension, libvips
    assert _elf_check.problems(members, machine, lambda name: "today") == []
    libvips = next(n for n in elves if n.startswith("pyvips_binary.libs/libvips-"))
    data = members[libvips].read_bytes()
    assert b"GLIBCXX_3.4." in data, "the libstdc++ rule has something to check"
    assert b"CXXABI_1.3." in data


def crafted_wheel(folder: Path, files: dict[str, bytes], platform: str) -> None:
    """``crafted-1.0`` as a wheel for ``platform``, with a correct RECORD."""
    dist = "crafted-1.0.dist-info"
    files = {
        **files,
        f"{dist}/METADATA": b"Metadata-Version: 2.1\nName: crafted\nVersion: 1.0\n",
        f"{dist}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: false\n"
            f"Tag: cp313-cp313-{platform}\n"
        ).encode(),
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}\n")
    record.append(f"{dist}/RECORD,,\n")
    folder.mkdir(exist_ok=True)
    path = folder / f"crafted-1.0-cp313-cp313-{platform}.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
        wheel.writestr(f"{dist}/RECORD", "".join(record))


def patched(data: bytes, old: bytes, new: bytes) -> bytes:
    """`data` with every NUL-terminated string `old` replaced by `new` (same length)."""
    assert len(old) == len(new)
    assert old + b"\x00" in data
    return data.replace(old + b"\x00", new + b"\x00")


def build_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, bytes], architecture: str
) -> BuiltArchive:
    machine = {"arm64": "aarch64", "x86_64": "x86_64"}[architecture]
    crafted_wheel(tmp_path / "wheels", files, f"manylinux_2_17_{machine}")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "wheels"))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    fn = tmp_path / "fn"
    fn.mkdir()
    (fn / "handler.py").write_text("def handler(event, context):\n    return 1\n", "utf-8")
    (fn / "requirements.txt").write_text("crafted==1.0\n", encoding="utf-8")
    return build_archive(fn, target=LambdaTarget(architecture=architecture), cache_dir=tmp_path)


Case = Callable[[dict[str, bytes]], tuple[str, dict[str, bytes]]]
CASES: dict[str, tuple[Case, list[str]]] = {
    "machine": (
        lambda m: ("x86_64", {"crafted/_native.so": m[CFFI]}),
        ["crafted/_native.so is built for EM_AARCH64, not EM_X86_64"],
    ),
    "glibc": (
        lambda m: ("arm64", {"crafted/_native.so": patched(m[CFFI], b"GLIBC_2.17", b"GLIBC_2.35")}),
        ["crafted/_native.so needs GLIBC_2.35 from lib", "Amazon Linux 2023 has up to GLIBC_2.34"],
    ),
    "glibcxx": (
        lambda m: ("arm64", {
            "crafted/libthing.so": patched(
                m[VIPS], b"GLIBCXX_3.4.22", b"GLIBCXX_3.4.30"
            )
        }),
        ["crafted/libthing.so needs GLIBCXX_3.4.30 from libstdc++.so.6 (", "up to GLIBCXX_3.4.29"],
    ),
    "cxxabi": (
        lambda m: ("arm64", {
            "crafted/libthing.so": patched(
                m[VIPS], b"CXXABI_1.3.11", b"CXXABI_1.3.14"
            )
        }),
        ["crafted/libthing.so needs CXXABI_1.3.14 from libstdc++.so.6 (", "up to CXXABI_1.3.13"],
    ),
    "needed": (
        lambda m: ("arm64", {
            "crafted/_native.so": patched(m[CFFI], b"libpthread.so.0", b"libpthreaX.so.0")
        }),
        ["crafted/_native.so needs libpthreaX.so.0", "nor in Lambda's base libraries"],
    ),
    "rpath": (
        lambda m: ("arm64", {
            f"crafted/{EXTENSION}": m[EXTENSION],
            f"crafted/libs/{LIBVIPS}": m[VIPS],
        }),
        [f"crafted/{EXTENSION} needs {LIBVIPS}", "(crafted/pyvips_binary.libs, ., lib)"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("rule", CASES)
def test_a_crafted_wheel_that_breaks_a_rule_fails_the_build_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arm64_members: dict[str, bytes], rule: str
) -> None:
    craft, expected = CASES[rule]
    architecture, files = craft(arm64_members)
    with pytest.raises(PackagingError) as failure:
        build_with(tmp_path, monkeypatch, files, architecture)
    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith(f"fn for python3.13 on {architecture} ")
    machine = "x86_64" if architecture == "x86_64" else "aarch64"
    assert f"wheel crafted-1.0-cp313-cp313-manylinux_2_17_{machine}.whl: " in message
    for needle in expected:
        assert needle in message, message


@pytest.mark.parametrize(
    ("files", "why"),
    [
        (lambda m: {"crafted/_native.so": patched(m[CFFI], b"GLIBC_2.17", b"GLIBC_2.34")},
         "glibc 2.34 is the limit, included"),
        (lambda m: {f"crafted/{EXTENSION}": m[EXTENSION],
                    f"crafted/pyvips_binary.libs/{LIBVIPS}": m[VIPS]},
         "the library where the RPATH points"),
        (lambda m: {f"crafted/{EXTENSION}": m[EXTENSION], f"lib/{LIBVIPS}": m[VIPS]},
         "lib/ is on Lambda's LD_LIBRARY_PATH"),
    ],
    ids=["glibc-2.34", "rpath", "task-lib"],
)  # fmt: skip
def test_a_crafted_wheel_within_the_rules_builds(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    arm64_members: dict[str, bytes],
    files: Callable[[dict[str, bytes]], dict[str, bytes]],
    why: str,
) -> None:
    archive = build_with(tmp_path, monkeypatch, files(arm64_members), "arm64")
    assert "crafted-1.0.dist-info/RECORD" in archive.files, why
