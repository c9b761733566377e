"""moto extension: instance refreshes, and the fleet behaviour a rollout relies on.

moto 5.2 implements none of StartInstanceRefresh, DescribeInstanceRefreshes,
CancelInstanceRefresh and RollbackInstanceRefresh (NotImplementedError in process,
HTTP 500 from a server). This adds them, modelled on the AWS API reference and user
guide (read 2026-12; StartInstanceRefresh and RefreshPreferences:
https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_StartInstanceRefresh.html,
https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_RefreshPreferences.html;
instance maintenance: https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-instance-maintenance-policy.html;
rollback: https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-refresh-rollback.html):

* one active refresh per group (else ``InstanceRefreshInProgress``);
* ``DesiredConfiguration`` is written to the group only when the refresh succeeds;
* a rollback (auto or RollbackInstanceRefresh) puts back the configuration the group
  had when the refresh started and replaces the instances the refresh launched; it
  needs a desired configuration and an explicit version (else
  ``IrreversibleInstanceRefresh`` or, at start with AutoRollback, ``ValidationError``);
* MaxHealthyPercentage 100 (the default) terminates a batch, then launches its
  replacements, at least one instance at a time, so a group whose rounded-up
  minimum leaves nothing to spare dips below it; above 100 it launches first. Each
  InService count is recorded (``capacity_seen``). MaxHealthyPercentage must be
  100-200, with MinHealthyPercentage, at most 100 above it (else ValidationError);
* checkpoints: the refresh waits CheckpointDelay (3600 s when not given) at each
  CheckpointPercentages value; a delay without checkpoints is refused; warm-up is
  InstanceWarmup, else the group's DefaultInstanceWarmup, else its grace period;
  the simulated seconds add up in ``simulated_seconds``;
* BakeTime > 0 passes through ``Baking`` before ``Successful``;
* SkipMatching false replaces instances that already match;
* instances in Standby or protected from scale in: ``Ignore`` leaves them, ``Terminate``
  replaces them, ``Wait`` (AWS's default) waits for them until the refresh fails
  (an hour in AWS; at once here) with that reason;
* alarms in AlarmSpecification: one in ALARM (moto's CloudWatch) fails the refresh,
  and with AutoRollback rolls it back, with the alarm named in the reason.

Time is a script, not a clock: each DescribeInstanceRefreshes of a group moves its
active refresh one step along a list of statuses. ``script_next_refresh`` sets the
next refresh's steps; without a script a refresh goes InProgress -> Successful, or,
when the new image is marked unhealthy, InProgress -> InProgress -> RollbackInProgress
-> RollbackSuccessful (Failed without AutoRollback). Entering InProgress replaces one
batch of instances (sized by MinHealthyPercentage), Successful the rest.

And three fidelity fixes moto needs for rollouts:

* DescribeAutoScalingGroups reports, per instance, the launch template version the
  instance was launched from (moto reports the template's default version for all).
* DeleteLaunchConfiguration refuses a configuration a group still uses
  (AWS: ResourceInUse; moto deletes it).
* Instances launched from an image given to ``mark_unhealthy`` report HealthStatus
  Unhealthy: a stand-in for an image whose instances fail EC2/ELB health checks
  (moto's instances are always Healthy).

How a step replaces instances (batches, warm-up, checkpoints, standby/protected,
alarms) lives in ``refresh_batches.py``; group health, target health, scaling
activities and delete refusal in ``asg_health.py``; ``installed()`` here installs
that too. Divergences that remain:
time is a script (statuses step per DescribeInstanceRefreshes), so warm-up and
delays are counted, not waited; batches launch or terminate all at once; a scripted
refresh replaces instances only on entering InProgress/Baking/Successful.

Patches classes, so it works in process (mock_aws) and in a ThreadedMotoServer.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.autoscaling.exceptions import AutoscalingClientError, ValidationError
from moto.autoscaling.models import AutoScalingBackend, FakeAutoScalingGroup, InstanceState
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import ActionResult

from tests.moto_ext import asg_health, refresh_batches
from tests.moto_ext.refresh_batches import (
    ACTIVE,
    Refresh,
    alarm_in_alarm,
    capacity_seen,
    group_spec,
    refreshes,
    replace_in_batches,
    replace_instances,
    runs,
    simulated_seconds,
    stale_instances,
    use,
)

__all__ = ["capacity_seen", "mark_unhealthy", "script_next_refresh", "simulated_seconds"]
UNHEALTHY_REASON = "Instances launched with the desired configuration failed their health checks"


class InstanceRefreshInProgressError(AutoscalingClientError):
    code = "InstanceRefreshInProgress"

    def __init__(self) -> None:
        super().__init__(
            "An Instance Refresh is already in progress and blocks the execution of this "
            "Instance Refresh."
        )


class ActiveInstanceRefreshNotFoundError(AutoscalingClientError):
    code = "ActiveInstanceRefreshNotFound"

    def __init__(self, group: str) -> None:
        super().__init__(f"No in progress or pending Instance Refresh found for {group}.")


class IrreversibleInstanceRefreshError(AutoscalingClientError):
    code = "IrreversibleInstanceRefresh"

    def __init__(self, why: str) -> None:
        super().__init__(why)


class ResourceInUseError(AutoscalingClientError):
    code = "ResourceInUse"

    def __init__(self, name: str, group: str) -> None:
        super().__init__(
            f"Cannot delete launch configuration {name} because it is attached to "
            f"AutoScalingGroup {group}"
        )


@dataclass
class Script:
    """The statuses a refresh steps through, one per DescribeInstanceRefreshes."""

    statuses: list[str]
    reason: str = ""
    rollback_reason: str = ""


_SCRIPTS: dict[str, deque[Script]] = {}
_UNHEALTHY_IMAGES: set[str] = set()


def script_next_refresh(
    group: str, *statuses: str, reason: str = "", rollback_reason: str = ""
) -> None:
    """Make the next refresh of ``group`` step through ``statuses`` (after Pending)."""
    _SCRIPTS.setdefault(group, deque()).append(Script(list(statuses), reason, rollback_reason))


def mark_unhealthy(image_id: str) -> None:
    """Instances launched from ``image_id`` from now on report HealthStatus Unhealthy."""
    _UNHEALTHY_IMAGES.add(image_id)


def _enter(backend: AutoScalingBackend, refresh: Refresh, status: str, script: Script) -> None:
    group = backend.autoscaling_groups.get(refresh.group)
    refresh.status = status
    now = datetime.now(UTC)
    desired = {"LaunchTemplate": refresh.desired} if refresh.desired else None
    if group is None:
        refresh.status, refresh.status_reason, refresh.end = "Failed", "Group deleted", now
        return
    stale, waiting = stale_instances(group, refresh) if desired else ([], [])
    if status == "InProgress" and desired and not refresh.launched and stale:
        refresh.launched |= replace_in_batches(group, refresh, stale, desired, first_only=True)
    elif status in ("Baking", "Successful") and desired:
        refresh.launched |= replace_in_batches(group, refresh, stale, desired)
        if waiting:
            refresh.status, refresh.end = "Failed", now
            refresh.status_reason = (
                "Instance refresh failed: it waited for instances it may not replace: "
                + ", ".join(waiting)
            )
            refresh.steps.clear()
            return
        if status == "Successful":
            use(group, desired)
            refresh.end = now
    elif status == "RollbackInProgress":
        refresh.rollback = {
            "RollbackReason": script.rollback_reason
            or "Instance refresh failed and auto rollback is enabled",
            "RollbackStartTime": now,
            "PercentageCompleteOnRollback": 0,
            "InstancesToUpdateOnRollback": len(refresh.launched),
        }
        refresh.status_reason = script.reason or UNHEALTHY_REASON
    elif status == "RollbackSuccessful":
        back = [s for s in group.instance_states if not runs(s, _flat(refresh.previous))]
        replace_instances(group, back, refresh.previous, launch_first=True)
        use(group, refresh.previous)
        if refresh.rollback is not None:
            refresh.rollback["PercentageCompleteOnRollback"] = 100
            refresh.rollback["InstancesToUpdateOnRollback"] = 0
        refresh.end = now
    elif status in ("Failed", "Cancelled", "RollbackFailed"):
        refresh.status_reason = (
            refresh.status_reason
            or script.reason
            or (UNHEALTHY_REASON if status != "Cancelled" else "Cancelled by request")
        )
        if status == "RollbackFailed" and refresh.rollback is not None:
            refresh.rollback.setdefault("RollbackReason", script.rollback_reason)
        refresh.end = now


def _flat(spec: dict[str, Any]) -> dict[str, Any]:
    return dict(spec.get("LaunchTemplate", spec))


def _advance(backend: AutoScalingBackend, group_name: str) -> None:
    for refresh in refreshes(backend).get(group_name, []):
        if refresh.status in ACTIVE and refresh.steps:
            alarm = alarm_in_alarm(backend, refresh)
            if alarm and refresh.status not in ("RollbackInProgress", "Cancelling"):
                reason = f"CloudWatch alarm {alarm} is in ALARM state"
                refresh.reason = refresh.rollback_reason = reason
                auto = bool(refresh.preferences.get("AutoRollback"))
                refresh.steps = deque(
                    ["RollbackInProgress", "RollbackSuccessful"] if auto else ["Failed"]
                )
            status = refresh.steps.popleft()
            _enter(backend, refresh, status, Script([], refresh.reason, refresh.rollback_reason))


def _default_steps(
    backend: AutoScalingBackend, desired: dict[str, Any] | None, auto_rollback: bool
) -> list[str]:
    if desired:
        template = backend.ec2_backend.get_launch_template(desired["LaunchTemplateId"])
        image = template.get_version(str(desired["Version"])).image_id
        if image in _UNHEALTHY_IMAGES:
            tail = ["RollbackInProgress", "RollbackSuccessful"] if auto_rollback else ["Failed"]
            return ["InProgress", "InProgress", *tail]
    return ["InProgress", "Successful"]


def _validate(prefs: dict[str, Any]) -> None:
    """StartInstanceRefresh's checks of Preferences (RefreshPreferences reference)."""
    low = int(prefs.get("MinHealthyPercentage", 90))
    if not 0 <= low <= 100:
        raise ValidationError("MinHealthyPercentage must be between 0 and 100")
    if "MaxHealthyPercentage" in prefs:
        high = int(prefs["MaxHealthyPercentage"])
        if "MinHealthyPercentage" not in prefs:
            raise ValidationError("MaxHealthyPercentage requires MinHealthyPercentage")
        if not 100 <= high <= 200 or high - low > 100:
            raise ValidationError(
                "MaxHealthyPercentage must be 100 to 200 and at most 100 above MinHealthyPercentage"
            )
    if "CheckpointDelay" in prefs and not prefs.get("CheckpointPercentages"):
        raise ValidationError("CheckpointDelay requires CheckpointPercentages")


