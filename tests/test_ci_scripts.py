"""The .ci/ scripts the pulumi-run action runs, against stand-ins for the Pulumi CLI and gh that
answer what the real ones print (sources cited in each script): the stack check fails closed, a
deploy refuses an older commit, a failed preview still reaches the pull request."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
CI = PROJECT_DIR / ".ci"
READY_HEADER = (
    "secretsprovider: awskms://alias/uploads-secrets-{stack}?region=us-east-1\n"
    "encryptedkey: AQICAHhQ1pZXhE0F1oKdwJ0lXwEXAMPLEONLY==\n"
)


def stand_in(bin_dir: Path, name: str, script: str) -> None:
    """An executable `name` on PATH that runs `script` (bash) and logs its arguments."""
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text(f'#!/usr/bin/env bash\necho "$*" >> "{bin_dir}/{name}.log"\n{script}\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def run(args: list[str], tmp_path: Path, cwd: Path | None = None, **env: str):
    environ = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", **env}
    return subprocess.run(  # noqa: S603 - our own scripts
        args, cwd=cwd or PROJECT_DIR, env=environ, capture_output=True, text=True, check=False
    )


# --- .ci/stack-ready ------------------------------------------------------------------------


def stack_file(tmp_path: Path, stack: str, header: str) -> Path:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    config = (PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")
    (project / f"Pulumi.{stack}.yaml").write_text(header + config, encoding="utf-8")
    return project


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("", "has no secretsprovider and encryptedkey"),
        ("encryptionsalt: v1:abc:def\n", "has an encryptionsalt"),
        (READY_HEADER.replace("secrets-{stack}", "secrets-prod"), "not its own key"),
        ("secretsprovider: awskms://alias/uploads-secrets-{stack}\n", "no secretsprovider and"),
    ],
)
def test_a_stack_file_ci_could_not_open_twice_is_refused(tmp_path, header, reason):
    project = stack_file(tmp_path, "dev", header.format(stack="dev"))
    result = run([str(CI / "stack-ready"), "dev", str(project)], tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("::error title=Stack dev not set up::Pulumi.dev.yaml ")
    assert reason in result.stdout
    assert "pulumi stack init dev --secrets-provider" in result.stdout


def test_a_stack_file_made_by_stack_init_with_its_own_key_passes(tmp_path):
    project = stack_file(tmp_path, "staging", READY_HEADER.format(stack="staging"))
    result = run([str(CI / "stack-ready"), "staging", str(project)], tmp_path)
    assert (result.returncode, result.stdout) == (0, "")


# --- .ci/stack-select -----------------------------------------------------------------------


def test_only_no_stack_named_means_not_created(tmp_path):
    # pkg/backend/backenderr/backenderr.go:47
    stand_in(tmp_path / "bin", "pulumi", "echo \"error: no stack named 'qa' found\" >&2; exit 255")
    result = run([str(CI / "stack-select"), "qa"], tmp_path, PULUMI_BACKEND_URL="s3://b/qa")
    assert result.returncode == 1
    assert "::error title=Stack qa not created::s3://b/qa has no stack qa" in result.stdout


@pytest.mark.parametrize(
    "error",
    [
        "error: failed to load checkpoint: AccessDenied: Access Denied status code: 403",
        "error: could not open bucket s3://wrong: NoSuchBucket",
        "error: getting secrets manager: AccessDeniedException: kms:Decrypt",
    ],
)
def test_any_other_stack_error_fails_the_job_as_it_is(tmp_path, error):
    stand_in(tmp_path / "bin", "pulumi", f"echo '{error}' >&2; exit 255")
    result = run([str(CI / "stack-select"), "dev"], tmp_path, PULUMI_BACKEND_URL="s3://b/dev")
    assert result.returncode == 1
    assert result.stdout == f"::error title=Cannot open stack dev::{error}\n"


def test_an_existing_stack_is_selected(tmp_path):
    stand_in(tmp_path / "bin", "pulumi", "exit 0")
    result = run([str(CI / "stack-select"), "dev"], tmp_path, PULUMI_BACKEND_URL="s3://b/dev")
    assert result.returncode == 0
    assert (tmp_path / "bin" / "pulumi.log").read_text() == "stack select dev --non-interactive\n"


# --- .ci/deploy-order -----------------------------------------------------------------------


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, list[str]]:
    """A repository with three commits on main: [oldest, middle, newest]."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)  # noqa: S603
    shas = []
    for n in range(3):
        subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", f"c{n}"], check=True)  # noqa: S603
        shas.append(
            subprocess.run(  # noqa: S603
                [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
            ).stdout.strip()
        )
    return repo, shas


def deployed(tmp_path: Path, sha: str | None) -> None:
    """The stack's tags as `pulumi stack tag ls --json` prints them (stack_tag.go:118-120)."""
    tags = json.dumps({"deployed-commit": sha} if sha else {})
    stand_in(tmp_path / "bin", "pulumi", f"[ \"$1 $2 $3\" = 'stack tag ls' ] && echo '{tags}'")


def checkout(repo: Path, sha: str) -> None:
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", sha], check=True)  # noqa: S603, S607


@pytest.mark.parametrize(("last", "head"), [(None, 0), (0, 2), (2, 2)])
def test_a_deploy_of_a_descendant_goes_ahead(tmp_path, history, last, head):
    repo, shas = history
    deployed(tmp_path, shas[last] if last is not None else None)
    checkout(repo, shas[head])
    result = run([str(CI / "deploy-order"), "prod"], tmp_path, cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_older_run_or_a_rerun_of_one_is_refused(tmp_path, history):
    repo, shas = history
    deployed(tmp_path, shas[2])
    checkout(repo, shas[1])
    result = run([str(CI / "deploy-order"), "prod"], tmp_path, cwd=repo)
    assert result.returncode == 1
    assert f"prod already runs {shas[2]}, and {shas[1]} does not descend from it" in result.stdout


def test_a_deployed_commit_outside_the_history_is_refused(tmp_path, history):
    repo, _ = history
    deployed(tmp_path, "0" * 40)
    result = run([str(CI / "deploy-order"), "dev"], tmp_path, cwd=repo)
    assert result.returncode == 1
    assert "a commit this repository does not have" in result.stdout


def test_record_tags_the_stack_with_head(tmp_path, history):
    repo, shas = history
    stand_in(tmp_path / "bin", "pulumi", "exit 0")
    result = run([str(CI / "deploy-order"), "dev", "--record"], tmp_path, cwd=repo)
    assert result.returncode == 0
    log = (tmp_path / "bin" / "pulumi.log").read_text()
    assert log == f"stack tag set deployed-commit {shas[2]} --stack dev --non-interactive\n"


# --- .ci/pulumi-command and .ci/pr-comment --------------------------------------------------

FAILED_PREVIEW = """\
Previewing update (dev):
    pulumi:pulumi:Stack serverless-uploads-dev running
    pulumi:pulumi:Stack serverless-uploads-dev  1 error
Policies:
    ❌ serverless-uploads-policy@v0.2.0 (local: policy)
        - [mandatory]  UPL-AUTH-REQUIRED  (aws:apigatewayv2/api:Api: api-api)
          A stack's API requires sign-in (auth is not none)
          auth is none: anyone can list, read and delete every upload

Resources:
    + 52 to create
"""


def test_a_failed_command_is_recorded_not_raised(tmp_path):
    stand_in(tmp_path / "bin", "pulumi", f"cat <<'OUT'\n{FAILED_PREVIEW}OUT\nexit 255")
    outputs, output = tmp_path / "outputs", tmp_path / "preview.txt"
    result = run(
        [str(CI / "pulumi-command"), "preview", "dev", str(output)],
        tmp_path,
        GITHUB_OUTPUT=str(outputs),
    )
    assert result.returncode == 0
    assert outputs.read_text() == "status=255\n"
    assert output.read_text() == FAILED_PREVIEW
    log = (tmp_path / "bin" / "pulumi.log").read_text()
    assert log == (
        "preview --refresh --policy-pack policy --stack dev --non-interactive --color never\n"
    )


def test_drift_is_a_refresh_preview_that_expects_no_changes(tmp_path):
    stand_in(tmp_path / "bin", "pulumi", "exit 0")
    result = run(
        [str(CI / "pulumi-command"), "drift", "prod", str(tmp_path / "out")],
        tmp_path,
        GITHUB_OUTPUT=str(tmp_path / "outputs"),
    )
    assert result.returncode == 0
    assert (
        (tmp_path / "bin" / "pulumi.log")
        .read_text()
        .startswith("refresh --preview-only --expect-no-changes --stack prod")
    )


GH_COMMENTS = """\
if [ "$1 $2" = "api repos/o/r/issues/7/comments" ] && [ "${3:-}" = --paginate ]; then
  cat "$(dirname "$0")/existing" 2>/dev/null; exit 0
fi
for arg in "$@"; do case "$arg" in body=@*) cp "${arg#body=@}" "$(dirname "$0")/body";; esac; done
"""


def comment(tmp_path: Path, status: str) -> subprocess.CompletedProcess:
    output = tmp_path / "preview.txt"
    output.write_text(FAILED_PREVIEW)
    return run(
        [str(CI / "pr-comment"), "dev", status, str(output)],
        tmp_path,
        GITHUB_REPOSITORY="o/r",
        PR_NUMBER="7",
    )


def test_a_failed_preview_is_commented_with_its_policy_report(tmp_path):
    stand_in(tmp_path / "bin", "gh", GH_COMMENTS)
    result = comment(tmp_path, "255")
    assert result.returncode == 0, result.stderr
    body = (tmp_path / "bin" / "body").read_text()
    assert body.startswith("<!-- pulumi-preview:dev -->\n### `pulumi preview` of `dev`: ❌ failed")
    report = body.split("<details>")[0]
    assert "[mandatory]  UPL-AUTH-REQUIRED" in report
    assert "auth is none: anyone can list" in report
    assert "Resources:" not in report, "the report is the Policies section only"
    log = (tmp_path / "bin" / "gh.log").read_text()
    assert "api --method POST repos/o/r/issues/7/comments" in log


def test_a_new_push_edits_the_stacks_comment(tmp_path):
    stand_in(tmp_path / "bin", "gh", GH_COMMENTS)
    (tmp_path / "bin" / "existing").write_text("4242\n")
    assert comment(tmp_path, "0").returncode == 0
    log = (tmp_path / "bin" / "gh.log").read_text()
    assert "api --method PATCH repos/o/r/issues/comments/4242" in log
    assert "✅ succeeded" in (tmp_path / "bin" / "body").read_text()


# --- .ci/drift-report -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "annotation", "summary"),
    [
        (
            "error: no changes were expected for refresh but changes were proposed\n",
            "::error title=Drift in prod::",
            "has drifted",
        ),
        (
            "error: failed to load checkpoint: AccessDenied: Access Denied\n",
            "::error title=Drift check of prod could not run::error: failed to load checkpoint",
            "could not run, drift unknown",
        ),
        (None, "::error title=Drift check of prod could not run::it stopped before", "unknown"),
    ],
)
def test_drift_is_only_the_clis_no_changes_expected_error(tmp_path, output, annotation, summary):
    path = tmp_path / "refresh.txt"
    if output is not None:
        path.write_text(output)
    result = run(
        [str(CI / "drift-report"), "prod", str(path)],
        tmp_path,
        GITHUB_STEP_SUMMARY=str(tmp_path / "summary"),
    )
    assert result.returncode == 0
    assert result.stdout.startswith(annotation)
    assert summary in (tmp_path / "summary").read_text()
