"""Rolling an image out to an Auto Scaling fleet: instance refreshes and health waits.

Two strategies, each correct by construction:

* rolling (``roll_out_template``): one instance refresh whose *desired configuration*
  is an explicit launch template version, with auto-rollback. The group keeps
  referencing its previous version while the refresh runs; AWS writes the desired
  configuration to the group only once the refresh succeeds, and a rollback restores
  the configuration the group had when the refresh started. (A group updated to the
  new version *before* the refresh would "roll back" to the bad version; a group on
  ``$Latest``/``$Default`` can neither start a refresh by changing nor roll back.)
  A refresh an interrupted run started is adopted, not duplicated.
* blue_green (``wait_for_group_healthy`` then ``retire_groups``): a new group per
  image; every other group of the fleet is deleted only once the new group has its
  desired capacity InService, healthy and running the image.

AWS sources (read 2026): StartInstanceRefresh and RollbackInstanceRefresh API
references ("Once the instance refresh succeeds, Amazon EC2 Auto Scaling updates the
settings of the Auto Scaling group to reflect the new desired configuration"; rollback
is not supported without a desired configuration or with ``$Latest``/``$Default``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from providers.aws.errors import (
    GroupUnhealthyError,
    InvalidInputError,
    RefreshFailedError,
    RefreshTimeoutError,
    RolloutError,
    WaitFailedError,
    WaitTimeoutError,
)
from providers.aws.waits import WAITS, Outcome, Pacing, WaitSpec, wait_for

Log = Callable[[str], None]

# InstanceRefreshStatus values (botocore autoscaling service-2.json) that can still change.
ACTIVE_STATUSES = frozenset({"Pending", "InProgress", "Baking", "Cancelling", "RollbackInProgress"})
# On a group: marks the group whose cutover succeeded (see ``mark_serving``).
FLEET_TAG = "bakery:fleet"
SERVING_TAG = "bakery:serving"
DEFAULT_FIX = "fix the image or the health check settings and run `pulumi up` again"


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class TemplateVersion:
    """A launch template and one explicit version number of it."""

    template_id: str
    version: str

    def to_api(self) -> dict[str, str]:
        """The ``LaunchTemplate`` specification AWS takes and returns."""
        return {"LaunchTemplateId": self.template_id, "Version": self.version}

    def matches(self, spec: Mapping[str, Any] | None) -> bool:
        """Whether an AWS ``LaunchTemplate`` specification names this version."""
        if not spec:
            return False
        return (
            spec.get("LaunchTemplateId") == self.template_id
            and str(spec.get("Version")) == self.version
        )

    def __str__(self) -> str:
        return f"launch template {self.template_id} version {self.version}"


@dataclass(frozen=True)
class RefreshPreferences:
    """What StartInstanceRefresh is told, in Bakery's units (seconds, whole percents)."""

    min_healthy_percentage: int = 90
    instance_warmup_s: int | None = None
    checkpoint_percentages: tuple[int, ...] = ()
    checkpoint_delay_s: int | None = None
    skip_matching: bool = True
    auto_rollback: bool = True

    def to_api(self) -> dict[str, Any]:
        """The ``Preferences`` of a StartInstanceRefresh request."""
        prefs: dict[str, Any] = {
            "MinHealthyPercentage": self.min_healthy_percentage,
            "SkipMatching": self.skip_matching,
            "AutoRollback": self.auto_rollback,
        }
        if self.instance_warmup_s is not None:
            prefs["InstanceWarmup"] = self.instance_warmup_s
        if self.checkpoint_percentages:
            prefs["CheckpointPercentages"] = list(self.checkpoint_percentages)
            if self.checkpoint_delay_s is not None:
                prefs["CheckpointDelay"] = self.checkpoint_delay_s
        return prefs


