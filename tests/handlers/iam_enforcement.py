"""moto's IAM enforcement, made faithful enough to prove least privilege by execution.

With enforcement on (`moto.core.set_initial_no_auth_action_count`), moto checks every request
against the IAM policies of the caller's access key. moto 5.2 evaluates conditions only partly: it
ignores operators other than `StringEquals`, fills no request context keys, and treats an Allow
whose condition fails as an explicit Deny (moto 5.2.5 moto/iam/access_control.py:490-491 and
`_check_conditions` :547-566). Our grants use `StringLike` on `s3:prefix`, which moto
would therefore ignore (allowing any listing). `faithful_conditions()` patches statement
evaluation with IAM's semantics for what our policies use, as the AWS IAM User Guide pages
"IAM JSON policy elements: Condition operators" (string operators and wildcards, `...IfExists`,
a key absent from the request context makes the condition false) and "Conditions with multiple
context keys or values" (keys and operators AND-ed, a key's values OR-ed) describe them:

- a statement applies only when all its conditions hold; a statement that doesn't apply is
  neutral, whatever its effect;
- `StringEquals` / `StringLike` (with `*` and `?` wildcards) and their `...IfExists` forms;
- `ForAnyValue:` on a multivalued key such as `aws:TagKeys`: true when any of the request's
  values matches, false when the key is absent (the deploy roles' Deny of untagging `stack`;
  moto fills no `aws:TagKeys`, so that Deny never applies here);
- `s3:prefix` of `ListBucket` requests comes from the request's `prefix` parameter ("" when
  absent; the Condition operators page says only that an absent key fails a non-`...IfExists`
  operator, which gives the same answer for every pattern our grants use, none matching "");
- a condition with another operator fails the test instead of being ignored;
- `iam:PermissionsBoundary` of IAM role requests comes from their `PermissionsBoundary`
  parameter (CreateRole, PutRolePermissionsBoundary); they are checked against the role they
  name (`RoleName`), where moto checks a role that does not exist yet (CreateRole) against `*`,
  which no name-scoped grant matches;
- `aws:ResourceAccount` is moto's one account;
- KMS requests are checked against the key they name (`KeyId`), where moto checks them against
  `*`, which no key-scoped grant matches.

Where (moto 5.2.5): IamResponse._determine_resource gives `*` for a role that does not exist
(moto/iam/responses.py:48-53); KmsResponse has none, so call_action uses `*`
(moto/core/responses.py:436-439). The condition keys and resource types are AWS's Service
Authorization Reference ("Actions, resources, and condition keys for AWS Identity and Access
Management", "... for AWS Key Management Service").
"""

from __future__ import annotations

import base64
import fnmatch
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, urlparse

from moto.iam import access_control
from moto.iam.access_control import IAMPolicyStatement, IAMRequestBase, PermissionResult
from moto.iam.models import iam_backends
from moto.iam.responses import IamResponse
from moto.kms.responses import KmsResponse
from moto.kms.utils import _deserialize_ciphertext_blob

_REQUEST_CONTEXT: ContextVar[Mapping[str, str] | None] = ContextVar(
    "iam_request_context", default=None
)


class UnsupportedConditionError(AssertionError):
    """A policy uses a condition operator this evaluator does not implement."""


def _string_like(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


_OPERATORS = {
    "StringEquals": lambda expected, value: expected == value,
    "StringLike": _string_like,
}


def conditions_hold(
    conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]
) -> bool:
    """IAM's evaluation of a statement's `Condition` block against the request context."""
    for operator, keys in conditions.items():
        qualifier, _, bare = operator.rpartition(":")
        base = bare.removesuffix("IfExists")
        if base not in _OPERATORS or qualifier not in ("", "ForAnyValue"):
            raise UnsupportedConditionError(f"condition operator {operator} is not evaluated")
        for key, expected in keys.items():
            if key not in context:
                if bare.endswith("IfExists"):
                    continue
                return False
            allowed = expected if isinstance(expected, list) else [expected]
            found = context[key]
            values = found if isinstance(found, list) else [found]
            if not any(_OPERATORS[base](str(e), v) for e in allowed for v in values):
                return False
    return True


