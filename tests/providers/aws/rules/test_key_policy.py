"""The key-policy rule: statements, principals, conditions, grants and Deny."""

from __future__ import annotations

from typing import Any

from providers.aws.rules import key_policy
from providers.aws.rules.key_policy import SHARE_ACTIONS, evaluate

OWNER, OTHER = "111122223333", "444455556666"
ROLE = f"arn:aws:iam::{OWNER}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"  # noqa: E501
ORG = f"arn:aws:organizations::{OWNER}:organization/o-abc123"
OU = f"arn:aws:organizations::{OWNER}:ou/o-abc123/ou-ab12-cdef34"


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    root = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{OWNER}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    return {"Version": "2012-10-17", "Statement": [root, *statements]}


def _use(principal: Any, **extra: Any) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": principal,
        "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant", "kms:ReEncrypt*"],
        "Resource": "*",
        **extra,
    }


def test_evaluate_default_policy_other_account_misses_every_share_action() -> None:
    verdict = evaluate(_policy(), key_policy.account_principal(OTHER), SHARE_ACTIONS)

    assert verdict.missing == SHARE_ACTIONS
    assert not verdict.ok


def test_evaluate_statement_naming_the_accounts_root_allows_it_and_reencrypt_wildcard() -> None:
    policy = _policy(_use({"AWS": [f"arn:aws:iam::{OTHER}:root"]}))

    verdict = evaluate(policy, key_policy.account_principal(OTHER), SHARE_ACTIONS)

    assert verdict.ok
    assert "kms:ReEncryptFrom" in verdict.allowed and "kms:ReEncryptTo" in verdict.allowed


def test_evaluate_account_root_does_not_cover_the_service_linked_role() -> None:
    verdict = evaluate(_policy(), key_policy.role_principal(ROLE), key_policy.AUTOSCALING_ACTIONS)

    assert set(verdict.missing) == set(key_policy.AUTOSCALING_ACTIONS)


def test_evaluate_grant_to_the_role_allows_its_operations() -> None:
    grant = {
        "GranteePrincipal": ROLE,
        "Operations": list(key_policy.AUTOSCALING_GRANT_OPERATIONS),
    }

    verdict = evaluate(
        _policy(), key_policy.role_principal(ROLE), key_policy.AUTOSCALING_ACTIONS, [grant]
    )

    assert verdict.ok


def test_evaluate_org_condition_matches_organization_and_not_another() -> None:
    policy = _policy(_use("*", Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}))

    ours = evaluate(policy, key_policy.organization_principal(ORG), SHARE_ACTIONS)
    other = evaluate(
        policy,
        key_policy.organization_principal(f"arn:aws:organizations::{OWNER}:organization/o-zzz"),
        SHARE_ACTIONS,
    )

    assert ours.ok
    assert other.missing == SHARE_ACTIONS


def test_evaluate_ou_path_condition_matches_the_ou() -> None:
    condition = {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-abc123/*/ou-ab12-cdef34/*"}}
    policy = _policy(_use("*", Condition=condition))

    verdict = evaluate(policy, key_policy.organization_principal(OU), SHARE_ACTIONS)

    assert verdict.ok


def test_evaluate_aws_managed_policy_refuses_another_account() -> None:
    condition = {
        "StringEquals": {
            "kms:CallerAccount": OWNER,
            "kms:ViaService": "ec2.us-east-1.amazonaws.com",
        }
    }
    policy = {"Statement": [_use({"AWS": "*"}, Condition=condition)]}
    via = ["ec2.us-east-1.amazonaws.com"]

    other = evaluate(policy, key_policy.account_principal(OTHER, via), SHARE_ACTIONS)
    owner = evaluate(policy, key_policy.account_principal(OWNER, via), SHARE_ACTIONS)

    assert other.missing == SHARE_ACTIONS
    assert owner.ok


def test_evaluate_unknown_condition_is_undecided_and_named() -> None:
    condition = {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    policy = _policy(_use({"AWS": OTHER}, Condition=condition))

    verdict = evaluate(policy, key_policy.account_principal(OTHER), SHARE_ACTIONS)

    assert not verdict.ok and not verdict.missing
    assert verdict.undecided == ("IpAddress aws:SourceIp",)


def test_evaluate_explicit_deny_wins_over_allow_and_grant() -> None:
    deny = {
        "Effect": "Deny",
        "Principal": {"AWS": OTHER},
        "Action": "kms:CreateGrant",
        "Resource": "*",
    }
    policy = _policy(_use({"AWS": OTHER}), deny)
    grant = {"GranteePrincipal": OTHER, "Operations": ["CreateGrant"]}

    verdict = evaluate(policy, key_policy.account_principal(OTHER), SHARE_ACTIONS, [grant])

    assert verdict.missing == ("kms:CreateGrant",)
