"""Auto Scaling groups: describe them, judge their health, drain and delete them.

Health here is what serves traffic, not only what Auto Scaling believes: during a
group's HealthCheckGracePeriod Auto Scaling marks no instance unhealthy even when
its load balancer checks fail, so with target groups an instance counts as ready
only once it is ``healthy`` in every target group (DescribeTargetHealth).

Deleting follows pulumi-aws (terraform-provider-aws ``resourceGroupDelete`` /
``drainGroup``): scale the group to zero (min, desired and max), wait until its
instances are gone, so lifecycle hooks and the targets' deregistration delay run,
then DeleteAutoScalingGroup *without* ForceDelete. ForceDelete is a last resort
taken only when the drain did not end by its deadline (an instance held by a
lifecycle hook nobody completes); it drops pending lifecycle actions.

AWS sources (read 2026-12):
https://docs.aws.amazon.com/autoscaling/ec2/userguide/health-check-grace-period.html,
https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTargetHealth.html,
https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DeleteAutoScalingGroup.html
("If the group has instances or scaling activities in progress, you must specify the
option to force the deletion"; "set the minimum size and desired capacity ... to zero").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from providers.aws import tags as tag_keys
from providers.aws.callbacks import Log
from providers.aws.errors import GroupUnhealthyError, WaitFailedError, WaitTimeoutError
from providers.aws.wait_table import WAITS
from providers.aws.waits import Outcome, Pacing, WaitSpec, wait_for

DEFAULT_FIX = "fix the image or the health check settings and run `pulumi up` again"


def quiet(_: str) -> None:
    """A log that drops every line."""


def describe_group(autoscaling: Any, group: str) -> dict[str, Any] | None:
    """The group, or None if there is none of that name.

    AWS calls: DescribeAutoScalingGroups.
    """
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
    found = groups.get("AutoScalingGroups", [])
    return found[0] if found else None


def fleet_groups(autoscaling: Any, fleet: str) -> list[dict[str, Any]]:
    """Every group tagged as a member of ``fleet`` (its ``bakery:fleet`` value).

    AWS calls: DescribeAutoScalingGroups (Filters tag:bakery:fleet, paginated).
    """
    paginator = autoscaling.get_paginator("describe_auto_scaling_groups")
    found = paginator.paginate(Filters=[{"Name": f"tag:{tag_keys.FLEET}", "Values": [fleet]}])
    return list(found.search("AutoScalingGroups[]"))


def group_tags(group: Mapping[str, Any]) -> dict[str, str]:
    """A described group's tags as a dict."""
    return tag_keys.to_dict(group.get("Tags"))


def failed_activity(autoscaling: Any, group: str, since: datetime | None) -> str | None:
    """The message of the latest failed scaling activity started after ``since``.

    Auto Scaling retries failed launches (bad AMI, no capacity, bad instance
    profile) quietly; reporting the first one at once spares waiting for a deadline.

    AWS calls: DescribeScalingActivities (the 20 most recent).
    """
    activities = autoscaling.describe_scaling_activities(
        AutoScalingGroupName=group, MaxRecords=20
    ).get("Activities", [])
    for activity in activities:
        started = activity.get("StartTime")
        if since is not None and isinstance(started, datetime) and started < since:
            continue
        if activity.get("StatusCode") in ("Failed", "Cancelled"):
            return str(activity.get("StatusMessage") or activity.get("Description") or "failed")
    return None


@dataclass(frozen=True)
class GroupHealth:
    """One look at a group: its ready instances (InService, Healthy, on the image, and
    healthy in every target group), and what keeps the others from being ready."""

    phase: str  # "healthy", "pending", "failed" or "gone" (WAITS["group_healthy"])
    desired: int
    ready: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.phase == "gone":
            return "group gone"
        tail = f" ({'; '.join(self.problems)})" if self.problems else ""
        return f"{len(self.ready)}/{self.desired} ready{tail}"


def _instance_images(ec2: Any, instance_ids: Sequence[str]) -> dict[str, str]:
    if not instance_ids:
        return {}
    images: dict[str, str] = {}
    paginator = ec2.get_paginator("describe_instances")
    for instance in paginator.paginate(InstanceIds=list(instance_ids)).search(
        "Reservations[].Instances[]"
    ):
        images[instance["InstanceId"]] = instance.get("ImageId", "")
    return images


