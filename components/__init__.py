"""Pulumi components for a serverless upload service on AWS.

Installed from the wheel, this package is `serverless_uploads`; the repository's own program and
tests import the same folder as `components` (docs/packaging-and-versions.md).

Every component, its args class and the types its arguments take import from the package itself
(`from serverless_uploads import UploadService, UploadServiceArgs`); each module loads on first
use, so `import serverless_uploads` stays cheap.
"""

import importlib
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

_EXPORTS = {
    "StorageBucket": "storage",
    "StorageBucketArgs": "storage",
    "LifecycleRule": "storage",
    "Transition": "storage",
    "BucketSubscription": "storage",
    "on_object_created": "storage",
    "on_object_removed": "storage",
    "PythonFunction": "function",
    "PythonFunctionArgs": "function",
    "HttpApi": "http_api",
    "HttpApiArgs": "http_api",
    "Route": "http_api",
    "UserPool": "user_pool",
    "UserPoolArgs": "user_pool",
    "UploadService": "upload_service",
    "UploadServiceArgs": "upload_service",
    "ServiceAlarms": "alarms",
    "ServiceAlarmsArgs": "alarms",
    "ServiceDashboard": "dashboard",
    "ServiceDashboardArgs": "dashboard",
}
"""Public name -> the module that defines or re-exports it."""

__all__ = ["DISTRIBUTION", "__version__", *_EXPORTS]  # noqa: PLE0604 - the names of _EXPORTS


def __getattr__(name: str) -> object:
    """Loads a public name's module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
