"""docs/deploying.md and docs/add-an-environment.md, followed step by step against a model of the
Pulumi CLI (tests/pulumi_cli_model.py, derived from the CLI's source): every shell block marked
`<!-- tests/test_cli_steps.py step N -->` runs, in the order of N, on a copy of the stack files,
with the placeholders filled in; a block that runs pulumi and cannot be followed (it needs a
deployed API) says so with `<!-- tests/test_cli_steps.py skips this block: why -->`, and its
pulumi commands are still parsed. A step the real CLI would refuse fails the test; the
stack files the steps leave must be ones CI can open (.ci/stack-ready). The blocks run
bootstrap/setup, which runs on the same model; what the pages leave to an editor (the alarm
settings of each stack file, a new stack's file) the test does in their place."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
PAGES = [PROJECT_DIR / "docs" / "deploying.md", PROJECT_DIR / "docs" / "add-an-environment.md"]
MARKED_BLOCK = re.compile(
    r"^[ \t]*<!-- tests/test_cli_steps\.py (step \d+|skips this block: [^>]+) -->\n"
    r"([ \t]*)```sh\n(.*?)^[ \t]*```",
    re.MULTILINE | re.DOTALL,
)
ANY_BLOCK = re.compile(r"^[ \t]*```sh\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL)
ACCOUNT = "123456789012"
PLACEHOLDERS = {
    "<state-bucket>": f"uploads-state-{ACCOUNT}",
    "<admin-state-bucket>": f"uploads-admin-state-{ACCOUNT}",
    "<region>": "us-east-1",
    "<owner>/<repo>": "example-org/serverless-uploads",
    "<the key's ARN>": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "<permissionsBoundaryArn>": f"arn:aws:iam::{ACCOUNT}:policy/uploads-permissions-boundary",
    "<on-call-email>": "oncall@example.com",
    "<runbook-url>": "https://runbooks.example.com/uploads/operations",
    "<old-backend-url>": f"s3://uploads-0-2-state-{ACCOUNT}",
    "<github-token>": "github_pat_of_the_test",
}
SHIPPED = {
    "ops@example.com": PLACEHOLDERS["<on-call-email>"],
    "https://runbooks.example.com/serverless-uploads/operations": PLACEHOLDERS["<runbook-url>"],
}
"""The documentation values every stack file ships, and what an administrator edits them to in the
one-time setup's first step (docs/deploying.md: an editor, no command)."""
SETUP = f"GITHUB_TOKEN=github_pat_of_the_test bootstrap/setup s3://uploads-admin-state-{ACCOUNT}"
"""A rerun of bootstrap/setup, as the pages run it."""
BOOTSTRAP_OUTPUTS = {
    "stateBucket": PLACEHOLDERS["<state-bucket>"],
    "permissionsBoundaryArn": PLACEHOLDERS["<permissionsBoundaryArn>"],
    "previewRoleArn": f"arn:aws:iam::{ACCOUNT}:role/uploads-ci/github-preview",
    "driftRoleArn": f"arn:aws:iam::{ACCOUNT}:role/uploads-ci/github-drift",
    "deployRoleArns": {s: f"arn:aws:iam::{ACCOUNT}:role/github-deploy-{s}" for s in ("dev", "qa")},
}


def marked_blocks(text: str) -> list[tuple[str, str]]:
    """(mark, block) of each marked block of a page, dedented (a list item's block is indented)."""
    return [
        (mark, "\n".join(line.removeprefix(indent) for line in body.splitlines()))
        for mark, indent, body in MARKED_BLOCK.findall(text)
    ]


def filled(block: str) -> str:
    for placeholder, value in PLACEHOLDERS.items():
        block = block.replace(placeholder, value)
    code = "\n".join(line.split("#", 1)[0] for line in block.splitlines())
    left = re.findall(r"<[A-Za-z][^<>\n]*>", code)
    assert not left, f"a placeholder the test cannot fill: {left}"
    return block