def check_preferences(prefs: RefreshPreferences) -> list[InvalidInputError]:
    """Every problem with ``prefs``, each naming the field and the fix."""
    problems: list[InvalidInputError] = []
    if not 0 <= prefs.min_healthy_percentage <= 100:
        problems.append(
            InvalidInputError(
                "min_healthy_percentage",
                prefs.min_healthy_percentage,
                "give a whole percentage from 0 to 100 (90 keeps 90% of the fleet serving)",
            )
        )
    for name, value in (
        ("instance_warmup_s", prefs.instance_warmup_s),
        ("checkpoint_delay_s", prefs.checkpoint_delay_s),
    ):
        if value is not None and value < 0:
            problems.append(InvalidInputError(name, value, "give 0 or more seconds"))
    points = list(prefs.checkpoint_percentages)
    if points and (
        any(not 1 <= p <= 100 for p in points) or points != sorted(set(points)) or points[-1] != 100
    ):
        problems.append(
            InvalidInputError(
                "checkpoint_percentages",
                points,
                "give unique, ascending percentages from 1 to 100 ending at 100 "
                "(e.g. [20, 50, 100]) so that every instance is replaced",
            )
        )
    return problems


@dataclass(frozen=True)
class RefreshState:
    """What one look at a refresh saw (compared by ``every`` to spot changes)."""

    refresh_id: str
    status: str
    percentage_complete: int = 0
    instances_to_update: int = 0

    @classmethod
    def of(cls, refresh: Mapping[str, Any]) -> RefreshState:
        return cls(
            refresh["InstanceRefreshId"],
            refresh["Status"],
            int(refresh.get("PercentageComplete") or 0),
            int(refresh.get("InstancesToUpdate") or 0),
        )

    def __str__(self) -> str:
        return (
            f"{self.status}, {self.percentage_complete}% complete, "
            f"{self.instances_to_update} instance(s) to update"
        )


@dataclass(frozen=True)
class RolloutResult:
    """How a rollout ended: the refresh that did it, or none if none was needed."""

    refresh_id: str
    status: str  # "Successful", or "AlreadyCurrent" when the group ran the version
    health: GroupHealth | None = None


@dataclass(frozen=True)
class GroupHealth:
    """One look at a group: its InService, Healthy instances on the image, and the rest."""

    phase: str  # "healthy", "pending" or "gone" (acceptor states of WAITS["group_healthy"])
    desired: int
    ready: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.phase == "gone":
            return "group gone"
        tail = f" ({'; '.join(self.problems)})" if self.problems else ""
        return f"{len(self.ready)}/{self.desired} ready{tail}"


# --- Auto Scaling reads -------------------------------------------------------------


def _pages(call: Callable[..., Mapping[str, Any]], key: str, **kwargs: Any) -> Iterator[Any]:
    token: str | None = None
    while True:
        page = call(**kwargs, **({"NextToken": token} if token else {}))
        yield from page.get(key, [])
        token = page.get("NextToken")
        if not token:
            return


def describe_group(autoscaling: Any, group: str) -> dict[str, Any] | None:
    """The group, or None if there is none of that name.

    AWS calls: DescribeAutoScalingGroups.
    """
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
    found = groups.get("AutoScalingGroups", [])
    return found[0] if found else None


def describe_instance_refreshes(autoscaling: Any, group: str) -> list[dict[str, Any]]:
    """Every refresh of ``group`` AWS remembers, most recent first.

    AWS calls: DescribeInstanceRefreshes (paginated).
    """
    return list(
        _pages(
            autoscaling.describe_instance_refreshes,
            "InstanceRefreshes",
            AutoScalingGroupName=group,
        )
    )


