"""docs/add-an-environment.md, followed: its first shell block runs on a copy of the repository
with a throwaway Pulumi.qa.yaml, and does what the page says."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from components.packaging import default_cache_dir

PROJECT_DIR = Path(__file__).resolve().parent.parent
PAGE = PROJECT_DIR / "docs" / "add-an-environment.md"
SHELL_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_the_page_steps_add_an_environment_that_ci_and_the_bootstrap_pick_up(tmp_path):
    steps = SHELL_BLOCK.search(PAGE.read_text(encoding="utf-8")).group(1)
    copy = tmp_path / "project"
    shutil.copytree(
        PROJECT_DIR,
        copy,
        ignore=shutil.ignore_patterns(
            ".venv", "venv", ".build", ".git", "__pycache__", ".*_cache", "tests", "artifacts"
        ),
    )
    (copy / ".venv").symlink_to(PROJECT_DIR / ".venv")
    # A reader's shell: not inside `make test` (whose make would announce each directory).
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    env["UPLOADS_BUILD_CACHE"] = str(default_cache_dir())
    result = subprocess.run(  # noqa: S603 - the page's own commands, on a copy
        ["bash", "-euo", "pipefail", "-c", steps],  # noqa: S607
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    qa = (copy / "Pulumi.qa.yaml").read_text(encoding="utf-8")
    assert "stack: qa" in qa
    assert "https://qa.uploads.example.com" in qa
    plan_qa = r"^Stack qa of serverless-uploads \(offline\)\n\nResources:\n    \+ \d+ to create\n"
    assert re.search(plan_qa, result.stdout, re.MULTILINE), result.stdout
    assert 'all=["dev", "staging", "prod", "qa"]\nmore=["qa"]\n' in result.stdout
    assert "aws:iam/role:Role  github-deploy-qa" in result.stdout
    assert result.stdout.count("Policy: no violations") == 2
    assert not (PROJECT_DIR / "Pulumi.qa.yaml").exists()
