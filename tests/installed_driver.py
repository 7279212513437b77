"""Runs example programs on the offline engine inside another virtualenv; writes what happened.

`python installed_driver.py OUT.json PROJECT_DIR...` (run by tests/test_installed_package.py with
the fresh virtualenv's interpreter). For each project it changes into the project's folder, as
`pulumi up` does, and runs stack `dev`. An audit hook, installed before anything is imported,
records every file opened and every folder listed, so the test can tell where each byte came from.
"""

import json
import os
import sys

accessed: set[str] = set()
written: set[str] = set()
_WRITING = os.O_WRONLY | os.O_RDWR | os.O_CREAT


def _record(event: str, args: tuple) -> None:
    if event not in {"open", "os.listdir", "os.scandir"} or not args:
        return
    path = args[0]
    if isinstance(path, str | bytes | os.PathLike):
        absolute = os.path.abspath(os.fsdecode(path))
        accessed.add(absolute)
        if event == "open" and _writes(*args[1:]):
            written.add(absolute)


def _writes(mode: str | None = None, flags: int = 0) -> bool:
    return bool(mode and set(mode) & set("wax+")) or bool((flags or 0) & _WRITING)


sys.addaudithook(_record)

from pathlib import Path  # noqa: E402  (after the hook: the imports are recorded too)

from offline import run_stack  # noqa: E402
from offline.values import plain  # noqa: E402


def main(out: str, *projects: str) -> None:
    report: dict = {"programs": {}}
    for project in projects:
        os.chdir(project)
        graph = run_stack("dev", Path(project))
        names = {resource.urn: resource.name for resource in graph}
        report["programs"][project] = {
            "resources": [
                {
                    "type": resource.type,
                    "name": resource.name,
                    "parent": names.get(resource.parent or ""),
                    "inputs": plain(resource.inputs),
                    "outputs": plain(resource.outputs),
                }
                for resource in graph
            ],
            "outputs": plain(graph.outputs),
        }
    import serverless_uploads  # already imported by the programs

    report["version"] = serverless_uploads.__version__
    report["modules"] = {
        name: getattr(module, "__file__", None) for name, module in sorted(sys.modules.items())
    }
    report["accessed"] = sorted(accessed)
    report["written"] = sorted(written)
    report["sys_path"] = sys.path
    Path(out).write_text(json.dumps(report, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
