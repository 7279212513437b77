"""Deterministic Lambda zip archives for Python functions, built without Docker.

An archive holds the function's own source files at its root, each shared package under its
folder name, and the third-party packages of the function's ``requirements.txt`` installed by pip
for the Lambda platform (manylinux wheels for the target architecture and Python version).

Decisions worth knowing:

- The bytes of the zip depend only on file names and contents (and, for installed packages, their
  executable bit, which comes from the wheel): entries sorted, timestamps fixed at 1980-01-01,
  permissions fixed, no directory entries, no extra fields, fixed deflate level.
  The zlib library itself is the one input we don't control; classic zlib is stable across
  versions, but a zlib-ng build of Python may compress differently.
- Installed packages keep their ``*.dist-info``: it carries the licenses that redistribution
  requires, and the metadata that ``importlib.metadata`` reads at runtime.
- ``.pyc`` files are never shipped: the host's Python is not the target's, so its bytecode would be
  useless at best.
- ``bin/`` (console scripts) is dropped from installed packages: its shebangs name the build host's
  interpreter, so it is both useless on Lambda and a source of machine-dependent bytes. Each
  ``RECORD`` is then rewritten for the files that really ship (``_dist_info``), since pip's lists
  the scripts' hashes, shebang included.
- A source distribution built into a pure-Python wheel on the host is built with a pinned
  setuptools (``_BUILD_CONSTRAINTS``): its ``METADATA`` and ``WHEEL`` name the backend's version.
- Native code is checked against the target's runtime before zipping (``_elf_check``): machine,
  glibc/libstdc++ symbol versions, and that every needed library ships or is in the base image.
- A run whose inputs did not change reuses the finished zip (``_archive_cache``): no walk of the
  installed packages, no deflate. Every ``pulumi preview`` runs the program, so this is the
  difference between milliseconds and a second per function.
- pip runs with the host's pip configuration *files* ignored (they may pin, constrain or redirect
  installs for the host, e.g. a global constraints file) and only the network-related ``PIP_*``
  environment variables passed through (index, mirrors, certificates, proxies, timeouts).
- An archive holds only what its folders hold. A function's source and each shared package must
  hold a ``.py`` file or a package at their top, checked before anything is walked; relative
  paths are read from the working directory (the program's folder), absolute ones as given. A
  symlink is followed only to a regular file inside the same folder, and anything that is not a
  regular file (a FIFO, a device, a socket, a link to a folder) is refused before it is opened:
  reading a FIFO or ``/dev/zero`` never ends, and a link leaving the folder would ship a file of
  the build machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import _archive_cache, _dist_info, _elf_check

__all__ = [
    "ARCHITECTURES",
    "RUNTIMES",
    "BuiltArchive",
    "LambdaTarget",
    "PackagingError",
    "build_archive",
    "default_cache_dir",
]

# Bump when the layout of the dependency cache or the post-install clean-up changes.
_FORMAT_VERSION = 2
RUNTIMES = ("python3.12", "python3.13", "python3.14")
"""Python runtimes Lambda still lets you create (python3.11 and older are past their block date);
all run on Amazon Linux 2023."""
_MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}
ARCHITECTURES = tuple(_MACHINES)
_GLIBC_MINOR = _elf_check.GLIBC[1]  # Amazon Linux 2023, the OS of every runtime in RUNTIMES
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_ZIP_LEVEL = 6
_MAX_UNZIPPED = 250 * 1024 * 1024  # Lambda's limit for a function's unzipped code
_EXCLUDED_FILES = re.compile(r"^(test_.*\.py|.*_test\.py|conftest\.py|.*\.py[co])$")
_RUNTIME_PROVIDED = ("boto3", "botocore")
_PIP_ENV_KEPT = {
    "PIP_CERT", "PIP_CLIENT_CERT", "PIP_DEFAULT_TIMEOUT", "PIP_TIMEOUT", "PIP_RETRIES",
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX", "PIP_FIND_LINKS", "PIP_TRUSTED_HOST",
    "PIP_PROXY", "PIP_CACHE_DIR", "PIP_NO_CACHE_DIR", "PIP_KEYRING_PROVIDER",
}  # fmt: skip
_PIP_TIMEOUT_S = 900
_BUILD_CONSTRAINTS = "setuptools==84.2.1\n"
"""The build backend of source distributions built into pure wheels: its version is in their
metadata, so an unpinned one would make the archive depend on the day it was built."""
_NO_MATCH = re.compile(
    r"(?:No matching distribution found for|"
    r"Could not find a version that satisfies the requirement) (\S+)"
)
_REQ_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_UNREACHABLE = re.compile(
    r"Retrying \(Retry\(total=0\b.* after connection broken by '(?P<error>.*)': (?P<path>/\S*)$",
    re.MULTILINE,
)
"""pip's (urllib3's) warning when the last retry of an index page failed to connect: without it,
an unreachable index looks like a requirement with no matching distribution."""
_BUILD_CONSTRAINT_PIP = "25.3"
"""The first pip with `--build-constraint`."""


class PackagingError(Exception):
    """A function's code or requirements can't be packaged for its Lambda target."""


@dataclass(frozen=True)
class LambdaTarget:
    """The Lambda runtime and architecture an archive is built for."""

    runtime: str = "python3.13"
    architecture: str = "arm64"

    def __post_init__(self) -> None:
        if self.runtime not in RUNTIMES:
            raise PackagingError(
                f"unsupported Lambda runtime {self.runtime!r}: "
                f"expected one of {', '.join(RUNTIMES)}"
            )
        if self.architecture not in _MACHINES:
            raise PackagingError(
                f"unsupported Lambda architecture {self.architecture!r}: expected arm64 or x86_64"
            )

    @property
    def python_version(self) -> str:
        """``"3.13"`` for ``python3.13``."""
        return self.runtime.removeprefix("python")

    @property
    def platform_tags(self) -> tuple[str, ...]:
        """Every manylinux tag the runtime's glibc can load, newest first.

        pip does not expand ``manylinux_2_X`` tags to older glibc versions (it only expands the
        legacy ``manylinux2014`` to ``manylinux2010``/``manylinux1``), so each one is listed;
        otherwise a package whose newest wheels are tagged ``manylinux_2_28`` only (Pillow on
        aarch64) silently resolves to an older release.
        """
        machine = _MACHINES[self.architecture]
        oldest = 17 if machine == "aarch64" else 5  # aarch64 starts with manylinux2014
        tags: list[str] = []
        for minor in range(_GLIBC_MINOR, oldest - 1, -1):
            tags.append(f"manylinux_2_{minor}_{machine}")
            legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}.get(minor)
            if legacy:
                tags.append(f"{legacy}_{machine}")
        return tuple(tags)

    def describe(self) -> str:
        """``python3.13 on arm64 (manylinux aarch64, glibc <= 2.34)``, for error messages."""
        machine, glibc = _MACHINES[self.architecture], _GLIBC_MINOR
        return f"{self.runtime} on {self.architecture} (manylinux {machine}, glibc <= 2.{glibc})"


@dataclass(frozen=True)
class BuiltArchive:
    """A built archive: the zip lives in the cache, named by its hash."""

    path: Path
    sha256: str
    size: int
    files: tuple[str, ...]


def default_cache_dir() -> Path:
    """``$UPLOADS_BUILD_CACHE`` if set, else ``.build`` in the working directory: the Pulumi
    project's folder under ``pulumi up``, where relative function sources are found too. Never
    the package's own folder, which is read-only site-packages once installed."""
    configured = os.environ.get("UPLOADS_BUILD_CACHE")
    if configured:
        return Path(configured).expanduser().resolve()
    return Path.cwd() / ".build"


