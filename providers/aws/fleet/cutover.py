"""Blue/green cutover and group ownership: which group serves a fleet, and who may delete.

A fleet is the set of groups tagged ``bakery:fleet`` = its *fleet id*, a unique id the
fleet's identity resource keeps in the Pulumi state (so two stacks with the same
project, stack and resource names never share one). The rules:

* ``cut_over``: the new group first gets at least the capacity the serving group
  runs now (max of its own desired and theirs), then must be ready (InService,
  Healthy, on the image, healthy in every target group); only then is it tagged
  ``bakery:serving`` = the fleet id (the serving token), and only then are the
  fleet's other groups retired (drained, then deleted: groups.delete_group).
* ``release_group`` (a cutover resource's delete): the group goes only when another
  group of the same fleet serves (its token) with its capacity ready. So switching
  ``rollout`` to rolling, renaming the stack, or replacing the cutover resource
  never deletes the group that serves, and a group whose token was lost (a
  ``pulumi refresh`` then ``up`` makes pulumi-aws drop tags it does not know) is
  kept, not taken for a leftover.
* ``retire_fleet`` (the identity resource's delete, on destroy): every group of the
  fleet id goes, including one a failed first cutover left behind.

Groups written by earlier Bakery versions carry ``bakery:serving`` = ``true`` and a
fleet id of ``project/stack/name``; both are understood.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from providers.aws import tags as tag_keys
from providers.aws.callbacks import Log
from providers.aws.fleet.groups import (
    GroupHealth,
    WatchedGroup,
    delete_group,
    describe_group,
    fleet_groups,
    group_tags,
    look_at_group,
    quiet,
    set_desired_capacity,
    wait_for_group_healthy,
)
from providers.aws.wait_table import WAITS
from providers.aws.waits import Pacing

LEGACY_SERVING = "true"  # what Bakery wrote before serving tokens


def is_serving(group: Mapping[str, Any], fleet: str) -> bool:
    """Whether a described group is ``fleet``'s serving group (its token says so)."""
    found = group_tags(group)
    return found.get(tag_keys.FLEET) == fleet and found.get(tag_keys.SERVING) in (
        fleet,
        LEGACY_SERVING,
    )


def mark_serving(autoscaling: Any, group: str, fleet: str) -> None:
    """Write the serving token on the group: it serves ``fleet`` (its cutover succeeded).

    AWS calls: CreateOrUpdateTags.
    """
    autoscaling.create_or_update_tags(
        Tags=[
            {
                "ResourceId": group,
                "ResourceType": "auto-scaling-group",
                "Key": tag_keys.SERVING,
                "Value": fleet,
                "PropagateAtLaunch": False,
            }
        ]
    )


def _own_launch_configuration(group: Mapping[str, Any], prefix: str | None) -> str | None:
    name = group.get("LaunchConfigurationName")
    if name and prefix and str(name).startswith(prefix):
        return str(name)
    return None


def _serving_ready(
    autoscaling: Any, ec2: Any, groups: Sequence[Mapping[str, Any]], fleet: str, elbv2: Any
) -> list[str]:
    """The groups among ``groups`` that serve ``fleet`` with their capacity ready."""
    ready = []
    for found in groups:
        if not is_serving(found, fleet):
            continue
        name = found["AutoScalingGroupName"]
        health = look_at_group(WatchedGroup(autoscaling, ec2, name, None, elbv2))
        if health.phase == "healthy" and health.desired > 0:
            ready.append(name)
    return ready


def retire_groups(
    autoscaling: Any,
    fleet: str,
    keep: str | None,
    *,
    launch_configuration_prefix: str | None = None,
    pacing: Pacing | None = None,
    log: Log = quiet,
) -> list[str]:
    """Drain and delete every group of ``fleet`` but ``keep``, each with its LC.

    Args:
        fleet: the fleet id (``bakery:fleet`` tag value).
        keep: the group that stays (the new, serving one); None retires them all.
        launch_configuration_prefix: a retired group's launch configuration is deleted
            only if its name has this prefix (made by this fleet).

    Returns:
        The names of the groups deleted, sorted.

    AWS calls: DescribeAutoScalingGroups, then per group as ``groups.delete_group``.
    """
    retired: list[str] = []
    for found in fleet_groups(autoscaling, fleet):
        name = found["AutoScalingGroupName"]
        if name == keep:
            continue
        delete_group(
            autoscaling,
            name,
            launch_configuration=_own_launch_configuration(found, launch_configuration_prefix),
            pacing=pacing,
            log=log,
        )
        retired.append(name)
    return sorted(retired)


@dataclass(frozen=True)
class CutoverResult:
    """A blue/green cutover that happened: the ready group and the groups it retired."""

    health: GroupHealth
    retired: list[str] = field(default_factory=list)
    desired: int = 0


