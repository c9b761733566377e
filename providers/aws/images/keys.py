"""The KMS keys of an image's snapshots: which they are, and who may use them.

Pages relied on: EC2 User Guide, "Share an AMI with specific AWS accounts"
(https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/sharingamis-explicit.html: an AMI
whose volumes use an AWS managed key cannot be shared; with a customer managed key
the key policy must let the other account use it) and "Amazon EBS encryption"
(snapshots keep their volume's key); KMS API reference DescribeKey (``KeyManager``
AWS or CUSTOMER, ``MultiRegion``), GetKeyPolicy (policy name ``default``), ListGrants,
CreateGrant (``Name`` makes a retry return the same grant), RetireGrant; knowledge
center "kms-launch-ec2-instance" (the Auto Scaling service-linked role needs a key
policy statement or a grant, created from the group's account). The policy itself is
judged by ``rules/key_policy.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from providers.aws import tags
from providers.aws.callbacks import Log
from providers.aws.images.amis import (
    deregister_image,
    describe_image,
    find_images,
    mapped_snapshot_ids,
    tag_image,
    wait_for_image,
)
from providers.aws.rules import key_policy
from providers.aws.rules.key_policy import Principal, Verdict
from providers.aws.waits import Pacing

_DENIED = ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation")
DEFAULT_ROLE = "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


@dataclass(frozen=True)
class KeyInfo:
    """A KMS key as DescribeKey reports it."""

    arn: str
    key_manager: str
    """``AWS`` (an AWS managed key such as ``aws/ebs``) or ``CUSTOMER``."""
    multi_region: bool = False

    @property
    def customer_managed(self) -> bool:
        return self.key_manager == "CUSTOMER"


def snapshot_key_ids(ec2: Any, snapshot_ids: Sequence[str]) -> list[str]:
    """The distinct KMS keys of the snapshots (unencrypted ones have none).

    AWS calls: DescribeSnapshots.
    """
    if not snapshot_ids:
        return []
    snaps = ec2.describe_snapshots(SnapshotIds=list(snapshot_ids))["Snapshots"]
    return sorted({str(s["KmsKeyId"]) for s in snaps if s.get("Encrypted") and s.get("KmsKeyId")})


def volume_key_ids(ec2: Any, instance_id: str) -> list[str]:
    """The distinct KMS keys of the instance's EBS volumes (what its image will use).

    AWS calls: DescribeVolumes.
    """
    found: set[str] = set()
    paginator = ec2.get_paginator("describe_volumes")
    filters = [{"Name": "attachment.instance-id", "Values": [instance_id]}]
    for page in paginator.paginate(Filters=filters):
        found |= {str(v["KmsKeyId"]) for v in page["Volumes"] if v.get("Encrypted")}
    return sorted(k for k in found if k and k != "None")


def describe_keys(kms: Any, key_ids: Sequence[str]) -> list[KeyInfo]:
    """DescribeKey of each key: its ARN, manager and multi-Region flag.

    AWS calls: kms DescribeKey (one per key).
    """
    infos = []
    for key_id in key_ids:
        meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        infos.append(
            KeyInfo(
                arn=str(meta["Arn"]),
                key_manager=str(meta.get("KeyManager") or "CUSTOMER"),
                multi_region=bool(meta.get("MultiRegion")),
            )
        )
    return infos


@dataclass(frozen=True)
class KeyAccess:
    """What a key allows a set of principals: verdicts, or why it could not be read."""

    key: KeyInfo
    verdicts: tuple[Verdict, ...] = ()
    unreadable: str = ""
    """The error code when GetKeyPolicy or ListGrants was refused ("" when read)."""


def key_access(
    kms: Any, key: KeyInfo, principals: Sequence[Principal], actions: Sequence[str]
) -> KeyAccess:
    """Read the key's policy and grants once and judge each principal.

    AWS calls: kms GetKeyPolicy, ListGrants (all pages).
    """
    try:
        policy = kms.get_key_policy(KeyId=key.arn, PolicyName="default")["Policy"]
        grants = list_grants(kms, key.arn)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _DENIED:
            return KeyAccess(key, unreadable=code)
        raise
    verdicts = tuple(key_policy.evaluate(policy, p, actions, grants) for p in principals)
    return KeyAccess(key, verdicts)


def list_grants(kms: Any, key_id: str) -> list[dict[str, Any]]:
    """Every grant of the key.

    AWS calls: kms ListGrants (paged by Marker).
    """
    grants: list[dict[str, Any]] = []
    paginator = kms.get_paginator("list_grants")
    for page in paginator.paginate(KeyId=key_id):
        grants.extend(page.get("Grants", []))
    return grants


def autoscaling_role(account: str, role_arn: str | None = None) -> str:
    """The group's service-linked role: the one given, else the account's default."""
    return role_arn or f"arn:aws:iam::{account}:{DEFAULT_ROLE}"


def image_keys(ec2: Any, kms: Any, image_id: str) -> list[KeyInfo]:
    """The keys of the image's encrypted snapshots (none for an unencrypted image).

    AWS calls: DescribeImages, DescribeSnapshots, kms DescribeKey.
    """
    images = ec2.describe_images(ImageIds=[image_id])["Images"]
    mappings = images[0].get("BlockDeviceMappings", []) if images else []
    snapshot_ids = [
        m["Ebs"]["SnapshotId"]
        for m in mappings
        if m.get("Ebs", {}).get("SnapshotId") and m["Ebs"].get("Encrypted", True)
    ]
    return describe_keys(kms, snapshot_key_ids(ec2, snapshot_ids))


@dataclass(frozen=True)
class GrantRequest:
    """A grant for the Auto Scaling role on one key, named so a retry finds it."""

    key_arn: str
    role_arn: str
    name: str
    operations: tuple[str, ...] = field(default=key_policy.AUTOSCALING_GRANT_OPERATIONS)


def create_grant(kms: Any, req: GrantRequest) -> str:
    """The grant's id: an existing grant of that name and grantee is adopted.

    AWS calls: kms ListGrants, CreateGrant.
    """
    for grant in list_grants(kms, req.key_arn):
        if grant.get("Name") == req.name and grant.get("GranteePrincipal") == req.role_arn:
            return str(grant["GrantId"])
    made = kms.create_grant(
        KeyId=req.key_arn,
        GranteePrincipal=req.role_arn,
        Operations=list(req.operations),
        Name=req.name,
    )
    return str(made["GrantId"])


def retire_grant(kms: Any, key_arn: str, grant_id: str) -> None:
    """Retire the grant; one already gone counts as done.

    AWS calls: kms RetireGrant.
    """
    try:
        kms.retire_grant(KeyId=key_arn, GrantId=grant_id)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NotFoundException":
            raise


def key_ids_by_region(infos: Mapping[str, Sequence[KeyInfo]]) -> dict[str, list[str]]:
    """The ``kms_key_ids`` output: region -> key ARNs."""
    return {region: sorted({k.arn for k in keys}) for region, keys in sorted(infos.items())}


# On the copy ``reencrypt_image`` makes: the image it re-encrypts (so a retry adopts it).
REENCRYPTED_FROM = "bakery:reencrypted-from"


def reencrypt_image(
    ec2: Any,
    image: Mapping[str, Any],
    kms_key_id: str,
    *,
    region: str,
    pacing: Pacing,
    log: Log | None = None,
) -> str:
    """The bake's image re-encrypted under ``kms_key_id`` (a copy in the same region),
    which replaces it: the source image and its snapshots are deregistered once the
    copy is available. A retry adopts the copy (tag ``bakery:reencrypted-from``).

    AWS calls: DescribeImages, CopyImage (Encrypted, KmsKeyId, ClientToken),
    CreateTags, DescribeImages (polls), DeregisterImage, DeleteSnapshot.
    """
    image_tags = tags.to_dict(image.get("Tags"))
    bake_id = image_tags.get(tags.BAKE_ID, "")
    if REENCRYPTED_FROM in image_tags:
        copy_id = str(image["ImageId"])
    else:
        copy_tags = {**image_tags, REENCRYPTED_FROM: str(image["ImageId"])}
        copy_id = str(
            ec2.copy_image(
                Name=f"{image['Name']}-reencrypted"[:128],
                Description=str(image.get("Description") or ""),
                SourceImageId=str(image["ImageId"]),
                SourceRegion=region,
                Encrypted=True,
                KmsKeyId=kms_key_id,
                ClientToken=f"bakery-reencrypt-{bake_id}"[:64],
                TagSpecifications=tags.spec("image", copy_tags),
            )["ImageId"]
        )
        ec2.create_tags(Resources=[copy_id], Tags=tags.to_list(copy_tags))
        wait_for_image(ec2, copy_id, pacing=pacing, log=log)
        copied = describe_image(ec2, copy_id) or {}
        tag_image(ec2, copy_id, mapped_snapshot_ids(copied), copy_tags)
    for other in find_images(ec2, tags.BAKE_ID, bake_id) if bake_id else []:
        if other["ImageId"] != copy_id and REENCRYPTED_FROM not in tags.to_dict(other.get("Tags")):
            deregister_image(ec2, other)
    return copy_id


def caller_account(sts: Any) -> str:
    """The account the credentials belong to (the group's account).

    AWS calls: sts GetCallerIdentity (needs no permission).
    """
    return str(sts.get_caller_identity()["Account"])


def grant_image_keys(ec2: Any, kms: Any, image_id: str, role_arn: str, name: str) -> dict[str, str]:
    """A grant to ``role_arn`` on each customer managed key of the image (adopted when
    one of that name exists); returns key ARN -> grant id.

    AWS calls: DescribeImages, DescribeSnapshots, kms DescribeKey, ListGrants,
    CreateGrant.
    """
    return {
        key.arn: create_grant(kms, GrantRequest(key.arn, role_arn, name))
        for key in image_keys(ec2, kms, image_id)
        if key.customer_managed
    }
