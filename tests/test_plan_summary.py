"""The pull request's plan summary shows what the branch changes against the base's own offline
plan, not the whole stack as new: `scripts/plan_summary.py --base` and `.ci/plan-summary STACK
BASE`, the latter on a real clone with a real commit."""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path

from scripts.plan_summary import changes, render

PROJECT_DIR = Path(__file__).resolve().parent.parent


def ci_plan_summary(checkout: Path, tmp_path: Path, *args: str) -> str:
    """`.ci/plan-summary` of `checkout` as CI runs it: the Markdown it adds to the job summary."""
    summary = tmp_path / "summary.md"
    ran = subprocess.run(  # noqa: S603 - the checkout's own script
        [checkout / ".ci/plan-summary", *args],
        env={"PATH": os.environ["PATH"], "GITHUB_STEP_SUMMARY": str(summary)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    return summary.read_text(encoding="utf-8")


def test_ci_plan_summary_renders_the_real_plan(tmp_path: Path) -> None:
    markdown = ci_plan_summary(PROJECT_DIR, tmp_path, "dev")
    assert markdown.startswith("### ✅ `dev`: ")
    assert "0 mandatory" in markdown
    assert "| `uploads-bucket-bucket` | aws:s3/bucket:Bucket | " in markdown
    assert "| `serverless-uploads:logRetentionDays` | 7 | " in markdown


def plan_json(stack: str = "dev") -> dict:
    ran = subprocess.run(  # noqa: S603 - our own interpreter and module
        [str(PROJECT_DIR / ".venv/bin/python"), "-m", "offline", "plan", stack, "--json"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(ran.stdout)


def test_changes_name_what_the_branch_adds_removes_and_changes() -> None:
    base = plan_json()
    branch = copy.deepcopy(base)
    resources = {r["name"]: r for r in branch["resources"]}
    resources["uploads-api-log-group"]["inputs"]["retentionInDays"] = 30
    resources["uploads-bucket-bucket"]["options"]["protect"] = True
    dropped = branch["resources"].pop()
    branch["resources"].append({**dropped, "name": "uploads-extra", "urn": "urn:extra"})
    found = changes(base, branch)
    assert (
        "~",
        "uploads-api-log-group",
        "aws:cloudwatch/logGroup:LogGroup",
        "retentionInDays",
    ) in found
    assert ("~", "uploads-bucket-bucket", "aws:s3/bucket:Bucket", "options.protect") in found
    assert ("+", "uploads-extra", dropped["type"], "") in found
    assert ("-", dropped["name"], dropped["type"], "") in found
    assert len(found) == 4
    heading = render("dev", 0, branch, ("main at 1a2b3c4", base)).splitlines()[0]
    assert heading.startswith(
        "### ✅ `dev`: against main at 1a2b3c4: 1 to add, 2 to change, 1 to remove"
    )


def test_a_stack_the_base_cannot_plan_is_new() -> None:
    heading = render("qa", 0, plan_json(), ("main at 1a2b3c4", None)).splitlines()[0]
    assert "to create, new against main at 1a2b3c4" in heading


def test_ci_plan_summary_compares_with_the_merge_base(tmp_path: Path) -> None:
    """A clone whose branch commit raises dev's log retention: the summary names the log groups
    that change and nothing else, against the commit before."""
    clone = tmp_path / "clone"
    git = ["git", "-C", str(clone)]
    subprocess.run(["git", "clone", "--quiet", PROJECT_DIR, clone], check=True)  # noqa: S603, S607
    (clone / ".venv").symlink_to(PROJECT_DIR / ".venv")
    for name in ("requirements.txt", "requirements-dev.txt"):  # older than the venv's stamps
        os.utime(clone / name, (0, 0))
    stack_file = clone / "Pulumi.dev.yaml"
    text = stack_file.read_text(encoding="utf-8")
    assert "logRetentionDays: 7" in text
    stack_file.write_text(text.replace("logRetentionDays: 7", "logRetentionDays: 14"))
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.com"]
    commit = [*git, *identity, "commit", "--quiet", "-am", "dev keeps logs 14 days"]
    subprocess.run(commit, check=True)  # noqa: S603 - git on the test's own clone
    markdown = ci_plan_summary(clone, tmp_path, "dev", "HEAD~1")
    assert markdown.startswith("### ✅ `dev`: against HEAD~1 at ")
    assert ": 0 to add, 3 to change, 0 to remove" in markdown.splitlines()[0]
    rows = [line for line in markdown.splitlines() if line.startswith("| ~ |")]
    assert {row.split("|")[2].strip() for row in rows} == {
        "`uploads-api-log-group`",
        "`uploads-uploads-log-group`",
        "`uploads-on-upload-log-group`",
    }
    assert all(row.split("|")[4].strip() == "retentionInDays" for row in rows)
    listed = subprocess.run([*git, "worktree", "list"], capture_output=True, text=True, check=True)  # noqa: S603
    assert len(listed.stdout.splitlines()) == 1, "the base's worktree was left behind"
