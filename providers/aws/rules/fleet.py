"""The fleet's shape, written once: choices, sizes, health check type, protected keys.

``check_fleet`` is the one check the config (``stack_config/fleet.py``, with its
``bakery:fleet.`` prefix) and the component (``components/image_fleet.py``) run; it
judges the refresh preferences with ``fleet_rules.check_preferences``, which the
providers run too. Pure Python (no boto3, no pulumi): the config layer may import it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from providers.aws.errors import InvalidInputError
from providers.aws.rules.rollout import RefreshPreferences, check_preferences, max_in_group


def check_overrides(
    given: Mapping[str, Any] | None, protected: Sequence[str], what: str
) -> list[InvalidInputError]:
    """One problem per pass-through key that would override a key Bakery sets itself."""
    return [
        InvalidInputError(
            f"{what}.{key}",
            (given or {})[key],
            f"Bakery sets {key} itself (protected keys of {what}: {', '.join(protected)}); "
            "use ImageFleetArgs' own field for it, or remove it",
        )
        for key in sorted(given or {})
        if key in protected
    ]


# Keys of the pass-through overrides that Bakery sets from its own fields (or must
# own for the rollout to be safe): overriding one fails at preview, naming it.
PROTECTED_TEMPLATE_KEYS = (
    "iam_instance_profile",
    "image_id",
    "instance_type",
    "key_name",
    "name",
    "name_prefix",
    "tag_specifications",
    "tags",
    "user_data",
    "vpc_security_group_ids",
)
PROTECTED_GROUP_KEYS = (
    "default_instance_warmup",
    "desired_capacity",
    "health_check_grace_period",
    "health_check_type",
    "instance_refresh",
    "launch_configuration",
    "launch_template",
    "max_size",
    "min_size",
    "name",
    "name_prefix",
    "tags",
    "target_group_arns",
    "vpc_zone_identifiers",
    "wait_for_capacity_timeout",
)

LAUNCH_KINDS = ("template", "configuration")
ROLLOUTS = ("rolling", "blue_green")
HEALTH_CHECK_TYPES = ("EC2", "ELB")
HTTP_TOKENS = ("required", "optional")


def default_health_check_type(target_groups: bool) -> str:
    """ELB with target groups (a broken app is then replaced), else EC2."""
    return "ELB" if target_groups else "EC2"


def planned_max_size(
    min_size: int, max_size: int | None, desired: int, rollout: str, prefs: RefreshPreferences
) -> int:
    """``max_size`` as given, else the least that leaves a rolling refresh its room."""
    if max_size is not None:
        return max_size
    floor = max(min_size, desired)
    if rollout != "rolling" or desired <= 0:
        return floor
    return max(floor, max_in_group(desired, prefs.for_capacity(desired).max_healthy_percentage))


def check_fleet(
    *,
    launch: str,
    rollout: str,
    min_size: int,
    max_size: int | None,
    desired: int | None,
    health_check_type: str | None,
    grace_s: int,
    timeout_s: float,
    prefs: RefreshPreferences,
    http_tokens: str | None = None,
    image_id: object = None,
    prefix: str = "",
) -> list[InvalidInputError]:
    """Every problem with a fleet's shape and rollout, each naming the field and the fix.

    The config (with ``prefix="bakery:fleet."``) and the component call this one
    function; the providers check the preferences with ``check_preferences``.
    """
    problems: list[InvalidInputError] = []

    def bad(name: str, value: object, fix: str) -> None:
        problems.append(InvalidInputError(prefix + name, value, fix))

    if launch not in LAUNCH_KINDS:
        bad("launch", launch, 'give "template" (default) or "configuration" (legacy)')
    if rollout not in ROLLOUTS:
        bad("rollout", rollout, 'give "rolling" (default) or "blue_green"')
    if rollout == "rolling" and launch == "configuration":
        bad(
            "rollout",
            rollout,
            f'a rolling instance refresh with auto-rollback needs {prefix}launch="template"; '
            f'with launch="configuration" use rollout="blue_green"',
        )
    if min_size < 0:
        bad("min_size", min_size, "give 0 or more")
    if max_size is not None and min_size > max_size:
        bad("min_size", min_size, f"{prefix}max_size is {max_size}; make min_size <= max_size")
    top = max_size if max_size is not None else max(min_size, desired or 0)
    if desired is not None and not min_size <= desired <= top:
        bad(
            "desired_capacity",
            desired,
            f"give a value within [min_size, max_size] = [{min_size}, {top}]",
        )
    if health_check_type is not None and health_check_type not in HEALTH_CHECK_TYPES:
        bad("health_check_type", health_check_type, 'give "EC2" or "ELB"')
    if grace_s < 0:
        bad("health_check_grace_period_s", grace_s, "give 0 or more")
    if timeout_s <= 0:
        bad("rollout_timeout_s", timeout_s, "give seconds above 0 (e.g. 3600)")
    if http_tokens is not None and http_tokens not in HTTP_TOKENS:
        bad(
            "metadata_http_tokens",
            http_tokens,
            'give "required" (IMDSv2 only, the default) or "optional" (IMDSv1 allowed)',
        )
    if (
        isinstance(image_id, str)
        and image_id.startswith("resolve:ssm:")
        and rollout == "rolling"
        and prefs.auto_rollback
    ):
        # RefreshPreferences: rollback is not supported when the launch template's
        # ImageId is a Systems Manager parameter.
        bad(
            "image_id",
            image_id,
            "auto-rollback is not supported with an SSM parameter as the image; give the "
            "AMI id (e.g. a BakedImage's image_id) or set auto_rollback to false",
        )
    planned = desired if desired is not None else min_size
    sizes_ok = not problems
    problems += check_preferences(
        prefs,
        desired=planned if rollout == "rolling" and sizes_ok else None,
        max_size=max_size if rollout == "rolling" and sizes_ok else None,
        prefix=prefix,
    )
    return problems