class World:
    """A copy of the project's stack files and of bootstrap/setup with the .ci/ scripts it runs, in
    a git repository; a fake S3 and KMS; the model as `pulumi` on PATH, and an `aws` that knows
    `aws s3 mb`."""

    def __init__(self, root: Path) -> None:
        self.repo = root / "repo"
        self.cloud = root / "cloud"
        (self.repo / "bootstrap").mkdir(parents=True)
        (self.repo / ".ci").mkdir()
        for path in [
            *PROJECT_DIR.glob("Pulumi*.yaml"),
            *PROJECT_DIR.glob("bootstrap/Pulumi*.yaml"),
            PROJECT_DIR / "bootstrap" / "setup",
            PROJECT_DIR / ".ci" / "stacks",
            PROJECT_DIR / ".ci" / "stack-ready",
        ]:
            shutil.copy(path, self.repo / path.relative_to(PROJECT_DIR))
        # The state bucket is the bootstrap's (its `pulumi up`, which the model does not run);
        # the admin state bucket is the page's `aws s3 mb`.
        (self.cloud / "s3" / PLACEHOLDERS["<state-bucket>"]).mkdir(parents=True)
        self.bin = root / "bin"
        self.bin.mkdir()
        (self.bin / "pulumi").symlink_to(PROJECT_DIR / "tests" / "pulumi_cli_model.py")
        aws = self.bin / "aws"
        aws.write_text(
            "#!/usr/bin/env bash\n"
            "# aws s3 mb s3://NAME: a folder of the fake S3 (the only aws command followed).\n"
            "set -euo pipefail\n"
            '[[ $# -eq 3 && "$1 $2" == "s3 mb" && $3 == s3://* ]] || '
            '{ echo "the test\'s aws knows only s3 mb: $*" >&2; exit 2; }\n'
            'mkdir -p "$MODEL_CLOUD/s3/${3#s3://}" && echo "make_bucket: ${3#s3://}"\n'
        )
        aws.chmod(0o755)
        stacks = [p.name.split(".")[1] for p in self.repo.glob("Pulumi.*.yaml")] + ["qa"]
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("PULUMI_", "GIT_")) and k != "GITHUB_TOKEN"
            },
            "PATH": f"{self.bin}:{PROJECT_DIR / '.venv' / 'bin'}:{os.environ['PATH']}",
            "MODEL_HOME": str(root / "home"),
            "MODEL_CLOUD": str(self.cloud),
            # The account's keys: the one-time setup's alias/pulumi-secrets and the bootstrap's
            # alias/uploads-secrets-<stack> for each stack file (CONTRACT of bootstrap/).
            "MODEL_KMS_ALIASES": " ".join(
                ["alias/pulumi-secrets", *(f"alias/uploads-secrets-{s}" for s in stacks)]
            ),
            "MODEL_OUTPUTS": json.dumps(
                {
                    "serverless-uploads-bootstrap/ci": BOOTSTRAP_OUTPUTS,
                    "serverless-uploads/dev": {"apiUrl": "https://abc123.execute-api.example.com"},
                }
            ),
            "MODEL_CONFIRM": "yes",
            "GIT_AUTHOR_NAME": "admin",
            "GIT_AUTHOR_EMAIL": "admin@example.com",
            "GIT_COMMITTER_NAME": "admin",
            "GIT_COMMITTER_EMAIL": "admin@example.com",
        }
        self.sh("git init -q -b main && git add -A && git commit -q -m start")

    def sh(self, script: str) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603 - the pages' own commands, on a copy
            ["bash", "-euo", "pipefail", "-c", script],  # noqa: S607
            cwd=self.repo,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def follow(self, blocks: list[str]) -> subprocess.CompletedProcess:
        """Each block in its own subshell from the repository root, as the pages say."""
        return self.sh("\n".join(f"(\n{filled(b)}\n)" for b in blocks))

    def config(self, stack: str) -> dict:
        import yaml

        return yaml.safe_load((self.repo / f"Pulumi.{stack}.yaml").read_text())["config"]

    def configure(self) -> None:
        """The one-time setup's first step, in an editor: each stack file's alarm recipients and
        runbook instead of the documentation values it ships."""
        for path in self.repo.glob("Pulumi.*.yaml"):
            text = path.read_text(encoding="utf-8")
            for shipped, value in SHIPPED.items():
                text = text.replace(shipped, value)
            path.write_text(text, encoding="utf-8")

    def stack_files(self) -> dict[str, str]:
        return {
            str(path.relative_to(self.repo)): path.read_text(encoding="utf-8")
            for path in sorted(
                [*self.repo.glob("Pulumi*.yaml"), *self.repo.glob("bootstrap/*.yaml")]
            )
        }

    def log_pulumi(self) -> Path:
        """Put a `pulumi` that records each command line in front of the model; returns the log."""
        log = self.repo.parent / "pulumi.log"
        (self.bin / "pulumi").unlink()
        wrapper = self.bin / "pulumi"
        wrapper.write_text(
            "#!/usr/bin/env bash\n"
            f"printf '%s\\n' \"$*\" >> '{log}'\n"
            f"exec '{PROJECT_DIR / 'tests' / 'pulumi_cli_model.py'}' \"$@\"\n"
        )
        wrapper.chmod(0o755)
        log.touch()
        return log


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def all_marked() -> list[tuple[str, str]]:
    return [m for page in PAGES for m in marked_blocks(page.read_text(encoding="utf-8"))]


