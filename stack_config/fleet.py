"""The ``bakery:fleet.*`` section: the Auto Scaling fleet and how an image rolls out."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from providers.aws import validation
from providers.aws.errors import InvalidInputError
from stack_config.keys import HEALTH_CHECK_TYPES, LAUNCH_KINDS, ROLLOUTS, key
from stack_config.parse import Reader, check_ids, choice

SUBNET_ID = re.compile(r"^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
SECURITY_GROUP_ID = re.compile(r"^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
TARGET_GROUP_ARN = re.compile(
    r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup/"
)


@dataclass(frozen=True)
class FleetConfig:
    """The fleet; field names are ``ImageFleetArgs``' own, so it is passed as keywords."""

    instance_type: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...] = ()
    key_name: str | None = None
    iam_instance_profile: str | None = None
    user_data: str | None = None
    min_size: int = 1
    max_size: int = 1
    desired_capacity: int | None = None
    health_check_type: str = "EC2"
    health_check_grace_period_s: int = 300
    target_group_arns: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    launch: str = "template"
    rollout: str = "rolling"
    min_healthy_percentage: int = 90
    instance_warmup_s: int | None = None
    checkpoint_percentages: tuple[int, ...] = ()
    checkpoint_delay_s: int | None = None
    skip_matching: bool = True
    auto_rollback: bool = True
    rollout_timeout_s: float = 3600.0


def load_fleet(r: Reader) -> FleetConfig:
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
    max_size = r.get("fleet.max_size")
    desired = r.get("fleet.desired_capacity")
    problems += validation.check_count(min_size, key("fleet.min_size"))
    problems += validation.check_count(max_size, key("fleet.max_size"))
    if min_size > max_size:
        problems.append(
            InvalidInputError(
                key("fleet.min_size"),
                min_size,
                f"{key('fleet.max_size')} is {max_size}; make min_size <= max_size",
            )
        )
    elif desired is not None and not min_size <= desired <= max_size:
        problems.append(
            InvalidInputError(
                key("fleet.desired_capacity"),
                desired,
                f"give a value within [min_size, max_size] = [{min_size}, {max_size}]",
            )
        )
    health_check_type = choice(r, "fleet.health_check_type", HEALTH_CHECK_TYPES)
    grace = r.get("fleet.health_check_grace_period_s")
    problems += validation.check_count(
        grace, key("fleet.health_check_grace_period_s"), maximum=7200
    )
    launch = choice(r, "fleet.launch", LAUNCH_KINDS)
    rollout = choice(r, "fleet.rollout", ROLLOUTS)
    if rollout == "rolling" and launch == "configuration":
        problems.append(
            InvalidInputError(
                key("fleet.rollout"),
                rollout,
                f"a rolling instance refresh needs {key('fleet.launch')} template; "
                "with a launch configuration use blue_green",
            )
        )
    min_healthy = r.get("fleet.min_healthy_percentage")
    problems += validation.check_count(
        min_healthy, key("fleet.min_healthy_percentage"), maximum=100
    )
    warmup = r.get("fleet.instance_warmup_s")
    if warmup is not None:
        problems += validation.check_count(warmup, key("fleet.instance_warmup_s"), maximum=86400)
    delay = r.get("fleet.checkpoint_delay_s")
    if delay is not None:
        problems += validation.check_count(delay, key("fleet.checkpoint_delay_s"), maximum=172800)
    points = r.get("fleet.checkpoint_percentages")
    if points and (
        any(isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= 100 for p in points)
        or points != sorted(set(points))
        or points[-1] != 100
    ):
        problems.append(
            InvalidInputError(
                key("fleet.checkpoint_percentages"),
                points,
                "give unique, ascending percentages from 1 to 100 ending at 100 (e.g. [20, 100])",
            )
        )
    timeout = r.get("fleet.rollout_timeout_s")
    if timeout <= 0:
        problems.append(
            InvalidInputError(
                key("fleet.rollout_timeout_s"), timeout, "give seconds above 0 (e.g. 3600)"
            )
        )
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
        target_group_arns=tuple(target_groups),
        tags=dict(tags),
        launch=launch,
        rollout=rollout,
        min_healthy_percentage=min_healthy,
        instance_warmup_s=warmup,
        checkpoint_percentages=tuple(p for p in points if isinstance(p, int)),
        checkpoint_delay_s=delay,
        skip_matching=r.get("fleet.skip_matching"),
        auto_rollback=r.get("fleet.auto_rollback"),
        rollout_timeout_s=float(timeout),
    )
