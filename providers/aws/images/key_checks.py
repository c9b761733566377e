"""Check-time (preview) key checks: can the image be launched where it is sent?

- ``check_share_keys``: a shared image whose snapshots use the AWS managed key is
  refused (another account cannot use ``aws/ebs``: EC2 User Guide, "Share an AMI with
  specific AWS accounts"); with a customer managed key, each target account,
  organization and OU must be allowed ``SHARE_ACTIONS`` by the key policy or a grant.
  A policy Bakery may not read (AccessDenied) is a warning naming the permission.
- ``check_role_keys``: the Auto Scaling service-linked role may use each customer
  managed key of the image a fleet runs (knowledge center "kms-launch-ec2-instance").

Read-only. AWS calls: ec2 DescribeVolumes, DescribeImages, DescribeSnapshots; kms
DescribeKey, GetKeyPolicy, ListGrants.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from providers.aws.errors import InvalidInputError
from providers.aws.images.keys import KeyAccess, KeyInfo, describe_keys, key_access, volume_key_ids
from providers.aws.rules import key_policy
from providers.aws.rules.key_policy import Principal, Verdict

SHARE_FIELDS = (
    "share_with_accounts",
    "share_with_organizations",
    "share_with_organizational_units",
)
READ_PERMISSIONS = "kms:GetKeyPolicy and kms:ListGrants"


@dataclass
class KeyReport:
    """Problems (refuse the preview) and warnings (say, go on) of the key checks."""

    problems: list[InvalidInputError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    keys: list[KeyInfo] = field(default_factory=list)


@dataclass(frozen=True)
class ShareTargets:
    """Who the image is shared with, by input field."""

    accounts: tuple[str, ...] = ()
    organizations: tuple[str, ...] = ()
    organizational_units: tuple[str, ...] = ()

    def by_field(self) -> dict[str, tuple[str, ...]]:
        values = (self.accounts, self.organizations, self.organizational_units)
        return {f: v for f, v in zip(SHARE_FIELDS, values, strict=True) if v}


def _principal(share_field: str, target: str, via: Sequence[str]) -> Principal:
    if share_field == "share_with_accounts":
        return key_policy.account_principal(target, via)
    return key_policy.organization_principal(target, via)


def _ebs_refusal(share_field: str, targets: Sequence[str], key: KeyInfo, region: str) -> Any:
    return InvalidInputError(
        share_field,
        list(targets),
        f"the image's snapshots would use the AWS managed key {key.arn} (aws/ebs), which no "
        f"other account can use, so they could not launch it; set reencrypt_with to a "
        f"customer managed key in {region} (the shared image is then a copy under that key), "
        "or share a copy made by copy_to_regions with a customer managed key for that region",
    )


def _verdict_refusal(share_field: str, key: KeyInfo, denied: list[Verdict]) -> Any:
    who = [v.principal.label for v in denied]
    actions = sorted({a for v in denied for a in v.missing})
    return InvalidInputError(
        share_field,
        who,
        f"the key policy and grants of {key.arn} do not allow {', '.join(who)} "
        f"{', '.join(actions)}; add a key policy statement (or a grant) allowing "
        "kms:Decrypt, kms:DescribeKey, kms:CreateGrant and kms:ReEncrypt* to them",
    )


def check_share_keys(
    ec2: Any,
    kms: Any,
    instance_id: str,
    targets: ShareTargets,
    *,
    region: str,
    reencrypt_with: str | None = None,
    copy_keys: Mapping[str, str | None] | None = None,
) -> KeyReport:
    """Whether every target could launch the image the bake of ``instance_id`` makes
    (or its ``reencrypt_with`` copy), and its copies (``copy_keys``: region -> the
    key of ``copy_to_regions``). See the module docstring."""
    report = KeyReport()
    wanted = targets.by_field()
    if not wanted:
        return report
    key_ids = [reencrypt_with] if reencrypt_with else volume_key_ids(ec2, instance_id)
    report.keys = describe_keys(kms, key_ids)
    report.problems += _keyless_copies(copy_keys or {}, bool(report.keys))
    via = (f"ec2.{region}.amazonaws.com",)
    for key in report.keys:
        if not key.customer_managed:
            if reencrypt_with:
                report.problems.append(
                    InvalidInputError(
                        "reencrypt_with",
                        reencrypt_with,
                        f"{key.arn} is an AWS managed key, which no other account can use: "
                        "give a customer managed key",
                    )
                )
            else:
                report.problems += [_ebs_refusal(f, t, key, region) for f, t in wanted.items()]
            continue
        principals = {(f, t): _principal(f, t, via) for f, values in wanted.items() for t in values}
        access = key_access(kms, key, list(principals.values()), key_policy.SHARE_ACTIONS)
        _judge(report, access, principals)
    return report


def _judge(
    report: KeyReport, access: KeyAccess, principals: dict[tuple[str, str], Principal]
) -> None:
    key = access.key
    if access.unreadable:
        who = ", ".join(t for _, t in principals)
        report.warnings.append(
            f"could not read the policy of {key.arn} ({access.unreadable}): whether {who} "
            f"may use it is unchecked; allow {READ_PERMISSIONS} on the key to let the check run"
        )
        return
    by_label = dict(zip([p.label for p in principals.values()], principals, strict=True))
    denied: dict[str, list[Verdict]] = {}
    for verdict in access.verdicts:
        share_field = by_label[verdict.principal.label][0]
        if verdict.missing:
            denied.setdefault(share_field, []).append(verdict)
        elif verdict.undecided_actions:
            report.warnings.append(
                f"{key.arn}: whether {verdict.principal.label} may "
                f"{', '.join(verdict.undecided_actions)} rests on conditions Bakery cannot "
                f"evaluate ({'; '.join(verdict.undecided)}); check them before relying on it"
            )
    report.problems += [_verdict_refusal(f, key, v) for f, v in denied.items()]


def _keyless_copies(copy_keys: Mapping[str, str | None], encrypted: bool) -> list[Any]:
    """An encrypted image copied without a key is encrypted under that region's default
    EBS key (EC2 API reference, CopyImage: KmsKeyId), ``aws/ebs`` unless the account set
    another: a shared copy others could not launch."""
    bare = sorted(r for r, k in copy_keys.items() if not k)
    if not encrypted or not bare:
        return []
    return [
        InvalidInputError(
            "copy_to_regions",
            {r: None for r in bare},
            f"the image is encrypted and is shared, but its copies to {', '.join(bare)} name "
            "no KMS key, so they would use that region's aws/ebs key, which other accounts "
            "cannot use; give each a customer managed key of its region",
        )
    ]


def check_role_keys(kms: Any, keys: Sequence[KeyInfo], role_arn: str) -> KeyReport:
    """Whether the Auto Scaling role may use each customer managed key in ``keys``:
    a problem per key it may not use, a warning per key whose policy is unreadable."""
    report = KeyReport(keys=list(keys))
    role = key_policy.role_principal(role_arn)
    for key in keys:
        if not key.customer_managed:
            continue  # Auto Scaling needs nothing more for an AWS managed key
        access = key_access(kms, key, [role], key_policy.AUTOSCALING_ACTIONS)
        if access.unreadable:
            report.warnings.append(
                f"could not read the policy of {key.arn} ({access.unreadable}): whether "
                f"{role_arn} may use it is unchecked; allow {READ_PERMISSIONS} on the key"
            )
            continue
        (verdict,) = access.verdicts
        if not verdict.ok:
            lacking = [*verdict.missing, *verdict.undecided_actions]
            report.problems.append(
                InvalidInputError(
                    "image_id",
                    key.arn,
                    f"the image uses the customer managed key {key.arn}, which the Auto "
                    f"Scaling role {role_arn} may not use ({', '.join(lacking)}), so every "
                    "launch would fail (Client.InternalError); set create_kms_grant: true "
                    "(bakery:fleet.create_kms_grant) to create a grant for it, or allow "
                    "the role in the key policy",
                )
            )
    return report
