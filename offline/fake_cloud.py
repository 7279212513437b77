"""A fake AWS behind Pulumi's mock runtime: answers resource creations and provider calls with
plausible, deterministic values (ARNs, ids, names) so that programs resolve every output offline."""

from __future__ import annotations

import hashlib
import string
from collections.abc import Callable, Mapping
from typing import Any

from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks

FAKE_ACCOUNT_ID = "123456789012"
"""AWS's documentation placeholder account: never a real one."""

DEFAULT_LAMBDA_LIMITS: dict[str, int] = {
    "ConcurrentExecutions": 1000,
    "UnreservedConcurrentExecutions": 1000,
}
"""Lambda's `GetAccountSettings` `AccountLimit` (Lambda API reference, AccountLimit) of the fake
account: AWS's default quota, nothing reserved by other functions."""
BOUNDARY_POLICY = "uploads-permissions-boundary"
"""The managed policy the bootstrap creates in the fake account (bootstrap/ci_permissions.py)."""

# Resource types whose physical name lives in an input other than `name`.
_NAME_INPUT = {
    "aws:s3/bucket:Bucket": "bucket",
    "aws:apigatewayv2/domainName:DomainName": "domainName",
}

_LOWER = string.ascii_lowercase + string.digits
_MIXED = string.ascii_letters + string.digits


def _suffix(seed: str) -> str:
    """The 7 hex digits Pulumi appends to an auto-named resource: `<name>-` plus Randlen 7 hex
    (pulumi/pulumi-terraform-bridge@0f1c55e pkg/tfbridge/info/autonaming.go, AutoName and
    ComputeAutoNameDefault). With a `namePrefix` the real provider appends terraform's 26-character
    id.PrefixedUniqueId instead (hashicorp/terraform-plugin-sdk@7a74af2 helper/id/id.go,
    UniqueIDSuffixLength); this fake keeps 7 hex digits there too, so a prefixed name here is 19
    characters shorter than in AWS."""
    return hashlib.sha256(seed.encode()).hexdigest()[:7]