def steps() -> list[tuple[int, str, str]]:
    """(N, page name, block) of each followed block, in step order."""
    found = [
        (int(mark.split()[1]), page.name, block)
        for page in PAGES
        for mark, block in marked_blocks(page.read_text(encoding="utf-8"))
        if mark.startswith("step")
    ]
    numbers = [n for n, _, _ in found]
    assert len(set(numbers)) == len(numbers), f"two blocks with one step number: {numbers}"
    return sorted(found)


def page_blocks() -> list[str]:
    """The followed blocks in step order."""
    return [block for _, _, block in steps()]


def new_stack_file_block() -> str:
    """docs/add-an-environment.md's first block up to the copy that makes Pulumi.qa.yaml (the rest,
    `make plan` and `.ci/stacks` on the whole project, is tests/test_add_an_environment.py's)."""
    text = (PROJECT_DIR / "docs" / "add-an-environment.md").read_text(encoding="utf-8")
    lines = ANY_BLOCK.search(text).group(1).splitlines()
    end = next(i for i, line in enumerate(lines) if "> Pulumi.qa.yaml" in line)
    return "\n".join(lines[: end + 1])


def followed_blocks() -> list[str]:
    """The pages in step order, with what they leave to an editor done in between: the new stack's
    file before add-an-environment's first followed step (the test calls World.configure, the
    one-time setup's edits, before these)."""
    blocks, added = [], False
    for _, page, block in steps():
        if page == "add-an-environment.md" and not added:
            blocks.append(new_stack_file_block())
            added = True
        blocks.append(block)
    assert added, "add-an-environment.md has no followed step"
    return blocks


def one_time_setup() -> str:
    """docs/deploying.md's "One-time setup" section, to the next heading."""
    text = (PROJECT_DIR / "docs" / "deploying.md").read_text(encoding="utf-8")
    section = text[text.index("### One-time setup\n") :].split("\n", 1)[1]
    following = re.search(r"^#{1,6} ", section, re.MULTILINE)
    return section[: following.start()] if following else section


def commands(block: str) -> list[str]:
    """A block's commands: its lines with `\\` continuations joined, empty and comment lines out."""
    joined = re.sub(r"\\\n", " ", block)
    return [line.strip() for line in joined.splitlines() if line.strip()[:1] not in ("", "#")]


def one_time_setup_blocks() -> list[str]:
    return [block for _, block in marked_blocks(one_time_setup())]


def pulumi_lines(block: str) -> list[str]:
    """The pulumi command lines of a block (in a $(...) too), comments cut."""
    code = [line.split("#", 1)[0] for line in block.splitlines()]
    return [m for line in code for m in re.findall(r"(?:^|[;&|(]|\$\()\s*(pulumi [^;&|)]*)", line)]


def test_every_shell_block_that_runs_pulumi_is_marked():
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        marked = {"\n".join(ln.strip() for ln in b.splitlines()) for _, b in marked_blocks(text)}
        for block in ANY_BLOCK.findall(text):
            if pulumi_lines(block):
                dedented = "\n".join(line.strip() for line in block.splitlines())
                assert dedented in marked, f"{page.name}: a block that runs pulumi is unmarked"
    assert len(page_blocks()) >= 5