def _explicit(version: Any) -> bool:
    return str(version or "").isdigit()


def _start_instance_refresh(self: AutoScalingResponse) -> ActionResult:
    backend = self.autoscaling_backend
    name = self._get_param("AutoScalingGroupName")
    group = backend.autoscaling_groups.get(name)
    if group is None:
        raise ValidationError(
            f"AutoScalingGroup name not found - AutoScalingGroup '{name}' not found"
        )
    prefs = dict(self._get_param("Preferences") or {})
    desired_cfg = self._get_param("DesiredConfiguration") or {}
    desired = dict(desired_cfg["LaunchTemplate"]) if desired_cfg.get("LaunchTemplate") else None
    if desired is not None:
        desired["Version"] = str(desired.get("Version") or "$Default")
    healthy = prefs.get("MinHealthyPercentage", 90)
    _validate(prefs)
    auto_rollback = bool(prefs.get("AutoRollback", False))
    if auto_rollback and (
        desired is None
        or not _explicit(desired["Version"])
        or not _explicit(group_spec(group).get("LaunchTemplate", {}).get("Version", "0"))
    ):
        raise ValidationError(
            "AutoRollback needs a DesiredConfiguration and explicit launch template "
            "versions (not $Latest or $Default)"
        )
    runs = refreshes(backend).setdefault(name, [])
    if any(r.status in ACTIVE for r in runs):
        raise InstanceRefreshInProgressError()
    queued = _SCRIPTS.get(name)
    script = queued.popleft() if queued else None
    steps = script.statuses if script else _default_steps(backend, desired, auto_rollback)
    if not script and int(prefs.get("BakeTime") or 0) > 0 and steps[-1] == "Successful":
        steps = [*steps[:-1], "Baking", "Successful"]
    refresh = Refresh(
        refresh_id=str(uuid.uuid4()),
        group=name,
        preferences={"MinHealthyPercentage": int(healthy), **prefs},
        desired=desired,
        previous=group_spec(group),
        steps=deque(steps),
        reason=script.reason if script else "",
        rollback_reason=script.rollback_reason if script else "",
        total=len(group.instance_states),
    )
    runs.insert(0, refresh)  # most recent first, as AWS lists them
    return ActionResult({"InstanceRefreshId": refresh.refresh_id})


