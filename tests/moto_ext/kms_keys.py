"""moto extension: EBS encryption keys as AWS uses them for snapshots, sharing and launches.

moto 5.2 keeps keys and grants but none of what follows; each behaviour follows the
page named:

- **Snapshots keep their volume's key** (moto: CreateSnapshot drops KmsKeyId). "Snapshots
  that are created from encrypted volumes are automatically encrypted" with the
  volume's KMS key (Amazon EBS User Guide, "How Amazon EBS encryption works",
  https://docs.aws.amazon.com/ebs/latest/userguide/how-ebs-encryption-works.html).
- **aws/ebs is an AWS managed key** (moto: KeyManager CUSTOMER, the default policy).
  DescribeKey reports ``KeyManager: AWS``
  (https://docs.aws.amazon.com/kms/latest/APIReference/API_KeyMetadata.html), and its
  key policy allows use only through EC2 by principals of the owning account
  (``kms:CallerAccount`` and ``kms:ViaService``: KMS developer guide, "AWS managed
  keys", https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#aws-managed-key),
  so no other account can use it (EC2 User Guide, "Share an AMI with specific AWS
  accounts", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/sharingamis-explicit.html).
- **Auto Scaling launches fail for a key its service-linked role may not use** (moto:
  launches anyway). The role's permissions include no customer managed key; without a
  key policy statement naming the role or a grant to it, launches fail and the scaling
  activity's StatusMessage is "Client.InternalError: Client error on launch" (knowledge
  center, https://repost.aws/knowledge-center/kms-launch-ec2-instance; Auto Scaling
  User Guide, "Required AWS KMS key policy for use with encrypted volumes",
  https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html).
- **CopyImage makes new snapshots, encrypted under ``KmsKeyId`` when given** (moto: one
  invented unencrypted snapshot). "You can encrypt the snapshots of the copy ... by
  specifying Encrypted and KmsKeyId"; otherwise a copy keeps each snapshot's
  encryption (EC2 API reference, CopyImage,
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopyImage.html).
- **Another account's launch of a shared image fails for a key it may not use** (moto:
  other accounts cannot see the image at all). RunInstances in an account the image is
  shared with (LaunchPermission) starts the instance, which then goes to
  ``terminated`` with state reason ``Client.InternalError`` when its key (aws/ebs, or a
  customer managed key whose policy does not allow that account
  kms:Decrypt and kms:CreateGrant, nor a grant does) cannot be used (EC2 User Guide,
  "Troubleshoot instance launch issues": "Instance terminates immediately",
  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/troubleshooting-launch.html).

The model's own judgement of a key policy is deliberately simpler than Bakery's rule
(``providers/aws/rules/key_policy.py``): a statement allows a principal when its
Principal names it (or ``*`` with no condition) and its Action covers the use.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

from moto.autoscaling.models import FakeAutoScalingGroup
from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.ec2.models.elastic_block_store import EBSBackend, Snapshot
from moto.ec2.models.instances import InstanceBackend, StateReason
from moto.ec2.responses.amis import AmisResponse
from moto.ec2.utils import random_snapshot_id
from moto.kms import kms_backends
from moto.kms.models import KmsBackend

from tests.moto_ext import asg_health, nesting

LAUNCH_FAILURE = "Client.InternalError: Client error on launch"
_original_snapshot = EBSBackend.create_snapshot
_original_default_key = EBSBackend._create_default_encryption_key
_original_replace = FakeAutoScalingGroup.replace_autoscaling_group_instances
_original_run = InstanceBackend.run_instances
_original_copy = AmisResponse.copy_image


def _aws_managed_policy(account: str, region: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "auto-ebs-2",
            "Statement": [
                {
                    "Sid": "Allow access through EBS for all principals in the account",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": [
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:CreateGrant",
                        "kms:DescribeKey",
                    ],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {
                            "kms:ViaService": f"ec2.{region}.amazonaws.com",
                            "kms:CallerAccount": account,
                        }
                    },
                },
                {
                    "Sid": "Allow direct access to key metadata to the account",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                    "Resource": "*",
                },
            ],
        }
    )


def _create_snapshot(self: EBSBackend, volume_id: str, *args: Any, **kwargs: Any) -> Any:
    snapshot = _original_snapshot(self, volume_id, *args, **kwargs)
    volume = self.get_volume(volume_id)
    if volume.encrypted and not snapshot.kms_key_id:
        snapshot.kms_key_id = volume.kms_key_id
    return snapshot


def _create_default_encryption_key(self: EBSBackend) -> str:
    arn = _original_default_key(self)
    kms = kms_backends[self.account_id][self.region_name]  # type: ignore[attr-defined]
    key = kms.describe_key(arn)
    key.key_manager = "AWS"
    key.policy = _aws_managed_policy(self.account_id, self.region_name)  # type: ignore[attr-defined]
    return arn


def find_key(key_id: str) -> Any:
    """The moto key of an ARN (any account and region), or None."""
    parts = key_id.split(":")
    if len(parts) < 6:
        return None
    backend: KmsBackend = kms_backends[parts[4]][parts[3]]
    return backend.keys.get(parts[5].split("/", 1)[-1])


def may_use(key: Any, principal: str, account: str, action: str) -> bool:
    """The model's judgement: an unconditioned statement or a grant allows ``action``."""
    if key.key_manager == "AWS":
        return account == key.account_id
    names = {principal, account, f"arn:aws:iam::{account}:root"}
    for statement in json.loads(key.policy).get("Statement", []):
        if statement.get("Effect") != "Allow" or statement.get("Condition"):
            continue
        given = statement.get("Principal")
        listed = given.get("AWS") if isinstance(given, dict) else given
        listed = [listed] if isinstance(listed, str) else list(listed or [])
        if principal.startswith("arn:") and ":role/aws-service-role/" in principal:
            named = principal in listed or "*" in listed  # a root does not cover the role
        else:
            named = bool(names & set(listed)) or "*" in listed
        actions = statement.get("Action")
        actions = [actions] if isinstance(actions, str) else list(actions or [])
        if named and any(fnmatch.fnmatchcase(action, a) for a in actions):
            return True
    operation = action.split(":", 1)[1]
    return any(
        g.grantee_principal in names and operation in g.operations for g in key.grants.values()
    )