def build_archive(
    source_dir: Path,
    *,
    target: LambdaTarget = LambdaTarget(),
    shared_packages: Sequence[Path] = (),
    cache_dir: Path | None = None,
) -> BuiltArchive:
    """Build (or reuse) the deployment zip of the function in ``source_dir`` for ``target``.

    Raises PackagingError with a one-line message for a missing or empty folder, a requirements
    file that lists boto3/botocore, a package without a wheel for the target, or a name clash.
    """
    source_dir = Path(source_dir).resolve()
    cache = Path(cache_dir).resolve() if cache_dir is not None else default_cache_dir()
    if not source_dir.is_dir():
        raise PackagingError(f"function source folder {source_dir} does not exist")
    if not _has_python(source_dir):
        raise PackagingError(f"function source folder {source_dir} contains no .py file")

    entries: dict[str, tuple[Path, int]] = {}
    _add_entries(entries, _source_files(source_dir, is_function=True), "", str(source_dir))
    for shared in shared_packages:
        package = Path(shared).resolve()
        if not package.is_dir():
            raise PackagingError(f"shared package folder {package} does not exist")
        if not _has_python(package):
            raise PackagingError(f"shared package folder {package} contains no .py file")
        files = list(_source_files(package, is_function=False))
        _add_entries(entries, files, f"{package.name}/", str(package))

    requirements = source_dir / "requirements.txt"
    deps = None
    if requirements.is_file():
        deps = _installed_packages(requirements, target, cache / "deps")

    archives = cache / "archives"
    key = _archive_cache.input_key(entries, deps, f"{target.runtime} {target.architecture}")
    cached = _archive_cache.lookup(archives, key)
    if cached is not None:  # a warm run: nothing changed since this zip was written
        path = archives / f"{cached.sha256}.zip"
        return BuiltArchive(path, cached.sha256, cached.size, cached.files)
    if deps is not None:
        walked = ((name, deps / name) for name in _walk(deps, lambda _: False))
        _add_entries(entries, walked, "", f"{requirements}", keep_executable=True)
    _check_native_code(entries, deps, source_dir, target)
    built = _write_zip(entries, archives, source_dir, target)
    _archive_cache.record(archives, key, built.sha256, built.files)
    return built


