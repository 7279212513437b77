"""The CI job graph: who gets which AWS role, what runs after what, and which stacks run at all."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.project import stack_names

PROJECT_DIR = Path(__file__).resolve().parent.parent
WORKFLOWS = PROJECT_DIR / ".github" / "workflows"
PROMOTION = ["dev", "staging", "prod"]
PULUMI_RUN = "./.github/actions/pulumi-run"
ROLE = re.compile(r"\$\{\{ vars\.(AWS_\w+_ROLE_ARN) \}\}")


def workflow(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


def triggers(document: dict[str, Any]) -> dict[str, Any]:
    """`on:` (YAML 1.1 reads the bare key as True)."""
    return document.get("on", document.get(True))


def runs(job: dict[str, Any]) -> list[dict[str, Any]]:
    """The job's pulumi-run steps' inputs."""
    return [step["with"] for step in job.get("steps", []) if step.get("uses") == PULUMI_RUN]


def roles(job: dict[str, Any]) -> set[str]:
    """Every AWS role variable the job names anywhere."""
    return set(ROLE.findall(json.dumps(job)))


def needs(job: dict[str, Any]) -> set[str]:
    value = job.get("needs", [])
    return {value} if isinstance(value, str) else set(value)


def stacks_outputs(project_dir: Path) -> dict[str, list[str]]:
    result = subprocess.run(  # noqa: S603 - our own script
        [str(PROJECT_DIR / ".ci/stacks"), str(project_dir)],
        capture_output=True,
        text=True,
        check=True,
    )
    return {k: json.loads(v) for k, v in (ln.split("=", 1) for ln in result.stdout.splitlines())}


CI = workflow("ci.yml")
DRIFT = workflow("drift.yml")
DEPLOYS = {
    name: job for name, job in CI["jobs"].items() if any(r["command"] == "up" for r in runs(job))
}


def test_the_stack_list_is_the_stack_files_in_promotion_order():
    outputs = stacks_outputs(PROJECT_DIR)
    assert sorted(outputs["all"]) == stack_names(PROJECT_DIR)
    assert outputs["all"][:3] == PROMOTION
    assert outputs["more"] == [s for s in outputs["all"] if s not in PROMOTION]


def test_a_new_stack_file_is_planned_previewed_deployed_and_drift_checked(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for stack_file in PROJECT_DIR.glob("Pulumi*.yaml"):
        shutil.copy(stack_file, project)
    shutil.copy(PROJECT_DIR / "Pulumi.staging.yaml", project / "Pulumi.qa.yaml")
    outputs = stacks_outputs(project)
    assert outputs == {"all": [*PROMOTION, "qa"], "more": ["qa"]}
    matrices = [
        CI["jobs"]["plan"]["strategy"]["matrix"]["stack"],
        CI["jobs"]["preview"]["strategy"]["matrix"]["stack"],
        DRIFT["jobs"]["drift"]["strategy"]["matrix"]["stack"],
    ]
    assert matrices == ["${{ fromJSON(needs.stacks.outputs.all) }}"] * 3
    assert CI["jobs"]["up-more"]["strategy"]["matrix"]["stack"] == (
        "${{ fromJSON(needs.stacks.outputs.more) }}"
    )


def test_no_workflow_lists_stacks_by_hand():
    for path in WORKFLOWS.glob("*.yml"):
        for match in re.finditer(r"stack: \[.*\]", path.read_text(encoding="utf-8")):
            pytest.fail(f"{path.name}: {match.group(0)}")


def test_pull_requests_get_only_the_read_only_preview_role():
    assert "pull_request" in triggers(CI)
    on_pull_requests = {
        name: job
        for name, job in CI["jobs"].items()
        if "push" not in str(job.get("if", "")) and name not in needs_chain_of_push_jobs()
    }
    assert set(on_pull_requests) == {"test", "stacks", "plan", "preview"}
    for name, job in on_pull_requests.items():
        assert roles(job) <= {"AWS_PREVIEW_ROLE_ARN"}, name
    preview = CI["jobs"]["preview"]
    assert [r["command"] for r in runs(preview)] == ["preview"]
    assert runs(preview)[0]["aws-role-arn"] == "${{ vars.AWS_PREVIEW_ROLE_ARN }}"
    assert "environment" not in preview
    assert "github.event.pull_request.head.repo.full_name == github.repository" in preview["if"]


def needs_chain_of_push_jobs() -> set[str]:
    """Jobs that only run after a push-only job (through `needs`)."""
    chained = {name for name, job in CI["jobs"].items() if "push" in str(job.get("if", ""))}
    grew = True
    while grew:
        more = {name for name, job in CI["jobs"].items() if needs(job) & chained} - chained
        chained |= more
        grew = bool(more)
    return chained


ACTION = yaml.safe_load((PROJECT_DIR / ".github/actions/pulumi-run/action.yml").read_text())
ACTION_STEPS = ACTION["runs"]["steps"]


def test_each_deploy_runs_in_its_environment_with_its_role_one_at_a_time():
    assert set(DEPLOYS) == {"up-dev", "up-staging", "up-prod", "up-more"}
    for name, job in DEPLOYS.items():
        [run] = runs(job)
        assert job["environment"] == run["stack"], name
        assert roles(job) == {"AWS_DEPLOY_ROLE_ARN"}, name
        assert job["permissions"]["id-token"] == "write"
        assert job["concurrency"] == {
            "group": f"deploy-{run['stack']}",
            "cancel-in-progress": False,
        }
        checkout = job["steps"][0]
        assert checkout["uses"].startswith("actions/checkout@")
        assert checkout["with"]["ref"] == "${{ github.sha }}", "the same commit in every stage"
        assert checkout["with"]["fetch-depth"] == 0, "the ancestry check needs the history"


def step_index(text: str) -> int:
    """The position of the action's step whose `run` contains `text`."""
    [index] = [i for i, s in enumerate(ACTION_STEPS) if text in s.get("run", "")]
    return index


