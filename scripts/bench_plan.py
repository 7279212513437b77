"""Benchmark `plan`: figures only, no thresholds (targets in the comments are for the reader).

1. `plan dev` (program run + checks + rendering) against a bare pulumi_aws program registering
   the same resources (same types, logical names, parents, options and inputs) under the same
   offline engine. Target: ratio <= 1.3.
2. Packaging time per function inside a warm `plan dev` (no source change). Target: <= 0.2 s.
3. Plan time of an HttpApi with 5 and with 50 routes: the cost should grow linearly.

Each figure is the median of several runs after one warm-up run in the same process.
Run: .venv/bin/python scripts/bench_plan.py
"""

from __future__ import annotations

import io
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import pulumi  # noqa: E402
import pulumi_aws  # noqa: E402
from rich.console import Console  # noqa: E402

from components import function as function_module  # noqa: E402
from components.function import PythonFunction, PythonFunctionArgs  # noqa: E402
from components.http_api import HttpApi, HttpApiArgs  # noqa: E402
from offline import ResourceGraph, run_program  # noqa: E402
from offline.preview import make_plan  # noqa: E402
from offline.project import load_stack_config  # noqa: E402
from offline.render import render_plan  # noqa: E402

RUNS = 5
HELLO = REPO / "examples" / "minimal" / "hello"


def median_seconds(action: Callable[[], object], runs: int = RUNS) -> float:
    action()  # warm-up: imports, packaging cache
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def plan_dev() -> None:
    plan = make_plan("dev", REPO)
    render_plan(Console(file=io.StringIO(), color_system=None, width=200), plan)


def _aws_class(type_: str) -> Callable[..., pulumi.CustomResource]:
    """`aws:lambda/function:Function` -> pulumi_aws.lambda_.Function."""
    _, module_path, class_name = type_.split(":")
    module = module_path.split("/")[0]
    package = getattr(pulumi_aws, module, None) or getattr(pulumi_aws, f"{module}_")
    return getattr(package, class_name)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def bare_program(graph: ResourceGraph) -> Callable[[], None]:
    """A program registering the graph's resources directly: resolved values, no components'
    logic, no Outputs between resources (the baseline the components' overhead is measured on).
    Nested values keep their wire (camelCase) keys, which pulumi_aws passes through unchanged."""

    def program() -> None:
        created: dict[str, pulumi.Resource] = {}
        for r in graph:
            opts = pulumi.ResourceOptions(
                parent=created.get(r.parent or ""),
                protect=r.protect,
                retain_on_delete=r.retain_on_delete,
                depends_on=[created[u] for u in r.explicit_dependencies],
            )
            if r.custom:
                kwargs: dict[str, Any] = {_snake(k): v for k, v in r.inputs.items()}
                created[r.urn] = _aws_class(r.type)(r.name, opts=opts, **kwargs)
            else:
                created[r.urn] = pulumi.ComponentResource(r.type, r.name, None, opts)
        for key, value in graph.outputs.items():
            pulumi.export(key, value)

    return program


def api_program(routes: int) -> Callable[[], None]:
    def program() -> None:
        handler = PythonFunction("hello", PythonFunctionArgs(source=HELLO))
        HttpApi("api", HttpApiArgs(routes={f"GET /r{i}": handler for i in range(routes)}))

    return program


def packaging_seconds() -> dict[str, float]:
    """Seconds spent building archives per function in one warm plan of `dev`."""
    spent: dict[str, float] = {}
    original = function_module.build_archive

    def timed(source: Path, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(source, **kwargs)
        finally:
            spent[Path(source).name] = time.perf_counter() - start

    function_module.build_archive = timed
    try:
        plan_dev()
    finally:
        function_module.build_archive = original
    return spent


def main() -> None:
    config = load_stack_config(REPO, "dev")
    dev = make_plan("dev", REPO).graph
    bare = bare_program(dev)
    same = run_program(bare, project="serverless-uploads", stack="dev", config=config)
    differences = dev.changes(same)
    print(f"bare program: {len(same)} resources, {len(differences)} differing from dev's")

    plan_s = median_seconds(plan_dev)
    bare_s = median_seconds(
        lambda: run_program(bare, project="serverless-uploads", stack="dev", config=config)
    )
    print(f"plan dev            {plan_s:6.3f} s  (median of {RUNS})")
    print(f"bare pulumi_aws     {bare_s:6.3f} s")
    print(f"ratio               {plan_s / bare_s:6.2f}x  (target <= 1.3x)")

    print("warm packaging per function (target <= 0.2 s):")
    for name, seconds in sorted(packaging_seconds().items()):
        print(f"  {name:<16}  {seconds:6.4f} s")

    five = median_seconds(lambda: run_program(api_program(5)), runs=3)
    fifty = median_seconds(lambda: run_program(api_program(50)), runs=3)
    per_route = (fifty - five) / 45
    print("HttpApi plan time by route count (linear: the 45 extra routes cost 45 x per route):")
    print(f"  5 routes   {five:6.3f} s")
    print(f"  50 routes  {fifty:6.3f} s  ({fifty / five:.1f}x; {per_route * 1000:.1f} ms/route)")


if __name__ == "__main__":
    main()