def _has_python(folder: Path) -> bool:
    """A ``.py`` file or a package (``__init__.py``) at the folder's top: looked up before the
    folder is walked, so that a folder of anything else (``/etc``) is refused without reading it."""
    return any(
        (p.suffix == ".py" and p.is_file()) or (p / "__init__.py").is_file()
        for p in folder.iterdir()
    )


def _check_native_code(
    entries: dict[str, tuple[Path, int]], deps: Path | None, source_dir: Path, target: LambdaTarget
) -> None:
    """Fail the build, in one line, if a shared object would not load on the target (_elf_check)."""
    wheels = _dist_info.wheel_files(deps) if deps is not None else {}
    found = _elf_check.problems(
        {name: path for name, (path, _) in entries.items()},
        _MACHINES[target.architecture],
        lambda name: f"wheel {wheels[name]}" if name in wheels else f"{source_dir.name}'s sources",
    )
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise PackagingError(f"{source_dir.name} for {target.describe()}: {found[0]}{more}")


def _walk(root: Path, excluded: Callable[[str], bool]) -> Iterator[str]:
    """Relative POSIX paths of the files under ``root``, sorted, pruning excluded names. A link
    to a folder is yielded as a file (os.walk does not enter it), for the caller to refuse."""
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        kept = [d for d in dirnames if not excluded((rel / d).as_posix() + "/")]
        links = {d for d in kept if os.path.islink(os.path.join(dirpath, d))}
        dirnames[:] = sorted(set(kept) - links)
        for name in sorted([*filenames, *links]):
            path = (rel / name).as_posix()
            if not excluded(path):
                yield path