def target_health(
    elbv2: Any, target_groups: Sequence[str], instance_ids: Sequence[str]
) -> dict[str, dict[str, str]]:
    """Per instance, its state in each target group (``healthy``, ``initial``, ...).

    AWS calls: DescribeTargetHealth per target group.
    """
    states: dict[str, dict[str, str]] = {iid: {} for iid in instance_ids}
    if not instance_ids:
        return states
    for arn in target_groups:
        found = elbv2.describe_target_health(
            TargetGroupArn=arn, Targets=[{"Id": iid} for iid in instance_ids]
        ).get("TargetHealthDescriptions", [])
        for description in found:
            iid = description.get("Target", {}).get("Id", "")
            health = description.get("TargetHealth", {})
            state = str(health.get("State", "?"))
            if health.get("Reason") and state != "healthy":
                state = f"{state} ({health['Reason']})"
            if iid in states:
                states[iid][arn] = state
    return states


@dataclass(frozen=True)
class WatchedGroup:
    """What a health look reads: the group, the image it should run, the targets it serves.

    ``image_id`` None accepts any image; ``target_groups`` empty means the group's own
    (``TargetGroupARNs``); ``elbv2`` None skips target health. Built once per rollout
    and shared by its looks and waits (instance refresh and blue/green cutover alike).
    """

    autoscaling: Any
    ec2: Any
    group: str
    image_id: str | None
    elbv2: Any = None
    target_groups: Sequence[str] = ()


def look_at_group(watched: WatchedGroup) -> GroupHealth:
    """Which instances of ``group`` are ready, and why the others are not.

    Ready: InService, Healthy, launched from ``image_id`` (any image when None), and
    ``healthy`` in every one of ``target_groups`` (default: the group's own).

    AWS calls: DescribeAutoScalingGroups, DescribeInstances, DescribeTargetHealth.
    """
    image_id, elbv2 = watched.image_id, watched.elbv2
    found = describe_group(watched.autoscaling, watched.group)
    if found is None:
        return GroupHealth("gone", 0)
    desired = int(found.get("DesiredCapacity") or 0)
    instances = sorted(found.get("Instances", []), key=lambda i: i["InstanceId"])
    ids = [i["InstanceId"] for i in instances]
    images = _instance_images(watched.ec2, ids) if image_id else {}
    arns = list(watched.target_groups or found.get("TargetGroupARNs") or [])
    targets = target_health(elbv2, arns, ids) if arns and elbv2 is not None else {}
    ready: list[str] = []
    problems: list[str] = []
    for inst in instances:
        iid = inst["InstanceId"]
        life, health = inst.get("LifecycleState", "?"), inst.get("HealthStatus", "?")
        image = images.get(iid, "?") if image_id else None
        not_serving = [
            f"{arn.rsplit('/', 2)[-2] if '/' in arn else arn}: {state}"
            for arn in arns
            if (state := targets.get(iid, {}).get(arn, "unregistered")) != "healthy"
        ]
        if image_id and image != image_id:
            problems.append(f"{iid} runs {image}")
        elif life != "InService" or health != "Healthy":
            problems.append(f"{iid} {life}/{health}")
        elif not_serving and targets:
            problems.append(f"{iid} target {', '.join(not_serving)}")
        else:
            ready.append(iid)
    phase = "healthy" if len(ready) >= desired else "pending"
    return GroupHealth(phase, desired, tuple(ready), tuple(problems))


def wait_for_group_healthy(
    watched: WatchedGroup,
    *,
    since: datetime | None = None,
    pacing: Pacing | None = None,
    spec: WaitSpec | None = None,
    log: Log | None = None,
    fix: str = DEFAULT_FIX,
) -> GroupHealth:
    """Wait until the group's desired capacity is ready (see ``look_at_group``).

    The desired capacity is the group's own, so scaling during the wait is followed.
    Unhealthy instances are not a failure by themselves (AWS replaces them); a failed
    scaling activity started after ``since`` is, at once, with its message.

    Raises:
        GroupUnhealthyError: the deadline passed (the message lists each instance
            that is not ready), a scaling activity failed, or the group disappeared.
            ``fix`` ends the message.

    AWS calls: DescribeScalingActivities, DescribeAutoScalingGroups, DescribeInstances,
    DescribeTargetHealth (polls).
    """
    pacing = pacing or Pacing()
    waiter = WAITS["group_healthy"]
    autoscaling, group, image_id = watched.autoscaling, watched.group, watched.image_id
    last: dict[str, GroupHealth] = {}

    def probe() -> tuple[Outcome, object]:
        activity = failed_activity(autoscaling, group, since) if since is not None else None
        health = look_at_group(watched)
        if activity and health.phase == "pending":
            health = GroupHealth(
                "failed",
                health.desired,
                health.ready,
                (*health.problems, f"scaling activity failed: {activity}"),
            )
        last["health"] = health
        return waiter.acceptors.classify([health.phase]), health

    resource = f"group {group}" + (f" on {image_id}" if image_id else "")
    try:
        health = wait_for(waiter, probe, resource=resource, pacing=pacing, spec=spec, log=log)
    except (WaitFailedError, WaitTimeoutError) as exc:
        seen = last["health"]
        raise GroupUnhealthyError(
            group,
            image_id or "its image",
            seen.desired,
            len(seen.ready),
            list(seen.problems),
            exc.elapsed_s,
            fix,
            gone=seen.phase == "gone",
        ) from exc
    assert isinstance(health, GroupHealth)
    return health


