"""Benchmark `plan`: figures only, no thresholds (targets in the comments are for the reader).

1. `plan dev` (program run + checks + rendering) against a bare pulumi_aws program registering
   the same resources (same types, logical names, parents, options and inputs) under the same
   offline engine. Target: ratio <= 1.3.
2. Packaging time per function inside a warm `plan dev` (no source change). Target: <= 0.2 s.
3. Plan time of an HttpApi with 5 and with 50 routes: the cost should grow linearly.
4. `make plan`'s wall time in a fresh process, as a user waits for it, against the import floor:
   a fresh process that only imports pulumi and the pulumi_aws packages the plan uses, and one
   that also imports the modules defining its resource types (which those packages load lazily,
   so the plan pays for them too). Goal: <= 2x.

Plan figures are median CPU seconds of interleaved runs after one warm-up each, in one process;
packaging and the fresh processes are wall time. On a busy machine the ratio still moves by about
+-0.1 between runs.
Run: .venv/bin/python scripts/bench_plan.py [--quick]
(--quick: one run each and 5 vs 10 routes; the tests run it.)
"""

from __future__ import annotations

import contextlib
import io
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import pulumi  # noqa: E402
import pulumi_aws  # noqa: E402

from components import function as function_module  # noqa: E402
from components.function import PythonFunction, PythonFunctionArgs  # noqa: E402
from components.http_api import HttpApi, HttpApiArgs  # noqa: E402
from offline import ResourceGraph, run_program, run_stack  # noqa: E402
from offline.__main__ import main as offline_main  # noqa: E402
from offline.diff import generated_values  # noqa: E402
from offline.project import load_stack_config  # noqa: E402

QUICK = "--quick" in sys.argv[1:]
RUNS = 1 if QUICK else 15
ROUTES = (5, 10) if QUICK else (5, 50)
WALL_RUNS = 1 if QUICK else 5
HELLO = REPO / "examples" / "minimal" / "hello"


def plan_dev() -> None:
    """`python -m offline plan dev`, as a user runs it, output discarded."""
    with contextlib.redirect_stdout(io.StringIO()):
        if offline_main(["plan", "dev", "--cwd", str(REPO)]) != 0:
            raise SystemExit("plan dev did not exit 0")


