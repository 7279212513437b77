"""What every component of this package shares: child naming and the `transform` escape hatch."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

import pulumi

Transform = Mapping[str, Any] | Callable[[dict[str, Any], pulumi.ResourceOptions], None]
"""Changes a child's arguments before it is created. A mapping is merged shallowly into the
arguments (top-level keys replace ours); a callable may edit the arguments dict and the options
in place."""

PolicyStatement = Mapping[str, Any]
"""One IAM policy statement (`Effect`, `Action`, `Resource`, optional `Condition`, `Sid`); values
may be Pulumi inputs."""

R = TypeVar("R", bound=pulumi.Resource)


class InvokableFunction(Protocol):
    """A Lambda function another service can invoke: a PythonFunction, or anything exposing its
    logical name and the function's name and ARN as outputs."""

    @property
    def pulumi_resource_name(self) -> str: ...
    @property
    def name(self) -> pulumi.Output[str]: ...
    @property
    def arn(self) -> pulumi.Output[str]: ...


HTTP_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?\Z")
"""A browser origin as CORS compares it: scheme, host and optional port, no path."""

HTTPS_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/\S*)?\Z")
"""An https:// URL (JWT issuers: API Gateway fetches their discovery document over TLS only)."""

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")
"""An email address, as far as a config typo goes (SNS checks the rest by asking to confirm)."""

IAM_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:policy/([\w+=,.@-]+/)*[\w+=,.@-]+\Z")
"""A customer-managed IAM policy ARN (with its optional path), as a permissions boundary takes."""
IAM_PATH = re.compile(r"^/([\w+=,.@-]+/)*\Z")
"""An IAM path: `/` or `/a/b/` (IAM API reference, the Path parameter, narrowed to name chars)."""
KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+\Z")
"""A KMS key ARN. Not an alias: IAM statements on an alias ARN allow no encrypt or decrypt call,
so grants for an aliased bucket key would fail at run time."""


def slug(text: str) -> str:
    """A stable, name-safe suffix: `GET /uploads/{id}` -> `get-uploads-id`."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "root"


class Component(pulumi.ComponentResource):
    """A ComponentResource whose children are named `<name>-<role>` and pass through transforms."""

    def __init__(
        self,
        type_: str,
        name: str,
        transforms: Mapping[str, Transform | None] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(type_, name, None, opts)
        self._transforms = dict(transforms or {})

    def _child(
        self,
        resource_type: Callable[..., R],
        role: str,
        props: dict[str, Any],
        opts: pulumi.ResourceOptions | None = None,
        *,
        transform_key: str | None = None,
    ) -> R:
        """Create a child named `<name>-<role>` with `parent=self`, after its transform."""
        options = pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=self), opts)
        transform = self._transforms.get(transform_key or role.replace("-", "_"))
        if callable(transform):
            transform(props, options)
        elif transform is not None:
            props = {**props, **transform}
        return resource_type(f"{self._name}-{role}", opts=options, **props)


def concat_known(*parts: pulumi.Input[str]) -> pulumi.Output[str | None]:
    """`Output.concat`, or None while a part is None: a unit test's mocks leave the outputs a
    provider computes (an API's execution ARN, a pool's endpoint) unset, as Pulumi's documented
    template does, and a consumer's first test must not fail inside a component."""
    return pulumi.Output.all(*parts).apply(
        lambda values: None if any(v is None for v in values) else "".join(values)
    )
