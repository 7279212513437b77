"""The policy page's rule table, the CI workflows and the scripts CI runs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from policy.rules import RULES
from scripts.plan_summary import render

PROJECT_DIR = Path(__file__).resolve().parent.parent
POLICY_PAGE = (PROJECT_DIR / "docs" / "policy.md").read_text(encoding="utf-8")
WORKFLOWS = sorted((PROJECT_DIR / ".github" / "workflows").glob("*.yml"))


def rule_table() -> list[list[str]]:
    start = POLICY_PAGE.index("<!-- policy-rules-table")
    rows = []
    for line in POLICY_PAGE[start:].splitlines()[3:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def test_the_policy_page_rule_table_is_the_rules():
    expected = [[f"`{r.id}`", r.level, r.description, r.remediation] for r in RULES]
    assert rule_table() == expected


def make(*args: str) -> subprocess.CompletedProcess:
    command = ["make", "--no-print-directory", *args]
    return subprocess.run(  # noqa: S603  (fixed arguments)
        command,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )


def test_make_test_validates_the_workflows():
    dry_run = make("-n", "test").stdout
    assert "workflows" in dry_run or "check-jsonschema" in dry_run
    result = make("workflows")
    assert result.returncode == 0, result.stdout + result.stderr
    assert all(str(w.relative_to(PROJECT_DIR)) in result.stdout for w in WORKFLOWS)


@pytest.mark.parametrize(
    ("breakage", "old", "new"),
    [
        (
            "unknown key",
            "    runs-on: ubuntu-latest\n",
            "    runs-on: ubuntu-latest\n    run-on: x\n",
        ),
        ("job without steps", "    steps:\n", "    stepz:\n"),
        ("not YAML", "jobs:\n", "jobs: [\n"),
    ],
)
def test_a_broken_workflow_fails_the_check(tmp_path, breakage, old, new):
    broken = tmp_path / "ci.yml"
    text = (PROJECT_DIR / ".github/workflows/ci.yml").read_text(encoding="utf-8")
    assert old in text, breakage
    broken.write_text(text.replace(old, new, 1), encoding="utf-8")
    result = make("workflows", f"WORKFLOWS={broken}")
    assert result.returncode != 0, breakage
    assert str(broken) in result.stdout + result.stderr


BACKEND = {"PULUMI_STATE_BUCKET": "state-bucket", "AWS_REGION": "us-east-1"}
ROLE = {"AWS_DEPLOY_ROLE_ARN": "arn:aws:iam::123456789012:role/github-deploy-dev"}


def credentials_check(tmp_path, variables: dict[str, str], *args: str):
    output = tmp_path / "output"
    output.write_text("")
    env = {"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(output), **variables}
    result = subprocess.run(  # noqa: S603  (our own script)
        [PROJECT_DIR / ".ci/credentials-check", "AWS_DEPLOY_ROLE_ARN", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return result, output.read_text()


def test_real_runs_need_the_role_and_the_backend(tmp_path):
    result, output = credentials_check(tmp_path, ROLE | BACKEND)
    assert (result.returncode, output, result.stdout) == (0, "ready=true\n", "")


@pytest.mark.parametrize(
    ("variables", "missing"),
    [
        (BACKEND, "AWS_DEPLOY_ROLE_ARN"),
        (ROLE | {"AWS_REGION": "us-east-1"}, "PULUMI_STATE_BUCKET"),
        ({}, "AWS_DEPLOY_ROLE_ARN PULUMI_STATE_BUCKET AWS_REGION"),
    ],
)
def test_a_missing_credential_skips_with_a_visible_notice(tmp_path, variables, missing):
    result, output = credentials_check(tmp_path, variables)
    assert (result.returncode, output) == (0, "ready=false\n")
    assert result.stdout.startswith("::notice ")
    assert f"Missing the variables {missing} " in result.stdout
    required, _ = credentials_check(tmp_path, variables, "--require")
    assert required.returncode == 1
    assert required.stdout.startswith("::error ")


def test_workflows_use_oidc_and_never_stored_keys_or_tokens():
    for workflow in WORKFLOWS:
        text = workflow.read_text(encoding="utf-8")
        for stored in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "PULUMI_ACCESS_TOKEN"):
            assert stored not in text, (workflow.name, stored)
        if "pulumi-run" in text:
            assert "id-token: write" in text, workflow.name


def plan_document(violations: list[dict]) -> dict:
    """A `plan --json` document (docs/plan-json.md) with one bucket and the given violations."""
    return {
        "version": 1,
        "project": "serverless-uploads",
        "stack": "dev",
        "summary": {"create": 1},
        "resources": [
            {
                "urn": "urn:pulumi:dev::serverless-uploads::aws:s3/bucket:Bucket::media",
                "type": "aws:s3/bucket:Bucket",
                "name": "media",
                "parent": None,
                "custom": True,
                "inputs": {},
                "options": {"protect": False, "retainOnDelete": False, "dependsOn": []},
            }
        ],
        "config": {"serverless-uploads:protectData": {"value": "false", "source": "default"}},
        "outputs": {"bucketName": "media-1234567"},
        "policy": {
            "mandatory": sum(v["level"] == "mandatory" for v in violations),
            "advisory": sum(v["level"] == "advisory" for v in violations),
            "violations": violations,
        },
    }


def test_plan_summary_puts_the_policy_report_first():
    violation = {
        "ruleId": "S3.8",
        "level": "mandatory",
        "resource": "media",
        "urn": "urn:pulumi:dev::serverless-uploads::aws:s3/bucket:Bucket::media",
        "message": "has no BucketPublicAccessBlock",
        "remediation": "Add one | with all four flags",
    }
    markdown = render("dev", 2, plan_document([violation]))
    heading, _, table_header, _, row, *rest = markdown.splitlines()
    assert heading.startswith("### ❌ `dev`: 1 to create, 1 mandatory and 0 advisory")
    assert "mandatory policy violation" in heading
    assert table_header == "| Level | Rule | Resource | Problem | How to fix |"
    assert row == (
        "| mandatory | `S3.8` | `media` | has no BucketPublicAccessBlock | "
        "Add one \\| with all four flags |"
    )
    assert "| `media` | aws:s3/bucket:Bucket |  | false |" in rest
    assert "| `serverless-uploads:protectData` | false | default |" in rest
    assert '  "bucketName": "media-1234567"' in rest


def test_plan_summary_of_a_clean_and_of_a_failed_plan():
    assert render("prod", 0, plan_document([])).startswith(
        "### ✅ `prod`: 1 to create, 0 mandatory"
    )
    failed = render("prod", 1, None)
    assert failed.startswith("### ❌ `prod`: plan failed (exit 1, program error)")
    invalid = render("prod", 3, None)
    assert invalid.startswith("### ❌ `prod`: plan failed (exit 3, invalid configuration)")
    assert render("qa", 4, None).startswith("### ❌ `qa`: plan failed (exit 4, no such stack)")


def pins(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("==") for line in lines if "==" in line and not line.startswith("#"))


def test_the_pack_pins_what_the_tests_ran_it_with():
    """The pack's own virtualenv (policy/requirements.txt) gets the versions the tests use."""
    pack = pins(PROJECT_DIR / "policy/requirements.txt")
    project = pins(PROJECT_DIR / "requirements.txt") | pins(PROJECT_DIR / "requirements-dev.txt")
    assert set(pack) == {"pulumi", "pulumi-policy"}
    assert {name: project[name] for name in pack} == pack