def test_the_action_fails_closed_and_never_creates_a_stack():
    for step in ACTION_STEPS:
        assert "upsert" not in step.get("with", {}), step
        assert "stack init" not in step.get("run", ""), step
    ready, select = step_index(".ci/stack-ready"), step_index(".ci/stack-select")
    [order] = [i for i, s in enumerate(ACTION_STEPS) if s.get("run") == '.ci/deploy-order "$STACK"']
    command = step_index(".ci/pulumi-command")
    assert ready < select < order < command
    assert ACTION_STEPS[order]["if"] == "inputs.command == 'up'"
    assert "if" not in ACTION_STEPS[select], "every command opens its stack first"


def test_a_failed_command_is_still_commented_then_fails_the_job():
    command = step_index(".ci/pulumi-command")
    comment, record = step_index(".ci/pr-comment"), step_index("--record")
    assert command < comment < record < len(ACTION_STEPS) - 1
    # .ci/pulumi-command exits 0 and reports the status: the steps after it run without always().
    assert ACTION_STEPS[comment]["if"] == (
        "inputs.comment-on-pr == 'true' && github.event_name == 'pull_request'"
    )
    assert ACTION_STEPS[record]["if"] == (
        "inputs.command == 'up' && steps.run.outputs.status == '0'"
    )
    last = ACTION_STEPS[-1]
    assert last["run"] == 'exit "$STATUS"'
    assert last["env"]["STATUS"] == "${{ steps.run.outputs.status }}"
    assert "if" not in last


def test_promotion_is_dev_then_staging_then_prod_behind_its_reviewers():
    jobs = CI["jobs"]
    assert jobs["up-dev"]["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert needs(jobs["up-dev"]) == {"test", "plan"}
    assert needs(jobs["up-staging"]) == {"up-dev"}
    assert needs(jobs["up-prod"]) == {"up-staging", "preview-prod"}
    assert [r["stack"] for r in runs(jobs["preview-prod"])] == ["prod"]
    assert roles(jobs["preview-prod"]) == {"AWS_DRIFT_ROLE_ARN"}
    assert jobs["preview-prod"]["environment"] == "preview-prod"
    assert jobs["up-prod"]["environment"] == "prod"
    assert needs(jobs["up-more"]) == {"stacks", "up-staging"}
    assert [runs(jobs[f"up-{s}"])[0]["stack"] for s in PROMOTION] == PROMOTION
    assert triggers(CI)["push"] == {"branches": ["main"]}


def test_the_drift_check_is_scheduled_read_only_and_fails_on_changes():
    assert set(triggers(DRIFT)) == {"schedule", "workflow_dispatch"}
    assert triggers(DRIFT)["schedule"][0]["cron"]
    job = DRIFT["jobs"]["drift"]
    [run] = runs(job)
    assert run["command"] == "drift"
    assert roles(job) == {"AWS_DRIFT_ROLE_ARN"}
    assert job["environment"] == "drift-check"
    report = job["steps"][-1]
    assert report["if"] == "failure()"
    assert report["run"] == '.ci/drift-report "$STACK" "$RUNNER_TEMP/pulumi-$STACK.txt"'


def test_drift_waits_for_the_deploy_of_its_stack():
    group = DRIFT["jobs"]["drift"]["concurrency"]
    assert group == {"group": "deploy-${{ matrix.stack }}", "cancel-in-progress": False}
    assert CI["jobs"]["up-more"]["concurrency"] == group


PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def remote_uses() -> list[str]:
    """Every `uses:` line of a workflow or action that names another repository, as written."""
    files = [*WORKFLOWS.glob("*.yml"), *(PROJECT_DIR / ".github/actions").rglob("action.yml")]
    lines = [ln.strip() for f in files for ln in f.read_text(encoding="utf-8").splitlines()]
    found = [ln.split("uses:", 1)[1].strip() for ln in lines if "uses:" in ln]
    return [u for u in found if not u.startswith("./")]


def test_every_action_is_pinned_by_commit_with_its_tag_beside_it():
    uses = remote_uses()
    assert len(uses) >= 10
    for use in uses:
        assert PINNED.match(use), use
    assert not PINNED.match("actions/checkout@v4"), "the check can fail"


def test_dependabot_keeps_the_pins_current():
    config = yaml.safe_load((PROJECT_DIR / ".github/dependabot.yml").read_text())
    [update] = config["updates"]
    assert update["package-ecosystem"] == "github-actions"
    assert set(update["directories"]) == {"/", "/.github/actions/pulumi-run"}


def test_the_pulumi_cli_version_is_pinned():
    version = (PROJECT_DIR / ".pulumi.version").read_text().strip()
    assert re.fullmatch(r"3\.\d+\.\d+", version), version
    [install] = [s for s in ACTION_STEPS if s.get("uses", "").startswith("pulumi/actions@")]
    assert install["with"] == {"pulumi-version-file": ".pulumi.version"}, "install only"
