"""Construct over gRPC vs direct Python: the same UploadService, the same run (figures only).

Direct: the offline engine runs `UploadService(...)` in this process (Pulumi's mock monitor).
Construct: the component package's plugin, started as the engine starts it, builds the same
UploadService for a `Construct` call from a fake engine and monitor served here over gRPC, with
inputs as a TypeScript program sends them. Archives come from the warm build cache in both, so
the figures compare the two ways in, not packaging. Target: Construct <= 1.5x direct.

Run: .venv/bin/python scripts/bench_multilang.py [--quick]   (--quick: one round; the tests run it)
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from components.packaging import default_cache_dir  # noqa: E402
from components.storage import StorageBucketArgs  # noqa: E402
from components.upload_service import UploadService, UploadServiceArgs  # noqa: E402
from offline import run_program  # noqa: E402
from offline.plugin_host import Plugin  # noqa: E402
from offline.wire_engine import FakeEngine, FakeMonitor, serve  # noqa: E402

QUICK = "--quick" in sys.argv[1:]
ROUNDS = 1 if QUICK else 7
ARGS = UploadServiceArgs(bucket=StorageBucketArgs(kms_key="create"), auth="none")
INPUTS = {"bucket": {"kmsKey": "create"}, "auth": "none"}
"""The same arguments, as Python passes them and as TypeScript sends them."""


def timed(step: Callable[[int], object]) -> list[float]:
    step(-1)  # warm-up: imports, archive cache, gRPC channels
    times = []
    for i in range(ROUNDS):
        start = time.perf_counter()
        step(i)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    direct = timed(lambda i: run_program(lambda: UploadService(f"direct{i + 1}", ARGS)))
    engine, monitor = FakeEngine(), FakeMonitor()
    server, address = serve(engine, monitor)
    start = time.perf_counter()
    # The consumer's folder is a TypeScript program's; the plugin shares this run's archive cache.
    consumer = REPO / "examples" / "typescript"
    plugin = Plugin(address, consumer, {"UPLOADS_BUILD_CACHE": str(default_cache_dir())})
    plugin.schema()
    startup = time.perf_counter() - start
    try:
        construct = timed(
            lambda i: plugin.construct(
                address, "uploads:index:UploadService", f"wire{i + 1}", INPUTS
            )
        )
    finally:
        plugin.close()
        server.stop(grace=None)
    d, c = statistics.median(direct), statistics.median(construct)
    children = sum(1 for r in monitor.resources.values() if r.name.startswith("wire1"))
    print(f"UploadService ({children} resources), median of {ROUNDS} run(s) after a warm-up:")
    print(f"  direct in Python (offline engine)      {d * 1000:8.1f} ms")
    print(f"  Construct over gRPC (plugin process)   {c * 1000:8.1f} ms")
    print(f"  ratio Construct / direct               {c / d:8.2f}x   (target <= 1.5x)")
    print(
        f"  plugin start to first GetSchema        {startup * 1000:8.1f} ms (once per deployment)"
    )


if __name__ == "__main__":
    main()
