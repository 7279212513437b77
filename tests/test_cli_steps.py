"""docs/deploying.md and docs/add-an-environment.md, followed step by step against a model of the
Pulumi CLI (tests/pulumi_cli_model.py, derived from the CLI's source): every shell block marked
`<!-- tests/test_cli_steps.py step N -->` runs, in the order of N, on a copy of the stack files,
with the placeholders filled in; a block that runs pulumi and cannot be followed (it needs a
deployed API) says so with `<!-- tests/test_cli_steps.py skips this block: why -->`, and its
pulumi commands are still parsed. A step the real CLI would refuse fails the test; the
stack files the steps leave must be ones CI can open (.ci/stack-ready)."""

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
}
BOOTSTRAP_OUTPUTS = {
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
    """A copy of the project's stack files in a git repository, a fake S3 and KMS, and the model
    as `pulumi` on PATH."""

    def __init__(self, root: Path) -> None:
        self.repo = root / "repo"
        self.cloud = root / "cloud"
        (self.repo / "bootstrap").mkdir(parents=True)
        for path in [
            *PROJECT_DIR.glob("Pulumi*.yaml"),
            *PROJECT_DIR.glob("bootstrap/Pulumi*.yaml"),
        ]:
            shutil.copy(path, self.repo / path.relative_to(PROJECT_DIR))
        for bucket in ("<state-bucket>", "<admin-state-bucket>"):  # `aws s3 mb`, the bootstrap
            (self.cloud / "s3" / PLACEHOLDERS[bucket]).mkdir(parents=True)
        bin_dir = root / "bin"
        bin_dir.mkdir()
        (bin_dir / "pulumi").symlink_to(PROJECT_DIR / "tests" / "pulumi_cli_model.py")
        stacks = [p.name.split(".")[1] for p in self.repo.glob("Pulumi.*.yaml")] + ["qa"]
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "GIT_"))},
            "PATH": f"{bin_dir}:{PROJECT_DIR / '.venv' / 'bin'}:{os.environ['PATH']}",
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


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def all_marked() -> list[tuple[str, str]]:
    return [m for page in PAGES for m in marked_blocks(page.read_text(encoding="utf-8"))]


def page_blocks() -> list[str]:
    """The followed blocks in step order."""
    steps = [
        (int(mark.split()[1]), block) for mark, block in all_marked() if mark.startswith("step")
    ]
    numbers = [n for n, _ in steps]
    assert len(set(numbers)) == len(numbers), f"two blocks with one step number: {numbers}"
    return [block for _, block in sorted(steps)]


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
    result = world.follow(page_blocks())
    assert result.returncode == 0, result.stdout + result.stderr
    for stack in ("dev", "staging", "prod"):
        ready = world.sh(f"{PROJECT_DIR / '.ci' / 'stack-ready'} {stack} .")
        assert ready.returncode == 0, ready.stdout
        config = world.config(stack)
        assert config["serverless-uploads:alarmEmails"] == ["oncall@example.com"], stack
        assert config["serverless-uploads:alarmRunbookUrl"].startswith("https://"), stack
        # The boundary is derived from the account (components/preflight.py): never set.
        assert "serverless-uploads:permissionsBoundaryArn" not in config, stack
    # add-an-environment created qa, then removed it: stack and file gone.
    assert not (world.repo / "Pulumi.qa.yaml").exists()
    state = world.cloud / "s3" / PLACEHOLDERS["<state-bucket>"]
    assert not list(state.glob("qa/.pulumi/stacks/*/qa.json"))
    assert list(state.glob("prod/.pulumi/stacks/serverless-uploads/prod.json"))
    log = world.sh("git log --format=%s").stdout
    assert "qa removed" in log
    assert "qa: stack created with its KMS key" in log


@pytest.mark.parametrize(
    "line", sorted({ln for _, b in all_marked() for ln in pulumi_lines(b)}), ids=str
)
def test_every_pulumi_command_in_a_block_is_one_the_cli_parses(line):
    from tests.pulumi_cli_model import parse

    argv = [w.strip("'\"") for w in re.findall(r"'[^']*'|\"[^\"]*\"|\S+", line)][1:]
    parse(argv)


def deploying_setup_block() -> str:
    [block] = [b for b in page_blocks() if "for stack in dev staging prod" in b]
    return block


def test_a_doc_that_sets_config_before_the_stack_exists_fails(world):
    block = deploying_setup_block()
    init = next(line for line in block.splitlines() if "pulumi stack init" in line)
    reordered = block.replace(init + "\n", "").replace("done\n", f"{init}\ndone\n")
    result = world.follow([reordered])
    assert result.returncode != 0
    assert "error: no stack named 'dev' found" in result.stderr


def test_a_doc_that_sets_a_secret_looking_value_without_plaintext_fails(world):
    result = world.follow(
        [
            deploying_setup_block().replace(
                "pulumi config set alarmRunbookUrl",
                'pulumi config set secretsKeyArn <the key\'s ARN> --stack "$stack"\n'
                "     pulumi config set alarmRunbookUrl",
            )
        ]
    )
    assert result.returncode != 0
    assert "error: config value for 'serverless-uploads:secretsKeyArn' looks like a secret" in (
        result.stderr
    )


def test_a_doc_without_the_kms_provider_leaves_a_passphrase_ci_cannot_open(world):
    without = re.sub(r' --secrets-provider "[^"]*"', "", deploying_setup_block())
    result = world.follow([without])
    assert result.returncode != 0
    assert "passphrase must be set with PULUMI_CONFIG_PASSPHRASE" in result.stderr
    world.env["PULUMI_CONFIG_PASSPHRASE"] = "typed-at-a-laptop"
    assert world.follow([without]).returncode == 0, "a passphrase at hand: the CLI goes on"
    refused = world.sh(f"{PROJECT_DIR / '.ci' / 'stack-ready'} dev .")
    assert refused.returncode == 1
    assert "encryptionsalt" in refused.stdout


def test_appending_with_an_index_past_the_end_is_refused(world):
    # Every stack file has one address (index 0): index 1 would add one, index 2 is refused.
    block = deploying_setup_block().replace("alarmEmails[0]", "alarmEmails[2]")
    result = world.follow([block])
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
    text = (PROJECT_DIR / "docs" / "operations.md").read_text(encoding="utf-8")
    [block] = [b for b in ANY_BLOCK.findall(text) if "alarmEmails" in b]
    create = (
        'export PULUMI_BACKEND_URL="s3://<state-bucket>/prod"\n'
        'pulumi stack init prod --secrets-provider "awskms://alias/uploads-secrets-prod"'
    )
    result = world.follow([f"{create}\n{block}"])
    assert result.returncode == 0, result.stderr
    assert '["ops@example.com"]' in result.stdout
    emails = world.config("prod")["serverless-uploads:alarmEmails"]
    assert emails == ["ops@example.com", "oncall@example.com"]


def test_the_ci_scripts_on_the_model_fail_closed_and_keep_deploys_in_order(world):
    """.ci/stack-select and .ci/deploy-order as a deploy job runs them, on the stacks the pages'
    steps made: the model's own errors, not a stand-in's, decide."""
    assert world.follow(page_blocks()).returncode == 0
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