def _desired_template(refresh: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return (refresh.get("DesiredConfiguration") or {}).get("LaunchTemplate")


def find_instance_refresh(
    autoscaling: Any, group: str, target: TemplateVersion
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The group's active refresh, split by whether it goes to ``target``.

    Returns:
        ``(mine, other)``: the active refresh towards ``target`` (to adopt), or the
        active refresh towards anything else (to wait out); at most one is set, as a
        group has at most one active refresh.

    AWS calls: DescribeInstanceRefreshes.
    """
    for refresh in describe_instance_refreshes(autoscaling, group):
        if refresh["Status"] in ACTIVE_STATUSES:
            if target.matches(_desired_template(refresh)):
                return refresh, None
            return None, refresh
    return None, None


def group_runs(autoscaling: Any, group: str, target: TemplateVersion) -> bool:
    """Whether the group references ``target`` and every instance was launched from it.

    AWS calls: DescribeAutoScalingGroups.
    """
    found = describe_group(autoscaling, group)
    if found is None:
        return False
    if not target.matches(found.get("LaunchTemplate")):
        return False
    return all(target.matches(i.get("LaunchTemplate")) for i in found.get("Instances", []))


# --- Rolling: instance refresh -------------------------------------------------------


def _remaining(spec: WaitSpec, started: float, pacing: Pacing) -> WaitSpec:
    return spec.with_deadline(max(0.0, spec.deadline_s - (pacing.clock() - started)))


def _wait_out(
    autoscaling: Any, group: str, refresh: Mapping[str, Any], spec: WaitSpec, pacing: Pacing
) -> None:
    """Wait until a refresh someone else started (towards another version) ends."""
    refresh_id = refresh["InstanceRefreshId"]
    waiter = WAITS["instance_refresh_ended"]
    last: dict[str, RefreshState] = {"state": RefreshState.of(refresh)}

    def probe() -> tuple[Outcome, object]:
        state = RefreshState.of(_describe_refresh(autoscaling, group, refresh_id))
        last["state"] = state
        return waiter.acceptors.classify([state.status]), state

    try:
        resource = f"instance refresh {refresh_id} of group {group}"
        wait_for(waiter, probe, resource=resource, pacing=pacing, spec=spec)
    except WaitTimeoutError as exc:
        state = last["state"]
        raise RefreshTimeoutError(
            group, refresh_id, state.status, state.percentage_complete, exc.elapsed_s
        ) from exc


def start_instance_refresh(
    autoscaling: Any,
    group: str,
    target: TemplateVersion,
    prefs: RefreshPreferences,
    *,
    pacing: Pacing | None = None,
    spec: WaitSpec | None = None,
    log: Log = _quiet,
) -> str:
    """Start a refresh of ``group`` to ``target``, or adopt the one already going there.

    A refresh towards ``target`` that an interrupted run started is adopted; one
    towards another configuration (someone else's, or a superseded run's) is waited
    out first, since AWS allows one active refresh per group. If another run starts
    one between our look and our start (InstanceRefreshInProgress), look again.

    Returns:
        The refresh id.

    Raises:
        RefreshTimeoutError: someone else's refresh outlasted ``spec``'s deadline.

    AWS calls: DescribeInstanceRefreshes, [DescribeInstanceRefreshes (polls) while
    another refresh ends], StartInstanceRefresh (Strategy Rolling, DesiredConfiguration
    = the explicit version, Preferences).
    """
    pacing = pacing or Pacing()
    spec = spec or WAITS["instance_refresh_ended"].spec
    started = pacing.clock()
    # Each pass either returns or waits a refresh out; three passes cover a race lost
    # twice. The deadline bounds the waits.
    for _ in range(3):
        mine, other = find_instance_refresh(autoscaling, group, target)
        if mine is not None:
            log(f"adopting instance refresh {mine['InstanceRefreshId']} ({mine['Status']})")
            return str(mine["InstanceRefreshId"])
        if other is not None:
            log(
                f"waiting for instance refresh {other['InstanceRefreshId']} of group {group} "
                f"to another configuration to end ({other['Status']})"
            )
            _wait_out(autoscaling, group, other, _remaining(spec, started, pacing), pacing)
            continue
        try:
            started_id = autoscaling.start_instance_refresh(
                AutoScalingGroupName=group,
                Strategy="Rolling",
                DesiredConfiguration={"LaunchTemplate": target.to_api()},
                Preferences=prefs.to_api(),
            )["InstanceRefreshId"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "InstanceRefreshInProgress":
                raise
            continue
        log(f"started instance refresh {started_id} of group {group} to {target}")
        return str(started_id)
    mine, _other = find_instance_refresh(autoscaling, group, target)
    if mine is not None:
        return str(mine["InstanceRefreshId"])
    raise RolloutError(
        group,
        "(none)",
        "NotStarted",
        "other instance refreshes kept taking the group (AWS allows one at a time); "
        "find who starts them, then run `pulumi up` again",
    )


def _describe_refresh(autoscaling: Any, group: str, refresh_id: str) -> dict[str, Any]:
    found = autoscaling.describe_instance_refreshes(
        AutoScalingGroupName=group, InstanceRefreshIds=[refresh_id]
    ).get("InstanceRefreshes", [])
    if not found:
        # AWS keeps refreshes for weeks; an unknown id is a bug, not a state.
        raise LookupError(f"instance refresh {refresh_id} of group {group} not found")
    return dict(found[0])


def _rollback_note(refresh: Mapping[str, Any], target: TemplateVersion) -> str:
    status = refresh["Status"]
    details = refresh.get("RollbackDetails") or {}
    why = details.get("RollbackReason") or "no reason given"
    if status == "RollbackSuccessful":
        return (
            f"Auto-rollback succeeded ({why}): the group is back on the configuration it "
            "had before the refresh, and instances replaced so far were replaced again "
            "with it; the fleet keeps serving the previous image"
        )
    if status == "RollbackFailed":
        done = details.get("PercentageCompleteOnRollback")
        return (
            f"Auto-rollback FAILED ({why}; {done if done is not None else '?'}% rolled "
            "back): the group may run a mix of old and new instances; inspect it with "
            "`aws autoscaling describe-instance-refreshes --auto-scaling-group-name "
            f"{refresh.get('AutoScalingGroupName', '')}` before anything else"
        )
    if status == "Cancelled":
        return (
            "It was cancelled (CancelInstanceRefresh, by a user or another tool) and "
            f"no rollback ran: instances replaced so far run {target}, the group still "
            "references its previous version"
        )
    return (
        f"No rollback ran (auto_rollback off or not possible): instances replaced so far "
        f"run {target}, the group still references its previous version"
    )


def wait_for_refresh(
    autoscaling: Any,
    group: str,
    refresh_id: str,
    target: TemplateVersion,
    *,
    pacing: Pacing | None = None,
    spec: WaitSpec | None = None,
    log: Log | None = None,
) -> RefreshState:
    """Wait until the refresh is Successful.

    Args:
        target: the version the refresh goes to, for messages.
        spec: cadence and deadline (the user's rollout timeout).
        log: receives a progress line per status change, else one per
            ``pacing.progress_every_s``: status, PercentageComplete, InstancesToUpdate.

    Returns:
        The last state seen (status Successful).

    Raises:
        RefreshFailedError: Failed, Cancelled, RollbackSuccessful or RollbackFailed;
            the message carries StatusReason and the rollback's outcome.
        RefreshTimeoutError: the deadline passed; the refresh carries on in AWS.

    AWS calls: DescribeInstanceRefreshes (polls).
    """
    pacing = pacing or Pacing()
    waiter = WAITS["instance_refresh_successful"]
    last: dict[str, dict[str, Any]] = {}

    def probe() -> tuple[Outcome, object]:
        refresh = _describe_refresh(autoscaling, group, refresh_id)
        last["refresh"] = refresh
        state = RefreshState.of(refresh)
        return waiter.acceptors.classify([state.status]), state

    resource = f"instance refresh {refresh_id} of group {group}"
    try:
        state = wait_for(waiter, probe, resource=resource, pacing=pacing, spec=spec, log=log)
    except WaitFailedError as exc:
        refresh = last["refresh"]
        raise RefreshFailedError(
            group,
            refresh_id,
            refresh["Status"],
            refresh.get("StatusReason", ""),
            str(target),
            _rollback_note(refresh, target),
        ) from exc
    except WaitTimeoutError as exc:
        seen = RefreshState.of(last["refresh"])
        raise RefreshTimeoutError(
            group, refresh_id, seen.status, seen.percentage_complete, exc.elapsed_s
        ) from exc
    assert isinstance(state, RefreshState)
    return state


def roll_out_template(
    autoscaling: Any,
    ec2: Any,
    group: str,
    target: TemplateVersion,
    image_id: str,
    prefs: RefreshPreferences,
    *,
    timeout_s: float | None = None,
    pacing: Pacing | None = None,
    log: Log = _quiet,
) -> RolloutResult:
    """Bring every instance of ``group`` onto ``target``; return once they run it.

    1. A refresh towards ``target`` already active (an interrupted run's): adopt it.
    2. Otherwise, if the group already references ``target`` and every instance was
       launched from it (a new group, or a refresh that finished while nobody
       watched): no refresh; wait until the group is healthy on ``image_id``.
    3. Otherwise start a refresh (``start_instance_refresh``).
    Then wait for the refresh (``wait_for_refresh``). One deadline covers it all.

    Raises:
        RefreshFailedError, RefreshTimeoutError: as ``wait_for_refresh``.
        GroupUnhealthyError: no refresh was needed but the group is not healthy.

    AWS calls: DescribeInstanceRefreshes, DescribeAutoScalingGroups, then either
    StartInstanceRefresh + DescribeInstanceRefreshes (polls), or
    DescribeAutoScalingGroups + DescribeInstances (polls, see wait_for_group_healthy).
    """
    pacing = pacing or Pacing()
    spec = WAITS["instance_refresh_successful"].spec
    if timeout_s is not None:
        spec = spec.with_deadline(timeout_s)
    started = pacing.clock()
    mine, other = find_instance_refresh(autoscaling, group, target)
    if mine is not None:
        refresh_id = str(mine["InstanceRefreshId"])
        log(f"adopting instance refresh {refresh_id} of group {group} ({mine['Status']})")
    elif other is None and group_runs(autoscaling, group, target):
        log(f"group {group} already runs {target}: no instance refresh needed")
        health = wait_for_group_healthy(
            autoscaling,
            ec2,
            group,
            image_id,
            pacing=pacing,
            spec=WAITS["group_healthy"].spec.with_deadline(spec.deadline_s),
            log=log,
        )
        return RolloutResult("", "AlreadyCurrent", health)
    else:
        refresh_id = start_instance_refresh(
            autoscaling, group, target, prefs, pacing=pacing, spec=spec, log=log
        )
    state = wait_for_refresh(
        autoscaling,
        group,
        refresh_id,
        target,
        pacing=pacing,
        spec=_remaining(spec, started, pacing),
        log=log,
    )
    log(f"instance refresh {refresh_id} of group {group} succeeded: every instance runs {target}")
    return RolloutResult(refresh_id, state.status)


# --- Blue/green: group health, cutover, retirement -----------------------------------


def _instance_images(ec2: Any, instance_ids: Sequence[str]) -> dict[str, str]:
    if not instance_ids:
        return {}
    images: dict[str, str] = {}
    for reservation in _pages(
        ec2.describe_instances, "Reservations", InstanceIds=list(instance_ids)
    ):
        for instance in reservation.get("Instances", []):
            images[instance["InstanceId"]] = instance.get("ImageId", "")
    return images


def look_at_group(autoscaling: Any, ec2: Any, group: str, image_id: str) -> GroupHealth:
    """Which instances of ``group`` are InService, Healthy and on ``image_id``.

    AWS calls: DescribeAutoScalingGroups, DescribeInstances.
    """
    found = describe_group(autoscaling, group)
    if found is None:
        return GroupHealth("gone", 0)
    desired = int(found.get("DesiredCapacity") or 0)
    instances = found.get("Instances", [])
    images = _instance_images(ec2, [i["InstanceId"] for i in instances])
    ready: list[str] = []
    problems: list[str] = []
    for inst in sorted(instances, key=lambda i: i["InstanceId"]):
        iid = inst["InstanceId"]
        life, health = inst.get("LifecycleState", "?"), inst.get("HealthStatus", "?")
        image = images.get(iid, "?")
        if life == "InService" and health == "Healthy" and image == image_id:
            ready.append(iid)
        elif image != image_id:
            problems.append(f"{iid} runs {image}")
        else:
            problems.append(f"{iid} {life}/{health}")
    phase = "healthy" if len(ready) >= desired else "pending"
    return GroupHealth(phase, desired, tuple(ready), tuple(problems))


def _last_failed_activity(autoscaling: Any, group: str) -> str | None:
    activities = autoscaling.describe_scaling_activities(
        AutoScalingGroupName=group, MaxRecords=10
    ).get("Activities", [])
    for activity in activities:
        if activity.get("StatusCode") in ("Failed", "Cancelled"):
            return str(activity.get("StatusMessage") or activity.get("Description") or "")
    return None


def wait_for_group_healthy(
    autoscaling: Any,
    ec2: Any,
    group: str,
    image_id: str,
    *,
    pacing: Pacing | None = None,
    spec: WaitSpec | None = None,
    log: Log | None = None,
    fix: str = DEFAULT_FIX,
) -> GroupHealth:
    """Wait until the group's desired capacity is InService, Healthy and on ``image_id``.

    The desired capacity is the group's own (DescribeAutoScalingGroups), so scaling
    during the wait is followed. Unhealthy instances are not a failure by themselves:
    AWS replaces them, so only the deadline ends a wait for a bad image.

    Raises:
        GroupUnhealthyError: the deadline passed (the message lists each instance
            that is not ready and the last failed scaling activity), or the group
            disappeared. ``fix`` ends the message.

    AWS calls: DescribeAutoScalingGroups + DescribeInstances (polls), and on failure
    DescribeScalingActivities.
    """
    pacing = pacing or Pacing()
    waiter = WAITS["group_healthy"]
    last: dict[str, GroupHealth] = {}

    def probe() -> tuple[Outcome, object]:
        health = look_at_group(autoscaling, ec2, group, image_id)
        last["health"] = health
        return waiter.acceptors.classify([health.phase]), health

    resource = f"group {group} on {image_id}"
    try:
        health = wait_for(waiter, probe, resource=resource, pacing=pacing, spec=spec, log=log)
    except (WaitFailedError, WaitTimeoutError) as exc:
        seen = last["health"]
        gone = seen.phase == "gone"
        problems = list(seen.problems)
        if not gone:
            activity = _last_failed_activity(autoscaling, group)
            if activity:
                problems.append(f"last failed scaling activity: {activity}")
        raise GroupUnhealthyError(
            group,
            image_id,
            seen.desired,
            len(seen.ready),
            problems,
            exc.elapsed_s,
            fix,
            gone=gone,
        ) from exc
    assert isinstance(health, GroupHealth)
    return health


def mark_serving(autoscaling: Any, group: str) -> None:
    """Tag the group as the fleet's serving group (its cutover succeeded).

    AWS calls: CreateOrUpdateTags.
    """
    autoscaling.create_or_update_tags(
        Tags=[
            {
                "ResourceId": group,
                "ResourceType": "auto-scaling-group",
                "Key": SERVING_TAG,
                "Value": "true",
                "PropagateAtLaunch": False,
            }
        ]
    )


def fleet_groups(autoscaling: Any, fleet: str) -> list[dict[str, Any]]:
    """Every group tagged as a member of ``fleet``.

    AWS calls: DescribeAutoScalingGroups (Filters tag:bakery:fleet, paginated).
    """
    return list(
        _pages(
            autoscaling.describe_auto_scaling_groups,
            "AutoScalingGroups",
            Filters=[{"Name": f"tag:{FLEET_TAG}", "Values": [fleet]}],
        )
    )


def _not_found(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    return error.get("Code") == "ValidationError" and "not found" in error.get("Message", "")


def delete_group(
    autoscaling: Any,
    group: str,
    *,
    launch_configuration: str | None = None,
    pacing: Pacing | None = None,
    spec: WaitSpec | None = None,
    log: Log = _quiet,
) -> None:
    """Delete the group and its instances, wait until it is gone, then its launch config.

    A launch configuration can only go once no group uses it (else ResourceInUse),
    so the group's deletion is awaited first. Already gone counts as done.

    AWS calls: DeleteAutoScalingGroup (ForceDelete), DescribeAutoScalingGroups (polls),
    DeleteLaunchConfiguration.
    """
    pacing = pacing or Pacing()
    waiter = WAITS["group_deleted"]
    try:
        autoscaling.delete_auto_scaling_group(AutoScalingGroupName=group, ForceDelete=True)
        log(f"deleting group {group}")
    except ClientError as exc:
        if not _not_found(exc):
            raise

    def probe() -> tuple[Outcome, object]:
        found = describe_group(autoscaling, group)
        state = "gone" if found is None else str(found.get("Status") or "exists")
        return waiter.acceptors.classify([state]), state

    wait_for(waiter, probe, resource=f"group {group}", pacing=pacing, spec=spec)
    if launch_configuration:
        try:
            autoscaling.delete_launch_configuration(LaunchConfigurationName=launch_configuration)
            log(f"deleted launch configuration {launch_configuration}")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "ResourceInUse":
                log(f"kept launch configuration {launch_configuration}: another group uses it")
            elif not _not_found(exc):
                raise


def _own_launch_configuration(group: Mapping[str, Any], prefix: str | None) -> str | None:
    name = group.get("LaunchConfigurationName")
    if name and prefix and str(name).startswith(prefix):
        return str(name)
    return None


def retire_groups(
    autoscaling: Any,
    fleet: str,
    keep: str,
    *,
    launch_configuration_prefix: str | None = None,
    only_not_serving: bool = False,
    pacing: Pacing | None = None,
    log: Log = _quiet,
) -> list[str]:
    """Delete every group of ``fleet`` but ``keep``, each with its launch configuration.

    Args:
        fleet: the ``bakery:fleet`` tag value shared by the fleet's groups.
        keep: the group that stays (the new, healthy one).
        launch_configuration_prefix: a retired group's launch configuration is deleted
            only if its name has this prefix (made by this fleet).
        only_not_serving: spare groups tagged ``bakery:serving`` (a later cutover's).

    Returns:
        The names of the groups deleted, sorted.

    AWS calls: DescribeAutoScalingGroups, then per group as ``delete_group``.
    """
    retired: list[str] = []
    for found in fleet_groups(autoscaling, fleet):
        name = found["AutoScalingGroupName"]
        tags = {t["Key"]: t.get("Value", "") for t in found.get("Tags", [])}
        if name == keep or (only_not_serving and tags.get(SERVING_TAG) == "true"):
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
    """A blue/green cutover that happened: the healthy group and the groups it retired."""

    health: GroupHealth
    retired: list[str] = field(default_factory=list)


def cut_over(
    autoscaling: Any,
    ec2: Any,
    group: str,
    image_id: str,
    fleet: str,
    *,
    launch_configuration_prefix: str | None = None,
    timeout_s: float | None = None,
    pacing: Pacing | None = None,
    log: Log = _quiet,
) -> CutoverResult:
    """Blue/green: wait until ``group`` serves ``image_id``, then retire the fleet's others.

    Nothing is deleted unless the new group is healthy: on failure every other group
    of the fleet keeps serving.

    Raises:
        GroupUnhealthyError: as ``wait_for_group_healthy``.

    AWS calls: as ``wait_for_group_healthy``, CreateOrUpdateTags, then as
    ``retire_groups``.
    """
    pacing = pacing or Pacing()
    spec = WAITS["group_healthy"].spec
    if timeout_s is not None:
        spec = spec.with_deadline(timeout_s)
    health = wait_for_group_healthy(
        autoscaling,
        ec2,
        group,
        image_id,
        pacing=pacing,
        spec=spec,
        log=log,
        fix=(
            "The fleet's other groups keep serving and were not removed; fix the image "
            "or the health check settings and run `pulumi up` again"
        ),
    )
    mark_serving(autoscaling, group)
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
    return CutoverResult(health, retired)
