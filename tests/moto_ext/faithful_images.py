"""moto extension: CreateImage, RegisterImage, DeleteSnapshot and instance billing as AWS does them.

moto 5.2 gets these wrong in ways Bakery relies on; each patched behaviour below
follows the AWS page named:

- **CreateImage** (moto: one fake 15 GiB snapshot, NotImplementedError on snapshot
  TagSpecifications, no mappings, duplicate names accepted). AWS, per the EC2 API
  reference CreateImage
  (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateImage.html) and
  the user guide "Create an Amazon EBS-backed AMI"
  (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/creating-an-ami-ebs.html):
  one snapshot per attached EBS volume, of the volume's size, type, iops, throughput,
  encryption and KMS key; ``TagSpecifications`` for ``image`` and ``snapshot`` both
  applied ("the same tags are applied to all of the snapshots"); instance-store
  volumes of the instance type mapped as ``ephemeralN``
  (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/block-device-mapping-concepts.html);
  only a running or stopped instance can be imaged (IncorrectInstanceState);
  a name already used in the account and region is refused
  (InvalidAMIName.Duplicate). The image keeps the instance's platform and billing
  (PlatformDetails, UsageOperation:
  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/billing-info-fields.html),
  and boot mode, TPM support, UEFI data and IMDS support come from the instance's
  source image (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ami-boot-mode.html,
  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/nitrotpm.html,
  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/uefi-secure-boot.html). It stays
  ``pending`` while the latency model (latency.py) says so.
- **DescribeInstances PlatformDetails / UsageOperation** (moto: absent). AWS reports
  both for every instance (EC2 API reference, Instance), taken from the image it was
  launched from: Linux/UNIX is ``RunInstances``, Windows ``RunInstances:0002``
  (billing-info-fields page above).
- **RegisterImage** (moto: keeps only Name and Description, invents a snapshot,
  accepts a duplicate name). AWS keeps mappings, root device, architecture, boot mode
  and TagSpecifications, and refuses a duplicate name (EC2 API reference,
  RegisterImage). Bakery no longer registers images; stacks baked by earlier versions
  hold such images, and their upgrade tests make them this way.
- **DeleteSnapshot** of a snapshot that backs a registered image: AWS refuses with
  InvalidSnapshot.InUse (EC2 API reference, DeleteSnapshot); moto deletes it.

``windows_source_image`` puts a Windows AMI into the in-process backend, to launch a
licensed instance from.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.amis import Ami
from moto.ec2.models.elastic_block_store import EBSBackend
from moto.ec2.models.instance_types import INSTANCE_TYPES
from moto.ec2.models.instances import Instance
from moto.ec2.responses.amis import AmisResponse
from moto.ec2.utils import random_ami_id

from tests.moto_ext import latency

_original_register = AmisResponse.register_image
_original_create = AmisResponse.create_image
_original_mappings = Ami.block_device_mappings
_original_delete_snapshot = EBSBackend.delete_snapshot

# Billing of an instance whose source image says nothing (billing-info-fields page).
LINUX_BILLING = ("Linux/UNIX", "RunInstances")
WINDOWS_BILLING = ("Windows", "RunInstances:0002")
# Types whose Iops / Throughput a mapping reports (EC2 API reference, EbsBlockDevice).
_IOPS_TYPES = frozenset({"io1", "io2", "gp3"})


def _refuse_duplicate(backend: Any, name: str) -> None:
    for ami in backend.amis.values():
        if ami.name == name and ami.owner_id == backend.account_id:
            raise EC2ClientError(
                "InvalidAMIName.Duplicate", f"AMI name {name} is already in use by AMI {ami.id}"
            )


def _register_image(self: AmisResponse) -> Any:
    name = self._get_param("Name")
    backend = self.ec2_backend
    _refuse_duplicate(backend, name)
    result = _original_register(self)
    ami = backend.amis[result.result["ImageId"]]
    # Forget moto's invented snapshot: the image is made of the snapshots it names.
    backend.snapshots.pop(ami.ebs_snapshot.id, None)
    ami._faithful_mappings = self._get_param("BlockDeviceMappings", [])
    for attr, param in (
        ("root_device_name", "RootDeviceName"),
        ("architecture", "Architecture"),
        ("virtualization_type", "VirtualizationType"),
        ("boot_mode", "BootMode"),
    ):
        value = self._get_param(param)
        if value:
            setattr(ami, attr, value)
    for spec in self._get_param("TagSpecifications", []) or []:
        if spec.get("ResourceType") == "image":
            ami.add_tags({t["Key"]: t["Value"] for t in spec.get("Tags", [])})
    return result


def _source_image(backend: Any, instance: Any) -> Any:
    return backend.amis.get(getattr(instance, "image_id", None) or "")


def billing(instance: Any) -> tuple[str, str]:
    """(PlatformDetails, UsageOperation) of a moto instance, as AWS derives them."""
    source = _source_image(instance.ec2_backend, instance)
    details = getattr(source, "platform_details", None) if source else None
    operation = getattr(source, "usage_operation", None) if source else None
    if details and operation:
        return str(details), str(operation)
    return WINDOWS_BILLING if instance.platform == "windows" else LINUX_BILLING


def _ebs_mapping(backend: Any, device: str, block: Any, snapshot_id: str) -> dict[str, Any]:
    volume = backend.get_volume(block.volume_id)
    ebs: dict[str, Any] = {
        "SnapshotId": snapshot_id,
        "VolumeSize": int(volume.size),
        "VolumeType": volume.volume_type,
        "DeleteOnTermination": bool(block.delete_on_termination),
        "Encrypted": bool(volume.encrypted),
    }
    if volume.volume_type in _IOPS_TYPES and volume.iops:
        ebs["Iops"] = int(volume.iops)
    if volume.volume_type == "gp3" and volume.throughput:
        ebs["Throughput"] = int(volume.throughput)
    return {"DeviceName": device, "Ebs": ebs}


def _instance_store(instance: Any) -> list[dict[str, Any]]:
    info = INSTANCE_TYPES.get(instance.instance_type, {}).get("InstanceStorageInfo") or {}
    count = sum(int(d.get("Count", 0)) for d in info.get("Disks", []))
    return [
        {"DeviceName": f"/dev/sd{chr(ord('b') + i)}", "VirtualName": f"ephemeral{i}"}
        for i in range(count)
    ]


def _tag_specs(specs: list[dict[str, Any]]) -> tuple[dict[str, str], dict[str, str]]:
    found: dict[str, dict[str, str]] = {"image": {}, "snapshot": {}}
    for spec in specs:
        kind = spec.get("ResourceType")
        if kind not in found:
            raise EC2ClientError(
                "InvalidParameterValue", f"'{kind}' is not a valid taggable resource type"
            )
        found[kind].update({t["Key"]: t["Value"] for t in spec.get("Tags", [])})
    return found["image"], found["snapshot"]


def _create_image(self: AmisResponse) -> Any:
    backend = self.ec2_backend
    name = self._get_param("Name")
    instance_id = self._get_param("InstanceId")
    no_reboot = str(self._get_param("NoReboot", "false")).lower() == "true"
    image_tags, snapshot_tags = _tag_specs(self._get_param("TagSpecifications", []) or [])
    self.error_on_dryrun()
    instance = backend.get_instance(instance_id)
    if instance.state not in ("running", "stopped"):
        raise EC2ClientError(
            "IncorrectInstanceState",
            f"The instance '{instance_id}' is not in a state from which it can be imaged.",
        )
    _refuse_duplicate(backend, name)
    ami_id = random_ami_id()
    ami: Any = Ami(
        backend,
        ami_id,
        instance=instance,
        name=name,
        description=self._get_param("Description", ""),
        snapshot_description=f"Created by CreateImage({instance_id}) for {ami_id}",
    )
    backend.snapshots.pop(ami.ebs_snapshot.id, None)  # moto's invented 15 GiB snapshot
    mappings: list[dict[str, Any]] = []
    for device, block in sorted(instance.get_block_device_mapping):
        volume = backend.get_volume(block.volume_id)
        snapshot = backend.create_snapshot(
            volume.id, f"Created by CreateImage({instance_id}) for {ami_id}", from_ami=ami_id
        )
        snapshot.encrypted = bool(volume.encrypted)
        snapshot.kms_key_id = volume.kms_key_id
        snapshot.add_tags(snapshot_tags)
        mappings.append(_ebs_mapping(backend, device, block, snapshot.id))
    mappings += _instance_store(instance)
    ami._faithful_mappings = mappings
    source = _source_image(backend, instance)
    ami.root_device_name = instance.root_device_name
    ami.root_device_type = "ebs"
    ami.virtualization_type = "hvm"
    ami.platform = instance.platform
    ami.platform_details, ami.usage_operation = billing(instance)
    ami.ena_support = True
    for attr in ("boot_mode", "tpm_support", "uefi_data", "imds_support"):
        value = getattr(source, attr, None) if source else None
        if value:
            setattr(ami, attr, value)
    ami.add_tags(image_tags)
    backend.amis[ami_id] = ami
    latency.image_created(
        ami,
        [backend.snapshots[m["Ebs"]["SnapshotId"]] for m in mappings if "Ebs" in m],
        reboot=not no_reboot,
    )
    return ActionResult({"ImageId": ami_id})


def _block_device_mappings(self: Ami) -> list[dict[str, Any]]:
    mappings = getattr(self, "_faithful_mappings", None)
    if mappings is None:
        return _original_mappings.fget(self)  # type: ignore[attr-defined]
    return list(mappings)


def _delete_snapshot(self: EBSBackend, snapshot_id: str) -> Any:
    for ami in self.amis.values():  # type: ignore[attr-defined]
        for mapping in getattr(ami, "_faithful_mappings", None) or []:
            if mapping.get("Ebs", {}).get("SnapshotId") == snapshot_id:
                raise EC2ClientError(
                    "InvalidSnapshot.InUse",
                    f"The snapshot {snapshot_id} is currently in use by {ami.id}",
                )
    return _original_delete_snapshot(self, snapshot_id)


def _platform_details(self: Instance) -> str:
    return billing(self)[0]


def _usage_operation(self: Instance) -> str:
    return billing(self)[1]


def windows_source_image(
    ec2_backend: Any, *, boot_mode: str = "uefi", tpm_support: str | None = "v2.0"
) -> str:
    """A Windows Server AMI (platform, billing, UEFI Secure Boot data, NitroTPM) in
    ``ec2_backend``, as Amazon publishes them; returns its id."""
    ami_id = random_ami_id()
    ami: Any = Ami(
        ec2_backend,
        ami_id,
        name="Windows_Server-2022-English-Full-Base",
        owner_id="801119661308",
        platform="windows",
        virtualization_type="hvm",
        architecture="x86_64",
        root_device_type="ebs",
        boot_mode=boot_mode,
    )
    ec2_backend.snapshots.pop(ami.ebs_snapshot.id, None)
    ami.platform_details, ami.usage_operation = WINDOWS_BILLING
    ami.tpm_support = tpm_support
    ami.uefi_data = "QU1aTlVFRkk=" if boot_mode == "uefi" else None
    ami.imds_support = "v2.0"
    ec2_backend.amis[ami_id] = ami
    return ami_id


_depth = 0


def install() -> None:
    """Patch moto for good (a moto server process that serves tests)."""
    AmisResponse.register_image = _register_image  # type: ignore[method-assign]
    AmisResponse.create_image = _create_image  # type: ignore[method-assign]
    Ami.block_device_mappings = property(_block_device_mappings)  # type: ignore[method-assign, assignment]
    EBSBackend.delete_snapshot = _delete_snapshot  # type: ignore[method-assign]
    Instance.platform_details = property(_platform_details)  # type: ignore[attr-defined]
    Instance.usage_operation = property(_usage_operation)  # type: ignore[attr-defined]


def uninstall() -> None:
    """Put moto back as it was."""
    AmisResponse.register_image = _original_register  # type: ignore[method-assign]
    AmisResponse.create_image = _original_create  # type: ignore[method-assign]
    Ami.block_device_mappings = _original_mappings  # type: ignore[method-assign]
    EBSBackend.delete_snapshot = _original_delete_snapshot  # type: ignore[method-assign]
    del Instance.platform_details  # type: ignore[attr-defined]
    del Instance.usage_operation  # type: ignore[attr-defined]


@contextmanager
def installed() -> Iterator[None]:
    """Patch moto for the duration of the block (in-process or ThreadedMotoServer); nests."""
    global _depth
    if _depth == 0:
        install()
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            uninstall()