def cpu_seconds(actions: dict[str, Callable[[], object]], runs: int = RUNS) -> dict[str, float]:
    """Median CPU seconds of each action, runs interleaved after one warm-up each (imports,
    packaging cache). CPU time, not wall time: the figures must not depend on what else the
    machine runs (the work is single-threaded: the engine runs every RPC inline)."""
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for action in actions.values():
        action()
    for _ in range(runs):
        for name, action in actions.items():
            start = time.process_time()
            action()
            samples[name].append(time.process_time() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def _aws_class(type_: str) -> Callable[..., pulumi.CustomResource]:
    """`aws:lambda/function:Function` -> pulumi_aws.lambda_.Function."""
    _, module_path, class_name = type_.split(":")
    module = module_path.split("/")[0]
    package = getattr(pulumi_aws, module, None) or getattr(pulumi_aws, f"{module}_")
    return getattr(package, class_name)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def bare_program(graph: ResourceGraph) -> Callable[[], None]:
    """A program registering the graph's resources directly with pulumi_aws, as one would write
    it by hand without the components: the same inputs, where a value comes from another
    resource wired as that resource's output (`bucket.arn`, or `Output.all(...).apply(...)` for
    an ARN inside a policy document), so the engine resolves the same dependencies. Nested
    values keep their wire (camelCase) keys, which pulumi_aws passes through unchanged."""
    references: dict[str, tuple[str, str]] = {}
    for r in graph:
        generated = generated_values(r) if r.custom else {}
        for key, value in r.outputs.items():  # "id" first: the fake cloud adds `name` to all
            if (
                isinstance(value, str)
                and value in generated
                and hasattr(_aws_class(r.type), _snake(key))
            ):
                references.setdefault(value, (r.urn, _snake(key)))
    alternatives = "|".join(re.escape(v) for v in sorted(references, key=len, reverse=True))
    pattern = re.compile(f"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])")

    def wired(value: Any, created: dict[str, pulumi.Resource]) -> Any:
        if isinstance(value, dict):
            return {k: wired(v, created) for k, v in value.items()}
        if isinstance(value, list):
            return [wired(v, created) for v in value]
        found = pattern.findall(value) if isinstance(value, str) else []
        if not found:
            return value
        outputs = [getattr(created[references[v][0]], references[v][1]) for v in found]
        if found == [value]:
            return outputs[0]
        return pulumi.Output.all(*outputs).apply(lambda _, text=value: text)

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
                kwargs = {_snake(k): wired(v, created) for k, v in r.inputs.items()}
                created[r.urn] = _aws_class(r.type)(r.name, opts=opts, **kwargs)
            else:
                created[r.urn] = pulumi.ComponentResource(r.type, r.name, None, opts)
        for key, value in graph.outputs.items():
            pulumi.export(key, wired(value, created))

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


def fresh_wall_seconds(*command: str) -> float:
    """Median wall seconds of `command` in fresh processes, from the project folder."""
    samples = []
    for _ in range(WALL_RUNS):
        start = time.perf_counter()
        # Our own interpreter and arguments, never a shell.
        subprocess.run(command, cwd=REPO, check=True, capture_output=True)  # noqa: S603
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def import_floor(graph: ResourceGraph, *, classes: bool) -> str:
    """The code of a process that imports only what the plan cannot avoid: pulumi and the
    pulumi_aws packages of the graph's resource types (`pulumi_aws.s3`), or with `classes` the
    modules that define those types (`pulumi_aws.s3.bucket`), which the packages load lazily."""
    modules = {_aws_class(r.type).__module__ for r in graph if r.custom}
    if not classes:
        modules = {module.rsplit(".", 1)[0] for module in modules}
    return "; ".join(
        ["import pulumi", "import pulumi_aws", *(f"import {m}" for m in sorted(modules))]
    )


def print_wall_against_floor(graph: ResourceGraph) -> None:
    plan = fresh_wall_seconds(sys.executable, "-m", "offline", "plan", "dev")
    print(f"make plan STACK=dev, wall seconds in a fresh process, median of {WALL_RUNS}:")
    print(f"  plan dev                                     {plan:6.3f} s")
    for classes, what in ((False, "packages"), (True, "resource modules")):
        floor = fresh_wall_seconds(sys.executable, "-c", import_floor(graph, classes=classes))
        print(
            f"  import floor: pulumi + pulumi_aws {what:<16} {floor:6.3f} s"
            f"  plan {plan / floor:4.2f}x  (goal <= 2x)"
        )


def main() -> None:
    config = load_stack_config(REPO, "dev")
    dev = run_stack("dev", REPO)
    bare = bare_program(dev)
    same = run_program(bare, project="serverless-uploads", stack="dev", config=config)
    print(
        f"bare program: {len(same)} resources, {len(dev.changes(same))} differing from dev's, "
        f"{sum(len(r.dependencies) for r in same)} dependencies (dev: "
        f"{sum(len(r.dependencies) for r in dev)})"
    )
    seconds = cpu_seconds(
        {
            "plan": plan_dev,
            "bare": lambda: run_program(
                bare, project="serverless-uploads", stack="dev", config=config
            ),
        }
    )
    print(f"CPU seconds, median of {RUNS} interleaved runs:")
    print(f"  plan dev (whole command)  {seconds['plan']:6.3f} s")
    print(f"  bare pulumi_aws program   {seconds['bare']:6.3f} s")
    print(
        f"  ratio                     {seconds['plan'] / seconds['bare']:6.2f}x  (target <= 1.3x)"
    )

    print("warm packaging per function in plan dev, wall seconds (target <= 0.2 s):")
    for name, spent in sorted(packaging_seconds().items()):
        print(f"  {name:<16}  {spent:6.4f} s")

    few, many = ROUTES
    routes = cpu_seconds({n: lambda n=n: run_program(api_program(n)) for n in ROUTES})
    per_route = (routes[many] - routes[few]) / (many - few)
    print("HttpApi program, CPU seconds by route count (linear: the cost per extra route is flat):")
    print(f"  {few} routes   {routes[few]:6.3f} s")
    print(f"  {many} routes  {routes[many]:6.3f} s  ({per_route * 1000:.1f} ms per extra route)")

    print_wall_against_floor(dev)


if __name__ == "__main__":
    main()