def set_desired_capacity(autoscaling: Any, group: str, desired: int) -> None:
    """Set the group's desired capacity now (no cooldown).

    AWS calls: SetDesiredCapacity.
    """
    autoscaling.set_desired_capacity(
        AutoScalingGroupName=group, DesiredCapacity=desired, HonorCooldown=False
    )


def _not_found(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    return error.get("Code") == "ValidationError" and "not found" in error.get("Message", "")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _drain(autoscaling: Any, group: str, pacing: Pacing, log: Log) -> bool:
    """Scale the group to zero and wait until it has no instances (``delete_group``'s first step).

    Returns:
        True once drained (or gone); False when the deadline passed first.

    AWS calls: UpdateAutoScalingGroup (MinSize, DesiredCapacity, MaxSize 0),
    SetInstanceProtection (off, for protected instances), DescribeAutoScalingGroups (polls).
    """
    waiter = WAITS["group_drained"]
    try:
        autoscaling.update_auto_scaling_group(
            AutoScalingGroupName=group, MinSize=0, DesiredCapacity=0, MaxSize=0
        )
    except ClientError as exc:
        if _not_found(exc):
            return True
        raise
    found = describe_group(autoscaling, group) or {}
    protected = [
        i["InstanceId"] for i in found.get("Instances", []) if i.get("ProtectedFromScaleIn")
    ]
    if protected:
        autoscaling.set_instance_protection(
            AutoScalingGroupName=group, InstanceIds=protected, ProtectedFromScaleIn=False
        )
    log(f"draining group {group} ({len(found.get('Instances', []))} instance(s))")

    def probe() -> tuple[Outcome, object]:
        now = describe_group(autoscaling, group)
        count = len(now.get("Instances", [])) if now else 0
        return waiter.acceptors.classify(["empty" if count == 0 else "draining"]), count

    try:
        wait_for(waiter, probe, resource=f"group {group} drain", pacing=pacing)
    except WaitTimeoutError:
        return False
    return True


def delete_group(
    autoscaling: Any,
    group: str,
    *,
    launch_configuration: str | None = None,
    pacing: Pacing | None = None,
    log: Log = quiet,
) -> None:
    """Drain the group, delete it (without ForceDelete), wait until gone, then its LC.

    ForceDelete only when the drain missed its deadline (see the module docstring). A
    launch configuration can only go once no group uses it (else ResourceInUse), so
    the group's deletion is awaited first. Already gone counts as done.

    AWS calls: as ``_drain``, DeleteAutoScalingGroup, DescribeAutoScalingGroups
    (polls), DeleteLaunchConfiguration.
    """
    pacing = pacing or Pacing()
    drained = _drain(autoscaling, group, pacing, log)
    if not drained:
        log(f"group {group} did not drain in time: deleting it with ForceDelete (last resort)")
    try:
        autoscaling.delete_auto_scaling_group(AutoScalingGroupName=group, ForceDelete=not drained)
        log(f"deleting group {group}")
    except ClientError as exc:
        if not _not_found(exc):
            raise
    waiter = WAITS["group_deleted"]

    def probe() -> tuple[Outcome, object]:
        found = describe_group(autoscaling, group)
        state = "gone" if found is None else str(found.get("Status") or "exists")
        return waiter.acceptors.classify([state]), state

    wait_for(waiter, probe, resource=f"group {group}", pacing=pacing)
    if launch_configuration:
        try:
            autoscaling.delete_launch_configuration(LaunchConfigurationName=launch_configuration)
            log(f"deleted launch configuration {launch_configuration}")
        except ClientError as exc:
            if _code(exc) == "ResourceInUse":
                log(f"kept launch configuration {launch_configuration}: another group uses it")
            elif not _not_found(exc):
                raise