def test_the_pages_steps_run_in_order_on_the_cli_and_leave_stacks_ci_can_open(world):
    world.configure()
    result = world.follow(followed_blocks())
    assert result.returncode == 0, result.stdout + result.stderr
    for stack in ("dev", "staging", "prod"):
        ready = world.sh(f"{PROJECT_DIR / '.ci' / 'stack-ready'} {stack} .")
        assert ready.returncode == 0, ready.stdout
        config = world.config(stack)
        # Edited in the file before `pulumi stack init`, which kept it (bootstrap/setup's header).
        assert config["serverless-uploads:alarmEmails"] == ["oncall@example.com"], stack
        assert config["serverless-uploads:alarmRunbookUrl"].startswith("https://"), stack
        # The boundary is derived from the account (components/preflight.py): never set.
        assert "serverless-uploads:permissionsBoundaryArn" not in config, stack
    assert "warning:" not in result.stderr, "the alarm settings were edited: no placeholder left"
    # add-an-environment created qa, then removed it: stack and file gone.
    assert not (world.repo / "Pulumi.qa.yaml").exists()
    state = world.cloud / "s3" / PLACEHOLDERS["<state-bucket>"]
    assert not list(state.glob("qa/.pulumi/stacks/*/qa.json"))
    assert list(state.glob("prod/.pulumi/stacks/serverless-uploads/prod.json"))
    admin = world.cloud / "s3" / PLACEHOLDERS["<admin-state-bucket>"]
    assert list(admin.glob(".pulumi/stacks/serverless-uploads-bootstrap/ci.json"))
    log = world.sh("git log --format=%s").stdout
    assert "qa removed" in log
    assert "qa: stack created with its KMS key" in log
    assert world.sh("git status --porcelain").stdout == "", "the pages commit what they change"


@pytest.mark.parametrize(
    "line", sorted({ln for _, b in all_marked() for ln in pulumi_lines(b)}), ids=str
)
def test_every_pulumi_command_in_a_block_is_one_the_cli_parses(line):
    from tests.pulumi_cli_model import parse

    argv = [w.strip("'\"") for w in re.findall(r"'[^']*'|\"[^\"]*\"|\S+", line)][1:]
    parse(argv)


def test_the_one_time_setup_is_five_commands_or_fewer():
    """Issue 22: a handful of documented commands instead of twenty-odd manual steps."""
    section = one_time_setup()
    blocks = one_time_setup_blocks()
    assert len(blocks) == len(ANY_BLOCK.findall(section)), "an unfollowed block in the setup"
    found = [command for block in blocks for command in commands(block)]
    assert any(c.startswith("aws s3 mb s3://<admin-state-bucket>") for c in found), found
    assert any("bootstrap/setup s3://<admin-state-bucket>" in c for c in found), found
    assert any(c.startswith("git add ") and "git commit" in c for c in found), found
    assert len(found) <= 5, found
    assert commands("a \\\n  b\n\n# c\nd  # e\n") == ["a    b", "d  # e"]


def test_a_second_run_of_the_setup_changes_no_stack_file(world):
    log = world.log_pulumi()
    world.configure()
    first = world.follow(one_time_setup_blocks()[:1])  # aws s3 mb, bootstrap/setup
    assert first.returncode == 0, first.stdout + first.stderr
    calls = log.read_text().splitlines()
    assert "stack select ci --non-interactive" in calls
    assert "stack init ci" in calls, "created on the CLI's own 'no stack named' only"
    dev = "stack init dev --secrets-provider awskms://alias/uploads-secrets-dev?region=us-east-1"
    assert dev in calls
    # The setup prints the commit the page documents.
    [commit] = [c for b in one_time_setup_blocks() for c in commands(b) if c.startswith("git add")]
    assert f"  {commit}\n" in first.stdout
    committed = world.follow(one_time_setup_blocks()[1:])
    assert committed.returncode == 0, committed.stderr
    before = world.stack_files()
    log.write_text("")
    second = world.sh(SETUP)
    assert second.returncode == 0, second.stdout + second.stderr
    assert world.stack_files() == before
    assert world.sh("git status --porcelain").stdout == ""
    assert not [c for c in log.read_text().splitlines() if c.startswith("stack init")]
    assert second.stdout.count(": left alone") == 3, second.stdout
    assert "No stack file changed" in second.stdout
    assert "Nothing to commit." in second.stdout


def test_a_stack_select_error_other_than_no_stack_named_stops_the_setup(world):
    log = world.log_pulumi()
    before = world.stack_files()
    result = world.sh(SETUP.replace("uploads-admin-state-", "no-such-bucket-"))
    assert result.returncode == 1
    assert "error: NoSuchBucket" in result.stderr
    assert "cannot open the bootstrap's stack ci" in result.stderr
    assert log.read_text().splitlines() == ["stack select ci --non-interactive"], "no init, no up"
    assert world.stack_files() == before
    assert not list(world.cloud.glob("s3/*/**/*.json"))


