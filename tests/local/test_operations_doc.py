"""docs/operations.md as an operator follows it, against `make dev`: the log lines of one upload
and its thumbnail are as many as the page says, and the failure drill runs exactly as written.

One server for the module; the log count runs first, before the drill switches faults on.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from devserver import PROJECT_DIR, DevServer, image_bytes

OPERATIONS = PROJECT_DIR / "docs" / "operations.md"
BLOCK = re.compile(r"^( *)```(\w+)\n(.*?)^\1```$", re.MULTILINE | re.DOTALL)
BLOCK_TIMEOUT_S = 120
"""A redrive block starts Python, reads the outputs file and invokes on_upload up to once."""
FUNCTION_LINE = re.compile(r"^\d\d:\d\d:\d\d \[[\w-]+\] ")
"""A line a function wrote (local mode prefixes it with its label), not local mode's own."""


OUTSIDE_AN_OPERATORS_SHELL = ("VIRTUAL_ENV", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
"""What the test runner's own environment may carry (under `make test`, MAKELEVEL makes every
make in the drill a sub-make, which prints `make[1]: ***`) and a second terminal has not."""


@dataclass(frozen=True)
class Block:
    kind: str
    """`sh` (run it), `text` (what the `sh` block before it prints), `log` (make dev's log)."""
    body: str


def section(title: str) -> str:
    text = OPERATIONS.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def drill_blocks() -> list[Block]:
    blocks = []
    for match in BLOCK.finditer(section("Failure drill")):
        indent = len(match.group(1))
        lines = [line[indent:] for line in match.group(3).splitlines()]
        blocks.append(Block(match.group(2), "\n".join(lines)))
    return blocks


def pattern(expected: str) -> re.Pattern[str]:
    """An expected line as the doc writes it, `…` standing for anything."""
    return re.compile(".*".join(re.escape(part) for part in expected.split("…")))


class Shell:
    """One bash, as in a second terminal: each block's output and exit status."""

    def __init__(self, cwd: Path) -> None:
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],  # noqa: S607 - the shell an operator has
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={k: v for k, v in os.environ.items() if k not in OUTSIDE_AN_OPERATORS_SHELL},
        )
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))

    def run(self, commands: str) -> tuple[list[str], int]:
        marker = f"block-done-{uuid.uuid4().hex}"
        assert self.process.stdin is not None
        self.process.stdin.write(f"{commands}\necho {marker} $?\n")
        self.process.stdin.flush()
        output: list[str] = []
        deadline = time.monotonic() + BLOCK_TIMEOUT_S
        while True:
            try:
                line = self._lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no end within {BLOCK_TIMEOUT_S} s: {output}") from None
            before, found, status = line.partition(marker)
            if before or not found:  # output without a final newline ends before the marker
                output.append(before)
            if found:
                return output, int(status)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def test_one_upload_and_its_thumbnail_log_as_many_lines_as_the_page_says(dev_server: DevServer):
    stated = re.search(
        r"one upload and its thumbnail write (\d+) lines to `make dev`'s log, (\d+) of them\s+"
        r"the functions' own",
        section("Local mode"),
    )
    assert stated, "docs/operations.md no longer states the log lines of one upload"
    start = _quiet(dev_server)
    reply = dev_server.request(
        "POST", "/uploads", image_bytes("PNG"), {"content-type": "image/png"}
    )
    assert reply.status == 201, reply.body
    dev_server.wait_for_log(r"-> uploads-on-upload attempt 1/3: ok", 30, start)
    lines = dev_server.lines[start : _quiet(dev_server)]
    own = [line for line in lines if FUNCTION_LINE.match(line)]
    assert not [line for line in lines if "VIPS:" in line], "libvips INFO lines are back"
    assert (len(lines), len(own)) == (int(stated.group(1)), int(stated.group(2))), "\n".join(lines)


def test_failure_drill_runs_as_written(dev_server: DevServer):
    blocks = drill_blocks()
    assert [b.kind for b in blocks].count("sh") >= 7, "the drill lost its steps"
    banner = "\n".join(dev_server.lines)
    export = re.search(
        r"failure drill \(docs/operations\.md\), in another shell: (export .+)$",
        banner,
        re.MULTILINE,
    )
    assert export, "make dev no longer prints the drill's export line"
    shell = Shell(PROJECT_DIR)
    try:
        _, status = shell.run(export.group(1))
        assert status == 0
        output: list[str] = []
        start = len(dev_server.lines)
        for index, block in enumerate(blocks):
            if block.kind == "sh":
                start = len(dev_server.lines)
                output, status = shell.run(block.body)
                if status != 0:  # only where the page shows the failure
                    assert "make: ***" in _text_after(blocks, index), (block.body, output)
            elif block.kind == "text":
                for expected in block.body.splitlines():
                    found = [line for line in output if pattern(expected).search(line)]
                    assert found, f"{expected!r} not in the output of the step:\n" + "\n".join(
                        output
                    )
            elif block.kind == "log":
                for expected in block.body.splitlines():
                    dev_server.wait_for_log(pattern(expected).pattern, 30, start)
    finally:
        shell.run('rm -f "$LOCAL/faults/"*')
        shell.close()


def _quiet(server: DevServer, for_s: float = 1.0) -> int:
    """The number of log lines once the server has written nothing for `for_s` seconds."""
    count = -1
    while count != len(server.lines):
        count = len(server.lines)
        time.sleep(for_s)
    return count


def _text_after(blocks: list[Block], index: int) -> str:
    """The `text` block right after block `index` (what the page says it prints), or ''."""
    following = blocks[index + 1] if index + 1 < len(blocks) else None
    return following.body if following and following.kind == "text" else ""


def test_the_api_switch_fails_requests_as_lambda_would(dev_server: DevServer):
    """The switch `make dev` prints for the API function: while it is on, API Gateway's answer to
    a function error (500, its own body), not retried; off again, requests succeed."""
    banner = "\n".join(dev_server.lines)
    switch = Path(re.search(r"touch (\S+/uploads-uploads)  \(every request fails", banner)[1])
    start = len(dev_server.lines)
    switch.write_text("forced by the test")
    try:
        failed = dev_server.request("GET", "/uploads")
    finally:
        switch.unlink()
    assert (failed.status, failed.json()) == (500, {"message": "Internal Server Error"})
    dev_server.wait_for_log(r"API GET /uploads 500", 5, start)
    assert dev_server.request("GET", "/uploads").status == 200
