"""The IAM evaluator the permission tests use, checked first on examples from AWS's own
documentation (IAM User Guide pages named in each test), so that it can be trusted to say "denied"
where AWS would."""

from __future__ import annotations

import pytest

from tests.iam_evaluation import Request, UnsupportedOperator, allowed


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow_when(action: str, condition: dict) -> dict:
    """A policy allowing `action` on everything under `condition`."""
    return policy({"Effect": "Allow", "Action": action, "Resource": "*", "Condition": condition})


S3_READ = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})


def test_default_deny_and_explicit_deny_overrides_allow():
    """ "Policy evaluation logic": no Allow is an implicit deny; an explicit Deny wins."""
    get = Request("s3:GetObject", "arn:aws:s3:::b/k")
    assert allowed(get, [S3_READ])
    assert not allowed(Request("s3:PutObject", "arn:aws:s3:::b/k"), [S3_READ])
    deny = policy({"Effect": "Deny", "Action": "s3:*", "Resource": "*"})
    assert not allowed(get, [S3_READ, deny])


def test_a_permissions_boundary_caps_the_identity_policy():
    """ "Permissions boundaries for IAM entities": the boundary allows only Amazon S3,
    CloudWatch and EC2; an identity policy granting iam:CreateUser still cannot create users."""
    boundary = policy(
        {
            "Effect": "Allow",
            "Action": ["s3:*", "cloudwatch:*", "ec2:*"],
            "Resource": "*",
        }
    )
    identity = policy({"Effect": "Allow", "Action": "iam:CreateUser", "Resource": "*"})
    create = Request("iam:CreateUser", "arn:aws:iam::123456789012:user/Bob")
    assert allowed(create, [identity])
    assert not allowed(create, [identity], boundary)
    assert allowed(Request("s3:GetObject", "arn:aws:s3:::b/k"), [S3_READ], boundary)


def test_not_action_with_allow_grants_every_other_action():
    """ "IAM JSON policy elements: NotAction": Allow + NotAction iam:* + Resource * allows
    everything but IAM."""
    all_but_iam = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert allowed(Request("s3:DeleteBucket", "arn:aws:s3:::b"), [all_but_iam])
    assert not allowed(Request("iam:PassRole", "arn:aws:iam::1:role/r"), [all_but_iam])


def test_several_values_of_a_key_or_together_and_several_keys_and_together():
    """ "Creating a condition with multiple context keys or values"."""
    tagged = policy(
        {
            "Effect": "Allow",
            "Action": "ec2:StopInstances",
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "aws:ResourceTag/team": ["blue", "green"],
                    "aws:ResourceTag/env": "dev",
                }
            },
        }
    )
    stop = "ec2:StopInstances"
    assert allowed(
        Request(stop, "i", {"aws:ResourceTag/team": "green", "aws:ResourceTag/env": "dev"}),
        [tagged],
    )
    assert not allowed(Request(stop, "i", {"aws:ResourceTag/team": "green"}), [tagged])
    assert not allowed(
        Request(stop, "i", {"aws:ResourceTag/team": "red", "aws:ResourceTag/env": "dev"}), [tagged]
    )


def test_if_exists_null_and_negated_operators_on_an_absent_key():
    """ "Condition operators": ...IfExists is true without the key; Null tests presence; the
    documented example `"Null": {"aws:TokenIssueTime": "true"}` matches long-term credentials."""
    if_exists = allow_when(
        "ec2:RunInstances", {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*"]}}
    )
    run = "ec2:RunInstances"
    assert allowed(Request(run, "*"), [if_exists])
    assert allowed(Request(run, "*", {"ec2:InstanceType": "t2.micro"}), [if_exists])
    assert not allowed(Request(run, "*", {"ec2:InstanceType": "m5.large"}), [if_exists])
    long_term = allow_when("s3:GetObject", {"Null": {"aws:TokenIssueTime": "true"}})
    get = "s3:GetObject"
    assert allowed(Request(get, "o"), [long_term])
    assert not allowed(
        Request(get, "o", {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}), [long_term]
    )
    not_equals = policy(
        {
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}},
        }
    )
    allow_all = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    assert not allowed(Request(get, "o"), [allow_all, not_equals])
    assert allowed(Request(get, "o", {"aws:RequestedRegion": "eu-west-1"}), [allow_all, not_equals])


def test_arn_like_matches_each_part_and_for_all_values_is_true_without_the_key():
    """ArnLike compares the six ARN parts separately; ForAllValues on an absent key is true
    ("Single-valued vs. multivalued context keys")."""
    functions = "arn:aws:lambda:*:111122223333:function:app-*"
    from_function = allow_when("s3:GetObject", {"ArnLike": {"lambda:SourceFunctionArn": functions}})
    get = "s3:GetObject"
    ok = "arn:aws:lambda:us-east-1:111122223333:function:app-thumbs"
    assert allowed(Request(get, "o", {"lambda:SourceFunctionArn": ok}), [from_function])
    other = "arn:aws:lambda:us-east-1:444455556666:function:app-thumbs"
    assert not allowed(Request(get, "o", {"lambda:SourceFunctionArn": other}), [from_function])
    assert not allowed(Request(get, "o"), [from_function])
    keys = allow_when(
        "dynamodb:PutItem", {"ForAllValues:StringEquals": {"dynamodb:Attributes": ["id", "name"]}}
    )
    put = "dynamodb:PutItem"
    assert allowed(Request(put, "t"), [keys])
    assert allowed(Request(put, "t", {"dynamodb:Attributes": ["id"]}), [keys])
    assert not allowed(Request(put, "t", {"dynamodb:Attributes": ["id", "salary"]}), [keys])


def test_an_operator_it_does_not_know_fails_loudly():
    odd = policy(
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "*",
            "Condition": {"IpAddress": {"aws:SourceIp": "1.2.3.4/32"}},
        }
    )
    with pytest.raises(UnsupportedOperator):
        allowed(Request("s3:GetObject", "o", {"aws:SourceIp": "1.2.3.4"}), [odd])