def _source_files(root: Path, *, is_function: bool) -> Iterator[tuple[str, Path]]:
    """Source files of a function or shared package: no caches, tests, dotfiles, requirements."""

    def excluded(rel: str) -> bool:
        name = rel.rstrip("/").rsplit("/", 1)[-1]
        if rel.endswith("/"):
            return name.startswith(".") or name in {"__pycache__", "tests"}
        if is_function and rel == "requirements.txt":
            return True
        return name.startswith(".") or bool(_EXCLUDED_FILES.match(name))

    for rel in _walk(root, excluded):
        yield rel, _own_file(root, rel)


def _own_file(root: Path, rel: str) -> Path:
    """``root / rel`` if it is a regular file of the folder itself; refused before any read."""
    path = root / rel
    target = path.resolve()
    where = f"{root.name}/{rel}"
    if not target.is_relative_to(root):
        raise PackagingError(f"{where} links outside its folder; only the folder's files ship")
    if not stat.S_ISREG(os.stat(target).st_mode):  # stat never blocks, unlike open on a FIFO
        raise PackagingError(f"{where} is not a regular file (a FIFO, device, socket or folder)")
    return path


def _add_entries(
    entries: dict[str, tuple[Path, int]],
    files: Iterable[tuple[str, Path]],
    prefix: str,
    origin: str,
    *,
    keep_executable: bool = False,
) -> None:
    """Add files under ``prefix`` with their zip mode.

    Source files are always 0o644 (their exec bit depends on the checkout); installed packages
    keep the exec bit that pip set from the wheel (bundled binaries need it).
    """
    for rel, path in files:
        name = prefix + rel
        if name in entries:
            raise PackagingError(f"archive member {name!r} from {origin} clashes with another file")
        executable = keep_executable and path.stat().st_mode & 0o100
        entries[name] = (path, 0o755 if executable else 0o644)


def _normalized_requirements(requirements: Path) -> list[str]:
    """Requirement lines without comments or blanks; rejects what the cache key can't cover."""
    lines = []
    for raw in requirements.read_text(encoding="utf-8").splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        option = re.match(r"^(-[rce]|--(requirement|constraint|editable)\b)", line)
        if option:
            raise PackagingError(
                f"{requirements}: {option.group(1)} is not supported; list the packages directly"
            )
        name = _REQ_NAME.match(line)
        if name and _canonical(name.group()) in _RUNTIME_PROVIDED:
            raise PackagingError(
                f"{requirements} lists {name.group()!r}: boto3/botocore come with the Lambda "
                "runtime and must not be bundled; remove the line"
            )
        lines.append(line)
    return lines


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed_packages(requirements: Path, target: LambdaTarget, deps_root: Path) -> Path | None:
    """The folder of packages installed for ``requirements`` (cached), or None if it lists none."""
    lines = _normalized_requirements(requirements)
    if not lines:
        return None
    key_material = {
        "format": _FORMAT_VERSION,
        "requirements": lines,
        "runtime": target.runtime,
        "architecture": target.architecture,
        "platforms": target.platform_tags,
    }
    key = hashlib.sha256(json.dumps(key_material, sort_keys=True).encode()).hexdigest()
    cached = deps_root / key
    if cached.is_dir():
        return cached

    deps_root.mkdir(parents=True, exist_ok=True)
    # Install into a private temp folder and rename it into place when complete, so that an
    # interrupted or failed install never leaves a half-filled cache entry behind.
    work = Path(tempfile.mkdtemp(prefix=f".tmp-{key[:12]}-", dir=deps_root))
    try:
        _pip_install(requirements, target, work / "site")
        _clean_installed(work / "site")
        try:
            (work / "site").rename(cached)
        except OSError:
            if not cached.is_dir():  # not a concurrent build that finished first
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return cached


