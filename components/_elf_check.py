"""Native code in an archive checked against the Lambda runtime it will run on, at build time.

Every ELF file in the archive (found by its magic number, whatever its name) must be loadable by
the runtime's dynamic linker on Amazon Linux 2023, the OS of Lambda's python3.12-3.14 runtimes:

- its machine is the function's architecture (and it is 64-bit little-endian);
- the ``GLIBC_`` symbol versions it needs are at most 2.34, AL2023's glibc; the ``GLIBCXX_`` and
  ``CXXABI_`` versions it needs from ``libstdc++.so.6`` are within AL2023's (GCC 11's) libstdc++;
- each ``NEEDED`` library is in the runtime's base set, or in the archive where the linker looks:
  through the file's ``RPATH``/``RUNPATH`` (``$ORIGIN`` relative to the file) or in the archive's
  root or ``lib/`` (``$LAMBDA_TASK_ROOT`` and its ``lib`` are on Lambda's ``LD_LIBRARY_PATH``).

A wheel that breaks a rule would import on the build machine and fail on Lambda at the first
invocation; here the build fails instead, naming the wheel, the file and the symbol or library.
ELF is read with pyelftools.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection, GNUVerSymSection

GLIBC = (2, 34)
"""Amazon Linux 2023's glibc."""
_GLIBCXX = (3, 4, 29)
_CXXABI = (1, 3, 13)
"""What AL2023's libstdc++ (GCC 11) provides."""
_MACHINES = {"aarch64": "EM_AARCH64", "x86_64": "EM_X86_64"}
BASE_LIBRARIES = frozenset({
    "libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libresolv.so.2",
    "ld-linux-aarch64.so.1", "ld-linux-x86-64.so.2", "libstdc++.so.6", "libgcc_s.so.1",
    "libz.so.1",
})  # fmt: skip
"""Libraries every Lambda runtime's base image has; anything else must ship in the archive.
glibc's, GCC's runtime libraries, and zlib: the runtime's own Python links it (its ``zlib``
module), and manylinux lets wheels rely on it (Pillow's do)."""
_TASK_LIBRARY_PATH = ("", "lib")
_LIMITS = {  # version prefix -> (highest allowed, library it must come from to be limited)
    "GLIBC": (GLIBC, None),
    "GLIBCXX": (_GLIBCXX, "libstdc++.so.6"),
    "CXXABI": (_CXXABI, "libstdc++.so.6"),
}
_VERSION = re.compile(r"(GLIBC|GLIBCXX|CXXABI)_(\d+(?:\.\d+)*|PRIVATE)")


def problems(members: Mapping[str, Path], machine: str, owner: Callable[[str], str]) -> list[str]:
    """One line per broken rule, ``owner(member): member ...``; empty when all is loadable.

    ``members`` maps archive names to the files that become them; ``machine`` is ``aarch64`` or
    ``x86_64``; ``owner`` names what a member came from (a wheel, or the function's sources).
    """
    found = []
    for name in sorted(members):
        path = members[name]
        with path.open("rb") as handle:
            if handle.read(4) != b"\x7fELF":
                continue
            handle.seek(0)
            try:
                lines = list(_file_problems(ELFFile(handle), name, members, machine))
            except ELFError as exc:
                lines = [f"is not a readable ELF file ({exc})"]
        found.extend(f"{owner(name)}: {name} {line}" for line in lines)
    return found


def _file_problems(
    elf: ELFFile, name: str, members: Mapping[str, Path], machine: str
) -> Iterator[str]:
    expected = _MACHINES[machine]
    if elf["e_machine"] != expected:
        yield f"is built for {elf['e_machine']}, not {expected}"
        return
    if elf.elfclass != 64 or not elf.little_endian:
        endian = "little" if elf.little_endian else "big"
        yield f"is {elf.elfclass}-bit {endian}-endian, not 64-bit little-endian"
        return
    needed, search = _dynamic(elf, name)
    for library in needed:
        if library not in BASE_LIBRARIES and not any(
            posixpath.join(folder, library) in members for folder in search
        ):
            yield (
                f"needs {library}, which is neither in the archive where the linker looks "
                f"({', '.join(f or '.' for f in search)}) nor in Lambda's base libraries"
            )
    for version, library, symbol, limit in _too_new(elf):
        yield f"needs {version} from {library} ({symbol}); Amazon Linux 2023 has up to {limit}"


def _dynamic(elf: ELFFile, name: str) -> tuple[list[str], list[str]]:
    """NEEDED libraries, and the archive folders searched for them (RPATH/RUNPATH, task root)."""
    needed: list[str] = []
    search: list[str] = []
    origin = posixpath.dirname(name)
    for section in elf.iter_sections():
        if not isinstance(section, DynamicSection):
            continue
        for tag in section.iter_tags():
            kind = tag.entry.d_tag
            if kind == "DT_NEEDED":
                needed.append(tag.needed)
            elif kind in {"DT_RPATH", "DT_RUNPATH"}:
                paths = tag.rpath if kind == "DT_RPATH" else tag.runpath
                for entry in paths.split(":"):
                    folder = entry.replace("${ORIGIN}", "$ORIGIN")
                    if folder.startswith("$ORIGIN"):
                        joined = posixpath.join(origin, folder.removeprefix("$ORIGIN").lstrip("/"))
                        folder = posixpath.normpath(joined) if joined else ""
                        search.append("" if folder == "." else folder)
    return needed, [*search, *_TASK_LIBRARY_PATH]


def _too_new(elf: ELFFile) -> Iterator[tuple[str, str, str, str]]:
    """(version, library, a symbol that needs it, the highest allowed) for each version above
    AL2023's (``GLIBC_PRIVATE`` included: no stable interface)."""
    verneed = next((s for s in elf.iter_sections() if isinstance(s, GNUVerNeedSection)), None)
    if verneed is None:
        return
    for need, auxiliaries in verneed.iter_versions():
        for aux in auxiliaries:
            match = _VERSION.fullmatch(aux.name)
            if match is None:
                continue
            limit, source = _LIMITS[match.group(1)]
            if source is not None and need.name != source:
                continue
            if need.name not in BASE_LIBRARIES:
                continue  # a bundled library's own versions
            number = match.group(2)
            if number == "PRIVATE" or tuple(int(p) for p in number.split(".")) > limit:
                highest = f"{match.group(1)}_{'.'.join(map(str, limit))}"
                yield aux.name, need.name, _symbol_of(elf, aux["vna_other"]), highest


def _symbol_of(elf: ELFFile, index: int) -> str:
    versym = next((s for s in elf.iter_sections() if isinstance(s, GNUVerSymSection)), None)
    dynsym = elf.get_section_by_name(".dynsym")
    if versym is None or dynsym is None:
        return "no symbol named"
    for number, symbol in enumerate(dynsym.iter_symbols()):
        if versym.get_symbol(number)["ndx"] == index:
            return symbol.name
    return "no symbol named"
