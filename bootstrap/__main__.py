"""One-time, per AWS account: the identities CI assumes, one per purpose (docs/deploying.md).

- the GitHub OIDC identity provider (or the account's existing one: oidcProviderArn);
- `preview`: trusted only by the repository's pull_request tokens; read-only;
- `drift`: trusted only by its drift-check environment; the same read-only permissions;
- `uploads-permissions-boundary`: the managed policy every role of the program carries as its
  permissions boundary (the stacks' permissionsBoundaryArn);
- `deploy-<stack>`: one per Pulumi.<stack>.yaml of the project (the folder above), trusted only
  by the GitHub environment of that name; deploys that stack and writes only its state.
"""

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws
from ci_permissions import (
    AUDIENCE,
    BOUNDARY,
    DRIFT_ENVIRONMENT,
    GITHUB_ISSUER,
    PULL_REQUEST,
    Scope,
    boundary_policy,
    deploy_policy,
    read_only_policy,
    trust_policy,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent
"""The serverless-uploads project: Pulumi runs this program in bootstrap/."""

config = pulumi.Config()
repository = config.require("githubRepository")
scope = Scope(
    account=aws.get_caller_identity().account_id,
    region=aws.get_region().region,
    state_bucket=config.require("stateBucket"),
    secrets_key_arn=config.require("secretsKeyArn"),
)
provider_arn: pulumi.Input[str] = config.get("oidcProviderArn") or (
    aws.iam.OpenIdConnectProvider(
        "github", url=f"https://{GITHUB_ISSUER}", client_id_lists=[AUDIENCE]
    ).arn
)


def ci_role(name: str, subject: str, policy: dict) -> aws.iam.Role:
    """A role only `subject`'s tokens may assume, holding exactly `policy`."""
    trust = pulumi.Output.from_input(provider_arn).apply(
        lambda arn: json.dumps(trust_policy(arn, repository, subject))
    )
    role = aws.iam.Role(name, assume_role_policy=trust, max_session_duration=3600)
    aws.iam.RolePolicy(name, role=role.name, policy=json.dumps(policy))
    return role


boundary = aws.iam.Policy(
    "permissions-boundary",
    name=BOUNDARY,
    description="The most any role of the serverless-uploads program may do (docs/deploying.md).",
    policy=json.dumps(boundary_policy(scope)),
)
stacks = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in PROJECT_DIR.glob("Pulumi.*.yaml"))
preview = ci_role("github-preview", PULL_REQUEST, read_only_policy(scope))
drift = ci_role("github-drift", f"environment:{DRIFT_ENVIRONMENT}", read_only_policy(scope))
deploy = {
    stack: ci_role(f"github-deploy-{stack}", f"environment:{stack}", deploy_policy(scope, stack))
    for stack in stacks
}

pulumi.export("permissionsBoundaryArn", boundary.arn)
pulumi.export("previewRoleArn", preview.arn)
pulumi.export("driftRoleArn", drift.arn)
pulumi.export("deployRoleArns", {stack: role.arn for stack, role in deploy.items()})