def _token(seed: str, length: int, alphabet: str = _LOWER) -> str:
    """`length` characters of `alphabet`, derived from `seed`: an id shaped like AWS's."""
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    chars = []
    for _ in range(length):
        number, index = divmod(number, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


def _uuid(seed: str) -> str:
    """A version-4-shaped UUID (a KMS key id), derived from `seed`."""
    digits = hashlib.sha256(seed.encode()).hexdigest()
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-8{digits[17:20]}-{digits[20:32]}"


class FakeCloud(Mocks):
    """Deterministic answers: the same program gives the same ids and ARNs on every run."""

    def __init__(
        self,
        region: str = "us-east-1",
        stack: str = "test",
        lambda_limits: Mapping[str, int] | None = None,
        policies: frozenset[str] = frozenset({BOUNDARY_POLICY}),
    ) -> None:
        """`lambda_limits`: None means the account's settings cannot be read (no permission);
        `policies`: the names of the customer managed policies the account holds."""
        self.region = region
        self.stack = stack
        self.lambda_limits = lambda_limits
        self.policies = policies
        self.created_values: set[str] = set()
        """Every value this cloud computed when creating a resource (ARNs, ids, endpoints), not
        its name: what a real `pulumi preview` of a new stack cannot know yet."""

    def call(self, args: MockCallArgs) -> tuple[dict, list[tuple[str, str]]]:
        """Results shaped like pulumi-aws's outputs for these functions (the installed
        pulumi_aws's GetCallerIdentityResult, GetRegionResult, GetPartitionResult,
        GetServiceQuotaResult); anything else answers empty."""
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
        if args.token == "aws:iam/getPolicy:getPolicy":
            return self._policy(args.args)
        return {}, []

    def _policy(self, args: Mapping[str, Any]) -> tuple[dict, list[tuple[str, str]]]:
        """A customer managed policy of this account by ARN, or the provider's not-found."""
        arn = str(args.get("arn", ""))
        name = arn.rsplit("/", 1)[-1]
        if f":{FAKE_ACCOUNT_ID}:policy/" not in arn or name not in self.policies:
            return {}, [("arn", f"NoSuchEntity: Policy {arn} does not exist or is not attachable")]
        return {"arn": arn, "id": arn, "name": name, "path": "/", "policy": "{}"}, []

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        name_key = _NAME_INPUT.get(args.typ, "name")
        seed = f"{self.stack}:{args.typ}:{args.name}"
        prefix = inputs.get(f"{name_key}Prefix") or f"{args.name}-"
        physical = inputs.get(name_key) or f"{prefix}{_suffix(seed)}"
        computed = {
            k: v for k, v in _computed(args.typ, physical, self.region).items() if k not in inputs
        }
        self.created_values.update(v for v in computed.values() if v != physical)
        state: dict[str, Any] = {name_key: physical, **computed}
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
    """invoke_arn as terraform-provider-aws internal/service/lambda/function.go invokeARN
    builds it (AWS doc "Set up Lambda custom integrations in API Gateway")."""
    arn = _arn("lambda", region, f"function:{name}")
    invoke = f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"
    return {"arn": arn, "invokeArn": invoke, "qualifiedArn": f"{arn}:$LATEST"}


def _queue(name: str, region: str) -> dict[str, Any]:
    """The queue URL is the id (AWS doc "Amazon SQS queue and message identifiers")."""
    url = f"https://sqs.{region}.amazonaws.com/{FAKE_ACCOUNT_ID}/{name}"
    return {"arn": _arn("sqs", region, name), "url": url, "id": url}


def _key(name: str, region: str) -> dict[str, Any]:
    """Key id and key ARN as AWS doc "Key identifiers (KeyId)" (AWS KMS Developer Guide) shows."""
    key_id = _uuid(name)
    return {"arn": _arn("kms", region, f"key/{key_id}"), "keyId": key_id, "id": key_id}


def _http_api(name: str, region: str) -> dict[str, Any]:
    """arn and execution_arn as terraform-provider-aws@00a3530
    internal/service/apigatewayv2/api.go apiARN / apiInvokeARN build them."""
    api_id = _token(name, 10)
    return {
        "id": api_id,
        "apiEndpoint": f"https://{api_id}.execute-api.{region}.amazonaws.com",
        "executionArn": _arn("execute-api", region, api_id),
        "arn": f"arn:aws:apigateway:{region}::/apis/{api_id}",
    }


def _user_pool(name: str, region: str) -> dict[str, Any]:
    """endpoint as terraform-provider-aws internal/service/cognitoidp/user_pool.go
    resourceUserPoolRead sets it: the regional cognito-idp hostname, "/", the pool id."""
    pool_id = f"{region}_{_token(name, 9, _MIXED)}"
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
    # Ids API Gateway and Cognito generate: lowercase letters and digits, of AWS's lengths.
    "aws:cognito/userPoolClient:UserPoolClient": lambda name, _: {"id": _token(name, 26)},
    "aws:apigatewayv2/authorizer:Authorizer": lambda name, _: {"id": _token(name, 6)},
    "aws:apigatewayv2/integration:Integration": lambda name, _: {"id": _token(name, 7)},
    "aws:apigatewayv2/route:Route": lambda name, _: {"id": _token(name, 7)},
    "aws:apigatewayv2/apiMapping:ApiMapping": lambda name, _: {"id": _token(name, 6)},
}


def _computed(type_: str, physical: str, region: str) -> dict[str, Any]:
    """Computed attributes per resource type, shaped like the real ones."""
    if type_ in _COMPUTED:
        return _COMPUTED[type_](physical, region)
    service = type_.split(":")[1].split("/", maxsplit=1)[0]
    return {"arn": _arn(service, region, physical)}
