"""moto extension: RegisterImage and DeleteSnapshot as AWS does them.

moto 5.2 ``register_image`` keeps only Name and Description: it drops the block
device mappings, root device, architecture and TagSpecifications, invents a
snapshot of its own, and accepts a duplicate name. AWS keeps all of these,
refuses a duplicate name (InvalidAMIName.Duplicate) and refuses to delete a
snapshot that backs a registered image (InvalidSnapshot.InUse).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.amis import Ami
from moto.ec2.models.elastic_block_store import EBSBackend
from moto.ec2.responses.amis import AmisResponse

_original_register = AmisResponse.register_image
_original_mappings = Ami.block_device_mappings
_original_delete_snapshot = EBSBackend.delete_snapshot


def _register_image(self: AmisResponse) -> Any:
    name = self._get_param("Name")
    backend = self.ec2_backend
    for ami in backend.amis.values():
        if ami.name == name and ami.owner_id == backend.account_id:
            raise EC2ClientError(
                "InvalidAMIName.Duplicate", f"AMI name {name} is already in use by AMI {ami.id}"
            )
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


_depth = 0


def install() -> None:
    """Patch moto for good (a moto server process that serves tests)."""
    AmisResponse.register_image = _register_image  # type: ignore[method-assign]
    Ami.block_device_mappings = property(_block_device_mappings)  # type: ignore[method-assign, assignment]
    EBSBackend.delete_snapshot = _delete_snapshot  # type: ignore[method-assign]


def uninstall() -> None:
    """Put moto back as it was."""
    AmisResponse.register_image = _original_register  # type: ignore[method-assign]
    Ami.block_device_mappings = _original_mappings  # type: ignore[method-assign]
    EBSBackend.delete_snapshot = _original_delete_snapshot  # type: ignore[method-assign]


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
