"""The CrossGuard policy pack: `pulumi preview --policy-pack policy` runs every rule of
`rules.RULES` (the same functions `python -m offline plan` runs), each at its own level."""

from pulumi_policy import EnforcementLevel, PolicyPack

from rules.crossguard import policies

PolicyPack(
    name="serverless-uploads",
    description="AWS FSBP and checkov controls for the serverless uploads stacks",
    enforcement_level=EnforcementLevel.ADVISORY,
    policies=policies(),
)