def _describe_instance_refreshes(self: AutoScalingResponse) -> ActionResult:
    backend = self.autoscaling_backend
    name = self._get_param("AutoScalingGroupName")
    wanted = set(self._get_param("InstanceRefreshIds") or [])
    _advance(backend, name)
    group = backend.autoscaling_groups.get(name)
    found = [
        r.describe(group)
        for r in refreshes(backend).get(name, [])
        if not wanted or r.refresh_id in wanted
    ]
    return ActionResult({"InstanceRefreshes": found})


def _active(backend: AutoScalingBackend, name: str) -> Refresh:
    for refresh in refreshes(backend).get(name, []):
        if refresh.status in ACTIVE:
            return refresh
    raise ActiveInstanceRefreshNotFoundError(name)


def _cancel_instance_refresh(self: AutoScalingResponse) -> ActionResult:
    name = self._get_param("AutoScalingGroupName")
    refresh = _active(self.autoscaling_backend, name)
    refresh.status = "Cancelling"
    refresh.steps = deque(["Cancelled"])
    return ActionResult({"InstanceRefreshId": refresh.refresh_id})


def _rollback_instance_refresh(self: AutoScalingResponse) -> ActionResult:
    name = self._get_param("AutoScalingGroupName")
    refresh = _active(self.autoscaling_backend, name)
    if not refresh.desired or not _explicit(refresh.desired.get("Version")):
        raise IrreversibleInstanceRefreshError(
            "The instance refresh has no desired configuration with an explicit version"
        )
    refresh.rollback_reason = refresh.rollback_reason or "Rollback requested by user"
    _enter(
        self.autoscaling_backend,
        refresh,
        "RollbackInProgress",
        Script([], refresh.reason or "Rollback requested", refresh.rollback_reason),
    )
    refresh.steps = deque(["RollbackSuccessful"])
    return ActionResult({"InstanceRefreshId": refresh.refresh_id})