def _request_context(request: IAMRequestBase) -> dict[str, str]:
    # moto holds one account, which owns every resource a request can reach: the account of
    # the resource (`aws:ResourceAccount`, IAM global condition keys) is the caller's.
    context: dict[str, str] = {"aws:ResourceAccount": request.account_id}
    if request._action == "s3:ListBucket":
        query = parse_qs(urlparse(request._path).query, keep_blank_values=True)
        context["s3:prefix"] = query.get("prefix", [""])[0]
    if request._action.startswith("iam:") and "PermissionsBoundary" in request._data:
        context["iam:PermissionsBoundary"] = _param(request._data["PermissionsBoundary"])
    return context


def _param(value: str | list[str]) -> str:
    """A query parameter as moto hands it over (a list of values, or one)."""
    return value[0] if isinstance(value, list) else value


def _role_arn(response: IamResponse) -> str:
    """The ARN of the role an IAM request names, whether or not it exists yet: with the path the
    request gives (CreateRole) or the role has."""
    if "RoleName" not in response.data:
        return "*"
    name = _param(response.data["RoleName"])
    path = _param(response.data.get("Path", "/"))
    backend = iam_backends[response.current_account][response.partition]
    existing = [r for r in backend.roles.values() if r.name == name]
    if existing:
        path = existing[0].path
    return f"arn:aws:iam::{response.current_account}:role{path}{name}"


def _kms_key_arn(response: KmsResponse) -> str:
    """The ARN of the key a KMS request names, as IAM matches it against `Resource`; Decrypt
    names none: KMS authorises it against the key the ciphertext was made with (AWS KMS API
    reference, Decrypt: "KeyId ... optional for symmetric encryption KMS keys"), read here from
    moto's ciphertext header."""
    body = json.loads(response.body or "{}")
    key_id = body.get("KeyId", "*")
    if key_id == "*" and "CiphertextBlob" in body:
        blob = base64.b64decode(body["CiphertextBlob"])
        key_id = _deserialize_ciphertext_blob(blob).key_id
    if key_id.startswith("arn:") or key_id == "*":
        return key_id
    return f"arn:aws:kms:{response.region}:{response.current_account}:key/{key_id}"


@contextmanager
def faithful_conditions() -> Iterator[None]:
    original_check = IAMRequestBase.check_action_permitted
    original_statement = IAMPolicyStatement.is_action_permitted

    def check_action_permitted(self: IAMRequestBase, resource: str) -> None:
        token = _REQUEST_CONTEXT.set(_request_context(self))
        try:
            original_check(self, resource)
        finally:
            _REQUEST_CONTEXT.reset(token)

    def is_action_permitted(self: IAMPolicyStatement, action: str, *args: Any) -> Any:
        conditions = self._statement.get("Condition")
        if not conditions:
            return original_statement(self, action, *args)
        if not conditions_hold(conditions, _REQUEST_CONTEXT.get() or {}):
            return PermissionResult.NEUTRAL
        unconditioned = {k: v for k, v in self._statement.items() if k != "Condition"}
        return original_statement(IAMPolicyStatement(unconditioned), action, *args)

    with (
        mock.patch.object(IAMRequestBase, "check_action_permitted", check_action_permitted),
        mock.patch.object(
            access_control.IAMPolicyStatement, "is_action_permitted", is_action_permitted
        ),
        mock.patch.object(KmsResponse, "_determine_resource", _kms_key_arn, create=True),
        mock.patch.object(IamResponse, "_determine_resource", _role_arn),
    ):
        yield


ADMIN_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
"""Everything: the identity that sets the scene before enforcement starts."""


def create_user(iam: Any, name: str, policies: list[str]) -> dict[str, str]:
    """An IAM user holding exactly `policies` (JSON documents); its access key as environment
    variables. moto enforces a user's policies as it would a role's."""
    iam.create_user(UserName=name)
    for index, document in enumerate(policies):
        iam.put_user_policy(UserName=name, PolicyName=f"p{index}", PolicyDocument=document)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
    }
