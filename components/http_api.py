"""HttpApi: an API Gateway HTTP API that routes `"METHOD /path"` to Lambda functions, with access
logs, throttling, optional CORS, JWT/IAM authorization and a custom domain."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from ._checks import HTTP_ORIGINS, KMS_KEY, LOG_RETENTION, Between, check_fields, checked
from ._component import HTTPS_URL, Component, Transform, concat_known, slug
from ._http_routes import (
    AUTHORIZATIONS,
    METHODS,
    PERMISSION_COLLAPSE_THRESHOLD,
    ApiFunction,
    Authorization,
    ParsedRoute,
    Route,
    parse_routes,
    permission_scopes,
    route_settings,
)
from ._wire import PYTHON_ONLY, args_of

__all__ = [
    "PERMISSION_COLLAPSE_THRESHOLD", "ApiFunction", "HttpApi", "HttpApiArgs", "Route",
]  # fmt: skip

MAX_INTEGRATION_TIMEOUT_SECONDS = 30
"""HTTP API integrations time out after at most 30 s (30000 ms)."""

TRANSFORM_KEYS = (
    "api", "log_group", "stage", "integration", "route", "authorizer", "permission",
    "domain_name", "api_mapping",
)  # fmt: skip

ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "routeKey": "$context.routeKey",
        "path": "$context.path",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "integrationLatency": "$context.integrationLatency",
        "integrationErrorMessage": "$context.integrationErrorMessage",
        "authorizerError": "$context.authorizer.error",
    },
    separators=(",", ":"),
)
"""One JSON object per request (API Gateway substitutes the `$context` variables)."""

_DOMAIN = re.compile(r"^(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z")


@dataclass(frozen=True)
class HttpApiArgs:
    """Arguments of HttpApi. Every default is the secure choice; relax it explicitly."""

    routes: Mapping[str, ApiFunction | Route]
    """Required: `"METHOD /path"` (or `"$default"`) -> function or `Route(function, ...)`. At
    least one; keys are validated and normalised (a trailing slash is dropped)."""
    integration_timeout_seconds: int = checked(Between(1, MAX_INTEGRATION_TIMEOUT_SECONDS), 30)
    """Seconds API Gateway waits for a function. Default 30: AWS's default and the HTTP API
    maximum, so a function that may run 30 s is not cut off; lower it to fail fast."""
    log_retention_days: int = checked(LOG_RETENTION, 14)
    """Days CloudWatch keeps the access logs; one of the values CloudWatch accepts. Default 14:
    enough to investigate an incident, never kept forever."""
    log_kms_key: pulumi.Input[str] | None = checked(KMS_KEY, None)
    """ARN of a KMS key that encrypts the access log group. CloudWatch Logs wants the key's ARN,
    and the key policy must let `logs.<region>.amazonaws.com` use it (StorageBucket's
    `kms_key_for_logs` does); API Gateway's log delivery needs nothing extra. Default None:
    CloudWatch Logs' own encryption."""
    throttling_burst_limit: int = checked(Between(0, 5000), 100)
    """Default burst of requests for every route. Default 100: bounds cost and protects the
    functions far below the account limit (5000)."""
    throttling_rate_limit: int = checked(Between(0, 10000), 50)
    """Default requests per second for every route. Default 50 (account limit: 10000)."""
    detailed_metrics: bool = False
    """Per-route CloudWatch metrics. Default False: they are billed as custom metrics."""
    cors_origins: Sequence[str] = checked(HTTP_ORIGINS, ())
    """Browser origins allowed to call the API, e.g. `https://app.example.com`. Default: none, so
    no CORS configuration exists."""
    cors_methods: Sequence[str] = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
    """Methods allowed for those origins."""
    cors_headers: Sequence[str] = ("authorization", "content-type")
    """Request headers allowed for those origins (`authorization` carries JWTs)."""
    cors_max_age_seconds: int = checked(Between(0, 86400), 3600)
    """How long browsers cache the preflight answer (at most 86400)."""
    default_authorization: Authorization | None = None
    """Authorization of routes that don't choose: "NONE", "JWT" or "AWS_IAM". Default None means
    "NONE" when no `jwt_issuer` is set; with a `jwt_issuer` it must be given explicitly."""
    jwt_issuer: pulumi.Input[str] | None = None
    """Issuer URL (https) of the JWTs; creates one JWT authorizer. Default None: no authorizer."""
    jwt_audience: Sequence[pulumi.Input[str]] = ()
    """Accepted `aud` (or `client_id`) values; at least one when `jwt_issuer` is set."""
    domain_name: str | None = None
    """Custom domain, e.g. `api.example.com` (REGIONAL, TLS 1.2). Default None: none."""
    certificate_arn: pulumi.Input[str] | None = None
    """ACM certificate for `domain_name`, in the API's region; required with it."""
    disable_execute_api_endpoint: bool = False
    """Serve only through `domain_name`. Default False: the execute-api URL also works."""
    transforms: Mapping[str, Transform | None] = field(default_factory=dict, metadata=PYTHON_ONLY)
    """Escape hatch, per child: api, log_group, stage, integration, route, authorizer,
    permission, domain_name, api_mapping."""

    def __post_init__(self) -> None:
        check_fields(self)

    def validate(self, name: str) -> list[ParsedRoute]:
        """Raise a ValueError naming the component and the field; return the routes."""
        owner = f'HttpApi "{name}"'
        if not self.routes:
            raise ValueError(f"{owner}: routes must hold at least one route")
        routes = parse_routes(owner, self.routes)
        unknown = sorted(set(self.transforms) - set(TRANSFORM_KEYS))
        if unknown:
            raise ValueError(f"{owner}: unknown transform keys {unknown}; known: {TRANSFORM_KEYS}")
        self._check_cors(owner)
        self._check_authorization(owner, routes)
        self._check_domain(owner)
        return routes

    def _check_cors(self, owner: str) -> None:
        bad = [m for m in self.cors_methods if m not in (*METHODS, "*") or m == "ANY"]
        if bad:
            raise ValueError(f"{owner}: cors_methods {bad} are not HTTP methods")

    def _check_authorization(self, owner: str, routes: list[ParsedRoute]) -> None:
        default = self.default_authorization
        if default not in (None, *AUTHORIZATIONS):
            raise ValueError(
                f"{owner}: default_authorization must be one of {', '.join(AUTHORIZATIONS)}, "
                f"got {default!r}"
            )
        if self.jwt_issuer is not None:
            if default is None:
                raise ValueError(
                    f"{owner}: jwt_issuer is set, so choose default_authorization explicitly: "
                    '"JWT" to require a token on every route, or "NONE"/"AWS_IAM" and mark the '
                    'protected routes with Route(function, authorization="JWT")'
                )
            issuer = self.jwt_issuer
            if isinstance(issuer, str) and not HTTPS_URL.match(issuer):
                raise ValueError(f"{owner}: jwt_issuer {issuer!r} must be an https:// URL")
            if not self.jwt_audience:
                raise ValueError(f"{owner}: jwt_audience must list at least one audience")
        for parsed in routes:
            effective = parsed.route.authorization or default or "NONE"
            if effective == "JWT" and self.jwt_issuer is None:
                raise ValueError(
                    f'{owner}: route "{parsed.key}" uses JWT authorization, but jwt_issuer '
                    "is not set"
                )
            if parsed.route.scopes and effective != "JWT":
                raise ValueError(f'{owner}: route "{parsed.key}": scopes need JWT authorization')

    def _check_domain(self, owner: str) -> None:
        if (self.domain_name is None) != (self.certificate_arn is None):
            raise ValueError(f"{owner}: give domain_name and certificate_arn together, or neither")
        if self.domain_name is not None and not _DOMAIN.match(self.domain_name):
            raise ValueError(
                f"{owner}: domain_name {self.domain_name!r} must be a lowercase DNS name"
            )
        if self.disable_execute_api_endpoint and self.domain_name is None:
            raise ValueError(
                f"{owner}: disable_execute_api_endpoint without a domain_name would leave the "
                "API unreachable"
            )