def match_serving_capacity(autoscaling: Any, group: str, fleet: str, *, log: Log = quiet) -> int:
    """Raise ``group``'s desired capacity to what the fleet's serving group runs now.

    A scaled-out serving group (9 instances where the config says 3) must not be
    replaced by 3. Capped at the new group's max_size (logged when it is).

    Returns:
        The new group's desired capacity.

    AWS calls: DescribeAutoScalingGroups (x2), SetDesiredCapacity when raised.
    """
    found = describe_group(autoscaling, group) or {}
    desired = int(found.get("DesiredCapacity") or 0)
    # Every other group of the fleet, not only the one with the token: a token lost
    # to a `pulumi refresh` must not shrink the fleet.
    serving = [
        int(g.get("DesiredCapacity") or 0)
        for g in fleet_groups(autoscaling, fleet)
        if g["AutoScalingGroupName"] != group
    ]
    wanted = max([desired, *serving])
    top = int(found.get("MaxSize") or wanted)
    if wanted > top:
        log(f"the serving group runs {wanted} instance(s); group {group} is capped at {top}")
        wanted = top
    if wanted > desired:
        set_desired_capacity(autoscaling, group, wanted)
        log(f"group {group} starts at {wanted} instance(s), as the serving group runs")
    return wanted


def cut_over(
    autoscaling: Any,
    ec2: Any,
    group: str,
    image_id: str,
    fleet: str,
    *,
    elbv2: Any = None,
    target_groups: Sequence[str] = (),
    launch_configuration_prefix: str | None = None,
    timeout_s: float | None = None,
    pacing: Pacing | None = None,
    log: Log = quiet,
) -> CutoverResult:
    """Blue/green: match capacity, wait until ``group`` serves, mark it, retire the others.

    Nothing is deleted unless the new group is ready: on failure every other group
    of the fleet keeps serving at its capacity.

    Raises:
        GroupUnhealthyError: as ``groups.wait_for_group_healthy``.

    AWS calls: as ``match_serving_capacity``, as ``wait_for_group_healthy``,
    CreateOrUpdateTags, then as ``retire_groups``.
    """
    pacing = pacing or Pacing()
    spec = WAITS["group_healthy"].spec
    if timeout_s is not None:
        spec = spec.with_deadline(timeout_s)
    since = datetime.now(UTC)
    desired = match_serving_capacity(autoscaling, group, fleet, log=log)
    health = wait_for_group_healthy(
        WatchedGroup(autoscaling, ec2, group, image_id, elbv2, target_groups),
        since=since,
        pacing=pacing,
        spec=spec,
        log=log,
        fix=(
            "The fleet's other groups keep serving and were not removed; fix the image "
            "or the health check settings and run `pulumi up` again"
        ),
    )
    mark_serving(autoscaling, group, fleet)
    retired = retire_groups(
        autoscaling,
        fleet,
        group,
        launch_configuration_prefix=launch_configuration_prefix,
        pacing=pacing,
        log=log,
    )
    log(
        f"group {group} serves {image_id} with {len(health.ready)} instance(s); "
        f"retired {', '.join(retired) or 'no other group'}"
    )
    return CutoverResult(health, retired, desired)


def release_group(
    autoscaling: Any,
    ec2: Any,
    group: str,
    fleet: str,
    *,
    elbv2: Any = None,
    launch_configuration: str | None = None,
    pacing: Pacing | None = None,
    log: Log = quiet,
) -> bool:
    """A cutover goes: delete its group unless that would leave the fleet unserved.

    The group is deleted when it is a member of ``fleet`` and another group of the
    fleet serves with its capacity ready. A group of another fleet (or none) is never
    touched; a group left by a failed first cutover goes with the fleet (destroy).

    Returns:
        Whether the group was deleted.

    AWS calls: DescribeAutoScalingGroups, DescribeInstances, DescribeTargetHealth,
    then as ``groups.delete_group``.
    """
    found = describe_group(autoscaling, group)
    if found is None:
        return False
    if group_tags(found).get(tag_keys.FLEET) != fleet:
        log(f"kept group {group}: it is not a member of fleet {fleet}")
        return False
    others = [g for g in fleet_groups(autoscaling, fleet) if g["AutoScalingGroupName"] != group]
    if not _serving_ready(autoscaling, ec2, others, fleet, elbv2):
        log(f"kept group {group}: no other group serves fleet {fleet}")
        return False
    delete_group(
        autoscaling, group, launch_configuration=launch_configuration, pacing=pacing, log=log
    )
    return True


def retire_fleet(
    autoscaling: Any,
    fleet: str,
    *,
    launch_configuration_prefix: str | None = None,
    pacing: Pacing | None = None,
    log: Log = quiet,
) -> list[str]:
    """The fleet goes (destroy): drain and delete every group of the fleet id.

    AWS calls: as ``retire_groups``.
    """
    return retire_groups(
        autoscaling,
        fleet,
        None,
        launch_configuration_prefix=launch_configuration_prefix,
        pacing=pacing,
        log=log,
    )


def fleet_exists(autoscaling: Any, fleet: str) -> bool:
    """Whether any group carries ``fleet`` as its fleet tag (an earlier Bakery's fleet).

    AWS calls: DescribeAutoScalingGroups (Filters tag:bakery:fleet).
    """
    return bool(fleet_groups(autoscaling, fleet))
