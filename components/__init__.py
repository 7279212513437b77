"""Pulumi components for a serverless upload service on AWS.

Installed from the wheel, this package is `serverless_uploads`; the repository's own program and
tests import the same folder as `components` (docs/packaging-and-versions.md).
"""

import tomllib
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "serverless-uploads"
"""The distribution's name on an index and in `pip install`."""


def _version() -> str:
    """The installed distribution's version when this very file is the one it installed; in a
    source checkout, the version `pyproject.toml` declares (the one place it is written)."""
    here = Path(__file__).resolve()
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        dist = None
    if dist is not None and Path(dist.locate_file(f"{__name__}/__init__.py")).resolve() == here:
        return dist.version
    pyproject = here.parent.parent / "pyproject.toml"
    return tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]


__version__ = _version()
