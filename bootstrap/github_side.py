"""The GitHub side as code (pulumi-github): the OIDC subject template the roles' trust relies on,
one environment per stack (deployable from `main` only; reviewers on protected stacks), the
drift and protected-preview environments, and every variable the workflows read
(docs/deploying.md, "One-time setup")."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pulumi
import pulumi_github as github
from ci_permissions import SUBJECT_CLAIMS


class GitHubSide:
    """Resources of one repository (`owner/name`), through a provider for its owner."""

    def __init__(self, repository: str) -> None:
        owner, self.name = repository.split("/", 1)
        self.opts = pulumi.ResourceOptions(provider=github.Provider("github", owner=owner))
        github.ActionsRepositoryOidcSubjectClaimCustomizationTemplate(
            "oidc-subject",
            repository=self.name,
            use_default=False,
            include_claim_keys=list(SUBJECT_CLAIMS),
            opts=self.opts,
        )

    def variables(self, values: Mapping[str, pulumi.Input[str]]) -> None:
        """Repository variables (every workflow reads them)."""
        for name, value in values.items():
            github.ActionsVariable(
                f"var-{name}",
                repository=self.name,
                variable_name=name,
                value=value,
                opts=self.opts,
            )

    def environment(
        self,
        name: str,
        values: Mapping[str, pulumi.Input[str]],
        *,
        reviewers: Sequence[int] = (),
        reviewer_teams: Sequence[int] = (),
    ) -> github.RepositoryEnvironment:
        """An environment only `main` may deploy to, with its variables; with reviewers, a job
        in it waits for one of them (and not the one who started it)."""
        reviewed = bool(reviewers or reviewer_teams)
        environment = github.RepositoryEnvironment(
            f"env-{name}",
            repository=self.name,
            environment=name,
            can_admins_bypass=False,
            prevent_self_review=reviewed,
            reviewers=[{"users": list(reviewers), "teams": list(reviewer_teams)}]
            if reviewed
            else None,
            deployment_branch_policy={"protected_branches": False, "custom_branch_policies": True},
            opts=self.opts,
        )
        child = pulumi.ResourceOptions.merge(self.opts, pulumi.ResourceOptions(parent=environment))
        github.RepositoryEnvironmentDeploymentPolicy(
            f"env-{name}-main",
            repository=self.name,
            environment=environment.environment,
            branch_pattern="main",
            opts=child,
        )
        for variable, value in values.items():
            github.ActionsEnvironmentVariable(
                f"env-{name}-{variable}",
                repository=self.name,
                environment=environment.environment,
                variable_name=variable,
                value=value,
                opts=child,
            )
        return environment


def stack_list(stacks: Sequence[str]) -> str:
    """A JSON list the workflows' matrices read (`fromJSON(vars.X)`)."""
    return json.dumps(list(stacks))
