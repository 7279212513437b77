"""Packaging errors name their real cause, each made to happen for real: a package index that
cannot be reached, a pip too old to pin a source build's backend, a requirement with no wheel."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import sysconfig
import tarfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.packaging import PackagingError, build_archive

PROJECT_DIR = Path(__file__).resolve().parent.parent
OLD_PIP = "24.0"
"""A pip from before `--build-constraint` (pip 25.3)."""
SDIST_ONLY = "docopt==0.6.2\n"
"""Published as a source distribution only (and pure Python), so it is built on the host."""
PLATFORM_SETUP = """
from setuptools import setup
from setuptools.dist import Distribution


class PlatformDistribution(Distribution):
    def has_ext_modules(self):  # a platform wheel, as a C extension makes, without a compiler
        return True


setup(name="uploads-test-native-only", version="1.0", py_modules=["native_only"],
      distclass=PlatformDistribution)
"""


def function(root: Path, requirements: str) -> Path:
    root.mkdir()
    (root / "handler.py").write_text("def handler(event, context):\n    return 1\n")
    (root / "requirements.txt").write_text(requirements)
    return root


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_an_unreachable_index_is_named_not_blamed_on_the_requirement(
    tmp_path: Path, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", f"http://127.0.0.1:{closed_port}/simple")
    monkeypatch.setenv("PIP_RETRIES", "1")
    for name in ("PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX"):
        monkeypatch.delenv(name, raising=False)
    fn = function(tmp_path / "fn", SDIST_ONLY)

    with pytest.raises(PackagingError) as info:
        build_archive(fn, cache_dir=tmp_path / "cache")

    message = str(info.value)
    assert message.startswith(
        f"the package index is unreachable (127.0.0.1:{closed_port}/simple/docopt/: "
    )
    assert "Connection refused" in message
    assert "no binary wheel" not in message
    assert "\n" not in message


def test_a_pip_without_build_constraint_is_named_with_the_upgrade(tmp_path: Path) -> None:
    """The packaging code runs in a throwaway virtualenv whose own pip is 24.0; everything else
    (pulumi, pyelftools) comes from this virtualenv's site-packages, after the old pip."""
    venv = tmp_path / "old-pip"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", venv], check=True)  # noqa: S603
    python = venv / "bin" / "python"
    installed = subprocess.run(  # noqa: S603 - this interpreter's pip, a pinned requirement
        [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", f"pip=={OLD_PIP}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    site = Path(
        subprocess.check_output(  # noqa: S603
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    (site / "project-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    fn = function(tmp_path / "fn", SDIST_ONLY)
    script = textwrap.dedent(f"""
        import pip
        from components.packaging import PackagingError, build_archive
        assert pip.__version__ == {OLD_PIP!r}, pip.__version__
        try:
            build_archive({str(fn)!r}, cache_dir={str(tmp_path / "cache")!r})
        except PackagingError as error:
            print(error)
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    # The throwaway interpreter on our own snippet; it prints the error, so it must exit 0.
    printed = subprocess.check_output([python, "-c", script], cwd=PROJECT_DIR, env=env, text=True)  # noqa: S603
    assert printed.startswith(f"pip {OLD_PIP} of {python} is too old to build docopt==0.6.2")
    assert f"{python} -m pip install 'pip>=25.3'" in printed
    assert "no binary wheel" not in printed


def test_a_requirement_with_no_wheel_and_platform_code_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A source distribution only (on a find-links folder, beside the index), whose build makes a
    platform wheel: the message blames the requirement, as it should."""
    source = tmp_path / "uploads_test_native_only-1.0"
    source.mkdir()
    (source / "setup.py").write_text(PLATFORM_SETUP)
    (source / "native_only.py").write_text("X = 1\n")
    (source / "PKG-INFO").write_text(
        "Metadata-Version: 2.1\nName: uploads-test-native-only\nVersion: 1.0\n"
    )
    links = tmp_path / "links"
    links.mkdir()
    with tarfile.open(links / "uploads_test_native_only-1.0.tar.gz", "w:gz") as sdist:
        sdist.add(source, arcname=source.name)
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    fn = function(tmp_path / "fn", "uploads-test-native-only==1.0\n")

    with pytest.raises(PackagingError) as info:
        build_archive(fn, cache_dir=tmp_path / "cache")

    message = str(info.value)
    assert message.startswith(
        "no binary wheel of 'uploads-test-native-only' (uploads-test-native-only==1.0) for "
        "python3.13 on arm64"
    )
    assert "its source distribution is not pure Python" in message
    assert "unreachable" not in message
