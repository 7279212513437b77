"""S3 (and SQS) on loopback: moto's threaded server, with the program's buckets and queues.

Each bucket is created as the program configures it (versioning, CORS). Its notification
subscriptions become moto queue configurations, one queue per subscription, with the same events,
prefix and suffix, so that moto itself decides which objects notify; `local.notifications` polls
those queues and invokes the functions. moto's event lacks fields that S3 sends (versionId,
sequencer, requester, source IP) and encodes "/" in keys, which S3 does not; `_full_s3_event`
fixes both, so handlers see S3's real shape.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import boto3
from joserfc.jwk import RSAKey
from moto.cognitoidp.responses import CognitoIdpJsonWebKeyResponse
from moto.moto_api import recorder
from moto.moto_server import werkzeug_app
from moto.s3 import notifications as moto_notifications
from moto.server import ThreadedMotoServer

from local.s3_cors import ActualRequestCors
from local.s3_guard import FramedRequestHandler, S3Guard
from local.sigv4 import Credentials
from local.topology import BucketSpec, Subscription

ACCOUNT_ID = "123456789012"
"""moto's default account, the same placeholder the offline engine's fake cloud uses."""


def run_credentials() -> dict[str, str]:
    """Fresh credentials for one run of local mode (boto3's keyword names): the functions, the
    server's own clients, `dev-user` and `ops.redrive` sign with them (the last two read them
    from the stack outputs file, in the run's private temporary folder), and `local.s3_guard`
    and `local.lambda_endpoint` refuse requests signed with any other. Nothing in the repository
    or the installed packages can sign for a running local mode."""
    return {
        "aws_access_key_id": "LOCAL" + secrets.token_hex(8).upper(),
        "aws_secret_access_key": secrets.token_urlsafe(30),
        "aws_session_token": secrets.token_urlsafe(24),
    }


_sequence = itertools.count(1)
_original_event = moto_notifications._get_s3_event
_shipped_jwks = CognitoIdpJsonWebKeyResponse.json_web_key
_MOTO_KID = "dummy"
"""The key id moto's tokens name in their header (cognitoidp/models.py, `create_jwt`)."""


def _full_s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict:
    """moto's S3 event plus the fields S3 sends that moto leaves out."""
    event = _original_event(event_name, bucket, key, notification_id)
    for record in event["Records"]:
        record["userIdentity"] = {"principalId": f"AWS:{ACCOUNT_ID}"}
        record["requestParameters"] = {"sourceIPAddress": "127.0.0.1"}
        record["responseElements"] = {
            "x-amz-request-id": hashlib.sha256(str(next(_sequence)).encode()).hexdigest()[:16],
            "x-amz-id-2": "local",
        }
        record["s3"]["bucket"]["ownerIdentity"] = {"principalId": ACCOUNT_ID}
        obj = record["s3"]["object"]
        obj["key"] = quote_plus(key.name, safe="/")  # S3 keeps "/"; moto encodes it as %2F
        if getattr(key, "version_id", "null") not in (None, "null"):
            obj["versionId"] = key.version_id
        obj["sequencer"] = f"{next(_sequence):016X}"
    return event


@dataclass(frozen=True)
class EventQueue:
    """The moto queue that receives one subscription's S3 events."""

    url: str
    subscription: Subscription
    bucket: str


class LocalStorage:
    """The moto server and what the program's buckets and queues need in it."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.credentials = run_credentials()
        self.token_key = RSAKey.generate_key(2048, parameters={"kid": _MOTO_KID, "alg": "RS256"})
        """The private key the run's user pools sign tokens with (`user_pools.sign_tokens_with`);
        moto's JWKS endpoint serves its public half."""
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint = ""
        self.event_queues: list[EventQueue] = []
        self.queue_urls: dict[str, str] = {}
        """Physical queue name -> moto queue URL."""
        self.cors_rules: dict[str, list[dict[str, Any]]] = {}
        """Bucket name -> its CORS rules, for responses to actual (not preflight) requests."""

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's access log: noise here
        # moto's server otherwise allows every origin on every request; S3 applies the bucket's
        # CORS rules only, and so does moto's S3 backend without the global override.
        werkzeug_app.DISABLE_GLOBAL_CORS = True
        moto_notifications._get_s3_event = _full_s3_event
        public = {"keys": [self.token_key.as_dict(private=False)]}
        CognitoIdpJsonWebKeyResponse.json_web_key = json.dumps(public).encode()
        # moto's request recorder writes every request (passwords included) to `moto_recording`
        # in the working directory once started; `/moto-api` is refused, and the recorder is off
        # and pointed at nothing even if MOTO_ENABLE_RECORDING is set.
        recorder._user_enabled = False
        recorder._location = os.devnull
        self._server.start()
        # The werkzeug server moto starts calls `server.app` per request and makes a handler of
        # `RequestHandlerClass` per connection: wrap the one, replace the other (moto pinned).
        wsgi = self._server._server
        wsgi.RequestHandlerClass = FramedRequestHandler
        guarded = S3Guard(wsgi.app, self.signing_credentials)
        wsgi.app = ActualRequestCors(guarded, self.cors_rules)
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.stop()
        moto_notifications._get_s3_event = _original_event
        CognitoIdpJsonWebKeyResponse.json_web_key = _shipped_jwks

    @property
    def signing_credentials(self) -> Credentials:
        """The run's key pair, as `local.sigv4` checks signatures with it."""
        return Credentials(
            self.credentials["aws_access_key_id"], self.credentials["aws_secret_access_key"]
        )

    def client(self, service: str) -> Any:
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=self.region, **self.credentials
        )

    def create_queues(self, names: tuple[str, ...]) -> None:
        sqs = self.client("sqs")
        for name in names:
            self.queue_urls[name] = sqs.create_queue(QueueName=name)["QueueUrl"]

    def create_bucket(self, spec: BucketSpec) -> None:
        s3 = self.client("s3")
        location = {}
        if self.region != "us-east-1":
            location = {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
        s3.create_bucket(Bucket=spec.name, **location)
        if spec.versioning:
            s3.put_bucket_versioning(
                Bucket=spec.name, VersioningConfiguration={"Status": "Enabled"}
            )
        if spec.cors_rules:
            self.cors_rules[spec.name] = [_cors_rule(r) for r in spec.cors_rules]
            s3.put_bucket_cors(
                Bucket=spec.name, CORSConfiguration={"CORSRules": self.cors_rules[spec.name]}
            )
        if spec.subscriptions:
            self._subscribe(s3, spec)

    def _subscribe(self, s3: Any, spec: BucketSpec) -> None:
        sqs = self.client("sqs")
        configurations = []
        for index, subscription in enumerate(spec.subscriptions):
            name = f"local-s3-events-{spec.name}-{index}"[:80]
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            arn = f"arn:aws:sqs:{self.region}:{ACCOUNT_ID}:{name}"
            self.event_queues.append(EventQueue(url, subscription, spec.name))
            rules = [
                {"Name": kind, "Value": value}
                for kind, value in (
                    ("prefix", subscription.prefix),
                    ("suffix", subscription.suffix),
                )
                if value
            ]
            configuration: dict[str, Any] = {
                "Id": subscription.id,
                "QueueArn": arn,
                "Events": list(subscription.events),
            }
            if rules:
                configuration["Filter"] = {"Key": {"FilterRules": rules}}
            configurations.append(configuration)
        s3.put_bucket_notification_configuration(
            Bucket=spec.name,
            NotificationConfiguration={"QueueConfigurations": configurations},
        )


def _cors_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A `BucketCorsConfiguration` rule (Pulumi's camelCase inputs) as S3's API spells it."""
    names = {
        "allowedHeaders": "AllowedHeaders",
        "allowedMethods": "AllowedMethods",
        "allowedOrigins": "AllowedOrigins",
        "exposeHeaders": "ExposeHeaders",
        "maxAgeSeconds": "MaxAgeSeconds",
        "id": "ID",
    }
    converted = {names[k]: v for k, v in rule.items() if k in names and v is not None}
    if "MaxAgeSeconds" in converted:
        converted["MaxAgeSeconds"] = int(converted["MaxAgeSeconds"])
    return converted
