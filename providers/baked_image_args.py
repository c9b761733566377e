"""BakedImageArgs: the typed inputs of a BakedImage, and how they become its props."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

import pulumi

from providers import lifecycle

# The steps around the image (rules/bake_steps.py judges them).
CYCLE_KEYS = ("patch", "rebake_on", "prepare", "restore", "verify")


@dataclass(kw_only=True)
class PatchArgs:
    """Patch the instance first: AWS-RunPatchBaseline through SSM Run Command."""

    operation: str = "install"
    """``install`` or ``scan``."""
    reboot: str = "if_needed"
    """``if_needed`` (the bake waits for the instance and its agent to be back) or ``never``."""
    baseline_override: str | None = None
    """S3 URI of a patch baseline JSON to use instead of the instance's baseline."""
    timeout_s: float = 3600.0


@dataclass(kw_only=True)
class CommandArgs:
    """Commands run on an instance through SSM Run Command (prepare, restore, verify)."""

    commands: Sequence[str] = ()
    document: str = "AWS-RunShellScript"
    """``AWS-RunShellScript``, ``AWS-RunPowerShellScript`` or your own document."""
    timeout_s: float = 600.0


@dataclass(kw_only=True)
class VerifyArgs:
    """Boot one test instance from the image before it is handed on."""

    subnet_id: str
    instance_type: str | None = None
    """Default: the golden instance's type."""
    security_group_ids: Sequence[str] = ()
    instance_profile: str | None = None
    """Needed for ``command`` (the SSM agent needs a role)."""
    associate_public_ip: bool = False
    command: CommandArgs | Mapping[str, Any] | None = None
    timeout_s: float = 900.0


def _plain(value: Any) -> Any:
    """A typed Args value as the plain mapping props carry (a dict stays a dict);
    unset keys are left out so the provider fills its defaults."""
    if is_dataclass(value) and not isinstance(value, type):
        # Field by field, not ``asdict``: that deep-copies, and values may be Outputs.
        value = {f.name: getattr(value, f.name) for f in fields(value)}
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, tuple):
        return list(value)
    return value


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

    patch: PatchArgs | Mapping[str, Any] | None = None
    """Patch the instance (AWS-RunPatchBaseline) before the hold and the stop."""
    rebake_on: Sequence[str] | None = None
    """``["patch_state"]``: re-bake when the instance's patch state changes (SSM)."""
    prepare: CommandArgs | Mapping[str, Any] | None = None
    """Commands run on the instance just before the image (clean-up of leftovers)."""
    restore: CommandArgs | Mapping[str, Any] | None = None
    """Commands run after the restart; they run even when prepare failed."""
    verify: VerifyArgs | Mapping[str, Any] | None = None
    """Prove the image boots (a test instance) before ``image_id`` is an output."""

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
            # Only when set: props of stacks that use none of them stay as they were.
            **{
                name: _plain(value)
                for name in CYCLE_KEYS
                if (value := getattr(self, name)) is not None
            },
        }