def _pip_install(requirements: Path, target: LambdaTarget, dest: Path) -> None:
    """Install for the target with binary wheels only. A package published as a source
    distribution alone (pyvips, for one) is built into a wheel on the host first, and used only
    if that wheel is pure Python (`*-none-any`): then it is the same wheel on every platform."""
    local_wheels = dest.parent / "pure-wheels"
    built: set[str] = set()
    while True:
        spec = _pip_target_install(requirements, target, dest, local_wheels)
        if spec is None:
            return
        found = _REQ_NAME.match(spec)
        name = found.group() if found else spec
        no_wheel = f"no binary wheel of {name!r} ({spec}) for {target.describe()}, needed by "
        if spec in built or not _build_pure_wheel(spec, local_wheels, requirements):
            raise PackagingError(
                f"{no_wheel}{requirements}, and its source distribution is not pure Python: "
                "pick a version that publishes such a wheel, or drop the package"
            )
        built.add(spec)


def _run_pip(arguments: list[str], what: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", *arguments]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") or k in _PIP_ENV_KEPT}
    env["PIP_CONFIG_FILE"] = os.devnull  # ignore pip.conf files: they are set up for the host
    try:
        # The command is built from our own arguments, never through a shell.
        return subprocess.run(  # noqa: S603
            command, capture_output=True, text=True, env=env, timeout=_PIP_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise PackagingError(f"pip did not finish within {_PIP_TIMEOUT_S}s {what}") from exc


def _pip_target_install(
    requirements: Path, target: LambdaTarget, dest: Path, local_wheels: Path
) -> str | None:
    """Run pip for the target: None when done, or the requirement that has no wheel."""
    platforms = [arg for tag in target.platform_tags for arg in ("--platform", tag)]
    links = ["--find-links", str(local_wheels)] if local_wheels.is_dir() else []
    result = _run_pip(
        [
            "install", "--disable-pip-version-check", "--no-input", "--quiet", "--no-compile",
            "--target", str(dest), "--only-binary=:all:", "--implementation", "cp",
            "--python-version", target.python_version, *platforms, *links,
            "-r", str(requirements),
        ],
        f"installing {requirements} for {target.describe()}",
    )  # fmt: skip
    if result.returncode == 0:
        return None
    _raise_if_index_unreachable(result.stderr, f"installing {requirements} for {target.describe()}")
    missing = _NO_MATCH.search(result.stderr)
    if missing:
        return missing.group(1)
    errors = [ln.strip() for ln in result.stderr.splitlines() if ln.strip()]
    detail = next((ln for ln in reversed(errors) if ln.startswith("ERROR")), None)
    detail = detail or (errors[-1] if errors else f"exit code {result.returncode}")
    raise PackagingError(f"pip failed installing {requirements} for {target.describe()}: {detail}")


def _raise_if_index_unreachable(stderr: str, what: str) -> None:
    """PackagingError naming the index and the connection error when pip could not reach it."""
    broken = _UNREACHABLE.search(stderr)
    if broken is None:
        return
    host = re.search(r"host='([^']+)', port=(\d+)", broken["error"])
    where = f"{host[1]}:{host[2]}{broken['path']}" if host else broken["path"]
    reason = broken["error"].rsplit(": ", 1)[-1].rstrip("\"')")
    raise PackagingError(
        f"the package index is unreachable ({where}: {reason}) {what}: pip needs it (PyPI, or "
        "PIP_INDEX_URL) to fetch the Lambda platform's wheels on a first build; later builds "
        "come from the cache"
    )


def _build_pure_wheel(spec: str, local_wheels: Path, requirements: Path) -> bool:
    """Build `spec` from its source distribution on the host; keep the wheel only if it is pure
    Python. False when the build holds platform code or fails; PackagingError when pip cannot
    try (the index unreachable, or a pip without `--build-constraint`)."""
    with tempfile.TemporaryDirectory(dir=local_wheels.parent) as out:
        constraints = Path(out, "build-constraints.txt")
        constraints.write_text(_BUILD_CONSTRAINTS, encoding="utf-8")
        result = _run_pip(
            ["wheel", "--disable-pip-version-check", "--no-input", "--quiet", "--no-deps",
             "--no-binary=:all:", "--build-constraint", str(constraints), "--wheel-dir", out,
             spec],
            f"building {spec} from source",
        )  # fmt: skip
        if "no such option: --build-constraint" in result.stderr:
            raise PackagingError(
                f"pip {_pip_version()} of {sys.executable} is too old to build {spec} (needed by "
                f"{requirements}) from source with a pinned build backend: --build-constraint "
                f"needs pip {_BUILD_CONSTRAINT_PIP} or newer "
                f"({sys.executable} -m pip install 'pip>={_BUILD_CONSTRAINT_PIP}')"
            )
        _raise_if_index_unreachable(result.stderr, f"building {spec} from source")
        wheels = list(Path(out).glob("*.whl"))
        if (
            result.returncode != 0
            or len(wheels) != 1
            or not wheels[0].name.endswith("-none-any.whl")
        ):
            return False
        local_wheels.mkdir(exist_ok=True)
        shutil.move(wheels[0], local_wheels / wheels[0].name)
    return True


def _pip_version() -> str:
    """The version of the pip that `_run_pip` runs (its distribution metadata, no subprocess)."""
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415 - on error only

    try:
        return version("pip")
    except PackageNotFoundError:
        return "(unknown version)"


def _clean_installed(site: Path) -> None:
    """Drop what must not ship (bytecode, host console scripts, runtime-provided boto3/botocore),
    then make each ``RECORD`` list what is left."""
    if not site.is_dir():  # e.g. only environment-marker-excluded requirements
        site.mkdir(parents=True)
    for entry in list(site.iterdir()):
        head = _canonical(entry.name.split("-", 1)[0]) if entry.name.endswith(".dist-info") else ""
        if entry.name in {"bin", *_RUNTIME_PROVIDED} or head in _RUNTIME_PROVIDED:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    for dirpath, dirnames, filenames in os.walk(site):
        for name in dirnames:
            if name == "__pycache__":
                shutil.rmtree(Path(dirpath, name))
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in filenames:
            if name.endswith((".pyc", ".pyo")):
                Path(dirpath, name).unlink()
    _dist_info.rewrite_records(site)


def _write_zip(
    entries: dict[str, tuple[Path, int]], archives: Path, source_dir: Path, target: LambdaTarget
) -> BuiltArchive:
    """Write the entries in name order with fixed metadata; name the zip by its sha256.

    The zip comment names the target, so the hash changes with the runtime or architecture even
    for a function without third-party packages, and an archive says what it was built for.
    """
    archives.mkdir(parents=True, exist_ok=True)
    names = tuple(sorted(entries))
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", suffix=".zip", dir=archives)
    tmp = Path(tmp_name)
    unzipped = 0
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w") as archive:
            archive.comment = f"{target.runtime} {target.architecture}".encode()
            for name in names:
                path, mode = entries[name]
                data = path.read_bytes()
                unzipped += len(data)
                info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
                info.create_system = 3  # Unix, so that external_attr holds Unix permissions
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = (0o100000 | mode) << 16  # regular file + permissions
                archive.writestr(info, data, compresslevel=_ZIP_LEVEL)
        if unzipped > _MAX_UNZIPPED:
            raise PackagingError(
                f"{source_dir.name}: {unzipped / 2**20:.0f} MiB unzipped exceeds Lambda's "
                "250 MiB limit for a zip-packaged function"
            )
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
        final = archives / f"{digest}.zip"
        tmp.replace(final)  # atomic: readers see a complete zip or none
    finally:
        tmp.unlink(missing_ok=True)
    return BuiltArchive(path=final, sha256=digest, size=final.stat().st_size, files=names)
