"""The ``bakery:fleet.*`` section: the Auto Scaling fleet and how an image rolls out."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.aws.errors import InvalidInputError
from providers.aws.rules import validation
from providers.aws.rules.fleet import (
    PROTECTED_GROUP_KEYS,
    PROTECTED_TEMPLATE_KEYS,
    check_fleet,
    check_overrides,
)
from providers.aws.rules.rollout import DEFAULT_TIMEOUT_S, RefreshPreferences
from stack_config.keys import HEALTH_CHECK_TYPES, LAUNCH_KINDS, ROLLOUTS, key
from stack_config.parse import Reader, check_ids, choice

SUBNET_ID = re.compile(r"^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
SECURITY_GROUP_ID = re.compile(r"^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
TARGET_GROUP_ARN = re.compile(
    r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup/"
)


@dataclass(frozen=True)
class FleetConfig:
    """The fleet; field names are ``ImageFleetArgs``' own, so it is passed as keywords.

    The refresh preferences are one ``fleet_rules.RefreshPreferences`` (``refresh``),
    read from the flat keys of the same names (``bakery:fleet.min_healthy_percentage``).
    """

    instance_type: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...] = ()
    key_name: str | None = None
    iam_instance_profile: str | None = None
    user_data: str | None = None
    min_size: int = 1
    max_size: int | None = None
    desired_capacity: int | None = None
    health_check_type: str | None = None
    health_check_grace_period_s: int = 300
    default_instance_warmup_s: int | None = None
    target_group_arns: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    launch: str = "template"
    rollout: str = "rolling"
    refresh: RefreshPreferences = field(default_factory=RefreshPreferences)
    rollout_timeout_s: float = DEFAULT_TIMEOUT_S
    metadata_http_tokens: str | None = None
    launch_template_args: Mapping[str, Any] = field(default_factory=dict)
    group_args: Mapping[str, Any] = field(default_factory=dict)
    create_kms_grant: bool = False


def _optional_count(r: Reader, name: str, maximum: int) -> int | None:
    value = r.get(name)
    if value is not None:
        r.problems.extend(validation.check_count(value, key(name), maximum=maximum))
    return value


def load_fleet(r: Reader) -> FleetConfig:
    """The fleet section: each key parsed, then the fleet's rules (fleet_rules.check_fleet)."""
    problems = r.problems
    instance_type = r.get("fleet.instance_type")
    if instance_type is None:
        problems.append(
            InvalidInputError(
                key("fleet.instance_type"),
                None,
                f"required in fleet mode (e.g. t3.micro), or set {key('mode')} to bake-only",
            )
        )
    subnet_ids = r.get("fleet.subnet_ids")
    if not subnet_ids:
        problems.append(
            InvalidInputError(
                key("fleet.subnet_ids"),
                subnet_ids,
                "required in fleet mode: one subnet per availability zone, e.g. "
                '["subnet-0123456789abcdef0"]',
            )
        )
    problems += check_ids(subnet_ids, "fleet.subnet_ids", SUBNET_ID, "subnet-0123456789abcdef0")
    groups = r.get("fleet.security_group_ids")
    problems += check_ids(
        groups, "fleet.security_group_ids", SECURITY_GROUP_ID, "sg-0123456789abcdef0"
    )
    target_groups = r.get("fleet.target_group_arns")
    problems += check_ids(
        target_groups,
        "fleet.target_group_arns",
        TARGET_GROUP_ARN,
        "arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>",
    )
    min_size = r.get("fleet.min_size")
    problems += validation.check_count(min_size, key("fleet.min_size"))
    max_size = _optional_count(r, "fleet.max_size", 1000)
    desired = _optional_count(r, "fleet.desired_capacity", 1000)
    grace = r.get("fleet.health_check_grace_period_s")
    problems += validation.check_count(
        grace, key("fleet.health_check_grace_period_s"), maximum=7200
    )
    warmup_group = _optional_count(r, "fleet.default_instance_warmup_s", 3600)
    health_check_type = (
        choice(r, "fleet.health_check_type", HEALTH_CHECK_TYPES)
        if r.has("fleet.health_check_type")
        else None
    )
    launch = choice(r, "fleet.launch", LAUNCH_KINDS)
    rollout = choice(r, "fleet.rollout", ROLLOUTS)
    points = r.get("fleet.checkpoint_percentages")
    refresh = RefreshPreferences(
        min_healthy_percentage=r.get("fleet.min_healthy_percentage"),
        max_healthy_percentage=r.get("fleet.max_healthy_percentage"),
        instance_warmup_s=_optional_count(r, "fleet.instance_warmup_s", 86400),
        checkpoint_percentages=tuple(
            p for p in points if isinstance(p, int) and not isinstance(p, bool)
        ),
        checkpoint_delay_s=r.get("fleet.checkpoint_delay_s"),
        skip_matching=r.get("fleet.skip_matching"),
        auto_rollback=r.get("fleet.auto_rollback"),
        standby_instances=r.get("fleet.standby_instances"),
        scale_in_protected_instances=r.get("fleet.scale_in_protected_instances"),
        alarm_names=tuple(str(a) for a in r.get("fleet.alarm_names")),
        bake_time_s=r.get("fleet.bake_time_s"),
    )
    if len(points) != len(refresh.checkpoint_percentages):
        problems.append(
            InvalidInputError(
                key("fleet.checkpoint_percentages"),
                points,
                "give whole percentages (e.g. [20, 100])",
            )
        )
    timeout = r.get("fleet.rollout_timeout_s")
    tokens = r.get("fleet.metadata_http_tokens")
    # Unparseable values were reported and read as their defaults: the rules judge the
    # rest, once per key.
    reported = {p.field for p in problems}
    problems += [
        p
        for p in check_fleet(
            launch=launch,
            rollout=rollout,
            min_size=min_size,
            max_size=max_size,
            desired=desired,
            health_check_type=health_check_type,
            grace_s=grace,
            timeout_s=timeout,
            prefs=refresh,
            http_tokens=tokens,
            prefix=key("fleet."),
        )
        if p.field not in reported
    ]
    launch_template_args = r.get("fleet.launch_template_args")
    group_args = r.get("fleet.group_args")
    problems += check_overrides(
        launch_template_args, PROTECTED_TEMPLATE_KEYS, key("fleet.launch_template_args")
    )
    problems += check_overrides(group_args, PROTECTED_GROUP_KEYS, key("fleet.group_args"))
    tags = r.get("fleet.tags")
    problems += validation.check_tags(tags, key("fleet.tags"))
    return FleetConfig(
        instance_type=instance_type or "",
        subnet_ids=tuple(subnet_ids),
        security_group_ids=tuple(groups),
        key_name=r.get("fleet.key_name"),
        iam_instance_profile=r.get("fleet.iam_instance_profile"),
        user_data=r.get("fleet.user_data"),
        min_size=min_size,
        max_size=max_size,
        desired_capacity=desired,
        health_check_type=health_check_type,
        health_check_grace_period_s=grace,
        default_instance_warmup_s=warmup_group,
        target_group_arns=tuple(target_groups),
        tags=dict(tags),
        launch=launch,
        rollout=rollout,
        refresh=refresh,
        rollout_timeout_s=float(timeout),
        metadata_http_tokens=tokens,
        launch_template_args=dict(launch_template_args),
        group_args=dict(group_args),
        create_kms_grant=r.get("fleet.create_kms_grant"),
    )
