"""One-time, per AWS account and repository (docs/deploying.md): everything CI deploys with.

- the Pulumi state bucket and one secrets key per stack (state_store.py);
- the GitHub OIDC identity provider (or the account's existing one: oidcProviderArn);
- `uploads-permissions-boundary`: the managed policy every role of the program carries as its
  permissions boundary (the program derives its ARN from the account);
- `github-preview`: any pull request's CI run; reads only the unprotected stacks (their state,
  secrets, roles, functions and user pools);
- `github-drift`: the drift check on `main`, and the preview of a protected stack on `main`
  before its approval; reads every stack;
- `github-deploy-<stack>`: one per Pulumi.<stack>.yaml of the project (the folder above), trusted
  only by the CI workflow on `main` in the GitHub environment of that name;
- the GitHub side (github_side.py): the OIDC subject template, the environments and variables.
"""

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws
from ci_permissions import (
    AUDIENCE,
    BOUNDARY,
    CI_ROLE_PATH,
    DRIFT_ENVIRONMENT,
    GITHUB_ISSUER,
    PREVIEW_ENVIRONMENT,
    Scope,
    boundary_policy,
    deploy_policy,
    deploy_subject,
    drift_subjects,
    preview_subject,
    read_only_policy,
    trust_policy,
)
from github_side import GitHubSide, stack_list
from pulumi.runtime.mocks import MockMonitor
from state_store import secrets_key, state_bucket

PROJECT_DIR = Path(__file__).resolve().parent.parent
"""The serverless-uploads project: Pulumi runs this program in bootstrap/."""
PLACEHOLDER_OWNER = "example-org/"
"""The committed example's owner: a real run with it would trust nobody's workflows."""


def deploying() -> bool:
    """A real `pulumi up`: not a preview, not the offline engine's mocks (`make plan`)."""
    monitor = pulumi.runtime.settings.get_monitor()
    return not pulumi.runtime.is_dry_run() and not isinstance(monitor, MockMonitor)


config = pulumi.Config()
repository = config.require("githubRepository")
protected = config.get_object("protectedStacks") or ["prod"]
scope = Scope(
    account=aws.get_caller_identity().account_id,
    region=aws.get_region().region,
    state_bucket=config.require("stateBucket"),
)
provider_arn: pulumi.Input[str] = config.get("oidcProviderArn") or (
    aws.iam.OpenIdConnectProvider(
        "github", url=f"https://{GITHUB_ISSUER}", client_id_lists=[AUDIENCE]
    ).arn
)
stacks = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in PROJECT_DIR.glob("Pulumi.*.yaml"))
previewed = [s for s in stacks if s not in protected]
guarded = [s for s in stacks if s in protected]
reviewers = config.get_object("reviewers") or []
reviewer_teams = config.get_object("reviewerTeams") or []
if guarded and not (reviewers or reviewer_teams):
    raise pulumi.RunError(
        f"bootstrap: protected stacks {guarded} need reviewers: set reviewers (GitHub user ids) "
        "or reviewerTeams (team ids) in bootstrap/Pulumi.ci.yaml"
    )
if repository.startswith(PLACEHOLDER_OWNER) and deploying():
    raise pulumi.RunError(
        f"bootstrap: githubRepository is the placeholder {repository!r}: put your repository, "
        "state bucket and reviewers in bootstrap/Pulumi.ci.yaml and commit it (docs/deploying.md)"
    )


def ci_role(name: str, subjects: list[str], policy: pulumi.Input[dict]) -> aws.iam.Role:
    """A role only tokens with one of `subjects` may assume, holding exactly `policy`."""
    trust = pulumi.Output.from_input(provider_arn).apply(
        lambda arn: json.dumps(trust_policy(arn, subjects))
    )
    role = aws.iam.Role(
        name, path=CI_ROLE_PATH, assume_role_policy=trust, max_session_duration=3600
    )
    document = pulumi.Output.from_input(policy).apply(json.dumps)
    aws.iam.RolePolicy(name, role=role.name, policy=document)
    return role


bucket = state_bucket(scope)
keys = {stack: secrets_key(scope, stack).arn for stack in stacks}
boundary = aws.iam.Policy(
    "permissions-boundary",
    name=BOUNDARY,
    description="The most any role of the serverless-uploads program may do (docs/security.md).",
    policy=json.dumps(boundary_policy(scope)),
)


def reads(names: list[str], *, own_only: bool = False) -> pulumi.Output[dict]:
    return pulumi.Output.all(*(keys[s] for s in names)).apply(
        lambda arns: read_only_policy(scope, dict(zip(names, arns, strict=True)), own_only=own_only)
    )


# A pull request reads the functions and user pools of the stacks it previews only (their tag).
preview = ci_role("github-preview", [preview_subject(repository)], reads(previewed, own_only=True))
drift = ci_role("github-drift", drift_subjects(repository, guarded), reads(stacks))
all_keys = pulumi.Output.all(**keys)
deploy = {
    stack: ci_role(
        f"github-deploy-{stack}",
        [deploy_subject(repository, stack)],
        all_keys.apply(lambda arns, stack=stack: deploy_policy(scope, stack, arns)),
    )
    for stack in stacks
}


github_side = GitHubSide(repository)
github_side.variables(
    {
        "AWS_REGION": scope.region,
        "PULUMI_STATE_BUCKET": scope.state_bucket,
        "AWS_PREVIEW_ROLE_ARN": preview.arn,
        "PULUMI_PREVIEW_STACKS": stack_list(previewed),
    }
)
for stack, role in deploy.items():
    github_side.environment(
        stack,
        {"AWS_DEPLOY_ROLE_ARN": role.arn},
        reviewers=reviewers if stack in protected else (),
        reviewer_teams=reviewer_teams if stack in protected else (),
    )
github_side.environment(DRIFT_ENVIRONMENT, {"AWS_DRIFT_ROLE_ARN": drift.arn})
for stack in guarded:
    github_side.environment(
        PREVIEW_ENVIRONMENT.format(stack=stack), {"AWS_DRIFT_ROLE_ARN": drift.arn}
    )

pulumi.export("stateBucket", bucket.bucket)
pulumi.export("permissionsBoundaryArn", boundary.arn)
pulumi.export("previewRoleArn", preview.arn)
pulumi.export("driftRoleArn", drift.arn)
pulumi.export("deployRoleArns", {stack: role.arn for stack, role in deploy.items()})
pulumi.export("secretsKeyArns", keys)
