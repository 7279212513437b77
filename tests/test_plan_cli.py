"""`python -m offline plan` as users run it: options, errors, exit codes, colour."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from offline import preview
from offline.__main__ import main
from policy.rules import RULES

PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture
def reuse_stack_runs(monkeypatch: pytest.MonkeyPatch, stack_graphs) -> None:
    """The CLI on this project, with each stack's program run once per session."""

    def run_stack(stack: str, project_dir: Path):
        assert project_dir == PROJECT_DIR
        return stack_graphs(stack)

    monkeypatch.setattr(preview, "run_stack", run_stack)


def project_copy(tmp_path: Path, stack: str, extra_config: str) -> Path:
    """This project's program and schema with a stack file of dev's config plus `extra_config`."""
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(PROJECT_DIR / name, tmp_path / name)
    config = (PROJECT_DIR / "Pulumi.dev.yaml").read_text(encoding="utf-8") + extra_config
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(config, encoding="utf-8")
    return tmp_path


def test_plan_dev_as_a_subprocess_prints_the_plan_without_colour(stack_graphs):
    result = subprocess.run(
        [sys.executable, "-m", "offline", "plan", "dev"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")},
    )
    assert result.returncode == 0, result.stderr
    assert "+ pulumi:pulumi:Stack  serverless-uploads-dev" in result.stdout
    assert "+ aws:lambda/function:Function  uploads-uploads-function" in result.stdout
    assert f"Resources:\n    + {len(stack_graphs('dev')) + 1} to create" in result.stdout
    assert "\x1b[" not in result.stdout
    assert "Traceback" not in result.stderr


def test_colour_on_a_terminal(reuse_stack_runs, monkeypatch: pytest.MonkeyPatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert main(["plan", "dev", "--quiet"]) == 0
    assert "\x1b[" in terminal.getvalue()


def test_json_prints_one_document(reuse_stack_runs, stack_graphs, capsys):
    assert main(["plan", "prod", "--json", "--cwd", str(PROJECT_DIR)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["stack"] == "prod"
    assert doc["summary"] == {"create": len(stack_graphs("prod")) + 1}


def test_quiet(reuse_stack_runs, stack_graphs, capsys):
    assert main(["plan", "dev", "--quiet", "--cwd", str(PROJECT_DIR)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Stack dev of serverless-uploads (offline)\n")
    assert f"+ {len(stack_graphs('dev')) + 1} to create" in out
    assert "uploads-uploads-function" not in out.split("Policy")[0]


def test_diff_prod(reuse_stack_runs, capsys):
    assert main(["plan", "dev", "--diff", "prod", "--cwd", str(PROJECT_DIR)]) == 0
    lines = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    assert "~ uploads-api-log-group retentionInDays 7 -> 365" in lines


def test_a_stack_without_a_stack_file_is_a_one_line_error(capsys):
    assert main(["plan", "qa", "--cwd", str(PROJECT_DIR)]) == 4
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"error: stack 'qa' has no Pulumi.qa.yaml in {PROJECT_DIR} "
        "(stacks here: dev, prod, staging)\n"
    )


def test_a_key_under_a_misspelt_namespace_is_reported(tmp_path: Path, capsys):
    project = project_copy(tmp_path, "typo", "  serverless-upload:functionMemoryMb: 1024\n")
    assert main(["plan", "typo", "--cwd", str(project)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: invalid stack configuration:\n")
    assert "serverless-upload:functionMemoryMb: unknown namespace 'serverless-upload'" in err
    assert "did you mean serverless-uploads:functionMemoryMb?" in err


def test_a_bad_value_keeps_the_config_message_and_no_traceback(tmp_path: Path, capsys):
    project = project_copy(tmp_path, "bad", "  serverless-uploads:functionMemoryMb: 64\n")
    assert main(["plan", "bad", "--cwd", str(project)]) == 3
    err = capsys.readouterr().err
    assert "serverless-uploads:functionMemoryMb = '64': must be between 128 and 10240" in err
    assert "Traceback" not in err


def test_a_secret_in_the_stack_file_is_never_printed(tmp_path: Path, capsys):
    secret = "  aws:secretKey:\n    secure: v1:c2VjcmV0LWNpcGhlcnRleHQ=\n"
    project = project_copy(tmp_path, "secret", secret)
    assert main(["plan", "secret", "--cwd", str(project)]) == 0
    out = capsys.readouterr().out
    assert "c2VjcmV0" not in out
    assert [line.split() for line in out.splitlines() if "aws:secretKey" in line] == [
        ["aws:secretKey", "[secret]", "(Pulumi.secret.yaml)"]
    ]


OPEN_BUCKET = """\
from components.storage import StorageBucket, StorageBucketArgs

FLAGS = ("block_public_acls", "block_public_policy", "ignore_public_acls",
         "restrict_public_buckets")
OPEN = {"public_access_block": dict.fromkeys(FLAGS, False)}
StorageBucket("media", StorageBucketArgs(transforms=OPEN))
"""


def test_a_bucket_opened_through_its_transform_fails_the_plan_with_exit_2(tmp_path: Path, capsys):
    (tmp_path / "Pulumi.yaml").write_text("name: open-bucket\nruntime: python\n", encoding="utf-8")
    (tmp_path / "Pulumi.test.yaml").write_text("config:\n  aws:region: us-east-1\n")
    (tmp_path / "__main__.py").write_text(OPEN_BUCKET, encoding="utf-8")
    assert main(["plan", "test", "--cwd", str(tmp_path)]) == 2
    lines = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    rule = next(r for r in RULES if r.id == "S3.8")
    assert rule.level == "mandatory"
    at = lines.index("mandatory S3.8 media-bucket")
    assert "public access" in lines[at + 1]
    assert lines[at + 2] == f"fix: {' '.join(rule.remediation.split())}"
    assert any(line.startswith("Policy: 1 mandatory") for line in lines)


def test_a_mistyped_flag_exits_1_not_the_policy_code(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["plan", "dev", "--jsn"])
    assert exited.value.code == 1
    assert "unrecognized arguments: --jsn" in capsys.readouterr().err


def test_a_key_twice_in_the_stack_file_is_an_error_naming_the_line(tmp_path: Path, capsys):
    project = project_copy(tmp_path, "twice", "  serverless-uploads:logRetentionDays: 30\n")
    lines = (project / "Pulumi.twice.yaml").read_text(encoding="utf-8").splitlines()
    first = 1 + next(i for i, line in enumerate(lines) if "logRetentionDays" in line)
    assert main(["plan", "twice", "--cwd", str(project)]) == 3
    assert capsys.readouterr().err == (
        f"error: Pulumi.twice.yaml line {len(lines)}: key 'serverless-uploads:logRetentionDays' "
        f"appears twice (first at line {first}): Pulumi refuses the file\n"
    )


@pytest.mark.parametrize(
    ("region", "hint"), [("us-east-7", "; did you mean us-east-2?"), ("moon", "")]
)
def test_a_region_botocore_does_not_know_is_a_config_error(tmp_path: Path, capsys, region, hint):
    project = project_copy(tmp_path, "region", "")
    stack_file = project / "Pulumi.region.yaml"
    text = stack_file.read_text(encoding="utf-8")
    stack_file.write_text(text.replace("aws:region: us-east-1", f"aws:region: {region}"))
    assert main(["plan", "region", "--cwd", str(project)]) == 3
    assert capsys.readouterr().err == (
        "error: invalid stack configuration:\n"
        f"  aws:region = '{region}' is not an AWS region botocore knows{hint}\n"
    )


def test_a_failing_program_exits_1(tmp_path: Path, capsys):
    (tmp_path / "Pulumi.yaml").write_text("name: broken\nruntime: python\n", encoding="utf-8")
    (tmp_path / "Pulumi.test.yaml").write_text("config:\n  aws:region: us-east-1\n")
    (tmp_path / "__main__.py").write_text("raise RuntimeError('no luck')\n", encoding="utf-8")
    assert main(["plan", "test", "--cwd", str(tmp_path)]) == 1
    assert capsys.readouterr().err == "error: broken/test: no luck\n"


def test_diff_with_an_unknown_stack_exits_4(reuse_stack_runs, capsys):
    assert main(["plan", "dev", "--diff", "qa", "--cwd", str(PROJECT_DIR)]) == 4
    assert "stack 'qa' has no Pulumi.qa.yaml" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"config: [1, 2]\n",
            "Pulumi.odd.yaml: config must be a mapping of key: value, got a list",
        ),
        (b"config: text\n", "Pulumi.odd.yaml: config must be a mapping of key: value, got a str"),
        (b"config:\n  1: 2\n", "Pulumi.odd.yaml: config key 1 is not a namespace:key string"),
        (b"config:\n  null: 2\n", "Pulumi.odd.yaml: config key None is not a namespace:key"),
        (b"\xff\xfeconfig: {}\n", "Pulumi.odd.yaml is not UTF-8 text (byte 0)"),
    ],
)
def test_a_malformed_stack_file_is_one_config_error(tmp_path: Path, capsys, content, message):
    project = project_copy(tmp_path, "odd", "")
    (project / "Pulumi.odd.yaml").write_bytes(content)
    assert main(["plan", "odd", "--cwd", str(project)]) == 3
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}")
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("word", ["yes", "on", "No", "OFF"])
def test_yaml_1_1_booleans_stay_words_as_in_pulumi(tmp_path: Path, capsys, word):
    """The Pulumi CLI reads stack files as YAML 1.2, where only true and false are booleans:
    `protectData: yes` is the string "yes" there, which the program refuses; the offline plan
    must not read it as true."""
    project = project_copy(tmp_path, "words", f"  serverless-uploads:protectData: {word}\n")
    assert main(["plan", "words", "--cwd", str(project)]) == 3
    assert f"serverless-uploads:protectData = '{word}': must be true or false" in (
        capsys.readouterr().err
    )


def test_outside_the_virtualenv_one_line_and_a_hint_no_traceback():
    """A Python without the project's packages (`-S`: no site-packages) gets one line naming the
    missing package and a hint with the command that works, not a ModuleNotFoundError traceback."""
    result = subprocess.run(
        [sys.executable, "-S", "-m", "offline", "plan", "dev"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    problem, hint = result.stderr.splitlines()
    assert problem.startswith(f"python -m offline: {sys.executable} has no '")
    assert "virtualenv" in problem
    assert hint.endswith("`.venv/bin/python -m offline plan dev`")