_original_replace = FakeAutoScalingGroup.replace_autoscaling_group_instances
_original_launch_template = InstanceState.launch_template
_original_delete_lc = AutoScalingBackend.delete_launch_configuration


def _replace_instances(
    self: FakeAutoScalingGroup, count_needed: int, propagated_tags: dict[str, str]
) -> None:
    before = {id(s) for s in self.instance_states}
    _original_replace(self, count_needed, propagated_tags)
    launched_from = group_spec(self)
    for state in self.instance_states:
        if id(state) in before:
            continue
        state._bakery_launched_from = launched_from  # type: ignore[attr-defined]
        if state.instance.image_id in _UNHEALTHY_IMAGES:
            state.health_status = "Unhealthy"


def _instance_launch_template(self: InstanceState) -> dict[str, Any] | None:
    launched = getattr(self, "_bakery_launched_from", None)
    if launched is None:
        return _original_launch_template.fget(self)  # type: ignore[attr-defined]
    return launched.get("LaunchTemplate")


def _delete_launch_configuration(self: AutoScalingBackend, launch_configuration_name: str) -> None:
    for group in self.autoscaling_groups.values():
        if getattr(group, "launch_configuration_name", None) == launch_configuration_name:
            raise ResourceInUseError(launch_configuration_name, group.name)
    if launch_configuration_name not in self.launch_configurations:
        raise ValidationError(
            f"Launch configuration name not found - Launch configuration "
            f"{launch_configuration_name} not found"
        )
    _original_delete_lc(self, launch_configuration_name)


_ACTIONS = {
    "start_instance_refresh": _start_instance_refresh,
    "describe_instance_refreshes": _describe_instance_refreshes,
    "cancel_instance_refresh": _cancel_instance_refresh,
    "rollback_instance_refresh": _rollback_instance_refresh,
}


@contextmanager
def installed() -> Iterator[None]:
    """Patch moto for the duration of the block (in-process or ThreadedMotoServer)."""
    with asg_health.installed(), _refresh_model():
        yield


@contextmanager
def _refresh_model() -> Iterator[None]:
    for name, fn in _ACTIONS.items():
        setattr(AutoScalingResponse, name, fn)
    FakeAutoScalingGroup.replace_autoscaling_group_instances = _replace_instances  # type: ignore[method-assign]
    InstanceState.launch_template = property(_instance_launch_template)  # type: ignore[method-assign, assignment]
    AutoScalingBackend.delete_launch_configuration = _delete_launch_configuration  # type: ignore[method-assign]
    try:
        yield
    finally:
        for name in _ACTIONS:
            delattr(AutoScalingResponse, name)
        FakeAutoScalingGroup.replace_autoscaling_group_instances = _original_replace  # type: ignore[method-assign]
        InstanceState.launch_template = _original_launch_template  # type: ignore[method-assign]
        AutoScalingBackend.delete_launch_configuration = _original_delete_lc  # type: ignore[method-assign]
        _SCRIPTS.clear()
        _UNHEALTHY_IMAGES.clear()
        refresh_batches.reset()