def _image_keys(backend: Any, image_id: str) -> list[Any]:
    ami = backend.amis.get(image_id)
    if ami is None:
        return []
    ids = [
        m["Ebs"]["SnapshotId"]
        for m in ami.block_device_mappings
        if m.get("Ebs", {}).get("SnapshotId") in backend.snapshots
    ]
    keys = [find_key(backend.snapshots[i].kms_key_id or "") for i in ids]
    return [k for k in keys if k is not None]


def _replace_instances(
    self: FakeAutoScalingGroup, count_needed: int, propagated_tags: dict[str, str]
) -> None:
    role = self.service_linked_role_arn
    for key in _image_keys(self.ec2_backend, self.image_id):
        if key.key_manager == "CUSTOMER" and not may_use(key, role, self.account_id, "kms:Decrypt"):
            asg_health.fail_scaling_activity(self.name, LAUNCH_FAILURE)
            return
    _original_replace(self, count_needed, propagated_tags)


def _shared_image_owner(backend: Any, image_id: str) -> Any:
    """The backend of another account that shares ``image_id`` with this one."""
    for account, regions in ec2_backends.items():
        if account == backend.account_id or backend.region_name not in regions:
            continue
        owner = regions[backend.region_name]
        ami = owner.amis.get(image_id)
        if ami is not None and {"UserId": backend.account_id} in ami.launch_permissions:
            return owner
    return None


def _run_instances(self: Any, image_id: str, count: int, *args: Any, **kwargs: Any) -> Any:
    owner = None if image_id in self.amis else _shared_image_owner(self, image_id)
    reservation = _original_run(self, image_id, count, *args, **kwargs)
    if owner is None:
        return reservation
    account = self.account_id
    unusable = [
        k
        for k in _image_keys(owner, image_id)
        if not all(may_use(k, account, account, a) for a in ("kms:Decrypt", "kms:CreateGrant"))
    ]
    if unusable:
        for instance in reservation.instances:
            instance._state.name, instance._state.code = "terminated", 48
            instance.state_reason = StateReason(LAUNCH_FAILURE, "Client.InternalError")
    return reservation


def _copy_image(self: AmisResponse) -> Any:
    result = _original_copy(self)
    backend = self.ec2_backend
    copy = backend.amis[result.result["ImageId"]]
    source_region = self._get_param("SourceRegion") or backend.region_name
    source_backend = ec2_backends[backend.account_id][source_region]
    source = source_backend.amis[self._get_param("SourceImageId")]
    wanted = self._get_param("KmsKeyId")
    encrypt = str(self._get_param("Encrypted", "false")).lower() == "true"
    key_arn = None
    if wanted:
        kms = kms_backends[backend.account_id][backend.region_name]
        key_arn = kms.describe_key(kms.get_key_id(wanted)).arn
    backend.snapshots.pop(copy.ebs_snapshot.id, None)  # moto's invented snapshot
    mappings = []
    for mapping in source.block_device_mappings:
        ebs = dict(mapping.get("Ebs") or {})
        old = source_backend.snapshots.get(ebs.get("SnapshotId", ""))
        if old is None:
            mappings.append(dict(mapping))
            continue
        encrypted = bool(encrypt or old.encrypted or key_arn)
        key = key_arn or (old.kms_key_id if source_region == backend.region_name else None)
        if encrypted and not key:
            key = backend._create_default_encryption_key()
        new = Snapshot(
            backend,
            random_snapshot_id(),
            volume=old.volume,
            description=f"Copied for DestinationAmi {copy.id} from SourceAmi {source.id}",
            encrypted=encrypted,
            kms_key_id=key,
            from_ami=copy.id,
        )
        backend.snapshots[new.id] = new
        ebs.update(SnapshotId=new.id, Encrypted=new.encrypted)
        mappings.append({**mapping, "Ebs": ebs})
    copy._faithful_mappings = mappings
    for attr in ("root_device_name", "platform_details", "usage_operation", "boot_mode"):
        if getattr(source, attr, None):
            setattr(copy, attr, getattr(source, attr))
    return ActionResult({"ImageId": copy.id})


def install() -> None:
    AmisResponse.copy_image = _copy_image  # type: ignore[method-assign]
    EBSBackend.create_snapshot = _create_snapshot  # type: ignore[method-assign]
    EBSBackend._create_default_encryption_key = _create_default_encryption_key  # type: ignore[method-assign]
    FakeAutoScalingGroup.replace_autoscaling_group_instances = _replace_instances  # type: ignore[method-assign]
    InstanceBackend.run_instances = _run_instances  # type: ignore[method-assign]


def uninstall() -> None:
    AmisResponse.copy_image = _original_copy  # type: ignore[method-assign]
    EBSBackend.create_snapshot = _original_snapshot  # type: ignore[method-assign]
    EBSBackend._create_default_encryption_key = _original_default_key  # type: ignore[method-assign]
    FakeAutoScalingGroup.replace_autoscaling_group_instances = _original_replace  # type: ignore[method-assign]
    InstanceBackend.run_instances = _original_run  # type: ignore[method-assign]


installed = nesting(install, uninstall)
