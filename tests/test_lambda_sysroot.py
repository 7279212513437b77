"""scripts/lambda_sysroot.py: apt under a private configuration, the mirror, the cache.

apt itself is replaced by a fake that records each command with the configuration it was given
(``make test-arm64`` runs the real one against Debian's archive).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from scripts import lambda_sysroot
from scripts.lambda_sysroot import PACKAGES, SysrootError, debian_mirror, sysroot

DEB822 = """Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security

Types: deb
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main
"""


def test_the_mirror_is_the_machines_debian_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UPLOADS_DEBIAN_MIRROR", raising=False)
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(DEB822, encoding="utf-8")
    assert debian_mirror(tmp_path) == "http://mirror.example/debian"
    (tmp_path / "sources.list.d" / "debian.sources").unlink()
    (tmp_path / "sources.list").write_text(
        "deb [signed-by=/k.gpg] http://other.example/debian bookworm main\n", encoding="utf-8"
    )
    assert debian_mirror(tmp_path) == "http://other.example/debian"
    monkeypatch.setenv("UPLOADS_DEBIAN_MIRROR", "http://set.example/debian/")
    assert debian_mirror(tmp_path) == "http://set.example/debian"


def test_no_debian_archive_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UPLOADS_DEBIAN_MIRROR", raising=False)
    with pytest.raises(SysrootError, match="set UPLOADS_DEBIAN_MIRROR"):
        debian_mirror(tmp_path)


@pytest.fixture
def fake_apt(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], str]]:
    """apt-get and dpkg-deb replaced: (command, the apt.conf text in force) per call."""
    calls: list[tuple[list[str], str]] = []
    monkeypatch.setenv("UPLOADS_DEBIAN_MIRROR", "http://mirror.example/debian")
    monkeypatch.setattr(lambda_sysroot.shutil, "which", lambda tool: f"/usr/bin/{tool}")

    def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        config = Path(kwargs["env"]["APT_CONFIG"]) if kwargs.get("env") else None
        calls.append((command, config.read_text(encoding="utf-8") if config else ""))
        if command[:2] == ["apt-get", "download"]:
            for name in command[3:]:
                (kwargs["cwd"] / f"{name}_1_arm64.deb").touch()
        if command[:2] == ["dpkg-deb", "-x"]:
            (Path(command[3]) / "usr" / "lib").mkdir(parents=True, exist_ok=True)
            (Path(command[3]) / "usr" / "bin").mkdir(parents=True, exist_ok=True)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(lambda_sysroot.subprocess, "run", run)
    return calls


def test_apt_runs_under_a_private_configuration_and_installs_nothing(
    tmp_path: Path, fake_apt: list[tuple[list[str], str]]
) -> None:
    compiled: list[Path] = []
    root = sysroot("arm64", tmp_path / "cache", compiled.append)

    commands = [command for command, _ in fake_apt]
    assert commands[0] == ["apt-get", "update", "-qq"]
    assert commands[1] == ["apt-get", "download", "-qq", *PACKAGES]
    assert [c[:2] for c in commands[2:]] == [["dpkg-deb", "-x"]] * len(PACKAGES)
    assert not [c for c in commands if c[0] == "dpkg" or "install" in c]
    config = fake_apt[0][1]
    for setting in ("Dir::State ", "Dir::State::status ", "Dir::Cache ", "Dir::Etc::SourceList "):
        line = next(ln for ln in config.splitlines() if ln.startswith(setting))
        assert str(tmp_path / "cache") in line, line  # its own folders, not /var/lib/apt
    assert 'APT::Architecture "arm64";' in config
    status = next(ln for ln in config.splitlines() if ln.startswith("Dir::State::status "))
    assert status.endswith('status";')
    # merged /usr, as base-files would make it
    assert (root / "lib").readlink() == Path("usr/lib")
    assert (root / "bin").readlink() == Path("usr/bin")
    assert len(compiled) == 1  # the standard library, once, before the root is published
    assert compiled[0].is_relative_to(tmp_path / "cache")


def test_the_sources_list_names_the_architecture_and_trixie(
    tmp_path: Path, fake_apt: list[tuple[list[str], str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    real_download = lambda_sysroot._download

    def download(arch: str, work: Path) -> Path:
        debs = real_download(arch, work)
        seen.append((work / "sources.list").read_text(encoding="utf-8"))
        assert (work / "state" / "status").read_bytes() == b""  # nothing installed
        return debs

    monkeypatch.setattr(lambda_sysroot, "_download", download)
    sysroot("arm64", tmp_path / "cache", lambda root: None)
    assert seen == [
        f"deb [arch=arm64 signed-by={lambda_sysroot.KEYRING}] "
        "http://mirror.example/debian trixie main\n"
    ]


def test_a_finished_root_is_reused_and_keyed_by_the_package_list(
    tmp_path: Path, fake_apt: list[tuple[list[str], str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = sysroot("arm64", tmp_path / "cache", lambda root: None)
    calls = len(fake_apt)
    assert sysroot("arm64", tmp_path / "cache", lambda root: None) == first
    assert len(fake_apt) == calls, "a warm run runs no apt"
    monkeypatch.setattr(lambda_sysroot, "PACKAGES", (*PACKAGES, "libfoo1"))
    other = sysroot("arm64", tmp_path / "cache", lambda root: None)
    assert other != first
    assert len(fake_apt) > calls
    assert sysroot("amd64", tmp_path / "cache", lambda root: None) not in {first, other}


def test_a_failed_download_leaves_no_root_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPLOADS_DEBIAN_MIRROR", "http://mirror.example/debian")

    def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 100, "", "E: Failed to fetch Packages\n")

    monkeypatch.setattr(lambda_sysroot.subprocess, "run", run)
    with pytest.raises(SysrootError, match=r"^apt-get update for trixie arm64 failed: E: Failed"):
        sysroot("arm64", tmp_path / "cache", lambda root: None)
    assert list((tmp_path / "cache").iterdir()) == []
