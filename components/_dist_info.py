"""Rewrite each installed package's ``RECORD`` for the files that really ship.

pip writes ``RECORD`` at install time, so it lists what the archive never holds (console scripts
under ``bin/``, bytecode) with hashes of bytes that depend on the building machine: a script's
shebang names the interpreter that ran pip, so one line of ``cffi``'s ``RECORD`` differed between
two virtualenvs and made the whole zip differ. Rewritten here, ``RECORD`` lists exactly the
package's files left after clean-up, each with its sha256 and size (the wheel format's own
encoding), in name order: ``importlib.metadata.files()`` then tells the truth about the archive,
and its bytes depend only on what ships.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import posixpath
from pathlib import Path


def rewrite_records(site: Path) -> None:
    """Rewrite ``RECORD`` of every ``*.dist-info`` folder directly under ``site``."""
    for dist_info in sorted(site.glob("*.dist-info")):
        record = dist_info / "RECORD"
        if record.is_file():
            record.write_bytes(_record_for(site, record))


def _record_for(site: Path, record: Path) -> bytes:
    own = record.relative_to(site).as_posix()
    with record.open(newline="", encoding="utf-8") as handle:
        listed = {_inside(row[0]) for row in csv.reader(handle) if row}
    files = sorted(p for p in listed if p is not None and p != own and (site / p).is_file())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for rel in files:
        data = (site / rel).read_bytes()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        writer.writerow([rel, f"sha256={digest}", len(data)])
    writer.writerow([own, "", ""])
    return out.getvalue().encode()


def _inside(path: str) -> str | None:
    """``path`` normalised relative to the install folder, or None when it points outside."""
    normal = posixpath.normpath(path.replace("\\", "/"))
    if normal.startswith(("../", "/")) or normal in {"..", "."}:
        return None
    return normal


def wheel_files(site: Path) -> dict[str, str]:
    """Installed file -> the wheel it came from (``pyvips_binary-8.18.7-cp37-abi3-....whl``)."""
    owners: dict[str, str] = {}
    for dist_info in sorted(site.glob("*.dist-info")):
        record = dist_info / "RECORD"
        if not record.is_file():
            continue
        wheel = f"{dist_info.name.removesuffix('.dist-info')}-{_tags(dist_info / 'WHEEL')}.whl"
        with record.open(newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                if row and (rel := _inside(row[0])) is not None:
                    owners[rel] = wheel
    return owners


def _tags(wheel: Path) -> str:
    """The compressed tag set of a WHEEL file's ``Tag:`` lines (``cp313-cp313-manylinux_...``)."""
    parts: list[list[str]] = [[], [], []]
    lines = wheel.read_text(encoding="utf-8").splitlines() if wheel.is_file() else []
    for line in lines:
        if line.startswith("Tag:"):
            for known, part in zip(parts, line.split(":", 1)[1].strip().split("-"), strict=False):
                if part not in known:
                    known.append(part)
    return "-".join(".".join(p) for p in parts) if all(parts) else "unknown"
