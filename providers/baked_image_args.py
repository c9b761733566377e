"""BakedImageArgs: the typed inputs of a BakedImage, and how they become its props."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from providers import lifecycle


@dataclass(kw_only=True)
class BakedImageArgs:
    """Inputs of a BakedImage. Only ``instance_id`` is required."""

    instance_id: pulumi.Input[str]
    """The golden instance (EBS-backed) to image."""
    name: pulumi.Input[str] | None = None
    """AMI name; default: the resource name plus a short bake id."""
    description: pulumi.Input[str] | None = None
    triggers: pulumi.Input[Sequence[Any]] | None = None
    """Any change re-bakes (e.g. a patch date or package versions)."""
    consistency: pulumi.Input[str] | None = None
    """How the image is kept consistent: ``stop`` (default: stop the instance, image it,
    start it as soon as every volume has its snapshot), ``reboot`` (EC2's CreateImage
    reboot: a clean shutdown, keeps the public IP, host and instance-store data) or
    ``live`` (image it running: crash-consistent)."""
    stop_instance: pulumi.Input[bool] | None = None
    """Deprecated: ``True`` is ``consistency="stop"``, ``False`` is ``"live"``."""
    restore_state: pulumi.Input[bool] = True
    """Return the instance to the state it was found in after the bake."""
    tags: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None
    """Tags on the AMI and every snapshot."""
    region: pulumi.Input[str] | None = None
    endpoint_url: pulumi.Input[str] | None = None
    """A local AWS endpoint (moto, LocalStack); never set for real AWS."""
    keep_previous: pulumi.Input[int] = 1
    """How many replaced images stay registered for rollback."""
    retain_on_delete: pulumi.Input[bool] = False
    """On destroy, keep the image and its lineage in AWS."""
    timeouts: pulumi.Input[Mapping[str, float]] | None = None
    """Wait deadlines in minutes: ``instance``, ``snapshots``, ``image``."""
    allow_instance_store_loss: pulumi.Input[bool] = False
    """Let a stop erase the instance-store volumes (else check refuses such a stop)."""

    deprecate_after_days: pulumi.Input[float] | None = None
    """Deprecate the image this many days after the bake (EnableImageDeprecation)."""
    deregistration_protection: pulumi.Input[bool] = False
    """Protect the image from deregistration; Bakery lifts it before it prunes the image."""
    deregistration_protection_cooldown: pulumi.Input[bool] = False
    """With protection: stay protected 24 hours after it is turned off."""
    share_with_accounts: pulumi.Input[Sequence[str]] | None = None
    """Accounts that may launch the image (and create volumes from its snapshots)."""
    share_with_organizations: pulumi.Input[Sequence[str]] | None = None
    """Organization ARNs that may launch the image."""
    share_with_organizational_units: pulumi.Input[Sequence[str]] | None = None
    """OU ARNs that may launch the image."""
    copy_to_regions: pulumi.Input[Mapping[str, str | None]] | None = None
    """Region -> KMS key (or None) to copy the image to; copies go with their source."""
    snapshot_tags: pulumi.Input[Mapping[str, str]] | None = None
    """Tags on the snapshots only (besides ``tags`` and the source volumes' tags)."""
    prune_shared: pulumi.Input[bool] = False
    """Let retention prune images shared with other accounts (their use is not visible)."""
    keep_launched_within_days: pulumi.Input[float] | None = None
    """Keep retired images that launched an instance within this many days."""
    reencrypt_with: pulumi.Input[str] | None = None
    """A customer managed KMS key of this region: the bake's image is copied under it
    (CopyImage), and the copy is the image shared, copied and handed on as
    ``image_id`` (an image under ``aws/ebs`` cannot be shared)."""

    def to_props(self) -> dict[str, Any]:
        """The dynamic resource's input props."""
        return {
            "instance_id": self.instance_id,
            "name": self.name,
            "description": self.description,
            "triggers": self.triggers,
            "consistency": self.consistency,
            "stop_instance": self.stop_instance,
            "restore_state": self.restore_state,
            "tags": self.tags,
            "region": self.region,
            "endpoint_url": self.endpoint_url,
            "keep_previous": self.keep_previous,
            "retain_on_delete": self.retain_on_delete,
            "timeouts": self.timeouts,
            **{key: getattr(self, key) for key in lifecycle.DEFAULTS},
            "allow_instance_store_loss": self.allow_instance_store_loss,
            **({"reencrypt_with": self.reencrypt_with} if self.reencrypt_with else {}),
        }
