"""A secret setting stays secret in every resource and output that uses it (issue 23 item 6).

The real CLI decrypts a `secure:` value for the program and lists its key in
PULUMI_CONFIG_SECRET_KEYS (pulumi/pulumi `pkg/resource/deploy/source_eval.go:219-225`,
`sdk/python/cmd/pulumi-language-python/main.go:1074`); the program reads the value through
`pulumi.Config`. The offline engine holds no key: it plans with a stand-in, never shows the
ciphertext, and says the value was not checked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime import rpc

from offline.__main__ import main
from offline.engine import run_stack
from offline.graph import ResourceGraph
from offline.values import SECRET, plain

ROOT = Path(__file__).resolve().parent.parent
NS = "serverless-uploads"
TOKEN = "T0001-B0002-XyZsecretTokenXyZ"
WEBHOOK = f"https://hooks.example.com/services/{TOKEN}"
ISSUER = "https://id.internal-idp.example.com"
JWT = {
    f"{NS}:auth": "jwt",
    f"{NS}:authIssuer": ISSUER,
    f"{NS}:authAudience": '["uploads-api"]',
    f"{NS}:alarmHttpsEndpoints": json.dumps([WEBHOOK]),
}
SECRET_KEYS = [f"{NS}:authIssuer", f"{NS}:alarmHttpsEndpoints"]


def _texts(value: Any) -> str:
    return json.dumps(plain(value))


def _webhook_subscription(graph: ResourceGraph):
    """The alarm topic's HTTPS subscription (a stack may also subscribe email addresses)."""
    subscriptions = graph.of_type("aws:sns/topicSubscription:TopicSubscription")
    return next(r for r in subscriptions if r.inputs["protocol"] == "https")


def _plan(monkeypatch: pytest.MonkeyPatch, secret_keys: list[str] | None) -> ResourceGraph:
    if secret_keys is None:
        monkeypatch.delenv("PULUMI_CONFIG_SECRET_KEYS", raising=False)
    else:
        monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(secret_keys))
    return run_stack("dev", ROOT, overrides=JWT)


def test_secret_settings_are_secret_in_every_resource_and_output(monkeypatch) -> None:
    graph = _plan(monkeypatch, SECRET_KEYS)
    for resource in graph:
        shown = _texts(dict(resource.inputs))
        assert TOKEN not in shown, resource.urn
        assert "internal-idp" not in shown, resource.urn
        assert TOKEN not in resource.urn
    subscription = _webhook_subscription(graph)
    assert rpc.is_rpc_secret(subscription.inputs["endpoint"])
    uploads = graph.named("uploads-uploads-function")
    assert plain(uploads.inputs["environment"]) == SECRET
    authorizer = graph.one("aws:apigatewayv2/authorizer:Authorizer")
    assert plain(authorizer.inputs["jwtConfiguration"]) == SECRET
    assert plain(graph.outputs)["authIssuer"] == SECRET
    assert plain(graph.outputs)["bucketName"] != SECRET  # what holds no secret stays readable


def test_without_the_secret_mark_the_same_values_are_plain(monkeypatch) -> None:
    """What makes them secret is the engine's list of secret keys, nothing else."""
    graph = _plan(monkeypatch, None)
    subscription = _webhook_subscription(graph)
    assert subscription.inputs["endpoint"] == WEBHOOK
    assert plain(graph.outputs)["authIssuer"] == ISSUER


def test_a_bad_secret_is_refused_without_showing_it(monkeypatch) -> None:
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps([f"{NS}:authIssuer"]))
    with pytest.raises(Exception, match=rf"{NS}:authIssuer = \[secret\]: must be an https") as e:
        run_stack("dev", ROOT, overrides={**JWT, f"{NS}:authIssuer": "http://leaky.example"})
    assert "leaky" not in str(e.value)


def test_a_secret_number_is_refused_in_one_line(monkeypatch) -> None:
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps([f"{NS}:functionMemoryMb"]))
    with pytest.raises(Exception, match="functionMemoryMb = \\[secret\\]: is a secret, but only"):
        run_stack("dev", ROOT)


ENCRYPTED = """\
  serverless-uploads:auth: jwt
  serverless-uploads:authAudience: [uploads-api]
  serverless-uploads:authIssuer:
    secure: v1:aXNzdWVyLWNpcGhlcnRleHQ=
  serverless-uploads:alarmHttpsEndpoints:
    - secure: v1:d2ViaG9vay1jaXBoZXJ0ZXh0
"""


def test_offline_a_secure_value_is_opaque_planned_and_reported_unchecked(tmp_path, capsys) -> None:
    for name in ("Pulumi.yaml", "__main__.py"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    dev = (ROOT / "Pulumi.dev.yaml").read_text().splitlines(keepends=True)
    stack = "".join(line for line in dev if ":auth:" not in line) + ENCRYPTED
    (tmp_path / "Pulumi.enc.yaml").write_text(stack)
    assert main(["plan", "enc", "--cwd", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "aXNzdWVy" not in out
    assert "d2ViaG9vaw" not in out
    rows = [line.split()[:2] for line in out.splitlines() if "authIssuer" in line]
    assert ["serverless-uploads:authIssuer", SECRET] in rows
    assert "its value was not checked" in out
    assert main(["plan", "enc", "--json", "--cwd", str(tmp_path)]) == 0
    document = json.loads(capsys.readouterr().out)
    issuer = document["config"][f"{NS}:authIssuer"]
    assert issuer == {"value": SECRET, "source": "stack", "secret": True, "checked": False}
    assert "aXNzdWVy" not in json.dumps(document)
    webhooks = [
        r["inputs"]["endpoint"]
        for r in document["resources"]
        if r["type"] == "aws:sns/topicSubscription:TopicSubscription"
        and r["inputs"]["protocol"] == "https"
    ]
    assert webhooks == [SECRET]
