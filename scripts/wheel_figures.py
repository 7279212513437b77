"""Write the wheel's size and file count into docs/packaging-and-versions.md (`make docs`).

The figures row of the page's table is generated from a wheel built the way `make dist` builds
it (hatchling, SOURCE_DATE_EPOCH of the last commit), so the page cannot go stale unseen:
`tests/test_docs_current.py` builds the wheel and compares.
Run: .venv/bin/python scripts/wheel_figures.py
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PAGE = REPO / "docs" / "packaging-and-versions.md"
WHEEL_ROW = re.compile(r"^\| wheel \| .* \|$", re.MULTILINE)


def build_wheel(out: Path) -> Path:
    """The wheel `make dist` would build from this checkout, in `out`."""
    epoch = subprocess.run(
        ["git", "log", "-1", "--format=%ct"],  # noqa: S607 - git on our own repository
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    env = {**os.environ, "SOURCE_DATE_EPOCH": epoch or "315532800"}
    subprocess.run(  # noqa: S603 - this interpreter's hatchling, our own project
        [sys.executable, "-m", "hatchling", "build", "--target", "wheel", "-d", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        check=True,
    )
    return next(out.glob("*.whl"))


def wheel_row(wheel: Path) -> str:
    """The table row: the wheel's size, its file count and its unpacked size."""
    with zipfile.ZipFile(wheel) as archive:
        infos = archive.infolist()
    unpacked = sum(info.file_size for info in infos)
    size = wheel.stat().st_size / 1024
    return f"| wheel | {size:.0f} KiB, {len(infos)} files, {unpacked / 1024:.0f} KiB unpacked |"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="wheel-figures-") as tmp:
        row = wheel_row(build_wheel(Path(tmp)))
    text = PAGE.read_text(encoding="utf-8")
    if not WHEEL_ROW.search(text):
        raise SystemExit(f"{PAGE}: no '| wheel | ... |' row to write")
    PAGE.write_text(WHEEL_ROW.sub(row, text), encoding="utf-8")
    print(f"{PAGE.relative_to(REPO)}: {row}")


if __name__ == "__main__":
    main()
