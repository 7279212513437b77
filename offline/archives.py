"""The Lambda archives a stack deploys, read from its graph: what `plan --json` prints under
`archives` and what `make test-arm64` runs, so both name the zips `pulumi up` would upload."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offline.graph import ResourceGraph

FUNCTION_TYPE = "aws:lambda/function:Function"


@dataclass(frozen=True)
class LambdaArchive:
    function: str
    """The function's logical name."""
    path: Path
    sha256: str
    """Hex sha256 of the zip: the bytes `pulumi up` uploads."""
    runtime: str
    architecture: str
    handler: str
    environment: dict[str, str]

    def document(self, root: Path) -> dict[str, Any]:
        path = self.path.relative_to(root) if self.path.is_relative_to(root) else self.path
        return {
            "function": self.function,
            "sha256": self.sha256,
            "runtime": self.runtime,
            "architecture": self.architecture,
            "path": path.as_posix(),
        }


def lambda_archives(graph: ResourceGraph) -> list[LambdaArchive]:
    """Every zip-packaged function's archive, in registration order."""
    found = []
    for resource in graph.of_type(FUNCTION_TYPE):
        inputs = resource.inputs
        code = inputs.get("code")
        if code is None or not hasattr(code, "path"):
            continue
        (architecture,) = inputs.get("architectures") or ["x86_64"]
        found.append(
            LambdaArchive(
                function=resource.name,
                path=Path(code.path).resolve(),
                sha256=base64.b64decode(inputs["sourceCodeHash"]).hex(),
                runtime=inputs["runtime"],
                architecture=architecture,
                handler=inputs["handler"],
                environment=dict((inputs.get("environment") or {}).get("variables") or {}),
            )
        )
    return found
