"""A fake AWS behind Pulumi's mock runtime: answers resource creations and provider calls with
plausible, deterministic values (ARNs, ids, names) so that programs resolve every output offline."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks

FAKE_ACCOUNT_ID = "123456789012"
"""AWS's documentation placeholder account: never a real one."""

# Resource types whose physical name lives in an input other than `name`.
_NAME_INPUT = {"aws:s3/bucket:Bucket": "bucket"}


def _suffix(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:7]


class FakeCloud(Mocks):
    """Deterministic answers: the same program gives the same ids and ARNs on every run."""

    def __init__(self, region: str = "us-east-1", stack: str = "test") -> None:
        self.region = region
        self.stack = stack

    def call(self, args: MockCallArgs) -> tuple[dict, list[tuple[str, str]]]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": FAKE_ACCOUNT_ID,
                "arn": f"arn:aws:iam::{FAKE_ACCOUNT_ID}:user/offline",
                "id": FAKE_ACCOUNT_ID,
                "userId": "AIDAOFFLINE",
            }, []
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": self.region, "name": self.region, "id": self.region}, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        return {}, []

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        name_key = _NAME_INPUT.get(args.typ, "name")
        seed = f"{self.stack}:{args.typ}:{args.name}"
        prefix = inputs.get(f"{name_key}Prefix") or f"{args.name}-"
        physical = inputs.get(name_key) or f"{prefix}{_suffix(seed)}"
        state: dict[str, Any] = {name_key: physical, **_computed(args.typ, physical, self.region)}
        state.update(inputs)
        state.setdefault(name_key, physical)
        return state.pop("id", physical), state


def _arn(service: str, region: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{FAKE_ACCOUNT_ID}:{resource}"


def _bucket(name: str, region: str) -> dict[str, Any]:
    return {
        "arn": f"arn:aws:s3:::{name}",
        "bucketRegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
        "region": region,
    }


def _function(name: str, region: str) -> dict[str, Any]:
    arn = _arn("lambda", region, f"function:{name}")
    invoke = f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"
    return {"arn": arn, "invokeArn": invoke, "qualifiedArn": f"{arn}:$LATEST"}


def _queue(name: str, region: str) -> dict[str, Any]:
    url = f"https://sqs.{region}.amazonaws.com/{FAKE_ACCOUNT_ID}/{name}"
    return {"arn": _arn("sqs", region, name), "url": url, "id": url}


def _key(name: str, region: str) -> dict[str, Any]:
    key_id = _suffix(name) + "-0000-4000-8000-000000000000"
    return {"arn": _arn("kms", region, f"key/{key_id}"), "keyId": key_id, "id": key_id}


def _http_api(name: str, region: str) -> dict[str, Any]:
    api_id = _suffix(name)[:10]
    return {
        "id": api_id,
        "apiEndpoint": f"https://{api_id}.execute-api.{region}.amazonaws.com",
        "executionArn": _arn("execute-api", region, api_id),
        "arn": f"arn:aws:apigateway:{region}::/apis/{api_id}",
    }


def _user_pool(name: str, region: str) -> dict[str, Any]:
    pool_id = f"{region}_{_suffix(name)}Ab"
    return {
        "id": pool_id,
        "arn": _arn("cognito-idp", region, f"userpool/{pool_id}"),
        "endpoint": f"cognito-idp.{region}.amazonaws.com/{pool_id}",
    }


_COMPUTED: dict[str, Callable[[str, str], dict[str, Any]]] = {
    "aws:s3/bucket:Bucket": _bucket,
    "aws:lambda/function:Function": _function,
    "aws:iam/role:Role": lambda name, _: {"arn": f"arn:aws:iam::{FAKE_ACCOUNT_ID}:role/{name}"},
    "aws:cloudwatch/logGroup:LogGroup": lambda name, region: {
        "arn": _arn("logs", region, f"log-group:{name}")
    },
    "aws:sqs/queue:Queue": _queue,
    "aws:kms/key:Key": _key,
    "aws:apigatewayv2/api:Api": _http_api,
    "aws:cognito/userPool:UserPool": _user_pool,
    # App client ids: 26 lowercase letters and digits.
    "aws:cognito/userPoolClient:UserPoolClient": lambda name, _: {
        "id": hashlib.sha256(name.encode()).hexdigest()[:26]
    },
}


def _computed(type_: str, physical: str, region: str) -> dict[str, Any]:
    """Computed attributes per resource type, shaped like the real ones."""
    if type_ in _COMPUTED:
        return _COMPUTED[type_](physical, region)
    service = type_.split(":")[1].split("/", maxsplit=1)[0]
    return {"arn": _arn(service, region, physical)}
