"""A python3.13 root filesystem for another CPU, made from Debian trixie's packages without
installing anything into the system.

apt runs under a private configuration: its own sources list (``[arch=...]``), state and cache
folders and an empty dpkg status file, so the machine's apt setup, its architectures and its
installed packages are neither read nor changed (never ``dpkg --add-architecture``). ``apt-get
download`` fetches the packages of ``PACKAGES`` (python3.13's dependency closure, plus libstdc++
which Lambda's base image has and libvips needs) and ``dpkg-deb -x`` unpacks them. Trixie is
merged-/usr, so the root gets the ``lib``, ``bin`` and ``sbin`` links to ``usr/...`` that the
``base-files`` package would make. The standard library is then compiled once, serially (under
qemu, ``compileall -j0`` crashes), so the interpreter starts in under a second instead of six.

The finished root is cached under ``<cache>/<arch>-<hash of suite, arch and PACKAGES>``: a warm
run uses it without apt or network. The Debian mirror is the one this machine's apt uses
(``UPLOADS_DEBIAN_MIRROR`` overrides it).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

SUITE = "trixie"
PACKAGES = (
    "gcc-14-base", "libgcc-s1", "libstdc++6", "libc6", "libexpat1", "libzstd1", "zlib1g",
    "openssl-provider-legacy", "libssl3t64", "libpython3.13-minimal", "python3.13-minimal",
    "libpython3.13-stdlib", "tzdata", "netbase", "readline-common", "media-types", "libbz2-1.0",
    "libdb5.3t64", "libffi8", "liblzma5", "libtinfo6", "libncursesw6", "libreadline8t64",
    "libsqlite3-0", "libuuid1", "libmpdec4",
)  # fmt: skip
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
MERGED_USR = {"lib": "usr/lib", "bin": "usr/bin", "sbin": "usr/sbin", "lib64": "usr/lib64"}


class SysrootError(Exception):
    """The root filesystem could not be made; the message says what to install or set."""


def debian_mirror(sources: Path = Path("/etc/apt")) -> str:
    """``UPLOADS_DEBIAN_MIRROR``, else the first Debian archive in this machine's apt sources."""
    configured = os.environ.get("UPLOADS_DEBIAN_MIRROR")
    if configured:
        return configured.rstrip("/")
    texts = [p.read_text(encoding="utf-8") for p in sorted(sources.glob("sources.list.d/*"))]
    if (sources / "sources.list").is_file():
        texts.append((sources / "sources.list").read_text(encoding="utf-8"))
    for text in texts:
        for uri in re.findall(r"^(?:URIs:|deb(?:\s+\[[^]]*\])?)\s+(\S+)", text, re.MULTILINE):
            if uri.rstrip("/").endswith("/debian"):
                return uri.rstrip("/")
    raise SysrootError(
        "no Debian archive in this machine's apt sources: set UPLOADS_DEBIAN_MIRROR to one"
    )


def sysroot(arch: str, cache: Path, compile_stdlib: Callable[[Path], None]) -> Path:
    """The cached root for Debian architecture ``arch`` (``arm64``, ``amd64``), made if missing.
    ``compile_stdlib(root)`` runs the root's own python3.13 over its standard library."""
    material = json.dumps({"suite": SUITE, "arch": arch, "packages": PACKAGES}).encode()
    root = cache / f"{arch}-{hashlib.sha256(material).hexdigest()[:16]}"
    if (root / ".complete").is_file():
        return root
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise SysrootError(f"{tool} not found: the sysroot is made from Debian packages")
    if not KEYRING.is_file():
        raise SysrootError(f"{KEYRING} is missing: apt-get install debian-archive-keyring")
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".tmp-{arch}-", dir=cache))
    try:
        debs = _download(arch, work)
        tree = work / "root"
        for deb in sorted(debs.glob("*.deb")):
            _run(["dpkg-deb", "-x", str(deb), str(tree)], f"unpacking {deb.name}")
        for link, target in MERGED_USR.items():
            if (tree / target).is_dir() and not (tree / link).exists():
                (tree / link).symlink_to(target)
        compile_stdlib(tree)
        (tree / ".complete").write_text("\n".join(PACKAGES) + "\n", encoding="utf-8")
        shutil.rmtree(root, ignore_errors=True)
        tree.rename(root)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return root


def _download(arch: str, work: Path) -> Path:
    """``apt-get download`` of PACKAGES for ``arch`` under a private apt configuration."""
    for folder in ("state/lists/partial", "cache/archives/partial", "parts", "debs"):
        (work / folder).mkdir(parents=True)
    (work / "state" / "status").touch()  # nothing installed, as far as this apt knows
    (work / "sources.list").write_text(
        f"deb [arch={arch} signed-by={KEYRING}] {debian_mirror()} {SUITE} main\n", encoding="utf-8"
    )
    settings = {
        "Dir::Etc::SourceList": work / "sources.list",
        "Dir::Etc::SourceParts": work / "parts",
        "Dir::Etc::Parts": work / "parts",
        "Dir::Etc::PreferencesParts": work / "parts",
        "Dir::Etc::Preferences": os.devnull,
        "Dir::State": work / "state",
        "Dir::State::status": work / "state" / "status",
        "Dir::Cache": work / "cache",
        "APT::Architecture": arch,
        "APT::Architectures": arch,
        "APT::Sandbox::User": getpass.getuser(),
        "Acquire::Languages": "none",
    }
    config = work / "apt.conf"
    config.write_text("".join(f'{k} "{v}";\n' for k, v in settings.items()), encoding="utf-8")
    env = {**os.environ, "APT_CONFIG": str(config)}
    _run(["apt-get", "update", "-qq"], f"apt-get update for {SUITE} {arch}", env=env)
    _run(
        ["apt-get", "download", "-qq", *PACKAGES], f"downloading {SUITE} {arch} packages",
        env=env, cwd=work / "debs",
    )  # fmt: skip
    return work / "debs"


def _run(
    command: list[str], what: str, *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> None:
    result = subprocess.run(  # noqa: S603 (our own arguments, no shell)
        command, env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        lines = [ln for ln in (result.stderr or result.stdout).splitlines() if ln.strip()]
        raise SysrootError(f"{what} failed: {lines[-1] if lines else result.returncode}")
