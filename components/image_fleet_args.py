"""ImageFleetArgs: what an ImageFleet runs and how it rolls out, and the check of it.

The rules themselves live in ``providers/aws/rules/fleet.py`` (shared with the stack
config); this module applies them to the component's arguments, so that bad input
fails the preview with every problem named, before any resource is registered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from providers.aws.errors import InvalidInputError
from providers.aws.rules.fleet import (
    PROTECTED_GROUP_KEYS,
    PROTECTED_TEMPLATE_KEYS,
    check_fleet,
    check_overrides,
)
from providers.aws.rules.rollout import DEFAULT_TIMEOUT_S, RefreshPreferences


@dataclass
class ImageFleetArgs:
    """What the fleet runs, where, how many, and how a new image rolls out."""

    image_id: pulumi.Input[str]
    """The AMI to run: a BakedImage's ``image_id`` or any AMI id."""
    instance_type: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    """Subnets (one per AZ) the group launches into; at least one."""
    security_group_ids: Sequence[pulumi.Input[str]] = field(default_factory=tuple)
    key_name: pulumi.Input[str] | None = None
    iam_instance_profile: pulumi.Input[str] | None = None
    """An instance profile name (or ARN, for launch templates)."""
    user_data: pulumi.Input[str] | None = None
    """Plain text; encoded for the launch template here."""
    min_size: int = 1
    max_size: int | None = None
    """Defaults to the least that leaves a rolling refresh room to launch before it
    terminates (``desired_capacity`` + 1 for small fleets)."""
    desired_capacity: int | None = None
    """Defaults to ``min_size``."""
    health_check_type: str | None = None
    """``"EC2"`` or ``"ELB"``; defaults to ELB when ``target_group_arns`` are given."""
    health_check_grace_period_s: int = 300
    default_instance_warmup_s: int | None = None
    """The group's DefaultInstanceWarmup (the refresh's warm-up unless overridden)."""
    target_group_arns: Sequence[pulumi.Input[str]] = field(default_factory=tuple)
    """Target groups: also the health gate (every new instance healthy in each)."""
    tags: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Tags for the group, propagated to every instance it launches."""
    launch: str = "template"
    """``"template"`` (default) or ``"configuration"``: legacy, and only with
    ``rollout="blue_green"``; accounts created since 1 October 2024 cannot create
    launch configurations, and they take no instance types released since 2023."""
    rollout: str = "rolling"
    """``"rolling"`` (instance refresh) or ``"blue_green"`` (a new group per image)."""
    refresh: RefreshPreferences = field(default_factory=RefreshPreferences)
    """How a rolling refresh replaces instances (fleet_rules holds the defaults)."""
    rollout_timeout_s: float = DEFAULT_TIMEOUT_S
    """How long ``pulumi up`` waits for a rollout before failing (AWS carries on)."""
    metadata_http_tokens: str | None = None
    """IMDS tokens on the launch template: ``"required"`` (IMDSv2 only; the default for
    new fleets) or ``"optional"``. None keeps a fleet an earlier Bakery made as it was."""
    launch_template_args: Mapping[str, Any] = field(default_factory=dict)
    """pulumi-aws ``LaunchTemplate`` arguments merged over Bakery's (e.g.
    ``block_device_mappings``, ``instance_market_options``); protected keys refused."""
    group_args: Mapping[str, Any] = field(default_factory=dict)
    """pulumi-aws ``autoscaling.Group`` arguments merged over Bakery's (e.g.
    ``termination_policies``, ``capacity_rebalance``, ``max_instance_lifetime``,
    ``instance_maintenance_policy``, ``warm_pool``, ``initial_lifecycle_hooks``)."""
    region: pulumi.Input[str] | None = None
    """Defaults to the stack's ``aws:region``."""
    endpoint_url: str | None = None
    """A local AWS endpoint for the rollout resources (tests); None for AWS."""
    create_kms_grant: bool = False
    """Grant the group's Auto Scaling role the use of the image's customer managed keys
    (a KmsGrant the launch template depends on; retired on destroy). Without it, check
    refuses an image whose key the role may not use."""

    @property
    def planned_desired(self) -> int:
        """The desired capacity the group is created with."""
        return self.desired_capacity if self.desired_capacity is not None else self.min_size


def _is_blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def check_args(args: ImageFleetArgs) -> list[InvalidInputError]:
    """Every problem with ``args``, each naming the field, what was found and the fix."""
    problems: list[InvalidInputError] = []
    for name in ("image_id", "instance_type"):
        if getattr(args, name) is None or _is_blank(getattr(args, name)):
            problems.append(InvalidInputError(name, getattr(args, name), "give a non-empty value"))
    if not isinstance(args.subnet_ids, pulumi.Output) and not list(args.subnet_ids):
        problems.append(
            InvalidInputError(
                "subnet_ids",
                list(args.subnet_ids),
                "give at least one subnet id (one per availability zone) to launch into",
            )
        )
    problems += check_fleet(
        launch=args.launch,
        rollout=args.rollout,
        min_size=args.min_size,
        max_size=args.max_size,
        desired=args.desired_capacity,
        health_check_type=args.health_check_type,
        grace_s=args.health_check_grace_period_s,
        timeout_s=args.rollout_timeout_s,
        prefs=args.refresh,
        http_tokens=args.metadata_http_tokens,
        image_id=args.image_id,
    )
    problems += check_overrides(
        args.launch_template_args, PROTECTED_TEMPLATE_KEYS, "launch_template_args"
    )
    problems += check_overrides(args.group_args, PROTECTED_GROUP_KEYS, "group_args")
    if not isinstance(args.create_kms_grant, bool):
        problems.append(
            InvalidInputError("create_kms_grant", args.create_kms_grant, "give true or false")
        )
    return problems
