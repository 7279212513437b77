"""Lay out a function's code for this machine from the archive `pulumi up` would ship.

The archive is built for Lambda (Linux, the function's architecture and Python version). Its own
source files and pure-Python packages run anywhere, so they are unpacked as they are. Packages
with compiled code (Pillow's wheels for aarch64/cp313, say) cannot load here: they are left out
of the unpacked tree and the host's build of the same distribution, installed in this virtualenv
from the project's `requirements.txt`, stands in for them. boto3 and its dependencies come from
the host too, as Lambda's runtime provides them. Each function gets its own folders, so nothing
else in the virtualenv (pulumi, moto, ...) is importable by the function, as on Lambda.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath

RUNTIME_PROVIDED = ("boto3",)
"""What Lambda's Python runtime provides beside the standard library (with its dependencies)."""
_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


class FunctionCodeError(Exception):
    """A function's code cannot be laid out to run here; the message says what to do."""


@dataclass(frozen=True)
class CodeLayout:
    task_root: Path
    """The unpacked archive, minus packages built for another platform."""
    runtime_dir: Path
    """Links to host packages: the runtime's boto3 and the stand-ins for native packages."""
    substituted: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Distribution -> (version in the archive, host version) for each stand-in."""


def prepare_code(archive: Path, workdir: Path, label: str) -> CodeLayout:
    """Unpack `archive` under `workdir` and link the host packages it needs."""
    task_root, runtime_dir = workdir / "task", workdir / "runtime"
    task_root.mkdir(parents=True)
    runtime_dir.mkdir()
    with zipfile.ZipFile(archive) as zipped:
        native = _native_distributions(zipped)
        skipped = {top for _, tops in native.values() for top in tops}
        for info in zipped.infolist():
            path = PurePosixPath(info.filename)
            if path.is_absolute() or ".." in path.parts:
                raise FunctionCodeError(f"{label}: archive member {info.filename!r} is unsafe")
            if path.parts[0] not in skipped:
                zipped.extract(info, task_root)
    substituted = {}
    for name, (version, _) in native.items():
        host = _host_distribution(name)
        if host is None:
            raise FunctionCodeError(
                f"{label} needs {name} {version}, which its archive holds only as a build for "
                f"Lambda; add `{name}=={version}` to requirements.txt so that this machine has "
                "its own build, then run `make dev` again"
            )
        _link(host, runtime_dir)
        substituted[name] = (version, host.version)
    for dist in _closure(RUNTIME_PROVIDED):
        _link(dist, runtime_dir)
    return CodeLayout(task_root, runtime_dir, substituted)


def _native_distributions(zipped: zipfile.ZipFile) -> dict[str, tuple[str, set[str]]]:
    """Distribution name -> (version, top-level names) of each platform-specific wheel."""
    found = {}
    names = set(zipped.namelist())
    for name in names:
        if not name.endswith(".dist-info/WHEEL") or name.count("/") != 1:
            continue
        info_dir = name.split("/")[0]
        tags = [
            line.split(":", 1)[1].strip()
            for line in zipped.read(name).decode().splitlines()
            if line.startswith("Tag:")
        ]
        if all(tag.endswith("-none-any") for tag in tags):
            continue
        dist, _, version = info_dir.removesuffix(".dist-info").partition("-")
        record = f"{info_dir}/RECORD"
        tops = {info_dir}
        if record in names:
            for line in zipped.read(record).decode().splitlines():
                first = line.split(",", 1)[0].split("/", 1)[0]
                if first and first not in ("..", "__pycache__"):
                    tops.add(first)
        found[dist] = (version, tops)
    return found


def _host_distribution(name: str) -> metadata.Distribution | None:
    try:
        return metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None


def _closure(names: tuple[str, ...]) -> list[metadata.Distribution]:
    """The installed distributions `names` need, with their dependencies (extras left out)."""
    seen: dict[str, metadata.Distribution] = {}
    pending = list(names)
    while pending:
        name = pending.pop()
        dist = _host_distribution(name)
        if dist is None or dist.metadata["Name"].lower() in seen:
            continue
        seen[dist.metadata["Name"].lower()] = dist
        for requirement in dist.requires or ():
            match = _REQUIREMENT.match(requirement)
            if match and "extra ==" not in requirement:
                pending.append(match.group(1))
    return list(seen.values())


def _link(dist: metadata.Distribution, runtime_dir: Path) -> None:
    """Symlink each top-level file or folder of `dist` into `runtime_dir`."""
    tops = {
        PurePosixPath(str(f)).parts[0]
        for f in dist.files or ()
        if not str(f).startswith("..") and PurePosixPath(str(f)).parts[0] != "__pycache__"
    }
    for top in tops:
        target = Path(str(dist.locate_file(top)))
        link = runtime_dir / top
        if target.exists() and not link.exists():
            link.symlink_to(target)
