"""The key table: every ``bakery:*`` key Bakery reads, its kind, default and docs line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from providers.aws.rules.fleet import HEALTH_CHECK_TYPES, LAUNCH_KINDS, ROLLOUTS
from providers.aws.rules.rollout import DEFAULT_TIMEOUT_S, RefreshPreferences

NAMESPACE = "bakery"
MODES = ("bake-only", "fleet")
# The fleet's choices and defaults are fleet_shape's and fleet_rules' (one place for
# config, component and providers).
__all__ = ["HEALTH_CHECK_TYPES", "LAUNCH_KINDS", "ROLLOUTS"]
_PREFS = RefreshPreferences()
SECTIONS = ("bake", "promote", "fleet")


@dataclass(frozen=True)
class Key:
    """One config key: its type, default and the line the docs/config.md table shows."""

    kind: str  # "str", "int", "number", "bool", "list", "int_list", "map", "number_map"
    default: Any
    doc: str


# Every key Bakery reads, in docs/config.md order. The docs' key tables are checked
# against this (tests/stack_config/).
KEYS: dict[str, Key] = {
    "mode": Key("str", "bake-only", "`bake-only` (the image only) or `fleet` (image + fleet)"),
    "bake.instance_id": Key(
        "str", None, "The golden instance to image (required unless promoting)"
    ),
    "bake.name": Key("str", None, "AMI name; default: resource name + short bake id"),
    "bake.description": Key("str", None, "AMI description (at most 255 characters)"),
    "bake.triggers": Key("list", [], "Any change re-bakes, e.g. `[patch-2026-11]`"),
    "bake.consistency": Key(
        "str",
        "stop",
        "`stop` (stop, image, start once every volume has its snapshot), `reboot` "
        "(CreateImage reboots it) or `live` (image it running: crash-consistent)",
    ),
    "bake.stop_instance": Key(
        "bool", None, "Deprecated: `true` is `consistency: stop`, `false` is `live`"
    ),
    "bake.restore_state": Key("bool", True, "Put the instance back in the state it was found in"),
    "bake.allow_instance_store_loss": Key(
        "bool", False, "Let a stop erase instance-store volumes (else preview refuses the stop)"
    ),
    "bake.tags": Key("map", {}, "Tags on the AMI and every snapshot"),
    "bake.keep_previous": Key(
        "int", 1, "Replaced AMIs kept registered for rollback (older ones are removed)"
    ),
    "bake.retain_on_delete": Key(
        "bool", False, "On `pulumi destroy`, keep the AMI and its lineage in AWS"
    ),
    "bake.timeouts": Key(
        "number_map",
        {},
        "Wait deadlines in minutes; defaults `{instance: 15, snapshots: 480, image: 120}`",
    ),
    "bake.patch": Key(
        "map",
        None,
        "Patch first: `{operation: install|scan, reboot: if_needed|never, baseline_override, "
        "timeout_s}` (AWS-RunPatchBaseline)",
    ),
    "bake.rebake_on": Key(
        "list", [], "`[patch_state]`: re-bake when the instance's patch state changes"
    ),
    "bake.prepare": Key(
        "map",
        None,
        "Run before the image: `{commands: [...], document, timeout_s}` (SSM Run Command)",
    ),
    "bake.restore": Key(
        "map", None, "Run after the restart (even when prepare failed); same shape as prepare"
    ),
    "bake.verify": Key(
        "map",
        None,
        "Boot a test instance from the image first: `{subnet_id, instance_type, "
        "security_group_ids, instance_profile, command, timeout_s}`",
    ),
    "bake.endpoint_url": Key(
        "str", None, "A local AWS endpoint (moto) for the bake; never set for real AWS"
    ),
    "bake.deprecate_after_days": Key(
        "number", None, "Deprecate each AMI this many days after its bake (at most 3650)"
    ),
    "bake.deregistration_protection": Key(
        "bool", False, "Protect the AMI from deregistration (Bakery lifts it before it prunes)"
    ),
    "bake.deregistration_protection_cooldown": Key(
        "bool", False, "With protection: it holds 24 hours after it is turned off"
    ),
    "bake.share_with_accounts": Key(
        "list", [], "Account ids (quoted) that may launch the AMI and use its snapshots"
    ),
    "bake.share_with_organizations": Key("list", [], "Organization ARNs that may launch the AMI"),
    "bake.share_with_organizational_units": Key("list", [], "OU ARNs that may launch the AMI"),
    "bake.copy_to_regions": Key(
        "map", {}, "Region -> KMS key (or `null`) to copy each AMI to; copies go with their source"
    ),
    "bake.snapshot_tags": Key(
        "map", {}, "Tags on the snapshots only (besides `tags` and the volumes' own tags)"
    ),
    "bake.prune_shared": Key(
        "bool", False, "Let retention prune shared AMIs (their users' launches are not visible)"
    ),
    "bake.keep_launched_within_days": Key(
        "number", None, "Keep retired AMIs that launched an instance within this many days"
    ),
    "promote.from_stack": Key(
        "str", None, "Take `image_id` from this stack (`org/bakery/staging`) instead of baking"
    ),
    "promote.source_region": Key(
        "str", None, "Region of that stack's image; default: this stack's `aws:region`"
    ),
    "promote.copy": Key(
        "bool", False, "Copy the image into this stack (implied when the regions differ)"
    ),
    "promote.kms_key_id": Key("str", None, "KMS key ARN to encrypt the copy with"),
    "promote.share_with_accounts": Key(
        "list", [], "Account ids (quoted) allowed to launch this stack's image"
    ),
    "fleet.instance_type": Key("str", None, "Instance type (required in fleet mode)"),
    "fleet.subnet_ids": Key("list", [], "Subnets to launch into (required in fleet mode)"),
    "fleet.security_group_ids": Key("list", [], "Security groups of the instances"),
    "fleet.key_name": Key("str", None, "EC2 key pair name"),
    "fleet.iam_instance_profile": Key("str", None, "Instance profile name (or ARN)"),
    "fleet.user_data": Key("str", None, "User data, plain text"),
    "fleet.min_size": Key("int", 1, "Group minimum size"),
    "fleet.max_size": Key(
        "int", None, "Group maximum size; default: room for a rolling refresh (desired + 1)"
    ),
    "fleet.desired_capacity": Key("int", None, "Desired capacity; default: `min_size`"),
    "fleet.health_check_type": Key(
        "str", None, "`EC2` or `ELB`; default: `ELB` with target groups, else `EC2`"
    ),
    "fleet.health_check_grace_period_s": Key("int", 300, "Health check grace period"),
    "fleet.default_instance_warmup_s": Key(
        "int", None, "The group's DefaultInstanceWarmup (the refresh's warm-up by default)"
    ),
    "fleet.target_group_arns": Key(
        "list", [], "Target groups; also the health gate: new instances healthy in each"
    ),
    "fleet.tags": Key("map", {}, "Tags on the group, propagated to its instances"),
    "fleet.launch": Key(
        "str", "template", "`template` or `configuration` (legacy: blue_green only)"
    ),
    "fleet.rollout": Key(
        "str", "rolling", "`rolling` (instance refresh) or `blue_green` (new group per image)"
    ),
    "fleet.min_healthy_percentage": Key(
        "int", _PREFS.min_healthy_percentage, "Rolling: share of the fleet kept in service"
    ),
    "fleet.max_healthy_percentage": Key(
        "int",
        None,
        "Rolling: 100-200; above 100 launches before terminating (default for <= 2 instances)",
    ),
    "fleet.instance_warmup_s": Key("int", None, "Rolling: seconds before a new instance counts"),
    "fleet.checkpoint_percentages": Key(
        "int_list", [], "Rolling: pause points, ascending, ending at 100, e.g. `[20, 100]`"
    ),
    "fleet.checkpoint_delay_s": Key(
        "int", None, "Rolling: seconds to wait at each checkpoint (required with checkpoints)"
    ),
    "fleet.skip_matching": Key("bool", True, "Rolling: leave instances already on the image alone"),
    "fleet.auto_rollback": Key(
        "bool", True, "Rolling: roll back to the previous version when the refresh fails"
    ),
    "fleet.standby_instances": Key(
        "str",
        _PREFS.standby_instances,
        "Rolling: `Ignore`, `Wait` or `Terminate` Standby ones",
    ),
    "fleet.scale_in_protected_instances": Key(
        "str",
        _PREFS.scale_in_protected_instances,
        "Rolling: `Ignore`, `Wait` or `Terminate` scale-in protected instances",
    ),
    "fleet.alarm_names": Key(
        "list", [], "Rolling: CloudWatch alarms; one in ALARM fails (and rolls back) the refresh"
    ),
    "fleet.bake_time_s": Key("int", None, "Rolling: seconds to watch the alarms after the refresh"),
    "fleet.rollout_timeout_s": Key(
        "number",
        DEFAULT_TIMEOUT_S,
        "How long `pulumi up` waits for a rollout (AWS goes on)",
    ),
    "fleet.metadata_http_tokens": Key(
        "str", None, "`required` (IMDSv2 only; default for new fleets) or `optional`"
    ),
    "fleet.launch_template_args": Key(
        "map",
        {},
        "pulumi-aws LaunchTemplate args over Bakery's (own keys refused)",
    ),
    "fleet.group_args": Key(
        "map",
        {},
        "pulumi-aws autoscaling.Group args over Bakery's (own keys refused)",
    ),
    # Distribution keys: their table is docs/distribution.md's (not docs/config.md's).
    **{
        "bake.reencrypt_with": Key(
            "str", None, "Customer managed KMS key: share and hand on a copy under it"
        ),
        "fleet.create_kms_grant": Key(
            "bool", False, "Grant the Auto Scaling role use of the image's customer managed keys"
        ),
    },
}
# Keys documented in docs/distribution.md instead of docs/config.md's table.
DISTRIBUTION_KEYS = ("bake.reencrypt_with", "fleet.create_kms_grant")


def key(name: str) -> str:
    """``fleet.min_size`` as the user writes it: ``bakery:fleet.min_size``."""
    return f"{NAMESPACE}:{name}"