def test_the_setup_needs_the_github_token_and_one_s3_url(world):
    log = world.log_pulumi()
    without = world.sh(SETUP.removeprefix("GITHUB_TOKEN=github_pat_of_the_test "))
    assert without.returncode == 2
    assert "GITHUB_TOKEN is not set" in without.stderr
    assert world.sh("GITHUB_TOKEN=t bootstrap/setup").returncode == 2
    assert world.sh("GITHUB_TOKEN=t bootstrap/setup uploads-admin-state").returncode == 2
    assert log.read_text() == ""


def test_the_setup_warns_about_the_shipped_alarm_placeholders(world):
    result = world.follow(one_time_setup_blocks()[:1])  # without the first step's edits
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert [w.split()[1] for w in warnings] == [
        f"Pulumi.{s}.yaml" for s in ("dev", "staging", "prod")
    ]
    for line in warnings:
        assert " still has ops@example.com https://runbooks.example.com/" in line, line


def test_a_stack_file_copied_from_another_gets_its_own_key_and_keeps_its_settings(world):
    world.configure()
    assert world.follow(one_time_setup_blocks()).returncode == 0
    before = world.stack_files()
    result = world.follow([new_stack_file_block(), SETUP])
    assert result.returncode == 0, result.stdout + result.stderr
    import yaml

    qa = yaml.safe_load((world.repo / "Pulumi.qa.yaml").read_text())
    staging = yaml.safe_load((world.repo / "Pulumi.staging.yaml").read_text())
    assert qa["secretsprovider"] == "awskms://alias/uploads-secrets-qa?region=us-east-1"
    assert qa["encryptedkey"] != staging["encryptedkey"]
    assert qa["config"]["serverless-uploads:alarmEmails"] == ["oncall@example.com"]
    assert qa["config"]["aws:defaultTags"]["tags"]["stack"] == "qa"
    assert world.sh(f"{PROJECT_DIR / '.ci' / 'stack-ready'} qa .").returncode == 0
    after = world.stack_files()
    assert after.pop("Pulumi.qa.yaml")
    assert after == before, "only the new stack's file changed"
    assert "qa: creating it" in result.stdout


def test_a_stack_whose_file_lost_its_key_stops_the_setup(world):
    assert world.follow(one_time_setup_blocks()).returncode == 0
    shutil.copy(PROJECT_DIR / "Pulumi.dev.yaml", world.repo / "Pulumi.dev.yaml")
    result = world.sh(SETUP)
    assert result.returncode == 1
    assert "error: stack 'dev' already exists" in result.stderr
    assert "lost the secretsprovider and encryptedkey" in result.stderr


def test_a_setup_without_the_kms_provider_leaves_a_passphrase_ci_cannot_open(world):
    """The bootstrap's empty passphrase is its own: it never reaches a stack of the program."""
    script = world.repo / "bootstrap" / "setup"
    text = script.read_text(encoding="utf-8")
    without = re.sub(r' --secrets-provider "[^"]*"', "", text)
    assert without != text
    script.write_text(without, encoding="utf-8")
    result = world.follow(one_time_setup_blocks()[:1])
    assert result.returncode != 0
    assert "passphrase must be set with PULUMI_CONFIG_PASSPHRASE" in result.stderr
    world.env["PULUMI_CONFIG_PASSPHRASE"] = "typed-at-a-laptop"
    assert world.sh(SETUP).returncode == 0, "a passphrase at hand: the CLI goes on"
    refused = world.sh(f"{PROJECT_DIR / '.ci' / 'stack-ready'} dev .")
    assert refused.returncode == 1
    assert "encryptionsalt" in refused.stdout


def operations_block() -> str:
    text = (PROJECT_DIR / "docs" / "operations.md").read_text(encoding="utf-8")
    [block] = [b for b in ANY_BLOCK.findall(text) if "alarmEmails" in b]
    return block


CREATE_PROD = (
    'export PULUMI_BACKEND_URL="s3://<state-bucket>/prod"\n'
    'pulumi stack init prod --secrets-provider "awskms://alias/uploads-secrets-prod"'
)


def test_appending_with_an_index_past_the_end_is_refused(world):
    # Every stack file has one address (index 0): index 1 would add one, index 2 is refused.
    block = operations_block().replace("alarmEmails[1]", "alarmEmails[2]")
    result = world.follow([f"{CREATE_PROD}\n{block}"])
    assert result.returncode != 0
    assert "array index out of range" in result.stderr