class HttpApi(Component):
    """An HTTP API: one Lambda proxy integration per function, a `$default` auto-deploying stage
    with JSON access logs and throttling, and a Lambda permission scoped to each route."""

    api: aws.apigatewayv2.Api
    """The HTTP API."""
    stage: aws.apigatewayv2.Stage
    """The `$default` stage (auto-deployed, access logs, throttling)."""
    log_group: aws.cloudwatch.LogGroup
    """The access log group."""
    authorizer: aws.apigatewayv2.Authorizer | None
    """The JWT authorizer, with `jwt_issuer`; none otherwise."""
    domain: aws.apigatewayv2.DomainName | None
    """The custom domain, with `domain_name`; none otherwise."""
    routes: dict[str, aws.apigatewayv2.Route]
    """Each route by its normalised key."""
    id: pulumi.Output[str]
    """The API's id (Python only: `id` is a reserved name in other languages)."""
    name: pulumi.Output[str]
    """The API's name."""
    arn: pulumi.Output[str]
    """The API's ARN."""
    url: pulumi.Output[str]
    """Where clients call the API: the custom domain's URL, else the stage's invoke URL."""
    execution_arn: pulumi.Output[str]
    """The ARN prefix Lambda permissions and IAM policies name routes with."""

    def __init__(
        self,
        name: str,
        args: HttpApiArgs | Mapping[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = args_of(HttpApiArgs, args, f'HttpApi "{name}"')
        routes = args.validate(name)
        super().__init__("uploads:index:HttpApi", name, args.transforms, opts)
        self._args = args
        self.api = self._create_api()
        self.id, self.name, self.arn = self.api.id, self.api.name, self.api.arn
        self.execution_arn = self.api.execution_arn
        self.log_group = self._child(
            aws.cloudwatch.LogGroup,
            "log-group",
            {
                "retention_in_days": args.log_retention_days,
                "kms_key_id": args.log_kms_key,
                # Access logs are a vended log delivery: under /aws/vendedlogs/ CloudWatch Logs
                # keeps one resource policy for all such groups instead of growing one per group
                # (5,120 characters, 10 policies per region).
                "name_prefix": f"/aws/vendedlogs/apigateway/{name}-",
            },
        )
        self.authorizer = self._create_authorizer()
        integrations = self._create_integrations(routes)
        self.routes = {r.key: self._create_route(r, integrations[r.function_name]) for r in routes}
        self.stage = self._create_stage(routes)
        self.domain, self.url = self._create_domain()
        self._create_permissions(routes)
        self.register_outputs(
            {
                "api": self.api,
                "id": self.id,
                "name": self.name,
                "arn": self.arn,
                "url": self.url,
                "execution_arn": self.execution_arn,
                "stage": self.stage,
                "log_group": self.log_group,
            }
        )

    # -- children ---------------------------------------------------------------------------

    def _create_api(self) -> aws.apigatewayv2.Api:
        args = self._args
        props: dict[str, Any] = {
            "protocol_type": "HTTP",
            "description": f"HttpApi {self._name} ({pulumi.get_stack()})",
            "disable_execute_api_endpoint": args.disable_execute_api_endpoint,
        }
        if args.cors_origins:
            props["cors_configuration"] = {
                "allow_origins": list(args.cors_origins),
                "allow_methods": list(args.cors_methods),
                "allow_headers": list(args.cors_headers),
                "max_age": args.cors_max_age_seconds,
            }
        return self._child(aws.apigatewayv2.Api, "api", props)

    def _create_authorizer(self) -> aws.apigatewayv2.Authorizer | None:
        if self._args.jwt_issuer is None:
            return None
        props = {
            "api_id": self.api.id,
            "authorizer_type": "JWT",
            "identity_sources": ["$request.header.Authorization"],
            "jwt_configuration": {
                "issuer": self._args.jwt_issuer,
                "audiences": list(self._args.jwt_audience),
            },
        }
        return self._child(aws.apigatewayv2.Authorizer, "authorizer", props)

    def _create_integrations(
        self, routes: list[ParsedRoute]
    ) -> dict[str, aws.apigatewayv2.Integration]:
        integrations: dict[str, aws.apigatewayv2.Integration] = {}
        for parsed in routes:
            if parsed.function_name in integrations:
                continue
            props = {
                "api_id": self.api.id,
                "integration_type": "AWS_PROXY",
                "integration_method": "POST",
                "integration_uri": parsed.route.function.invoke_arn,
                "payload_format_version": "2.0",
                "timeout_milliseconds": self._args.integration_timeout_seconds * 1000,
            }
            integrations[parsed.function_name] = self._child(
                aws.apigatewayv2.Integration,
                f"integration-{parsed.function_name}",
                props,
                transform_key="integration",
            )
        return integrations

    def _create_route(
        self, parsed: ParsedRoute, integration: aws.apigatewayv2.Integration
    ) -> aws.apigatewayv2.Route:
        authorization = parsed.route.authorization or self._args.default_authorization or "NONE"
        props: dict[str, Any] = {
            "api_id": self.api.id,
            "route_key": parsed.key,
            "target": pulumi.Output.concat("integrations/", integration.id),
            "authorization_type": authorization,
        }
        if authorization == "JWT" and self.authorizer is not None:
            props["authorizer_id"] = self.authorizer.id
            if parsed.route.scopes:
                props["authorization_scopes"] = list(parsed.route.scopes)
        return self._child(
            aws.apigatewayv2.Route, f"route-{slug(parsed.key)}", props, transform_key="route"
        )

    def _create_stage(self, routes: list[ParsedRoute]) -> aws.apigatewayv2.Stage:
        args = self._args
        defaults = {
            "throttling_burst_limit": args.throttling_burst_limit,
            "throttling_rate_limit": args.throttling_rate_limit,
            "detailed_metrics_enabled": args.detailed_metrics,
        }
        throttled = [r for r in routes if r.route.throttled]
        props: dict[str, Any] = {
            "api_id": self.api.id,
            "name": "$default",
            "auto_deploy": True,
            "access_log_settings": {
                "destination_arn": self.log_group.arn,
                "format": ACCESS_LOG_FORMAT,
            },
            "default_route_settings": defaults,
        }
        if throttled:
            props["route_settings"] = [route_settings(r, defaults) for r in throttled]
        # Route settings name routes by key: AWS rejects them until those routes exist.
        depends_on = [self.routes[r.key] for r in throttled]
        return self._child(
            aws.apigatewayv2.Stage, "stage", props, pulumi.ResourceOptions(depends_on=depends_on)
        )

    def _create_domain(self) -> tuple[aws.apigatewayv2.DomainName | None, pulumi.Output[str]]:
        args = self._args
        if args.domain_name is None:
            return None, self.api.api_endpoint
        configuration = {
            "certificate_arn": args.certificate_arn,
            "endpoint_type": "REGIONAL",
            "security_policy": "TLS_1_2",
        }
        domain = self._child(
            aws.apigatewayv2.DomainName,
            "domain-name",
            {"domain_name": args.domain_name, "domain_name_configuration": configuration},
        )
        mapping = self._child(
            aws.apigatewayv2.ApiMapping,
            "api-mapping",
            {"api_id": self.api.id, "domain_name": domain.domain_name, "stage": self.stage.name},
        )
        return domain, mapping.id.apply(lambda _: f"https://{args.domain_name}")

    def _create_permissions(self, routes: list[ParsedRoute]) -> None:
        for function, role, suffix in permission_scopes(routes):
            props = {
                "action": "lambda:InvokeFunction",
                "function": function.name,
                "principal": "apigateway.amazonaws.com",
                "source_arn": concat_known(self.execution_arn, suffix),
            }
            self._child(aws.lambda_.Permission, role, props, transform_key="permission")