def test_stack_rm_deletes_the_stack_file_itself(world):
    result = world.follow(
        [
            'export PULUMI_BACKEND_URL="s3://<state-bucket>/qa"\n'
            'pulumi stack init qa --secrets-provider "awskms://alias/uploads-secrets-qa"\n'
            "pulumi stack rm qa --yes"
        ]
    )
    assert result.returncode == 0, result.stderr
    assert not (world.repo / "Pulumi.qa.yaml").exists()


@pytest.mark.parametrize(
    "span",
    sorted(
        {
            s
            for page in PAGES
            for s in re.findall(r"`(pulumi [^`]+)`", page.read_text(encoding="utf-8"))
        }
    ),
)
def test_every_inline_pulumi_command_is_one_the_cli_parses(span):
    from tests.pulumi_cli_model import parse

    argv = [w.strip("'\"") for w in re.findall(r"'[^']*'|\"[^\"]*\"|\S+", span)][1:]
    parse(argv)


def test_the_secret_heuristic_flags_a_key_arn_only_under_a_secret_looking_name():
    from tests.pulumi_cli_model import entropy, looks_like_secret

    arn = PLACEHOLDERS["<the key's ARN>"]
    assert looks_like_secret("secretsKeyArn", arn), "the CLI refuses it (issue 23 item 3)"
    assert not looks_like_secret("keyArn", arn), "the key's name decides first (config.go:1447)"
    assert not looks_like_secret("apiToken", "dev"), "a short value is no secret"
    # zxcvbn-go: bruteforce log2(26) bits a character; a run of 3+ costs log2(26 * length).
    assert entropy("abc") == pytest.approx(3 * math.log2(26), abs=1e-3)
    assert entropy("aaaaaaaa") == pytest.approx(math.log2(26 * 8), abs=1e-3)
    assert entropy("ab-") == pytest.approx(3 * math.log2(26 + 33), abs=1e-3)


def test_operations_adds_an_alarm_address_as_the_cli_appends(world):
    """docs/operations.md's block: `--path 'alarmEmails[1]'` adds a second address to the one
    every stack file ships (object.go:319-325 appends at the index one past the end)."""
    result = world.follow([f"{CREATE_PROD}\n{operations_block()}"])
    assert result.returncode == 0, result.stderr
    assert '["ops@example.com"]' in result.stdout
    emails = world.config("prod")["serverless-uploads:alarmEmails"]
    assert emails == ["ops@example.com", "oncall@example.com"]


def test_the_ci_scripts_on_the_model_fail_closed_and_keep_deploys_in_order(world):
    """.ci/stack-select and .ci/deploy-order as a deploy job runs them, on the stacks the pages'
    steps made: the model's own errors, not a stand-in's, decide."""
    world.configure()
    assert world.follow(followed_blocks()).returncode == 0
    ci = PROJECT_DIR / ".ci"
    bucket = PLACEHOLDERS["<state-bucket>"]
    world.env["PULUMI_BACKEND_URL"] = f"s3://{bucket}/dev"
    assert world.sh(f"{ci}/stack-select dev").returncode == 0
    missing = world.sh(f"{ci}/stack-select qa")  # qa was removed by add-an-environment's end
    assert missing.returncode == 1
    assert missing.stdout.startswith("::error title=Stack qa not created::")
    world.env["PULUMI_BACKEND_URL"] = "s3://no-such-bucket/dev"
    broken = world.sh(f"{ci}/stack-select dev")
    assert broken.stdout.startswith("::error title=Cannot open stack dev::error: NoSuchBucket")
    world.env["PULUMI_BACKEND_URL"] = f"s3://{bucket}/dev"
    older = world.sh("git rev-parse HEAD~1").stdout.strip()
    first = world.sh(f"{ci}/deploy-order dev && {ci}/deploy-order dev --record")
    assert first.returncode == 0, first.stdout + first.stderr
    assert world.sh("pulumi stack tag get deployed-commit --stack dev").stdout.strip() == (
        world.sh("git rev-parse HEAD").stdout.strip()
    )
    world.sh(f"git checkout -q {older}")
    refused = world.sh(f"{ci}/deploy-order dev")
    assert refused.returncode == 1
    assert "would roll dev back" in refused.stdout
